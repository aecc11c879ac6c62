package e2e

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// Health tracking end to end: vrrp_script, track_interface, notify scripts
// and sync groups of xvrrpd (and keepalived, for comparison) in namespaces.
// Check scripts are `test -e FLAG`: a test makes a check fail by removing
// the flag file and heals it by creating it again.

// healthGlobals are the global_defs lines keepalived needs to run scripts
// at all (seed 003): scripts run as root and are checked for safety.
var healthGlobals = []string{"script_user root", "enable_script_security"}

// healthFlag is a check script whose result a test controls: it exits 0
// while the flag file exists.
type healthFlag struct {
	Flag   string // the file whose existence means healthy
	Script string // the executable check script
}

// newHealthFlag writes a check script into a fresh root-owned temporary
// directory (so script security accepts it) and creates its flag: the check
// starts healthy.
func newHealthFlag(t testing.TB) *healthFlag {
	t.Helper()
	dir := t.TempDir()
	f := &healthFlag{Flag: filepath.Join(dir, "healthy"), Script: filepath.Join(dir, "check.sh")}
	writeHealthScript(t, f.Script, "exec test -e "+f.Flag+"\n")
	f.Heal(t)
	return f
}

// Fail makes the check fail from its next run on.
func (f *healthFlag) Fail(t testing.TB) {
	t.Helper()
	if err := os.Remove(f.Flag); err != nil {
		t.Fatalf("remove health flag: %v", err)
	}
}

// Heal makes the check succeed from its next run on.
func (f *healthFlag) Heal(t testing.TB) {
	t.Helper()
	if err := os.WriteFile(f.Flag, nil, 0o644); err != nil {
		t.Fatalf("create health flag: %v", err)
	}
}

// writeHealthScript writes an executable /bin/sh script with body.
func writeHealthScript(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatalf("write script %s: %v", path, err)
	}
}

// healthScript describes one vrrp_script block; healthScriptConf renders it.
type healthScript struct {
	Name     string
	Script   string // the command line (quoted in the output)
	Interval string // whole seconds, e.g. "1" (keepalived 2.2.7 and xvrrpd run "0.2" every second)
	Timeout  string // "" leaves it out (defaults to interval)
	Weight   int    // 0 leaves it out: a failure means FAULT
	Fall     int
	Rise     int
}

// healthScriptConf renders a vrrp_script block.
func healthScriptConf(s healthScript) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vrrp_script %s {\n    script %q\n    interval %s\n", s.Name, s.Script, s.Interval)
	if s.Timeout != "" {
		fmt.Fprintf(&b, "    timeout %s\n", s.Timeout)
	}
	if s.Weight != 0 {
		fmt.Fprintf(&b, "    weight %d\n", s.Weight)
	}
	if s.Fall != 0 {
		fmt.Fprintf(&b, "    fall %d\n", s.Fall)
	}
	if s.Rise != 0 {
		fmt.Fprintf(&b, "    rise %d\n", s.Rise)
	}
	b.WriteString("}\n")
	return b.String()
}

// healthConf renders a keepalived.conf with healthGlobals (plus globals),
// then the raw blocks (vrrp_script, vrrp_sync_group: defined before the
// instances that name them, as keepalived requires), then the instances.
func healthConf(routerID string, globals, blocks []string, instances ...vrrpInstance) string {
	var b strings.Builder
	b.WriteString(keepalivedConf(routerID, append(append([]string(nil), healthGlobals...), globals...)))
	for _, blk := range blocks {
		b.WriteString(blk)
	}
	for _, in := range instances {
		b.WriteString(instanceConf(in))
	}
	return b.String()
}

// healthTrackScript is the Extra lines of an instance tracking the named scripts.
func healthTrackScript(names ...string) []string {
	out := []string{"track_script {"}
	for _, n := range names {
		out = append(out, "    "+n)
	}
	return append(out, "}")
}

