package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp/daemon"
)

// `xvrrpctl upgrade` replaces the running xvrrpd by a new process of the
// binary on disk without a peer noticing (docs/OPERATIONS.md "Upgrade"):
//
//  1. The running daemon (old) starts the binary with its own arguments
//     plus --upgrade-fd=3: fd 3 is one end of a socketpair, fd 4 the
//     namespace lock (the same open file: the lock never leaves).
//  2. The new process reads the configuration, loads BPF and builds its
//     instances without touching a VIP or a pin, and says "ready".
//  3. The old daemon freezes its loop (nothing sent or handled from then
//     on) and sends the handoff: every instance's state with its timers'
//     phase, the VIPs held, the scripts' results, the BPF links.
//  4. The new process adopts it, runs (a master's next advert goes out
//     when the old one's was due; each BPF link gets the new program in
//     place) and says "running".
//  5. The old daemon answers xvrrpctl with the new PID, tells systemd
//     MAINPID=, and exits 0 without resigning, removing a VIP, its pins,
//     the lock or the pid file. The new process, on seeing the socketpair
//     close, takes the control socket, the pid file, the lock file's pid,
//     the pins and the metrics address.
//
// Any failure before 4 completes (the binary missing, a configuration
// error, a refused handoff, a crash, 10 s without "ready", 3 s without
// "running") stops the new process and resumes the old one; xvrrpctl gets
// the reason.

// Timeouts of an upgrade.
const (
	upgradeReadyTimeout   = 10 * time.Second // start to "ready": configuration, BPF load
	upgradeRunningTimeout = 3 * time.Second  // handoff to "running": the loop is frozen meanwhile
	upgradeExitWait       = 5 * time.Second  // the new process waits this long for the old one to go
)

// upgradeFlag is the new process's flag; the lock is the next fd.
const upgradeFlag = "upgrade-fd"

// upgradeMsg is one line of the handshake.
type upgradeMsg struct {
	Msg     string          `json:"msg"` // ready, handoff, running, error
	Error   string          `json:"error,omitempty"`
	Handoff *daemon.Handoff `json:"handoff,omitempty"`
}

// upgrader is the old daemon's side.
type upgrader struct {
	log    *zap.Logger
	self   string   // the binary's path at start
	args   []string // the daemon's arguments, without --upgrade-fd
	lock   *os.File // the namespace lock, passed on
	freeze func(ctx context.Context) (*daemon.Frozen, error)
	// handedOver tells systemd (MAINPID=) before the old process goes.
	handedOver func(pid int)

	mu     sync.Mutex
	to     atomic.Int64  // the PID handed over to; 0: none
	closed chan struct{} // closed once the hand-over is committed
}

func newUpgrader(log *zap.Logger, args []string, lock *os.File, freeze func(context.Context) (*daemon.Frozen, error), handedOver func(int)) *upgrader {
	self, err := os.Executable()
	if err != nil {
		log.Warn("upgrade: own path unknown: xvrrpctl upgrade needs a binary path", zap.Error(err))
	}
	var kept []string
	for _, a := range args {
		if !strings.HasPrefix(strings.TrimLeft(a, "-"), upgradeFlag+"=") {
			kept = append(kept, a)
		}
	}
	return &upgrader{log: log, self: self, args: kept, lock: lock, freeze: freeze, handedOver: handedOver, closed: make(chan struct{})}
}

// handedTo is the PID the daemon handed over to, or 0.
func (u *upgrader) handedTo() int { return int(u.to.Load()) }

