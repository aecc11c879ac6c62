package daemon

import (
	"reflect"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
)

// tryBind binds an unbound instance to its interface. Failing (interface
// or address missing), the instance waits in FAULT with the reason; the
// host watch's next link or address event tries again.
func (d *Daemon) tryBind(now time.Time, inst *instance) {
	if inst.bound() {
		return
	}
	b, err := d.parts.env.Bind(inst.cfg, inst.vips)
	if err != nil {
		reason := "interface not usable: " + err.Error()
		if inst.goneWhy != "" {
			// Keep what the operator most needs to read: why the
			// interface went (renamed, deleted), then why it is not
			// back.
			reason = inst.goneWhy + "; " + reason
		}
		d.setHostFault(now, inst, &inst.bindErr, reason)
		return
	}
	inst.goneWhy = ""
	inst.attach(b)
	inst.log.Info("instance bound", zap.Int("ifindex", b.Ifindex), zap.Stringer("src", b.Src))
	d.step(inst, now, vrrp.SetAddress{Addr: b.Src})
	d.rebind = true
	// The fault is cleared once the dataplane receives on the interface
	// (applyBindings).
}

// unbind takes an instance off its interface (deleted, renamed, its
// address gone): FAULT first, so that a master resigns (priority 0, while
// sending is still possible) and removes its VIPs by interface index.
func (d *Daemon) unbind(now time.Time, inst *instance, reason string) {
	if !inst.bound() {
		return
	}
	inst.goneWhy = reason
	d.setHostFault(now, inst, &inst.bindErr, reason)
	inst.detach()
	for i := range inst.vips {
		if inst.vips[i].Dev == inst.cfg.Interface {
			inst.vips[i].Index = 0
		}
	}
	d.rebind = true
}

// applyBindings gives the dataplane the bound instances and clears (or
// sets) their faults from its answer.
func (d *Daemon) applyBindings(now time.Time) {
	d.rebind = false
	var bs []PlaneBinding
	byKey := map[rxKey]*instance{}
	retry := false
	for _, inst := range d.insts {
		if !inst.bound() {
			continue
		}
		retry = retry || inst.planeErr != ""
		if other := byKey[inst.key]; other != nil {
			d.setHostFault(now, inst, &inst.planeErr, "same virtual_router_id and interface as instance "+other.cfg.Name)
			continue
		}
		byKey[inst.key] = inst
		bs = append(bs, inst.binding())
	}
	d.byKey = byKey
	if !retry && len(d.planeFailed) == 0 && reflect.DeepEqual(bs, d.planeBinds) {
		return // nothing changed for the dataplane (an unchanged reload)
	}
	failed := d.parts.plane.Bind(bs)
	d.planeBinds, d.planeFailed = bs, failed
	for _, inst := range byKey {
		reason := ""
		if err := failed[inst.key.ifindex]; err != nil {
			reason = "receive path: " + err.Error()
		}
		d.setHostFault(now, inst, &inst.planeErr, reason)
		d.setHostFault(now, inst, &inst.bindErr, "")
	}
}

// linkChanged handles a link that appeared, changed or went away.
func (d *Daemon) linkChanged(now time.Time, e hostLink) {
	check := false
	for _, inst := range d.insts {
		switch {
		case inst.bound() && inst.key.ifindex == e.Index && e.Deleted:
			d.unbind(now, inst, "interface "+inst.cfg.Interface+" deleted")
		case inst.bound() && inst.key.ifindex == e.Index && e.Name != inst.cfg.Interface:
			d.unbind(now, inst, "interface "+inst.cfg.Interface+" renamed to "+e.Name)
		case inst.bound() && inst.key.ifindex == e.Index:
			// Any change on a bound interface (an XDP program replaced
			// shows here too): check the attachments now rather than
			// at the next periodic check.
			check = true
		case !inst.bound() && !e.Deleted && e.Name == inst.cfg.Interface:
			d.tryBind(now, inst)
		}
		if !e.Deleted && inst.router.State() == vrrp.Master {
			// A VIP device that came back needs its VIPs again.
			for _, v := range inst.vips {
				if v.Dev == e.Name {
					d.restoreVIPs(now, inst)
					break
				}
			}
		}
	}
	if check {
		d.checkPlane(now)
	}
}

