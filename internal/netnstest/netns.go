package netnstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// runDir is where "ip netns add" bind-mounts named namespaces.
const runDir = "/run/netns"

// runID is a short random tag shared by every namespace this test binary
// creates, so that names never collide with another package running in
// parallel or with a leftover of an earlier run.
var runID = func() string {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}()

// seq numbers the namespaces created by this process.
var seq atomic.Uint32

// NS is a named network namespace owned by one test. Its methods are safe for
// concurrent use.
type NS struct {
	name   string
	ns     netns.NsHandle
	handle *netlink.Handle
	ifseq  atomic.Uint32

	mu    sync.Mutex
	procs []*Process
}

// New creates a named network namespace for the test, brings its loopback
// up, disables IPv6 duplicate address detection in it (so link-local and
// global addresses are usable at once) and registers its removal, together
// with every process still running inside it, with t.Cleanup.
//
// The namespace name is "xv" + a per-run tag + a per-process counter + "-" +
// name; Name returns it.
func New(t testing.TB, name string) *NS {
	t.Helper()
	full := fmt.Sprintf("xv%s%d-%s", runID, seq.Add(1), name)
	if out, err := exec.Command("ip", "netns", "add", full).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", full, err, strings.TrimSpace(string(out)))
	}
	n := &NS{name: full, ns: netns.None()}
	t.Cleanup(func() {
		if err := n.destroy(); err != nil {
			t.Errorf("remove namespace %s: %v", full, err)
		}
	})

	h, err := netns.GetFromName(full)
	if err != nil {
		t.Fatalf("open namespace %s: %v", full, err)
	}
	n.ns = h
	n.handle, err = netlink.NewHandleAt(h)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", full, err)
	}

	lo, err := n.handle.LinkByName("lo")
	if err != nil {
		t.Fatalf("find lo in %s: %v", full, err)
	}
	if err := n.handle.LinkSetUp(lo); err != nil {
		t.Fatalf("set lo up in %s: %v", full, err)
	}
	// Links created later inherit "default"; "all" is or-ed in by the kernel.
	err = n.Do(func() error {
		for _, c := range []string{"all", "default"} {
			if err := writeSysctl("net/ipv6/conf/"+c+"/accept_dad", "0"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("disable dad in %s: %v", full, err)
	}
	return n
}

// writeSysctl writes a sysctl of the calling thread's network namespace.
func writeSysctl(key, value string) error {
	return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
}

// Name returns the namespace's name, usable with "ip netns exec".
func (n *NS) Name() string { return n.name }

// Path returns the namespace's bind mount, e.g. for nsenter --net=PATH.
func (n *NS) Path() string { return filepath.Join(runDir, n.name) }

// NsHandle returns an open file descriptor of the namespace (for
// netlink.NsFd, netns.Set and the like). It stays valid until cleanup.
func (n *NS) NsHandle() netns.NsHandle { return n.ns }

// Handle returns a netlink handle operating inside the namespace. It is
// shared and closed at cleanup; do not Close it.
func (n *NS) Handle() *netlink.Handle { return n.handle }

// Do runs fn on an OS thread switched into the namespace and returns its
// error. Goroutines that fn starts do not run in the namespace. fn must not
// call t.Fatal (it runs on another goroutine). Sockets fn opens stay in the
// namespace after Do returns.
func (n *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get current namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(n.ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter namespace %s: %w", n.name, err)
			return
		}
		fnErr := fn()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: the runtime then discards it when this
			// goroutine exits, instead of reusing a thread in the wrong namespace.
			errc <- errors.Join(fnErr, fmt.Errorf("restore namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}

// Exec returns a command that runs name with args inside the namespace (via
// "ip netns exec"). The caller runs it; the context kills it as in
// exec.CommandContext. Use Start or StartCmd for long-running processes so
// that cleanup stops them.
func (n *NS) Exec(ctx context.Context, name string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", n.name, name}, args...)
	return exec.CommandContext(ctx, "ip", full...)
}

// Run runs name with args inside the namespace, bounded by timeout, and
// returns its combined output; a non-zero exit is an error carrying the output.
func (n *NS) Run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := n.Exec(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(args, " "), n.name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Process is a command started in a namespace with Start or StartCmd.
type Process struct {
	Cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // set before done is closed
}

// Start starts name with args inside the namespace and registers its
// termination with t.Cleanup (SIGTERM, then SIGKILL after a grace period).
// Its stdout and stderr are collected; Output returns them, and they are
// logged at cleanup when the test failed.
func (n *NS) Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	cmd := n.Exec(context.Background(), name, args...)
	buf := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	p := n.StartCmd(t, cmd)
	p.out = buf
	return p
}

// StartCmd starts a command returned by Exec (whose outputs the caller may
// have set) and registers its termination with t.Cleanup.
func (n *NS) StartCmd(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v in %s: %v", cmd.Args, n.name, err)
	}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	n.mu.Lock()
	n.procs = append(n.procs, p)
	n.mu.Unlock()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() && p.out != nil {
			t.Logf("output of %v:\n%s", cmd.Args, p.out.String())
		}
	})
	return p
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit and returns its exit error. It may be
// called any number of times.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Output returns what the process wrote so far (Start only; empty for StartCmd).
func (p *Process) Output() string {
	if p.out == nil {
		return ""
	}
	return p.out.String()
}

// stopGrace is how long Stop waits after SIGTERM before SIGKILL: longer
// than an xvrrpd master alone takes to stop (it waits for a backup to take
// over for the best backup's Master_Down_Interval, 3 s at advert_int 1).
const stopGrace = 5 * time.Second

// Stop sends SIGTERM, waits up to a grace period, then sends SIGKILL, and
// waits for the exit. It returns the exit error; stopping an exited process
// only returns that.
func (p *Process) Stop() error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

// destroy stops the processes started in the namespace, kills any other
// process still inside it (children such as keepalived's VRRP process), closes
// the handles and deletes the namespace.
func (n *NS) destroy() error {
	n.mu.Lock()
	procs := n.procs
	n.procs = nil
	n.mu.Unlock()
	for _, p := range procs {
		p.Stop()
	}
	var errs []error
	if n.ns.IsOpen() {
		if err := n.killRemaining(); err != nil {
			errs = append(errs, err)
		}
	}
	if n.handle != nil {
		n.handle.Close()
	}
	if n.ns.IsOpen() {
		n.ns.Close()
	}
	if out, err := exec.Command("ip", "netns", "delete", n.name).CombinedOutput(); err != nil {
		errs = append(errs, fmt.Errorf("ip netns delete: %w: %s", err, strings.TrimSpace(string(out))))
	}
	return errors.Join(errs...)
}

// killRemaining SIGKILLs, by pid, every process (other than this one) whose
// network namespace is this namespace, and waits briefly for them to go.
func (n *NS) killRemaining() error {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(n.ns), &st); err != nil {
		return fmt.Errorf("stat namespace: %w", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		pids := pidsInNetns(st.Dev, st.Ino)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still running in %s", pids, n.name)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pidsInNetns lists the processes whose network namespace has the given
// device and inode, excluding this process.
func pidsInNetns(dev, ino uint64) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join("/proc", e.Name(), "ns/net"), &st); err != nil {
			continue
		}
		if st.Dev == dev && st.Ino == ino {
			// Zombies keep their namespace link only while alive; a zombie
			// cannot be killed, so skip it.
			if state, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && isZombie(state) {
				continue
			}
			pids = append(pids, pid)
		}
	}
	return pids
}

func isZombie(stat []byte) bool {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// Exists reports whether a named namespace exists (is bind-mounted under
// /run/netns).
func Exists(name string) bool {
	_, err := os.Stat(filepath.Join(runDir, name))
	return err == nil
}

// uniqueIfname returns a short interface name unique within this namespace.
func (n *NS) uniqueIfname(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, n.ifseq.Add(1))
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a process's
// stdout and stderr copiers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
