package e2e

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// Interop between xvrrpd and Debian's keepalived 2.2.x: one of each on a
// bridge, the same keepalived.conf text for both (only priority, state and,
// for unicast, the addresses differ), in both roles.

// kaInstanceName is the vrrp_instance name every interop configuration uses.
const kaInstanceName = "VI_IOP"

// kaScenario is one kind of interop pair.
type kaScenario struct {
	name     string
	version  int
	interval time.Duration // advert_int
	ipv6     bool
	// conf returns the instance of node self, whose peer is other.
	conf func(l *lan, self, other *netnstest.Node, state string, prio int) vrrpInstance
}

// Priorities of the two roles. The backup's 100 gives the Skew_Time and
// Master_Down_Interval the brief quotes (v2 at 1 s: 0.609 s and 3.609 s).
const (
	kaMasterPrio = 150
	kaBackupPrio = 100
)

var kaScenarios = []kaScenario{
	{
		// RFC 3768 VRRPv2 with the simple password of RFC 2338 §5.3.6.1.
		name: "v2_pass", version: 2, interval: time.Second,
		conf: func(l *lan, _, _ *netnstest.Node, state string, prio int) vrrpInstance {
			return vrrpInstance{Name: kaInstanceName, State: state, VRID: 61, Priority: prio,
				AdvertInt: "1", Version: 2, AuthPass: "iop-pw1",
				VIPs: []string{l.VIP4(1).String() + "/24"}}
		},
	},
	{
		// RFC 5798 VRRPv3 over IPv4 at a centisecond interval.
		name: "v3_fast", version: 3, interval: 100 * time.Millisecond,
		conf: func(l *lan, _, _ *netnstest.Node, state string, prio int) vrrpInstance {
			return vrrpInstance{Name: kaInstanceName, State: state, VRID: 62, Priority: prio,
				AdvertInt: "0.1", Version: 3,
				VIPs: []string{l.VIP4(2).String() + "/24"}}
		},
	},
	{
		// RFC 5798 §5.1.2 VRRPv3 over IPv6: link-local sources, ff02::12.
		name: "v3_ipv6", version: 3, interval: 100 * time.Millisecond, ipv6: true,
		conf: func(l *lan, _, _ *netnstest.Node, state string, prio int) vrrpInstance {
			return vrrpInstance{Name: kaInstanceName, State: state, VRID: 63, Priority: prio,
				AdvertInt: "0.1", Version: 3,
				VIPs: []string{l.VIP6(3).String() + "/64"}}
		},
	},
	{
		// keepalived's unicast mode (unicast_src_ip, unicast_peer), VRRPv2.
		name: "v2_unicast", version: 2, interval: time.Second,
		conf: func(l *lan, self, other *netnstest.Node, state string, prio int) vrrpInstance {
			return vrrpInstance{Name: kaInstanceName, State: state, VRID: 64, Priority: prio,
				AdvertInt: "1", Version: 2,
				UnicastSrc: self.Addr4().String(), UnicastPeers: []string{other.Addr4().String()},
				VIPs: []string{l.VIP4(4).String() + "/24"}}
		},
	},
}

// vip returns the scenario's VIP on l.
func (sc kaScenario) vip(l *lan) netip.Addr {
	in := sc.conf(l, l.Nodes[0], l.Nodes[1], "BACKUP", 1)
	return netip.MustParsePrefix(in.VIPs[0]).Addr()
}

// skew is Skew_Time of the backup (RFC 3768 §6.1: (256-prio)/256 s at 1 s;
// RFC 5798 §6.1: ((256-prio) × interval)/256).
func (sc kaScenario) skew() time.Duration {
	return time.Duration(256-kaBackupPrio) * sc.interval / 256
}

// kaRouter is one side of a pair: xvrrpd or keepalived, restartable.
type kaRouter struct {
	t    *testing.T
	kind string // "xvrrpd" or "keepalived"
	node *netnstest.Node
	conf string
	x    *xvrrpd
	k    *keepalivedProc
	runs int
}

func (r *kaRouter) start() {
	r.t.Helper()
	r.runs++
	name := r.kind + "-" + strconv.Itoa(r.runs)
	if r.kind == "xvrrpd" {
		r.x = startXvrrpd(r.t, r.node.NS, name, r.conf)
	} else {
		r.k = startKeepalived(r.t, r.node.NS, name, r.conf)
	}
}

// crash kills the router (for keepalived both processes) with SIGKILL.
func (r *kaRouter) crash() {
	r.t.Helper()
	if r.x != nil {
		r.x.Kill()
	} else {
		r.k.Kill()
	}
}

