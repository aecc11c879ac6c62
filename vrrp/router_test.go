package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := rtConfig(100)
	v2 := ok
	v2.Version = V2
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // substring; "" for valid
	}{
		{"v3 valid", func(c *Config) {}, ""},
		{"v2 valid", func(c *Config) { *c = v2 }, ""},
		{"v3 10ms", func(c *Config) { c.AdvertInterval = 10 * time.Millisecond }, ""},
		{"v3 40.95s", func(c *Config) { c.AdvertInterval = 40950 * time.Millisecond }, ""},
		{"v3 ipv6", func(c *Config) { c.PrimaryAddr = netip.MustParseAddr("fe80::1") }, ""},
		{"owner", func(c *Config) { c.Priority = 255 }, ""},
		{"initial master", func(c *Config) { c.InitialState = Master }, ""},
		{"version 4", func(c *Config) { c.Version = 4 }, "unsupported vrrp version 4"},
		{"vrid 0", func(c *Config) { c.VRID = 0 }, "vrid 0"},
		{"priority 0", func(c *Config) { c.Priority = 0 }, "priority 0"},
		{"v3 5ms", func(c *Config) { c.AdvertInterval = 5 * time.Millisecond }, "advert interval"},
		{"v3 15ms", func(c *Config) { c.AdvertInterval = 15 * time.Millisecond }, "advert interval"},
		{"v3 41s", func(c *Config) { c.AdvertInterval = 41 * time.Second }, "advert interval"},
		{"v2 500ms", func(c *Config) { *c = v2; c.AdvertInterval = 500 * time.Millisecond }, "advert interval"},
		{"v2 1.5s", func(c *Config) { *c = v2; c.AdvertInterval = 1500 * time.Millisecond }, "advert interval"},
		{"v2 256s", func(c *Config) { *c = v2; c.AdvertInterval = 256 * time.Second }, "advert interval"},
		{"v2 ipv6", func(c *Config) { *c = v2; c.PrimaryAddr = netip.MustParseAddr("fe80::1") }, "ipv4"},
		{"no address", func(c *Config) { c.PrimaryAddr = netip.Addr{} }, "primary address"},
		{"initial fault", func(c *Config) { c.InitialState = Fault }, "initial state"},
		{"negative preempt delay", func(c *Config) { c.PreemptDelay = -time.Second }, "preempt delay"},
		{"preempt delay 1001s", func(c *Config) { c.PreemptDelay = 1001 * time.Second }, "preempt delay"},
		{"negative garp delay", func(c *Config) { c.GarpMasterDelay = -1 }, "garp master delay"},
		{"negative garp refresh", func(c *Config) { c.GarpMasterRefresh = -1 }, "garp master refresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				if _, err := NewRouter(c); err != nil {
					t.Fatalf("NewRouter: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate: %v, want error containing %q", err, tt.wantErr)
			}
			if r, err := NewRouter(c); err == nil || r != nil {
				t.Fatalf("NewRouter accepted an invalid config")
			}
		})
	}
}

