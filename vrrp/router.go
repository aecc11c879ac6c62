package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config is the static configuration of one virtual router, as read from a
// keepalived vrrp_instance block.
//
// The zero value is not usable: Preempt in particular is false in the zero
// value while keepalived's default is true, so whoever builds a Config from
// keepalived.conf sets Preempt = true unless "nopreempt" is given.
type Config struct {
	Version  Version
	VRID     uint8 // 1..255
	Priority uint8 // configured priority, 1..255; 255 is the address owner

	// AdvertInterval is Advertisement_Interval: whole seconds (1..255 s) for
	// v2, a multiple of 10 ms (10 ms..40.95 s) for v3.
	AdvertInterval time.Duration

	// InitialState is keepalived's "state MASTER|BACKUP" hint. Initialize
	// (the zero value) means "not given": Master for the address owner,
	// Backup otherwise, as keepalived derives it. See Router for what Master
	// means for a priority below 255.
	InitialState State

	// Preempt lets a higher-priority backup take over from a lower-priority
	// master (RFC 5798 §6.1 Preempt_Mode). keepalived's default is true and
	// "nopreempt" clears it. It is forced on for the address owner and for
	// InitialState Master, as keepalived does when it checks a configuration.
	Preempt bool

	// PreemptDelay holds off preemption of a lower-priority master (keepalived
	// "preempt_delay", 0..1000 s): see Router. Ignored when Preempt is off or
	// InitialState is Master, as in keepalived.
	PreemptDelay time.Duration

	// PrimaryAddr is our primary address on the interface: the source of our
	// advertisements, compared in the equal-priority tie-break
	// (RFC 5798 §6.4.3) and reported as the master while we are master. IPv4
	// for v2.
	PrimaryAddr netip.Addr

	// GarpMasterDelay is keepalived's garp_master_delay (default 5 s): a
	// second SendGratuitous this long after becoming master; 0 for none.
	GarpMasterDelay time.Duration

	// GarpMasterRefresh is keepalived's garp_master_refresh: while master, a
	// SendGratuitous every GarpMasterRefresh, the first one
	// GarpMasterDelay+GarpMasterRefresh after becoming master; 0 for none.
	GarpMasterRefresh time.Duration

	// LowerPrioNoAdvert is keepalived's lower_prio_no_advert. When false (the
	// keepalived default) a master that receives a lower-priority
	// advertisement answers at once with its own and restarts its advert
	// timer, to end a split brain quickly. When true the advertisement is
	// discarded as RFC 5798 §6.4.3 says.
	LowerPrioNoAdvert bool

	// GarpLowerPrio is keepalived's garp_lower_prio_repeat above 0: a
	// master that receives an advertisement from a router it outranks (a
	// split brain healing: the other side is master too) also asks for a
	// gratuitous burst, SendGratuitous{LowerPrio}, so that hosts whose ARP
	// or neighbour entry names the other router come back to us. Such
	// bursts are rate-limited: see Router.
	GarpLowerPrio bool

	// GarpLowerPrioDelay is keepalived's garp_lower_prio_delay: with
	// GarpLowerPrio, a second SendGratuitous{LowerPrio} this long after
	// each such burst; 0 for none.
	GarpLowerPrioDelay time.Duration

	// HigherPrioSendAdvert is keepalived's higher_prio_send_advert: a
	// master that receives an advertisement that outranks it sends one
	// advertisement of its own before it steps down. After a split brain
	// the other master then hears a lower priority and announces its VIPs
	// again (GarpLowerPrio on its side), which brings back the hosts that
	// followed us; without it they wait for their ARP or neighbour entry
	// to fail.
	HigherPrioSendAdvert bool
}

// Limits checked by Config.Validate.
const (
	maxPreemptDelay = 1000 * time.Second // keepalived's preempt_delay range
	// lowerPrioMinGap is the least time between two gratuitous bursts
	// answering lower-priority advertisements (the advert interval if
	// longer).
	lowerPrioMinGap = time.Second
	v3IntervalUnit  = 10 * time.Millisecond
	v3MaxInterval   = 4095 * v3IntervalUnit // 12-bit Max Adver Int in centiseconds (RFC 5798 §5.2.7)
	v2MaxInterval   = 255 * time.Second     // 8-bit Adver Int in seconds (RFC 3768 §5.3.7)
)

