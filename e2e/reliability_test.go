package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp/control"
)

// The reliability tests prove, on the real kernel, the rows of issue 8:
// what hosts and operators do to a running xvrrpd (addresses removed,
// interfaces deleted, renamed or late, BPF links detached, a second
// daemon, lost adverts in a sync group, a time namespace, mismatched
// peers, hung scripts, signals). Each logs its measured time to recover as
// a line "RECOVER row=<row> dataplane=<dp> ms=<n>".

// TestReliabilityVIPDeletedRestored (row 1): a VIP deleted behind the
// master's back (RTM_DELADDR, what `ip addr del` sends) is added again at
// once, announced with a gratuitous ARP burst and logged at warn; the
// status shows it held again, and the client reaches it. The backup never
// notices. Done three times: the watch is not one-shot.
func TestReliabilityVIPDeletedRestored(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := fastPair(l, 61)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	dp := r1.Dataplane(t)
	garp := captureARP(t, l.Client.NS, ifName)
	// The takeover's second gratuitous ARP burst comes garp_master_delay
	// (5 s) after it; the deletions come between 1 s and 3 s after it, so
	// that burst cannot be mistaken for the restore's.
	if d := time.Until(r1.Instance(t, "VI_61").Since.Add(time.Second)); d > 0 {
		time.Sleep(d)
	}
	link, err := n1.Handle().LinkByName(ifName)
	if err != nil {
		t.Fatal(err)
	}
	addr := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(vip, 24))}

	var worst time.Duration
	for i := 1; i <= 3; i++ {
		garps := len(garp.Gratuitous(vip, n1.Link.HardwareAddr))
		if err := n1.Handle().AddrDel(link, addr); err != nil {
			t.Fatalf("delete %v from r1's %s: %v", vip, ifName, err)
		}
		took := pollFor(t, 2*time.Second, time.Millisecond, "the VIP back on r1", func() bool {
			return hasVIP(t, n1.NS, ifName, vip)
		})
		t.Logf("deletion %d: VIP back after %v", i, took)
		worst = max(worst, took)
		waitFor(t, 500*time.Millisecond, "a gratuitous ARP burst for the restored VIP from r1's MAC", func() bool {
			return len(garp.Gratuitous(vip, n1.Link.HardwareAddr)) > garps
		})
		waitFor(t, time.Second, fmt.Sprintf("%d warn lines \"virtual address removed by someone else\"", i), func() bool {
			return len(r1.logLines("WARN", "virtual address removed by someone else: adding it again", vip.String())) >= i
		})
		time.Sleep(200 * time.Millisecond)
	}
	logRecover(t, "1", dp, worst)

	in := r1.Instance(t, "VI_61")
	if in.State != "MASTER" || !in.HoldsVIPs || len(in.VIPs) != 1 || !in.VIPs[0].Held {
		t.Errorf("r1 status after the restores: state %s holds_vips %v vips %+v, want MASTER with the VIP held", in.State, in.HoldsVIPs, in.VIPs)
	}
	out, err := exec.Command(xvrrpctlPath(t), "--run-dir", r1.RunDir, "status", "--raw").CombinedOutput()
	if err != nil {
		t.Fatalf("xvrrpctl status --raw: %v: %s", err, out)
	}
	var st control.Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("decode xvrrpctl output %q: %v", out, err)
	}
	if len(st.Instances) != 1 || len(st.Instances[0].VIPs) != 1 || !st.Instances[0].VIPs[0].Held {
		t.Errorf("xvrrpctl --json status: %s, want vips[0].held true", out)
	}
	if r2.State("VI_61") != "BACKUP" || hasVIP(t, n2.NS, ifName, vip) {
		t.Errorf("r2 is %s (VIP held: %v), want BACKUP without the VIP", r2.State("VI_61"), hasVIP(t, n2.NS, ifName, vip))
	}
	if err := l.Client.Ping(vip, 5, time.Second); err != nil {
		t.Fatalf("client ping %v after the restores: %v", vip, err)
	}
	if mac := neighbourMAC(t, l.Client.NS, ifName, vip); mac.String() != n1.Link.HardwareAddr.String() {
		t.Errorf("client's neighbour entry for %v is %v, want r1's MAC %v", vip, mac, n1.Link.HardwareAddr)
	}
}

