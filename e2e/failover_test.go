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

// TestFailoverSigkill kills the master (SIGKILL, link down): the backup takes
// the VIP within Master_Down_Interval (+500 ms slack) and announces it with a
// gratuitous ARP from its own MAC, which the client sees.
// Reference: RFC 3768 §6.4.2 (Master_Down_Timer fires: become master, send
// gratuitous ARP for each VIP), §6.1 Master_Down_Interval.
func TestFailoverSigkill(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 51)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	garp := captureARP(t, l.Client.NS, ifName)

	mdi := masterDownInterval(time.Second, 100)
	start := time.Now()
	r1.Kill()
	setLinkDown(t, n1.NS, ifName)
	waitFor(t, mdi+500*time.Millisecond, "r2 to take the VIP", func() bool {
		return hasVIP(t, n2.NS, ifName, vip)
	})
	took := time.Since(start)
	t.Logf("takeover after SIGKILL: %v (Master_Down_Interval %v)", took.Round(time.Millisecond), mdi)
	// The VIP is added just before the status shows the transition.
	waitFor(t, time.Second, "r2 reporting MASTER after the takeover", func() bool { return r2.State("VI_51") == "MASTER" })
	waitFor(t, 2*time.Second, "a gratuitous ARP for the VIP from r2's MAC at the client", func() bool {
		return len(garp.Gratuitous(vip, n2.Link.HardwareAddr)) > 0
	})
	if err := l.Client.Ping(vip, 5, time.Second); err != nil {
		t.Fatalf("client ping %v after failover: %v", vip, err)
	}
	if mac := neighbourMAC(t, l.Client.NS, ifName, vip); mac.String() != n2.Link.HardwareAddr.String() {
		t.Errorf("client's neighbour entry for %v is %v, want r2's MAC %v", vip, mac, n2.Link.HardwareAddr)
	}
}

// TestFailoverSigterm stops the master with SIGTERM: it exits 0 within 1 s
// after removing its VIP and sending a priority-0 advert, so the backup takes
// over after Skew_Time (0.61 s), well before Master_Down_Interval (3.6 s).
// Reference: RFC 3768 §6.4.3 (Shutdown: send an advert with priority 0),
// §6.4.2 (priority 0 received: Master_Down_Timer = Skew_Time).
func TestFailoverSigterm(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 51)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)

	start := time.Now()
	err := r1.Term()
	exited := time.Since(start)
	if err != nil {
		t.Errorf("r1 exit after SIGTERM: %v, want status 0", err)
	}
	if exited > time.Second {
		t.Errorf("r1 took %v to exit after SIGTERM, want < 1 s", exited)
	}
	if hasVIP(t, n1.NS, ifName, vip) {
		t.Errorf("r1 still holds %v after exiting", vip)
	}
	waitFor(t, 3*time.Second, "r2 to take the VIP", func() bool {
		return hasVIP(t, n2.NS, ifName, vip)
	})
	took := time.Since(start)
	t.Logf("SIGTERM: exit after %v, takeover after %v (Skew_Time 0.61 s)", exited.Round(time.Millisecond), took.Round(time.Millisecond))
	if took >= 1500*time.Millisecond {
		t.Errorf("takeover after SIGTERM took %v, want < 1.5 s (priority 0 advert → Skew_Time)", took)
	}
	// The VIP is added just before the status shows the transition.
	waitFor(t, time.Second, "r2 reporting MASTER after the takeover", func() bool { return r2.State("VI_51") == "MASTER" })
}

// TestPreemptBack restarts a killed master: with preemption on (the default)
// it takes the VIP back from the backup.
// Reference: RFC 3768 §6.4.3 (a master receiving a higher priority advert
// becomes backup), §6.4.2 (Preempt_Mode true).
func TestPreemptBack(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 51)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)

	r1.Kill()
	setLinkDown(t, n1.NS, ifName)
	waitFor(t, masterDownInterval(time.Second, 100)+500*time.Millisecond, "r2 to take the VIP", func() bool {
		return hasVIP(t, n2.NS, ifName, vip)
	})
	setLinkUp(t, n1.NS, ifName)
	// The leftover VIP r1 held when killed is removed at start.
	r1 = startXvrrpd(t, n1.NS, "r1-again", keepalivedConf("r1", nil, m))
	took := waitFor(t, 5*time.Second, "the VIP back on r1 and off r2", func() bool {
		return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
	})
	t.Logf("returning master took the VIP back after %v", took.Round(time.Millisecond))
	waitFor(t, 2*time.Second, "r1 MASTER, r2 BACKUP", func() bool {
		return r1.State("VI_51") == "MASTER" && r2.State("VI_51") == "BACKUP"
	})
}