// Validate reports the first problem that makes c unusable, or nil.
func (c Config) Validate() error {
	switch c.Version {
	case V2:
		if c.AdvertInterval < time.Second || c.AdvertInterval > v2MaxInterval || c.AdvertInterval%time.Second != 0 {
			return fmt.Errorf("advert interval %v: vrrp v2 needs whole seconds from 1s to 255s", c.AdvertInterval)
		}
		if !c.PrimaryAddr.Unmap().Is4() {
			return fmt.Errorf("primary address %v: vrrp v2 needs an ipv4 address", c.PrimaryAddr)
		}
	case V3:
		if c.AdvertInterval < v3IntervalUnit || c.AdvertInterval > v3MaxInterval || c.AdvertInterval%v3IntervalUnit != 0 {
			return fmt.Errorf("advert interval %v: vrrp v3 needs a multiple of 10ms from 10ms to 40.95s", c.AdvertInterval)
		}
		if !c.PrimaryAddr.IsValid() {
			return errors.New("primary address is not set")
		}
	default:
		return fmt.Errorf("unsupported vrrp version %d", c.Version)
	}
	if c.VRID == 0 {
		return errors.New("vrid 0 is not valid: use 1-255")
	}
	if c.Priority == PriorityStop {
		return errors.New("priority 0 is reserved for a resigning master: use 1-255")
	}
	switch c.InitialState {
	case Initialize, Backup, Master:
	default:
		return fmt.Errorf("initial state %v: only MASTER or BACKUP may be configured", c.InitialState)
	}
	if c.PreemptDelay < 0 || c.PreemptDelay > maxPreemptDelay {
		return fmt.Errorf("preempt delay %v out of range 0s-1000s", c.PreemptDelay)
	}
	if c.GarpMasterDelay < 0 {
		return fmt.Errorf("garp master delay %v is negative", c.GarpMasterDelay)
	}
	if c.GarpMasterRefresh < 0 {
		return fmt.Errorf("garp master refresh %v is negative", c.GarpMasterRefresh)
	}
	if c.GarpLowerPrioDelay < 0 {
		return fmt.Errorf("garp lower priority delay %v is negative", c.GarpLowerPrioDelay)
	}
	return nil
}

// Transition reasons, in Transition.Reason.
const (
	reasonStartup        = "startup"
	reasonStartupOwner   = "startup as address owner"
	reasonStartupFault   = "startup in fault"
	reasonStartupDelayed = "startup as address owner after the startup delay"
	reasonMasterDown     = "master down timer expired"
	reasonHigherPrio     = "higher priority advertisement"
	reasonEqualPrioAddr  = "equal priority advertisement from a greater address"
	reasonShutdown       = "shutdown"
	reasonFault          = "fault"
	reasonFaultRecovered = "fault recovered"
	reasonSync           = "sync group"
	reasonHandedOver     = "handed over"
	reasonResignTimeout  = "resigned: no backup took over"
)

