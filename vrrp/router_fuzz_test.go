package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// rtFuzzInput reads a fuzz byte string; past its end it yields zeros.
type rtFuzzInput struct {
	b []byte
	i int
}

func (in *rtFuzzInput) next() byte {
	if in.i >= len(in.b) {
		in.i++
		return 0
	}
	c := in.b[in.i]
	in.i++
	return c
}

func (in *rtFuzzInput) more() bool { return in.i < len(in.b) }

// Fuzz event opcodes (the first byte of each event, modulo rtOpCount).
const (
	rtOpStartup = iota // + byte: boot delay in 500 ms steps, modulo 8
	rtOpShutdown
	rtOpTickAtDeadline // + lateness byte
	rtOpAdvanceTick    // + byte: advance in 50 ms steps, then Tick
	rtOpAdvert         // + priority, source, interval, advance bytes
	rtOpSetPriority    // + priority byte
	rtOpSetFault       // + byte: bit 0 is Fault
	rtOpSyncTo         // + byte: the state, modulo 4
	rtOpCount
)

// rtFuzzConfig decodes five bytes into a valid Config.
func rtFuzzConfig(in *rtFuzzInput) Config {
	flags, prio, interval, delay, garp := in.next(), in.next(), in.next(), in.next(), in.next()
	cfg := Config{
		Version:           V3,
		VRID:              7,
		Priority:          prio,
		Preempt:           flags&0x02 != 0,
		InitialState:      [4]State{Initialize, Backup, Master, Initialize}[flags>>2&3],
		LowerPrioNoAdvert: flags&0x10 != 0,
		PrimaryAddr:       rtOurs,
	}
	if prio < 16 {
		cfg.Priority = PriorityOwner
	}
	if flags&0x01 != 0 {
		cfg.Version = V2
		cfg.AdvertInterval = time.Duration(1+interval%3) * time.Second
	} else {
		cfg.AdvertInterval = time.Duration(1+int(interval)%200) * 10 * time.Millisecond
	}
	if flags&0x20 != 0 {
		cfg.GarpMasterDelay = 2 * time.Second
	}
	if flags&0x40 != 0 {
		cfg.GarpMasterRefresh = 3 * time.Second
	}
	if flags&0x80 != 0 {
		cfg.PreemptDelay = time.Duration(delay%20) * time.Second
	}
	cfg.GarpLowerPrio = garp&0x01 != 0
	cfg.GarpLowerPrioDelay = [4]time.Duration{0, time.Second, 2 * time.Second, 5 * time.Second}[garp>>1&3]
	return cfg
}

var rtFuzzSources = [3]netip.Addr{rtLower, rtOurs, rtGreater}

