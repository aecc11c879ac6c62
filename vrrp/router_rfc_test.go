package vrrp

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// Test helpers shared by the router tests. Names start with rt so that they
// do not collide with the codec's tests in the same package.

var rtT0 = time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC)

var (
	rtOurs    = netip.MustParseAddr("192.0.2.10")
	rtLower   = netip.MustParseAddr("192.0.2.5")  // smaller than ours
	rtGreater = netip.MustParseAddr("192.0.2.20") // greater than ours
)

func rtAt(d time.Duration) time.Time { return rtT0.Add(d) }

// rtMs returns n milliseconds, fractions allowed (for readable deadlines).
func rtMs(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// rtConfig is a v3, 1 s, preempting router at 192.0.2.10 without delayed
// gratuitous bursts.
func rtConfig(prio uint8) Config {
	return Config{
		Version:        V3,
		VRID:           51,
		Priority:       prio,
		AdvertInterval: time.Second,
		Preempt:        true,
		PrimaryAddr:    rtOurs,
	}
}

func rtNew(t *testing.T, cfg Config) *Router {
	t.Helper()
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return r
}

// rtStartup starts r at rtT0 and checks the resulting state.
func rtStartup(t *testing.T, r *Router, want State) time.Time {
	t.Helper()
	_, next := r.Step(rtT0, Startup{})
	if r.State() != want {
		t.Fatalf("after Startup: state %v, want %v", r.State(), want)
	}
	return next
}

func rtAdvert(prio uint8, interval time.Duration, src netip.Addr) AdvertReceived {
	return AdvertReceived{
		Advert: Advert{Version: V3, VRID: 51, Priority: prio, Interval: interval},
		Src:    src,
	}
}

func rtExpect(t *testing.T, what string, gotActs []Action, gotNext time.Time, wantActs []Action, wantNext time.Time) {
	t.Helper()
	if !reflect.DeepEqual(gotActs, wantActs) {
		t.Errorf("%s: actions\n got  %#v\n want %#v", what, gotActs, wantActs)
	}
	if !gotNext.Equal(wantNext) {
		t.Errorf("%s: next deadline %v, want %v", what, rtShow(gotNext), rtShow(wantNext))
	}
}

// rtShow prints a deadline relative to rtT0.
func rtShow(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return "t0+" + t.Sub(rtT0).String()
}

// rtToMaster brings a priority-100 router to Master through the
// master-down timer and returns the time it became master.
func rtToMaster(t *testing.T, r *Router) time.Time {
	t.Helper()
	next := rtStartup(t, r, Backup)
	r.Step(next, Tick{})
	if r.State() != Master {
		t.Fatalf("after master down timer: state %v, want MASTER", r.State())
	}
	return next
}

// Reference: RFC 5798 §6.4.1 — "If the Priority = 255 ... Send an
// ADVERTISEMENT, Broadcast a gratuitous ARP ..., Set the Adver_Timer to
// Advertisement_Interval, Transition to the {Master} state".
func TestRFC6_4_1StartupOwnerBecomesMaster(t *testing.T) {
	for _, initial := range []State{Initialize, Backup, Master} {
		cfg := rtConfig(PriorityOwner)
		cfg.InitialState = initial
		r := rtNew(t, cfg)
		acts, next := r.Step(rtT0, Startup{})
		rtExpect(t, "startup of owner, initial "+initial.String(), acts, next, []Action{
			AddVIPs{},
			SendAdvert{Priority: 255},
			SendGratuitous{},
			Transition{From: Initialize, To: Master, Reason: reasonStartupOwner, Priority: 255, Master: rtOurs, At: rtT0},
		}, rtAt(time.Second))
		if r.MasterAddr() != rtOurs {
			t.Errorf("MasterAddr = %v, want ours %v", r.MasterAddr(), rtOurs)
		}
	}
}

// Reference: RFC 5798 §6.4.1 — otherwise "Set Master_Adver_Interval to
// Advertisement_Interval, Set the Master_Down_Timer to Master_Down_Interval,
// Transition to the {Backup} state".
func TestRFC6_4_1StartupBackup(t *testing.T) {
	tests := []struct {
		name     string
		v        Version
		prio     uint8
		interval time.Duration
		down     time.Duration
	}{
		// v3: 3*1s + (256-100)*1s/256 = 3s + 609.375ms.
		{"v3 prio 100 1s", V3, 100, time.Second, 3*time.Second + rtMs(609.375)},
		// v3: 3*2s + 156*2s/256 = 6s + 1218.75ms.
		{"v3 prio 100 2s", V3, 100, 2 * time.Second, 6*time.Second + rtMs(1218.75)},
		// v3: 3*100ms + 56*100ms/256 = 300ms + 21.875ms.
		{"v3 prio 200 100ms", V3, 200, 100 * time.Millisecond, rtMs(321.875)},
		// v2: 3*2s + 156/256 s (skew independent of the interval).
		{"v2 prio 100 2s", V2, 100, 2 * time.Second, 6*time.Second + rtMs(609.375)},
		// v2: 3*1s + (256-254)/256 s = 3s + 7.8125ms.
		{"v2 prio 254 1s", V2, 254, time.Second, 3*time.Second + rtMs(7.8125)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := rtConfig(tt.prio)
			cfg.Version = tt.v
			cfg.AdvertInterval = tt.interval
			r := rtNew(t, cfg)
			acts, next := r.Step(rtT0, Startup{})
			rtExpect(t, "startup", acts, next, []Action{
				Transition{From: Initialize, To: Backup, Reason: reasonStartup, Priority: tt.prio, At: rtT0},
			}, rtAt(tt.down))
			if r.MasterAdverInterval() != tt.interval {
				t.Errorf("MasterAdverInterval = %v, want %v", r.MasterAdverInterval(), tt.interval)
			}
			if r.MasterAddr().IsValid() {
				t.Errorf("MasterAddr = %v, want none", r.MasterAddr())
			}
		})
	}
}

