package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// RouterSnapshot is the run-time state of a Router, for handing it to
// another process (an in-place upgrade): the state, effective priority,
// what was learnt of the master, the maintenance hold and every running
// timer as an offset from the snapshot's time, so that the other process,
// whose clock readings mean nothing here, keeps the timers' phase. It
// marshals to JSON; the zero value of each timer field means "not
// running" (a running timer's offset is never 0: see Snapshot).
type RouterSnapshot struct {
	State          string        `json:"state"`
	Priority       uint8         `json:"priority"`
	Fault          bool          `json:"fault,omitempty"`
	MasterAddr     netip.Addr    `json:"master_addr,omitzero"`
	MasterAdverInt time.Duration `json:"master_adver_int"`
	Hold           bool          `json:"hold,omitempty"`

	DownIn        time.Duration `json:"down_in,omitempty"`
	AdverIn       time.Duration `json:"adver_in,omitempty"`
	GarpDelayIn   time.Duration `json:"garp_delay_in,omitempty"`
	GarpRefreshIn time.Duration `json:"garp_refresh_in,omitempty"`
	PreemptIn     time.Duration `json:"preempt_in,omitempty"`
	LowerGarpIn   time.Duration `json:"lower_garp_in,omitempty"`
	LowerDelayIn  time.Duration `json:"lower_delay_in,omitempty"`
	LowerNextIn   time.Duration `json:"lower_next_in,omitempty"`
	NotBeforeIn   time.Duration `json:"not_before_in,omitempty"`
}

// ErrResigning is returned by Snapshot while the router resigns: a
// handover in progress is not handed to another process.
var ErrResigning = errors.New("resigning: a handover or stop is in progress")

// Snapshot returns the router's state at now. It fails while the router
// resigns (Resign) and in Initialize (nothing to carry over).
func (r *Router) Snapshot(now time.Time) (RouterSnapshot, error) {
	if r.resigning {
		return RouterSnapshot{}, ErrResigning
	}
	if r.state == Initialize {
		return RouterSnapshot{}, errors.New("not started")
	}
	s := RouterSnapshot{
		State:          r.state.String(),
		Priority:       r.prio,
		Fault:          r.fault,
		MasterAddr:     r.masterAddr,
		MasterAdverInt: r.masterAdverInt,
		Hold:           r.hold,
	}
	for _, t := range []struct {
		at  time.Time
		off *time.Duration
	}{
		{r.downAt, &s.DownIn}, {r.adverAt, &s.AdverIn}, {r.garpDelayAt, &s.GarpDelayIn},
		{r.garpRefreshAt, &s.GarpRefreshIn}, {r.preemptAt, &s.PreemptIn}, {r.lowerGarpAt, &s.LowerGarpIn},
		{r.lowerDelayAt, &s.LowerDelayIn}, {r.lowerNext, &s.LowerNextIn}, {r.notBefore, &s.NotBeforeIn},
	} {
		if t.at.IsZero() {
			continue
		}
		*t.off = t.at.Sub(now)
		if *t.off == 0 {
			*t.off = -1 // due now: still running
		}
	}
	return s, nil
}

// Restore puts a Router that has not started (Initialize, as NewRouter
// returns it) in the state s describes, with every timer running from
// now: the caller takes over a virtual router from another process.
// The Router's own configuration stays: the priority of an address owner
// stays 255, and a priority is clamped to 1..254 otherwise (SetPriority's
// rule). Restore steps nothing: the caller reads Next and ticks from
// there; an overdue timer fires at the first Tick.
func (r *Router) Restore(now time.Time, s RouterSnapshot) error {
	if r.state != Initialize {
		return fmt.Errorf("restore: router is %s, not INIT", r.state)
	}
	var st State
	switch s.State {
	case Backup.String():
		st = Backup
	case Master.String():
		st = Master
	case Fault.String():
		st = Fault
	default:
		return fmt.Errorf("restore: state %q cannot be taken over", s.State)
	}
	if s.MasterAdverInt <= 0 {
		return fmt.Errorf("restore: master advert interval %v", s.MasterAdverInt)
	}
	if st == Master && s.AdverIn == 0 {
		return errors.New("restore: a MASTER without a running advert timer")
	}
	if st == Backup && s.DownIn == 0 && !s.Hold {
		return errors.New("restore: a BACKUP without a running master-down timer")
	}
	at := func(off time.Duration) time.Time {
		if off == 0 {
			return time.Time{}
		}
		return now.Add(off)
	}
	r.state = st
	r.fault = s.Fault
	r.masterAddr = s.MasterAddr
	r.masterAdverInt = s.MasterAdverInt
	r.hold = s.Hold
	r.downAt, r.adverAt = at(s.DownIn), at(s.AdverIn)
	r.garpDelayAt, r.garpRefreshAt = at(s.GarpDelayIn), at(s.GarpRefreshIn)
	r.preemptAt, r.lowerGarpAt, r.lowerDelayAt = at(s.PreemptIn), at(s.LowerGarpIn), at(s.LowerDelayIn)
	r.lowerNext, r.notBefore = at(s.LowerNextIn), at(s.NotBeforeIn)
	if st == Master {
		r.masterAddr = r.cfg.PrimaryAddr
	}
	if r.cfg.Priority != PriorityOwner {
		// The timers were set under this priority: no Skew_Time move.
		r.prio = min(max(s.Priority, 1), PriorityOwner-1)
	}
	return nil
}

// Next returns the next deadline at which the caller must step a Tick, as
// Step returns it (the zero time when no timer runs).
func (r *Router) Next(now time.Time) time.Time { return r.next(now) }

// Config returns the router's configuration (with the primary address
// SetAddress gave it).
func (r *Router) Config() Config { return r.cfg }
