package e2e

import (
	"bufio"
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/vrrp/control"
)

// ---------------------------------------------------------------------------
// The binary under test.

var build struct {
	once sync.Once
	dir  string
	path string
	err  error

	ctlOnce sync.Once
	ctlPath string
	ctlErr  error
}

// TestMain removes the directory the binary was built into.
func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// moduleRoot is the directory holding go.mod, found upwards from the
// package directory the test runs in.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// xvrrpdPath builds xvrrpd once per test binary (go build ./cmd/xvrrpd from
// the module root) and returns the path of the binary.
func xvrrpdPath(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			build.err = err
			return
		}
		build.dir, err = os.MkdirTemp("", "xvrrp-e2e-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(build.dir, "xvrrpd")
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/xvrrpd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/xvrrpd: %w: %s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("build xvrrpd: %v", build.err)
	}
	return build.path
}

// xvrrpctlPath builds xvrrpctl once per test binary, next to xvrrpd, and
// returns the path of the binary.
func xvrrpctlPath(t testing.TB) string {
	t.Helper()
	dir := filepath.Dir(xvrrpdPath(t))
	build.ctlOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			build.ctlErr = err
			return
		}
		build.ctlPath = filepath.Join(dir, "xvrrpctl")
		cmd := exec.Command("go", "build", "-o", build.ctlPath, "./cmd/xvrrpctl")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.ctlErr = fmt.Errorf("go build ./cmd/xvrrpctl: %w: %s", err, out)
		}
	})
	if build.ctlErr != nil {
		t.Fatalf("build xvrrpctl: %v", build.ctlErr)
	}
	return build.ctlPath
}

// ---------------------------------------------------------------------------
// A running xvrrpd.

// xvrrpd is one daemon started by startXvrrpd.
type xvrrpd struct {
	t       testing.TB
	ns      *netnstest.NS
	Name    string
	RunDir  string // where its pid file and control socket are
	Conf    string // path of its keepalived.conf
	LogPath string // its stderr (and stdout)
	proc    *netnstest.Process
	logf    *os.File
}

// startXvrrpd writes conf to a temporary file and runs xvrrpd -f FILE inside
// ns, with --log-level debug, its own --run-dir (unless extraArgs holds a
// --run-dir or "--default-run-dir", see below) and its output in a log file.
// Cleanup stops it (SIGTERM, then SIGKILL) and, when the test failed, logs
// its output. It does not wait for the daemon to be ready; use waitFor with
// hasVIP or Status.
//
// extraArgs are passed on to xvrrpd; the pseudo-argument
// "--default-run-dir" is removed and makes the daemon use its built-in run
// directory (/run/xvrrp/net-<namespace inode>).
func startXvrrpd(t testing.TB, ns *netnstest.NS, name, conf string, extraArgs ...string) *xvrrpd {
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
	args := []string{"-f", x.Conf, "--log-level", "debug"}
	if dp := os.Getenv("XVRRP_E2E_DATAPLANE"); dp != "" {
		// make test runs the suite once per dataplane; a test's own
		// --dataplane (later on the command line) still wins.
		args = append(args, "--dataplane", dp)
	}
	ownRunDir := true
	for _, a := range extraArgs {
		switch {
		case a == "--default-run-dir":
			ownRunDir = false
			continue
		case a == "--run-dir" || strings.HasPrefix(a, "--run-dir=") || a == "-run-dir" || strings.HasPrefix(a, "-run-dir="):
			ownRunDir = false
		}
		args = append(args, a)
	}
	if ownRunDir {
		args = append(args, "--run-dir", x.RunDir)
	} else {
		x.RunDir = defaultRunDir(t, ns)
	}
	logf, err := os.Create(x.LogPath)
	if err != nil {
		t.Fatalf("create %s: %v", x.LogPath, err)
	}
	x.logf = logf
	// Registered before StartCmd's cleanup, so it runs after the process
	// was stopped and the log is complete.
	t.Cleanup(func() {
		logf.Close()
		// The per-namespace lock file: a daemon that exits cleanly
		// removes it, one that was killed leaves it (harmless, but ours:
		// removed when it names this daemon, which has ended).
		lock := defaultRunDir(t, ns) + ".lock"
		if b, err := os.ReadFile(lock); err == nil && x.proc != nil && strings.TrimSpace(string(b)) == strconv.Itoa(x.Pid()) {
			os.Remove(lock)
		}
		if t.Failed() {
			t.Logf("log of xvrrpd %s (%s):\n%s", name, ns.Name(), x.LogText())
		}
	})
	cmd := ns.Exec(context.Background(), xvrrpdPath(t), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	x.proc = ns.StartCmd(t, cmd)
	return x
}

// defaultRunDir is the run directory xvrrpd picks in ns without --run-dir.
func defaultRunDir(t testing.TB, ns *netnstest.NS) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(ns.NsHandle()), &st); err != nil {
		t.Fatalf("stat namespace %s: %v", ns.Name(), err)
	}
	return filepath.Join("/run/xvrrp", fmt.Sprintf("net-%d", st.Ino))
}