// keepalived "state MASTER" below priority 255 (vrrp_init_state in
// keepalived/vrrp/vrrp_scheduler.c, as Debian's keepalived 2.2.7 behaves):
// Backup first, for the full Master_Down_Interval, then Master.
// Reference: RFC 5798 §6.4.1.
func TestInitialStateMasterBelowOwner(t *testing.T) {
	t.Run("no master heard", func(t *testing.T) {
		cfg := rtConfig(100)
		cfg.InitialState = Master
		r := rtNew(t, cfg)
		acts, next := r.Step(rtT0, Startup{})
		// 3 × 1s + (256-100)*1s/256 = 3s + 609.375ms.
		rtExpect(t, "startup", acts, next, []Action{
			Transition{From: Initialize, To: Backup, Reason: reasonStartup, Priority: 100, At: rtT0},
		}, rtAt(3*time.Second+rtMs(609.375)))
		acts, _ = r.Step(next, Tick{})
		if r.State() != Master || len(acts) != 4 {
			t.Fatalf("state %v actions %v, want MASTER", r.State(), acts)
		}
	})
	t.Run("v2", func(t *testing.T) {
		cfg := rtConfig(100)
		cfg.Version = V2
		cfg.AdvertInterval = 2 * time.Second
		cfg.InitialState = Master
		r := rtNew(t, cfg)
		// v2: 3 × 2s + (256-100)/256 s = 6s + 609.375ms.
		if next := rtStartup(t, r, Backup); !next.Equal(rtAt(6*time.Second + rtMs(609.375))) {
			t.Fatalf("next %v", rtShow(next))
		}
	})
	t.Run("higher master heard", func(t *testing.T) {
		cfg := rtConfig(100)
		cfg.InitialState = Master
		r := rtNew(t, cfg)
		rtStartup(t, r, Backup)
		for s := 0; s < 10; s++ {
			now := rtAt(time.Duration(s)*time.Second + 500*time.Millisecond)
			r.Step(now, rtAdvert(150, time.Second, rtGreater))
			r.Step(now, Tick{})
			if r.State() != Backup {
				t.Fatalf("at %v: state %v, want BACKUP", rtShow(now), r.State())
			}
		}
	})
	t.Run("nopreempt is overridden", func(t *testing.T) {
		// keepalived clears nopreempt and preempt_delay with state MASTER.
		cfg := rtConfig(100)
		cfg.InitialState = Master
		cfg.Preempt = false
		cfg.PreemptDelay = 30 * time.Second
		r := rtNew(t, cfg)
		next := rtStartup(t, r, Backup)
		_, next2 := r.Step(rtAt(500*time.Millisecond), rtAdvert(50, time.Second, rtGreater))
		if !next2.Equal(next) {
			t.Fatalf("lower-priority advert changed the deadline to %v: nopreempt not overridden", rtShow(next2))
		}
		r.Step(next, Tick{})
		if r.State() != Master {
			t.Fatalf("state %v, want MASTER", r.State())
		}
	})
}

// keepalived preempt_delay (vrrp_state_backup in keepalived/vrrp/vrrp.c):
// counted from the first lower-priority advertisement heard as Backup.
func TestPreemptDelay(t *testing.T) {
	cfg := rtConfig(200)
	cfg.PreemptDelay = 10 * time.Second
	r := rtNew(t, cfg)
	rtStartup(t, r, Backup)
	// A priority-100 master advertises at 0.5s, 1.5s, ... The delay starts at
	// 0.5s and ends at 10.5s: the adverts up to 9.5s are accepted.
	var next time.Time
	for s := 0; s <= 9; s++ {
		now := rtAt(time.Duration(s)*time.Second + 500*time.Millisecond)
		_, next = r.Step(now, rtAdvert(100, time.Second, rtLower))
		// 3s + 56*1s/256 = 3.21875s.
		if want := now.Add(rtMs(3218.75)); !next.Equal(want) {
			t.Fatalf("advert at %v: next %v, want %v (advert accepted)", rtShow(now), rtShow(next), rtShow(want))
		}
		if r.MasterAddr() != rtLower {
			t.Fatalf("MasterAddr %v", r.MasterAddr())
		}
	}
	// From 10.5s on they are discarded and the timer set at 9.5s runs out.
	for _, s := range []float64{10.5, 11.5, 12.5} {
		_, n := r.Step(rtAt(rtMs(s*1000)), rtAdvert(100, time.Second, rtLower))
		if !n.Equal(next) {
			t.Fatalf("advert at %vs after the delay: next %v, want %v", s, rtShow(n), rtShow(next))
		}
	}
	if want := rtAt(rtMs(9500 + 3218.75)); !next.Equal(want) {
		t.Fatalf("takeover deadline %v, want %v", rtShow(next), rtShow(want))
	}
	r.Step(next, Tick{})
	if r.State() != Master {
		t.Fatalf("state %v, want MASTER after the preempt delay", r.State())
	}
}

