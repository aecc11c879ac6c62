package vrrp

import (
	"net/netip"
	"time"
)

// State is a virtual router's state (RFC 5798 §6.4) plus keepalived's Fault.
type State uint8

// States. Fault is not in the RFCs: keepalived enters it when a tracked
// object fails, and so does xvrrp.
const (
	Initialize State = iota
	Backup
	Master
	Fault
)

func (s State) String() string {
	switch s {
	case Initialize:
		return "INIT"
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	case Fault:
		return "FAULT"
	}
	return "UNKNOWN"
}

// Event is an input to Router.Step. The concrete types are listed below.
type Event interface{ isEvent() }

// Startup starts the router (RFC 5798 §6.4.1 "Startup event").
//
// NotBefore, when later than the now of the Step, is a boot delay
// (keepalived's vrrp_startup_delay and vrrp_delay_after_boot): no
// mastership before it, so no VIP, no gratuitous burst and no transition to
// Master. The router enters Backup (or Fault) as usual, but reads no
// advertisement before NotBefore, ignores SyncTo Master before it, and
// runs its Master_Down_Timer from NotBefore: a full Master_Down_Interval
// after it, so that it hears the current master first. The address owner
// becomes Master at NotBefore. A timer restarted before NotBefore (leaving
// Fault, Hold off, SyncTo Backup) runs from NotBefore too. The zero value
// means no delay.
type Startup struct{ NotBefore time.Time }

// Shutdown stops the router (RFC 5798 §6.4.2/§6.4.3 "Shutdown event").
type Shutdown struct{}

// Tick tells the router that its last returned deadline has been reached.
// A Tick before the deadline is harmless.
type Tick struct{}

// AdvertReceived carries an advertisement that already passed the codec's
// validation for this virtual router, with the IP source address it came from.
type AdvertReceived struct {
	Advert Advert
	Src    netip.Addr
	// At is when the advert arrived, if earlier than the now given to
	// Step: the kernel dataplane records arrivals and the daemon reads them
	// later, at its deadline. Timers started by the advert run from At.
	// The zero value means now.
	At time.Time
}

// SetPriority changes the effective priority at run time (health weights).
// The configured priority 255 (address owner) is never changed by the caller.
type SetPriority struct{ Priority uint8 }

// SetFault enters (Fault=true) or leaves (Fault=false) the Fault state.
type SetFault struct {
	Fault  bool
	Reason string
}

// SyncTo moves the router towards the state another member of its
// vrrp_sync_group has entered, so that the group changes state as one
// (keepalived's sync groups). Master makes a Backup take over at once, as
// if its Master_Down_Timer had fired. Backup makes a Master step down: it
// removes its VIPs without a priority-0 advert and waits a full
// Master_Down_Interval, so it takes the VIPs back if no peer does. Backup
// given to a Backup restarts its Master_Down_Timer: its own timer fired
// but the other members still hear a master (keepalived takes a group
// over only when every member wants to). Any other combination is
// ignored; faults travel as SetFault.
type SyncTo struct {
	State  State
	Reason string
}

// SetAddress changes our primary address, the source of our adverts that a
// peer of equal priority is compared with (RFC 5798 §6.4.3): the daemon
// re-bound the instance to an interface that came back with another
// address. An address of another family than the current one is ignored.
type SetAddress struct{ Addr netip.Addr }

// Resign hands a Master's virtual router over without a gap
// (make-before-break): it advertises priority 0 at once, and again every
// advert interval, but keeps its VIPs until another router advertises
// (the backup that took over after Skew_Time, RFC 5798 §6.4.2); then it
// removes them and enters Backup. If nobody advertises within Timeout,
// Keep decides: true stays Master (advertising its priority again, and
// leaving maintenance: nobody could take over), false removes the VIPs
// and enters Backup. Ignored unless Master. Reason is added to the
// transition's.
// Stop makes the router stop (Initialize, as Shutdown) instead of entering
// Backup once relieved or given up. Linger keeps the VIPs that much longer
// once relieved: the new master's gratuitous ARP/NA follows its advert by
// a few milliseconds, and clients whose cache still names us reach us
// meanwhile.
type Resign struct {
	Timeout time.Duration
	Keep    bool
	Stop    bool
	Linger  time.Duration
	Reason  string
}

// Hold puts the router in maintenance (On) or takes it out of it. A held
// Backup never becomes Master: its Master_Down_Timer does not fire and
// SyncTo Master is ignored. Out of maintenance its timer starts again from
// a full Master_Down_Interval.
type Hold struct{ On bool }

func (Resign) isEvent()         {}
func (Hold) isEvent()           {}
func (SetAddress) isEvent()     {}
func (Startup) isEvent()        {}
func (SyncTo) isEvent()         {}
func (Shutdown) isEvent()       {}
func (Tick) isEvent()           {}
func (AdvertReceived) isEvent() {}
func (SetPriority) isEvent()    {}
func (SetFault) isEvent()       {}

// Action is an output of Router.Step, to be carried out by the caller in the
// order returned. The concrete types are listed below.
type Action interface{ isAction() }

// SendAdvert asks for one advertisement with the given priority (0 when
// resigning) to be sent now.
type SendAdvert struct{ Priority uint8 }

// AddVIPs asks for the virtual addresses to be configured on the host.
type AddVIPs struct{}

// RemoveVIPs asks for the virtual addresses to be removed from the host.
type RemoveVIPs struct{}

// SendGratuitous asks for a burst of gratuitous ARPs (IPv4) or unsolicited
// neighbour advertisements (IPv6) for every virtual address. Refresh marks
// the periodic bursts of garp_master_refresh, which keepalived sizes with
// garp_master_refresh_repeat instead of garp_master_repeat. LowerPrio marks
// the bursts of a master that heard a router it outranks
// (Config.GarpLowerPrio), which keepalived sizes with
// garp_lower_prio_repeat.
type SendGratuitous struct{ Refresh, LowerPrio bool }

// Transition reports a state change, for logs and notify scripts.
type Transition struct {
	From, To State
	Reason   string
	Priority uint8      // our effective priority after the change
	Master   netip.Addr // the master's address as last seen (zero if unknown); ours when To is Master
	At       time.Time
}

func (SendAdvert) isAction()     {}
func (AddVIPs) isAction()        {}
func (RemoveVIPs) isAction()     {}
func (SendGratuitous) isAction() {}
func (Transition) isAction()     {}