// TestReliabilityLinkRecreated (row 2): the master's interface is deleted
// and created again (a new veth with the same name and addresses: a new
// ifindex). Meanwhile the master is in FAULT with the reason and the
// backup is the one master; after the link returns the old master binds to
// the new ifindex (the BPF program attached there again, on XDP and tc),
// leaves FAULT and preempts back. The two never hold the VIP together but
// for the moment of that handover.
func TestReliabilityLinkRecreated(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := fastPair(l, 62)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	dp := r1.Dataplane(t)
	kernel := dp != "socket"
	var before bpfAttachment
	if kernel {
		var ok bool
		if before, ok = receiveAttachment(t, n1.NS, ifName); !ok {
			t.Fatalf("no receive program attached to r1's %s on dataplane %s", ifName, dp)
		}
	}
	watch := watchDual(t, n1.NS, n2.NS, ifName, vip)
	oldIndex := n1.Link.Index

	t0 := time.Now()
	deleteLink(t, n1, ifName)
	took := waitFor(t, masterDownInterval(fastInterval, 100)+2*time.Second, "r1 FAULT with a reason, r2 MASTER with the VIP", func() bool {
		in := r1.Instance(t, "VI_62")
		return in.State == "FAULT" && in.Fault != "" && r2.State("VI_62") == "MASTER" && hasVIP(t, n2.NS, ifName, vip)
	})
	fault := r1.Instance(t, "VI_62").Fault
	t.Logf("r1's %s deleted: r1 FAULT (%q), r2 MASTER after %v", ifName, fault, took)
	if !strings.Contains(fault, ifName) {
		t.Errorf("r1's fault reason %q does not name %s", fault, ifName)
	}
	holdFor(t, time.Second, "r1 FAULT and r2 the only master while the link is gone", func() bool {
		return r1.State("VI_62") == "FAULT" && r2.State("VI_62") == "MASTER" && hasVIP(t, n2.NS, ifName, vip)
	})

	t1 := time.Now()
	newIndex := reconnect(t, l, n1)
	if newIndex == oldIndex {
		t.Fatalf("the recreated %s has the old ifindex %d", ifName, oldIndex)
	}
	took = waitFor(t, 10*time.Second, "r1 MASTER with the VIP on the new link, r2 BACKUP without", func() bool {
		return r1.State("VI_62") == "MASTER" && hasVIP(t, n1.NS, ifName, vip) &&
			r2.State("VI_62") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip)
	})
	logRecover(t, "2", dp, time.Since(t1))
	t.Logf("link recreated (ifindex %d → %d): r1 MASTER again after %v", oldIndex, newIndex, took)
	if in := r1.Instance(t, "VI_62"); in.Fault != "" || in.Source != n1.Addr4().String() {
		t.Errorf("r1 after the link returned: fault %q source %q, want no fault and source %v", in.Fault, in.Source, n1.Addr4())
	}
	if kernel {
		after, ok := receiveAttachment(t, n1.NS, ifName)
		if !ok {
			t.Fatalf("no receive program attached to the recreated %s", ifName)
		}
		if after.LinkID == before.LinkID {
			t.Errorf("the recreated %s runs the old bpf link %d", ifName, before.LinkID)
		}
		t.Logf("receive program re-attached: %s link %d (was %s link %d)", after.Kind, after.LinkID, before.Kind, before.LinkID)
	}
	holdFor(t, time.Second, "r1 MASTER, r2 BACKUP, only r1 holding the VIP", func() bool {
		return r1.State("VI_62") == "MASTER" && r2.State("VI_62") == "BACKUP" &&
			hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
	})
	// Only the preemption's handover may show both (r1 adds the VIP and
	// advertises; r2 removes it when the advert arrives: at once when the
	// dataplane reports r1's return, at r2's next advert at the latest).
	both := watch.Since(t0)
	t.Logf("both holding the VIP since the deletion: %v (%d samples)", both, watch.Samples())
	if handover := 2*fastInterval + 50*time.Millisecond; len(both) > 1 || longest(both) > handover {
		t.Errorf("both routers held the VIP %v, want at most one handover of at most %v", both, handover)
	}
	if err := l.Client.Ping(vip, 5, time.Second); err != nil {
		t.Fatalf("client ping %v after the link returned: %v", vip, err)
	}
	r1.checkNoPanic(t)
}

// TestReliabilityLinkRenamed (row 3): the master's interface is renamed
// while up (the kernels this runs on allow it: no down/rename/up needed).
// The master goes to FAULT, resigns on the renamed link and removes its VIP
// from it; the backup takes over. Renamed back, the interface is bound
// again and the master preempts back.
func TestReliabilityLinkRenamed(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := fastPair(l, 63)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	dp := r1.Dataplane(t)
	const renamed = "ren0"

	t0 := time.Now()
	renameLink(t, n1.NS, ifName, renamed)
	gone := waitFor(t, 2*time.Second, "the VIP removed from the renamed link", func() bool {
		return !vipHeld(n1.NS, renamed, vip)
	})
	waitFor(t, masterDownInterval(fastInterval, 100)+2*time.Second, "r1 FAULT with a reason, r2 MASTER with the VIP", func() bool {
		in := r1.Instance(t, "VI_63")
		return in.State == "FAULT" && in.Fault != "" && r2.State("VI_63") == "MASTER" && hasVIP(t, n2.NS, ifName, vip)
	})
	took := time.Since(t0)
	fault := r1.Instance(t, "VI_63").Fault
	t.Logf("renamed %s → %s: VIP off the renamed link after %v; r1 FAULT (%q), r2 MASTER after %v", ifName, renamed, gone, fault, took)
	logRecover(t, "3", dp, took)
	if !strings.Contains(fault, renamed) {
		t.Errorf("r1's fault reason %q does not name the new name %s", fault, renamed)
	}
	holdFor(t, time.Second, "r1 FAULT without the VIP, r2 MASTER", func() bool {
		return r1.State("VI_63") == "FAULT" && !vipHeld(n1.NS, renamed, vip) && r2.State("VI_63") == "MASTER"
	})

	t1 := time.Now()
	renameLink(t, n1.NS, renamed, ifName)
	waitFor(t, 5*time.Second, "r1 MASTER again on the renamed-back link, r2 BACKUP", func() bool {
		return r1.State("VI_63") == "MASTER" && hasVIP(t, n1.NS, ifName, vip) &&
			r2.State("VI_63") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip)
	})
	logRecover(t, "3-renamed-back", dp, time.Since(t1))
	if dp != "socket" {
		if _, ok := receiveAttachment(t, n1.NS, ifName); !ok {
			t.Errorf("no receive program attached to %s after the rename back", ifName)
		}
	}
	r1.checkNoPanic(t)
}

