package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// In-place upgrade (issue 10): `xvrrpctl upgrade BINARY` replaces a
// running xvrrpd, master or backup, by a new process of another binary
// file while a client probes the VIP every millisecond and the peer
// (xvrrpd or keepalived 2.2.7) listens. Nothing may show: the VIP never
// leaves the master, no state changes on either router, the master's
// adverts keep their cadence on the wire (logged as `CADENCE` lines, the
// largest interval between two adverts), the client sees no gap beyond
// zoGapBound. Then the new process answers the control socket, holds the
// namespace lock and stops cleanly on SIGTERM.

// upgradeCadenceBound is the largest interval between two of the master's
// adverts the test accepts around an upgrade: the 1.5 × the
// advert interval, plus the stalls a shared 2-CPU machine shows.
func upgradeCadenceBound(v zoVersion) time.Duration {
	return v.interval*3/2 + 30*time.Millisecond
}

func TestZeroOutageUpgrade(t *testing.T) {
	testenv.RequireRoot(t)
	for _, v := range zoVersions {
		for _, role := range []string{"master", "backup"} {
			for _, peer := range zoPeers {
				t.Run(fmt.Sprintf("%s/%s/%s-peer", v, role, peer), func(t *testing.T) {
					if v.version != 3 || role != "master" || peer != "keepalived" {
						// The kernel path's hand-over (the link's
						// program swapped) is what differs between
						// dataplanes: one case per dataplane.
						onlyDefaultDataplane(t)
					}
					requirePeer(t, peer)
					masterKind, backupKind := "xvrrpd", peer
					if role == "backup" {
						masterKind, backupKind = peer, "xvrrpd"
					}
					p := newZoPair(t, v, masterKind, backupKind)
					up, other := p.master, p.backup
					if role == "backup" {
						up, other = p.backup, p.master
					}
					upgradeOnce(t, p, v, role, peer, up, other)
				})
			}
		}
	}
}