// Reference: RFC 5798 §6.4.1 — events other than Startup do nothing in
// Initialize.
func TestRFC6_4_1InitializeIgnoresOtherEvents(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	for _, ev := range []Event{Tick{}, Shutdown{}, rtAdvert(200, time.Second, rtGreater), rtAdvert(0, time.Second, rtGreater)} {
		acts, next := r.Step(rtT0, ev)
		rtExpect(t, "initialize", acts, next, nil, time.Time{})
		if r.State() != Initialize {
			t.Fatalf("state %v after %T, want INIT", r.State(), ev)
		}
	}
}

// Reference: RFC 5798 §6.4.2 — "If a Shutdown event is received, then:
// Cancel the Master_Down_Timer, Transition to the {Initialize} state".
func TestRFC6_4_2BackupShutdown(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	rtStartup(t, r, Backup)
	acts, next := r.Step(rtAt(time.Second), Shutdown{})
	rtExpect(t, "shutdown", acts, next, []Action{
		Transition{From: Backup, To: Initialize, Reason: reasonShutdown, Priority: 100, At: rtAt(time.Second)},
	}, time.Time{})
	// A stale Tick at the old deadline must not revive it.
	acts, next = r.Step(rtAt(5*time.Second), Tick{})
	rtExpect(t, "tick after shutdown", acts, next, nil, time.Time{})
}

// Reference: RFC 5798 §6.4.2 — "If the Master_Down_Timer fires, then: Send
// an ADVERTISEMENT, Broadcast a gratuitous ARP ..., Set the Adver_Timer to
// Advertisement_Interval, Transition to the {Master} state".
func TestRFC6_4_2MasterDownTimerFires(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	down := rtStartup(t, r, Backup)
	// A Tick before the deadline is harmless.
	acts, next := r.Step(down.Add(-time.Nanosecond), Tick{})
	rtExpect(t, "early tick", acts, next, nil, down)
	acts, next = r.Step(down, Tick{})
	rtExpect(t, "master down", acts, next, []Action{
		AddVIPs{},
		SendAdvert{Priority: 100},
		SendGratuitous{},
		Transition{From: Backup, To: Master, Reason: reasonMasterDown, Priority: 100, Master: rtOurs, At: down},
	}, down.Add(time.Second))
}

// Reference: RFC 5798 §6.4.2 — "If the Priority in the ADVERTISEMENT is
// zero, then: Set the Master_Down_Timer to Skew_Time".
func TestRFC6_4_2BackupPriorityZero(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	rtStartup(t, r, Backup)
	now := rtAt(time.Second)
	acts, next := r.Step(now, rtAdvert(0, time.Second, rtGreater))
	// Skew_Time = 156 * 1s / 256 = 609.375ms.
	rtExpect(t, "priority 0", acts, next, nil, now.Add(rtMs(609.375)))
	acts, _ = r.Step(next, Tick{})
	if r.State() != Master || len(acts) != 4 {
		t.Fatalf("after skew: state %v actions %v, want MASTER", r.State(), acts)
	}
}

