package vrrp

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// drive steps r through a fixed script of events from t0 and returns every
// action and deadline, with times relative to t0 (two routers that behave
// alike give equal traces whatever their clocks).
func drive(t *testing.T, r *Router, t0 time.Time, evs []struct {
	at time.Duration
	ev Event
}) []string {
	t.Helper()
	var out []string
	for _, e := range evs {
		acts, next := r.Step(t0.Add(e.at), e.ev)
		for _, a := range acts {
			if tr, ok := a.(Transition); ok {
				tr.At = time.Time{}
				a = tr
			}
			out = append(out, reflect.TypeOf(a).Name()+":"+jsonOf(t, a))
		}
		n := "none"
		if !next.IsZero() {
			n = next.Sub(t0).String()
		}
		out = append(out, "next "+n+" state "+r.State().String())
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A router restored from a snapshot, in another "process" whose clock
// reads differently, behaves exactly as the original from then on: same
// actions, same deadlines relative to the hand-over time.
func TestSnapshotRestoreKeepsBehaviour(t *testing.T) {
	peer := netip.MustParseAddr("10.0.0.2")
	cfg := Config{Version: V3, VRID: 7, Priority: 150, AdvertInterval: 100 * time.Millisecond, Preempt: true,
		PrimaryAddr: netip.MustParseAddr("10.0.0.1"), GarpMasterDelay: 5 * time.Second, GarpMasterRefresh: 3 * time.Second,
		GarpLowerPrio: true}
	adv := func(prio uint8) AdvertReceived {
		return AdvertReceived{Advert: Advert{Version: V3, VRID: 7, Priority: prio, Interval: 100 * time.Millisecond}, Src: peer}
	}
	for _, tc := range []struct {
		name  string
		setup func(r *Router, t0 time.Time)
	}{
		{"master", func(r *Router, t0 time.Time) {
			r.Step(t0, Startup{})
			r.Step(t0.Add(400*time.Millisecond), Tick{}) // master-down → MASTER
			r.Step(t0.Add(450*time.Millisecond), adv(100))
		}},
		{"backup hearing a master", func(r *Router, t0 time.Time) {
			r.Step(t0, Startup{})
			r.Step(t0.Add(50*time.Millisecond), SetPriority{Priority: 90})
			r.Step(t0.Add(60*time.Millisecond), adv(200))
		}},
		{"held backup", func(r *Router, t0 time.Time) {
			r.Step(t0, Startup{})
			r.Step(t0.Add(60*time.Millisecond), adv(200))
			r.Step(t0.Add(70*time.Millisecond), Hold{On: true})
		}},
		{"fault", func(r *Router, t0 time.Time) {
			r.Step(t0, Startup{})
			r.Step(t0.Add(60*time.Millisecond), SetFault{Fault: true, Reason: "x"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			orig, _ := NewRouter(cfg)
			tc.setup(orig, t0)
			handAt := t0.Add(470 * time.Millisecond)
			snap, err := orig.Snapshot(handAt)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(snap)
			if err != nil {
				t.Fatal(err)
			}
			var got RouterSnapshot
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			// The new process: another clock base.
			t1 := time.Date(2031, 5, 5, 5, 5, 5, 5, time.UTC)
			restored, _ := NewRouter(cfg)
			if err := restored.Restore(t1, got); err != nil {
				t.Fatal(err)
			}
			if d0, d1 := orig.Next(handAt), restored.Next(t1); d0.Sub(handAt) != d1.Sub(t1) {
				t.Fatalf("next deadline: original in %v, restored in %v", d0.Sub(handAt), d1.Sub(t1))
			}
			type ev = struct {
				at time.Duration
				ev Event
			}
			steady := []ev{{30 * time.Millisecond, adv(100)}}
			for ms := 50; ms <= 12000; ms += 50 {
				steady = append(steady, ev{time.Duration(ms) * time.Millisecond, Tick{}})
			}
			disturbed := []ev{
				{30 * time.Millisecond, adv(100)},
				{100 * time.Millisecond, Tick{}},
				{400 * time.Millisecond, Tick{}},
				{500 * time.Millisecond, SetFault{Fault: false}},
				{900 * time.Millisecond, Tick{}},
				{1200 * time.Millisecond, adv(250)},
				{1300 * time.Millisecond, Hold{On: false}},
				{3000 * time.Millisecond, Tick{}},
				{9000 * time.Millisecond, Tick{}},
			}
			for i, script := range [][]ev{steady, disturbed} {
				o, _ := NewRouter(cfg)
				tc.setup(o, t0)
				n, _ := NewRouter(cfg)
				if err := n.Restore(t1, got); err != nil {
					t.Fatal(err)
				}
				a := drive(t, o, handAt, script)
				c := drive(t, n, t1, script)
				if !reflect.DeepEqual(a, c) {
					t.Fatalf("script %d: restored router behaves differently:\noriginal: %q\nrestored: %q", i, a, c)
				}
			}
		})
	}
}

func TestSnapshotRefusals(t *testing.T) {
	cfg := Config{Version: V3, VRID: 7, Priority: 150, AdvertInterval: 100 * time.Millisecond, Preempt: true,
		PrimaryAddr: netip.MustParseAddr("10.0.0.1")}
	now := time.Now()
	r, _ := NewRouter(cfg)
	if _, err := r.Snapshot(now); err == nil {
		t.Error("snapshot of a router in INIT: want an error")
	}
	r.Step(now, Startup{})
	r.Step(now.Add(time.Second), Tick{})
	r.Step(now.Add(time.Second), Resign{Timeout: time.Second})
	if _, err := r.Snapshot(now.Add(time.Second)); err != ErrResigning {
		t.Errorf("snapshot while resigning: got %v, want ErrResigning", err)
	}
	for _, s := range []RouterSnapshot{
		{State: "INIT", Priority: 100, MasterAdverInt: time.Second},
		{State: "MASTER", Priority: 100, MasterAdverInt: time.Second}, // no advert timer
		{State: "BACKUP", Priority: 100, MasterAdverInt: time.Second}, // no down timer
		{State: "BACKUP", Priority: 100, DownIn: time.Second},         // no interval
	} {
		r2, _ := NewRouter(cfg)
		if err := r2.Restore(now, s); err == nil {
			t.Errorf("restore %+v: want an error", s)
		}
	}
	r3, _ := NewRouter(cfg)
	r3.Step(now, Startup{})
	if err := r3.Restore(now, RouterSnapshot{State: "BACKUP", Priority: 100, DownIn: time.Second, MasterAdverInt: time.Second}); err == nil {
		t.Error("restore into a started router: want an error")
	}
}
