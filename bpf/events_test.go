package bpf_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// nextEvent waits (bounded) for one event.
func nextEvent(t *testing.T, l *loader.Loader) loader.Event {
	t.Helper()
	select {
	case e := <-l.Events():
		return e
	case <-time.After(2 * time.Second):
		t.Fatal("no event within 2s")
	}
	return loader.Event{}
}

// TestEventsOnChangeOnly: the adverts map follows every valid advert, the
// ring buffer only changes (new master, priority, priority 0, interval,
// first after silence) and the heartbeat.
func TestEventsOnChangeOnly(t *testing.T) {
	r := router(vrrp.V3, 20, false, time.Second, vip4a)
	r.inst.Silence = 200 * time.Millisecond
	l := newLoader(t, loader.Options{Heartbeat: 100 * time.Millisecond}, r.inst)
	xdp, _ := l.Programs()

	send := func(src netip.Addr, prio uint8, interval time.Duration) {
		t.Helper()
		a := v3(20, prio, vip4a)
		a.Interval = interval
		f := frame{src: src, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, a, src, vrrp.GroupIPv4)}
		if v := runProg(t, xdp, f.bytes()); v != xdpDrop {
			t.Fatalf("verdict %d", v)
		}
	}
	var events uint64
	// expect checks that the last advert wrote exactly the record kinds
	// (0: none) and that the record carries it.
	expect := func(kinds loader.EventKind, src netip.Addr, prio uint8, interval time.Duration) {
		t.Helper()
		n := stats(t, l).Events
		if kinds == 0 {
			if n != events {
				t.Fatalf("unexpected record (%d records, want %d)", n, events)
			}
			return
		}
		events++
		if n != events {
			t.Fatalf("%d records, want %d", n, events)
		}
		e := nextEvent(t, l)
		if e.Kinds != kinds || e.Src != src || e.Priority != prio || e.Interval != interval ||
			e.VRID != 20 || e.IPv6 || e.Ifindex != testIfindex || e.Version != 3 || e.AddrCount != 1 {
			t.Fatalf("event %+v, want kinds %v src %v prio %d interval %v", e, kinds, src, prio, interval)
		}
		if d := time.Since(e.Time); d < 0 || d > 5*time.Second {
			t.Errorf("event time %v is %v from now", e.Time, d)
		}
	}

	start := time.Now()
	send(peer4, 100, time.Second)
	expect(loader.EventNewMaster|loader.EventAfterSilence, peer4, 100, time.Second)
	send(peer4, 100, time.Second)
	expect(0, peer4, 100, time.Second)
	send(peer4, 110, time.Second)
	expect(loader.EventPriority, peer4, 110, time.Second)
	send(peer4b, 110, time.Second)
	expect(loader.EventNewMaster, peer4b, 110, time.Second)
	send(peer4b, 110, 500*time.Millisecond)
	expect(loader.EventInterval, peer4b, 110, 500*time.Millisecond)
	// Reference: RFC 5798 §6.4.2 — priority 0: every one matters to a Backup.
	send(peer4b, 0, 500*time.Millisecond)
	expect(loader.EventPriority|loader.EventPriorityZero, peer4b, 0, 500*time.Millisecond)
	send(peer4b, 0, 500*time.Millisecond)
	expect(loader.EventPriorityZero, peer4b, 0, 500*time.Millisecond)
	send(peer4b, 110, 500*time.Millisecond)
	expect(loader.EventPriority, peer4b, 110, 500*time.Millisecond)
	quick := time.Since(start) < 90*time.Millisecond // no heartbeat could have been due

	st, ok := l.AdvertState(testIfindex, 20, false)
	if !ok || st.Master != peer4b || st.Priority != 110 || st.Count != 8 || st.Interval != 500*time.Millisecond ||
		st.Version != 3 || st.AddrCount != 1 {
		t.Fatalf("advert state %+v ok=%v", st, ok)
	}
	if d := time.Since(st.LastSeen); d < 0 || d > 5*time.Second {
		t.Errorf("last seen %v is %v ago", st.LastSeen, d)
	}
	if _, ok := l.AdvertState(testIfindex, 21, false); ok {
		t.Error("advert state for a vrid never seen")
	}
	if !quick {
		t.Log("slow machine: the heartbeat may have fired early; skipping the rest")
		return
	}

	time.Sleep(120 * time.Millisecond) // past the heartbeat, not the silence
	send(peer4b, 110, 500*time.Millisecond)
	expect(loader.EventHeartbeat, peer4b, 110, 500*time.Millisecond)
	time.Sleep(250 * time.Millisecond) // past the silence
	send(peer4b, 110, 500*time.Millisecond)
	expect(loader.EventAfterSilence, peer4b, 110, 500*time.Millisecond)
}

// TestRateLimit: one source flooding valid adverts gets its burst, then is
// dropped as rate-limited, while another source is still accepted.
func TestRateLimit(t *testing.T) {
	r := router(vrrp.V3, 20, false, time.Second, vip4a)
	r.inst.RatePerInterval, r.inst.RateBurst = 4, 8
	l := newLoader(t, loader.Options{}, r.inst)
	xdp, _ := l.Programs()
	flood := frame{src: peer4b, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, v3(20, 200, vip4a), peer4b, vrrp.GroupIPv4)}
	master := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	for range 50 {
		runProg(t, xdp, flood.bytes())
	}
	s := stats(t, l)
	// 8 back to back, plus at most one more if 250 ms passed meanwhile.
	if acc := s.Drops[vrrp.DropNone]; acc < 8 || acc > 9 || s.Drops[vrrp.DropRateLimited] != 50-acc {
		t.Fatalf("flood: accepted %d, rate-limited %d; want 8 and 42", acc, s.Drops[vrrp.DropRateLimited])
	}
	before := s.Drops[vrrp.DropNone]
	runProg(t, xdp, master.bytes())
	if got := stats(t, l).Drops[vrrp.DropNone]; got != before+1 {
		t.Errorf("the master's advert was not accepted during the flood")
	}
	st, _ := l.AdvertState(testIfindex, 20, false)
	if st.Master != peer4 {
		t.Errorf("adverts map master %v, want %v", st.Master, peer4)
	}
}