// addrChanged handles an address added or removed.
func (d *Daemon) addrChanged(now time.Time, e hostAddr) {
	for _, inst := range d.insts {
		if !inst.bound() {
			if !e.Deleted {
				d.tryBind(now, inst) // the primary address may be what it waited for
			}
			continue
		}
		if e.Deleted && e.Index == inst.key.ifindex && e.Addr == inst.bind.Src &&
			!inst.cfg.UnicastSrc.IsValid() && !inst.cfg.McastSrc.IsValid() {
			d.unbind(now, inst, "source address "+e.Addr.String()+" removed from "+inst.cfg.Interface)
			d.tryBind(now, inst) // another address may do
			continue
		}
		changed, lost := false, false
		for i, v := range inst.vips {
			if v.Prefix.Addr() != e.Addr || (v.Index != 0 && v.Index != e.Index) {
				continue
			}
			if !e.Deleted && inst.held[i] {
				// An address we hold was added: our own add, most
				// often (a takeover of hundreds of instances reports
				// each of its VIPs). Nothing to learn, and asking the
				// kernel lists every address of the interface.
				continue
			}
			// Events can be stale (a removal of ours reported after we
			// added the VIP again): ask the kernel what it holds now.
			held, err := d.parts.env.HasVIP(v)
			if err != nil {
				held = !e.Deleted
			}
			if inst.held[i] != held {
				inst.held[i] = held
				changed = true
				lost = lost || !held
			}
		}
		if !changed {
			continue
		}
		inst.vipStatus()
		d.dirty = true
		if lost && inst.router.State() == vrrp.Master && !d.stopping {
			inst.log.Warn("virtual address removed by someone else: adding it again", zap.Stringer("vip", e.Addr))
			d.restoreVIPs(now, inst)
		}
	}
}

// restoreVIPs adds a master's missing VIPs again and announces them.
func (d *Daemon) restoreVIPs(now time.Time, inst *instance) {
	added := false
	for i, v := range inst.vips {
		if inst.held[i] {
			continue
		}
		d.setVIP(inst, i, v, true)
		added = added || inst.held[i]
	}
	inst.vipStatus()
	d.dirty = true
	if added {
		d.announce(inst, inst.cfg.Garp.MasterRepeat)
	}
}

// resync checks everything the host watch may have missed: bindings
// against the interfaces there are now, and the VIPs of masters.
func (d *Daemon) resync(now time.Time) {
	for _, inst := range d.insts {
		if inst.bound() {
			d.unbindIfGone(now, inst)
		}
		if !inst.bound() {
			d.tryBind(now, inst)
			continue
		}
		changed := false
		for i, v := range inst.vips {
			held, err := d.parts.env.HasVIP(v)
			if err != nil {
				inst.log.Warn("check virtual address", zap.Stringer("vip", v.Prefix), zap.Error(err))
				continue
			}
			changed = changed || held != inst.held[i]
			inst.held[i] = held
		}
		if changed {
			inst.vipStatus()
			d.dirty = true
		}
		if inst.router.State() == vrrp.Master {
			d.restoreVIPs(now, inst)
		}
	}
}

// unbindIfGone unbinds an instance whose interface is not the one it was
// bound to any more (checked by binding afresh: the only way to learn the
// current index and source without a second lookup interface).
func (d *Daemon) unbindIfGone(now time.Time, inst *instance) {
	b, err := d.parts.env.Bind(inst.cfg, inst.vips)
	if err != nil {
		d.unbind(now, inst, "interface not usable: "+err.Error())
		return
	}
	same := b.Ifindex == inst.key.ifindex && b.Src == inst.bind.Src
	b.Port.Close()
	if !same {
		d.unbind(now, inst, "interface "+inst.cfg.Interface+" changed")
	}
}