// TestReliabilityAttachmentDetached (row 4): `bpftool link detach` of the
// backup's XDP or tcx link. The backup logs the loss at error level,
// attaches again within about a second, and stays BACKUP while the master
// advertises: it never becomes a deaf second master. Held for eight
// Master_Down_Intervals after the detach.
func TestReliabilityAttachmentDetached(t *testing.T) {
	testenv.RequireRoot(t)
	kernelDataplaneOnly(t)
	testenv.RequireCommand(t, "bpftool")
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := fastPair(l, 64)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	dp := r2.Dataplane(t)
	watch := watchDual(t, n1.NS, n2.NS, ifName, vip)
	before, ok := receiveAttachment(t, n2.NS, ifName)
	if !ok {
		t.Fatalf("no receive program attached to r2's %s on dataplane %s", ifName, dp)
	}

	t0 := time.Now()
	bpftoolDetach(t, before.LinkID)
	var after bpfAttachment
	took := waitFor(t, 2*time.Second, "a new receive link on r2's "+ifName, func() bool {
		a, ok := receiveAttachment(t, n2.NS, ifName)
		after = a
		return ok && a.LinkID != before.LinkID
	})
	logRecover(t, "4", dp, took)
	t.Logf("%s link %d detached: %s link %d attached after %v", before.Kind, before.LinkID, after.Kind, after.LinkID, took)
	waitFor(t, time.Second, "the error line \"receive path lost\"", func() bool {
		return len(r2.logLines("ERROR", "receive path lost")) > 0
	})
	mdi := masterDownInterval(fastInterval, 100)
	holdFor(t, 8*mdi-time.Since(t0), "r2 BACKUP without the VIP while r1 advertises", func() bool {
		return r2.State("VI_64") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip) &&
			r1.State("VI_64") == "MASTER" && hasVIP(t, n1.NS, ifName, vip)
	})
	if both := watch.Since(t0); len(both) > 0 {
		t.Errorf("both routers held the VIP after the detach: %v", both)
	}
	// Attached again, it hears the master: killed, the master is taken
	// over by r2 within Master_Down_Interval.
	t1 := time.Now()
	removeStaleLock(t, n1.NS)
	r1.Kill()
	setLinkDown(t, n1.NS, ifName)
	waitFor(t, mdi+time.Second, "r2 to take over from the killed master", func() bool {
		return hasVIP(t, n2.NS, ifName, vip)
	})
	t.Logf("takeover after SIGKILL of the master: %v (Master_Down_Interval %v)", time.Since(t1), mdi)
	r2.checkNoPanic(t)
}

// TestReliabilitySecondDaemon (row 6): a second xvrrpd in the namespace,
// with another --run-dir, exits 1 naming the first one's pid, before it
// touches anything: the first one's VIP, state and pinned maps stay.
func TestReliabilitySecondDaemon(t *testing.T) {
	testenv.RequireRoot(t)
	onlyDefaultDataplane(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := fastPair(l, 66)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	// `ip netns exec` gives the daemon a mount namespace of its own (and
	// its own /sys, where it mounts bpffs): its pins are seen through it.
	pinDir := filepath.Join(fmt.Sprintf("/proc/%d/root/sys/fs/bpf/xvrrp", r1.Pid()), filepath.Base(defaultRunDir(t, n1.NS)))
	dp := r1.Dataplane(t) // the pins are there once the kernel path is
	pins := pinInodes(t, pinDir)
	if len(pins) == 0 && dp != "socket" {
		t.Fatalf("no pinned maps in %s (dataplane %s)", pinDir, dp)
	}
	t.Logf("pins of r1: %v", pins)
	st0 := r1.Status(t)

	// Started in r1's mount namespace too, as two daemons of one host
	// would be (`ip netns exec` alone gives each its own /sys, and so its
	// own bpffs).
	nsenter := testenv.RequireCommand(t, "nsenter")
	second := startXvrrpdVia(t, n1.NS, "r1-second", keepalivedConf("r1", nil, m),
		[]string{nsenter, "--target", strconv.Itoa(r1.Pid()), "--mount", "--"})
	if second.RunDir == r1.RunDir {
		t.Fatalf("the second daemon shares the run dir %s", r1.RunDir)
	}
	err := second.Wait(10 * time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("second xvrrpd exited with %v, want exit status 1", err)
	}
	if lines := second.logLines("another xvrrpd runs in this network namespace", "pid "+strconv.Itoa(r1.Pid())); len(lines) == 0 {
		t.Errorf("second xvrrpd's output does not name the first one's pid %d:\n%s", r1.Pid(), second.LogText())
	}
	holdFor(t, time.Second, "r1 MASTER with the VIP, r2 BACKUP without", func() bool {
		return r1.State("VI_66") == "MASTER" && hasVIP(t, n1.NS, ifName, vip) &&
			r2.State("VI_66") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip)
	})
	if lines := r1.logLines("virtual address removed by someone else"); len(lines) > 0 {
		t.Errorf("the second daemon removed r1's VIP:\n%s", strings.Join(lines, "\n"))
	}
	st1 := r1.Status(t)
	if st1.Transitions != st0.Transitions {
		t.Errorf("r1 made %d transitions while the second daemon ran", st1.Transitions-st0.Transitions)
	}
	if got := pinInodes(t, pinDir); !mapsEqual(got, pins) {
		t.Errorf("pins in %s changed: %v, were %v", pinDir, got, pins)
	}
}

// pinInodes returns the inode of every file in dir (none when dir does not
// exist): a pin replaced by another daemon gets a new one.
func pinInodes(t testing.TB, dir string) map[string]uint64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	out := map[string]uint64{}
	for _, e := range ents {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, e.Name()), &st); err != nil {
			t.Fatalf("stat pin: %v", err)
		}
		out[e.Name()] = st.Ino
	}
	return out
}

func mapsEqual(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// secondLAN makes a new bridge and returns it with a /24 of its own
// (192.168.N.0/24).
func secondLAN(t testing.TB) (*netnstest.NS, netip.Prefix) {
	t.Helper()
	br := netnstest.Bridge(t)
	return br, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(lanSeq.Add(1) % 250), 0}), 24)
}

// hostIn returns host h of the /24 sub.
func hostIn(sub netip.Prefix, h byte) netip.Addr {
	a := sub.Addr().As4()
	a[3] = h
	return netip.AddrFrom4(a)
}