// An advertisement at or above our priority cancels a running preempt delay;
// the next lower-priority advertisement starts a new one.
func TestPreemptDelayRestartsAfterHigherAdvert(t *testing.T) {
	cfg := rtConfig(200)
	cfg.PreemptDelay = 5 * time.Second
	r := rtNew(t, cfg)
	rtStartup(t, r, Backup)
	r.Step(rtAt(1*time.Second), rtAdvert(100, time.Second, rtLower)) // delay until 6s
	r.Step(rtAt(2*time.Second), rtAdvert(250, time.Second, rtGreater))
	r.Step(rtAt(3*time.Second), rtAdvert(100, time.Second, rtLower)) // new delay until 8s
	// At 7s the old delay would have ended; the new one still holds.
	_, next := r.Step(rtAt(7*time.Second), rtAdvert(100, time.Second, rtLower))
	if want := rtAt(7*time.Second + rtMs(3218.75)); !next.Equal(want) {
		t.Fatalf("advert at 7s: next %v, want %v (still within the new delay)", rtShow(next), rtShow(want))
	}
	_, next2 := r.Step(rtAt(8*time.Second), rtAdvert(100, time.Second, rtLower))
	if !next2.Equal(next) {
		t.Fatalf("advert at 8s: next %v, want %v (discarded)", rtShow(next2), rtShow(next))
	}
}

// Reference: RFC 5798 §6.4.1, §6.4.3 — the address owner (priority 255) is
// master from Startup and ignores SetPriority (keepalived), but it still
// loses the tie-break against another 255 with a greater address.
func TestOwner(t *testing.T) {
	r := rtNew(t, rtConfig(PriorityOwner))
	rtStartup(t, r, Master)
	r.Step(rtT0, SetPriority{Priority: 10})
	if r.Priority() != 255 {
		t.Fatalf("owner priority changed to %d", r.Priority())
	}
	acts, _ := r.Step(rtAt(100*time.Millisecond), rtAdvert(254, time.Second, rtGreater))
	if r.State() != Master || len(acts) != 1 || acts[0] != (SendAdvert{Priority: 255}) {
		t.Fatalf("254 advert: state %v actions %v", r.State(), acts)
	}
	r.Step(rtAt(200*time.Millisecond), rtAdvert(255, time.Second, rtLower))
	if r.State() != Master {
		t.Fatalf("255 from a smaller address: state %v, want MASTER", r.State())
	}
	r.Step(rtAt(300*time.Millisecond), rtAdvert(255, time.Second, rtGreater))
	if r.State() != Backup {
		t.Fatalf("255 from a greater address: state %v, want BACKUP", r.State())
	}
}

// Reference: RFC 5798 §6.4.2 — Master_Adver_Interval is learnt from the
// master's advertisements while Backup (and Skew_Time with it); it goes back
// to our own interval when we become master (keepalived).
func TestV3IntervalLearning(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	rtStartup(t, r, Backup)
	now := rtAt(time.Second)
	_, next := r.Step(now, rtAdvert(150, 500*time.Millisecond, rtGreater))
	// 1.5s + 156*500ms/256 = 1.5s + 304.6875ms.
	if want := now.Add(rtMs(1804.6875)); !next.Equal(want) {
		t.Fatalf("next %v, want %v", rtShow(next), rtShow(want))
	}
	// A priority-0 advert: Skew_Time from the learnt interval.
	_, next = r.Step(rtAt(2*time.Second), rtAdvert(0, 500*time.Millisecond, rtGreater))
	if want := rtAt(2*time.Second + rtMs(304.6875)); !next.Equal(want) {
		t.Fatalf("after priority 0: next %v, want %v", rtShow(next), rtShow(want))
	}
	_, next = r.Step(next, Tick{})
	if r.State() != Master || r.MasterAdverInterval() != time.Second {
		t.Fatalf("state %v Master_Adver_Interval %v, want MASTER with 1s", r.State(), r.MasterAdverInterval())
	}
	if want := rtAt(2*time.Second + rtMs(304.6875) + time.Second); !next.Equal(want) {
		t.Fatalf("first advert timer %v, want %v (own interval)", rtShow(next), rtShow(want))
	}
}

