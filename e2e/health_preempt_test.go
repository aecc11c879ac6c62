package e2e

import (
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// TestHealthPreemptWithTracking pins down nopreempt and preempt_delay when
// a weighted check lowers the master's priority below the backup's
// (keepalived's semantics): with nopreempt the backup leaves the
// lower-priority master alone; with preempt_delay it takes over, but not
// before the delay has run from the first lower-priority advert.
// Reference: RFC 5798 §6.4.2 (Preempt_Mode false: accept a lower-priority
// advert), keepalived.conf(5) nopreempt, preempt_delay.
func TestHealthPreemptWithTracking(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	const advert = 100 * time.Millisecond
	run := func(t *testing.T, backupExtra []string, backupNoPreempt bool) (*lan, *xvrrpd, *xvrrpd, *healthFlag) {
		l := newLAN(t, "r1", "r2")
		n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
		vip := l.VIP4(1)
		f1, f2 := newHealthFlag(t), newHealthFlag(t)
		conf := func(router string, prio int, f *healthFlag, noPreempt bool, extra []string) string {
			s := healthScript{Name: "chk", Script: f.Script, Interval: "1", Weight: -20, Fall: 2, Rise: 2}
			in := vrrpInstance{Name: "VI_1", State: "BACKUP", VRID: 61, Priority: prio, AdvertInt: "0.1", Version: 3,
				VIPs: []string{vip.String() + "/24"}, NoPreempt: noPreempt,
				Extra: append(healthTrackScript("chk"), extra...)}
			return healthConf(router, nil, []string{healthScriptConf(s)}, in)
		}
		// r1 (110) starts alone and becomes master; then r2 (100).
		r1 := startXvrrpd(t, n1.NS, "r1", conf("r1", 110, f1, true, nil))
		waitFor(t, 5*time.Second, "r1 master alone", func() bool { return r1.State("VI_1") == "MASTER" })
		r2 := startXvrrpd(t, n2.NS, "r2", conf("r2", 100, f2, backupNoPreempt, backupExtra))
		waitFor(t, 5*time.Second, "r2 backup of r1", func() bool {
			return r2.State("VI_1") == "BACKUP" && hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
		})
		return l, r1, r2, f1
	}

	t.Run("nopreempt", func(t *testing.T) {
		t.Parallel()
		l, r1, r2, f1 := run(t, nil, true)
		n1, n2, vip := l.Node(t, "r1"), l.Node(t, "r2"), l.VIP4(1)
		f1.Fail(t)
		waitFor(t, 3*time.Second, "r1's priority down to 90", func() bool { return r1.Instance(t, "VI_1").Priority == 90 })
		// Well past r2's Master_Down_Interval (0.36 s): with preemption it
		// would have taken over by now.
		holdFor(t, 2*time.Second, "r1 master at 90 with the VIP, r2 backup at 100", func() bool {
			return r1.State("VI_1") == "MASTER" && r2.State("VI_1") == "BACKUP" &&
				hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
		})
	})

	t.Run("preempt_delay", func(t *testing.T) {
		t.Parallel()
		const delay = 2 * time.Second
		l, r1, r2, f1 := run(t, []string{"preempt_delay 2"}, false)
		n2, vip := l.Node(t, "r2"), l.VIP4(1)
		f1.Fail(t)
		waitFor(t, 3*time.Second, "r1's priority down to 90", func() bool { return r1.Instance(t, "VI_1").Priority == 90 })
		lowered := time.Now()
		took := waitFor(t, delay+3*time.Second, "r2 to preempt after preempt_delay", func() bool {
			return r2.State("VI_1") == "MASTER" && hasVIP(t, n2.NS, ifName, vip)
		})
		t.Logf("preempt_delay %v: r2 took over %v after r1's priority fell", delay, took.Round(time.Millisecond))
		// The delay starts at r2's first lower-priority advert, at most one
		// advert interval and one status poll after the change was seen.
		if elapsed := time.Since(lowered); elapsed < delay-advert-100*time.Millisecond {
			t.Errorf("r2 preempted %v after r1's priority fell, before preempt_delay %v", elapsed, delay)
		}
		waitFor(t, 2*time.Second, "r1 back to BACKUP", func() bool { return r1.State("VI_1") == "BACKUP" })
	})
}