// FuzzRouter steps a Router through a random sequence of events at
// non-decreasing times and checks its invariants after every step.
func FuzzRouter(f *testing.F) {
	seed := func(cfg []byte, ops ...[]byte) []byte {
		b := append([]byte(nil), cfg...)
		for _, op := range ops {
			b = append(b, op...)
		}
		return b
	}
	startup := []byte{rtOpStartup, 0}
	delayed := []byte{rtOpStartup, 4} // 2 s
	shutdown := []byte{rtOpShutdown}
	tick := []byte{rtOpTickAtDeadline, 0}
	advert := func(prio, src, interval, advance byte) []byte {
		return []byte{rtOpAdvert, prio, src, interval, advance}
	}
	// v3 preempting backup at 100, 1 s: starts, hears masters, takes over,
	// loses to a higher and an equal-priority greater address, faults,
	// shuts down.
	v3 := []byte{0x02, 100, 99, 0, 0}
	f.Add(seed(v3, startup, startup, tick, startup, tick, tick))
	f.Add(seed(v3, startup, advert(150, 2, 99, 10), tick, advert(0, 2, 99, 10), tick, tick))
	f.Add(seed(v3, startup, tick, advert(100, 2, 99, 1), advert(100, 0, 99, 1), advert(50, 0, 99, 1), tick))
	f.Add(seed(v3, startup, tick, []byte{rtOpSetPriority, 20}, tick, advert(90, 0, 99, 1), tick, tick))
	f.Add(seed(v3, startup, tick, []byte{rtOpSetFault, 1}, advert(200, 2, 99, 1), tick, []byte{rtOpSetFault, 0}, tick, tick))
	f.Add(seed(v3, startup, tick, []byte{rtOpAdvanceTick, 200}, shutdown, startup, tick))
	// v2 owner with GARP delay and refresh; nopreempt backup with preempt
	// delay; state MASTER below 255; LowerPrioNoAdvert.
	f.Add(seed([]byte{0x61, 0, 0, 0, 0}, startup, tick, tick, tick, tick, advert(255, 2, 0, 1), tick, shutdown))
	f.Add(seed([]byte{0x80 | 0x02, 200, 99, 5, 0}, startup, advert(100, 0, 99, 50), advert(100, 0, 99, 50), advert(100, 0, 99, 50), tick, tick))
	f.Add(seed([]byte{0x08, 100, 99, 0, 0}, startup, advert(50, 0, 99, 5), tick, tick))
	f.Add(seed([]byte{0x10 | 0x02, 100, 9, 0, 0}, startup, tick, advert(50, 0, 9, 0), tick, []byte{rtOpSetFault, 1}, shutdown))
	// Lower-priority bursts (garp_lower_prio_repeat, delay 2 s): a master
	// hears lower and equal-priority smaller routers, often.
	lower := func(advance byte) []byte { return advert(50, 2, 9, advance) }
	f.Add(seed([]byte{0x02, 100, 9, 0, 0x05}, startup, tick, lower(1), lower(5), lower(50), tick, lower(1), tick, tick, tick, advert(100, 0, 9, 3), tick))
	f.Add(seed([]byte{0x12, 100, 99, 0, 0x07}, startup, tick, lower(30), tick, lower(90), tick, tick, []byte{rtOpSyncTo, byte(Backup)}, tick, tick))
	// Boot delays: a backup, the owner, a sync group and a fault during one.
	f.Add(seed(v3, delayed, advert(150, 2, 99, 10), advert(0, 2, 99, 10), tick, tick, advert(150, 2, 99, 10), tick))
	f.Add(seed([]byte{0x61, 0, 0, 0, 0}, delayed, tick, advert(100, 0, 0, 5), tick, tick))
	f.Add(seed(v3, delayed, []byte{rtOpSyncTo, byte(Master)}, []byte{rtOpSetFault, 1}, []byte{rtOpSetFault, 0}, tick, []byte{rtOpAdvanceTick, 40}, []byte{rtOpSyncTo, byte(Master)}, tick))
	// Sync group: forced to Master, back to Backup, ignored in Fault.
	f.Add(seed(v3, startup, []byte{rtOpSyncTo, byte(Master)}, tick, []byte{rtOpSyncTo, byte(Backup)}, tick, []byte{rtOpSetFault, 1}, []byte{rtOpSyncTo, byte(Master)}, shutdown))

	f.Fuzz(func(t *testing.T, data []byte) {
		in := &rtFuzzInput{b: data}
		cfg := rtFuzzConfig(in)
		r, err := NewRouter(cfg)
		if err != nil {
			t.Fatalf("NewRouter(%+v): %v", cfg, err)
		}
		now := rtT0
		var next time.Time
		held := false           // VIPs, replayed from AddVIPs / RemoveVIPs
		var notBefore time.Time // the last Startup's boot delay
		var lastLower time.Time // the last lower-priority burst of this mastership
		lowerGap := max(cfg.AdvertInterval, time.Second)
		if cfg.GarpLowerPrioDelay > 0 {
			lowerGap = min(lowerGap, cfg.GarpLowerPrioDelay)
		}
		type step struct {
			now, next     time.Time
			ev            Event
			before, after State
			acts          []Action
		}
		var steps []step
		fail := func(format string, args ...any) {
			t.Helper()
			lines := make([]string, len(steps))
			for i, s := range steps {
				lines[i] = fmt.Sprintf("%v %T%+v: %v → %v %v next %v", rtShow(s.now), s.ev, s.ev, s.before, s.after, s.acts, rtShow(s.next))
			}
			t.Fatalf("config %+v\nsteps:\n  %s\n%s", cfg, strings.Join(lines, "\n  "), fmt.Sprintf(format, args...))
		}
		for n := 0; in.more() && n < 2000; n++ {
			var ev Event
			switch in.next() % rtOpCount {
			case rtOpStartup:
				e := Startup{}
				if d := time.Duration(in.next()%8) * 500 * time.Millisecond; d > 0 {
					e.NotBefore = now.Add(d)
				}
				if r.State() == Initialize {
					notBefore = e.NotBefore
				}
				ev = e
			case rtOpShutdown:
				ev = Shutdown{}
			case rtOpTickAtDeadline:
				late := time.Duration(in.next()%4) * time.Millisecond
				if !next.IsZero() {
					now = next.Add(late)
				}
				ev = Tick{}
			case rtOpAdvanceTick:
				now = now.Add(time.Duration(in.next()) * 50 * time.Millisecond)
				ev = Tick{}
			case rtOpAdvert:
				prio, src, iv, adv := in.next(), in.next(), in.next(), in.next()
				now = now.Add(time.Duration(adv) * 10 * time.Millisecond)
				a := Advert{Version: cfg.Version, VRID: cfg.VRID, Priority: prio}
				if cfg.Version == V3 {
					a.Interval = time.Duration(1+int(iv)%400) * 10 * time.Millisecond
				} else {
					a.Interval = cfg.AdvertInterval
				}
				ev = AdvertReceived{Advert: a, Src: rtFuzzSources[src%3]}
			case rtOpSetPriority:
				ev = SetPriority{Priority: in.next()}
			case rtOpSetFault:
				ev = SetFault{Fault: in.next()&1 != 0}
			case rtOpSyncTo:
				ev = SyncTo{State: State(in.next() % 4)}
			}

			before, prioBefore := r.State(), r.Priority()
			var acts []Action
			acts, next = r.Step(now, ev)
			after := r.State()
			steps = append(steps, step{now, next, ev, before, after, acts})

			// The next deadline is never in the past.
			if !next.IsZero() && next.Before(now) {
				fail("next deadline %v before now %v", rtShow(next), rtShow(now))
			}
			transitions := 0
			for _, a := range acts {
				switch a := a.(type) {
				case AddVIPs:
					if held {
						fail("AddVIPs while VIPs are held")
					}
					held = true
				case RemoveVIPs:
					if !held {
						fail("RemoveVIPs while no VIPs are held")
					}
					held = false
				case SendAdvert:
					if a.Priority != 0 && (after != Master || a.Priority != r.Priority()) {
						fail("SendAdvert{%d} in %v with priority %d", a.Priority, after, r.Priority())
					}
					if a.Priority == 0 && before != Master {
						fail("SendAdvert{0} from %v", before)
					}
				case SendGratuitous:
					if after != Master {
						fail("SendGratuitous in %v", after)
					}
					if a.LowerPrio {
						if !cfg.GarpLowerPrio {
							fail("SendGratuitous{LowerPrio} without GarpLowerPrio")
						}
						if !lastLower.IsZero() && now.Sub(lastLower) < lowerGap {
							fail("lower-priority bursts %v apart, less than %v", now.Sub(lastLower), lowerGap)
						}
						lastLower = now
					}
				case Transition:
					transitions++
					if a.From != before || a.To != after || !a.At.Equal(now) || a.Priority != r.Priority() {
						fail("bad Transition %+v for %v → %v", a, before, after)
					}
					if a.To == Master && a.Master != cfg.PrimaryAddr {
						fail("Transition to Master names master %v", a.Master)
					}
				}
			}
			// A Transition exactly when the state changes.
			if before != after && transitions != 1 {
				fail("%d Transition actions for %v → %v", transitions, before, after)
			}
			if before == after && transitions != 0 {
				fail("%d Transition actions without a state change", transitions)
			}
			// VIPs are held exactly while Master.
			if held != (after == Master) {
				fail("VIPs held %v in %v", held, after)
			}
			if after != Master {
				lastLower = time.Time{}
			}
			// No mastership during a boot delay.
			if after == Master && now.Before(notBefore) {
				fail("Master before the boot delay ends at %v", rtShow(notBefore))
			}
			// Nothing happens in Initialize or Fault except leaving them.
			if (before == Initialize || before == Fault) && before == after && len(acts) != 0 {
				fail("actions %v while staying in %v", acts, before)
			}
			switch e := ev.(type) {
			case Shutdown:
				if after != Initialize || held || !next.IsZero() {
					fail("after Shutdown: %v, VIPs held %v, next %v", after, held, rtShow(next))
				}
			case AdvertReceived:
				// A better advertisement always ends Master (RFC 5798 §6.4.3).
				p := e.Advert.Priority
				if after == Master && (p > prioBefore || (p == prioBefore && e.Src.Compare(cfg.PrimaryAddr) > 0)) {
					fail("still Master after advert priority %d from %v (ours %d)", p, e.Src, prioBefore)
				}
				if before != Master && after == Master {
					fail("an advertisement made us Master")
				}
			case SyncTo:
				// A sync group only moves Backup → Master and Master → Backup.
				want := before
				if (e.State == Master && before == Backup && !now.Before(notBefore)) || (e.State == Backup && before == Master) {
					want = e.State
				}
				if after != want {
					fail("SyncTo %v from %v ended in %v", e.State, before, after)
				}
			case SetPriority:
				if len(acts) != 0 {
					fail("SetPriority produced %v", acts)
				}
				if cfg.Priority == PriorityOwner && r.Priority() != PriorityOwner {
					fail("owner priority changed to %d", r.Priority())
				}
				if r.Priority() == 0 || (cfg.Priority != PriorityOwner && r.Priority() == PriorityOwner) {
					fail("effective priority %d", r.Priority())
				}
			}
			// A running router has a deadline in Backup and Master, none otherwise.
			if (after == Backup || after == Master) != !next.IsZero() {
				fail("%v with next deadline %v", after, rtShow(next))
			}
		}
	})
}