// TestReliabilityMissingInterface (row 7a): the configuration names an
// interface that does not exist (a typo). The daemon runs, the instance
// waits in FAULT with the reason; when an interface of that name appears,
// the instance starts (BACKUP, then MASTER alone).
func TestReliabilityMissingInterface(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1")
	n1 := l.Node(t, "r1")
	br, sub := secondLAN(t)
	const dev = "ehth0"
	vip := hostIn(sub, 201)
	in := vrrpInstance{State: "MASTER", Interface: dev, VRID: 71, Priority: 101, AdvertInt: "0.1", Version: 3,
		VIPs: []string{netip.PrefixFrom(vip, 24).String()}}
	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, in))
	waitFor(t, 5*time.Second, "VI_71 FAULT with a reason naming "+dev, func() bool {
		st, err := r1.QueryStatus()
		return err == nil && len(st.Instances) == 1 && st.Instances[0].State == "FAULT" && strings.Contains(st.Instances[0].Fault, dev)
	})
	holdFor(t, time.Second, "xvrrpd running, VI_71 in FAULT", func() bool {
		return !r1.Exited() && r1.State("VI_71") == "FAULT"
	})
	t.Logf("waiting: %q", r1.Instance(t, "VI_71").Fault)

	t0 := time.Now()
	n1.ConnectTo(t, br, dev, netip.PrefixFrom(hostIn(sub, 1), 24))
	waitFor(t, 5*time.Second, "VI_71 out of FAULT", func() bool {
		s := r1.State("VI_71")
		return s == "BACKUP" || s == "MASTER"
	})
	took := time.Since(t0)
	dp := r1.Dataplane(t) // the kernel path's mode is known once attached
	logRecover(t, "7a", dp, took)
	waitFor(t, 5*time.Second, "VI_71 MASTER with its VIP on "+dev, func() bool {
		return r1.State("VI_71") == "MASTER" && hasVIP(t, n1.NS, dev, vip)
	})
	if dp != "socket" {
		if _, ok := receiveAttachment(t, n1.NS, dev); !ok {
			t.Errorf("no receive program attached to %s", dev)
		}
	}
	r1.checkNoPanic(t)
}

// TestReliabilityNoAddressYet (row 7b): the interface exists but has no
// IPv4 address yet (a boot race: DHCP, NetworkManager). The instance waits
// in FAULT; when the address is added it starts and becomes master.
func TestReliabilityNoAddressYet(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1")
	n1 := l.Node(t, "r1")
	br, sub := secondLAN(t)
	const dev = "eth1"
	n1.ConnectTo(t, br, dev) // up, IPv6 link-local only
	vip := hostIn(sub, 201)
	in := vrrpInstance{State: "MASTER", Interface: dev, VRID: 72, Priority: 101, AdvertInt: "0.1", Version: 3,
		VIPs: []string{netip.PrefixFrom(vip, 24).String()}}
	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, in))
	waitFor(t, 5*time.Second, "VI_72 FAULT with a reason", func() bool {
		st, err := r1.QueryStatus()
		return err == nil && len(st.Instances) == 1 && st.Instances[0].State == "FAULT" && st.Instances[0].Fault != ""
	})
	holdFor(t, time.Second, "xvrrpd running, VI_72 in FAULT", func() bool {
		return !r1.Exited() && r1.State("VI_72") == "FAULT"
	})
	t.Logf("waiting: %q", r1.Instance(t, "VI_72").Fault)

	lk, err := n1.Handle().LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := n1.Handle().AddrAdd(lk, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(hostIn(sub, 1), 24))}); err != nil {
		t.Fatalf("add the address: %v", err)
	}
	waitFor(t, 5*time.Second, "VI_72 out of FAULT", func() bool {
		s := r1.State("VI_72")
		return s == "BACKUP" || s == "MASTER"
	})
	took := time.Since(t0)
	dp := r1.Dataplane(t) // the kernel path's mode is known once attached
	logRecover(t, "7b", dp, took)
	waitFor(t, 5*time.Second, "VI_72 MASTER with its VIP", func() bool {
		return r1.State("VI_72") == "MASTER" && hasVIP(t, n1.NS, dev, vip)
	})
	if in := r1.Instance(t, "VI_72"); in.Source != hostIn(sub, 1).String() {
		t.Errorf("VI_72 source %q, want %v", in.Source, hostIn(sub, 1))
	}
	r1.checkNoPanic(t)
}

// TestReliabilityVIPOnMissingDevice (row 7c): one VIP names a device that
// does not exist (`dev nosuch0`). The daemon runs and becomes master with
// its other VIP, logs an error for that one and shows it not held; when
// the device appears, the master adds the VIP there.
func TestReliabilityVIPOnMissingDevice(t *testing.T) {
	testenv.RequireRoot(t)
	onlyDefaultDataplane(t)
	t.Parallel()
	l := newLAN(t, "r1")
	n1 := l.Node(t, "r1")
	vip1, vip2 := l.VIP4(1), l.VIP4(2)
	const dev = "nosuch0"
	in := vrrpInstance{State: "MASTER", VRID: 73, Priority: 101, AdvertInt: "0.1", Version: 3,
		VIPs: []string{vip1.String() + "/24", vip2.String() + "/32 dev " + dev}}
	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, in))
	waitFor(t, 5*time.Second, "VI_73 MASTER with its VIP on "+ifName, func() bool {
		return r1.State("VI_73") == "MASTER" && hasVIP(t, n1.NS, ifName, vip1)
	})
	dp := r1.Dataplane(t)
	waitFor(t, time.Second, "an error line for the VIP on "+dev, func() bool {
		return len(r1.logLines("ERROR", vip2.String(), dev)) > 0
	})
	t.Logf("logged: %s", r1.logLines("ERROR", vip2.String(), dev)[0])
	vs := r1.Instance(t, "VI_73").VIPs
	if len(vs) != 2 || !vs[0].Held || vs[1].Held || vs[1].Dev != dev {
		t.Errorf("status vips %+v, want the first held and the one on %s not", vs, dev)
	}
	holdFor(t, 500*time.Millisecond, "xvrrpd running, VI_73 MASTER", func() bool {
		return !r1.Exited() && r1.State("VI_73") == "MASTER"
	})

	t0 := time.Now()
	// A veth pair inside the node (this kernel has no dummy driver).
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: dev}, PeerName: dev + "p"}
	if err := n1.Handle().LinkAdd(veth); err != nil {
		t.Fatalf("add %s: %v", dev, err)
	}
	setLinkUp(t, n1.NS, dev+"p")
	setLinkUp(t, n1.NS, dev)
	waitFor(t, 3*time.Second, "the VIP added to "+dev+" once it exists", func() bool {
		return hasVIP(t, n1.NS, dev, vip2)
	})
	logRecover(t, "7c", dp, time.Since(t0))
	waitFor(t, time.Second, "the status showing both VIPs held", func() bool {
		vs := r1.Instance(t, "VI_73").VIPs
		return len(vs) == 2 && vs[0].Held && vs[1].Held
	})
	r1.checkNoPanic(t)
}

