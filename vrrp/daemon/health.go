package daemon

import (
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/notify"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// health is what tracking, the host and sync groups say about one
// instance. The router's fault flag is the union of them; the host's part
// is the instance's bindErr and planeErr.
type health struct {
	started    bool // Startup stepped: not while a weight-0 script has not reported yet
	trackFault bool
	groupFault bool
	faulted    bool // what the router was last told
	reason     string
}

// ownFault is the instance's fault not counting its sync group's, and why.
func ownFault(inst *instance) (bool, string) {
	switch {
	case inst.bindErr != "":
		return true, inst.bindErr
	case inst.planeErr != "":
		return true, inst.planeErr
	case inst.health.trackFault:
		return true, inst.health.reason
	}
	return false, ""
}

// syncGroup is a vrrp_sync_group at run time.
type syncGroup struct {
	cfg     *config.SyncGroup
	members []*instance
	state   vrrp.State // last state notified for the group
}

// buildGroups links the sync groups of cfg to their members; a group of
// the same name in old keeps its last notified state.
func buildGroups(cfg *config.Config, insts []*instance, old []*syncGroup) []*syncGroup {
	byName := map[string]*instance{}
	for _, inst := range insts {
		byName[inst.cfg.Name] = inst
		inst.sync = nil
	}
	prev := map[string]vrrp.State{}
	for _, g := range old {
		prev[g.cfg.Name] = g.state
	}
	var groups []*syncGroup
	for _, gc := range cfg.SyncGroups {
		g := &syncGroup{cfg: gc, state: vrrp.Initialize}
		if st, ok := prev[gc.Name]; ok {
			g.state = st
		}
		for _, name := range gc.Members {
			if m := byName[name]; m != nil {
				m.sync = g
				g.members = append(g.members, m)
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// applyTrack feeds a tracker verdict to inst: priority, fault, and the
// delayed Startup of an instance whose weight-0 scripts had not reported.
func (d *Daemon) applyTrack(now time.Time, inst *instance, u track.Update) {
	h := &inst.health
	if !h.started && u.Waiting {
		return // keepalived keeps such an instance in INIT
	}
	if inst.cfg.Priority != vrrp.PriorityOwner && u.Priority != inst.router.Priority() {
		// On the kernel dataplane a backup learns of an unchanged master's
		// adverts only from the adverts map: the last one must be judged
		// against the priority it arrived under (RFC 5798 §6.4.2), before
		// the change, or a backup whose priority rose would discard it and
		// preempt up to an advert interval early.
		if inst.router.State() == vrrp.Backup {
			d.refreshBackups(now, inst)
		}
		inst.log.Info("effective priority changed", zap.Uint8("from", inst.router.Priority()), zap.Uint8("to", u.Priority))
		d.step(inst, now, vrrp.SetPriority{Priority: u.Priority})
	}
	h.trackFault = u.Fault
	if u.Fault {
		h.reason = u.Reason
	}
	d.faultChanged(now, inst)
	if !h.started {
		h.started = true
		d.step(inst, now, vrrp.Startup{NotBefore: d.bootUntil})
	}
}

// setHostFault sets one of the instance's host fault reasons (field is
// &inst.bindErr or &inst.planeErr; "" clears it) and tells the router.
func (d *Daemon) setHostFault(now time.Time, inst *instance, field *string, reason string) {
	if *field == reason {
		return
	}
	if reason != "" {
		inst.log.Warn("instance faulted by the host", zap.String("fault", reason))
	} else {
		inst.log.Info("host fault cleared", zap.String("was", *field))
	}
	*field = reason
	d.faultChanged(now, inst)
}

// faultChanged propagates a change of the instance's own fault to its
// router and its sync group.
func (d *Daemon) faultChanged(now time.Time, inst *instance) {
	_, why := ownFault(inst)
	d.updateFault(now, inst, why)
	if inst.sync != nil {
		d.syncFaults(now, inst.sync)
	}
}

// updateFault tells the router when its combined fault changes.
func (d *Daemon) updateFault(now time.Time, inst *instance, reason string) {
	h := &inst.health
	own, ownWhy := ownFault(inst)
	want := own || h.groupFault
	if own {
		reason = ownWhy
	}
	inst.status.Fault = ""
	if want {
		inst.status.Fault = reason
	}
	d.dirty = true
	if want == h.faulted {
		return
	}
	h.faulted = want
	if !want {
		reason = "recovered"
	}
	d.step(inst, now, vrrp.SetFault{Fault: want, Reason: reason})
}

// syncFaults holds every member of g in FAULT while another member's own
// fault (tracked objects, host) lasts, and releases it when none has one.
// The group fault is derived from the members' own verdicts, never from
// their states: a member faulted only by the group must not keep the
// member that faulted it in FAULT once that one has recovered.
func (d *Daemon) syncFaults(now time.Time, g *syncGroup) {
	for _, m := range g.members {
		fault, why := false, ""
		for _, o := range g.members {
			if f, r := ownFault(o); o != m && f {
				fault, why = true, "sync group: "+o.cfg.Name+" "+r
				break
			}
		}
		m.health.groupFault = fault
		d.updateFault(now, m, why)
	}
}

// groupWantsMaster tells whether inst, a Backup whose Master_Down_Timer
// fired, may take over: alone, or when its sync group is master already,
// or when every other member wants to as well (master already, its own
// timer fired, or fired before and not restarted by an advert since).
func (d *Daemon) groupWantsMaster(now time.Time, inst *instance) bool {
	g := inst.sync
	if g == nil || g.state == vrrp.Master {
		return true
	}
	for _, o := range g.members {
		if o == inst {
			continue
		}
		switch o.router.State() {
		case vrrp.Master:
		case vrrp.Backup:
			if !o.wantMaster && (o.next.IsZero() || o.next.After(now)) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// onTransition runs the notify scripts of a transition and queues what its
// sync group must follow. It runs inside step: other instances are
// stepped later, from the pending queue, never re-entrantly.
func (d *Daemon) onTransition(inst *instance, t vrrp.Transition) {
	word := notify.StateWord(t.To)
	if t.To == vrrp.Initialize {
		word = notify.Stop
	}
	d.notifier.Notify(notify.Instance, inst.cfg.Name, inst.cfg.Notify, word, t.Priority)
	inst.wantMaster = false
	g := inst.sync
	if g == nil || d.stopping {
		return
	}
	if t.To != g.state && t.To != vrrp.Initialize {
		g.state = t.To
		d.notifier.Notify(notify.Group, g.cfg.Name, g.cfg.Notify, notify.StateWord(t.To), 0)
	}
	// Backup ↔ Master is followed here; FAULT is shared through
	// syncFaults, from the members' own faults.
	if t.To != vrrp.Master && (t.From != vrrp.Master || t.To != vrrp.Backup) {
		return
	}
	why := inst.cfg.Name + " " + word
	for _, m := range g.members {
		// A member still resigning hands its VIPs over itself, when its
		// own successor advertises (make-before-break).
		if m != inst && !m.router.Resigning() {
			d.pending = append(d.pending, func(now time.Time) {
				d.step(m, now, vrrp.SyncTo{State: t.To, Reason: why})
			})
		}
	}
}

// runPending steps what transitions queued for other instances, until
// nothing more is queued (a group converges in one round: SyncTo and
// SetFault of a state already reached do nothing).
func (d *Daemon) runPending(now time.Time) {
	for i := 0; len(d.pending) > 0 && i < 16; i++ {
		p := d.pending
		d.pending = nil
		for _, fn := range p {
			fn(now)
		}
	}
	d.pending = nil
}