// Priority changes at run time (keepalived vrrp_set_effective_priority).
func TestSetPriority(t *testing.T) {
	t.Run("clamped", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		r.Step(rtT0, SetPriority{Priority: 0})
		if r.Priority() != 1 {
			t.Errorf("SetPriority(0) → %d, want 1", r.Priority())
		}
		r.Step(rtT0, SetPriority{Priority: 255})
		if r.Priority() != 254 {
			t.Errorf("SetPriority(255) → %d, want 254", r.Priority())
		}
	})
	t.Run("backup timer follows skew", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		down := rtStartup(t, r, Backup)
		acts, next := r.Step(rtAt(time.Second), SetPriority{Priority: 200})
		// Skew 156/256 s → 56/256 s: 390.625ms earlier.
		rtExpect(t, "raise", acts, next, nil, down.Add(-rtMs(390.625)))
	})
	t.Run("raised backup preempts", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		rtStartup(t, r, Backup)
		_, next := r.Step(rtAt(time.Second), rtAdvert(150, time.Second, rtGreater))
		r.Step(rtAt(1500*time.Millisecond), SetPriority{Priority: 200})
		// The master's adverts at 2s and 3s are now lower than ours: discarded.
		for _, s := range []time.Duration{2, 3} {
			_, n := r.Step(rtAt(s*time.Second), rtAdvert(150, time.Second, rtGreater))
			if n.After(next) {
				t.Fatalf("advert at %ds moved the deadline to %v", s, rtShow(n))
			}
			next = n
		}
		// Accepted at 1s with prio 100 (3.609375s), moved by -390.625ms.
		if want := rtAt(time.Second + rtMs(3218.75)); !next.Equal(want) {
			t.Fatalf("deadline %v, want %v", rtShow(next), rtShow(want))
		}
		r.Step(next, Tick{})
		if r.State() != Master {
			t.Fatalf("state %v, want MASTER", r.State())
		}
	})
	t.Run("master advertises new priority and yields", func(t *testing.T) {
		r := rtNew(t, rtConfig(200))
		became := rtToMaster(t, r)
		acts, next := r.Step(became.Add(100*time.Millisecond), SetPriority{Priority: 50})
		rtExpect(t, "lower as master", acts, next, nil, became.Add(time.Second))
		acts, _ = r.Step(next, Tick{})
		if len(acts) != 1 || acts[0] != (SendAdvert{Priority: 50}) {
			t.Fatalf("advert after lowering: %v, want SendAdvert{50}", acts)
		}
		// A backup at 100 now preempts us.
		r.Step(next.Add(200*time.Millisecond), rtAdvert(100, time.Second, rtLower))
		if r.State() != Backup {
			t.Fatalf("state %v, want BACKUP", r.State())
		}
	})
}

// keepalived's Fault state (vrrp_state_leave_master, try_up_instance).
func TestFault(t *testing.T) {
	t.Run("from master", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		became := rtToMaster(t, r)
		now := became.Add(time.Second)
		acts, next := r.Step(now, SetFault{Fault: true, Reason: "eth0 down"})
		rtExpect(t, "fault", acts, next, []Action{
			SendAdvert{Priority: 0},
			RemoveVIPs{},
			Transition{From: Master, To: Fault, Reason: "fault: eth0 down", Priority: 100, Master: rtOurs, At: now},
		}, time.Time{})
		// Silent and deaf while in Fault.
		for _, ev := range []Event{Tick{}, rtAdvert(50, time.Second, rtLower), rtAdvert(0, time.Second, rtLower), SetFault{Fault: true}, Startup{}} {
			acts, next = r.Step(now.Add(time.Minute), ev)
			rtExpect(t, "in fault", acts, next, nil, time.Time{})
		}
		later := now.Add(2 * time.Minute)
		acts, next = r.Step(later, SetFault{Fault: false})
		rtExpect(t, "recovered", acts, next, []Action{
			Transition{From: Fault, To: Backup, Reason: reasonFaultRecovered, Priority: 100, At: later},
		}, later.Add(3*time.Second+rtMs(609.375)))
	})
	t.Run("from backup resets learnt interval", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		rtStartup(t, r, Backup)
		r.Step(rtAt(time.Second), rtAdvert(150, 3*time.Second, rtGreater))
		acts, next := r.Step(rtAt(2*time.Second), SetFault{Fault: true})
		rtExpect(t, "fault", acts, next, []Action{
			Transition{From: Backup, To: Fault, Reason: reasonFault, Priority: 100, Master: rtGreater, At: rtAt(2 * time.Second)},
		}, time.Time{})
		_, next = r.Step(rtAt(3*time.Second), SetFault{Fault: false})
		if r.MasterAdverInterval() != time.Second || !next.Equal(rtAt(3*time.Second+3*time.Second+rtMs(609.375))) {
			t.Fatalf("Master_Adver_Interval %v next %v", r.MasterAdverInterval(), rtShow(next))
		}
	})
	t.Run("before startup", func(t *testing.T) {
		r := rtNew(t, rtConfig(PriorityOwner))
		acts, _ := r.Step(rtT0, SetFault{Fault: true})
		if len(acts) != 0 || r.State() != Initialize {
			t.Fatalf("fault before startup: %v state %v", acts, r.State())
		}
		acts, next := r.Step(rtT0, Startup{})
		rtExpect(t, "startup in fault", acts, next, []Action{
			Transition{From: Initialize, To: Fault, Reason: reasonStartupFault, Priority: 255, At: rtT0},
		}, time.Time{})
		acts, _ = r.Step(rtAt(time.Second), Shutdown{})
		if r.State() != Initialize || len(acts) != 1 {
			t.Fatalf("shutdown from fault: %v state %v", acts, r.State())
		}
	})
	t.Run("clear without fault is a no-op", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		down := rtStartup(t, r, Backup)
		acts, next := r.Step(rtAt(time.Second), SetFault{Fault: false})
		rtExpect(t, "clear", acts, next, nil, down)
	})
}

