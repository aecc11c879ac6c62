package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// keepalivedProc is Debian's keepalived running in a test namespace: the
// parent process (started in the foreground with -n) and the VRRP child it
// forks. Both are stopped by PID at cleanup.
type keepalivedProc struct {
	t       *testing.T
	name    string
	dir     string
	proc    *netnstest.Process
	log     *kaBuffer
	pid     int // the parent
	vrrpPid int // the VRRP child, from the -r pid file
}

// kaStartTimeout bounds how long keepalived may take to fork its VRRP child.
const kaStartTimeout = 5 * time.Second

// kaExitTimeout bounds how long a stopped keepalived may take to exit.
const kaExitTimeout = 5 * time.Second

// startKeepalived writes conf into a fresh directory and runs keepalived
// (VRRP subsystem only, logging to the console) inside ns with per-instance
// pid files, so that several keepalived processes coexist on the machine.
// It returns once the VRRP child has written its pid file. Cleanup kills the
// child and the parent by PID and waits for both; when the test failed the
// log is printed.
func startKeepalived(t *testing.T, ns *netnstest.NS, name, conf string) *keepalivedProc {
	t.Helper()
	testenv.RequireCommand(t, "keepalived")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &keepalivedProc{t: t, name: name, dir: dir, log: &kaBuffer{}}
	// -n: no daemon; -l -G -D: detailed log on the console, not syslog;
	// -P: VRRP only; -R: a dead child is not respawned (a crash stays a
	// crash); -p -r -c -b: pid files of this instance (a shared default
	// makes a second keepalived exit at once).
	args := []string{
		"-n", "-l", "-D", "-G", "-P", "-R",
		"-f", cfgPath,
		"-p", filepath.Join(dir, "keepalived.pid"),
		"-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"),
		"-b", filepath.Join(dir, "bfd.pid"),
	}
	// "ip netns exec" execs keepalived in place: the pid is keepalived's.
	cmd := ns.Exec(context.Background(), "keepalived", args...)
	cmd.Stdout, cmd.Stderr = k.log, k.log
	k.proc = ns.StartCmd(t, cmd)
	k.pid = k.proc.Pid()
	// Registered after StartCmd's cleanup, so it runs first.
	t.Cleanup(func() {
		k.Kill()
		if t.Failed() {
			t.Logf("keepalived %s log:\n%s", k.name, k.Log())
		}
	})

	deadline := time.Now().Add(kaStartTimeout)
	for {
		if pid, err := readPidFile(filepath.Join(dir, "vrrp.pid")); err == nil && pid > 0 && pid != k.pid {
			k.vrrpPid = pid
			break
		}
		select {
		case <-k.proc.Done():
			t.Fatalf("keepalived %s exited at start (%v); log:\n%s", name, k.proc.Wait(), k.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("keepalived %s: no VRRP child pid file after %v; log:\n%s", name, kaStartTimeout, k.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return k
}

// readPidFile reads a pid file holding one decimal pid.
func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Kill crashes keepalived: SIGKILL to the VRRP child, then to the parent
// (so that nothing resigns or removes VIPs), and waits for both to be gone.
// Killing a stopped keepalived does nothing.
func (k *keepalivedProc) Kill() {
	k.t.Helper()
	if k.vrrpPid > 0 && pidAlive(k.vrrpPid) {
		_ = syscall.Kill(k.vrrpPid, syscall.SIGKILL)
	}
	select {
	case <-k.proc.Done():
	default:
		_ = syscall.Kill(k.pid, syscall.SIGKILL)
	}
	if err := k.wait(); err != nil {
		k.t.Errorf("keepalived %s: %v", k.name, err)
	}
}

// Stop stops keepalived gracefully: SIGTERM to the parent, which stops the
// VRRP child (a master sends priority-0 adverts and removes its VIPs), and
// waits for both to exit.
func (k *keepalivedProc) Stop() {
	k.t.Helper()
	k.Terminate()
	k.WaitExit()
}

// Terminate sends SIGTERM to the parent without waiting. keepalived takes
// about a second to exit after its priority-0 adverts; WaitExit waits.
func (k *keepalivedProc) Terminate() {
	select {
	case <-k.proc.Done():
	default:
		_ = syscall.Kill(k.pid, syscall.SIGTERM)
	}
}

// WaitExit waits (bounded) until both processes are gone; it fails the test
// when they are not.
func (k *keepalivedProc) WaitExit() {
	k.t.Helper()
	if err := k.wait(); err != nil {
		k.t.Errorf("keepalived %s: %v", k.name, err)
	}
}

// wait waits, bounded, until the parent has been reaped and the child is
// gone (or a zombie: it was reparented to an init that may not reap).
func (k *keepalivedProc) wait() error {
	timer := time.NewTimer(kaExitTimeout)
	defer timer.Stop()
	select {
	case <-k.proc.Done():
	case <-timer.C:
		return fmt.Errorf("parent %d still running after %v", k.pid, kaExitTimeout)
	}
	deadline := time.Now().Add(kaExitTimeout)
	for k.vrrpPid > 0 && pidAlive(k.vrrpPid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("VRRP child %d still running after %v", k.vrrpPid, kaExitTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// Log returns what keepalived logged so far.
func (k *keepalivedProc) Log() string { return k.log.String() }

// pidAlive reports whether pid is a running process (not gone, not a zombie).
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// kaBuffer is a bytes.Buffer safe for concurrent writes and reads.
type kaBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *kaBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *kaBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