// Router is the state machine of one virtual router (RFC 5798 §6.4,
// RFC 9568 §6.4) plus keepalived's Fault state. It is a value that is
// stepped: Step takes the current time and one event and returns the actions
// to carry out, in order, and the next deadline. It reads no clock, starts no
// goroutine and performs no I/O. A Router is not safe for concurrent use.
//
// Timers fire only on a Tick: if another event is stepped after a deadline
// has passed, the deadline is still pending and Step returns now as the next
// deadline, so that the caller ticks at once. In particular an advertisement
// that reaches a backup after its master-down deadline but before the Tick
// still restarts the timer.
//
// Behaviours taken from keepalived 2.2 (keepalived/vrrp/vrrp.c,
// vrrp_scheduler.c, vrrp_track.c) where the RFCs leave room:
//
//   - InitialState Master with a priority below 255: the router starts as
//     Backup with the full Master_Down_Interval, like "state BACKUP"
//     (keepalived 2.2.7 does so outside sync groups: vrrp_init_state in
//     vrrp_scheduler.c). Preempt is then forced on and PreemptDelay off
//     (the config checks in vrrp.c).
//   - The address owner (priority 255) becomes master at Startup whatever
//     InitialState says (RFC 5798 §6.4.1; keepalived instead starts a
//     255 with an explicit "state BACKUP" as a plain backup).
//   - PreemptDelay (vrrp_state_backup in vrrp.c): the delay starts at the
//     first lower-priority, non-zero advertisement received as Backup. Until
//     it has passed such advertisements are accepted as if preemption were
//     off; afterwards they are discarded, so the master-down timer runs out
//     and we take over. An advertisement with a priority at least ours, or
//     entering Backup, cancels the delay. There is no delay after Startup
//     when no master is heard: keepalived has none either.
//   - A master receiving a lower-priority advertisement (or an equal one from
//     a smaller address) answers at once with its own advertisement and
//     restarts its advert timer, unless LowerPrioNoAdvert
//     (vrrp_state_master_rx in vrrp.c, the read dispatcher in
//     vrrp_scheduler.c).
//   - With GarpLowerPrio that master also asks for a gratuitous burst
//     (keepalived's garp_lower_prio_repeat, and a second one
//     GarpLowerPrioDelay later), so that hosts come back from the other
//     master after a split brain. keepalived sends one per such advert;
//     here at most one goes out per max(AdvertInterval, 1 s): an advert
//     that comes sooner defers the burst to the end of that gap instead
//     of adding one, so a flood of forged lower-priority adverts costs
//     at most one burst per gap, and hosts still hear us last.
//   - Startup.NotBefore (keepalived's vrrp_startup_delay and 2.4's
//     vrrp_delay_after_boot): adverts are not read and no router becomes
//     master before it; timers of Backup run from it (vrrp_scheduler.c
//     counts the master-down timer from the end of the delay).
//   - SetPriority is ignored for the address owner and clamped to 1..254
//     otherwise; as Backup the running master-down timer moves by the change
//     in Skew_Time (vrrp_set_effective_priority in vrrp_track.c). As Master
//     the new priority goes out with the next scheduled advertisement.
//   - Fault: from Master a priority-0 advertisement is sent and the VIPs
//     removed (vrrp_state_leave_master); while in Fault advertisements are
//     ignored and nothing is sent; leaving Fault enters Backup with
//     Master_Adver_Interval reset to our own interval and a full
//     Master_Down_Interval (try_up_instance, vrrp_state_leave_fault). A
//     SetFault before Startup makes Startup enter Fault.
//   - On becoming master Master_Adver_Interval is reset to our own interval
//     (vrrp_state_become_master).
type Router struct {
	cfg          Config
	preempt      bool
	preemptDelay time.Duration

	state          State
	prio           uint8 // effective priority
	fault          bool  // the caller reported a fault that is not cleared yet
	masterAddr     netip.Addr
	masterAdverInt time.Duration

	// Deadlines; the zero time means not running.
	downAt        time.Time // Master_Down_Timer (Backup)
	adverAt       time.Time // Adver_Timer (Master)
	garpDelayAt   time.Time // second gratuitous burst (Master)
	garpRefreshAt time.Time // periodic gratuitous burst (Master)
	preemptAt     time.Time // end of the preempt delay (Backup); not a deadline
	lowerGarpAt   time.Time // deferred lower-priority burst (Master)
	lowerDelayAt  time.Time // second lower-priority burst (Master)
	lowerNext     time.Time // no lower-priority burst before; not a deadline
	notBefore     time.Time // Startup.NotBefore: no Master before; not a deadline

	// Resign (make-before-break): advertising priority 0 but keeping the
	// VIPs until another router's advert shows it took over, or resignAt.
	resigning  bool
	resignKeep bool // at resignAt: stay Master (true) or give the VIPs up
	resignStop bool // relieved or given up: Initialize (a stop), not Backup
	// resignLinger: once relieved, the VIPs stay this much longer;
	// relieved marks resignAt as the end of that linger.
	resignLinger time.Duration
	relieved     bool
	resignWhy    string // the reason of the transition when handed over
	resignAt     time.Time
	// hold: maintenance; a held Backup never becomes Master.
	hold bool
}

// NewRouter returns a Router in the Initialize state for a valid cfg. It
// returns the error of cfg.Validate otherwise.
func NewRouter(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("virtual router %d: %w", cfg.VRID, err)
	}
	r := &Router{
		cfg:            cfg,
		preempt:        cfg.Preempt,
		preemptDelay:   cfg.PreemptDelay,
		state:          Initialize,
		prio:           cfg.Priority,
		masterAdverInt: cfg.AdvertInterval,
	}
	if cfg.Priority == PriorityOwner || cfg.InitialState == Master {
		r.preempt = true
	}
	if !r.preempt || cfg.InitialState == Master {
		r.preemptDelay = 0
	}
	return r, nil
}

// State returns the current state.
func (r *Router) State() State { return r.state }