// Upgrade implements control.Upgrader.
func (u *upgrader) Upgrade(ctx context.Context, binary string) (int, func(), error) {
	if !u.mu.TryLock() {
		return 0, nil, errors.New("an upgrade is in progress")
	}
	defer u.mu.Unlock()
	if u.handedTo() != 0 {
		return 0, nil, errors.New("handed over already")
	}
	if binary == "" {
		binary = u.self
	}
	if binary == "" {
		return 0, nil, errors.New("no binary: give its path")
	}
	fi, err := os.Stat(binary)
	switch {
	case err != nil:
		return 0, nil, fmt.Errorf("upgrade: %w", err)
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return 0, nil, fmt.Errorf("upgrade: %s is not an executable file", binary)
	}
	log := u.log.With(zap.String("binary", binary))
	log.Info("upgrade: starting the new process")
	start := time.Now()

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("upgrade: socketpair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "upgrade"), os.NewFile(uintptr(fds[1]), "upgrade")
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		theirs.Close()
		return 0, nil, fmt.Errorf("upgrade: %w", err)
	}
	cmd := exec.Command(binary, append(append([]string(nil), u.args...), "--"+upgradeFlag+"=3")...)
	cmd.ExtraFiles = []*os.File{theirs, u.lock}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		conn.Close()
		return 0, nil, fmt.Errorf("upgrade: start %s: %w", binary, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(err error) (int, func(), error) {
		conn.Close()
		select {
		case werr := <-exited:
			if werr != nil && !strings.Contains(err.Error(), "exited") {
				err = fmt.Errorf("%w (new process: %v)", err, werr)
			}
		default:
			cmd.Process.Kill() // ours, by PID
			<-exited
		}
		log.Error("upgrade failed: the running daemon goes on", zap.Int("new_pid", pid), zap.Error(err))
		return 0, nil, fmt.Errorf("upgrade to %s failed, the running daemon goes on: %w", binary, err)
	}
	dec, enc := json.NewDecoder(conn), json.NewEncoder(conn)
	read := func(want string, timeout time.Duration) error {
		conn.SetReadDeadline(time.Now().Add(timeout))
		var m upgradeMsg
		if err := dec.Decode(&m); err != nil {
			select {
			case werr := <-exited:
				exited <- werr
				return fmt.Errorf("new process exited (%v) before %q", werr, want)
			case <-time.After(200 * time.Millisecond):
			}
			return fmt.Errorf("waiting for %q: %w", want, err)
		}
		switch m.Msg {
		case want:
			return nil
		case "error":
			return errors.New(m.Error)
		}
		return fmt.Errorf("new process said %q, want %q", m.Msg, want)
	}
	if err := read("ready", upgradeReadyTimeout); err != nil {
		return fail(err)
	}
	ready := time.Since(start)
	fr, err := u.freeze(ctx)
	if err != nil {
		return fail(fmt.Errorf("cannot hand over now: %w", err))
	}
	frozen := time.Now()
	conn.SetWriteDeadline(time.Now().Add(upgradeRunningTimeout))
	if err := enc.Encode(upgradeMsg{Msg: "handoff", Handoff: fr.Handoff}); err != nil {
		fr.Finish(false)
		return fail(fmt.Errorf("send the state: %w", err))
	}
	if err := read("running", upgradeRunningTimeout); err != nil {
		fr.Finish(false)
		return fail(err)
	}
	log.Info("upgrade: the new process runs the instances", zap.Int("new_pid", pid),
		zap.Duration("new_process_ready_after", ready), zap.Duration("frozen_for", time.Since(frozen)))
	commit := func() {
		defer close(u.closed)
		if !fr.Finish(true) {
			// The freeze ran out first: this daemon runs again, so the
			// new one must not.
			log.Error("upgrade: the freeze ended before the hand-over: stopping the new process", zap.Int("new_pid", pid))
			cmd.Process.Kill()
			conn.Close()
			return
		}
		u.to.Store(int64(pid))
		u.handedOver(pid)
		conn.Close()
		go func() { <-exited }() // reaped if it ends before we do
	}
	return pid, commit, nil
}

// upgradeChild is the new process's side of the handshake.
type upgradeChild struct {
	conn net.Conn
	lock *os.File
}

// openUpgradeChild takes the socketpair end at fd and the lock at fd+1.
func openUpgradeChild(fd int) (*upgradeChild, error) {
	for _, f := range []int{fd, fd + 1} {
		syscall.CloseOnExec(f) // scripts must not inherit them
	}
	f := os.NewFile(uintptr(fd), "upgrade")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("--%s=%d: %w", upgradeFlag, fd, err)
	}
	return &upgradeChild{conn: conn, lock: os.NewFile(uintptr(fd+1), "lock")}, nil
}

func (c *upgradeChild) send(m upgradeMsg) error {
	c.conn.SetWriteDeadline(time.Now().Add(upgradeRunningTimeout))
	return json.NewEncoder(c.conn).Encode(m)
}

// fail tells the old daemon why this process gives up.
func (c *upgradeChild) fail(err error) {
	c.send(upgradeMsg{Msg: "error", Error: err.Error()})
	c.conn.Close()
}

// handoff says "ready" and reads the old daemon's state.
func (c *upgradeChild) handoff() (*daemon.Handoff, error) {
	if err := c.send(upgradeMsg{Msg: "ready"}); err != nil {
		return nil, fmt.Errorf("upgrade handshake: %w", err)
	}
	// The old daemon freezes as soon as it reads "ready".
	c.conn.SetReadDeadline(time.Now().Add(upgradeReadyTimeout))
	var m upgradeMsg
	if err := json.NewDecoder(c.conn).Decode(&m); err != nil {
		return nil, fmt.Errorf("upgrade handshake: %w", err)
	}
	if m.Msg != "handoff" || m.Handoff == nil {
		return nil, fmt.Errorf("upgrade handshake: got %q, want the handoff", m.Msg)
	}
	return m.Handoff, nil
}

// running says "running" and waits for the old daemon to go (the socket
// closes), at most upgradeExitWait.
func (c *upgradeChild) running() error {
	if err := c.send(upgradeMsg{Msg: "running"}); err != nil {
		return err
	}
	c.conn.SetReadDeadline(time.Now().Add(upgradeExitWait))
	buf := make([]byte, 64)
	for {
		if _, err := c.conn.Read(buf); err != nil {
			c.conn.Close()
			return nil
		}
	}
}