// Pid returns the daemon's process id.
func (x *xvrrpd) Pid() int { return x.proc.Pid() }

// Done is closed when the daemon has exited.
func (x *xvrrpd) Done() <-chan struct{} { return x.proc.Done() }

// Exited reports whether the daemon has exited.
func (x *xvrrpd) Exited() bool {
	select {
	case <-x.proc.Done():
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL and waits for the exit.
func (x *xvrrpd) Kill() {
	_ = x.proc.Cmd.Process.Signal(syscall.SIGKILL)
	_ = x.proc.Wait()
}

// Term sends SIGTERM and waits (at most 10 s, then SIGKILL) for the exit; it
// returns the exit error (nil for exit status 0).
func (x *xvrrpd) Term() error {
	_ = x.proc.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-x.proc.Done():
	case <-time.After(10 * time.Second):
		x.t.Errorf("xvrrpd %s did not exit 10 s after SIGTERM: killing it", x.Name)
		x.Kill()
	}
	return x.proc.Wait()
}

// Wait waits for the exit (bounded by timeout) and returns the exit error;
// it fails the test when the daemon is still running after timeout.
func (x *xvrrpd) Wait(timeout time.Duration) error {
	select {
	case <-x.proc.Done():
		return x.proc.Wait()
	case <-time.After(timeout):
		x.t.Fatalf("xvrrpd %s still running after %v", x.Name, timeout)
		return nil
	}
}

// LogText returns what the daemon has logged so far.
func (x *xvrrpd) LogText() string {
	b, err := os.ReadFile(x.LogPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", x.LogPath, err)
	}
	return string(b)
}

// QueryStatus asks the daemon's control socket for its status.
func (x *xvrrpd) QueryStatus() (control.Status, error) {
	var st control.Status
	c, err := net.DialTimeout("unix", filepath.Join(x.RunDir, "xvrrpd.sock"), 2*time.Second)
	if err != nil {
		return st, fmt.Errorf("connect to xvrrpd %s: %w", x.Name, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintln(c, "status"); err != nil {
		return st, fmt.Errorf("send status: %w", err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return st, fmt.Errorf("read status: %w", err)
	}
	if err := json.Unmarshal(line, &st); err != nil {
		return st, fmt.Errorf("decode status %q: %w", line, err)
	}
	return st, nil
}

// Status returns the daemon's status; it waits (up to 5 s) for the control
// socket to answer and fails the test otherwise.
func (x *xvrrpd) Status(t testing.TB) control.Status {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := x.QueryStatus()
		if err == nil {
			return st
		}
		if time.Now().After(deadline) || x.Exited() {
			t.Fatalf("status of xvrrpd %s: %v", x.Name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Instance returns the named instance of the daemon's status.
func (x *xvrrpd) Instance(t testing.TB, name string) control.InstanceStatus {
	t.Helper()
	st := x.Status(t)
	for _, in := range st.Instances {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("xvrrpd %s has no instance %s: %+v", x.Name, name, st.Instances)
	return control.InstanceStatus{}
}

// State returns the state of the named instance ("MASTER", "BACKUP", ...),
// or "" when the status cannot be read.
func (x *xvrrpd) State(name string) string {
	st, err := x.QueryStatus()
	if err != nil {
		return ""
	}
	for _, in := range st.Instances {
		if in.Name == name {
			return in.State
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// Waiting and observing.

// waitFor polls cond every 10 ms until it holds and returns how long that
// took; after timeout it fails the test naming what was awaited.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
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
		time.Sleep(10 * time.Millisecond)
	}
}

// holdFor checks that cond holds at every 10 ms poll for d; it fails the
// test at the first poll where it does not.
func holdFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hasVIP reports whether dev in ns carries the address vip (any prefix
// length).
func hasVIP(t testing.TB, ns *netnstest.NS, dev string, vip netip.Addr) bool {
	t.Helper()
	h := ns.Handle()
	link, err := h.LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, ns.Name(), err)
	}
	fam := netlink.FAMILY_V4
	if vip.Is6() && !vip.Is4In6() {
		fam = netlink.FAMILY_V6
	}
	var addrs []netlink.Addr
	for range 5 { // a dump interrupted by a concurrent change is retried
		addrs, err = h.AddrList(link, fam)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		t.Fatalf("list addresses of %s in %s: %v", dev, ns.Name(), err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == vip.Unmap() {
			return true
		}
	}
	return false
}

// setLinkDown sets dev in ns down.
func setLinkDown(t testing.TB, ns *netnstest.NS, dev string) {
	t.Helper()
	link, err := ns.Handle().LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, ns.Name(), err)
	}
	if err := ns.Handle().LinkSetDown(link); err != nil {
		t.Fatalf("set %s down in %s: %v", dev, ns.Name(), err)
	}
}

// setLinkUp sets dev in ns up.
func setLinkUp(t testing.TB, ns *netnstest.NS, dev string) {
	t.Helper()
	link, err := ns.Handle().LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, ns.Name(), err)
	}
	if err := ns.Handle().LinkSetUp(link); err != nil {
		t.Fatalf("set %s up in %s: %v", dev, ns.Name(), err)
	}
}

// neighbourMAC returns the MAC address ns's neighbour table holds for ip on
// dev, or nil.
func neighbourMAC(t testing.TB, ns *netnstest.NS, dev string, ip netip.Addr) net.HardwareAddr {
	t.Helper()
	link, err := ns.Handle().LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, ns.Name(), err)
	}
	fam := netlink.FAMILY_V4
	if ip.Is6() {
		fam = netlink.FAMILY_V6
	}
	neighs, err := ns.Handle().NeighList(link.Attrs().Index, fam)
	if err != nil {
		t.Fatalf("list neighbours of %s in %s: %v", dev, ns.Name(), err)
	}
	for _, n := range neighs {
		if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == ip && len(n.HardwareAddr) == 6 &&
			n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 {
			return n.HardwareAddr
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Topology.

// lanSeq numbers the LANs of this test binary, to give each its own subnet
// (only for readable logs: namespaces isolate them anyway).
var lanSeq atomic.Uint32

// lan is a bridge with router nodes and one client, each attached by eth0.
// Node i (from 1, in newLAN's order) has 10.X.Y.i/24 and fd00:X:Y::i/64; the
// client has .100 / ::100. VIPs for tests: VIP4(n) = 10.X.Y.(200+n),
// VIP6(n) = fd00:X:Y::(200+n) (hex-looking decimal, e.g. ::201).
type lan struct {
	Bridge  *netnstest.NS
	Nodes   []*netnstest.Node
	Client  *netnstest.Node
	Subnet4 netip.Prefix
	Subnet6 netip.Prefix
	byName  map[string]*netnstest.Node
}

// ifName is the interface every node of a lan uses.
const ifName = "eth0"

// newLAN builds a lan: a bridge, one namespace per name in nodes (each with
// eth0 on the bridge, IPv4 and IPv6 with no DAD) and a client namespace.
func newLAN(t testing.TB, nodes ...string) *lan {
	t.Helper()
	n := lanSeq.Add(1)
	x, y := byte(100+n/256), byte(n%256)
	l := &lan{
		Bridge:  netnstest.Bridge(t),
		Subnet4: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, x, y, 0}), 24),
		Subnet6: netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 2: 0, 3: x, 4: 0, 5: y}), 64),
		byName:  map[string]*netnstest.Node{},
	}
	for i, name := range nodes {
		nd := l.attach(t, name, byte(i+1))
		l.Nodes = append(l.Nodes, nd)
		l.byName[name] = nd
	}
	l.Client = l.attach(t, "client", 100)
	l.byName["client"] = l.Client
	return l
}