// Resigning reports whether a Master is handing over (Resign) and still
// holds its VIPs.
func (r *Router) Resigning() bool { return r.resigning }

// Held reports whether the router is in maintenance (Hold).
func (r *Router) Held() bool { return r.hold }

// Priority returns the effective priority: the configured one as changed by
// SetPriority.
func (r *Router) Priority() uint8 { return r.prio }

// MasterAddr returns the master's address as last seen: ours while we are
// master, the source of the last accepted advertisement as Backup, or the
// zero Addr when no master is known.
func (r *Router) MasterAddr() netip.Addr { return r.masterAddr }

// MasterAdverInterval returns Master_Adver_Interval: for v3 the interval
// learnt from the master's advertisements (RFC 5798 §6.4.2), otherwise our
// own AdvertInterval.
func (r *Router) MasterAdverInterval() time.Duration { return r.masterAdverInt }

// Step feeds one event at time now and returns the actions to carry out, in
// order, and the next deadline at which the caller must step a Tick (the zero
// time when no timer runs). The deadline is never before now. Times must not
// go backwards between calls.
func (r *Router) Step(now time.Time, ev Event) (actions []Action, next time.Time) {
	switch e := ev.(type) {
	case Startup:
		actions = r.startup(now, e, actions)
	case Shutdown:
		actions = r.shutdown(now, actions)
	case Tick:
		actions = r.tick(now, actions)
	case AdvertReceived:
		actions = r.advert(now, e, actions)
	case SetPriority:
		r.setPriority(e.Priority)
	case SetFault:
		actions = r.setFault(now, e, actions)
	case SyncTo:
		actions = r.syncTo(now, e, actions)
	case SetAddress:
		r.setAddress(e.Addr)
	case Resign:
		actions = r.resign(now, e, actions)
	case Hold:
		r.setHold(now, e.On)
	}
	return actions, r.next(now)
}

// next returns the earliest running deadline, not before now.
func (r *Router) next(now time.Time) time.Time {
	var d time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	switch r.state {
	case Backup:
		if !r.hold {
			earliest(r.downAt)
		}
	case Master:
		earliest(r.adverAt)
		earliest(r.garpDelayAt)
		earliest(r.garpRefreshAt)
		earliest(r.lowerGarpAt)
		earliest(r.lowerDelayAt)
		if r.resigning {
			earliest(r.resignAt)
		}
	}
	if !d.IsZero() && d.Before(now) {
		return now
	}
	return d
}

// mdi is Master_Down_Interval for our effective priority and the current
// Master_Adver_Interval (RFC 5798 §6.1).
func (r *Router) mdi() time.Duration {
	return MasterDownInterval(r.cfg.Version, r.prio, r.masterAdverInt)
}

// skew is Skew_Time for our effective priority (RFC 5798 §6.1).
func (r *Router) skew() time.Duration {
	return SkewTime(r.cfg.Version, r.prio, r.masterAdverInt)
}

func (r *Router) transition(now time.Time, to State, reason string, actions []Action) []Action {
	from := r.state
	r.state = to
	return append(actions, Transition{
		From:     from,
		To:       to,
		Reason:   reason,
		Priority: r.prio,
		Master:   r.masterAddr,
		At:       now,
	})
}

// startup handles the Startup event.
//
// RFC 5798 §6.4.1 / RFC 9568 §6.4.1: the owner goes Master; everyone else
// sets Master_Adver_Interval to Advertisement_Interval, the
// Master_Down_Timer to Master_Down_Interval and goes Backup. During a boot
// delay (e.NotBefore) the owner waits in Backup until NotBefore, and the
// others' Master_Down_Timer runs from it.
func (r *Router) startup(now time.Time, e Startup, actions []Action) []Action {
	if r.state != Initialize {
		return actions
	}
	r.notBefore = time.Time{}
	if e.NotBefore.After(now) {
		r.notBefore = e.NotBefore
	}
	r.masterAddr = netip.Addr{}
	r.masterAdverInt = r.cfg.AdvertInterval
	if r.fault {
		return r.transition(now, Fault, reasonStartupFault, actions)
	}
	if r.cfg.Priority == PriorityOwner && !r.hold {
		if !r.notBefore.IsZero() {
			// A deadline of exactly notBefore is this deferred
			// Startup to tick (every other runs a Master_Down_Interval
			// past it).
			r.downAt, r.preemptAt = r.notBefore, time.Time{}
			return r.transition(now, Backup, reasonStartup, actions)
		}
		return r.becomeMaster(now, reasonStartupOwner, actions)
	}
	// "state MASTER" below 255 waits the full Master_Down_Interval too:
	// keepalived 2.2.7 logs "Entering BACKUP STATE (init)" and becomes
	// master 3 × advert_int + Skew_Time later (measured; a shorter wait
	// races the current master's next advert and may preempt it unheard).
	return r.enterBackup(now, r.mdi(), reasonStartup, actions)
}

