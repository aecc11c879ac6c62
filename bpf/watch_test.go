package bpf_test

import (
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// TestSilenceWatch: with Options.WatchSilence, a valid advert arms a timer;
// adverts that keep coming push the report back, and 3 advertised
// intervals after the last one an EventSilent record describes it.
// Reference: RFC 5798 §6.1 (Master_Down_Interval = 3 × Master_Adver_Interval
// + Skew_Time; the kernel reports after the priority-independent part).
func TestSilenceWatch(t *testing.T) {
	r := router(vrrp.V3, 20, false, 100*time.Millisecond, vip4a)
	l := newLoader(t, loader.Options{WatchSilence: true}, r.inst)
	xdp, _ := l.Programs()
	a := v3(20, 150, vip4a)
	a.Interval = 100 * time.Millisecond // silence after 300 ms
	f := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, a, peer4, vrrp.GroupIPv4)}

	runProg(t, xdp, f.bytes())
	if e := nextEvent(t, l); e.Kinds&loader.EventNewMaster == 0 {
		t.Fatalf("first advert: %v, want new_master", e.Kinds)
	}
	// Keep the master talking for 600 ms: no silence report.
	for range 6 {
		time.Sleep(100 * time.Millisecond)
		runProg(t, xdp, f.bytes())
	}
	select {
	case e := <-l.Events():
		t.Fatalf("record %v while the master advertises", e.Kinds)
	default:
	}
	st, ok := l.AdvertState(testIfindex, 20, false)
	if !ok || !st.Watched {
		t.Fatalf("advert state %+v (ok %v): want watched", st, ok)
	}
	last := st.LastSeen

	e := nextEvent(t, l)
	if e.Kinds != loader.EventSilent || e.Src != peer4 || e.Priority != 150 || e.VRID != 20 ||
		e.Ifindex != testIfindex || e.IPv6 || e.Interval != 100*time.Millisecond {
		t.Fatalf("event %+v, want silent from %v", e, peer4)
	}
	if d := e.Time.Sub(last); d < 300*time.Millisecond || d > 450*time.Millisecond {
		t.Errorf("silence reported %v after the last advert, want 300 ms (+ timer latency)", d)
	}
	if st, _ := l.AdvertState(testIfindex, 20, false); st.Watched {
		t.Errorf("still watched after the report")
	}
	// Exactly one report; the next advert arms the watch again.
	time.Sleep(400 * time.Millisecond)
	select {
	case e := <-l.Events():
		t.Fatalf("second record %v for one silence", e.Kinds)
	default:
	}
	runProg(t, xdp, f.bytes())
	if st, _ := l.AdvertState(testIfindex, 20, false); !st.Watched {
		t.Errorf("not watched after a new advert")
	}
	if e := nextEvent(t, l); e.Kinds&loader.EventAfterSilence == 0 {
		t.Errorf("advert after the silence: %v", e.Kinds)
	}
	if e := nextEvent(t, l); e.Kinds != loader.EventSilent {
		t.Errorf("second silence: %v", e.Kinds)
	}
}

// TestSilenceWatchOff: without the option no timer runs and no report
// comes.
func TestSilenceWatchOff(t *testing.T) {
	r := router(vrrp.V3, 20, false, 100*time.Millisecond, vip4a)
	l := newLoader(t, loader.Options{}, r.inst)
	xdp, _ := l.Programs()
	a := v3(20, 150, vip4a)
	a.Interval = 10 * time.Millisecond
	f := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, a, peer4, vrrp.GroupIPv4)}
	runProg(t, xdp, f.bytes())
	nextEvent(t, l) // new master
	time.Sleep(100 * time.Millisecond)
	select {
	case e := <-l.Events():
		t.Fatalf("record %v without WatchSilence", e.Kinds)
	default:
	}
	if st, _ := l.AdvertState(testIfindex, 20, false); st.Watched {
		t.Errorf("watched without WatchSilence")
	}
}