// AddNode attaches one more node (e.g. a traffic generator) with host number
// host (1-99, not used by another node).
func (l *lan) AddNode(t testing.TB, name string, host byte) *netnstest.Node {
	t.Helper()
	nd := l.attach(t, name, host)
	l.byName[name] = nd
	return nd
}

func (l *lan) attach(t testing.TB, name string, host byte) *netnstest.Node {
	t.Helper()
	nd := &netnstest.Node{
		NS:   netnstest.New(t, name),
		IPv4: netip.PrefixFrom(l.host4(host), 24),
		IPv6: netip.PrefixFrom(l.host6(uint16(host)), 64),
	}
	nd.Link = nd.ConnectTo(t, l.Bridge, ifName, nd.IPv4, nd.IPv6)
	return nd
}

// Node returns the node named name (or the client for "client").
func (l *lan) Node(t testing.TB, name string) *netnstest.Node {
	t.Helper()
	nd := l.byName[name]
	if nd == nil {
		t.Fatalf("lan has no node %q", name)
	}
	return nd
}

func (l *lan) host4(h byte) netip.Addr {
	a := l.Subnet4.Addr().As4()
	a[3] = h
	return netip.AddrFrom4(a)
}

// host6 writes h's decimal digits as hex digits (201 → ::201).
func (l *lan) host6(h uint16) netip.Addr {
	a := l.Subnet6.Addr().As16()
	v, _ := strconv.ParseUint(strconv.Itoa(int(h)), 16, 16)
	a[14], a[15] = byte(v>>8), byte(v)
	return netip.AddrFrom16(a)
}