// enterBackup starts the Master_Down_Timer with d and enters Backup.
func (r *Router) enterBackup(now time.Time, d time.Duration, reason string, actions []Action) []Action {
	r.downAt = r.timerBase(now).Add(d)
	r.preemptAt = time.Time{}
	return r.transition(now, Backup, reason, actions)
}

// becomeMaster enters Master from Initialize or Backup.
//
// RFC 5798 §6.4.1 and §6.4.2 ("If the Master_Down_Timer fires"): send an
// advertisement, broadcast gratuitous ARP / unsolicited NA, set the
// Adver_Timer to Advertisement_Interval, transition to Master. The VIPs are
// added first so that the gratuitous burst announces addresses the host
// already answers for.
func (r *Router) becomeMaster(now time.Time, reason string, actions []Action) []Action {
	r.downAt = time.Time{}
	r.preemptAt = time.Time{}
	r.masterAddr = r.cfg.PrimaryAddr
	r.masterAdverInt = r.cfg.AdvertInterval
	r.adverAt = now.Add(r.cfg.AdvertInterval)
	r.garpDelayAt = time.Time{}
	if r.cfg.GarpMasterDelay > 0 {
		r.garpDelayAt = now.Add(r.cfg.GarpMasterDelay)
	}
	r.garpRefreshAt = time.Time{}
	if r.cfg.GarpMasterRefresh > 0 {
		r.garpRefreshAt = now.Add(r.cfg.GarpMasterDelay + r.cfg.GarpMasterRefresh)
	}
	actions = append(actions, AddVIPs{}, SendAdvert{Priority: r.prio}, SendGratuitous{})
	return r.transition(now, Master, reason, actions)
}

// timerBase is when a Backup's timer restarted at now runs from: now, or
// the end of the boot delay (Startup.NotBefore) while it lasts.
func (r *Router) timerBase(now time.Time) time.Time {
	if now.Before(r.notBefore) {
		return r.notBefore
	}
	return now
}

// leaveMaster removes the VIPs, stops the master's timers and enters to.
func (r *Router) leaveMaster(now time.Time, to State, reason string, actions []Action) []Action {
	r.resigning, r.resignAt, r.relieved = false, time.Time{}, false
	r.adverAt = time.Time{}
	r.garpDelayAt = time.Time{}
	r.garpRefreshAt = time.Time{}
	r.lowerGarpAt, r.lowerDelayAt, r.lowerNext = time.Time{}, time.Time{}, time.Time{}
	actions = append(actions, RemoveVIPs{})
	return r.transition(now, to, reason, actions)
}

// shutdown handles the Shutdown event.
//
// RFC 5798 §6.4.2 (Backup: cancel the Master_Down_Timer, go Initialize) and
// §6.4.3 (Master: cancel the Adver_Timer, send an advertisement with
// priority 0, go Initialize). The VIPs go with the mastership.
func (r *Router) shutdown(now time.Time, actions []Action) []Action {
	switch r.state {
	case Master:
		actions = append(actions, SendAdvert{Priority: PriorityStop})
		actions = r.leaveMaster(now, Initialize, reasonShutdown, actions)
	case Backup, Fault:
		actions = r.transition(now, Initialize, reasonShutdown, actions)
	}
	r.downAt = time.Time{}
	r.preemptAt = time.Time{}
	return actions
}

