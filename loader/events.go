package loader

import (
	"errors"
	"net/netip"
	"strings"
	"time"
	"unsafe"

	"github.com/cilium/ebpf/ringbuf"
	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/bpf"
)

// EventKind is a set of reasons for an Event (bits, several may be set).
type EventKind uint32

// Event kinds, the enum event_kind bits of bpf/vrrp.h.
const (
	// EventNewMaster: the source differs from the last recorded one, or
	// this is the first advert recorded for the virtual router.
	EventNewMaster = EventKind(bpf.VrrpEventKindEVENT_NEW_MASTER)
	// EventPriority: same source, another priority.
	EventPriority = EventKind(bpf.VrrpEventKindEVENT_PRIORITY)
	// EventPriorityZero: priority 0, the master resigns. Every one is reported.
	EventPriorityZero = EventKind(bpf.VrrpEventKindEVENT_PRIORITY_ZERO)
	// EventInterval: the advertised interval changed.
	EventInterval = EventKind(bpf.VrrpEventKindEVENT_INTERVAL)
	// EventAfterSilence: the first advert after Instance.Silence without one
	// (also set with the very first).
	EventAfterSilence = EventKind(bpf.VrrpEventKindEVENT_AFTER_SILENCE)
	// EventHeartbeat: nothing changed, Options.Heartbeat passed since the
	// last record.
	EventHeartbeat = EventKind(bpf.VrrpEventKindEVENT_HEARTBEAT)
	// EventSilent: no valid advert for 3 advertised intervals after the
	// last one (Options.WatchSilence). The record describes that last
	// advert; Time is when the silence was noticed.
	EventSilent = EventKind(bpf.VrrpEventKindEVENT_SILENT)
	// EventDropped: a sample of a VRRP packet the kernel dropped
	// (Options.DropSamples), never set with another kind. Reason says
	// why; the other fields are the packet's as sent (Interval read as
	// VRRPv2 for version 2, as VRRPv3 otherwise), Ifindex and IPv6 where
	// it came in; Time is the drop; Prev is zero.
	EventDropped = EventKind(bpf.VrrpEventKindEVENT_DROPPED)
)

var kindNames = []struct {
	k    EventKind
	name string
}{
	{EventNewMaster, "new_master"}, {EventPriority, "priority"}, {EventPriorityZero, "priority_zero"},
	{EventInterval, "interval"}, {EventAfterSilence, "after_silence"}, {EventHeartbeat, "heartbeat"},
	{EventSilent, "silent"}, {EventDropped, "dropped"},
}

