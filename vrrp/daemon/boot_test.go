package daemon

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
)

func TestBootDelay(t *testing.T) {
	up := func(d time.Duration) func() (time.Duration, error) {
		return func() (time.Duration, error) { return d, nil }
	}
	broken := func() (time.Duration, error) { return 0, errors.New("no clock") }
	for _, tc := range []struct {
		name          string
		startup, boot time.Duration
		uptime        func() (time.Duration, error)
		want          time.Duration
		err           bool
	}{
		{"none", 0, 0, broken, 0, false},
		{"vrrp_startup_delay", 5 * time.Second, 0, broken, 5 * time.Second, false},
		{"vrrp_delay_after_boot, just booted", 0, 60 * time.Second, up(20 * time.Second), 40 * time.Second, false},
		{"vrrp_delay_after_boot, up long ago", 0, 60 * time.Second, up(time.Hour), 0, false},
		{"the longer: after boot", 5 * time.Second, 60 * time.Second, up(20 * time.Second), 40 * time.Second, false},
		{"the longer: startup", 50 * time.Second, 60 * time.Second, up(20 * time.Second), 50 * time.Second, false},
		{"uptime unreadable", 5 * time.Second, 60 * time.Second, broken, 5 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bootDelay(&config.Global{StartupDelay: tc.startup, DelayAfterBoot: tc.boot}, tc.uptime)
			if got != tc.want || (err != nil) != tc.err {
				t.Errorf("bootDelay = %v, %v; want %v, error %v", got, err, tc.want, tc.err)
			}
		})
	}
	if up, err := systemUptime(); err != nil || up <= 0 {
		t.Errorf("systemUptime = %v, %v", up, err)
	}
}

// Two instances on eth0 with vrrp_startup_delay 10: the address owner
// (VI_1) and a backup at 100 (VI_2), v2 at 1 s.
const confDelayed = `
global_defs {
  vrrp_startup_delay 10
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 255
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    192.0.2.101/24
  }
}
`

// keepalived's vrrp_startup_delay (issues #2231, #2032): no MASTER, no
// VIP, no gratuitous burst and no notify_master before the delay ends.
// The owner takes over when it ends, a backup a Master_Down_Interval
// later; an instance a reload adds during the delay waits for the same
// end, and adverts heard during the delay are not read.
func TestStartupDelay(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, confDelayed)
	start := r.now
	r.wantState("VI_1", vrrp.Backup)
	r.wantState("VI_2", vrrp.Backup)
	// A master at 150 for VI_2, heard during the delay, is not read: its
	// adverts would otherwise hold VI_2 in Backup beyond it.
	r.advance(5 * time.Second)
	r.handle(r.peerAdvert("VI_2", 150, "192.0.2.2"))
	if err := r.reload(confDelayed + strings.NewReplacer("VI_2", "VI_3", "52", "53", "101", "102").Replace(confDelayed[strings.Index(confDelayed, "vrrp_instance VI_2"):])); err != nil {
		t.Fatal(err)
	}
	r.wantState("VI_3", vrrp.Backup)
	r.advance(10*time.Second - time.Millisecond - r.now.Sub(start))
	for _, name := range []string{"VI_1", "VI_2", "VI_3"} {
		r.wantState(name, vrrp.Backup)
	}
	if len(env.vips) != 0 || slices.ContainsFunc(env.ports, func(p *fakePort) bool { return p.announced != 0 }) {
		t.Fatalf("during the delay: VIPs %v, bursts", env.vips)
	}
	if slices.ContainsFunc(r.notes.got, func(s string) bool { return strings.HasSuffix(s, " MASTER") }) {
		t.Fatalf("notify_master during the delay: %v", r.notes.got)
	}

	r.advance(time.Millisecond)
	r.wantState("VI_1", vrrp.Master)
	if !env.holds("eth0", "192.0.2.100") || !slices.Contains(r.notes.got, "VI_1 MASTER") {
		t.Fatalf("owner at the end of the delay: VIPs %v, notes %v", env.vips, r.notes.got)
	}
	if reason := r.inst("VI_1").status.Reason; !strings.Contains(reason, "startup delay") {
		t.Errorf("owner's transition reason %q", reason)
	}
	mdi := vrrp.MasterDownInterval(vrrp.V2, 100, time.Second)
	r.advance(mdi - time.Millisecond)
	r.wantState("VI_2", vrrp.Backup)
	r.wantState("VI_3", vrrp.Backup)
	r.advance(time.Millisecond)
	r.wantState("VI_2", vrrp.Master)
	r.wantState("VI_3", vrrp.Master)
}

// vrrp_delay_after_boot: a system up for hours has no delay.
func TestDelayAfterBootLongUp(t *testing.T) {
	up, err := systemUptime()
	if err != nil {
		t.Fatal(err)
	}
	if up < 2*time.Second {
		t.Skip("the system booted less than 2 s ago")
	}
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, strings.Replace(confDelayed, "vrrp_startup_delay 10", "vrrp_delay_after_boot 1", 1))
	r.wantState("VI_1", vrrp.Master)
}

// RFC 9568 §6.4.3 with keepalived's garp_lower_prio_repeat: a master that
// hears a router it outranks answers with an advert and a gratuitous
// burst of garp_lower_prio_repeat messages (by default the global
// vrrp_garp_master_repeat), at most one burst per second; strict mode
// does neither.
func TestLowerPriorityAdvertAnswered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		extra  string // lines in the instance
		global string // lines in global_defs
		advert bool
		repeat int // 0: no burst
	}{
		{"defaults", "", "", true, config.DefaultGarpMasterRepeat},
		{"global master repeat", "", "vrrp_garp_master_repeat 3", true, 3},
		{"garp_lower_prio_repeat", "garp_lower_prio_repeat 2", "", true, 2},
		{"off", "garp_lower_prio_repeat 0", "", true, 0},
		{"lower_prio_no_advert", "lower_prio_no_advert", "", false, config.DefaultGarpMasterRepeat},
		{"strict", "", "vrrp_strict", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newFakeEnv()
			env.addLink("eth0", "192.0.2.1")
			conf := "global_defs {\n" + tc.global + "\n}\n" + strings.Replace(confMaster, "priority 150", "priority 150\n"+tc.extra, 1)
			r := newRig(t, env, conf)
			r.advance(4 * time.Second)
			r.wantState("VI_1", vrrp.Master)
			port := r.env.ports[len(r.env.ports)-1]
			sent, bursts := len(port.sent), len(port.bursts)

			r.handle(r.peerAdvert("VI_1", 100, "192.0.2.2"))
			r.wantState("VI_1", vrrp.Master)
			if answered := len(port.sent) > sent; answered != tc.advert {
				t.Errorf("advert answered %v, want %v", answered, tc.advert)
			}
			got := port.bursts[bursts:]
			if tc.repeat == 0 {
				if len(got) != 0 {
					t.Fatalf("bursts %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Repeat != tc.repeat {
				t.Fatalf("bursts %+v, want one of %d", got, tc.repeat)
			}
			// Another within the second: deferred to its end.
			r.advance(200 * time.Millisecond)
			r.handle(r.peerAdvert("VI_1", 100, "192.0.2.2"))
			if len(port.bursts) != bursts+1 {
				t.Fatalf("%d bursts 200 ms later, want the deferred one only", len(port.bursts)-bursts)
			}
			r.advance(800 * time.Millisecond)
			if len(port.bursts) != bursts+2 || port.bursts[bursts+1].Repeat != tc.repeat {
				t.Fatalf("bursts %+v after the gap, want a second of %d", port.bursts[bursts:], tc.repeat)
			}
		})
	}
}