// TestReliabilityXDPCannotAttach (row 7d): --dataplane xdp on an interface
// where XDP cannot attach: another program holds its XDP slot in driver
// mode through a bpf_link (then the kernel refuses a second link there,
// and generic XDP too: native and generic XDP cannot be active at once).
// The daemon runs, the instance waits in FAULT with the reason; once the
// other program is gone, it attaches within its periodic check and starts.
func TestReliabilityXDPCannotAttach(t *testing.T) {
	testenv.RequireRoot(t)
	onlyDefaultDataplane(t) // it asks for --dataplane xdp itself
	t.Parallel()
	l := newLAN(t, "r1")
	n1 := l.Node(t, "r1")
	vip := l.VIP4(1)
	release := blockXDP(t, n1.NS, ifName)
	blocker, ok := receiveAttachment(t, n1.NS, ifName)
	if !ok || blocker.Kind != "xdp" {
		t.Fatalf("the blocking XDP program is not attached: %+v", blocker)
	}
	in := vrrpInstance{State: "MASTER", VRID: 74, Priority: 101, AdvertInt: "0.1", Version: 3,
		VIPs: []string{vip.String() + "/24"}}
	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, in), "--dataplane", "xdp")
	waitFor(t, 5*time.Second, "VI_74 FAULT with a receive path reason", func() bool {
		st, err := r1.QueryStatus()
		return err == nil && len(st.Instances) == 1 && st.Instances[0].State == "FAULT" &&
			strings.Contains(st.Instances[0].Fault, "receive path")
	})
	t.Logf("waiting: %q", r1.Instance(t, "VI_74").Fault)
	holdFor(t, 1500*time.Millisecond, "xvrrpd running, VI_74 in FAULT without the VIP", func() bool {
		return !r1.Exited() && r1.State("VI_74") == "FAULT" && !hasVIP(t, n1.NS, ifName, vip)
	})
	r1.checkNoPanic(t)

	t0 := time.Now()
	release()
	waitFor(t, 5*time.Second, "VI_74 out of FAULT", func() bool {
		s := r1.State("VI_74")
		return s == "BACKUP" || s == "MASTER"
	})
	logRecover(t, "7d", "xdp", time.Since(t0))
	waitFor(t, 5*time.Second, "VI_74 MASTER with its VIP", func() bool {
		return r1.State("VI_74") == "MASTER" && hasVIP(t, n1.NS, ifName, vip)
	})
	if a, ok := receiveAttachment(t, n1.NS, ifName); !ok || a.Kind != "xdp" || a.ProgID == blocker.ProgID {
		t.Errorf("attachment after the release: %+v (ok %v), want xvrrpd's XDP program", a, ok)
	}
	if dp := r1.Dataplane(t); !strings.HasPrefix(dp, "xdp") {
		t.Errorf("dataplane %q, want xdp", dp)
	}
}