// terminate sends SIGTERM (a graceful stop) without waiting for the exit.
func (r *kaRouter) terminate() {
	r.t.Helper()
	if r.x != nil {
		if err := syscall.Kill(r.x.Pid(), syscall.SIGTERM); err != nil {
			r.t.Fatalf("SIGTERM to xvrrpd: %v", err)
		}
	} else {
		r.k.Terminate()
	}
}

// waitExit waits (bounded) for the exit that terminate asked for.
func (r *kaRouter) waitExit() {
	r.t.Helper()
	if r.x != nil {
		if err := r.x.Wait(10 * time.Second); err != nil {
			r.t.Errorf("xvrrpd exit after SIGTERM: %v", err)
		}
	} else {
		r.k.WaitExit()
	}
}

func (r *kaRouter) hasVIP(vip netip.Addr) bool {
	return hasVIP(r.t, r.node.NS, ifName, vip)
}

// stateOK reports whether an xvrrpd router is in state want; a keepalived
// router is judged by its VIP alone.
func (r *kaRouter) stateOK(want string) bool {
	return r.x == nil || r.x.State(kaInstanceName) == want
}

// checkWire fails the test when the xvrrpd side dropped an advert (any
// drop reason but own_addr, its own adverts looped back) or the keepalived
// side logged that it rejected one: the wire-compatibility proof.
func (r *kaRouter) checkWire(when string) {
	r.t.Helper()
	if r.x != nil {
		if r.x.Exited() {
			return
		}
		st := r.x.Status(r.t)
		for reason, n := range st.Drops {
			if reason != "own_addr" && n > 0 {
				r.t.Errorf("%s: xvrrpd dropped %d adverts as %s (all drops %v)", when, n, reason, st.Drops)
			}
		}
		return
	}
	for _, line := range strings.Split(r.k.Log(), "\n") {
		for _, m := range kaRejectMarkers {
			if strings.Contains(line, m) {
				r.t.Errorf("%s: keepalived rejected an advert: %s", when, line)
			}
		}
	}
}

// kaRejectMarkers are fragments of keepalived 2.2's log lines for an
// advert it discards as malformed or not matching its configuration.
var kaRejectMarkers = []string{
	"Invalid VRRPv2 checksum", "Invalid VRRPv3 checksum",
	"vrrp packet too ", "invalid TTL", "wrong version", "auth, expecting",
	"invalid passwd", "advertisement interval mismatch", "Invalid packet type",
	"unexpected ip number count", "ip_tot_len mismatch", "VIPs but received",
	"not present in MASTER advert", "not a unicast peer", "not in range",
	"Unknown VRID", "icast packet on", "Expected unicast", "Expected multicast",
}

// TestKeepalivedInterop runs every scenario with xvrrpd as master and
// keepalived as backup, and the other way round. Each pair converges, holds
// a single master for 2 s, survives a graceful stop of the master (the
// backup takes over after Skew_Time), the master's restart (it preempts)
// and a crash of the master (the backup takes over after
// Master_Down_Interval).
// Reference: RFC 3768 §6.4.2, §6.4.3; RFC 5798 §6.4.2, §6.4.3 (priority 0
// and Master_Down_Interval).
func TestKeepalivedInterop(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived")
	t.Parallel()
	for _, sc := range kaScenarios {
		for _, xvMaster := range []bool{true, false} {
			role := "xvrrpd_master"
			if !xvMaster {
				role = "keepalived_master"
			}
			t.Run(sc.name+"/"+role, func(t *testing.T) {
				t.Parallel()
				runKeepalivedPair(t, sc, xvMaster)
			})
		}
	}
}

