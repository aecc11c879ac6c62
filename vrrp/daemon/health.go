package daemon

import (
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/notify"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// health is what tracking and sync groups say about one instance. The
// router's own fault flag is (track || group).
type health struct {
	started    bool // Startup stepped: not while a weight-0 script has not reported yet
	trackFault bool
	groupFault bool
	faulted    bool // what the router was last told
	reason     string
}

// syncGroup is a vrrp_sync_group at run time.
type syncGroup struct {
	cfg     *config.SyncGroup
	members []*instance
	state   vrrp.State // last state notified for the group
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
		if d.kernel != nil && inst.router.State() == vrrp.Backup {
			d.refreshFromKernel(now, inst)
		}
		inst.log.Info("effective priority changed", zap.Uint8("from", inst.router.Priority()), zap.Uint8("to", u.Priority))
		inst.step(d, now, vrrp.SetPriority{Priority: u.Priority})
	}
	h.trackFault = u.Fault
	if u.Fault {
		h.reason = u.Reason
	}
	d.updateFault(now, inst, u.Reason)
	if inst.sync != nil {
		d.syncFaults(now, inst.sync)
	}
	if !h.started {
		h.started = true
		inst.step(d, now, vrrp.Startup{})
	}
}

// updateFault tells the router when its combined fault changes.
func (d *Daemon) updateFault(now time.Time, inst *instance, reason string) {
	h := &inst.health
	want := h.trackFault || h.groupFault
	if want == h.faulted {
		return
	}
	h.faulted = want
	if !want {
		reason = "tracked objects recovered"
	}
	inst.step(d, now, vrrp.SetFault{Fault: want, Reason: reason})
}

// syncFaults holds every member of g in FAULT while another member's own
// tracked objects fail, and releases it when none does. The group fault is
// derived from the members' own verdicts, never from their states: a member
// faulted only by the group must not keep the member that faulted it in
// FAULT once that one has recovered.
func (d *Daemon) syncFaults(now time.Time, g *syncGroup) {
	for _, m := range g.members {
		fault, why := false, ""
		for _, o := range g.members {
			if o != m && o.health.trackFault {
				fault, why = true, "sync group: "+o.cfg.Name+" "+o.health.reason
				break
			}
		}
		m.health.groupFault = fault
		d.updateFault(now, m, why)
	}
}

// onTransition runs the notify scripts of a transition and queues what its
// sync group must follow. It runs inside inst.step: other instances are
// stepped later, from the pending queue, never re-entrantly.
func (d *Daemon) onTransition(inst *instance, t vrrp.Transition) {
	word := notify.StateWord(t.To)
	if t.To == vrrp.Initialize {
		word = notify.Stop
	}
	d.notifier.Notify(notify.Instance, inst.cfg.Name, inst.cfg.Notify, word, t.Priority)
	g := inst.sync
	if g == nil || d.stopping {
		return
	}
	if t.To != g.state && t.To != vrrp.Initialize {
		g.state = t.To
		d.notifier.Notify(notify.Group, g.cfg.Name, g.cfg.Notify, notify.StateWord(t.To), 0)
	}
	// Backup ↔ Master is followed here; FAULT is shared through
	// syncFaults, from the trackers' verdicts.
	if t.To != vrrp.Master && (t.From != vrrp.Master || t.To != vrrp.Backup) {
		return
	}
	why := inst.cfg.Name + " " + word
	for _, m := range g.members {
		if m != inst {
			d.pending = append(d.pending, func(now time.Time) {
				m.step(d, now, vrrp.SyncTo{State: t.To, Reason: why})
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