// Reference: RFC 5798 §6.4.2 — "Else if Preempt_Mode is False, or if the
// Priority in the ADVERTISEMENT is greater than or equal to the local
// Priority, then: Set Master_Adver_Interval to Adver Interval contained in
// the ADVERTISEMENT, Recompute the Master_Down_Interval, Reset the
// Master_Down_Timer to Master_Down_Interval".
func TestRFC6_4_2BackupAcceptsHigherOrEqual(t *testing.T) {
	for _, prio := range []uint8{100, 150} {
		r := rtNew(t, rtConfig(100))
		rtStartup(t, r, Backup)
		now := rtAt(2 * time.Second)
		acts, next := r.Step(now, rtAdvert(prio, 2*time.Second, rtLower))
		// Master_Adver_Interval 2s: 6s + 156*2s/256 = 7.21875s.
		rtExpect(t, "accepted advert", acts, next, nil, now.Add(rtMs(7218.75)))
		if r.MasterAdverInterval() != 2*time.Second {
			t.Errorf("MasterAdverInterval = %v, want 2s", r.MasterAdverInterval())
		}
		if r.MasterAddr() != rtLower {
			t.Errorf("MasterAddr = %v, want %v", r.MasterAddr(), rtLower)
		}
		if r.State() != Backup {
			t.Errorf("state %v, want BACKUP", r.State())
		}
	}
}

// Reference: RFC 5798 §6.4.2 — "Else: Discard the ADVERTISEMENT" (preempt,
// lower priority): the Master_Down_Timer keeps running and we take over.
func TestRFC6_4_2BackupDiscardsLowerWhenPreempting(t *testing.T) {
	r := rtNew(t, rtConfig(200))
	down := rtStartup(t, r, Backup)
	acts, next := r.Step(rtAt(time.Second), rtAdvert(100, 5*time.Second, rtGreater))
	rtExpect(t, "lower advert", acts, next, nil, down)
	if r.MasterAdverInterval() != time.Second || r.MasterAddr().IsValid() {
		t.Errorf("discarded advert changed Master_Adver_Interval (%v) or master (%v)", r.MasterAdverInterval(), r.MasterAddr())
	}
	r.Step(down, Tick{})
	if r.State() != Master {
		t.Fatalf("state %v, want MASTER after preempting", r.State())
	}
}

// Reference: RFC 5798 §6.4.2 — with Preempt_Mode False a lower-priority
// advertisement is accepted like any other.
func TestRFC6_4_2BackupNoPreemptAcceptsLower(t *testing.T) {
	cfg := rtConfig(200)
	cfg.Preempt = false
	r := rtNew(t, cfg)
	rtStartup(t, r, Backup)
	// The lower-priority master advertises every second for a minute: we
	// never take over.
	for s := 1; s <= 60; s++ {
		now := rtAt(time.Duration(s) * time.Second)
		_, next := r.Step(now, rtAdvert(100, time.Second, rtLower))
		// 3s + 56*1s/256 = 3.21875s.
		if want := now.Add(rtMs(3218.75)); !next.Equal(want) {
			t.Fatalf("at %v: next %v, want %v", rtShow(now), rtShow(next), rtShow(want))
		}
		r.Step(now, Tick{})
		if r.State() != Backup {
			t.Fatalf("at %v: state %v, want BACKUP (nopreempt)", rtShow(now), r.State())
		}
	}
}

// Reference: RFC 3768 §6.4.2 — VRRPv2 has no Master_Adver_Interval to learn:
// the interval in the advertisement is not used.
func TestRFC3768BackupV2KeepsOwnInterval(t *testing.T) {
	cfg := rtConfig(100)
	cfg.Version = V2
	r := rtNew(t, cfg)
	rtStartup(t, r, Backup)
	now := rtAt(time.Second)
	_, next := r.Step(now, AdvertReceived{Advert: Advert{Version: V2, VRID: 51, Priority: 150, Interval: 3 * time.Second}, Src: rtGreater})
	if r.MasterAdverInterval() != time.Second {
		t.Errorf("MasterAdverInterval = %v, want 1s", r.MasterAdverInterval())
	}
	if want := now.Add(3*time.Second + rtMs(609.375)); !next.Equal(want) {
		t.Errorf("next %v, want %v", rtShow(next), rtShow(want))
	}
}