// TestReliabilitySyncGroupAdvertsLost (row 8): a vrrp_sync_group of two
// instances (VRIDs 81 and 82 on eth0) on a master (101) and a backup
// (100); the master's adverts of VRID 82 are lost (dropped at its egress,
// so that every dataplane of the backup misses them). The backup's VRID 82
// times out and takes its group to MASTER; the master, which outranks it,
// must stay master of VRID 81, and the backup's group must give VRID 81
// back within a few seconds (or never take it): after a settle period the
// two never hold VRID 81's VIP together, and the master holds it
// throughout. When the adverts flow again, the group returns to the
// master.
func TestReliabilitySyncGroupAdvertsLost(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vipA, vipB := l.VIP4(1), l.VIP4(2)
	group := "vrrp_sync_group G1 {\n    group {\n        VI_A\n        VI_B\n    }\n}\n"
	start := func(router, state string, prio int) *xvrrpd {
		a := vrrpInstance{Name: "VI_A", State: state, VRID: 81, Priority: prio, AdvertInt: "0.1", Version: 3,
			VIPs: []string{vipA.String() + "/24"}}
		b := vrrpInstance{Name: "VI_B", State: state, VRID: 82, Priority: prio, AdvertInt: "0.1", Version: 3,
			VIPs: []string{vipB.String() + "/24"}}
		return startXvrrpd(t, l.Node(t, router).NS, router, healthConf(router, nil, []string{group}, a, b))
	}
	both := func(x *xvrrpd, state string) bool { return x.State("VI_A") == state && x.State("VI_B") == state }
	r1 := start("r1", "MASTER", 101)
	waitFor(t, 5*time.Second, "r1 MASTER of both", func() bool { return both(r1, "MASTER") })
	r2 := start("r2", "BACKUP", 100)
	waitFor(t, 5*time.Second, "r2 BACKUP of both, r1 holding both VIPs", func() bool {
		return both(r2, "BACKUP") && hasVIP(t, n1.NS, ifName, vipA) && hasVIP(t, n1.NS, ifName, vipB)
	})
	dp := r2.Dataplane(t)
	// The client resolves VRID 81's VIP (to r1), as a user of it would.
	if err := l.Client.Ping(vipA, 3, time.Second); err != nil {
		t.Fatalf("client ping %v: %v", vipA, err)
	}
	watchA := watchDual(t, n1.NS, n2.NS, ifName, vipA)
	garp := captureARP(t, l.Client.NS, ifName)
	tr0 := r2.Status(t).Transitions

	const settle, observe = 3 * time.Second, 5 * time.Second
	t0 := time.Now()
	flow := dropVRIDEgress(t, n1.NS, ifName, 82)
	// r2's states as seen every 10 ms, for the record.
	var seq []string
	last := ""
	deadline := t0.Add(settle + observe)
	for time.Now().Before(deadline) {
		s := r2.State("VI_A") + "/" + r2.State("VI_B")
		if s != last {
			seq = append(seq, fmt.Sprintf("%s@%v", s, time.Since(t0).Round(time.Millisecond)))
			last = s
		}
		if r1.State("VI_A") != "MASTER" || !hasVIP(t, n1.NS, ifName, vipA) {
			t.Fatalf("r1 lost VRID 81 (state %s) %v after VRID 82's adverts were cut: r2 went %v",
				r1.State("VI_A"), time.Since(t0), seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tr := r2.Status(t).Transitions - tr0
	t.Logf("VRID 82's adverts lost for %v: r2 (VI_A/VI_B) went %s; %d transitions", settle+observe, strings.Join(seq, " → "), tr)
	early, late := watchA.Since(t0), watchA.Since(t0.Add(settle))
	t.Logf("both holding VRID 81's VIP: %d times in all (longest %v), %d after the %v settle period (longest %v)",
		len(early), longest(early), len(late), settle, longest(late))
	if len(late) > 0 {
		t.Errorf("r1 and r2 both held VRID 81's VIP %d times after the settle period: %v", len(late), late)
		// What a client makes of it: each of r2's takeovers announces
		// VRID 81's VIP with r2's MAC; r1, master all along, does not.
		t.Logf("gratuitous ARPs for VRID 81's VIP seen by the client: %d from r2, %d from r1; client's neighbour entry now %v (r1 %v, r2 %v)",
			len(garp.Gratuitous(vipA, n2.Link.HardwareAddr)), len(garp.Gratuitous(vipA, n1.Link.HardwareAddr)),
			neighbourMAC(t, l.Client.NS, ifName, vipA), n1.Link.HardwareAddr, n2.Link.HardwareAddr)
	}
	if !hasVIP(t, n1.NS, ifName, vipA) || hasVIP(t, n2.NS, ifName, vipA) {
		t.Errorf("at the end VRID 81's VIP is on r1: %v, on r2: %v; want r1 only", hasVIP(t, n1.NS, ifName, vipA), hasVIP(t, n2.NS, ifName, vipA))
	}
	if len(late) == 0 {
		// Never two masters after the settle period: the time to recover
		// is the longest overlap before it (0: none at all).
		logRecover(t, "8", dp, longest(early))
	} else {
		t.Logf("RECOVER row=8 dataplane=%s ms=none (never settled: r2's group took VRID 81 %d times in %v after the settle period, each for up to %v)",
			dp, len(late), observe, longest(late))
	}

	t1 := time.Now()
	flow()
	waitFor(t, 5*time.Second, "r1 MASTER of both with both VIPs, r2 BACKUP of both without", func() bool {
		return both(r1, "MASTER") && both(r2, "BACKUP") &&
			hasVIP(t, n1.NS, ifName, vipA) && hasVIP(t, n1.NS, ifName, vipB) &&
			!hasVIP(t, n2.NS, ifName, vipA) && !hasVIP(t, n2.NS, ifName, vipB)
	})
	logRecover(t, "8-adverts-back", dp, time.Since(t1))
}

// TestReliabilityTimeNamespace (row 9): the backup runs in a time
// namespace whose CLOCK_MONOTONIC is a day ahead of the kernel's (the
// clock BPF timestamps use), on the kernel path. It stays BACKUP next to a
// normal master (no second master), and takes over within
// Master_Down_Interval when the master is killed.
func TestReliabilityTimeNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	kernelDataplaneOnly(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := fastPair(l, 75)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, m))
	waitFor(t, 5*time.Second, "r1 MASTER", func() bool { return r1.State("VI_75") == "MASTER" })
	r2 := startXvrrpdTimens(t, n2.NS, "r2", keepalivedConf("r2", nil, b), 86400)
	waitFor(t, 5*time.Second, "r2 BACKUP", func() bool { return r2.State("VI_75") == "BACKUP" })
	pid := r2.daemonPid()
	offsets, err := os.ReadFile(fmt.Sprintf("/proc/%d/timens_offsets", pid))
	if f := strings.Fields(string(offsets)); err != nil || len(f) < 2 || f[0] != "monotonic" || f[1] != "86400" {
		t.Fatalf("xvrrpd %d is not in the time namespace: %q, %v", pid, offsets, err)
	}
	dp := r2.Dataplane(t)
	watch := watchDual(t, n1.NS, n2.NS, ifName, vip)

	holdFor(t, 10*time.Second, "r2 BACKUP without the VIP, r1 MASTER with it", func() bool {
		return r2.State("VI_75") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip) &&
			r1.State("VI_75") == "MASTER" && hasVIP(t, n1.NS, ifName, vip)
	})
	if both := watch.Since(time.Time{}); len(both) > 0 {
		t.Errorf("both held the VIP: %v", both)
	}
	mdi := masterDownInterval(fastInterval, 100)
	t0 := time.Now()
	removeStaleLock(t, n1.NS)
	r1.Kill()
	setLinkDown(t, n1.NS, ifName)
	took := waitFor(t, mdi+time.Second, "r2 to take the VIP", func() bool {
		return hasVIP(t, n2.NS, ifName, vip)
	})
	t.Logf("takeover in the time namespace after SIGKILL: %v (Master_Down_Interval %v)", took, mdi)
	logRecover(t, "9", dp, time.Since(t0))
	waitFor(t, time.Second, "r2 MASTER", func() bool { return r2.State("VI_75") == "MASTER" })
}

