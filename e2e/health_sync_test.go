package e2e

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// TestHealthSyncGroup runs a vrrp_sync_group of two instances on two
// interfaces (VI_A on eth0, VI_B on eth1, each on its own bridge). When the
// master's eth1 goes down, VI_B faults (its own interface is tracked) and
// the group takes VI_A into FAULT with it: the backup node ends up holding
// both VIPs. The group's notify script reports the group's states on both
// nodes. When eth1 comes back, both instances return to the first node.
// Reference: RFC 5798 §6.4.3 (leaving master: priority-0 advert), §6.4.2;
// the sync group itself is keepalived's.
func TestHealthSyncGroup(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	sub := healthSecondLAN(t, l, "eth1")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vipA := l.VIP4(1)
	b := sub.Addr().As4()
	b[3] = 201
	vipB := netip.AddrFrom4(b)
	type node struct {
		x   *xvrrpd
		out string // the group notify script's output
	}
	start := func(router, state string, prio int) node {
		script, out := healthNotifyScript(t)
		a := vrrpInstance{Name: "VI_A", State: state, VRID: 51, Priority: prio, AdvertInt: "0.1", Version: 3,
			VIPs: []string{vipA.String() + "/24"}}
		bi := vrrpInstance{Name: "VI_B", State: state, Interface: "eth1", VRID: 52, Priority: prio, AdvertInt: "0.1", Version: 3,
			VIPs: []string{vipB.String() + "/24"}}
		group := "vrrp_sync_group G1 {\n    group {\n        VI_A\n        VI_B\n    }\n    notify \"" + script + "\"\n}\n"
		nd := l.Node(t, router)
		return node{x: startXvrrpd(t, nd.NS, router, healthConf(router, nil, []string{group}, a, bi)), out: out}
	}
	// The master first, alone, so that the backup starts hearing it and
	// its group notifications start with BACKUP alone.
	both := func(x *xvrrpd, state string) bool { return x.State("VI_A") == state && x.State("VI_B") == state }
	r1 := start("r1", "MASTER", 101)
	waitFor(t, 5*time.Second, "r1 MASTER of both", func() bool { return both(r1.x, "MASTER") })
	r2 := start("r2", "BACKUP", 100)
	on1 := func() bool {
		return hasVIP(t, n1.NS, ifName, vipA) && hasVIP(t, n1.NS, "eth1", vipB) &&
			!hasVIP(t, n2.NS, ifName, vipA) && !hasVIP(t, n2.NS, "eth1", vipB)
	}
	on2 := func() bool {
		return hasVIP(t, n2.NS, ifName, vipA) && hasVIP(t, n2.NS, "eth1", vipB) &&
			!hasVIP(t, n1.NS, ifName, vipA) && !hasVIP(t, n1.NS, "eth1", vipB)
	}
	waitFor(t, 5*time.Second, "r1 MASTER of both with both VIPs, r2 BACKUP of both", func() bool {
		return both(r1.x, "MASTER") && both(r2.x, "BACKUP") && on1()
	})

	t0 := time.Now()
	setLinkDown(t, n1.NS, "eth1")
	bound := masterDownInterval(100*time.Millisecond, 100) + time.Second
	waitFor(t, bound, "r1 FAULT in both, r2 MASTER of both with both VIPs", func() bool {
		return both(r1.x, "FAULT") && both(r2.x, "MASTER") && on2()
	})
	t.Logf("sync group: r1 eth1 down → r2 holds both VIPs: %v (bound %v)", time.Since(t0).Round(time.Millisecond), bound)
	holdFor(t, 300*time.Millisecond, "the group staying on r2", func() bool {
		return both(r1.x, "FAULT") && both(r2.x, "MASTER") && on2()
	})
	groupLines := func(states ...string) []string {
		var out []string
		for _, s := range states {
			out = append(out, "GROUP G1 "+s+" 0")
		}
		return out
	}
	check := func(what string, nd node, want []string) {
		t.Helper()
		waitFor(t, 2*time.Second, what, func() bool { return len(healthLines(t, nd.out)) >= len(want) })
		if got := healthLines(t, nd.out); !slices.Equal(got, want) {
			t.Errorf("%s:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// One line per group transition (not one per member), in order.
	check("r1 group notify after eth1 down", r1, groupLines("BACKUP", "MASTER", "FAULT"))
	check("r2 group notify after r1's eth1 down", r2, groupLines("BACKUP", "MASTER"))

	setLinkUp(t, n1.NS, "eth1")
	waitFor(t, 5*time.Second, "r1 MASTER of both with both VIPs again, r2 BACKUP of both", func() bool {
		return both(r1.x, "MASTER") && both(r2.x, "BACKUP") && on1()
	})
	check("r1 group notify after eth1 up", r1, groupLines("BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"))
	check("r2 group notify after r1's eth1 up", r2, groupLines("BACKUP", "MASTER", "BACKUP"))
}