// TestEventPrev: a change record carries the advert before it (the adverts
// map's previous content), so the control loop can replay the last
// unchanged advert it was not told about. Reference: RFC 5798 §6.4.2.
func TestEventPrev(t *testing.T) {
	r := router(vrrp.V3, 20, false, time.Second, vip4a)
	l := newLoader(t, loader.Options{}, r.inst)
	xdp, _ := l.Programs()
	send := func(prio uint8, interval time.Duration) {
		a := v3(20, prio, vip4a)
		a.Interval = interval
		runProg(t, xdp, frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, a, peer4, vrrp.GroupIPv4)}.bytes())
	}
	send(110, time.Second)
	if e := nextEvent(t, l); !e.Prev.Time.IsZero() {
		t.Fatalf("first advert has a previous one: %+v", e.Prev)
	}
	send(110, time.Second)
	time.Sleep(5 * time.Millisecond)
	send(110, time.Second) // unchanged: no record
	st, _ := l.AdvertState(testIfindex, 20, false)
	send(90, 500*time.Millisecond)
	e := nextEvent(t, l)
	want := loader.PrevAdvert{Src: peer4, Priority: 110, Interval: time.Second, Time: st.LastSeen}
	if e.Kinds != loader.EventPriority|loader.EventInterval || e.Priority != 90 || e.Prev != want {
		t.Fatalf("event %v prio %d prev %+v, want priority|interval, 90, prev %+v", e.Kinds, e.Priority, e.Prev, want)
	}
}

// TestSilenceWatchAcrossReload: a reload that removes a watched router
// stops its watch (no report for a router that is gone), and a router
// added in its adverts slot gets a watch of its own: it is reported, under
// its own VRID, when it falls silent.
func TestSilenceWatchAcrossReload(t *testing.T) {
	rA := router(vrrp.V3, 20, false, 100*time.Millisecond, vip4a)
	rB := router(vrrp.V3, 21, false, 100*time.Millisecond, vip4a)
	rC := router(vrrp.V3, 22, false, 100*time.Millisecond, vip4a)
	l := newLoader(t, loader.Options{WatchSilence: true}, rA.inst, rB.inst)
	xdp, _ := l.Programs()
	send := func(vrid uint8) {
		t.Helper()
		a := v3(vrid, 150, vip4a)
		a.Interval = 100 * time.Millisecond // silence after 300 ms
		runProg(t, xdp, frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, a, peer4, vrrp.GroupIPv4)}.bytes())
	}
	send(20)
	send(21)
	nextEvent(t, l)
	nextEvent(t, l)
	// C takes B's slot while B's watch runs, and hears its master at once.
	if err := l.SetInstances([]loader.Instance{rA.inst, rC.inst}); err != nil {
		t.Fatal(err)
	}
	send(22)
	if st, ok := l.AdvertState(testIfindex, 22, false); !ok || !st.Watched {
		t.Errorf("router 22 not watched after its first advert: %+v ok=%v", st, ok)
	}
	silent, first := map[uint8]int{}, 0
	for _, e := range drain(l, 500*time.Millisecond) {
		switch {
		case e.Kinds == loader.EventSilent:
			silent[e.VRID]++
		case e.VRID == 22 && e.Kinds&loader.EventNewMaster != 0:
			first++
		default:
			t.Errorf("unexpected record %+v", e)
		}
	}
	if first != 1 || silent[20] != 1 || silent[22] != 1 || len(silent) != 2 {
		t.Errorf("router 22's first advert reported %d times, silence reports per vrid %v; want once, and one each for 20 and 22",
			first, silent)
	}

	// Removing a watched router stops its watch.
	send(22)
	nextEvent(t, l) // after silence
	if err := l.SetInstances([]loader.Instance{rA.inst}); err != nil {
		t.Fatal(err)
	}
	if es := drain(l, 500*time.Millisecond); len(es) != 0 {
		t.Errorf("records after router 22 was removed: %+v", es)
	}
}
