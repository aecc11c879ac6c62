package e2e

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// healthRouter is one side of a mixed pair: xvrrpd or keepalived.
type healthRouter struct {
	kind string // "xvrrpd" or "keepalived"
	node *netnstest.Node
	x    *xvrrpd
}

func (r *healthRouter) start(t *testing.T, name, conf string) {
	t.Helper()
	if r.kind == "xvrrpd" {
		r.x = startXvrrpd(t, r.node.NS, name, conf)
	} else {
		startKeepalived(t, r.node.NS, name, conf)
	}
}

// TestHealthFailoverKeepalived compares keepalived 2.2.7 and xvrrpd on the
// seed's weighted check (000-haproxy*: weight -20, fall 2, rise 2; interval
// 1 s, the shortest keepalived accepts; VRRPv2 at advert_int 1 with auth
// PASS): a keepalived master whose check fails hands over to an xvrrpd
// backup, an xvrrpd master to a keepalived backup, and an xvrrpd master to
// an xvrrpd backup. Each prints a line
//
//	HEALTH-FAILOVER impl=<master>-master backup=<backup> ms=N detect_ms=D
//
// with N from the flag's removal to the backup holding the VIP and D to the
// first advert at the lowered priority (seen from a third node), and a
// HEALTH-FAILBACK line for the way back after the check heals (wire_ms: the
// master's first advert at 110 again).
// Reference: RFC 3768 §6.4.2 (a preempting backup ignores lower-priority
// adverts: its Master_Down_Timer fires), §6.4.3.
func TestHealthFailoverKeepalived(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived")
	t.Parallel()
	for _, pair := range []struct{ master, backup string }{
		{"keepalived", "xvrrpd"},
		{"xvrrpd", "keepalived"},
		{"xvrrpd", "xvrrpd"},
	} {
		t.Run(pair.master+"-master-"+pair.backup+"-backup", func(t *testing.T) {
			t.Parallel()
			healthFailoverPair(t, pair.master, pair.backup)
		})
	}
}

func healthFailoverPair(t *testing.T, mKind, bKind string) {
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	const interval, fall, rise = time.Second, 2, 2
	sn := healthObserve(t, l)
	stalls := watchStalls(t)
	conf := func(router, state string, prio int, f *healthFlag) string {
		s := healthScript{Name: "chk_haproxy", Script: f.Script, Interval: "1", Weight: -20, Fall: fall, Rise: rise}
		in := vrrpInstance{Name: "VI_1", State: state, VRID: 51, Priority: prio, AdvertInt: "1", Version: 2,
			AuthPass: "mysecret", VIPs: []string{vip.String() + "/24"}, Extra: healthTrackScript("chk_haproxy")}
		return healthConf(router, nil, []string{healthScriptConf(s)}, in)
	}
	f1, f2 := newHealthFlag(t), newHealthFlag(t)
	master := &healthRouter{kind: mKind, node: n1}
	backup := &healthRouter{kind: bKind, node: n2}
	onlyOn := func(a, b *netnstest.Node) func() bool {
		return func() bool { return hasVIP(t, a.NS, ifName, vip) && !hasVIP(t, b.NS, ifName, vip) }
	}

	// The master first, alone, so that the backup starts hearing it.
	master.start(t, "r1-"+mKind, conf("r1", "MASTER", 110, f1))
	waitFor(t, 10*time.Second, mKind+" master taking the VIP", onlyOn(n1, n2))
	backup.start(t, "r2-"+bKind, conf("r2", "BACKUP", 100, f2))
	if backup.x != nil {
		waitFor(t, 5*time.Second, "xvrrpd backup BACKUP", func() bool { return backup.x.State("VI_1") == "BACKUP" })
	}
	// Longer than the backup's Master_Down_Interval: it hears the master.
	holdFor(t, masterDownInterval(interval, 100)+500*time.Millisecond, mKind+" master holding the VIP alone", onlyOn(n1, n2))

	fromMaster := func(prio uint8) func(kaSeen) bool {
		return func(s kaSeen) bool { return s.Src == n1.Addr4() && s.Prio == prio }
	}
	bound := (fall+1)*interval + masterDownInterval(interval, 100) + time.Second
	t0 := time.Now()
	f1.Fail(t)
	took := waitFor(t, bound, bKind+" backup holding the VIP after the master's check fails", onlyOn(n2, n1))
	detect := "?"
	if s, ok := sn.First(t0, fromMaster(90)); ok {
		detect = s.At.Sub(t0).Round(time.Millisecond).String()
		t.Logf("HEALTH-FAILOVER impl=%s-master backup=%s ms=%d detect_ms=%d", mKind, bKind, took.Milliseconds(), s.At.Sub(t0).Milliseconds())
	} else {
		t.Errorf("no advert at priority 90 from the %s master after its check failed", mKind)
		t.Logf("HEALTH-FAILOVER impl=%s-master backup=%s ms=%d detect_ms=-1", mKind, bKind, took.Milliseconds())
	}
	t.Logf("%s master's check failing → %s backup holds the VIP: %v (priority 90 on the wire after %s; bound %v)",
		mKind, bKind, took.Round(time.Millisecond), detect, bound)
	healthCheckTakeover(t, sn, stalls, t0, n1.Addr4(), n2.Addr4(), 100, masterDownInterval(interval, 100))
	if took < fall*interval-interval/2 {
		t.Errorf("takeover after %v: before %d check failures could have happened", took, fall)
	}

	bound = (rise+1)*interval + masterDownInterval(interval, 110) + time.Second
	t1 := time.Now()
	f1.Heal(t)
	var changed [2]time.Time
	if master.x != nil {
		changed = healthPriorityChange(t, master.x, "VI_1", 110, bound)
	}
	waitFor(t, bound, mKind+" master holding the VIP again after its check heals", onlyOn(n1, n2))
	back := time.Since(t1)
	// The master is silent while backup: its first advert at 110 is the
	// one of its preemption, seen on the wire.
	restore := int64(-1)
	if s, ok := sn.Await(t1, fromMaster(110), 2*time.Second); ok {
		restore = s.At.Sub(t1).Milliseconds()
	}
	t.Logf("HEALTH-FAILBACK impl=%s-master backup=%s ms=%d wire_ms=%d", mKind, bKind, back.Milliseconds(), restore)
	if restore < 0 {
		t.Errorf("no advert at priority 110 from the %s master after its check healed", mKind)
	}
	if master.x != nil {
		healthCheckPreempt(t, sn, changed, n1.Addr4(), n2.Addr4(), masterDownInterval(interval, 110))
	}
}