// Reference: RFC 5798 §6.4.3 — "If the Adver_Timer fires, then: Send an
// ADVERTISEMENT, Reset the Adver_Timer to Advertisement_Interval".
func TestRFC6_4_3AdverTimerFires(t *testing.T) {
	r := rtNew(t, rtConfig(PriorityOwner))
	next := rtStartup(t, r, Master)
	for i := 0; i < 5; i++ {
		now := next
		var acts []Action
		acts, next = r.Step(now, Tick{})
		rtExpect(t, "adver timer", acts, next, []Action{SendAdvert{Priority: 255}}, now.Add(time.Second))
	}
}

// Reference: RFC 5798 §6.4.3 — "If a Shutdown event is received, then:
// Cancel the Adver_Timer, Send an ADVERTISEMENT with Priority = 0,
// Transition to the {Initialize} state".
func TestRFC6_4_3MasterShutdown(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	rtToMaster(t, r)
	now := rtAt(10 * time.Second)
	acts, next := r.Step(now, Shutdown{})
	rtExpect(t, "shutdown", acts, next, []Action{
		SendAdvert{Priority: 0},
		RemoveVIPs{},
		Transition{From: Master, To: Initialize, Reason: reasonShutdown, Priority: 100, Master: rtOurs, At: now},
	}, time.Time{})
	// Restart works and goes through Backup again.
	acts, _ = r.Step(now, Startup{})
	if r.State() != Backup || len(acts) != 1 {
		t.Fatalf("restart: state %v actions %v", r.State(), acts)
	}
}

// Reference: RFC 5798 §6.4.3 — "If the Priority in the ADVERTISEMENT is
// zero, then: Send an ADVERTISEMENT, Reset the Adver_Timer to
// Advertisement_Interval".
func TestRFC6_4_3MasterPriorityZero(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	became := rtToMaster(t, r)
	now := became.Add(300 * time.Millisecond)
	acts, next := r.Step(now, rtAdvert(0, time.Second, rtGreater))
	rtExpect(t, "priority 0", acts, next, []Action{SendAdvert{Priority: 100}}, now.Add(time.Second))
}

// Reference: RFC 5798 §6.4.3 — "If the Priority in the ADVERTISEMENT is
// greater than the local Priority ... Cancel Adver_Timer, Set
// Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT,
// Recompute the Master_Down_Interval, Set Master_Down_Timer to
// Master_Down_Interval, Transition to the {Backup} state".
func TestRFC6_4_3MasterHigherPriority(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	became := rtToMaster(t, r)
	now := became.Add(500 * time.Millisecond)
	acts, next := r.Step(now, rtAdvert(150, 500*time.Millisecond, rtLower))
	// 3*500ms + 156*500ms/256 = 1.5s + 304.6875ms.
	rtExpect(t, "higher priority", acts, next, []Action{
		RemoveVIPs{},
		Transition{From: Master, To: Backup, Reason: reasonHigherPrio, Priority: 100, Master: rtLower, At: now},
	}, now.Add(rtMs(1804.6875)))
	if r.MasterAdverInterval() != 500*time.Millisecond {
		t.Errorf("MasterAdverInterval = %v, want 500ms", r.MasterAdverInterval())
	}
	// The cancelled Adver_Timer does not fire.
	acts, _ = r.Step(became.Add(time.Second), Tick{})
	if len(acts) != 0 {
		t.Errorf("tick at the old advert deadline: %v, want nothing", acts)
	}
}