// keepalived garp_master_delay / garp_master_refresh
// (vrrp_state_become_master in keepalived/vrrp/vrrp.c): a burst on becoming
// master, one more after the delay, then one every refresh interval, the
// first at delay+refresh.
func TestGratuitousTimers(t *testing.T) {
	collect := func(cfg Config, until time.Duration) []time.Duration {
		r := rtNew(t, cfg)
		_, next := r.Step(rtT0, Startup{})
		var at []time.Duration
		for i := 0; i < 1000 && !next.IsZero() && next.Before(rtAt(until)); i++ {
			now := next
			var acts []Action
			acts, next = r.Step(now, Tick{})
			for _, a := range acts {
				if g, ok := a.(SendGratuitous); ok {
					at = append(at, now.Sub(rtT0))
					// The burst after garp_master_delay repeats the
					// takeover's; the later ones are refreshes.
					if g.Refresh != (cfg.GarpMasterDelay == 0 || len(at) > 1) {
						t.Errorf("burst %d at %v: Refresh %v", len(at), now.Sub(rtT0), g.Refresh)
					}
				}
			}
		}
		return at
	}
	eq := func(a, b []time.Duration) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	cfg := rtConfig(PriorityOwner)
	cfg.GarpMasterDelay = 5 * time.Second
	if got, want := collect(cfg, time.Minute), []time.Duration{5 * time.Second}; !eq(got, want) {
		t.Errorf("delay 5s: gratuitous at %v, want %v", got, want)
	}
	cfg.GarpMasterRefresh = 20 * time.Second
	if got, want := collect(cfg, 70*time.Second), []time.Duration{5 * time.Second, 25 * time.Second, 45 * time.Second, 65 * time.Second}; !eq(got, want) {
		t.Errorf("delay 5s refresh 20s: gratuitous at %v, want %v", got, want)
	}
	cfg.GarpMasterDelay = 0
	cfg.GarpMasterRefresh = 1500 * time.Millisecond
	r := rtNew(t, cfg)
	_, next := r.Step(rtT0, Startup{})
	if !next.Equal(rtAt(time.Second)) {
		t.Fatalf("next %v, want the advert timer first", rtShow(next))
	}
	acts, next := r.Step(next, Tick{})
	rtExpect(t, "advert", acts, next, []Action{SendAdvert{Priority: 255}}, rtAt(1500*time.Millisecond))
	acts, next = r.Step(next, Tick{})
	rtExpect(t, "refresh", acts, next, []Action{SendGratuitous{Refresh: true}}, rtAt(2*time.Second))

	// Leaving Master cancels pending bursts.
	cfg = rtConfig(100)
	cfg.GarpMasterDelay = 5 * time.Second
	r = rtNew(t, cfg)
	became := rtToMaster(t, r)
	r.Step(became.Add(4*time.Second), rtAdvert(200, time.Second, rtGreater))
	acts, _ = r.Step(became.Add(5*time.Second), Tick{})
	for _, a := range acts {
		if _, ok := a.(SendGratuitous); ok {
			t.Fatalf("gratuitous burst after leaving master: %v", acts)
		}
	}
}