// healthPriorityChange polls x until the instance's effective priority is
// prio and returns the interval the change happened in: after the last poll
// that saw another priority, before the answer that saw prio.
func healthPriorityChange(t testing.TB, x *xvrrpd, name string, prio uint8, timeout time.Duration) [2]time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	before := time.Now()
	for {
		in := x.Instance(t, name)
		if in.Priority == prio {
			return [2]time.Time{before, time.Now()}
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s of %s: priority %d, not %d, after %v", name, x.Name, in.Priority, prio, timeout)
		}
		time.Sleep(10 * time.Millisecond)
		before = time.Now()
	}
}

// healthCheckPreempt checks, on the wire, a backup whose priority rose
// above the master's within changed: the master's adverts before the change
// reset its Master_Down_Timer (it was the lower one then), so it preempts
// Master_Down_Interval mdi after the last of them, not earlier. An advert of
// the master inside changed is ambiguous: the check is skipped.
// Reference: RFC 3768 §6.4.2 (the priority compared is the local one when
// the advert arrives).
func healthCheckPreempt(t testing.TB, sn *kaSniffer, changed [2]time.Time, preempter, master netip.Addr, mdi time.Duration) {
	t.Helper()
	from := func(a netip.Addr) func(kaSeen) bool { return func(s kaSeen) bool { return s.Src == a } }
	if len(sn.All(changed[0], func(s kaSeen) bool { return s.Src == master && !s.At.After(changed[1]) })) > 0 {
		t.Logf("an advert of the master arrived while the priority changed: preemption timing not checked")
		return
	}
	last, ok := sn.Last(changed[0], from(master))
	if !ok {
		t.Errorf("no advert from the master %v before the backup's priority rose", master)
		return
	}
	first, ok := sn.Await(changed[1], from(preempter), 2*time.Second)
	if !ok {
		t.Errorf("no advert from %v after its priority rose", preempter)
		return
	}
	d := first.At.Sub(last.At)
	t.Logf("preempting backup's first advert %v after the last master advert it heard at its lower priority (Master_Down_Interval %v)",
		d.Round(time.Millisecond), mdi)
	if d < mdi-20*time.Millisecond {
		t.Errorf("preempted %v after the last master advert heard while its priority was lower, before Master_Down_Interval %v: "+
			"that advert did not reset its Master_Down_Timer", d, mdi)
	}
}