// healthSecondLAN gives every router node of l a second interface dev on a new
// bridge, with 192.168.<n>.<i>/24 (node i from 1, in l.Nodes order), and
// returns that subnet.
func healthSecondLAN(t testing.TB, l *lan, dev string) netip.Prefix {
	t.Helper()
	br := netnstest.Bridge(t)
	sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(lanSeq.Add(1) % 250), 0}), 24)
	for i, nd := range l.Nodes {
		a := sub.Addr().As4()
		a[3] = byte(i + 1)
		nd.ConnectTo(t, br, dev, netip.PrefixFrom(netip.AddrFrom4(a), 24))
	}
	return sub
}

// healthNotifyScript writes a notify script that appends its arguments as
// one line to a file; it returns the script and the file.
func healthNotifyScript(t testing.TB) (script, out string) {
	t.Helper()
	dir := t.TempDir()
	script, out = filepath.Join(dir, "notify.sh"), filepath.Join(dir, "notify.out")
	writeHealthScript(t, script, "echo \"$@\" >> "+out+"\n")
	return script, out
}

// healthLines returns the lines of a file (none when it does not exist).
func healthLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// healthObserve attaches a passive node to l and records the adverts it
// sees. Adverts are sniffed there rather than on a router: xvrrpd's kernel
// receive path (XDP) consumes valid adverts before a packet socket of the
// router's namespace would see them.
func healthObserve(t testing.TB, l *lan) *kaSniffer {
	t.Helper()
	obs := l.AddNode(t, "obs", 99)
	return sniffVRRP(t, obs.NS, ifName)
}

// healthCheckTakeover checks a preempting backup's takeover on the wire (as
// seen by sn, with kernel timestamps): the backup's first advert after from
// comes Master_Down_Interval mdi after the master's last advert at a
// priority ≥ backupPrio — not earlier, and not much later unless the
// machine stalled.
// Reference: RFC 3768 §6.4.2 / RFC 5798 §6.4.2: only an advert with a
// priority ≥ the local one (or any, without preempt) resets the
// Master_Down_Timer; lower ones are discarded.
func healthCheckTakeover(t testing.TB, sn *kaSniffer, stalls *kaStallWatch, from time.Time, master, backup netip.Addr, backupPrio uint8, mdi time.Duration) {
	t.Helper()
	first, ok := sn.Await(from, func(s kaSeen) bool { return s.Src == backup }, 2*time.Second)
	if !ok {
		t.Errorf("no advert from the backup %v after it took over", backup)
		return
	}
	last, ok := sn.Last(first.At, func(s kaSeen) bool { return s.Src == master && s.Prio >= backupPrio })
	if !ok {
		t.Errorf("no advert from the master %v at priority ≥ %d before the takeover", master, backupPrio)
		return
	}
	d := first.At.Sub(last.At)
	t.Logf("backup's first advert %v after the master's last advert at priority %d (Master_Down_Interval %v)",
		d.Round(time.Millisecond), last.Prio, mdi)
	if d < mdi-20*time.Millisecond {
		t.Errorf("backup took over %v after the master's last advert at priority %d ≥ its own, before Master_Down_Interval %v: "+
			"a discarded lower-priority advert, or none, reset its timer", d, last.Prio, mdi)
	}
	if st := stalls.Max(last.At, first.At); d > mdi+500*time.Millisecond && st == 0 {
		t.Errorf("backup took over %v after the master's last advert at priority %d, want about Master_Down_Interval %v", d, last.Prio, mdi)
	}
}

