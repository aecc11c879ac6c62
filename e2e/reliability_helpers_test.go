package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// Helpers of the reliability tests (issue 8: what hosts and operators do
// to a running xvrrpd).

// e2eDataplane is the dataplane this run of the suite gives every xvrrpd
// (XVRRP_E2E_DATAPLANE; "auto" when unset).
func e2eDataplane() string {
	if dp := os.Getenv("XVRRP_E2E_DATAPLANE"); dp != "" {
		return dp
	}
	return "auto"
}

// onlyDefaultDataplane skips a test whose behaviour does not depend on the
// dataplane in the tc and socket runs of the suite: the default run has it.
func onlyDefaultDataplane(t *testing.T) {
	t.Helper()
	if dp := e2eDataplane(); dp != "auto" && dp != "xdp" {
		t.Skipf("does not depend on the dataplane: runs in the default (XDP) run only, not with XVRRP_E2E_DATAPLANE=%s", dp)
	}
}

// kernelDataplaneOnly skips a test about the BPF receive path in the socket
// run of the suite.
func kernelDataplaneOnly(t *testing.T) {
	t.Helper()
	if dp := e2eDataplane(); dp == "socket" {
		t.Skipf("tests the bpf receive path: nothing to test with XVRRP_E2E_DATAPLANE=%s", dp)
	}
}

// fastPair is a MASTER 101 / BACKUP 100 pair of VRRPv3 instances with
// advert_int 0.1 (Master_Down_Interval 0.36 s for the backup) and one
// IPv4 VIP, VIP4(1).
func fastPair(l *lan, vrid int) (master, backup vrrpInstance) {
	base := vrrpInstance{
		VRID:      vrid,
		AdvertInt: "0.1",
		Version:   3,
		VIPs:      []string{l.VIP4(1).String() + "/24"},
	}
	master, backup = base, base
	master.State, master.Priority = "MASTER", 101
	backup.State, backup.Priority = "BACKUP", 100
	return master, backup
}

// fastInterval is fastPair's advert_int.
const fastInterval = 100 * time.Millisecond

// logRecover logs the measured time to recover of a row of issue 8 as one
// greppable line: RECOVER row=<row> dataplane=<dp> ms=<n>.
func logRecover(t testing.TB, row, dp string, d time.Duration) {
	t.Helper()
	t.Logf("RECOVER row=%s dataplane=%s ms=%d", row, dp, d.Milliseconds())
}

// pollFor polls cond every interval until it holds and returns how long
// that took; after timeout it fails the test naming what was awaited.
// waitFor polls every 10 ms; this is for measurements that need finer.
func pollFor(t testing.TB, timeout, interval time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(interval)
	}
}

// vipHeld is hasVIP for background goroutines and for devices that may be
// missing: it never fails the test, and a missing device holds nothing.
func vipHeld(ns *netnstest.NS, dev string, vip netip.Addr) bool {
	h := ns.Handle()
	l, err := h.LinkByName(dev)
	if err != nil {
		return false
	}
	for range 5 {
		addrs, err := h.AddrList(l, netlink.FAMILY_V4)
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			return false
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == vip {
				return true
			}
		}
		return false
	}
	return false
}