// tick fires the timers that are due.
func (r *Router) tick(now time.Time, actions []Action) []Action {
	due := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	switch r.state {
	case Backup:
		// RFC 5798 §6.4.2: "If the Master_Down_Timer fires".
		if due(r.downAt) && !r.hold {
			reason := reasonMasterDown
			if r.downAt.Equal(r.notBefore) {
				reason = reasonStartupDelayed // the owner's Startup, deferred
			}
			return r.becomeMaster(now, reason, actions)
		}
	case Master:
		if r.resigning {
			return r.resigningTick(now, due, actions)
		}
		// RFC 5798 §6.4.3: "If the Adver_Timer fires": send an
		// advertisement and reset the Adver_Timer.
		if due(r.adverAt) {
			actions = append(actions, SendAdvert{Priority: r.prio})
			r.adverAt = now.Add(r.cfg.AdvertInterval)
		}
		// The delayed burst repeats the takeover's; a refresh due at the
		// same time is folded into it.
		switch delayed, refresh := due(r.garpDelayAt), due(r.garpRefreshAt); {
		case delayed:
			actions = append(actions, SendGratuitous{})
		case refresh:
			actions = append(actions, SendGratuitous{Refresh: true})
		}
		if due(r.garpDelayAt) {
			r.garpDelayAt = time.Time{}
		}
		if due(r.garpRefreshAt) {
			r.garpRefreshAt = now.Add(r.cfg.GarpMasterRefresh)
		}
		// A deferred lower-priority burst re-arms the delayed one, so a
		// delayed one due at the same time is folded into it.
		switch {
		case due(r.lowerGarpAt):
			actions = r.lowerPrioBurst(now, actions)
		case due(r.lowerDelayAt):
			r.lowerDelayAt = time.Time{}
			r.lowerNext = now.Add(r.lowerPrioGap())
			if !r.lowerGarpAt.IsZero() {
				r.lowerGarpAt = r.lowerNext // still deferred by a whole gap
			}
			actions = append(actions, SendGratuitous{LowerPrio: true})
		}
	}
	return actions
}

// lowerPrioGap is the least time between two lower-priority bursts
// started by adverts: the advert interval, at least lowerPrioMinGap.
func (r *Router) lowerPrioGap() time.Duration {
	return max(r.cfg.AdvertInterval, lowerPrioMinGap)
}

// lowerPrioBurst sends a lower-priority burst now and schedules the
// delayed one (garp_lower_prio_delay).
func (r *Router) lowerPrioBurst(now time.Time, actions []Action) []Action {
	r.lowerGarpAt = time.Time{}
	r.lowerNext = now.Add(r.lowerPrioGap())
	r.lowerDelayAt = time.Time{}
	if r.cfg.GarpLowerPrioDelay > 0 {
		r.lowerDelayAt = now.Add(r.cfg.GarpLowerPrioDelay)
	}
	return append(actions, SendGratuitous{LowerPrio: true})
}

// advert handles a received advertisement.
func (r *Router) advert(now time.Time, e AdvertReceived, actions []Action) []Action {
	switch r.state {
	case Backup:
		r.backupAdvert(now, e)
	case Master:
		actions = r.masterAdvert(now, e, actions)
	}
	// Initialize and Fault ignore advertisements.
	return actions
}

// backupAdvert is RFC 5798 §6.4.2 / RFC 9568 §6.4.2 "If an ADVERTISEMENT is
// received" in Backup, with keepalived's preempt_delay.
func (r *Router) backupAdvert(now time.Time, e AdvertReceived) {
	if !e.At.IsZero() && e.At.Before(now) {
		now = e.At // the timers run from the arrival
	}
	if now.Before(r.notBefore) {
		// Boot delay: keepalived reads no advert before it ends.
		return
	}
	p := e.Advert.Priority
	if p == PriorityStop {
		// The master resigns: the best backup takes over after Skew_Time.
		r.downAt = now.Add(r.skew())
		return
	}
	holding := r.preemptDelay > 0 && (r.preemptAt.IsZero() || r.preemptAt.After(now))
	if !r.preempt || p >= r.prio || holding {
		// Accept: Master_Adver_Interval from the advertisement (v3 only: a
		// v2 advertisement with another interval never gets here, RFC 3768
		// §7.1), recompute Master_Down_Interval, restart the timer.
		if r.cfg.Version == V3 && e.Advert.Interval > 0 {
			r.masterAdverInt = e.Advert.Interval
		}
		r.masterAddr = e.Src
		r.downAt = now.Add(r.mdi())
		if r.preemptDelay > 0 {
			if p >= r.prio {
				r.preemptAt = time.Time{}
			} else if r.preemptAt.IsZero() {
				r.preemptAt = now.Add(r.preemptDelay)
			}
		}
		return
	}
	// Preempt: discard, and let the Master_Down_Timer run out.
}