// upgradeOnce upgrades the xvrrpd router up of the pair and checks that
// nothing shows.
func upgradeOnce(t *testing.T, p *zoPair, v zoVersion, role, peer string, up, other *kaRouter) {
	t.Helper()
	newBin := copyBinary(t, xvrrpdPath(t))
	xvrrpctlPath(t)
	sn := sniffToNode(t, p.l, p.backup.node) // before an XDP program can consume them
	upBefore, otherBefore := transitions(up), transitions(other)

	g := startGap(t, p.l.Client.NS, p.vip)
	// The capture holds two adverts before the command.
	time.Sleep(max(zoBaseline, 2*v.interval+50*time.Millisecond))
	w := watchVIP(t, p.master.node.NS, p.backup.node.NS, p.vip)
	t0 := time.Now()
	out, took, err := p.xvrrpctl(up.x, up.node.NS, "upgrade", newBin)
	if err != nil {
		t.Fatalf("xvrrpctl upgrade: %v: %s", err, out)
	}
	pid := upgradedPid(t, out)
	if err := up.x.Wait(5 * time.Second); err != nil {
		t.Errorf("the old xvrrpd exited with %v after the upgrade, want status 0", err)
	}
	// Three intervals on the wire after the hand-over, then the client's
	// window.
	time.Sleep(3*v.interval + zoAfter)
	w.Stop()
	gap := g.Stop(t)
	end := time.Now()

	maxIv := maxAdvertInterval(sn, p.master.node.Addr4(), t0.Add(-2*v.interval), end)
	// (the capture started before t0 - 2 intervals: the first advert counted is one before the command)
	t.Logf("GAP event=upgrade-%s peer=%s version=%d ms=%.1f", role, peer, v.version, ms(gap.MaxGap.Len()))
	t.Logf("CADENCE event=upgrade-%s peer=%s version=%d max_ms=%.1f (interval %v)", role, peer, v.version, ms(maxIv), v.interval)
	t.Logf("xvrrpctl upgrade took %v: %s", took.Round(time.Millisecond), strings.TrimSpace(out))
	t.Logf("  probe: %v", gap)
	ev := zoEvent{gap: gap}
	p.checkGap("xvrrpctl upgrade of the "+role, ev, zoGapBound)
	if maxIv > upgradeCadenceBound(v) {
		for _, s := range sn.All(t0.Add(-2*v.interval), func(kaSeen) bool { return true }) {
			t.Logf("  advert at %+.1f ms from %v priority %d", ms(s.At.Sub(t0)), s.Src, s.Prio)
		}
		t.Errorf("the master's adverts paused %v around the upgrade, want ≤ %v (1.5 × %v + 30 ms)", maxIv, upgradeCadenceBound(v), v.interval)
	}
	// The VIP never left the master, never reached the backup.
	if m := w.moved(0, 1); m.lost >= 0 || m.gained >= 0 {
		t.Errorf("the VIP moved during the upgrade: %v", m)
	}
	if !p.master.hasVIP(p.vip) || p.backup.hasVIP(p.vip) {
		t.Errorf("after the upgrade: VIP on the master %v, on the backup %v", p.master.hasVIP(p.vip), p.backup.hasVIP(p.vip))
	}
	if n := transitions(other) - otherBefore; n != 0 {
		t.Errorf("the %s %s peer made %d state transition(s) during the upgrade", peer, map[bool]string{true: "backup", false: "master"}[role == "master"], n)
	}
	if n := transitions(up) - upBefore; n != 0 {
		t.Errorf("the upgraded xvrrpd made %d state transition(s)", n)
	}
	want := map[bool]string{true: "MASTER", false: "BACKUP"}[role == "master"]
	if !up.stateOK(want) {
		t.Errorf("the new process does not report %s", want)
	}
	st := up.x.Status(t)
	if st.Instances[0].Source == "" {
		t.Errorf("new process's status: %+v", st.Instances[0])
	}
	// The new process owns the run directory's pid file and the lock.
	if b, err := os.ReadFile(filepath.Join(up.x.RunDir, "xvrrpd.pid")); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
		t.Errorf("pid file after the upgrade: %q, %v; want %d", b, err, pid)
	}
	lock := defaultRunDir(t, up.node.NS) + ".lock"
	if b, err := os.ReadFile(lock); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
		t.Errorf("lock file after the upgrade: %q, %v; want %d", b, err, pid)
	}
	if line := up.x.logLines("upgrade: took over"); len(line) != 1 {
		t.Errorf("new process log: %d 'took over' lines", len(line))
	}
	up.x.checkNoPanic(t)

	// It stops as xvrrpd stops: SIGTERM, exit, lock removed.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, v.mdi(zoBackupPrio)+3*time.Second, "the upgraded xvrrpd exiting on SIGTERM", func() bool { return !pidAlive(pid) })
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("lock file after the upgraded process stopped: %v", err)
	}
}

// copyBinary copies the binary at src to a new executable file: the
// "new version" an upgrade runs.
func copyBinary(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "xvrrpd.new")
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

var upgradedRE = regexp.MustCompile(`xvrrpd pid (\d+) runs the instances`)

// upgradedPid reads the new PID xvrrpctl upgrade printed and makes sure
// that process ends with the test (it is not our child: SIGTERM, then
// SIGKILL, by PID).
func upgradedPid(t *testing.T, out string) int {
	t.Helper()
	m := upgradedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("xvrrpctl upgrade printed %q, want the new PID", out)
	}
	pid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() {
		if !pidAlive(pid) {
			return
		}
		syscall.Kill(pid, syscall.SIGTERM)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if !pidAlive(pid) {
				return
			}
		}
		t.Errorf("upgraded xvrrpd %d still running 10 s after SIGTERM: killing it", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	})
	return pid
}