// logLines returns the lines of the daemon's log that contain every one of
// parts.
func (x *xvrrpd) logLines(parts ...string) []string {
	var out []string
next:
	for _, line := range strings.Split(x.LogText(), "\n") {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// logTime returns the timestamp that starts a console log line.
func logTime(t testing.TB, line string) time.Time {
	t.Helper()
	f := strings.Fields(line)
	if len(f) == 0 {
		t.Fatalf("log line without a timestamp: %q", line)
	}
	ts, err := time.Parse("2006-01-02T15:04:05.000Z0700", f[0])
	if err != nil {
		t.Fatalf("log line timestamp %q: %v", f[0], err)
	}
	return ts
}

// checkNoPanic fails the test when the daemon's log shows a Go panic.
func (x *xvrrpd) checkNoPanic(t testing.TB) {
	t.Helper()
	if log := x.LogText(); strings.Contains(log, "panic:") || strings.Contains(log, "[running]:") {
		t.Errorf("xvrrpd %s panicked", x.Name)
	}
}

// ---------------------------------------------------------------------------
// Two holders of one VIP.

// overlap is a period during which two nodes both held a VIP.
type overlap struct {
	From, To time.Time
}

func (o overlap) String() string {
	return fmt.Sprintf("%s for %v", o.From.Format("15:04:05.000"), o.To.Sub(o.From).Round(time.Millisecond))
}

// dualWatch samples, every 5 ms in the background, whether two nodes hold
// the same VIP on dev, and records every period during which both did.
type dualWatch struct {
	mu       sync.Mutex
	overlaps []overlap
	open     time.Time // start of the period in progress; zero: none
	samples  int
}

// dualWatchMax bounds a watch: it stops after this long (or at cleanup).
const dualWatchMax = 3 * time.Minute

// watchDual starts watching vip on dev in a and b until cleanup.
func watchDual(t testing.TB, a, b *netnstest.NS, dev string, vip netip.Addr) *dualWatch {
	t.Helper()
	w := &dualWatch{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		end := time.Now().Add(dualWatchMax)
		for time.Now().Before(end) && len(w.overlaps) < 100000 {
			both := vipHeld(a, dev, vip) && vipHeld(b, dev, vip)
			now := time.Now()
			w.mu.Lock()
			w.samples++
			switch {
			case both && w.open.IsZero():
				w.open = now
			case !both && !w.open.IsZero():
				w.overlaps = append(w.overlaps, overlap{w.open, now})
				w.open = time.Time{}
			}
			w.mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return w
}

// Since returns the overlaps that ended after from, the one in progress
// included (ending now).
func (w *dualWatch) Since(from time.Time) []overlap {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []overlap
	for _, o := range w.overlaps {
		if o.To.After(from) {
			out = append(out, o)
		}
	}
	if !w.open.IsZero() {
		out = append(out, overlap{w.open, time.Now()})
	}
	return out
}

// Samples returns how many times both nodes were looked at.
func (w *dualWatch) Samples() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples
}

// longest is the longest of os (0 for none).
func longest(os []overlap) time.Duration {
	var m time.Duration
	for _, o := range os {
		m = max(m, o.To.Sub(o.From))
	}
	return m
}

// ---------------------------------------------------------------------------
// Links.

// ipNet converts an IPv4 or IPv6 prefix for netlink.
func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

// deleteLink deletes nd's interface dev (a veth: its peer on the bridge goes
// with it).
func deleteLink(t testing.TB, nd *netnstest.Node, dev string) {
	t.Helper()
	lk, err := nd.Handle().LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, nd.Name(), err)
	}
	if err := nd.Handle().LinkDel(lk); err != nil {
		t.Fatalf("delete %s in %s: %v", dev, nd.Name(), err)
	}
}

// reconnect gives nd a new eth0 on l's bridge with its addresses, as
// newLAN made the first (a new veth pair: new ifindex, new MAC), and
// returns the new link's index.
func reconnect(t testing.TB, l *lan, nd *netnstest.Node) int {
	t.Helper()
	nd.Link = nd.ConnectTo(t, l.Bridge, ifName, nd.IPv4, nd.IPv6)
	return nd.Link.Index
}

// renameLink renames dev in ns to name, without taking it down.
func renameLink(t testing.TB, ns *netnstest.NS, dev, name string) {
	t.Helper()
	lk, err := ns.Handle().LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, ns.Name(), err)
	}
	if err := ns.Handle().LinkSetName(lk, name); err != nil {
		t.Fatalf("rename %s to %s in %s (while up): %v", dev, name, ns.Name(), err)
	}
}

// ---------------------------------------------------------------------------
// BPF attachments.

// bpfAttachment is the BPF link of a program attached to an interface.
type bpfAttachment struct {
	Kind   string // "xdp" or "tcx"
	LinkID link.ID
	ProgID ebpf.ProgramID
}

// receiveAttachment returns the XDP or tcx ingress link on dev in ns (ok
// false: none). XDP is read from the link's netlink attributes, its
// bpf_link from `bpftool -j link show` (bpftool 7.1 does not show an XDP
// link's interface: it is found by program id); tcx ingress links are
// queried in the namespace (BPF_PROG_QUERY).
func receiveAttachment(t testing.TB, ns *netnstest.NS, dev string) (bpfAttachment, bool) {
	t.Helper()
	lk, err := ns.Handle().LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, ns.Name(), err)
	}
	if x := lk.Attrs().Xdp; x != nil && x.Attached && x.ProgId != 0 {
		prog := ebpf.ProgramID(x.ProgId)
		id, ok := bpftoolLinkOf(t, prog)
		if !ok {
			t.Fatalf("%s in %s runs XDP program %d, but no bpf link holds it (bpftool link show)", dev, ns.Name(), prog)
		}
		return bpfAttachment{Kind: "xdp", LinkID: id, ProgID: prog}, true
	}
	var res *link.QueryResult
	err = ns.Do(func() (err error) {
		res, err = link.QueryPrograms(link.QueryOptions{Target: lk.Attrs().Index, Attach: ebpf.AttachTCXIngress})
		return err
	})
	if err != nil {
		t.Fatalf("query tcx ingress programs of %s in %s: %v", dev, ns.Name(), err)
	}
	for _, p := range res.Programs {
		if id, ok := p.LinkID(); ok {
			return bpfAttachment{Kind: "tcx", LinkID: id, ProgID: p.ID}, true
		}
	}
	return bpfAttachment{}, false
}

