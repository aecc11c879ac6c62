package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// Reload against a live peer (issue 8, "Signals and reload"): r1 is an
// xvrrpd master of two instances, r2 the peer (xvrrpd or keepalived 2.2.7)
// their backup. Each step rewrites r1's keepalived.conf and reloads it
// (SIGHUP for an xvrrpd peer, `xvrrpctl reload` for the keepalived one),
// then checks the wire and both nodes:
//   - unchanged instances: no transition anywhere, no advert gap on the
//     wire beyond 1.5 × advert_int;
//   - a priority change below the peer's: the peer takes over, as if the
//     priority had always been lower (RFC 5798 §6.4.2), the other
//     instance undisturbed;
//   - a virtual_ipaddress_excluded added: on the master at once, no
//     transition;
//   - an instance removed: it resigns (priority 0), the peer takes over
//     within Skew_Time; an instance added starts;
//   - a broken configuration: refused, nothing changes.
func TestReloadLivePeer(t *testing.T) {
	testenv.RequireRoot(t)
	for _, peer := range []string{"xvrrpd", "keepalived"} {
		t.Run(peer, func(t *testing.T) { testReloadLivePeer(t, peer) })
	}
}

func testReloadLivePeer(t *testing.T, peer string) {
	if peer == "keepalived" {
		testenv.RequireCommand(t, "keepalived")
	}
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	const interval = 100 * time.Millisecond
	mk := func(vrid, prio int, vip netip.Addr) vrrpInstance {
		return vrrpInstance{VRID: vrid, Priority: prio, AdvertInt: "0.1", Version: 3, VIPs: []string{vip.String() + "/24"}}
	}
	// Different priorities on r1 tell the two instances apart on the wire.
	a1, b1 := mk(71, 150, l.VIP4(1)), mk(72, 140, l.VIP4(2))
	a2, b2 := mk(71, 100, l.VIP4(1)), mk(72, 100, l.VIP4(2))
	conf1 := keepalivedConf("r1", nil, a1, b1)
	r1 := startXvrrpd(t, n1.NS, "r1", conf1)
	conf2 := keepalivedConf("r2", nil, a2, b2)
	var r2 *xvrrpd
	var ka *keepalivedProc
	if peer == "xvrrpd" {
		r2 = startXvrrpd(t, n2.NS, "r2", conf2)
	} else {
		ka = startKeepalived(t, n2.NS, "r2", conf2)
	}
	wire := sniffToNode(t, l, n2)
	src := n1.Addr4()
	waitFor(t, 10*time.Second, "r1 master of both", func() bool {
		return r1.State("VI_71") == "MASTER" && r1.State("VI_72") == "MASTER" &&
			hasVIP(t, n1.NS, ifName, l.VIP4(1)) && hasVIP(t, n1.NS, ifName, l.VIP4(2)) &&
			!hasVIP(t, n2.NS, ifName, l.VIP4(1)) && !hasVIP(t, n2.NS, ifName, l.VIP4(2))
	})
	if r2 != nil {
		waitFor(t, 5*time.Second, "r2 backup of both", func() bool {
			return r2.State("VI_71") == "BACKUP" && r2.State("VI_72") == "BACKUP"
		})
	}
	peerTransitions := func() uint64 {
		if r2 == nil {
			return 0
		}
		return r2.Status(t).Transitions
	}
	reloads := uint64(0)
	reload := func(conf string) {
		t.Helper()
		if err := os.WriteFile(r1.Conf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if peer == "xvrrpd" {
			if err := r1.proc.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		} else {
			out, err := r1.ns.Exec(t.Context(), xvrrpctlPath(t), "--run-dir", r1.RunDir, "reload").CombinedOutput()
			if err != nil && !strings.Contains(conf, "broken") {
				t.Fatalf("xvrrpctl reload: %v: %s", err, out)
			}
		}
	}
	waitReloaded := func() {
		t.Helper()
		reloads++
		waitFor(t, 5*time.Second, fmt.Sprintf("reload %d applied", reloads), func() bool {
			return r1.Status(t).Reloads == reloads
		})
	}
	gap := func(prio uint8, from, to time.Time) time.Duration {
		var last time.Time
		worst := time.Duration(0)
		for _, s := range wire.All(from, func(s kaSeen) bool { return s.Src == src && s.Prio == prio }) {
			if s.At.After(to) {
				break
			}
			if !last.IsZero() && s.At.Sub(last) > worst {
				worst = s.At.Sub(last)
			}
			last = s.At
		}
		return worst
	}

	// 1. Unchanged (lines moved, a comment): nothing happens on any peer.
	time.Sleep(500 * time.Millisecond)
	t1, p1 := r1.Status(t).Transitions, peerTransitions()
	before := time.Now()
	reload("# reloaded unchanged\n\n" + conf1)
	waitReloaded()
	time.Sleep(700 * time.Millisecond)
	after := time.Now()
	for _, prio := range []uint8{150, 140} {
		g := gap(prio, before.Add(-300*time.Millisecond), after)
		t.Logf("RELOAD peer=%s step=unchanged prio=%d max_advert_gap_ms=%.1f", peer, prio, float64(g)/float64(time.Millisecond))
		if g == 0 || g > interval*3/2 {
			t.Errorf("advert gap of priority %d around an unchanged reload: %v (want ≤ %v)", prio, g, interval*3/2)
		}
	}
	if got := r1.Status(t).Transitions; got != t1 {
		t.Errorf("r1 made %d transitions on an unchanged reload", got-t1)
	}
	if got := peerTransitions(); got != p1 {
		t.Errorf("the peer made %d transitions on r1's unchanged reload", got-p1)
	}
	if hasVIP(t, n2.NS, ifName, l.VIP4(1)) || hasVIP(t, n2.NS, ifName, l.VIP4(2)) {
		t.Fatal("the peer took a VIP on an unchanged reload")
	}

	// 2. An excluded VIP added to VI_72: on r1 at once, no transition.
	extra := l.VIP4(9)
	b1x := b1
	b1x.Extra = []string{"virtual_ipaddress_excluded {\n        " + extra.String() + "/32\n    }"}
	t2 := r1.Status(t).Transitions
	reload(keepalivedConf("r1", nil, a1, b1x))
	waitReloaded()
	waitFor(t, 2*time.Second, "excluded VIP added", func() bool { return hasVIP(t, n1.NS, ifName, extra) })
	if got := r1.Status(t).Transitions; got != t2 {
		t.Errorf("a VIP change made %d transitions", got-t2)
	}

	// 3. VI_71's priority below the peer's: the peer takes over VI_71;
	// VI_72 stays on r1.
	a1low := a1
	a1low.Priority = 90
	changed := time.Now()
	reload(keepalivedConf("r1", nil, a1low, b1x))
	waitReloaded()
	waitFor(t, 3*time.Second, "the peer master of VI_71", func() bool {
		return hasVIP(t, n2.NS, ifName, l.VIP4(1)) && !hasVIP(t, n1.NS, ifName, l.VIP4(1))
	})
	t.Logf("RELOAD peer=%s step=priority takeover_ms=%d", peer, time.Since(changed).Milliseconds())
	if r1.State("VI_71") != "BACKUP" || r1.State("VI_72") != "MASTER" || !hasVIP(t, n1.NS, ifName, l.VIP4(2)) {
		t.Fatalf("after the priority change: VI_71 %s VI_72 %s", r1.State("VI_71"), r1.State("VI_72"))
	}

	// 4. VI_72 removed, VI_73 added: VI_72 resigns, the peer takes it
	// within Skew_Time (+ slack); VI_73 starts on r1.
	c1 := mk(73, 150, l.VIP4(3))
	removed := time.Now()
	reload(keepalivedConf("r1", nil, a1low, c1))
	waitReloaded()
	waitFor(t, 2*time.Second, "the peer master of VI_72", func() bool {
		return hasVIP(t, n2.NS, ifName, l.VIP4(2)) && !hasVIP(t, n1.NS, ifName, l.VIP4(2))
	})
	t.Logf("RELOAD peer=%s step=removed peer_takeover_ms=%d", peer, time.Since(removed).Milliseconds())
	if hasVIP(t, n1.NS, ifName, extra) {
		t.Error("the removed instance's excluded VIP is still on r1")
	}
	waitFor(t, 3*time.Second, "added VI_73 master on r1", func() bool {
		return r1.State("VI_73") == "MASTER" && hasVIP(t, n1.NS, ifName, l.VIP4(3))
	})

	// 5. A broken configuration: refused, the daemon runs on unchanged.
	st := r1.Status(t)
	reload("vrrp_instance broken {\n  virtual_router_id 999\n")
	waitFor(t, 3*time.Second, "the broken reload refused", func() bool {
		return r1.Status(t).ReloadErrors == st.ReloadErrors+1
	})
	holdFor(t, 500*time.Millisecond, "r1 unchanged after a refused reload", func() bool {
		return !r1.Exited() && r1.State("VI_73") == "MASTER" && r1.State("VI_71") == "BACKUP" &&
			hasVIP(t, n1.NS, ifName, l.VIP4(3))
	})
	if ka != nil && !pidAlive(ka.vrrpPid) {
		t.Fatal("keepalived peer died")
	}
}

// TestReload255 reloads an unchanged configuration of 255 VRRPv3
// instances at advert_int 0.05 on the master of a live xvrrpd pair: the
// reload must be applied within one advert interval (the daemon logs how
// long it took) and no instance on either node may make a transition.
func TestReload255(t *testing.T) {
	testenv.RequireRoot(t)
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	const n = 255
	const interval = 50 * time.Millisecond
	conf := func(router string, prio int) string {
		var insts []vrrpInstance
		for vrid := 1; vrid <= n; vrid++ {
			insts = append(insts, vrrpInstance{VRID: vrid, Priority: prio, AdvertInt: "0.05", Version: 3,
				VIPs: []string{fmt.Sprintf("198.18.%d.%d/32", vrid/256, vrid%256)}})
		}
		return keepalivedConf(router, nil, insts...)
	}
	conf1 := conf("r1", 150)
	r1 := startXvrrpd(t, n1.NS, "r1", conf1, "--log-level", "info")
	r2 := startXvrrpd(t, n2.NS, "r2", conf("r2", 100), "--log-level", "info")
	count := func(x *xvrrpd, state string) int {
		st, err := x.QueryStatus()
		if err != nil {
			return -1
		}
		c := 0
		for _, in := range st.Instances {
			if in.State == state {
				c++
			}
		}
		return c
	}
	waitFor(t, 20*time.Second, "r1 master of 255, r2 backup of 255", func() bool {
		return count(r1, "MASTER") == n && count(r2, "BACKUP") == n
	})
	time.Sleep(time.Second)
	t1, t2 := r1.Status(t).Transitions, r2.Status(t).Transitions
	if err := os.WriteFile(r1.Conf, []byte("# unchanged\n"+conf1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r1.proc.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the reload applied", func() bool { return r1.Status(t).Reloads == 1 })
	time.Sleep(time.Second)
	took := time.Duration(-1)
	for _, line := range strings.Split(r1.LogText(), "\n") {
		if !strings.Contains(line, "reload applied") {
			continue
		}
		// zap's console encoder writes a duration as seconds.
		if i := strings.Index(line, `"took": `); i >= 0 {
			rest := line[i+len(`"took": `):]
			if f, err := strconv.ParseFloat(rest[:strings.IndexAny(rest, ",}")], 64); err == nil {
				took = time.Duration(f * float64(time.Second))
			}
		}
	}
	t.Logf("RELOAD instances=%d took_ms=%.2f interval_ms=%d", n, float64(took)/float64(time.Millisecond), interval.Milliseconds())
	if took < 0 {
		t.Fatalf("no \"reload applied\" line with its duration in the log")
	}
	if took > interval {
		t.Errorf("reload of %d instances took %v, more than one advert interval (%v)", n, took, interval)
	}
	if got := r1.Status(t).Transitions; got != t1 {
		t.Errorf("r1 made %d transitions on an unchanged reload", got-t1)
	}
	if got := r2.Status(t).Transitions; got != t2 {
		t.Errorf("r2 made %d transitions on r1's unchanged reload", got-t2)
	}
}