// transitions counts the state transitions a router logged so far.
func transitions(r *kaRouter) int {
	if r.x != nil {
		return len(r.x.logLines("state transition"))
	}
	return strings.Count(r.k.Log(), "Entering ")
}

// maxAdvertInterval is the largest interval between two adverts from src
// the sniffer saw from since to to, the last one to to included (an
// advert that stopped coming shows); none seen: to - since.
func maxAdvertInterval(sn *kaSniffer, src interface{ String() string }, since, to time.Time) time.Duration {
	var prev time.Time
	var worst time.Duration
	for _, s := range sn.All(since, func(s kaSeen) bool { return s.Src.String() == src.String() && s.Prio != 0 }) {
		if s.At.After(to) {
			break
		}
		if !prev.IsZero() {
			worst = max(worst, s.At.Sub(prev))
		}
		prev = s.At
	}
	if prev.IsZero() {
		return to.Sub(since)
	}
	return max(worst, to.Sub(prev))
}

// TestUpgradeRefused: an upgrade that cannot happen leaves the running
// xvrrpd as it was and says why, exit status 1: a binary that exits at
// once, a path that is not an executable file, a configuration file whose
// instance now differs from the running one (the new process refuses the
// state). The master keeps its VIP and state throughout and keeps
// advertising; a later upgrade still works.
func TestUpgradeRefused(t *testing.T) {
	testenv.RequireRoot(t)
	onlyDefaultDataplane(t)
	v := zoVersions[1] // v3 0.1 s: a freeze would show at once
	l := newLAN(t, "r1", "r2")
	vip := l.VIP4(1)
	inst := vrrpInstance{Name: zoInstance, State: "MASTER", VRID: 73, Priority: zoMasterPrio,
		AdvertInt: v.advertInt, Version: v.version, VIPs: []string{vip.String() + "/24"}}
	conf := keepalivedConf("up_refused", nil, inst)
	sd := listenNotify(t)
	x := startXvrrpd(t, l.Nodes[0].NS, "refused", conf)
	waitFor(t, 10*time.Second, "the master taking the VIP", func() bool {
		return hasVIP(t, l.Nodes[0].NS, ifName, vip) && x.State(zoInstance) == "MASTER"
	})
	sn := sniffToNode(t, l, l.Nodes[1])
	p := &zoPair{t: t, l: l, v: v, vip: vip}
	notExec := filepath.Join(t.TempDir(), "xvrrpd.txt")
	if err := os.WriteFile(notExec, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := inst
	changed.VRID = 74
	for _, c := range []struct {
		name, binary, want string
		conf               string // written before the attempt, restored after
	}{
		{name: "binary exits", binary: "/bin/false", want: "exited"},
		{name: "not executable", binary: notExec, want: "not an executable file"},
		{name: "missing", binary: filepath.Join(t.TempDir(), "nothing"), want: "no such file"},
		{name: "instance changed in the file", binary: xvrrpdPath(t), want: "reload the running daemon first",
			conf: keepalivedConf("up_refused", nil, changed)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.conf != "" {
				if err := os.WriteFile(x.Conf, []byte(c.conf), 0o644); err != nil {
					t.Fatal(err)
				}
				defer os.WriteFile(x.Conf, []byte(conf), 0o644)
			}
			before := len(x.logLines("state transition"))
			t0 := time.Now()
			out, _, err := p.xvrrpctl(x, l.Nodes[0].NS, "upgrade", c.binary)
			if err == nil {
				t.Fatalf("xvrrpctl upgrade %s succeeded: %s", c.binary, out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("xvrrpctl upgrade said %q, want it to contain %q", strings.TrimSpace(out), c.want)
			}
			t.Logf("refused: %s", strings.TrimSpace(out))
			time.Sleep(3 * v.interval)
			if x.Exited() {
				t.Fatal("the running xvrrpd exited")
			}
			if n := len(x.logLines("state transition")) - before; n != 0 || x.State(zoInstance) != "MASTER" || !hasVIP(t, l.Nodes[0].NS, ifName, vip) {
				t.Errorf("after the refused upgrade: %d transitions, state %s, VIP held %v", n, x.State(zoInstance), hasVIP(t, l.Nodes[0].NS, ifName, vip))
			}
			if iv := maxAdvertInterval(sn, l.Nodes[0].Addr4(), t0.Add(-2*v.interval), time.Now()); iv > upgradeCadenceBound(v) {
				t.Errorf("the master's adverts paused %v around the refused upgrade, want ≤ %v", iv, upgradeCadenceBound(v))
			}
		})
	}
	// Still upgradable.
	out, _, err := p.xvrrpctl(x, l.Nodes[0].NS, "upgrade")
	if err != nil {
		t.Fatalf("upgrade after the refusals: %v: %s", err, out)
	}
	pid := upgradedPid(t, out)
	if err := x.Wait(5 * time.Second); err != nil {
		t.Errorf("old process exit: %v", err)
	}
	if x.State(zoInstance) != "MASTER" {
		t.Errorf("after the upgrade: %s", x.State(zoInstance))
	}
	// systemd's view: one READY=1 (the first start), then the new main
	// PID; never STOPPING=1 (nothing stopped).
	msgs := sd.messages()
	t.Logf("sd_notify messages: %q", msgs)
	ready, mainpid := 0, -1
	for i, m := range msgs {
		if strings.Contains(m, "READY=1") && !strings.Contains(m, "RELOADING") {
			ready++
		}
		if strings.Contains(m, fmt.Sprintf("MAINPID=%d\n", pid)) {
			mainpid = i
		}
		if strings.Contains(m, "STOPPING=1") {
			t.Errorf("STOPPING=1 sent during the upgrade: %q", m)
		}
	}
	if ready != 1 || mainpid < 0 {
		t.Errorf("sd_notify: %d READY=1, MAINPID=%d at message %d; want one READY=1 and MAINPID=", ready, pid, mainpid)
	}
}

// notifySocket collects what xvrrpd sends to NOTIFY_SOCKET.
type notifySocket struct {
	mu   sync.Mutex
	msgs []string
}

// listenNotify points NOTIFY_SOCKET (for the daemons the test starts) at
// a unixgram socket of its own, read until the test ends.
func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: sun_path is 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	s := &notifySocket{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

func (s *notifySocket) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// zoUpgrade is what one upgrade of the master measured.
type zoUpgrade struct {
	zoEvent
	peerTransitions int           // state transitions of the backup
	silence         time.Duration // the longest interval between the master's adverts
}

// upgradeMaster upgrades the pair's master as its operator would: an
// xvrrpd master with xvrrpctl upgrade (to a copy of its binary); keepalived
// has no upgrade in place, so what a package upgrade does to it, a restart
// (SIGTERM, then a new keepalived), measured until it holds the VIP again.
func (p *zoPair) upgradeMaster() zoUpgrade {
	t := p.t
	t.Helper()
	var newBin string
	if p.master.x != nil {
		newBin = copyBinary(t, xvrrpdPath(t))
		xvrrpctlPath(t)
	}
	sn := sniffToNode(t, p.l, p.backup.node)
	before := transitions(p.backup)
	g := startGap(t, p.l.Client.NS, p.vip)
	time.Sleep(max(zoBaseline, 2*p.v.interval+50*time.Millisecond))
	t0 := time.Now()
	if p.master.x != nil {
		out, _, err := p.xvrrpctl(p.master.x, p.master.node.NS, "upgrade", newBin)
		if err != nil {
			t.Fatalf("xvrrpctl upgrade: %v: %s", err, out)
		}
		upgradedPid(t, out)
		time.Sleep(3*p.v.interval + zoAfter)
	} else {
		p.master.terminate()
		p.master.waitExit()
		p.master.start()
		// Back as master: after its Master_Down_Interval it preempts.
		waitFor(t, p.v.mdi(zoMasterPrio)+10*time.Second, "the restarted keepalived master holding the VIP again", func() bool {
			return p.master.hasVIP(p.vip) && !p.backup.hasVIP(p.vip)
		})
		time.Sleep(zoAfter)
	}
	var u zoUpgrade
	u.gap = g.Stop(t)
	u.peerTransitions = transitions(p.backup) - before
	u.silence = maxAdvertInterval(sn, p.master.node.Addr4(), t0.Add(-2*p.v.interval), time.Now())
	return u
}

// TestAHUpgrade: an auth_type AH master is upgraded next to a keepalived
// backup. keepalived drops an AH advert whose sequence number is not above
// the last it accepted: the new process continues the old one's counter
// (above every number sent while frozen), so keepalived accepts its
// adverts and never takes over.
func TestAHUpgrade(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived")
	onlyDefaultDataplane(t)
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Nodes[0], l.Nodes[1]
	vip := l.VIP4(8)
	x := startXvrrpd(t, n1.NS, "xv-ah", ahConf(l, n1, n2, "BACKUP", 150, "neutron2", false))
	waitFor(t, 10*time.Second, "xvrrpd master alone", func() bool {
		return hasVIP(t, n1.NS, ifName, vip) && x.State(ahInstance) == "MASTER"
	})
	k := startKeepalived(t, n2.NS, "ka-ah", ahConf(l, n2, n1, "BACKUP", 100, "neutron2", false))
	holdFor(t, 4*time.Second, "keepalived BACKUP", func() bool { return !hasVIP(t, n2.NS, ifName, vip) })
	p := &zoPair{t: t, l: l}
	out, _, err := p.xvrrpctl(x, n1.NS, "upgrade", copyBinary(t, xvrrpdPath(t)))
	if err != nil {
		t.Fatalf("xvrrpctl upgrade: %v: %s", err, out)
	}
	upgradedPid(t, out)
	// keepalived takes over after 3 adverts refused (Master_Down_Interval
	// 3.6 s): hold past it.
	holdFor(t, 5*time.Second, "xvrrpd the only master after the upgrade", func() bool {
		return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
	})
	if n := strings.Count(k.Log(), "Entering MASTER"); n != 0 {
		t.Errorf("keepalived entered MASTER %d times", n)
	}
	checkKeepalivedAccepted(t, k, "after the upgrade")
}

// TestUpgradeCadenceFast measures what an upgrade does at VRRPv3
// advert_int 0.01 (Master_Down_Interval 36 ms): XVRRP_BENCH_RUNS (5)
// upgrades of an xvrrpd master next to an xvrrpd backup, each logging
// `CADENCE event=upgrade-fast ... max_ms=` (the longest interval between
// the master's adverts on the wire) and the backup's transitions. A
// benchmark (XVRRP_BENCH=1, make bench-zero-outage): it asserts nothing
// but that the runs ran; docs/OPERATIONS.md "Upgrade" quotes it.
func TestUpgradeCadenceFast(t *testing.T) {
	if os.Getenv("XVRRP_BENCH") != "1" {
		t.Skip("benchmark: set XVRRP_BENCH=1")
	}
	testenv.RequireRoot(t)
	runs := 5
	if s := os.Getenv("XVRRP_BENCH_RUNS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && n <= 50 {
			runs = n
		}
	}
	v := zoVersion{version: 3, interval: 10 * time.Millisecond, advertInt: "0.01"}
	for i := range runs {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) {
			p := newZoPair(t, v, "xvrrpd", "xvrrpd")
			u := p.upgradeMaster()
			t.Logf("CADENCE event=upgrade-fast run=%d max_ms=%.1f backup_transitions=%d gap_ms=%.1f lost=%d",
				i+1, ms(u.silence), u.peerTransitions, ms(u.gap.MaxGap.Len()), u.gap.Lost)
		})
	}
}