// VIP4 returns the n-th IPv4 VIP of the lan (10.X.Y.(200+n)).
func (l *lan) VIP4(n int) netip.Addr { return l.host4(byte(200 + n)) }

// VIP6 returns the n-th IPv6 VIP of the lan (fd00:X:Y::(200+n)).
func (l *lan) VIP6(n int) netip.Addr { return l.host6(uint16(200 + n)) }

// ---------------------------------------------------------------------------
// Configuration text.

// vrrpInstance describes one vrrp_instance block; instanceConf renders it.
// Zero values leave a keyword out (keepalived's default applies), except
// Name (default VI_<vrid>) and Interface (default eth0).
type vrrpInstance struct {
	Name         string
	State        string // MASTER or BACKUP
	Interface    string
	VRID         int
	Priority     int
	AdvertInt    string // "1", "0.1"
	Version      int    // 2 or 3; 0: not written
	AuthPass     string // auth_type PASS with this password (VRRPv2)
	VIPs         []string
	UnicastSrc   string
	UnicastPeers []string
	NoPreempt    bool
	PreemptDelay string   // seconds, e.g. "3"
	Extra        []string // raw lines put inside the block
}

// instanceName is the block's name: Name or VI_<vrid>.
func instanceName(v vrrpInstance) string {
	if v.Name != "" {
		return v.Name
	}
	return fmt.Sprintf("VI_%d", v.VRID)
}

// instanceConf renders a vrrp_instance block.
func instanceConf(v vrrpInstance) string {
	var b strings.Builder
	name := instanceName(v)
	iface := v.Interface
	if iface == "" {
		iface = ifName
	}
	fmt.Fprintf(&b, "vrrp_instance %s {\n", name)
	if v.State != "" {
		fmt.Fprintf(&b, "    state %s\n", v.State)
	}
	fmt.Fprintf(&b, "    interface %s\n", iface)
	fmt.Fprintf(&b, "    virtual_router_id %d\n", v.VRID)
	if v.Priority != 0 {
		fmt.Fprintf(&b, "    priority %d\n", v.Priority)
	}
	if v.AdvertInt != "" {
		fmt.Fprintf(&b, "    advert_int %s\n", v.AdvertInt)
	}
	if v.Version != 0 {
		fmt.Fprintf(&b, "    version %d\n", v.Version)
	}
	if v.AuthPass != "" {
		fmt.Fprintf(&b, "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", v.AuthPass)
	}
	if v.NoPreempt {
		b.WriteString("    nopreempt\n")
	}
	if v.PreemptDelay != "" {
		fmt.Fprintf(&b, "    preempt_delay %s\n", v.PreemptDelay)
	}
	if v.UnicastSrc != "" {
		fmt.Fprintf(&b, "    unicast_src_ip %s\n", v.UnicastSrc)
	}
	if len(v.UnicastPeers) > 0 {
		b.WriteString("    unicast_peer {\n")
		for _, p := range v.UnicastPeers {
			fmt.Fprintf(&b, "        %s\n", p)
		}
		b.WriteString("    }\n")
	}
	for _, l := range v.Extra {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	b.WriteString("    virtual_ipaddress {\n")
	for _, a := range v.VIPs {
		fmt.Fprintf(&b, "        %s\n", a)
	}
	b.WriteString("    }\n}\n")
	return b.String()
}

// keepalivedConf renders a whole keepalived.conf: global_defs with routerID
// (and any extra global lines), then the instances.
func keepalivedConf(routerID string, globals []string, instances ...vrrpInstance) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n", routerID)
	for _, g := range globals {
		fmt.Fprintf(&b, "    %s\n", g)
	}
	b.WriteString("}\n")
	for _, in := range instances {
		b.WriteString(instanceConf(in))
	}
	return b.String()
}

// masterDownInterval is RFC 5798 §6.1's Master_Down_Interval for a backup of
// priority prio: 3 × interval + Skew_Time, with Skew_Time (256-prio)/256 ×
// interval (v3; RFC 3768 §6.1's v2 skew (256-prio)/256 s equals it at 1 s).
func masterDownInterval(interval time.Duration, prio int) time.Duration {
	return 3*interval + time.Duration(256-prio)*interval/256
}

