package e2e

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// pairV2 is the classic keepalived pair: MASTER 101 / BACKUP 100, VRRPv2,
// auth_type PASS, advert_int 1, one IPv4 VIP.
func pairV2(l *lan, vrid int) (master, backup vrrpInstance) {
	base := vrrpInstance{
		VRID:      vrid,
		AdvertInt: "1",
		Version:   2,
		AuthPass:  "e2e-pass",
		VIPs:      []string{l.VIP4(1).String() + "/24"},
	}
	master, backup = base, base
	master.State, master.Priority = "MASTER", 101
	backup.State, backup.Priority = "BACKUP", 100
	return master, backup
}

// startPair starts the pairV2 configuration on nodes r1 (master) and r2
// (backup) of l and waits until r1 holds the VIP and r2 is BACKUP.
func startPair(t *testing.T, l *lan, m, b vrrpInstance) (r1, r2 *xvrrpd) {
	t.Helper()
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	r1 = startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, m))
	r2 = startXvrrpd(t, n2.NS, "r2", keepalivedConf("r2", nil, b))
	vip := netip.MustParsePrefix(m.VIPs[0]).Addr()
	name := instanceName(m)
	waitFor(t, 10*time.Second, "r1 MASTER with the VIP and r2 BACKUP", func() bool {
		return r1.State(name) == "MASTER" && r2.State(name) == "BACKUP" && hasVIP(t, n1.NS, ifName, vip)
	})
	return r1, r2
}

// TestElectionV2 checks that the higher priority wins, only the master holds
// the VIP and the client reaches the VIP at the master's MAC.
// Reference: RFC 3768 §6.4.1, §6.4.3 (higher priority preempts), §8.1.2
// (only the master answers ARP for the VIP).
func TestElectionV2(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 51)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)

	holdFor(t, 1500*time.Millisecond, "r1 master and only r1 holding the VIP", func() bool {
		return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
	})
	in1, in2 := r1.Instance(t, "VI_51"), r2.Instance(t, "VI_51")
	if !in1.HoldsVIPs || in2.HoldsVIPs {
		t.Errorf("holds_vips: r1 %v r2 %v, want true false", in1.HoldsVIPs, in2.HoldsVIPs)
	}
	if in2.Master != n1.Addr4().String() {
		t.Errorf("r2 sees master %q, want %v", in2.Master, n1.Addr4())
	}
	if err := l.Client.Ping(vip, 5, time.Second); err != nil {
		t.Fatalf("client ping %v: %v", vip, err)
	}
	if mac := neighbourMAC(t, l.Client.NS, ifName, vip); mac.String() != n1.Link.HardwareAddr.String() {
		t.Errorf("client's neighbour entry for %v is %v, want r1's MAC %v", vip, mac, n1.Link.HardwareAddr)
	}
}