// Timers only fire on Tick; a deadline passed before another event is
// reported as now.
func TestLateEventsReportDueDeadline(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	down := rtStartup(t, r, Backup)
	late := down.Add(time.Second)
	acts, next := r.Step(late, SetPriority{Priority: 90})
	rtExpect(t, "late set priority", acts, next, nil, late)
	// An advert from the master before the Tick still saves it.
	_, next = r.Step(late, rtAdvert(150, time.Second, rtGreater))
	if r.State() != Backup || !next.After(late) {
		t.Fatalf("state %v next %v", r.State(), rtShow(next))
	}
}

// keepalived's vrrp_sync_group: a member's Backup → Master or Master →
// Backup drags the other members along.
func TestSyncTo(t *testing.T) {
	cfg := Config{Version: V3, VRID: 7, Priority: 100, AdvertInterval: time.Second, Preempt: true,
		PrimaryAddr: netip.MustParseAddr("192.0.2.1")}
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1000, 0)
	r.Step(t0, Startup{})

	// Backup → Master at once, with the actions of a master-down expiry.
	acts, next := r.Step(t0.Add(time.Second), SyncTo{State: Master, Reason: "VI_2 MASTER"})
	if r.State() != Master {
		t.Fatalf("state %v, want MASTER", r.State())
	}
	if len(acts) != 4 || acts[0] != (AddVIPs{}) || acts[1] != (SendAdvert{Priority: 100}) || acts[2] != (SendGratuitous{}) {
		t.Fatalf("actions %v", acts)
	}
	if tr := acts[3].(Transition); tr.Reason != "sync group: VI_2 MASTER" {
		t.Errorf("reason %q", tr.Reason)
	}
	if want := t0.Add(2 * time.Second); !next.Equal(want) {
		t.Errorf("next %v, want the advert timer %v", next, want)
	}
	// Master again: nothing.
	if acts, _ := r.Step(t0.Add(time.Second), SyncTo{State: Master}); len(acts) != 0 {
		t.Errorf("SyncTo Master while Master: %v", acts)
	}

	// Master → Backup: VIPs removed, no priority-0 advert, full MDI.
	now := t0.Add(3 * time.Second)
	acts, next = r.Step(now, SyncTo{State: Backup})
	if r.State() != Backup || len(acts) != 2 || acts[0] != (RemoveVIPs{}) {
		t.Fatalf("state %v actions %v", r.State(), acts)
	}
	if want := now.Add(MasterDownInterval(V3, 100, time.Second)); !next.Equal(want) {
		t.Errorf("next %v, want %v", next, want)
	}

	// Backup → Backup: the Master_Down_Timer starts again, nothing else.
	later := now.Add(2 * time.Second)
	acts, next = r.Step(later, SyncTo{State: Backup})
	if r.State() != Backup || len(acts) != 0 {
		t.Fatalf("SyncTo Backup in Backup: state %v actions %v", r.State(), acts)
	}
	if want := later.Add(MasterDownInterval(V3, 100, time.Second)); !next.Equal(want) {
		t.Errorf("next %v, want the restarted timer %v", next, want)
	}

	// Fault ignores SyncTo.
	r.Step(now, SetFault{Fault: true})
	if acts, _ := r.Step(now, SyncTo{State: Master}); len(acts) != 0 || r.State() != Fault {
		t.Errorf("SyncTo in Fault: %v, state %v", acts, r.State())
	}
}

// An advert recorded earlier (the kernel dataplane's last-seen time) restarts
// the Master_Down_Timer from its arrival, not from when it is stepped.
func TestAdvertReceivedAt(t *testing.T) {
	cfg := Config{Version: V3, VRID: 7, Priority: 100, AdvertInterval: time.Second, Preempt: true,
		PrimaryAddr: netip.MustParseAddr("192.0.2.1")}
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1000, 0)
	r.Step(t0, Startup{})
	mdi := MasterDownInterval(V3, 100, time.Second)
	adv := Advert{Version: V3, VRID: 7, Priority: 200, Interval: time.Second}
	src := netip.MustParseAddr("192.0.2.2")

	// Stepped at the old deadline, arrived 1 s before it.
	at := t0.Add(mdi - time.Second)
	_, next := r.Step(t0.Add(mdi), AdvertReceived{Advert: adv, Src: src, At: at})
	if want := at.Add(mdi); !next.Equal(want) {
		t.Errorf("next %v, want arrival + MDI %v", next.Sub(t0), want.Sub(t0))
	}
	if r.State() != Backup || r.MasterAddr() != src {
		t.Errorf("state %v master %v", r.State(), r.MasterAddr())
	}
	// An arrival so old that its timer already ran out: due at once.
	now := at.Add(2 * mdi)
	_, next = r.Step(now, AdvertReceived{Advert: adv, Src: src, At: at.Add(mdi / 2)})
	if !next.Equal(now) {
		t.Errorf("next %v, want now %v", next.Sub(t0), now.Sub(t0))
	}
	// A future At is clamped to now.
	_, next = r.Step(now, AdvertReceived{Advert: adv, Src: src, At: now.Add(time.Hour)})
	if want := now.Add(mdi); !next.Equal(want) {
		t.Errorf("next %v, want %v", next.Sub(t0), want.Sub(t0))
	}
}