func runKeepalivedPair(t *testing.T, sc kaScenario, xvMaster bool) {
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Nodes[0], l.Nodes[1]
	vip := sc.vip(l)
	mKind, bKind := "xvrrpd", "keepalived"
	if !xvMaster {
		mKind, bKind = bKind, mKind
	}
	master := &kaRouter{t: t, kind: mKind, node: n1,
		conf: keepalivedConf("iop_m", nil, sc.conf(l, n1, n2, "MASTER", kaMasterPrio))}
	backup := &kaRouter{t: t, kind: bKind, node: n2,
		conf: keepalivedConf("iop_b", nil, sc.conf(l, n2, n1, "BACKUP", kaBackupPrio))}

	converged := func() bool {
		return master.hasVIP(vip) && !backup.hasVIP(vip) && master.stateOK("MASTER") && backup.stateOK("BACKUP")
	}
	masterOnly := func() bool { return master.hasVIP(vip) && !backup.hasVIP(vip) }
	isMasterAdvert := func(s kaSeen) bool { return s.Prio == kaMasterPrio }
	// What the bridge forwards to the backup, timestamped by the kernel.
	// Sniffed on the bridge port: xvrrpd's XDP program consumes valid
	// adverts before a packet socket on the backup's own interface sees
	// them.
	sniff := sniffToNode(t, l, backup.node)
	stalls := watchStalls(t)
	// timing fails the test with msg when took exceeds limit, unless the
	// machine stalled (≥ 50 ms without running this process) between from
	// and now: then a timing bound says nothing and it is only logged.
	timing := func(from time.Time, took, limit time.Duration, msg string) {
		t.Helper()
		if took <= limit {
			return
		}
		if st := stalls.Max(from, time.Now()); st > 0 {
			t.Logf("not counted (the machine stalled for %v meanwhile): %s: %v, want ≤ %v", st.Round(time.Millisecond), msg, took, limit)
			return
		}
		t.Errorf("%s: %v, want ≤ %v", msg, took, limit)
	}
	mdi := masterDownInterval(sc.interval, kaBackupPrio)
	skew := sc.skew()

	// The master first, alone, so that the backup starts hearing it.
	master.start()
	d := waitFor(t, 10*time.Second, mKind+" master alone taking the VIP", func() bool {
		return master.hasVIP(vip) && master.stateOK("MASTER")
	})
	t.Logf("%s master alone became master in %v", mKind, d.Round(time.Millisecond))
	backup.start()
	backupStarted := time.Now()
	waitFor(t, 10*time.Second, mKind+" master with the VIP, "+bKind+" backup", converged)

	// Steady state: one master, the VIP on it alone, for 2 s and at least
	// until the backup has run for Master_Down_Interval + 1 s (a backup
	// that discarded the master's adverts would have taken over by then).
	hold := max(2*time.Second, time.Until(backupStarted.Add(mdi+time.Second)))
	holdSingleMaster(t, hold, mKind+" master", masterOnly, sniff, isMasterAdvert, stalls)
	if backup.x != nil {
		if st := backup.x.Status(t); st.Accepted == 0 {
			t.Errorf("xvrrpd backup accepted no advert from keepalived: %+v", st)
		}
		if in := backup.x.Instance(t, kaInstanceName); in.Master == "" {
			t.Errorf("xvrrpd backup knows no master: %+v", in)
		}
	}
	master.checkWire("steady state")
	backup.checkWire("steady state")

	// Graceful stop: the master resigns with priority 0 and the backup
	// takes over after Skew_Time (RFC 3768 §6.4.3 / RFC 5798 §6.4.3 "send
	// an ADVERTISEMENT with Priority = 0"; §6.4.2 "set the Master_Down_Timer
	// to Skew_Time").
	t0 := time.Now()
	master.terminate()
	waitFor(t, 5*time.Second, bKind+" backup taking the VIP after a graceful stop", func() bool { return backup.hasVIP(vip) })
	took := time.Now()
	p0, ok := sniff.First(t0, func(s kaSeen) bool { return s.Prio == 0 })
	if !ok {
		t.Fatalf("no priority-0 advert from the stopping %s master reached the backup", mKind)
	}
	resign, react := p0.At.Sub(t0), took.Sub(p0.At)
	t.Logf("graceful stop of %s master: priority 0 sent %v after SIGTERM; %s took over %v later (Skew_Time %v); %v in all",
		mKind, resign.Round(10*time.Microsecond), bKind, react.Round(time.Millisecond), skew, took.Sub(t0).Round(time.Millisecond))
	// Without priority-0 handling the backup would wait Master_Down_Interval
	// from the last advert: at least MDI - interval after the priority 0.
	timing(t0, react, skew+min(500*time.Millisecond, (mdi-sc.interval-skew)*3/4),
		bKind+" took over after the priority-0 advert (about Skew_Time)")
	timing(t0, resign, time.Second, mKind+" sent its priority-0 advert after SIGTERM")
	master.waitExit()
	if master.hasVIP(vip) {
		t.Errorf("stopped %s master still holds %v", mKind, vip)
	}
	if backup.k != nil {
		waitFor(t, 2*time.Second, "keepalived logging the priority-0 advert", func() bool {
			return strings.Contains(backup.k.Log(), "Backup received priority 0 advertisement")
		})
	}
	backup.checkWire("after the graceful stop")

	// The master comes back and preempts (RFC 3768 §6.4.2 / RFC 5798
	// §6.4.2: a higher priority with preempt takes over).
	master.start()
	d = waitFor(t, 10*time.Second, mKind+" master preempting after its restart", converged)
	t.Logf("restarted %s master preempted in %v", mKind, d.Round(time.Millisecond))
	holdSingleMaster(t, 500*time.Millisecond, "restarted "+mKind+" master", masterOnly, sniff, isMasterAdvert, stalls)
	// Each side acted on the other's adverts: the master that stepped down
	// did so for the restarted master's higher priority.
	if master.x != nil {
		if st := master.x.Status(t); st.Accepted == 0 {
			t.Errorf("restarted xvrrpd master accepted no advert from the keepalived master: %+v", st)
		}
		if !strings.Contains(backup.k.Log(), "Master received advert from "+master.x.Instance(t, kaInstanceName).Source+" with higher priority") {
			t.Errorf("keepalived did not log stepping down for xvrrpd's higher-priority advert")
		}
	} else if !strings.Contains(backup.x.LogText(), `"reason": "higher priority advertisement"`) {
		t.Errorf("xvrrpd did not log stepping down for keepalived's higher-priority advert")
	}
	master.checkWire("after the restart")
	backup.checkWire("after the restart")

	// Crash: SIGKILL and link down; the backup takes over
	// Master_Down_Interval after the last advert it heard (RFC 3768 §6.4.2
	// / RFC 5798 §6.4.2).
	t0 = time.Now()
	master.crash()
	setLinkDown(t, master.node.NS, ifName)
	waitFor(t, 10*time.Second, bKind+" backup taking the VIP after a crash", func() bool { return backup.hasVIP(vip) })
	took = time.Now()
	last, ok := sniff.Last(t0.Add(50*time.Millisecond), isMasterAdvert)
	if !ok {
		t.Fatalf("no advert of the %s master seen before the crash", mKind)
	}
	sinceKill, sinceLast := took.Sub(t0), took.Sub(last.At)
	t.Logf("crash of %s master: %s took over %v after SIGKILL, %v after the last advert (Master_Down_Interval %v)",
		mKind, bKind, sinceKill.Round(time.Millisecond), sinceLast.Round(time.Millisecond), mdi)
	timing(t0, sinceKill, mdi+500*time.Millisecond, "takeover after a crash (Master_Down_Interval + 500 ms)")
	timing(t0, sinceLast, mdi+500*time.Millisecond, "takeover after the master's last advert (Master_Down_Interval + 500 ms)")
	if sinceLast < mdi-20*time.Millisecond {
		t.Errorf("takeover %v after the master's last advert, want at least Master_Down_Interval %v (-20 ms): the backup did not wait", sinceLast, mdi)
	}
	// The VIP is added before the status shows the transition (the
	// snapshot follows the step): allow the status a moment.
	waitFor(t, time.Second, bKind+" backup reporting MASTER with the VIP", func() bool { return backup.stateOK("MASTER") })
	backup.checkWire("after the crash")
}

