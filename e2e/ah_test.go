package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// Interop with keepalived 2.2.7 for auth_type AH (VRRPv2 with the IPsec
// Authentication Header, RFC 2338 §5.3.6.3, HMAC-MD5-96 and keepalived's
// sequence numbers), as OpenStack neutron's L3 agent configures it: one
// xvrrpd and one keepalived on a bridge, multicast and unicast. xvrrpd
// receives and sends AH on raw sockets of protocol 51 on every dataplane
// (XVRRP_E2E_DATAPLANE), the BPF program passing them to the stack.

const ahInstance = "VI_AH"

// ahConf is a node's keepalived.conf for the AH pair: VRID 81, advert_int
// 1, auth_pass pass; unicast to other when unicast.
func ahConf(l *lan, self, other *netnstest.Node, state string, prio int, pass string, unicast bool) string {
	in := vrrpInstance{Name: ahInstance, State: state, VRID: 81, Priority: prio, AdvertInt: "1", Version: 2,
		Extra: []string{"authentication {", "    auth_type AH", "    auth_pass " + pass, "}"},
		VIPs:  []string{l.VIP4(8).String() + "/24"}}
	if unicast {
		in.UnicastSrc, in.UnicastPeers = self.Addr4().String(), []string{other.Addr4().String()}
	}
	return keepalivedConf("ah_"+self.NS.Name(), nil, in)
}

// ahRejectMarkers are keepalived 2.2's log lines for an AH advert it
// refuses (ICV, SPI, sequence number, AH header present or missing).
var ahRejectMarkers = []string{"IPSEC-AH : invalid", "IPSEC AH : invalid", "already processed", "AH header"}

// checkKeepalivedAccepted fails the test if keepalived logged that it
// refused an advert.
func checkKeepalivedAccepted(t *testing.T, k *keepalivedProc, when string) {
	t.Helper()
	for _, line := range strings.Split(k.Log(), "\n") {
		for _, m := range append(append([]string(nil), kaRejectMarkers...), ahRejectMarkers...) {
			if strings.Contains(line, m) {
				t.Errorf("%s: keepalived refused an advert: %s", when, line)
			}
		}
	}
}

// checkXvrrpdAccepted fails the test if xvrrpd dropped an advert (its own,
// looped back, aside) or accepted none.
func checkXvrrpdAccepted(t *testing.T, x *xvrrpd, when string) {
	t.Helper()
	st := x.Status(t)
	for reason, n := range st.Drops {
		if reason != "own_addr" && n > 0 {
			t.Errorf("%s: xvrrpd dropped %d adverts as %s (all drops %v)", when, n, reason, st.Drops)
		}
	}
	if st.Accepted == 0 {
		t.Errorf("%s: xvrrpd accepted no advert: %+v", when, st)
	}
}

func ahModes(t *testing.T, run func(t *testing.T, unicast bool)) {
	for _, unicast := range []bool{false, true} {
		name := "multicast"
		if unicast {
			name = "unicast"
		}
		t.Run(name, func(t *testing.T) { run(t, unicast) })
	}
}

// TestAHKeepalivedMaster: keepalived (150) is master, xvrrpd (100) stays
// BACKUP while it hears keepalived's AH adverts, accepting every one, and
// takes over Master_Down_Interval after keepalived is killed; keepalived,
// restarted, accepts xvrrpd's adverts (their sequence numbers continue
// above the ones xvrrpd accepted) and preempts.
// Reference: RFC 2338 §5.3.6.3; RFC 3768 §6.4.2 (Master_Down_Interval).
func TestAHKeepalivedMaster(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived")
	t.Parallel()
	ahModes(t, func(t *testing.T, unicast bool) {
		l := newLAN(t, "r1", "r2")
		n1, n2 := l.Nodes[0], l.Nodes[1]
		vip := l.VIP4(8)
		kconf := ahConf(l, n1, n2, "MASTER", 150, "neutron1", unicast)
		k := startKeepalived(t, n1.NS, "ka-1", kconf)
		// keepalived starts an AH instance as BACKUP (it wants a sequence
		// number first): master after Master_Down_Interval.
		waitFor(t, 10*time.Second, "keepalived master alone taking the VIP", func() bool { return hasVIP(t, n1.NS, ifName, vip) })
		x := startXvrrpd(t, n2.NS, "xv", ahConf(l, n2, n1, "BACKUP", 100, "neutron1", unicast))
		waitFor(t, 10*time.Second, "xvrrpd BACKUP knowing keepalived as master", func() bool {
			return x.State(ahInstance) == "BACKUP" && x.Instance(t, ahInstance).Master == n1.Addr4().String()
		})
		// Longer than Master_Down_Interval (3.6 s): a backup dropping the
		// master's adverts would have taken over.
		holdFor(t, 5*time.Second, "keepalived the only master, xvrrpd BACKUP", func() bool {
			return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip) && x.State(ahInstance) == "BACKUP"
		})
		checkXvrrpdAccepted(t, x, "steady state")
		checkKeepalivedAccepted(t, k, "steady state")
		if !strings.Contains(x.LogText(), "ipsec ah instances receive on a raw socket of protocol 51") {
			t.Error("xvrrpd did not log its AH receive socket")
		}

		start := time.Now()
		k.Kill()
		setLinkDown(t, n1.NS, ifName)
		mdi := masterDownInterval(time.Second, 100)
		waitFor(t, mdi+time.Second, "xvrrpd taking the VIP after keepalived was killed", func() bool { return hasVIP(t, n2.NS, ifName, vip) })
		// keepalived's last advert came up to advert_int before the kill.
		if took := time.Since(start); took < mdi-time.Second-100*time.Millisecond {
			t.Errorf("xvrrpd took over %v after the kill, sooner than Master_Down_Interval %v after keepalived's last advert", took, mdi)
		}
		waitFor(t, time.Second, "xvrrpd MASTER", func() bool { return x.State(ahInstance) == "MASTER" })

		// keepalived comes back: it starts at sequence number 0, accepts
		// xvrrpd's (above what xvrrpd accepted from the first run) and
		// preempts with its higher priority; xvrrpd accepts the new run's
		// adverts, which continue above xvrrpd's.
		setLinkUp(t, n1.NS, ifName)
		k2 := startKeepalived(t, n1.NS, "ka-2", kconf)
		waitFor(t, 10*time.Second, "restarted keepalived preempting", func() bool {
			return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip) && x.State(ahInstance) == "BACKUP"
		})
		holdFor(t, 2*time.Second, "restarted keepalived the only master", func() bool {
			return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
		})
		checkXvrrpdAccepted(t, x, "after keepalived's restart")
		checkKeepalivedAccepted(t, k2, "after keepalived's restart")
	})
}