// bpftoolLinkOf returns the id of the bpf link running program prog.
func bpftoolLinkOf(t testing.TB, prog ebpf.ProgramID) (link.ID, bool) {
	t.Helper()
	bpftool := testenv.RequireCommand(t, "bpftool")
	out, err := exec.Command(bpftool, "-j", "link", "show").Output()
	if err != nil {
		t.Fatalf("bpftool -j link show: %v", err)
	}
	var links []struct {
		ID     uint32 `json:"id"`
		ProgID uint32 `json:"prog_id"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		t.Fatalf("decode bpftool -j link show: %v: %s", err, out)
	}
	for _, l := range links {
		if l.ProgID == uint32(prog) {
			return link.ID(l.ID), true
		}
	}
	return 0, false
}

// bpftoolDetach runs `bpftool link detach id ID`, as an operator would.
func bpftoolDetach(t testing.TB, id link.ID) {
	t.Helper()
	bpftool := testenv.RequireCommand(t, "bpftool")
	if out, err := exec.Command(bpftool, "link", "detach", "id", strconv.FormatUint(uint64(id), 10)).CombinedOutput(); err != nil {
		t.Fatalf("bpftool link detach id %d: %v: %s", id, err, out)
	}
}

// dropVRIDEgress attaches, at tcx egress of dev in ns, a program that drops
// the IPv4 VRRP packets of one VRID and lets everything else through; it is
// detached at cleanup. (This kernel has no tc gact action, so `tc filter
// ... action drop` cannot be used; the egress of the sender is the one
// place where XDP, tcx and the raw socket of the receiver all miss them.)
// The returned function detaches it earlier.
func dropVRIDEgress(t testing.TB, ns *netnstest.NS, dev string, vrid uint8) (stop func()) {
	t.Helper()
	const (
		tcxNext = -1 // TCX_NEXT
		tcxDrop = 2  // TCX_DROP
	)
	// The frame starts at the Ethernet header; LD_ABS needs the context
	// in R6.
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadAbs(12, asm.Half), // ethertype, host order
		asm.JNE.Imm(asm.R0, 0x0800, "pass"),
		asm.LoadAbs(14, asm.Byte), // version and IHL
		asm.JNE.Imm(asm.R0, 0x45, "pass"),
		asm.LoadAbs(14+9, asm.Byte), // protocol
		asm.JNE.Imm(asm.R0, 112, "pass"),
		asm.LoadAbs(14+20+1, asm.Byte), // VRID
		asm.JNE.Imm(asm.R0, int32(vrid), "pass"),
		asm.Mov.Imm(asm.R0, tcxDrop),
		asm.Return(),
		asm.Mov.Imm(asm.R0, tcxNext).WithSymbol("pass"),
		asm.Return(),
	}
	return attachTestProg(t, ns, dev, &ebpf.ProgramSpec{Name: "e2e_drop_vrid", Type: ebpf.SchedCLS, License: "GPL", Instructions: insns},
		func(prog *ebpf.Program, ifindex int) (link.Link, error) {
			return link.AttachTCX(link.TCXOptions{Program: prog, Interface: ifindex, Attach: ebpf.AttachTCXEgress})
		})
}

// attachTestProg loads spec and attaches it to dev in ns with attach,
// through a link the test holds; the returned function detaches it, and
// cleanup does too.
func attachTestProg(t testing.TB, ns *netnstest.NS, dev string, spec *ebpf.ProgramSpec,
	attach func(prog *ebpf.Program, ifindex int) (link.Link, error)) (detach func()) {
	t.Helper()
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		t.Fatalf("load %s: %v", spec.Name, err)
	}
	t.Cleanup(func() { prog.Close() })
	lk, err := ns.Handle().LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, ns.Name(), err)
	}
	var l link.Link
	err = ns.Do(func() (err error) {
		l, err = attach(prog, lk.Attrs().Index)
		return err
	})
	if err != nil {
		t.Fatalf("attach %s to %s in %s: %v", spec.Name, dev, ns.Name(), err)
	}
	var once sync.Once
	detach = func() { once.Do(func() { l.Close() }) }
	t.Cleanup(detach)
	return detach
}

