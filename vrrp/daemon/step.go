package daemon

import (
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/control"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

// step feeds one event to an instance's state machine and carries out its
// actions.
func (d *Daemon) step(inst *instance, now time.Time, ev vrrp.Event) {
	wasResigning := inst.router.Resigning()
	actions, next := inst.router.Step(now, ev)
	inst.lastStep = now
	if a, ok := ev.(vrrp.AdvertReceived); ok {
		if inst.wantMaster && next.After(inst.next) {
			inst.wantMaster = false // an accepted advert restarted the timer
		}
		if inst.router.MasterAddr() == a.Src {
			inst.masterPrio = a.Advert.Priority
		}
	}
	inst.next = next
	d.stepped(inst, wasResigning)
	for _, a := range actions {
		d.do(inst, now, a)
	}
	d.showStatus(inst)
}

// showStatus copies the router's state into the instance's status when it
// changed.
func (d *Daemon) showStatus(inst *instance) {
	// The status changes rarely; the steady state (adverts, ticks) must
	// not pay for formatting it.
	st, prio, m, mi := inst.router.State(), inst.router.Priority(), inst.router.MasterAddr(), inst.router.MasterAdverInterval()
	mp := inst.masterPrio
	switch {
	case st == vrrp.Master:
		mp = prio
	case !m.IsValid() || st != vrrp.Backup:
		mp = 0
	}
	held, resigning := inst.router.Held(), inst.router.Resigning()
	sh := &inst.shown
	if st == sh.state && prio == sh.prio && m == sh.master && mp == sh.masterPrio && inst.wantMaster == sh.want &&
		mi == sh.masterInt && held == sh.held && resigning == sh.resigning {
		return
	}
	sh.state, sh.prio, sh.master, sh.masterPrio, sh.want, sh.masterInt = st, prio, m, mp, inst.wantMaster, mi
	sh.held, sh.resigning = held, resigning
	inst.status.Maintenance, inst.status.Resigning = held, resigning
	inst.status.State = st.String()
	inst.status.WantState = st.String()
	if inst.wantMaster {
		inst.status.WantState = vrrp.Master.String()
	}
	inst.status.Priority = prio
	inst.status.MasterPriority = mp
	inst.status.MasterAdvertInt = mi
	inst.status.Master = ""
	if m.IsValid() && !m.IsUnspecified() {
		inst.status.Master = m.String()
	}
	d.dirty = true
}

// do carries out one action. Failures are logged: the daemon goes on, and
// a VIP that could not be added or removed is always logged at error level.
func (d *Daemon) do(inst *instance, now time.Time, a vrrp.Action) {
	switch a := a.(type) {
	case vrrp.SendAdvert:
		if inst.bind == nil {
			return
		}
		inst.advert.Priority = a.Priority
		if err := inst.bind.Port.SendAdvert(&inst.advert); err != nil {
			d.limited.warn(inst.log, "send advert", zap.Error(err))
			return
		}
		d.stats.advertsSent.Add(1)
		inst.counters.advertSent.Add(1)
		if a.Priority == 0 {
			inst.counters.priZeroSent.Add(1)
		}
		if !d.batching {
			d.flushSends()
		}
	case vrrp.AddVIPs:
		d.setVIPs(inst, true)
	case vrrp.RemoveVIPs:
		d.setVIPs(inst, false)
	case vrrp.SendGratuitous:
		repeat := inst.cfg.Garp.MasterRepeat
		if a.Refresh {
			repeat = inst.cfg.Garp.MasterRefreshRepeat
		}
		if a.LowerPrio {
			repeat = inst.cfg.Garp.LowerPrioRepeat
		}
		d.announce(inst, repeat)
	case vrrp.Transition:
		fields := []zap.Field{zap.Stringer("from", a.From), zap.Stringer("to", a.To),
			zap.String("reason", a.Reason), zap.Uint8("priority", a.Priority)}
		if a.Master.IsValid() && !a.Master.IsUnspecified() {
			fields = append(fields, zap.Stringer("master", a.Master))
		}
		inst.log.Info("state transition", fields...)
		inst.status.Since = now
		inst.status.Reason = a.Reason
		if a.To == vrrp.Master {
			inst.counters.becomeMaster.Add(1)
		}
		if a.From == vrrp.Master {
			inst.counters.releaseMaster.Add(1)
		}
		ev := control.Event{Time: now, Instance: inst.cfg.Name, VRID: inst.cfg.VRID, From: a.From.String(),
			To: a.To.String(), Reason: a.Reason, Priority: a.Priority}
		if a.Master.IsValid() && !a.Master.IsUnspecified() {
			ev.Master = a.Master.String()
		}
		d.watchers.publish(ev)
		d.dirty = true
		d.transitions.Add(1)
		d.onTransition(inst, a)
	}
}

// setVIPs adds (or removes) every VIP of the instance. A VIP that cannot be
// changed is logged at error level and the others are still tried.
func (d *Daemon) setVIPs(inst *instance, add bool) {
	for i, v := range inst.vips {
		d.setVIP(inst, i, v, add)
	}
	inst.status.HoldsVIPs = add
	inst.vipStatus()
	d.dirty = true
}

func (d *Daemon) setVIP(inst *instance, i int, v netio.VIP, add bool) {
	change, verb, done := d.parts.env.DelVIP, "remove virtual address", "virtual address removed"
	if add {
		change, verb, done = d.parts.env.AddVIP, "add virtual address", "virtual address added"
	}
	if err := change(v); err != nil {
		inst.log.Error(verb, zap.Stringer("vip", v.Prefix), zap.String("dev", v.Dev), zap.Error(err))
		return
	}
	inst.held[i] = add
	inst.log.Info(done, zap.Stringer("vip", v.Prefix), zap.String("dev", v.Dev))
}

// announce starts a burst of gratuitous ARPs / NAs for the instance's VIPs.
func (d *Daemon) announce(inst *instance, repeat int) {
	if inst.bind == nil || len(inst.vips) == 0 {
		return
	}
	g := &d.cfg.Global
	inst.bind.Port.Announce(inst.vips, Burst{Repeat: repeat, ARPInterval: g.GarpInterval, NAInterval: g.GnaInterval})
	d.stats.garpBursts.Add(1)
}

// advert steps an advert the dataplane reported.
func (d *Daemon) advert(now time.Time, e planeAdvert) {
	inst := d.byKey[e.Key]
	if inst == nil {
		return
	}
	if !e.Silent && !e.Heartbeat {
		inst.counters.advertRcvd.Add(1) // the socket path's count; the kernel keeps its own
		if e.Recv.Advert.Priority == 0 {
			inst.counters.priZeroRcvd.Add(1)
		}
	}
	st := inst.router.State()
	if e.Silent {
		// No advert for 3 advertised intervals: the master-down deadline
		// (that plus Skew_Time) is near. Step a last advert if one came
		// meanwhile; else restore the router's own deadline (the Tick
		// takes over at once if it already passed).
		if st == vrrp.Backup && !d.refreshOne(now, inst) {
			d.step(inst, now, vrrp.Tick{})
		}
		return
	}
	if e.Heartbeat && st != vrrp.Backup && !(st == vrrp.Master && inst.outranks(e.Recv.Advert.Priority, e.Recv.Src)) {
		// A heartbeat repeats an advert already reported. A master
		// answered a lower-priority advert at its first report; only one
		// that outranks it still matters (it may have been reported
		// while this instance was not master yet).
		return
	}
	// A Backup first replays the last unchanged advert before the change
	// (not reported on its own): the Master_Down_Timer restarts from it,
	// so a master whose priority drops below ours is taken over one
	// Master_Down_Interval after its last higher-priority advert, not
	// after an older one (RFC 5798 §6.4.2).
	if p := e.Prev; !p.At.IsZero() && p.At.After(inst.kernelSeen) && st == vrrp.Backup {
		inst.kernelSeen = p.At
		d.step(inst, now, p)
	}
	if e.Recv.At.After(inst.kernelSeen) {
		inst.kernelSeen = e.Recv.At
	}
	d.step(inst, now, e.Recv)
}

// refreshBackups runs before a Backup's deadline fires: adverts of an
// unchanged master are only recorded in the kernel's adverts map, so the
// last one is stepped now, with its arrival time, and the master-down
// timer moves on from there.
//
// The other Backups whose deadline comes within two of their advert
// intervals are refreshed in the same pass: masters advertising at the
// same rate then keep their Backups' deadlines together, and the loop
// wakes once per master-down period for all of them instead of once per
// instance. Reading the map is a memory read, and a refresh that finds no
// newer advert steps nothing. On the socket dataplane there is nothing to
// read and this does nothing.
func (d *Daemon) refreshBackups(now time.Time, inst *instance) {
	d.refreshOne(now, inst)
	for _, o := range d.insts {
		if o == inst || o.next.IsZero() || o.router.State() != vrrp.Backup ||
			o.next.Sub(now) > 2*o.advert.Interval {
			continue
		}
		d.refreshOne(now, o)
	}
}

// refreshOne steps inst with the dataplane's last recorded advert if it is
// newer than the last one stepped. With the kernel's silence watch running
// for that advert, and the router restarting its Master_Down_Timer from it
// (a Backup that accepted it), the deadline is pushed back by up to
// kernelWatchSafety: the kernel's report comes before the real one. It
// returns whether the deadline was pushed.
func (d *Daemon) refreshOne(now time.Time, inst *instance) bool {
	if !inst.bound() {
		return false
	}
	adv, watched, ok := d.parts.plane.Last(inst.key)
	if !ok || !adv.At.After(inst.kernelSeen) {
		return false
	}
	inst.kernelSeen = adv.At
	d.step(inst, now, adv)
	if !kernelWatch || !watched || inst.router.State() != vrrp.Backup {
		return false
	}
	// RFC 5798 §6.4.2: an accepted advert restarts the timer at
	// Master_Down_Interval; a discarded one (preemption) leaves it, and
	// then it must fire on time.
	mdi := vrrp.MasterDownInterval(inst.advert.Version, inst.router.Priority(), inst.router.MasterAdverInterval())
	if !inst.next.Equal(adv.At.Add(mdi)) {
		return false
	}
	if later := now.Add(kernelWatchSafety); inst.next.Before(later) {
		inst.next = later
		d.schedule(inst)
	}
	return true
}

// refreshMaster runs at a master's advert deadline: an unchanged advert
// of a peer that outranks us is only in the adverts map (the dataplane
// reported it while we were not master, or its report was lost), and
// must make us step down (RFC 5798 §6.4.3) instead of two masters.
func (d *Daemon) refreshMaster(now time.Time, inst *instance) {
	if !inst.bound() {
		return
	}
	adv, _, ok := d.parts.plane.Last(inst.key)
	if !ok || !adv.At.After(inst.kernelSeen) || !inst.outranks(adv.Advert.Priority, adv.Src) {
		return
	}
	// Only a peer that is alive counts: an advert older than a
	// Master_Down_Interval is from a master that has gone since.
	if now.Sub(adv.At) > vrrp.MasterDownInterval(inst.advert.Version, inst.router.Priority(), adv.Advert.Interval) {
		return
	}
	inst.kernelSeen = adv.At
	d.step(inst, now, adv)
}

// refreshResigning steps, for a resigning master, the dataplane's record
// of an advert from another router since the resign began: the backup
// that took over (whatever its priority), which the kernel may not report
// (same source and priority as an earlier record).
func (d *Daemon) refreshResigning(now time.Time, inst *instance) {
	if !inst.bound() {
		return
	}
	adv, _, ok := d.parts.plane.Last(inst.key)
	if !ok || adv.Advert.Priority == 0 || adv.Src == inst.bind.Src ||
		!adv.At.After(inst.kernelSeen) || !adv.At.After(inst.resignSince) {
		return
	}
	inst.kernelSeen = adv.At
	d.step(inst, now, adv)
}

// beforeTakeover runs when a Backup's Master_Down_Timer is about to fire:
// a Backup whose receive path is gone would take over from a master it
// cannot hear. The dataplane's attachments are checked first; one that
// was lost and is back restarts the timer (through FAULT: the instance
// was deaf).
func (d *Daemon) beforeTakeover(now time.Time, inst *instance) {
	d.checkPlane(now)
}

// checkPlane verifies the dataplane's attachments.
func (d *Daemon) checkPlane(now time.Time) {
	for _, l := range d.parts.plane.Check() {
		d.lost(now, l)
	}
	for _, inst := range d.insts {
		if inst.planeErr != "" {
			d.rebind = true // attach again
		}
	}
}

// lost handles a lost attachment, logged at error level. Attached again,
// the interface's Backups were deaf meanwhile: their Master_Down_Timer
// starts again (through FAULT). Not attached again, its instances wait in
// FAULT and the next check tries again. A master keeps sending either
// way.
func (d *Daemon) lost(now time.Time, e planeLost) {
	d.log.Error("receive path lost", zap.Int("ifindex", e.Ifindex), zap.Bool("attached_again", e.Fixed), zap.Error(e.Err))
	for _, inst := range d.insts {
		if !inst.bound() || inst.key.ifindex != e.Ifindex {
			continue
		}
		if !e.Fixed {
			d.setHostFault(now, inst, &inst.planeErr, "receive path lost: "+e.Err.Error())
			continue
		}
		if inst.router.State() != vrrp.Backup {
			continue
		}
		d.step(inst, now, vrrp.SetFault{Fault: true, Reason: "receive path lost"})
		if !inst.health.faulted {
			d.step(inst, now, vrrp.SetFault{Fault: false, Reason: "receive path restored"})
		}
	}
}

// mismatchKey limits mismatch warnings to one per peer, reason and minute.
type mismatchKey struct {
	src    netip.Addr
	reason vrrp.DropReason
}

const mismatchEvery = time.Minute

// dropped logs a sampled dropped advert at warn level: a peer whose
// configuration differs from ours (auth, VRID, version, interval) is an
// operator's mistake that keepalived logs too.
func (d *Daemon) dropped(now time.Time, e planeDrop) {
	k := mismatchKey{src: e.Src, reason: e.Reason}
	if last, ok := d.mismatches[k]; ok && now.Sub(last) < mismatchEvery {
		return
	}
	if len(d.mismatches) > 4096 {
		clear(d.mismatches)
	}
	d.mismatches[k] = now
	d.log.Warn("advert from a peer dropped: its configuration differs", zap.Stringer("src", e.Src),
		zap.Stringer("reason", e.Reason), zap.Uint8("vrid", e.VRID), zap.Int("ifindex", e.Ifindex))
}