// TestNoPreempt: both routers start BACKUP with nopreempt (keepalived
// ignores nopreempt with state MASTER). After the higher priority router was
// killed and the lower one took over, the returning higher priority router
// stays backup.
// Reference: RFC 3768 §6.4.2 (Preempt_Mode false: a lower priority master is
// not preempted).
func TestNoPreempt(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 52)
	m.State, b.State = "BACKUP", "BACKUP"
	m.NoPreempt, b.NoPreempt = true, true
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)

	// r1 starts alone and becomes master: with nopreempt on both, whoever
	// is master first stays master, and two simultaneous starts differ by
	// only 4 ms of Skew_Time.
	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, m))
	waitFor(t, 10*time.Second, "r1 master alone", func() bool { return r1.State("VI_52") == "MASTER" })
	r2 := startXvrrpd(t, n2.NS, "r2", keepalivedConf("r2", nil, b))
	waitFor(t, 10*time.Second, "r1 (priority 101) elected", func() bool {
		return r1.State("VI_52") == "MASTER" && r2.State("VI_52") == "BACKUP" && hasVIP(t, n1.NS, ifName, vip)
	})
	r1.Kill()
	setLinkDown(t, n1.NS, ifName)
	waitFor(t, masterDownInterval(time.Second, 100)+500*time.Millisecond, "r2 to take the VIP", func() bool {
		return hasVIP(t, n2.NS, ifName, vip)
	})
	setLinkUp(t, n1.NS, ifName)
	r1 = startXvrrpd(t, n1.NS, "r1-again", keepalivedConf("r1", nil, m))
	waitFor(t, 5*time.Second, "restarted r1 BACKUP", func() bool { return r1.State("VI_52") == "BACKUP" })
	// Longer than r1's Master_Down_Interval: had it ignored nopreempt, it
	// would have taken over by now.
	holdFor(t, masterDownInterval(time.Second, 101)+1500*time.Millisecond, "r2 master with the VIP, r1 backup without", func() bool {
		return hasVIP(t, n2.NS, ifName, vip) && !hasVIP(t, n1.NS, ifName, vip) &&
			r1.State("VI_52") == "BACKUP" && r2.State("VI_52") == "MASTER"
	})
}

// TestPreemptDelay: a higher priority router joining a lower priority master
// waits preempt_delay before preempting it (keepalived: state BACKUP needed).
// Reference: RFC 3768 §6.4.2 preemption, delayed as keepalived's
// preempt_delay does.
func TestPreemptDelay(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	const delay = 3 * time.Second
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 53)
	m.State, m.PreemptDelay = "BACKUP", "3"
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)

	r2 := startXvrrpd(t, n2.NS, "r2", keepalivedConf("r2", nil, b))
	waitFor(t, 10*time.Second, "r2 MASTER alone", func() bool {
		return r2.State("VI_53") == "MASTER" && hasVIP(t, n2.NS, ifName, vip)
	})
	start := time.Now()
	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, m))
	// As in keepalived, the delay starts at the first lower priority advert
	// (up to advert_int after start); once it has passed, r1 ignores r2's
	// adverts and its Master_Down_Timer (3.6 s) runs out. So the takeover
	// comes between delay+MDI-advert_int and advert_int+delay+MDI.
	mdi := masterDownInterval(time.Second, 101)
	limit := time.Second + delay + mdi + 500*time.Millisecond
	waitFor(t, limit, "r1 to preempt r2", func() bool {
		return hasVIP(t, n1.NS, ifName, vip)
	})
	took := time.Since(start)
	t.Logf("preemption %v after r1 started (preempt_delay %v, Master_Down_Interval %v)", took.Round(time.Millisecond), delay, mdi)
	if took < delay-500*time.Millisecond {
		t.Errorf("r1 preempted after %v, before preempt_delay %v (-500 ms)", took, delay)
	}
	waitFor(t, 2*time.Second, "r2 to give up the VIP", func() bool {
		return !hasVIP(t, n2.NS, ifName, vip) && r2.State("VI_53") == "BACKUP" && r1.State("VI_53") == "MASTER"
	})
}