// blockXDP attaches a program that passes everything to dev in ns in XDP
// driver mode, through a bpf_link the test holds: while it is there,
// nothing else can attach XDP to dev, neither in driver mode (a link holds
// the slot) nor in generic mode (the kernel refuses native and generic XDP
// at once). The returned function detaches it; cleanup does too.
func blockXDP(t testing.TB, ns *netnstest.NS, dev string) (release func()) {
	t.Helper()
	return attachTestProg(t, ns, dev, &ebpf.ProgramSpec{Name: "e2e_xdp_pass", Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2 /* XDP_PASS */), asm.Return()}},
		func(prog *ebpf.Program, ifindex int) (link.Link, error) {
			return link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifindex, Flags: link.XDPDriverMode})
		})
}

// ---------------------------------------------------------------------------
// xvrrpd run through another program.

// startXvrrpdVia is startXvrrpd with xvrrpd run by a wrapper inside ns:
// `ip netns exec NS wrapper... xvrrpd ARGS` (nsenter into another mount
// namespace, unshare into a time namespace). Pid returns the pid of the
// wrapper (the daemon's own when the wrapper execs it); daemonPid reads
// the daemon's from its pid file. At cleanup the daemon itself is sent
// SIGTERM first (unshare --fork ignores it while it waits for its child).
func startXvrrpdVia(t testing.TB, ns *netnstest.NS, name, conf string, wrapper []string, extraArgs ...string) *xvrrpd {
	t.Helper()
	dir := t.TempDir()
	x := &xvrrpd{t: t, ns: ns, Name: name,
		Conf:    filepath.Join(dir, name+".conf"),
		LogPath: filepath.Join(dir, name+".log"),
		RunDir:  filepath.Join(dir, "run"),
	}
	if err := os.WriteFile(x.Conf, []byte(conf), 0o644); err != nil {
		t.Fatalf("write %s: %v", x.Conf, err)
	}
	args := append(append([]string(nil), wrapper[1:]...), xvrrpdPath(t), "-f", x.Conf, "--log-level", "debug")
	if dp := os.Getenv("XVRRP_E2E_DATAPLANE"); dp != "" {
		args = append(args, "--dataplane", dp)
	}
	args = append(append(args, extraArgs...), "--run-dir", x.RunDir)
	logf, err := os.Create(x.LogPath)
	if err != nil {
		t.Fatalf("create %s: %v", x.LogPath, err)
	}
	x.logf = logf
	t.Cleanup(func() {
		logf.Close()
		if t.Failed() {
			t.Logf("log of xvrrpd %s (%s, run by %s):\n%s", name, ns.Name(), wrapper[0], x.LogText())
		}
	})
	cmd := ns.Exec(context.Background(), wrapper[0], args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	x.proc = ns.StartCmd(t, cmd)
	// Runs before StartCmd's cleanup: the daemon resigns on SIGTERM.
	t.Cleanup(func() {
		if x.Exited() {
			return
		}
		if pid := x.daemonPid(); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
		select {
		case <-x.proc.Done():
		case <-time.After(5 * time.Second):
		}
	})
	return x
}

// startXvrrpdTimens runs xvrrpd in ns by `unshare --time
// --monotonic=OFFSET --fork`: its CLOCK_MONOTONIC is offset seconds ahead
// of the kernel's (the clock of bpf_ktime_get_ns).
func startXvrrpdTimens(t testing.TB, ns *netnstest.NS, name, conf string, offset int) *xvrrpd {
	t.Helper()
	unshare := testenv.RequireCommand(t, "unshare")
	return startXvrrpdVia(t, ns, name, conf,
		[]string{unshare, "--time", "--monotonic=" + strconv.Itoa(offset), "--fork", "--kill-child=SIGTERM"})
}

// removeStaleLock registers the removal, at cleanup, of the namespace lock
// file of ns (/run/xvrrp/net-<inode>.lock) when the pid it names is gone: a
// daemon killed with SIGKILL leaves it behind (harmless: the flock went
// with the process), and the test that killed it tidies up.
func removeStaleLock(t testing.TB, ns *netnstest.NS) {
	t.Helper()
	path := defaultRunDir(t, ns) + ".lock"
	t.Cleanup(func() {
		pid, err := readPidFile(path)
		if err == nil && pid > 0 && !pidAlive(pid) {
			os.Remove(path)
		}
	})
}

// daemonPid is the pid in the daemon's pid file (0 when there is none):
// the daemon itself, also when it runs under a wrapper such as unshare.
func (x *xvrrpd) daemonPid() int {
	pid, err := readPidFile(filepath.Join(x.RunDir, "xvrrpd.pid"))
	if err != nil {
		return 0
	}
	return pid
}