// Reference: RFC 5798 §6.4.3 — "... or the Priority in the ADVERTISEMENT is
// equal to the local Priority and the primary IPvX Address of the sender is
// greater than the local primary IPvX Address" → Backup; a smaller address
// loses the tie-break.
func TestRFC6_4_3MasterTieBreak(t *testing.T) {
	t.Run("ipv4 greater", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		became := rtToMaster(t, r)
		now := became.Add(100 * time.Millisecond)
		acts, next := r.Step(now, rtAdvert(100, time.Second, rtGreater))
		rtExpect(t, "equal priority, greater address", acts, next, []Action{
			RemoveVIPs{},
			Transition{From: Master, To: Backup, Reason: reasonEqualPrioAddr, Priority: 100, Master: rtGreater, At: now},
		}, now.Add(3*time.Second+rtMs(609.375)))
	})
	t.Run("ipv4 smaller", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		became := rtToMaster(t, r)
		now := became.Add(100 * time.Millisecond)
		acts, next := r.Step(now, rtAdvert(100, time.Second, rtLower))
		// keepalived answers a losing advertisement at once.
		rtExpect(t, "equal priority, smaller address", acts, next, []Action{SendAdvert{Priority: 100}}, now.Add(time.Second))
		if r.State() != Master {
			t.Fatalf("state %v, want MASTER", r.State())
		}
	})
	t.Run("ipv4 our own address", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		became := rtToMaster(t, r)
		acts, next := r.Step(became, rtAdvert(100, time.Second, rtOurs))
		rtExpect(t, "own address", acts, next, nil, became.Add(time.Second))
	})
	t.Run("ipv6 compares all 16 bytes", func(t *testing.T) {
		cfg := rtConfig(100)
		cfg.PrimaryAddr = netip.MustParseAddr("fe80::1:0:0:10")
		r := rtNew(t, cfg)
		became := rtToMaster(t, r)
		// Greater only in the last byte.
		r.Step(became, rtAdvert(100, time.Second, netip.MustParseAddr("fe80::1:0:0:11")))
		if r.State() != Backup {
			t.Fatalf("state %v, want BACKUP", r.State())
		}
		r2 := rtNew(t, cfg)
		became = rtToMaster(t, r2)
		// Smaller in an upper byte, greater in the last.
		r2.Step(became, rtAdvert(100, time.Second, netip.MustParseAddr("fe80::0:ffff:ffff:ffff")))
		if r2.State() != Master {
			t.Fatalf("state %v, want MASTER", r2.State())
		}
	})
}

// Reference: RFC 5798 §6.4.3 — "Else: Discard the ADVERTISEMENT" for a
// lower priority; keepalived by default answers with an advertisement and
// restarts the Adver_Timer instead (LowerPrioNoAdvert false).
func TestRFC6_4_3MasterLowerPriority(t *testing.T) {
	t.Run("keepalived default", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		became := rtToMaster(t, r)
		now := became.Add(400 * time.Millisecond)
		acts, next := r.Step(now, rtAdvert(50, time.Second, rtGreater))
		rtExpect(t, "lower priority", acts, next, []Action{SendAdvert{Priority: 100}}, now.Add(time.Second))
	})
	t.Run("rfc discard", func(t *testing.T) {
		cfg := rtConfig(100)
		cfg.LowerPrioNoAdvert = true
		r := rtNew(t, cfg)
		became := rtToMaster(t, r)
		acts, next := r.Step(became.Add(400*time.Millisecond), rtAdvert(50, time.Second, rtGreater))
		rtExpect(t, "lower priority", acts, next, nil, became.Add(time.Second))
	})
}

// rtLowerBurst is the gratuitous burst of a master that heard a router it
// outranks.
var rtLowerBurst = SendGratuitous{LowerPrio: true}