// SetAddress: an instance re-bound to an interface with another address
// compares peers of equal priority with the new one (RFC 5798 §6.4.3) and,
// as master, reports it as the master's address; an address of the wrong
// family is ignored.
func TestSetAddress(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	became := rtToMaster(t, r)
	now := became.Add(time.Second)
	r.Step(now, SetAddress{Addr: netip.MustParseAddr("fe80::1")})
	if r.MasterAddr() != rtOurs {
		t.Fatalf("after a wrong-family address the master is %v, want %v", r.MasterAddr(), rtOurs)
	}
	// An equal-priority advert from rtLower: with our address rtOurs we
	// win; once ours is below rtLower, we yield.
	low := netip.MustParseAddr("10.0.0.0")
	r.Step(now, SetAddress{Addr: low})
	if r.MasterAddr() != low {
		t.Fatalf("master address %v, want %v", r.MasterAddr(), low)
	}
	acts, _ := r.Step(now.Add(time.Millisecond), rtAdvert(100, time.Second, rtLower))
	if r.State() != Backup {
		t.Fatalf("equal priority from a higher address: state %v, actions %v, want BACKUP", r.State(), acts)
	}
}

// Resign: make-before-break. The master advertises priority 0 at once and
// every interval, keeps its VIPs until the backup that took over
// advertises, then removes them; without a taker, Keep decides.
// Reference: RFC 5798 §6.4.2 (priority 0: a backup takes over after
// Skew_Time), §6.4.3.
func TestResign(t *testing.T) {
	t.Run("handed over", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		became := rtToMaster(t, r)
		now := became.Add(500 * time.Millisecond)
		acts, next := r.Step(now, Resign{Timeout: 5 * time.Second, Reason: "stop"})
		rtExpect(t, "resign", acts, next, []Action{SendAdvert{Priority: 0}}, now.Add(time.Second))
		if !r.Resigning() || r.State() != Master {
			t.Fatalf("resigning %v state %v", r.Resigning(), r.State())
		}
		// Every interval, priority 0 again; no VIP removed.
		acts, _ = r.Step(now.Add(time.Second), Tick{})
		rtExpect(t, "resend", acts, r.next(now.Add(time.Second)), []Action{SendAdvert{Priority: 0}}, now.Add(2*time.Second))
		// Our own looped-back priority 0 and another resigner change nothing.
		if acts, _ := r.Step(now.Add(1100*time.Millisecond), rtAdvert(0, time.Second, rtLower)); len(acts) != 0 {
			t.Fatalf("a priority-0 advert while resigning: %v", acts)
		}
		// The backup (lower priority) took over: now the VIPs go.
		at := now.Add(1200 * time.Millisecond)
		acts, _ = r.Step(at, rtAdvert(50, time.Second, rtLower))
		if len(acts) != 2 || acts[0] != (RemoveVIPs{}) {
			t.Fatalf("handed over: %v", acts)
		}
		if tr := acts[1].(Transition); tr.To != Backup || tr.Reason != "handed over: stop" || tr.Master != rtLower {
			t.Fatalf("transition %+v", tr)
		}
		if r.Resigning() {
			t.Fatal("still resigning")
		}
	})
	t.Run("linger", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		became := rtToMaster(t, r)
		r.Step(became, Resign{Timeout: 5 * time.Second, Linger: 20 * time.Millisecond, Stop: true})
		at := became.Add(300 * time.Millisecond)
		acts, next := r.Step(at, rtAdvert(50, time.Second, rtLower))
		rtExpect(t, "relieved", acts, next, nil, at.Add(20*time.Millisecond))
		acts, _ = r.Step(at.Add(20*time.Millisecond), Tick{})
		if r.State() != Initialize || len(acts) != 2 || acts[0] != (RemoveVIPs{}) {
			t.Fatalf("after the linger: state %v actions %v", r.State(), acts)
		}
	})
	t.Run("nobody takes over, keep", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		became := rtToMaster(t, r)
		r.Step(became, Hold{On: true})
		r.Step(became, Resign{Timeout: 3 * time.Second, Keep: true})
		acts, _ := r.Step(became.Add(3*time.Second), Tick{})
		if r.State() != Master || r.Resigning() || r.Held() || len(acts) != 1 || acts[0] != (SendAdvert{Priority: 100}) {
			t.Fatalf("after the timeout with Keep: state %v resigning %v held %v actions %v", r.State(), r.Resigning(), r.Held(), acts)
		}
	})
	t.Run("nobody takes over, give up", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		became := rtToMaster(t, r)
		r.Step(became, Resign{Timeout: 3 * time.Second})
		acts, _ := r.Step(became.Add(3*time.Second), Tick{})
		if r.State() != Backup || len(acts) != 2 || acts[0] != (RemoveVIPs{}) {
			t.Fatalf("after the timeout: state %v actions %v", r.State(), acts)
		}
	})
	t.Run("not master", func(t *testing.T) {
		r := rtNew(t, rtConfig(100))
		rtStartup(t, r, Backup)
		if acts, _ := r.Step(rtAt(time.Second), Resign{Timeout: time.Second}); len(acts) != 0 || r.Resigning() {
			t.Fatalf("Resign in Backup: %v", acts)
		}
	})
}