// masterAdvert is RFC 5798 §6.4.3 / RFC 9568 §6.4.3 "If an ADVERTISEMENT is
// received" in Master.
func (r *Router) masterAdvert(now time.Time, e AdvertReceived, actions []Action) []Action {
	p := e.Advert.Priority
	if r.resigning {
		// A router that advertises while we resign has taken over (or
		// was master already): the VIPs are its now.
		if p == PriorityStop || e.Src.Unmap() == r.cfg.PrimaryAddr.Unmap() {
			return actions
		}
		if r.cfg.Version == V3 && e.Advert.Interval > 0 {
			r.masterAdverInt = e.Advert.Interval
		}
		r.masterAddr = e.Src
		if r.resignLinger > 0 {
			if !r.relieved {
				r.relieved = true
				r.resignAt = now.Add(r.resignLinger)
			}
			return actions
		}
		return r.resigned(now, r.resignWhy, actions)
	}
	if p == PriorityStop {
		// Another master resigns: assert ourselves at once.
		r.adverAt = now.Add(r.cfg.AdvertInterval)
		return append(actions, SendAdvert{Priority: r.prio})
	}
	cmp := e.Src.Unmap().Compare(r.cfg.PrimaryAddr.Unmap())
	if p > r.prio || (p == r.prio && cmp > 0) {
		// A better master: cancel the Adver_Timer, learn its interval (v3),
		// start the Master_Down_Timer, go Backup. This applies to the owner
		// too when another router claims 255 from a greater address
		// (keepalived does the same and logs a configuration error).
		reason := reasonHigherPrio
		if p == r.prio {
			reason = reasonEqualPrioAddr
		}
		if r.cfg.Version == V3 && e.Advert.Interval > 0 {
			r.masterAdverInt = e.Advert.Interval
		}
		r.masterAddr = e.Src
		if r.cfg.HigherPrioSendAdvert {
			actions = append(actions, SendAdvert{Priority: r.prio})
		}
		actions = r.leaveMaster(now, Backup, reason, actions)
		r.downAt = now.Add(r.mdi())
		r.preemptAt = time.Time{}
		return actions
	}
	if p == r.prio && cmp == 0 {
		// Our own address at our priority: a loop or a misconfigured peer.
		return actions
	}
	// Lower priority (or equal from a smaller address): RFC 5798 discards
	// it; RFC 9568 §6.4.3 and keepalived by default answer at once, so
	// that the other master, split from us until now, steps down.
	if !r.cfg.LowerPrioNoAdvert {
		r.adverAt = now.Add(r.cfg.AdvertInterval)
		actions = append(actions, SendAdvert{Priority: r.prio})
	}
	// Hosts may have followed the other master's gratuitous ARPs:
	// announce the VIPs again (keepalived's garp_lower_prio_repeat), at
	// most once per gap; sooner, at the end of the gap.
	if r.cfg.GarpLowerPrio {
		if now.Before(r.lowerNext) {
			r.lowerGarpAt = r.lowerNext
		} else {
			actions = r.lowerPrioBurst(now, actions)
		}
	}
	return actions
}

// resign handles Resign: a Master advertises priority 0 at once and at
// every advert interval (so that a backup that missed one still takes
// over after Skew_Time, RFC 5798 §6.4.2) and keeps its VIPs until another
// router advertises (masterAdvert) or the timeout (resigningTick).
func (r *Router) resign(now time.Time, e Resign, actions []Action) []Action {
	if r.state != Master || r.resigning {
		return actions
	}
	r.resigning, r.resignKeep, r.resignStop = true, e.Keep, e.Stop
	r.resignLinger, r.relieved = e.Linger, false
	r.resignWhy = reasonHandedOver
	if e.Reason != "" {
		r.resignWhy = reasonHandedOver + ": " + e.Reason
	}
	r.resignAt = now.Add(e.Timeout)
	r.adverAt = now.Add(r.cfg.AdvertInterval)
	r.garpDelayAt, r.garpRefreshAt = time.Time{}, time.Time{}
	r.lowerGarpAt, r.lowerDelayAt = time.Time{}, time.Time{}
	return append(actions, SendAdvert{Priority: PriorityStop})
}

// resigningTick runs a resigning Master's timers.
func (r *Router) resigningTick(now time.Time, due func(time.Time) bool, actions []Action) []Action {
	if due(r.resignAt) && r.relieved {
		return r.resigned(now, r.resignWhy, actions)
	}
	if due(r.resignAt) {
		r.resigning, r.resignAt = false, time.Time{}
		if r.resignKeep {
			// Nobody took over: the VIPs stay served. Advertise our
			// priority again, and leave maintenance.
			r.hold = false
			r.adverAt = now.Add(r.cfg.AdvertInterval)
			return append(actions, SendAdvert{Priority: r.prio})
		}
		return r.resigned(now, reasonResignTimeout, actions)
	}
	if due(r.adverAt) && !r.relieved {
		actions = append(actions, SendAdvert{Priority: PriorityStop})
		r.adverAt = now.Add(r.cfg.AdvertInterval)
	}
	return actions
}