// Reference: RFC 9568 §6.4.3 — a Master that receives an ADVERTISEMENT with
// a lower priority (or an equal one from a smaller primary address) answers
// with its own; with keepalived's garp_lower_prio_repeat (GarpLowerPrio) it
// also announces the VIPs again, so that hosts whose ARP entry names the
// other master (a split brain healing) come back to it. The burst is
// rate-limited to one per max(Advertisement_Interval, 1 s); one asked for
// sooner is deferred to the end of that gap, not dropped and not repeated.
func TestRFC9568_6_4_3MasterLowerPriorityGratuitous(t *testing.T) {
	type step struct {
		at       time.Duration // after becoming master
		ev       Event
		acts     []Action
		next     time.Duration // after becoming master
		wantBack bool          // the step ends Master
	}
	lower := rtAdvert(50, time.Second, rtGreater)
	equalSmaller := rtAdvert(100, time.Second, rtLower)
	advert := SendAdvert{Priority: 100}
	tests := []struct {
		name  string
		cfg   func(*Config)
		steps []step
	}{
		{"off: the answering advert only", func(*Config) {}, []step{
			{400 * time.Millisecond, lower, []Action{advert}, 1400 * time.Millisecond, false},
		}},
		{"lower priority: advert then burst", func(c *Config) { c.GarpLowerPrio = true }, []step{
			{400 * time.Millisecond, lower, []Action{advert, rtLowerBurst}, 1400 * time.Millisecond, false},
		}},
		{"equal priority from a smaller address", func(c *Config) { c.GarpLowerPrio = true }, []step{
			{400 * time.Millisecond, equalSmaller, []Action{advert, rtLowerBurst}, 1400 * time.Millisecond, false},
		}},
		{"lower_prio_no_advert: the burst alone, advert timer kept", func(c *Config) {
			c.GarpLowerPrio, c.LowerPrioNoAdvert = true, true
		}, []step{
			{400 * time.Millisecond, lower, []Action{rtLowerBurst}, time.Second, false},
		}},
		{"priority 0 is a resignation, not a contention", func(c *Config) { c.GarpLowerPrio = true }, []step{
			{400 * time.Millisecond, rtAdvert(0, time.Second, rtGreater), []Action{advert}, 1400 * time.Millisecond, false},
		}},
		{"a second advert within the gap is deferred to its end", func(c *Config) { c.GarpLowerPrio = true }, []step{
			{400 * time.Millisecond, lower, []Action{advert, rtLowerBurst}, 1400 * time.Millisecond, false},
			{900 * time.Millisecond, lower, []Action{advert}, 1400 * time.Millisecond, false},
			{1200 * time.Millisecond, lower, []Action{advert}, 1400 * time.Millisecond, false},
			// The gap ends: one burst for both adverts.
			{1400 * time.Millisecond, Tick{}, []Action{rtLowerBurst}, 2200 * time.Millisecond, false},
			{2200 * time.Millisecond, Tick{}, []Action{advert}, 3200 * time.Millisecond, false},
			// After the gap an advert is answered at once again.
			{2500 * time.Millisecond, lower, []Action{advert, rtLowerBurst}, 3500 * time.Millisecond, false},
		}},
		{"garp_lower_prio_delay: a second burst, re-armed by each burst", func(c *Config) {
			c.GarpLowerPrio, c.GarpLowerPrioDelay, c.LowerPrioNoAdvert = true, 5*time.Second, true
		}, []step{
			{400 * time.Millisecond, lower, []Action{rtLowerBurst}, time.Second, false},
			{time.Second, Tick{}, []Action{advert}, 2 * time.Second, false},
			{1200 * time.Millisecond, lower, nil, 1400 * time.Millisecond, false},
			{1400 * time.Millisecond, Tick{}, []Action{rtLowerBurst}, 2 * time.Second, false},
			{2 * time.Second, Tick{}, []Action{advert}, 3 * time.Second, false},
			{3 * time.Second, Tick{}, []Action{advert}, 4 * time.Second, false},
			{4 * time.Second, Tick{}, []Action{advert}, 5 * time.Second, false},
			{5 * time.Second, Tick{}, []Action{advert}, 6 * time.Second, false},
			{6 * time.Second, Tick{}, []Action{advert}, 6400 * time.Millisecond, false},
			{6400 * time.Millisecond, Tick{}, []Action{rtLowerBurst}, 7 * time.Second, false},
		}},
		{"the gap is the advert interval when longer than 1 s", func(c *Config) {
			c.GarpLowerPrio, c.AdvertInterval = true, 3*time.Second
		}, []step{
			{400 * time.Millisecond, lower, []Action{advert, rtLowerBurst}, 3400 * time.Millisecond, false},
			{2 * time.Second, lower, []Action{advert}, 3400 * time.Millisecond, false},
			{3400 * time.Millisecond, Tick{}, []Action{rtLowerBurst}, 5 * time.Second, false},
		}},
		{"leaving master cancels the pending bursts", func(c *Config) {
			c.GarpLowerPrio, c.GarpLowerPrioDelay = true, 2*time.Second
		}, []step{
			{400 * time.Millisecond, lower, []Action{advert, rtLowerBurst}, 1400 * time.Millisecond, false},
			{900 * time.Millisecond, lower, []Action{advert}, 1400 * time.Millisecond, false},
			{1000 * time.Millisecond, rtAdvert(200, time.Second, rtGreater), []Action{
				RemoveVIPs{},
				Transition{From: Master, To: Backup, Reason: reasonHigherPrio, Priority: 100, Master: rtGreater},
			}, 1000*time.Millisecond + MasterDownInterval(V3, 100, time.Second), true},
		}},
		{"resigning cancels the pending bursts", func(c *Config) {
			c.GarpLowerPrio, c.GarpLowerPrioDelay = true, 2*time.Second
		}, []step{
			{400 * time.Millisecond, lower, []Action{advert, rtLowerBurst}, 1400 * time.Millisecond, false},
			{900 * time.Millisecond, lower, []Action{advert}, 1400 * time.Millisecond, false},
			{1000 * time.Millisecond, Resign{Timeout: 10 * time.Second}, []Action{SendAdvert{Priority: 0}}, 2 * time.Second, false},
			// Neither the deferred burst (+1.4 s) nor the delayed one (+2.4 s).
			{2 * time.Second, Tick{}, []Action{SendAdvert{Priority: 0}}, 3 * time.Second, false},
			{3 * time.Second, Tick{}, []Action{SendAdvert{Priority: 0}}, 4 * time.Second, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := rtConfig(100)
			tt.cfg(&cfg)
			r := rtNew(t, cfg)
			became := rtToMaster(t, r)
			for i, s := range tt.steps {
				now := became.Add(s.at)
				for j, a := range s.acts {
					if tr, ok := a.(Transition); ok {
						tr.At = now
						s.acts[j] = tr
					}
				}
				acts, next := r.Step(now, s.ev)
				rtExpect(t, fmt.Sprintf("step %d: %T at +%v", i, s.ev, s.at), acts, next, s.acts, became.Add(s.next))
				if got := r.State() != Master; got != s.wantBack {
					t.Fatalf("step %d: state %v", i, r.State())
				}
			}
		})
	}
}

// Reference: RFC 9568 §6.4.3 with garp_lower_prio_repeat — a flood of
// lower-priority adverts (forged: every 10 ms for 10 s) costs at most one
// burst per gap, however fast it comes (each pushes the delayed one back).
func TestRFC9568_6_4_3LowerPriorityFloodIsRateLimited(t *testing.T) {
	for _, interval := range []time.Duration{10 * time.Millisecond, time.Second, 3 * time.Second} {
		cfg := rtConfig(100)
		cfg.AdvertInterval = interval
		cfg.GarpLowerPrio, cfg.GarpLowerPrioDelay = true, 5*time.Second
		r := rtNew(t, cfg)
		became := rtToMaster(t, r)
		const flood = 10 * time.Second
		bursts := 0
		var last time.Time
		var next time.Time
		count := func(at time.Time, acts []Action) {
			for _, a := range acts {
				if a == (rtLowerBurst) {
					bursts++
					if gap := max(interval, time.Second); !last.IsZero() && at.Sub(last) < gap {
						t.Errorf("interval %v: bursts at +%v and +%v, less than %v apart", interval, last.Sub(became), at.Sub(became), gap)
					}
					last = at
				}
			}
		}
		for at := became; at.Before(became.Add(flood)); at = at.Add(10 * time.Millisecond) {
			for !next.IsZero() && !next.After(at) {
				due := next
				var acts []Action
				acts, next = r.Step(due, Tick{})
				count(due, acts)
			}
			var acts []Action
			acts, next = r.Step(at, rtAdvert(50, interval, rtGreater))
			count(at, acts)
		}
		gaps := int(flood / max(interval, time.Second))
		if bursts > gaps+1 {
			t.Errorf("interval %v: %d lower-priority bursts in a %v flood, want at most %d", interval, bursts, flood, gaps+1)
		}
		// Deferred, not dropped: hosts keep hearing us last.
		if bursts < gaps-1 {
			t.Errorf("interval %v: %d lower-priority bursts in a %v flood, want at least %d", interval, bursts, flood, gaps-1)
		}
		if r.State() != Master {
			t.Fatalf("interval %v: state %v after the flood", interval, r.State())
		}
	}
}

// Reference: RFC 5798 §6.4.1 (Startup) with keepalived's vrrp_startup_delay
// and vrrp_delay_after_boot (Startup.NotBefore): no Master, no VIP and no
// gratuitous burst before the delay ends; adverts are not read during it;
// the Master_Down_Timer runs a full Master_Down_Interval from its end; the
// address owner takes over when it ends.
func TestRFC6_4_1StartupDelay(t *testing.T) {
	const delay = 10 * time.Second
	mdi := MasterDownInterval(V3, 100, time.Second)
	until := rtAt(delay)
	backupStart := []Action{Transition{From: Initialize, To: Backup, Reason: reasonStartup, Priority: 100, At: rtT0}}
	type step struct {
		at   time.Duration
		ev   Event
		acts []Action
		next time.Time
	}
	tests := []struct {
		name  string
		prio  uint8
		steps []step
	}{
		{"backup waits the delay plus Master_Down_Interval", 100, []step{
			{0, Startup{NotBefore: until}, backupStart, until.Add(mdi)},
			{until.Add(mdi).Sub(rtT0) - time.Nanosecond, Tick{}, nil, until.Add(mdi)},
			{until.Add(mdi).Sub(rtT0), Tick{}, []Action{
				AddVIPs{}, SendAdvert{Priority: 100}, SendGratuitous{},
				Transition{From: Backup, To: Master, Reason: reasonMasterDown, Priority: 100, Master: rtOurs, At: until.Add(mdi)},
			}, until.Add(mdi + time.Second)},
		}},
		{"adverts during the delay are not read", 100, []step{
			{0, Startup{NotBefore: until}, backupStart, until.Add(mdi)},
			{time.Second, rtAdvert(0, time.Second, rtGreater), nil, until.Add(mdi)},
			{2 * time.Second, rtAdvert(150, 2*time.Second, rtGreater), nil, until.Add(mdi)},
			// After the delay, a master's advert restarts the timer.
			{delay + time.Second, rtAdvert(150, time.Second, rtGreater), nil, rtAt(delay + time.Second + mdi)},
		}},
		{"sync group: SyncTo Master waits for the delay", 100, []step{
			{0, Startup{NotBefore: until}, backupStart, until.Add(mdi)},
			{time.Second, SyncTo{State: Master}, nil, until.Add(mdi)},
			{time.Second, SyncTo{State: Backup}, nil, until.Add(mdi)},
			{delay, SyncTo{State: Master}, []Action{
				AddVIPs{}, SendAdvert{Priority: 100}, SendGratuitous{},
				Transition{From: Backup, To: Master, Reason: reasonSync, Priority: 100, Master: rtOurs, At: until},
			}, rtAt(delay + time.Second)},
		}},
		{"leaving Fault during the delay", 100, []step{
			{0, SetFault{Fault: true}, nil, time.Time{}},
			{0, Startup{NotBefore: until}, []Action{
				Transition{From: Initialize, To: Fault, Reason: reasonStartupFault, Priority: 100, At: rtT0},
			}, time.Time{}},
			{time.Second, SetFault{Fault: false}, []Action{
				Transition{From: Fault, To: Backup, Reason: reasonFaultRecovered, Priority: 100, At: rtAt(time.Second)},
			}, until.Add(mdi)},
		}},
		{"maintenance ends during the delay", 100, []step{
			{0, Hold{On: true}, nil, time.Time{}},
			{0, Startup{NotBefore: until}, backupStart, time.Time{}},
			{time.Second, Hold{On: false}, nil, until.Add(mdi)},
		}},
		{"the owner takes over when the delay ends", PriorityOwner, []step{
			{0, Startup{NotBefore: until}, []Action{
				Transition{From: Initialize, To: Backup, Reason: reasonStartup, Priority: PriorityOwner, At: rtT0},
			}, until},
			{time.Second, rtAdvert(0, time.Second, rtGreater), nil, until},
			{delay, Tick{}, []Action{
				AddVIPs{}, SendAdvert{Priority: PriorityOwner}, SendGratuitous{},
				Transition{From: Backup, To: Master, Reason: reasonStartupDelayed, Priority: PriorityOwner, Master: rtOurs, At: until},
			}, rtAt(delay + time.Second)},
		}},
		{"a delay already over changes nothing", 100, []step{
			{0, Startup{NotBefore: rtAt(-time.Second)}, backupStart, rtAt(mdi)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rtNew(t, rtConfig(tt.prio))
			for i, s := range tt.steps {
				acts, next := r.Step(rtAt(s.at), s.ev)
				rtExpect(t, fmt.Sprintf("step %d: %T at +%v", i, s.ev, s.at), acts, next, s.acts, s.next)
				if r.State() == Master && rtAt(s.at).Before(until) {
					t.Fatalf("step %d: Master at +%v, before the delay ends", i, s.at)
				}
			}
		})
	}
}
