package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// Helpers of the start-up, memory and send-path measurements
// (startup_measure_test.go, memory_measure_test.go,
// sendpath_measure_test.go): a daemon, xvrrpd or keepalived, started with
// the moment of its launch known to the microsecond, its READY=1, its
// memory and its CPU time. They run only with XVRRP_BENCH=1.

// measureDaemons returns the daemons a measurement compares:
// XVRRP_BENCH_DAEMONS (comma-separated: xvrrpd, keepalived), default both.
func measureDaemons() []string {
	if s := os.Getenv("XVRRP_BENCH_DAEMONS"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"xvrrpd", "keepalived"}
}

// measureRuns is XVRRP_BENCH_RUNS, or def.
func measureRuns(t testing.TB, def int) int {
	if s := os.Getenv("XVRRP_BENCH_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("XVRRP_BENCH_RUNS=%q: want a positive number", s)
		}
		return n
	}
	return def
}

// measureDataplane is the --dataplane xvrrpd runs with in a measurement:
// XVRRP_BENCH_DATAPLANE, default auto.
func measureDataplane() string {
	if s := os.Getenv("XVRRP_BENCH_DATAPLANE"); s != "" {
		return s
	}
	return "auto"
}

// requireBench skips unless XVRRP_BENCH=1 and fails without root.
func requireBench(t *testing.T) {
	t.Helper()
	if os.Getenv("XVRRP_BENCH") != "1" {
		t.Skip("measurement: set XVRRP_BENCH=1 (make bench)")
	}
	testenv.RequireRoot(t)
}

// timedDaemon is a daemon started by startTimed.
type timedDaemon struct {
	kind     string // xvrrpd or keepalived
	cmd      *exec.Cmd
	dir      string
	launched time.Time // just before fork: the launch
	ready    chan time.Time
	done     chan struct{}
	err      error
	out      *syncLog
}

// syncLog collects a process's output; the first write that holds
// marker sends its time to seen.
type syncLog struct {
	mu     sync.Mutex
	b      strings.Builder
	marker string
	seen   chan<- time.Time
}

func (l *syncLog) Write(p []byte) (int, error) {
	at := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.marker != "" && strings.Contains(string(p), l.marker) {
		l.marker = ""
		select {
		case l.seen <- at:
		default:
		}
	}
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startTimed runs kind (xvrrpd or keepalived) with conf inside ns and
// returns at once. The process is forked from a thread switched into ns
// (no "ip netns exec" in between: launched is the fork of the daemon
// itself) with a private mount namespace, as ip netns exec gives it
// (bpffs mounted by xvrrpd stays there). NOTIFY_SOCKET points at a socket
// of the test: ready receives the time of READY=1. Cleanup stops the
// daemon (SIGTERM, then SIGKILL of it and of keepalived's child).
func startTimed(t testing.TB, ns *netnstest.NS, kind, conf string, extra ...string) *timedDaemon {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &timedDaemon{kind: kind, dir: dir, ready: make(chan time.Time, 1), done: make(chan struct{})}
	d.out = &syncLog{seen: d.ready}
	var bin string
	var args []string
	switch kind {
	case "xvrrpd":
		bin = xvrrpdPath(t)
		args = append([]string{"-f", cfg, "--run-dir", filepath.Join(dir, "run"), "--log-level", "info"}, extra...)
	case "keepalived":
		testenv.RequireCommand(t, "keepalived")
		bin = "/usr/sbin/keepalived"
		if p, err := exec.LookPath("keepalived"); err == nil {
			bin = p
		}
		args = append([]string{"-n", "-l", "-D", "-G", "-P", "-R", "-f", cfg,
			"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
			"-c", filepath.Join(dir, "checkers.pid"), "-b", filepath.Join(dir, "bfd.pid")}, extra...)
		d.out.marker = "Startup complete"
	default:
		t.Fatalf("unknown daemon %q", kind)
	}
	sock := filepath.Join(dir, "notify.sock")
	nl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatalf("notify socket: %v", err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := nl.Read(buf)
			if err != nil {
				return
			}
			at := time.Now()
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				if l == "READY=1" {
					select {
					case d.ready <- at:
					default:
					}
				}
			}
		}
	}()
	d.cmd = exec.Command(bin, args...)
	d.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if err := ns.Do(func() error {
		d.launched = time.Now()
		return d.cmd.Start()
	}); err != nil {
		nl.Close()
		t.Fatalf("start %s in %s: %v", kind, ns.Name(), err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.stop()
		nl.Close()
		if t.Failed() {
			t.Logf("output of %s:\n%s", kind, d.out.String())
		}
	})
	return d
}

// pids returns the daemon's processes: xvrrpd's one, keepalived's parent
// and VRRP child (once it has written its pid file).
func (d *timedDaemon) pids() []int {
	pids := []int{d.cmd.Process.Pid}
	if d.kind == "keepalived" {
		if pid, err := readPidFile(filepath.Join(d.dir, "vrrp.pid")); err == nil && pid > 0 && pid != pids[0] && pidAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitChild waits (up to timeout) until every process of the daemon
// exists (keepalived's VRRP child has written its pid file).
func (d *timedDaemon) waitChild(t testing.TB, timeout time.Duration) {
	t.Helper()
	if d.kind != "keepalived" {
		return
	}
	deadline := time.Now().Add(timeout)
	for len(d.pids()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("keepalived: no VRRP child after %v; output:\n%s", timeout, d.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitReady returns when the daemon said it is ready (READY=1, see
// startTimed), or fails after timeout.
func (d *timedDaemon) waitReady(t testing.TB, timeout time.Duration) time.Time {
	t.Helper()
	select {
	case at := <-d.ready:
		return at
	case <-d.done:
		t.Fatalf("%s exited before READY=1 (%v); output:\n%s", d.kind, d.err, d.out.String())
	case <-time.After(timeout):
		t.Fatalf("%s: no READY=1 within %v; output:\n%s", d.kind, timeout, d.out.String())
	}
	return time.Time{}
}

// stop sends SIGTERM and waits up to 8 s (an xvrrpd master alone waits
// for a backup for a Master_Down_Interval), then kills every process of
// the daemon.
func (d *timedDaemon) stop() {
	pids := d.pids()
	select {
	case <-d.done:
	default:
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(8 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
	for _, pid := range pids[1:] {
		if pidAlive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// memoryOf sums Rss and Pss (kB) of /proc/PID/smaps_rollup over pids.
func memoryOf(t testing.TB, pids []int) (rssKB, pssKB int) {
	t.Helper()
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			t.Fatalf("memory of %d: %v", pid, err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			n, err := strconv.Atoi(f[1])
			if err != nil {
				continue
			}
			switch f[0] {
			case "Rss:":
				rssKB += n
			case "Pss:":
				pssKB += n
			}
		}
	}
	return rssKB, pssKB
}

// cpuOf is the CPU time of pids' threads (schedstat, nanoseconds).
func cpuOf(t testing.TB, pids []int) time.Duration {
	t.Helper()
	var sum time.Duration
	for _, pid := range pids {
		sum += procRunTime(t, pid)
	}
	return sum
}

// threadsOf counts the threads of pids.
func threadsOf(pids []int) int {
	n := 0
	for _, pid := range pids {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
		n += len(tasks)
	}
	return n
}

// median of ds (0 when empty).
func median(ds []float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