// TestReliabilityAuthMismatchLogged (row 10): two routers with different
// auth_pass (VRRPv2, auth_type PASS) drop each other's adverts, on every
// dataplane. Each logs one warn line naming the peer and the reason
// auth_data_mismatch within a few seconds of the peer's first advert, and
// no second one within the minute (counted over 5 s: 5 adverts).
func TestReliabilityAuthMismatchLogged(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 76)
	m.AuthPass, b.AuthPass = "pass-one", "pass-two"
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, m))
	r2 := startXvrrpd(t, n2.NS, "r2", keepalivedConf("r2", nil, b))
	dp := r1.Dataplane(t)
	const msg = "advert from a peer dropped: its configuration differs"
	lines := func(x *xvrrpd, peer netip.Addr) []string {
		return x.logLines("WARN", msg, `"src": "`+peer.String()+`"`, "auth_data_mismatch")
	}
	// Neither hears the other: both become master after
	// Master_Down_Interval and advertise every second.
	mdi := masterDownInterval(time.Second, 100)
	waitFor(t, mdi+3*time.Second, "both MASTER", func() bool {
		return r1.State("VI_76") == "MASTER" && r2.State("VI_76") == "MASTER"
	})
	for _, c := range []struct {
		x, peerX *xvrrpd
		peer     netip.Addr
	}{{r1, r2, n2.Addr4()}, {r2, r1, n1.Addr4()}} {
		waitFor(t, 5*time.Second, c.x.Name+" logging the mismatch of "+c.peer.String(), func() bool {
			return len(lines(c.x, c.peer)) > 0
		})
		// From the peer's transition to MASTER (its first advert) to the
		// warn line, by the two logs' timestamps.
		line := lines(c.x, c.peer)[0]
		becameMaster := c.peerX.logLines("state transition", `"to": "MASTER"`)
		if len(becameMaster) == 0 {
			t.Fatalf("%s logged no transition to MASTER", c.peerX.Name)
		}
		// The first advert leaves just before the transition is logged:
		// a few ms below zero is "at once".
		took := max(0, logTime(t, line).Sub(logTime(t, becameMaster[0])))
		t.Logf("%s: %s (%v after %s became master)", c.x.Name, line, took, c.peerX.Name)
		logRecover(t, "10", dp, took)
	}
	time.Sleep(5 * time.Second)
	for _, c := range []struct {
		x    *xvrrpd
		peer netip.Addr
	}{{r1, n2.Addr4()}, {r2, n1.Addr4()}} {
		if got := lines(c.x, c.peer); len(got) != 1 {
			t.Errorf("%s logged the mismatch of %v %d times in about 6 s, want once a minute:\n%s",
				c.x.Name, c.peer, len(got), strings.Join(got, "\n"))
		}
		if all := c.x.logLines("WARN", msg); len(all) != 1 {
			t.Errorf("%s logged %d mismatch lines, want 1:\n%s", c.x.Name, len(all), strings.Join(all, "\n"))
		}
	}
}