// resigned ends a resign: the VIPs go, and the router enters Backup (a
// handover) or Initialize (a stop).
func (r *Router) resigned(now time.Time, reason string, actions []Action) []Action {
	if r.resignStop {
		actions = r.leaveMaster(now, Initialize, reason, actions)
		r.downAt, r.preemptAt = time.Time{}, time.Time{}
		return actions
	}
	actions = r.leaveMaster(now, Backup, reason, actions)
	r.downAt = now.Add(r.mdi())
	r.preemptAt = time.Time{}
	return actions
}

// setHold handles Hold. Out of maintenance a Backup's Master_Down_Timer
// starts again from a full Master_Down_Interval (a master that kept
// advertising resets it; a higher priority preempts when it fires).
func (r *Router) setHold(now time.Time, on bool) {
	if r.hold == on {
		return
	}
	r.hold = on
	if !on && r.state == Backup {
		r.downAt = r.timerBase(now).Add(r.mdi())
		r.preemptAt = time.Time{}
	}
}

// setPriority changes the effective priority (keepalived
// vrrp_set_effective_priority): never for the owner, clamped to 1..254.
func (r *Router) setPriority(p uint8) {
	if r.cfg.Priority == PriorityOwner {
		return
	}
	switch {
	case p < 1:
		p = 1
	case p == PriorityOwner:
		p = PriorityOwner - 1
	}
	if p == r.prio {
		return
	}
	old := r.mdi()
	r.prio = p
	if r.state == Backup && !r.downAt.IsZero() {
		// Move the running Master_Down_Timer by the change in Skew_Time.
		r.downAt = r.downAt.Add(r.mdi() - old)
	}
}

// setAddress handles SetAddress.
func (r *Router) setAddress(a netip.Addr) {
	if !a.IsValid() || a.Unmap().Is4() != r.cfg.PrimaryAddr.Unmap().Is4() {
		return
	}
	r.cfg.PrimaryAddr = a
	if r.state == Master {
		r.masterAddr = a
	}
}

// setFault handles SetFault (keepalived's Fault state, not in the RFCs).
func (r *Router) setFault(now time.Time, e SetFault, actions []Action) []Action {
	reason := reasonFault
	if e.Reason != "" {
		reason = reasonFault + ": " + e.Reason
	}
	if e.Fault {
		r.fault = true
		switch r.state {
		case Master:
			actions = append(actions, SendAdvert{Priority: PriorityStop})
			actions = r.leaveMaster(now, Fault, reason, actions)
		case Backup:
			r.downAt = time.Time{}
			r.preemptAt = time.Time{}
			actions = r.transition(now, Fault, reason, actions)
		}
		return actions
	}
	r.fault = false
	if r.state != Fault {
		return actions
	}
	r.masterAddr = netip.Addr{}
	r.masterAdverInt = r.cfg.AdvertInterval
	reason = reasonFaultRecovered
	if e.Reason != "" {
		reason = reasonFaultRecovered + ": " + e.Reason
	}
	return r.enterBackup(now, r.mdi(), reason, actions)
}

// syncTo handles SyncTo: keepalived's vrrp_sync_group makes its members
// follow one another between Backup and Master.
func (r *Router) syncTo(now time.Time, e SyncTo, actions []Action) []Action {
	reason := reasonSync
	if e.Reason != "" {
		reason = reasonSync + ": " + e.Reason
	}
	switch {
	case e.State == Master && r.state == Backup && !r.hold && !now.Before(r.notBefore):
		return r.becomeMaster(now, reason, actions)
	case e.State == Backup && r.state == Master:
		actions = r.leaveMaster(now, Backup, reason, actions)
		r.downAt = now.Add(r.mdi())
		r.preemptAt = time.Time{}
	case e.State == Backup && r.state == Backup:
		// The rest of the group still hears a master: wait another
		// Master_Down_Interval rather than take the group over alone.
		r.downAt = r.timerBase(now).Add(r.mdi())
	}
	return actions
}