// Hold: a Backup in maintenance never takes over, not even for its sync
// group; out of it, a full Master_Down_Interval later it does.
func TestHold(t *testing.T) {
	r := rtNew(t, rtConfig(100))
	rtStartup(t, r, Backup)
	_, next := r.Step(rtAt(0), Hold{On: true})
	if !next.IsZero() {
		t.Fatalf("held Backup has a deadline %v", next)
	}
	for _, ev := range []Event{Tick{}, SyncTo{State: Master}, rtAdvert(0, time.Second, rtGreater)} {
		r.Step(rtAt(10*time.Second), ev)
		if r.State() != Backup {
			t.Fatalf("held Backup left BACKUP on %T", ev)
		}
	}
	at := rtAt(20 * time.Second)
	_, next = r.Step(at, Hold{On: false})
	if want := at.Add(MasterDownInterval(V3, 100, time.Second)); !next.Equal(want) {
		t.Fatalf("after the hold: next %v, want %v", next, want)
	}
	r.Step(next, Tick{})
	if r.State() != Master {
		t.Fatalf("state %v after the hold and a silent Master_Down_Interval", r.State())
	}
}

// HigherPrioSendAdvert (keepalived's higher_prio_send_advert): a master
// that hears a higher priority sends one advert at its own priority, then
// steps down (its VIPs removed after); without it, it steps down silently
// (RFC 5798 §6.4.3).
func TestHigherPrioSendAdvert(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := rtConfig(100)
		cfg.HigherPrioSendAdvert = on
		r := rtNew(t, cfg)
		rtStartup(t, r, Backup)
		r.Step(rtAt(10*time.Second), Tick{})
		if r.State() != Master {
			t.Fatalf("state %v, want MASTER", r.State())
		}
		acts, _ := r.Step(rtAt(10500*time.Millisecond), rtAdvert(150, time.Second, rtGreater))
		if r.State() != Backup {
			t.Fatalf("after a higher advert: %v", r.State())
		}
		sent, removedAfter := false, false
		for _, a := range acts {
			switch a.(type) {
			case SendAdvert:
				if a != (SendAdvert{Priority: 100}) {
					t.Errorf("sent %v, want our own priority 100", a)
				}
				sent = true
			case RemoveVIPs:
				removedAfter = sent
			}
		}
		if sent != on || (on && !removedAfter) {
			t.Errorf("HigherPrioSendAdvert %v: actions %v", on, acts)
		}
	}
}