// TestReliabilityNotifyHung (row 11): notify_master is a script that
// never exits. Later notifications of the instance still run, each within
// about a second (notify_fault, notify_backup); at SIGTERM notify_stop
// starts before the daemon exits. The hung scripts are killed by pid at
// cleanup.
func TestReliabilityNotifyHung(t *testing.T) {
	testenv.RequireRoot(t)
	onlyDefaultDataplane(t)
	t.Parallel()
	l := newLAN(t, "r1")
	n1 := l.Node(t, "r1")
	vip := l.VIP4(1)
	dir := t.TempDir()
	pids := filepath.Join(dir, "hung.pids")
	hung := filepath.Join(dir, "hung.sh")
	writeHealthScript(t, hung, "echo $$ >> "+pids+"\nexec sleep 1000\n")
	t.Cleanup(func() {
		for _, p := range healthLines(t, pids) {
			pid, err := strconv.Atoi(p)
			if err == nil && pid > 0 && pidAlive(pid) {
				if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.HasPrefix(string(cmd), "sleep\x00") {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	})
	mark, out := healthNotifyScript(t)
	stopOut := filepath.Join(dir, "stop.out")
	stop := filepath.Join(dir, "stop.sh")
	writeHealthScript(t, stop, "echo stop >> "+stopOut+"\n")
	flag := newHealthFlag(t)
	s := healthScript{Name: "chk", Script: flag.Script, Interval: "1", Fall: 1, Rise: 1}
	in := vrrpInstance{Name: "VI_1", State: "MASTER", VRID: 77, Priority: 110, AdvertInt: "0.1", Version: 3,
		VIPs: []string{vip.String() + "/24"},
		Extra: append(healthTrackScript("chk"),
			`notify_master "`+hung+`"`,
			`notify_backup "`+mark+` backup"`,
			`notify_fault "`+mark+` fault"`,
			`notify_stop "`+stop+`"`,
		)}
	r1 := startXvrrpd(t, n1.NS, "r1", healthConf("r1", nil, []string{healthScriptConf(s)}, in))
	waitFor(t, 5*time.Second, "r1 MASTER and its notify_master hung", func() bool {
		p := healthLines(t, pids)
		return r1.State("VI_1") == "MASTER" && len(p) == 1
	})
	first, _ := strconv.Atoi(healthLines(t, pids)[0])
	if !pidAlive(first) {
		t.Fatalf("the hung notify_master (pid %d) is not running", first)
	}
	has := func(word string) func() bool {
		return func() bool {
			for _, l := range healthLines(t, out) {
				if l == word {
					return true
				}
			}
			return false
		}
	}

	flag.Fail(t)
	waitFor(t, 3*time.Second, "r1 FAULT", func() bool { return r1.State("VI_1") == "FAULT" })
	took := waitFor(t, 3*time.Second, "notify_fault run while notify_master hangs", has("fault"))
	t.Logf("notify_fault ran %v after FAULT showed (notify_master pid %d still running: %v)", took, first, pidAlive(first))
	if took > 2*time.Second {
		t.Errorf("notify_fault ran %v after FAULT, want within 2 s", took)
	}
	logRecover(t, "11", "any", took)

	flag.Heal(t)
	waitFor(t, 3*time.Second, "r1 out of FAULT", func() bool { return r1.State("VI_1") != "FAULT" })
	took = waitFor(t, 3*time.Second, "notify_backup run", has("backup"))
	t.Logf("notify_backup ran %v after leaving FAULT", took)
	waitFor(t, 5*time.Second, "r1 MASTER again and a second notify_master hung", func() bool {
		return r1.State("VI_1") == "MASTER" && len(healthLines(t, pids)) == 2
	})

	t0 := time.Now()
	if err := syscall.Kill(r1.Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r1.Wait(5 * time.Second); err != nil {
		t.Errorf("xvrrpd exit after SIGTERM: %v", err)
	}
	exited := time.Since(t0)
	took = waitFor(t, time.Second, "the notify_stop script's file", func() bool {
		_, err := os.Stat(stopOut)
		return err == nil
	})
	t.Logf("SIGTERM with two hung notify_master scripts: exit after %v, notify_stop's file %v later", exited, took)
	if exited > 2*time.Second {
		t.Errorf("xvrrpd took %v to exit after SIGTERM, want < 2 s", exited)
	}
	logRecover(t, "11-stop", "any", exited+took)
}

// TestReliabilitySignals: SIGUSR1 and SIGUSR2 write xvrrpd.data and
// xvrrpd.stats into the run dir; SIGHUP with a broken configuration
// changes nothing (errors logged, state and VIP untouched, the daemon
// runs); SIGQUIT, like every catchable terminating signal, makes the
// master resign: the backup takes over after Skew_Time, not
// Master_Down_Interval, and the daemon exits 0.
// Reference: RFC 3768 §6.4.3 (Shutdown: priority 0), §6.4.2.
func TestReliabilitySignals(t *testing.T) {
	testenv.RequireRoot(t)
	onlyDefaultDataplane(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 78)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)

	for _, c := range []struct {
		sig  syscall.Signal
		file string
		want string
	}{{syscall.SIGUSR1, "xvrrpd.data", `"VI_78"`}, {syscall.SIGUSR2, "xvrrpd.stats", `"adverts_sent"`}} {
		path := filepath.Join(r1.RunDir, c.file)
		if err := syscall.Kill(r1.Pid(), c.sig); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Second, c.file+" in the run dir", func() bool { _, err := os.Stat(path); return err == nil })
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil || !strings.Contains(string(data), c.want) {
			t.Errorf("%s after %v: %v; want JSON with %s:\n%s", c.file, c.sig, err, c.want, data)
		}
	}

	st0 := r1.Status(t)
	in0 := r1.Instance(t, "VI_78")
	broken := "global_defs {\n    router_id r1\n}\nvrrp_instance VI_78 {\n    state MASTER\n    interface eth0\n" +
		"    virtual_router_id 300\n    priority 101\n    virtual_ipaddress {\n        " + vip.String() + "/24\n"
	if err := os.WriteFile(r1.Conf, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(r1.Pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "the broken configuration refused", func() bool {
		st, err := r1.QueryStatus()
		return err == nil && st.ReloadErrors == st0.ReloadErrors+1 && len(r1.logLines("reload refused")) > 0
	})
	if !strings.Contains(r1.LogText(), r1.Conf+":") {
		t.Errorf("the refused reload's errors do not name %s:\n%s", r1.Conf, r1.LogText())
	}
	holdFor(t, 1500*time.Millisecond, "r1 running, MASTER with the VIP; r2 BACKUP", func() bool {
		return !r1.Exited() && r1.State("VI_78") == "MASTER" && hasVIP(t, n1.NS, ifName, vip) &&
			r2.State("VI_78") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip)
	})
	st1, in1 := r1.Status(t), r1.Instance(t, "VI_78")
	if st1.Transitions != st0.Transitions || st1.Reloads != st0.Reloads || !in1.Since.Equal(in0.Since) || in1.Priority != in0.Priority {
		t.Errorf("after the refused reload: transitions %d→%d, reloads %d→%d, since %v→%v, priority %d→%d; want all unchanged",
			st0.Transitions, st1.Transitions, st0.Reloads, st1.Reloads, in0.Since, in1.Since, in0.Priority, in1.Priority)
	}

	t0 := time.Now()
	if err := syscall.Kill(r1.Pid(), syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	if err := r1.Wait(5 * time.Second); err != nil {
		t.Errorf("xvrrpd exit after SIGQUIT: %v, want status 0", err)
	}
	exited := time.Since(t0)
	if hasVIP(t, n1.NS, ifName, vip) {
		t.Errorf("r1 still holds the VIP after SIGQUIT")
	}
	waitFor(t, 3*time.Second, "r2 to take the VIP", func() bool { return hasVIP(t, n2.NS, ifName, vip) })
	took := time.Since(t0)
	t.Logf("SIGQUIT: exit after %v, takeover after %v (Skew_Time 0.61 s, Master_Down_Interval %v)",
		exited, took, masterDownInterval(time.Second, 100))
	if took >= 1500*time.Millisecond {
		t.Errorf("takeover after SIGQUIT took %v, want < 1.5 s (priority 0 advert → Skew_Time)", took)
	}
	logRecover(t, "sigquit", "any", took)
	if len(r1.logLines("stopping", "quit")) == 0 {
		t.Errorf("no \"stopping\" line naming SIGQUIT in r1's log")
	}
}
