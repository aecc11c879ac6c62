package daemon

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// Dataplane is where adverts are received: a raw socket per address
// family (socketPlane) or the BPF program (kernelPlane). Both deliver the
// same events, so the control loop does not know which one runs.
type Dataplane interface {
	// Name is the dataplane in use: socket, xdp, xdp-generic or tc.
	Name() string
	// Bind sets the virtual routers to receive for, replacing the
	// previous set: at start, after a reload and whenever an instance's
	// interface comes or goes. Interfaces no longer used are released.
	// It returns the interfaces (by index) it could not receive on.
	Bind(bs []PlaneBinding) map[int]error
	// Events delivers planeAdvert, planeDrop and planeLost values.
	Events() <-chan any
	// Last returns the last valid advert the dataplane recorded for k and
	// whether a silence report is pending for it (the kernel path; the
	// socket path records nothing and returns ok false).
	Last(k rxKey) (adv vrrp.AdvertReceived, watched, ok bool)
	// Received returns how many valid adverts the dataplane recorded for
	// k, when it counts them (the kernel path; ok false on the socket
	// path, where the loop counts what it is given). Safe for concurrent
	// use.
	Received(k rxKey) (n uint64, ok bool)
	// Check verifies the attachments (the kernel path): a lost one is
	// attached again; the problems found are returned.
	Check() []planeLost
	// Counters adds the dataplane's receive counters to c.
	Counters(c *planeCounters)
	// Close releases everything; Events is closed.
	Close() error
}

// PlaneBinding is one virtual router a dataplane receives for.
type PlaneBinding struct {
	Key    rxKey
	Ifname string
	Group  netip.Addr // multicast destination (unused in unicast mode)
	Expect vrrp.Expect
}

// rxKey identifies a virtual router on the wire.
type rxKey struct {
	ifindex int
	ipv6    bool
	vrid    uint8
}

// planeAdvert is a valid advert for the virtual router Key.
type planeAdvert struct {
	Key  rxKey
	Recv vrrp.AdvertReceived
	// Prev is the advert Recv replaced, when the dataplane reports only
	// changes (the kernel path; Prev.At zero: none).
	Prev vrrp.AdvertReceived
	// Heartbeat: an unchanged advert, repeated as a safety net.
	Heartbeat bool
	// Silent: no advert came for three advertised intervals after Recv
	// (the kernel's silence watch); Recv is the last one.
	Silent bool
}

// planeDrop is a sample of the invalid adverts dropped: at most a few a
// second reach the loop, whatever the rate of the flood.
type planeDrop struct {
	Ifindex int
	VRID    uint8
	Src     netip.Addr
	Reason  vrrp.DropReason
}

// planeLost reports an attachment that disappeared (and whether attaching
// again worked).
type planeLost struct {
	Ifindex int
	Err     error
	Fixed   bool
}

// planeCounters are receive counters, for the status.
type planeCounters struct {
	Received, Accepted, QueueFull uint64
	Drops                         [vrrp.NumDropReasons]uint64
	Events, EventsLost            uint64
}

// rxCounters are the receive counters of a dataplane that validates in
// Go (socketPlane, ahPlane); its receive goroutines add, Counters reads.
type rxCounters struct {
	received atomic.Uint64
	accepted atomic.Uint64
	full     atomic.Uint64
	drops    [vrrp.NumDropReasons]atomic.Uint64
}

// add adds the counts to c.
func (r *rxCounters) add(c *planeCounters) {
	c.Received += r.received.Load()
	c.Accepted += r.accepted.Load()
	c.QueueFull += r.full.Load()
	for i := range c.Drops {
		c.Drops[i] += r.drops[i].Load()
	}
}

// sampled tells which drops are worth a sample for the loop to log: those
// that say a peer's configuration differs from ours (or its adverts are
// damaged), not our own looped-back adverts nor rate-limited floods.
func sampled(r vrrp.DropReason) bool {
	return r != vrrp.DropNone && r != vrrp.DropOwnAddr && r != vrrp.DropRateLimited
}

// dropSampler lets through at most a few drop samples a second (a token
// bucket), so a flood of invalid adverts never wakes the loop more often.
type dropSampler struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

const (
	dropSamplesPerSecond = 4
	dropSampleBurst      = 8
)

func (s *dropSampler) allow(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last.IsZero() {
		s.tokens = dropSampleBurst
	} else {
		s.tokens = min(dropSampleBurst, s.tokens+now.Sub(s.last).Seconds()*dropSamplesPerSecond)
	}
	s.last = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// bindings is the set a dataplane receives for, swapped whole by Bind and
// read by receive goroutines.
type bindings struct {
	p atomic.Pointer[map[rxKey]*PlaneBinding]
}

func (b *bindings) set(bs []PlaneBinding) {
	m := make(map[rxKey]*PlaneBinding, len(bs))
	for i := range bs {
		m[bs[i].Key] = &bs[i]
	}
	b.p.Store(&m)
}

func (b *bindings) get(k rxKey) *PlaneBinding {
	m := b.p.Load()
	if m == nil {
		return nil
	}
	return (*m)[k]
}