// healthStateSeq records the distinct successive states of one instance, polled
// every 10 ms, until stop says so or timeout; it returns the sequence (a
// state shorter than a poll may be missed, so only long-enough states are
// asserted on).
func healthStateSeq(t testing.TB, x *xvrrpd, name string, timeout time.Duration, stop func(seq []string) bool) []string {
	t.Helper()
	var seq []string
	deadline := time.Now().Add(timeout)
	for {
		if st := x.State(name); st != "" && (len(seq) == 0 || seq[len(seq)-1] != st) {
			seq = append(seq, st)
		}
		if stop(seq) {
			return seq
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s of %s: states %v, timed out after %v", name, x.Name, seq, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// healthEndsWith reports whether seq ends with tail.
func healthEndsWith(seq []string, tail ...string) bool {
	if len(seq) < len(tail) {
		return false
	}
	for i, s := range tail {
		if seq[len(seq)-len(tail)+i] != s {
			return false
		}
	}
	return true
}

// TestHealthWeightedScriptV2 is the seed's haproxy pattern (000-haproxy*):
// VRRPv2 at advert_int 1 with auth PASS, a vrrp_script with weight -20,
// fall 2, rise 2 on both routers (interval 1 s instead of 2 s: keepalived
// 2.2.7, and xvrrpd, read whole seconds). MASTER 110 / BACKUP 100: the failing
// check lowers the master to 90, the backup (preempt) stops accepting its
// adverts and takes over when Master_Down_Interval runs out; after rise
// successes the master is back at 110 and preempts.
// Reference: RFC 3768 §6.4.2 (a backup ignores lower-priority adverts when
// preempting, so its Master_Down_Timer fires), §6.4.3 (a master receiving a
// higher priority advert becomes backup).
func TestHealthWeightedScriptV2(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	const interval, fall, rise = time.Second, 2, 2
	f1, f2 := newHealthFlag(t), newHealthFlag(t)
	conf := func(router, state string, prio int, f *healthFlag) string {
		s := healthScript{Name: "chk_haproxy", Script: f.Script, Interval: "1", Weight: -20, Fall: fall, Rise: rise}
		in := vrrpInstance{Name: "VI_1", State: state, VRID: 51, Priority: prio, AdvertInt: "1", Version: 2,
			AuthPass: "mysecret", VIPs: []string{vip.String() + "/24"}, Extra: healthTrackScript("chk_haproxy")}
		return healthConf(router, nil, []string{healthScriptConf(s)}, in)
	}
	sn := healthObserve(t, l)
	stalls := watchStalls(t)
	r1 := startXvrrpd(t, n1.NS, "r1", conf("r1", "MASTER", 110, f1))
	r2 := startXvrrpd(t, n2.NS, "r2", conf("r2", "BACKUP", 100, f2))
	waitFor(t, 10*time.Second, "r1 MASTER with the VIP, r2 BACKUP", func() bool {
		return r1.State("VI_1") == "MASTER" && r2.State("VI_1") == "BACKUP" && hasVIP(t, n1.NS, ifName, vip)
	})

	// Failing: fall runs (plus one interval of phase) lower the priority,
	// then Master_Down_Interval from the last advert at 110.
	bound := (fall+1)*interval + masterDownInterval(time.Second, 100) + time.Second
	start := time.Now()
	f1.Fail(t)
	waitFor(t, bound, "r2 to hold the VIP after r1's check fails", func() bool {
		return hasVIP(t, n2.NS, ifName, vip)
	})
	took := time.Since(start)
	t.Logf("weighted check failing → backup holds VIP: %v (bound %v)", took.Round(time.Millisecond), bound)
	if took < fall*interval-interval/2 {
		t.Errorf("takeover after %v: before %d check failures could have happened", took, fall)
	}
	healthCheckTakeover(t, sn, stalls, start, n1.Addr4(), n2.Addr4(), 100, masterDownInterval(time.Second, 100))
	waitFor(t, 2*time.Second, "r1 BACKUP at priority 90 without the VIP, r2 MASTER", func() bool {
		return r1.State("VI_1") == "BACKUP" && r2.State("VI_1") == "MASTER" && !hasVIP(t, n1.NS, ifName, vip)
	})
	if in := r1.Instance(t, "VI_1"); in.Priority != 90 || in.ConfiguredPriority != 110 {
		t.Errorf("r1 priority %d (configured %d), want 90 (110)", in.Priority, in.ConfiguredPriority)
	}

	// Healing: rise runs restore 110; r1 preempts after its
	// Master_Down_Interval (adverts of r2 at 100 are ignored).
	bound = (rise+1)*interval + masterDownInterval(time.Second, 110) + time.Second
	start = time.Now()
	f1.Heal(t)
	waitFor(t, bound, "r1 to take the VIP back after its check heals", func() bool {
		return hasVIP(t, n1.NS, ifName, vip) && r1.State("VI_1") == "MASTER"
	})
	t.Logf("weighted check healing → master holds VIP again: %v (bound %v)", time.Since(start).Round(time.Millisecond), bound)
	waitFor(t, 2*time.Second, "r2 BACKUP without the VIP", func() bool {
		return r2.State("VI_1") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip)
	})
	if in := r1.Instance(t, "VI_1"); in.Priority != 110 {
		t.Errorf("r1 priority %d after healing, want 110", in.Priority)
	}
}

// TestHealthScriptFault is seed 001-*-check: a tracked vrrp_script without
// weight, fall 2 rise 2. When it fails on the master, the master enters
// FAULT, sends a priority-0 advert and removes its VIP, and the backup takes
// over after Skew_Time. When it heals, the master leaves FAULT for BACKUP
// and, preempting, becomes MASTER again. VRRPv3 at 0.1 s, script every
// second (keepalived 2.2.7, and xvrrpd, read whole seconds).
// Reference: RFC 5798 §6.4.3 (leaving master: priority-0 advert), §6.4.2
// (priority 0 received: Master_Down_Timer = Skew_Time).
func TestHealthScriptFault(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	const adv, interval, fall = 100 * time.Millisecond, time.Second, 2
	f1, f2 := newHealthFlag(t), newHealthFlag(t)
	conf := func(router, state string, prio int, f *healthFlag) string {
		s := healthScript{Name: "check_haproxy", Script: f.Script, Interval: "1", Fall: fall, Rise: 2}
		in := vrrpInstance{Name: "VI_1", State: state, VRID: 51, Priority: prio, AdvertInt: "0.1", Version: 3,
			VIPs: []string{vip.String() + "/24"}, Extra: healthTrackScript("check_haproxy")}
		return healthConf(router, nil, []string{healthScriptConf(s)}, in)
	}
	r1 := startXvrrpd(t, n1.NS, "r1", conf("r1", "MASTER", 101, f1))
	r2 := startXvrrpd(t, n2.NS, "r2", conf("r2", "BACKUP", 100, f2))
	waitFor(t, 5*time.Second, "r1 MASTER with the VIP, r2 BACKUP", func() bool {
		return r1.State("VI_1") == "MASTER" && r2.State("VI_1") == "BACKUP" && hasVIP(t, n1.NS, ifName, vip)
	})
	sn := healthObserve(t, l)

	start := time.Now()
	f1.Fail(t)
	bound := (fall+1)*interval + masterDownInterval(adv, 100) + time.Second
	waitFor(t, bound, "r1 FAULT without the VIP and r2 holding it", func() bool {
		return r1.State("VI_1") == "FAULT" && !hasVIP(t, n1.NS, ifName, vip) && hasVIP(t, n2.NS, ifName, vip)
	})
	// The VIP is added before the transition is reported: wait for both.
	waitFor(t, time.Second, "r2 MASTER in its status", func() bool { return r2.State("VI_1") == "MASTER" })
	t.Logf("weight-0 check failing → backup holds VIP: %v (bound %v)", time.Since(start).Round(time.Millisecond), bound)
	// Skew_Time, not Master_Down_Interval: the takeover follows r1's
	// priority-0 advert (kernel timestamps, so a slow test does not count).
	p0, ok := sn.First(start, func(s kaSeen) bool { return s.Src == n1.Addr4() && s.Prio == 0 })
	if !ok {
		t.Fatalf("no priority-0 advert from r1 when it entered FAULT")
	}
	if m, ok := sn.Await(p0.At, func(s kaSeen) bool { return s.Src == n2.Addr4() && s.Prio == 100 }, 2*time.Second); ok {
		t.Logf("r2's first advert %v after r1's priority-0 advert", m.At.Sub(p0.At).Round(time.Millisecond))
		if gap := m.At.Sub(p0.At); gap > masterDownInterval(adv, 100) {
			t.Errorf("r2 became master %v after the priority-0 advert, want about Skew_Time (%v)", gap, time.Duration(156)*adv/256)
		}
	} else {
		t.Errorf("no advert from r2 after r1's priority-0 advert")
	}
	holdFor(t, 500*time.Millisecond, "r1 in FAULT, silent, without the VIP", func() bool {
		return r1.State("VI_1") == "FAULT" && !hasVIP(t, n1.NS, ifName, vip)
	})
	if got := sn.All(p0.At.Add(time.Microsecond), func(s kaSeen) bool { return s.Src == n1.Addr4() }); len(got) > 0 {
		t.Errorf("r1 sent %d adverts after its priority-0 advert, in FAULT", len(got))
	}

	f1.Heal(t)
	seq := healthStateSeq(t, r1, "VI_1", 5*time.Second, func(seq []string) bool { return healthEndsWith(seq, "MASTER") })
	if !healthEndsWith(seq, "FAULT", "BACKUP", "MASTER") {
		t.Errorf("r1 states after healing: %v, want FAULT BACKUP MASTER", seq)
	}
	waitFor(t, 2*time.Second, "r1 with the VIP, r2 BACKUP without it", func() bool {
		return hasVIP(t, n1.NS, ifName, vip) && r2.State("VI_1") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip)
	})
}

// TestHealthTrackInterface tracks a second interface (track_interface
// { eth1 }): when it goes down on the master, the master enters FAULT,
// removes its VIP and the backup takes over; when it comes back up the
// master leaves FAULT for BACKUP and preempts.
// Reference: RFC 5798 §6.4.3 (leaving master: priority-0 advert), §6.4.2.
func TestHealthTrackInterface(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	healthSecondLAN(t, l, "eth1")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	const adv = 100 * time.Millisecond
	conf := func(router, state string, prio int) string {
		in := vrrpInstance{Name: "VI_1", State: state, VRID: 51, Priority: prio, AdvertInt: "0.1", Version: 3,
			VIPs: []string{vip.String() + "/24"}, Extra: []string{"track_interface {", "    eth1", "}"}}
		return keepalivedConf(router, nil, in)
	}
	r1 := startXvrrpd(t, n1.NS, "r1", conf("r1", "MASTER", 101))
	r2 := startXvrrpd(t, n2.NS, "r2", conf("r2", "BACKUP", 100))
	waitFor(t, 5*time.Second, "r1 MASTER with the VIP, r2 BACKUP", func() bool {
		return r1.State("VI_1") == "MASTER" && r2.State("VI_1") == "BACKUP" && hasVIP(t, n1.NS, ifName, vip)
	})

	start := time.Now()
	setLinkDown(t, n1.NS, "eth1")
	bound := masterDownInterval(adv, 100) + time.Second
	waitFor(t, bound, "r1 FAULT without the VIP and r2 holding it", func() bool {
		return r1.State("VI_1") == "FAULT" && !hasVIP(t, n1.NS, ifName, vip) && hasVIP(t, n2.NS, ifName, vip)
	})
	// The VIP is added before the transition is reported: wait for both.
	waitFor(t, time.Second, "r2 MASTER in its status", func() bool { return r2.State("VI_1") == "MASTER" })
	t.Logf("tracked interface down → backup holds VIP: %v (bound %v)", time.Since(start).Round(time.Millisecond), bound)
	holdFor(t, 300*time.Millisecond, "r1 in FAULT and r2 MASTER", func() bool {
		return r1.State("VI_1") == "FAULT" && r2.State("VI_1") == "MASTER"
	})

	setLinkUp(t, n1.NS, "eth1")
	seq := healthStateSeq(t, r1, "VI_1", 5*time.Second, func(seq []string) bool { return healthEndsWith(seq, "MASTER") })
	if !healthEndsWith(seq, "FAULT", "BACKUP", "MASTER") {
		t.Errorf("r1 states after eth1 came up: %v, want FAULT BACKUP MASTER", seq)
	}
	waitFor(t, 2*time.Second, "r1 with the VIP, r2 BACKUP without it", func() bool {
		return hasVIP(t, n1.NS, ifName, vip) && r2.State("VI_1") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip)
	})
}