// ---------------------------------------------------------------------------
// Frames on the wire.

// packetConn is an AF_PACKET socket bound to one interface of a namespace.
type packetConn struct {
	fd      int
	ifindex int
}

// openPacket opens an AF_PACKET SOCK_RAW socket for ethertype proto (host
// order, e.g. unix.ETH_P_ARP, unix.ETH_P_ALL) on dev in ns; it is closed at
// cleanup.
func openPacket(t testing.TB, ns *netnstest.NS, dev string, proto uint16) *packetConn {
	t.Helper()
	link, err := ns.Handle().LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, ns.Name(), err)
	}
	pc := &packetConn{fd: -1, ifindex: link.Attrs().Index}
	be := proto<<8 | proto>>8
	err = ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(be))
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: be, Ifindex: pc.ifindex}); err != nil {
			unix.Close(fd)
			return err
		}
		pc.fd = fd
		return nil
	})
	if err != nil {
		t.Fatalf("packet socket on %s in %s: %v", dev, ns.Name(), err)
	}
	t.Cleanup(func() { unix.Close(pc.fd) })
	return pc
}

// Send writes one whole Ethernet frame.
func (pc *packetConn) Send(frame []byte) error {
	return unix.Sendto(pc.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: pc.ifindex, Halen: 6})
}

// Recv reads one frame (with its Ethernet header) before deadline; it
// returns nil, nil once the deadline has passed.
func (pc *packetConn) Recv(deadline time.Time) ([]byte, error) {
	buf := make([]byte, 2048)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		if err := unix.SetsockoptTimeval(pc.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return nil, err
		}
		n, _, err := unix.Recvfrom(pc.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// arpFrame is the interesting part of a received ARP frame.
type arpFrame struct {
	EthSrc    net.HardwareAddr
	Op        uint16 // 1 request, 2 reply
	SenderMAC net.HardwareAddr
	SenderIP  netip.Addr
	TargetIP  netip.Addr
}

// parseARP decodes an Ethernet+ARP (IPv4 over Ethernet) frame.
func parseARP(f []byte) (arpFrame, bool) {
	if len(f) < 14+28 || f[12] != 0x08 || f[13] != 0x06 {
		return arpFrame{}, false
	}
	a := f[14:]
	if a[4] != 6 || a[5] != 4 {
		return arpFrame{}, false
	}
	return arpFrame{
		EthSrc:    net.HardwareAddr(append([]byte(nil), f[6:12]...)),
		Op:        uint16(a[6])<<8 | uint16(a[7]),
		SenderMAC: net.HardwareAddr(append([]byte(nil), a[8:14]...)),
		SenderIP:  netip.AddrFrom4([4]byte(a[14:18])),
		TargetIP:  netip.AddrFrom4([4]byte(a[24:28])),
	}, true
}

// arpCapture collects ARP frames seen on one interface in the background
// (at most 10000 frames, for at most a minute) from its start.
type arpCapture struct {
	mu     sync.Mutex
	frames []arpFrame
}

// captureARP starts capturing ARP frames on dev in ns; capture stops at
// cleanup.
func captureARP(t testing.TB, ns *netnstest.NS, dev string) *arpCapture {
	t.Helper()
	pc := openPacket(t, ns, dev, unix.ETH_P_ARP)
	c := &arpCapture{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		end := time.Now().Add(time.Minute)
		for i := 0; i < 10000 && time.Now().Before(end); i++ {
			select {
			case <-stop:
				return
			default:
			}
			f, err := pc.Recv(time.Now().Add(100 * time.Millisecond))
			if err != nil {
				return
			}
			if a, ok := parseARP(f); ok {
				c.mu.Lock()
				c.frames = append(c.frames, a)
				c.mu.Unlock()
			}
		}
	}()
	// Registered after openPacket's close: runs first.
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return c
}

// Frames returns the ARP frames captured so far.
func (c *arpCapture) Frames() []arpFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]arpFrame(nil), c.frames...)
}

// Gratuitous returns the captured gratuitous ARPs for ip (sender and target
// IP both ip) whose Ethernet and ARP sender are mac.
func (c *arpCapture) Gratuitous(ip netip.Addr, mac net.HardwareAddr) []arpFrame {
	var out []arpFrame
	for _, a := range c.Frames() {
		if a.SenderIP == ip && a.TargetIP == ip && a.SenderMAC.String() == mac.String() && a.EthSrc.String() == mac.String() {
			out = append(out, a)
		}
	}
	return out
}