// String returns the set bits' names joined by "|".
func (k EventKind) String() string {
	var s []string
	for _, n := range kindNames {
		if k&n.k != 0 {
			s = append(s, n.name)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "|")
}

// Event is one valid advert the kernel reported because something changed
// (see EventKind). The advert passed every check of vrrp.Validate for the
// instance (including the address list), so its addresses are the
// instance's VIPs. The exception is EventDropped: a sample of an advert
// that failed a check (Reason), reported so that it can be logged.
type Event struct {
	Kinds EventKind
	// Reason is why an EventDropped advert was dropped: a vrrp.DropReason
	// number (the same numbers as Stats.Drops). 0 for every other kind.
	Reason    uint8
	Ifindex   int
	VRID      uint8
	IPv6      bool
	Src       netip.Addr
	Priority  uint8
	Version   uint8
	Interval  time.Duration // advertised (v2: whole seconds)
	AddrCount int
	// Mono is the arrival time as the kernel read it (bpf_ktime_get_ns:
	// CLOCK_MONOTONIC of the initial time namespace, which differs from
	// this process's CLOCK_MONOTONIC inside a time namespace). Time is the
	// same moment as a time.Time, converted with one calibration made at
	// Load against the kernel's clock itself, so Sub, Before and After
	// against time.Now() are right in any time namespace.
	Mono time.Duration
	Time time.Time
	// Prev is the virtual router's previous valid advert, as the adverts
	// map held it before this one (Prev.Time zero: none, or an
	// EventSilent record). Unchanged adverts are not reported, so a
	// Backup replays Prev before this one: its Master_Down_Timer then
	// restarts from the last advert before the change (RFC 5798 §6.4.2).
	Prev PrevAdvert
}

// PrevAdvert is the part of an earlier advert an Event carries.
type PrevAdvert struct {
	Src      netip.Addr
	Priority uint8
	Interval time.Duration
	Time     time.Time // arrival, as Event.Time
}

func addrFrom(b [16]byte, fam uint8) netip.Addr {
	if fam == uint8(bpf.VrrpFamilyFAMILY_IPV6) {
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte(b[:4]))
}

// eventFrom converts a ring-buffer record; c converts its timestamps.
func eventFrom(r *bpf.VrrpEvent, c kernelClock) Event {
	e := Event{
		Kinds:     EventKind(r.Kinds),
		Ifindex:   int(r.Ifindex),
		VRID:      r.Vrid,
		IPv6:      r.Family == uint8(bpf.VrrpFamilyFAMILY_IPV6),
		Src:       addrFrom(r.Src, r.Family),
		Priority:  r.Priority,
		Version:   r.Version,
		Interval:  time.Duration(r.IntervalCs) * 10 * time.Millisecond,
		AddrCount: int(r.AddrCount),
		Reason:    r.Reason,
		Mono:      time.Duration(r.Ns),
		Time:      c.time(time.Duration(r.Ns)),
	}
	if r.PrevNs != 0 {
		e.Prev = PrevAdvert{
			Src:      addrFrom(r.PrevSrc, r.Family),
			Priority: r.PrevPriority,
			Interval: time.Duration(r.PrevIntervalCs) * 10 * time.Millisecond,
			Time:     c.time(time.Duration(r.PrevNs)),
		}
	}
	return e
}

// Events returns the channel of events. It is closed by Close. When the
// consumer falls behind, the kernel's ring buffer fills and further records
// are lost (counted in Stats.EventsLost), the adverts map stays current.
func (l *Loader) Events() <-chan Event { return l.events }

// readEvents is the reader goroutine: ring buffer → Event → channel.
func (l *Loader) readEvents() {
	defer l.wg.Done()
	defer close(l.events)
	var rec ringbuf.Record
	for {
		if err := l.rd.ReadInto(&rec); err != nil {
			if errors.Is(err, ringbuf.ErrClosed) {
				return
			}
			l.log.Error("ring buffer read", zap.Error(err))
			return
		}
		if len(rec.RawSample) < int(unsafe.Sizeof(bpf.VrrpEvent{})) {
			l.log.Warn("short ring buffer record", zap.Int("len", len(rec.RawSample)))
			continue
		}
		r := (*bpf.VrrpEvent)(unsafe.Pointer(&rec.RawSample[0]))
		select {
		case l.events <- eventFrom(r, l.clock):
		case <-l.done:
			return
		}
	}
}

// NumDropReasons is the number of drop reasons, vrrp.NumDropReasons.
const NumDropReasons = int(bpf.VrrpDropReasonNUM_DROP_REASONS)

// Stats are the kernel's counters summed over CPUs since Load.
type Stats struct {
	// Drops is indexed by vrrp.DropReason: Drops[0] counts accepted adverts.
	Drops [NumDropReasons]uint64
	// NotVRRP counts packets passed at once (not IP protocol 112).
	NotVRRP uint64
	// PassedIP counts protocol-112 packets left to the IP stack (fragments,
	// a bad IPv4 header).
	PassedIP uint64
	// Events and EventsLost count ring-buffer records written and lost.
	Events, EventsLost uint64
}

// Stats reads the counters.
func (l *Loader) Stats() (Stats, error) {
	var s Stats
	var per []uint64
	for i := uint32(0); i < uint32(bpf.VrrpStatNUM_STATS); i++ {
		if err := l.objs.Stats.Lookup(i, &per); err != nil {
			return s, err
		}
		var sum uint64
		for _, c := range per {
			sum += c
		}
		switch {
		case i < uint32(NumDropReasons):
			s.Drops[i] = sum
		case i == uint32(bpf.VrrpStatSTAT_NOT_VRRP):
			s.NotVRRP = sum
		case i == uint32(bpf.VrrpStatSTAT_PASS_IP):
			s.PassedIP = sum
		case i == uint32(bpf.VrrpStatSTAT_EVENTS):
			s.Events = sum
		case i == uint32(bpf.VrrpStatSTAT_EVENTS_LOST):
			s.EventsLost = sum
		}
	}
	return s, nil
}

// AdvertState is the last valid advert recorded for one virtual router.
type AdvertState struct {
	Master    netip.Addr // its source
	Priority  uint8
	Version   uint8
	Interval  time.Duration
	AddrCount int
	Count     uint64 // valid adverts recorded so far
	// LastSeenMono is its arrival as the kernel read it; LastSeen the same
	// as a time.Time (see Event.Mono and Event.Time).
	LastSeenMono time.Duration
	LastSeen     time.Time
	// Watched: the silence watch (Options.WatchSilence) runs for this
	// advert; an EventSilent comes unless another advert follows in time.
	Watched bool
}

// advertStateSize is the size of one adverts-map value (as C lays it out).
const advertStateSize = uint32(unsafe.Sizeof(bpf.VrrpAdvertState{}))

// AdvertState reads the adverts map entry of (ifindex, vrid, family); ok is
// false when the virtual router is not configured or no valid advert was
// recorded (or on a read error). No syscall when the map is mapped into the
// process (the usual case).
func (l *Loader) AdvertState(ifindex int, vrid uint8, ipv6 bool) (AdvertState, bool) {
	k := bpf.VrrpInstanceKey{Ifindex: uint32(ifindex), Vrid: vrid, Family: family(ipv6)}
	l.mu.Lock()
	slot, ok := l.slots[k]
	if !ok {
		l.mu.Unlock()
		return AdvertState{}, false
	}
	var v bpf.VrrpAdvertState
	if l.adverts != nil {
		// The value's bytes as C lays them out (little-endian, the
		// generated struct has the same layout), read into the
		// Loader's buffer (a local one would escape: an allocation
		// per read, one per master advert).
		b := unsafe.Slice((*byte)(unsafe.Pointer(&l.readBuf)), advertStateSize)
		_, err := l.adverts.ReadAt(b, int64(slot)*int64(advertStateSize))
		v = l.readBuf
		l.mu.Unlock()
		if err != nil {
			l.log.Warn("read adverts map", zap.Error(err))
			return AdvertState{}, false
		}
	} else {
		l.mu.Unlock()
		var w bpf.VrrpAdvertState // escapes: allocated on this path only
		if err := l.objs.Adverts.Lookup(slot, &w); err != nil {
			l.log.Warn("read adverts map", zap.Error(err))
			return AdvertState{}, false
		}
		v = w
	}
	if v.Count == 0 {
		return AdvertState{}, false
	}
	return AdvertState{
		Master:       addrFrom(v.Master, k.Family),
		Priority:     v.Priority,
		Version:      v.Version,
		Interval:     time.Duration(v.IntervalCs) * 10 * time.Millisecond,
		AddrCount:    int(v.AddrCount),
		Count:        v.Count,
		LastSeenMono: time.Duration(v.LastSeenNs),
		LastSeen:     l.clock.time(time.Duration(v.LastSeenNs)),
		Watched:      v.Watched != 0,
	}, true
}