// holdSingleMaster checks every 10 ms for d that only the master holds the
// VIP. When that stops, it fails the test saying how the master's adverts
// reached the backup before (the largest gap between them in the last 3 s,
// from the backup's kernel timestamps): a gap near Master_Down_Interval
// means the master went silent, regular adverts mean the backup ignored
// them.
//
// A backup starved of CPU for longer than Master_Down_Interval takes over
// legitimately: when the stall watch saw a stall of 100 ms or more in the
// last 3 s, the break is logged and the hold ends without failing.
func holdSingleMaster(t *testing.T, d time.Duration, who string, masterOnly func() bool, sn *kaSniffer, fromMaster func(kaSeen) bool, stalls *kaStallWatch) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !masterOnly() {
			now := time.Now()
			var prev time.Time
			var gap time.Duration
			n := 0
			for _, s := range sn.All(now.Add(-3*time.Second), fromMaster) {
				if !prev.IsZero() && s.At.Sub(prev) > gap {
					gap = s.At.Sub(prev)
				}
				prev = s.At
				n++
			}
			msg := fmt.Sprintf("the VIP stopped being on the %s only; in the 3 s before, the backup received %d of its adverts, the largest gap %v, the last %v ago",
				who, n, gap, now.Sub(prev))
			if st := stalls.Max(now.Add(-3*time.Second), now); st >= 100*time.Millisecond {
				t.Logf("not counted (the machine stalled for %v meanwhile): %s", st.Round(time.Millisecond), msg)
				return
			}
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