// TestAHXvrrpdMaster: xvrrpd (150) is master, keepalived (100) stays
// BACKUP, accepting every AH advert; xvrrpd, restarted with a fresh
// sequence number, first hears keepalived (master meanwhile), continues
// above its sequence number and preempts without keepalived refusing one
// advert.
// Reference: RFC 2338 §5.3.6.3; keepalived 2.2.7's sequence handling.
func TestAHXvrrpdMaster(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived")
	t.Parallel()
	ahModes(t, func(t *testing.T, unicast bool) {
		l := newLAN(t, "r1", "r2")
		n1, n2 := l.Nodes[0], l.Nodes[1]
		vip := l.VIP4(8)
		// state BACKUP, as keepalived forces for AH: the first sequence
		// number comes from a peer when there is one.
		xconf := ahConf(l, n1, n2, "BACKUP", 150, "neutron2", unicast)
		x := startXvrrpd(t, n1.NS, "xv-1", xconf)
		waitFor(t, 10*time.Second, "xvrrpd master alone", func() bool {
			return hasVIP(t, n1.NS, ifName, vip) && x.State(ahInstance) == "MASTER"
		})
		k := startKeepalived(t, n2.NS, "ka", ahConf(l, n2, n1, "BACKUP", 100, "neutron2", unicast))
		holdFor(t, 6*time.Second, "xvrrpd the only master, keepalived BACKUP", func() bool {
			return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
		})
		if !strings.Contains(k.Log(), "Entering BACKUP STATE") {
			t.Error("keepalived did not log entering BACKUP")
		}
		checkKeepalivedAccepted(t, k, "steady state")

		x.Kill()
		waitFor(t, 10*time.Second, "keepalived taking over", func() bool { return hasVIP(t, n2.NS, ifName, vip) })
		// A killed xvrrpd leaves its VIP; the new one removes it at start.
		x2 := startXvrrpd(t, n1.NS, "xv-2", xconf)
		waitFor(t, 10*time.Second, "restarted xvrrpd preempting", func() bool {
			return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip) && x2.State(ahInstance) == "MASTER"
		})
		holdFor(t, 2*time.Second, "restarted xvrrpd the only master", func() bool {
			return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
		})
		checkKeepalivedAccepted(t, k, "after xvrrpd's restart")
		checkXvrrpdAccepted(t, x2, "after xvrrpd's restart")
		if !strings.Contains(k.Log(), "Master received advert from "+n1.Addr4().String()+" with higher priority") {
			t.Error("keepalived did not log stepping down for the restarted xvrrpd's advert")
		}
	})
}

// TestAHWrongPassword: another auth_pass on each side: neither accepts
// the other's adverts, xvrrpd says why in one clear log line and counts
// the drops as auth_data_mismatch, and keepalived reports xvrrpd's ICV as
// invalid (each is master: as with keepalived on both sides).
func TestAHWrongPassword(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived")
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Nodes[0], l.Nodes[1]
	vip := l.VIP4(8)
	k := startKeepalived(t, n1.NS, "ka", ahConf(l, n1, n2, "MASTER", 150, "right", false))
	waitFor(t, 10*time.Second, "keepalived master", func() bool { return hasVIP(t, n1.NS, ifName, vip) })
	x := startXvrrpd(t, n2.NS, "xv", ahConf(l, n2, n1, "BACKUP", 100, "wrong", false))
	waitFor(t, 10*time.Second, "xvrrpd logging the failed authentication", func() bool {
		return strings.Contains(x.LogText(), "ipsec ah advert failed authentication: dropped")
	})
	line := ""
	for _, l := range strings.Split(x.LogText(), "\n") {
		if strings.Contains(l, "ipsec ah advert failed authentication") {
			line = l
			break
		}
	}
	for _, want := range []string{"another auth_pass", n1.Addr4().String(), `"vrid": 81`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q does not say %q", line, want)
		}
	}
	waitFor(t, 10*time.Second, "xvrrpd MASTER: it hears no valid advert", func() bool { return x.State(ahInstance) == "MASTER" })
	if st := x.Status(t); st.Drops["auth_data_mismatch"] == 0 || st.Accepted != 0 {
		t.Errorf("xvrrpd drops %v, accepted %d: want auth_data_mismatch and none accepted", st.Drops, st.Accepted)
	}
	waitFor(t, 5*time.Second, "keepalived reporting xvrrpd's ICV as invalid", func() bool {
		return strings.Contains(k.Log(), "IPSEC-AH : invalid IPSEC HMAC-MD5 value")
	})
	if n := strings.Count(x.LogText(), "ipsec ah advert failed authentication"); n != 1 {
		t.Errorf("%d log lines for the failed authentication in the first minute, want 1", n)
	}
}
