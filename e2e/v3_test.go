package e2e

import (
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// TestV3FastFailover runs two VRRPv3 instances at advert_int 0.1 s, one
// IPv4 and one IPv6 (adverts from link-local sources), between two xvrrpd:
// the higher priority is elected for both and, after SIGKILL and link down,
// the backup takes both VIPs within Master_Down_Interval (0.36 s) + 500 ms.
// Reference: RFC 5798 §6.1 (centisecond intervals, Skew_Time scaled by the
// interval), §5.1.2.1 (IPv6 source is the link-local address), §6.4.2.
func TestV3FastFailover(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip4, vip6 := l.VIP4(1), l.VIP6(2)
	v4 := vrrpInstance{Name: "V4", VRID: 61, Version: 3, AdvertInt: "0.1", VIPs: []string{vip4.String() + "/24"}}
	v6 := vrrpInstance{Name: "V6", VRID: 62, Version: 3, AdvertInt: "0.1", VIPs: []string{vip6.String() + "/64"}}
	conf := func(router, state string, prio int) string {
		a, b := v4, v6
		a.State, a.Priority, b.State, b.Priority = state, prio, state, prio
		return keepalivedConf(router, nil, a, b)
	}
	r1 := startXvrrpd(t, n1.NS, "r1", conf("r1", "MASTER", 101))
	r2 := startXvrrpd(t, n2.NS, "r2", conf("r2", "BACKUP", 100))
	waitFor(t, 5*time.Second, "r1 MASTER of V4 and V6 with both VIPs, r2 BACKUP", func() bool {
		return r1.State("V4") == "MASTER" && r1.State("V6") == "MASTER" &&
			r2.State("V4") == "BACKUP" && r2.State("V6") == "BACKUP" &&
			hasVIP(t, n1.NS, ifName, vip4) && hasVIP(t, n1.NS, ifName, vip6)
	})
	holdFor(t, time.Second, "only r1 holding the VIPs", func() bool {
		return hasVIP(t, n1.NS, ifName, vip4) && hasVIP(t, n1.NS, ifName, vip6) &&
			!hasVIP(t, n2.NS, ifName, vip4) && !hasVIP(t, n2.NS, ifName, vip6)
	})
	if got := r2.Instance(t, "V6").Master; got != n1.Link.LinkLocal.String() {
		t.Errorf("r2 sees IPv6 master %q, want r1's link-local %v", got, n1.Link.LinkLocal)
	}
	if got := r2.Instance(t, "V4").Master; got != n1.Addr4().String() {
		t.Errorf("r2 sees IPv4 master %q, want %v", got, n1.Addr4())
	}
	if err := l.Client.Ping(vip4, 5, time.Second); err != nil {
		t.Errorf("client ping %v: %v", vip4, err)
	}
	if err := l.Client.Ping(vip6, 5, time.Second); err != nil {
		t.Errorf("client ping %v: %v", vip6, err)
	}

	mdi := masterDownInterval(100*time.Millisecond, 100)
	start := time.Now()
	r1.Kill()
	setLinkDown(t, n1.NS, ifName)
	waitFor(t, mdi+500*time.Millisecond, "r2 to take both VIPs", func() bool {
		return hasVIP(t, n2.NS, ifName, vip4) && hasVIP(t, n2.NS, ifName, vip6)
	})
	t.Logf("v3 takeover after SIGKILL: %v (Master_Down_Interval %v)", time.Since(start).Round(time.Millisecond), mdi)
	waitFor(t, time.Second, "r2 MASTER of both", func() bool {
		return r2.State("V4") == "MASTER" && r2.State("V6") == "MASTER"
	})
	if err := l.Client.Ping(vip6, 5, time.Second); err != nil {
		t.Errorf("client ping %v after failover: %v", vip6, err)
	}
}
