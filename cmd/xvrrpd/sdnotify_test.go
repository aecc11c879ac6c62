package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/control"
)

// fakeSystemd is a NOTIFY_SOCKET: a unixgram socket in a temporary
// directory, as systemd passes to a Type=notify service.
type fakeSystemd struct {
	t    *testing.T
	conn *net.UnixConn
}

func newFakeSystemd(t *testing.T) *fakeSystemd {
	t.Helper()
	// t.TempDir() can exceed sun_path's 108 bytes; a short directory cannot.
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return &fakeSystemd{t: t, conn: conn}
}

// next returns the next datagram.
func (s *fakeSystemd) next() string {
	s.t.Helper()
	buf := make([]byte, 4096)
	s.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := s.conn.Read(buf)
	if err != nil {
		s.t.Fatalf("no sd_notify message: %v", err)
	}
	return string(buf[:n])
}

// expect reads the next datagrams and compares them with want, in order.
func (s *fakeSystemd) expect(step string, want ...string) {
	s.t.Helper()
	for i, w := range want {
		if got := s.next(); got != w {
			s.t.Fatalf("%s: message %d:\n%q\nwant\n%q", step, i+1, got, w)
		}
	}
}

// none fails if a datagram arrives within a short while.
func (s *fakeSystemd) none(step string) {
	s.t.Helper()
	buf := make([]byte, 4096)
	s.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := s.conn.Read(buf); err == nil {
		s.t.Fatalf("%s: unexpected message %q", step, buf[:n])
	}
}

// TestNotifyProtocol walks start, transitions, reloads (applied, refused,
// through SIGHUP's path and the control socket's) and stop against a fake
// NOTIFY_SOCKET, with go-systemd sending as in production, and checks
// every datagram and its order.
func TestNotifyProtocol(t *testing.T) {
	sys := newFakeSystemd(t)

	var mu sync.Mutex
	status := control.Status{Dataplane: "xdp", Instances: []control.InstanceStatus{{State: "INIT"}, {State: "INIT"}}}
	setStates := func(states ...string) {
		mu.Lock()
		defer mu.Unlock()
		status.Instances = nil
		for _, s := range states {
			status.Instances = append(status.Instances, control.InstanceStatus{State: s})
		}
	}
	n := newNotifier(zaptest.NewLogger(t), func() control.Status {
		mu.Lock()
		defer mu.Unlock()
		return status
	})
	n.monotonic = func() string { return "MONOTONIC_USEC=42" }

	// A reloader as main builds it, with the daemon's apply faked.
	path := writeConfig(t, validConfig)
	var applyErr error
	r := &reloader{file: path, log: zaptest.NewLogger(t), stderr: &strings.Builder{},
		apply: func(context.Context, *config.Config) error { return applyErr }}
	h := notifyReloads(controlHandler{status: n.status, r: r}, n)
	sighup := func() error { return n.reload(func() error { return r.reload(context.Background(), "SIGHUP") }) }

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	events := make(chan control.Event, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.run(ctx, ready, events)
	}()

	// Start: a reload before READY=1 says nothing; systemd waits for READY.
	if err := sighup(); err != nil {
		t.Fatalf("reload before ready: %v", err)
	}
	sys.none("reload before ready")
	setStates("MASTER", "BACKUP")
	close(ready)
	sys.expect("start", "READY=1\nSTATUS=2 instances: 1 MASTER, 1 BACKUP; dataplane xdp")

	// A transition updates STATUS=, unless the summary stays the same.
	events <- control.Event{Instance: "VI_1", To: "MASTER"}
	sys.none("transition that leaves the summary")
	setStates("MASTER", "MASTER")
	events <- control.Event{Instance: "VI_2", To: "MASTER"}
	sys.expect("transition", "STATUS=2 instances: 2 MASTER; dataplane xdp")

	// SIGHUP, applied.
	if err := sighup(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	sys.expect("reload (SIGHUP)",
		"RELOADING=1\nMONOTONIC_USEC=42\nSTATUS=reloading the configuration",
		"READY=1\nSTATUS=2 instances: 2 MASTER; dataplane xdp")

	// xvrrpctl reload, applied.
	if err := h.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	sys.expect("reload (control socket)",
		"RELOADING=1\nMONOTONIC_USEC=42\nSTATUS=reloading the configuration",
		"READY=1\nSTATUS=2 instances: 2 MASTER; dataplane xdp")

	// A file with errors: refused, READY=1 all the same (the running
	// configuration stays), and STATUS= says so.
	if err := os.WriteFile(path, []byte("vrrp_instance VI_1 {\n  virtual_router_id 300\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := sighup(); err == nil {
		t.Fatal("reload of a broken file: no error")
	}
	sys.expect("refused reload",
		"RELOADING=1\nMONOTONIC_USEC=42\nSTATUS=reloading the configuration",
		"READY=1\nSTATUS=reload refused, the running configuration stays; 2 instances: 2 MASTER; dataplane xdp")

	// The daemon refusing a valid file: the same.
	os.WriteFile(path, []byte(validConfig), 0o644)
	applyErr = errors.New("boom")
	if err := h.Reload(context.Background()); err == nil {
		t.Fatal("reload refused by the daemon: no error")
	}
	sys.expect("reload refused by the daemon",
		"RELOADING=1\nMONOTONIC_USEC=42\nSTATUS=reloading the configuration",
		"READY=1\nSTATUS=reload refused, the running configuration stays; 2 instances: 2 MASTER; dataplane xdp")

	// Stop: STOPPING=1 once, then silence, reloads included.
	cancel()
	<-done
	sys.expect("stop", "STOPPING=1\nSTATUS=stopping: masters resign and remove their VIPs")
	n.stopping()
	applyErr = nil
	if err := sighup(); err != nil {
		t.Fatalf("reload after stop: %v", err)
	}
	sys.none("after stop")
}

// TestNotifyStopBeforeReady: a daemon stopped during its start sends
// STOPPING=1 and never READY=1.
func TestNotifyStopBeforeReady(t *testing.T) {
	sys := newFakeSystemd(t)
	n := newNotifier(zaptest.NewLogger(t), func() control.Status { return control.Status{} })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.run(ctx, make(chan struct{}), nil)
	sys.expect("stop", "STOPPING=1\nSTATUS=stopping: masters resign and remove their VIPs")
	sys.none("after stop")
}

// TestNotifyWithoutSocket: outside systemd nothing is sent and nothing
// fails.
func TestNotifyWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n := newNotifier(zaptest.NewLogger(t), func() control.Status { return control.Status{} })
	ready := make(chan struct{})
	close(ready)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.run(ctx, ready, nil)
	}()
	if err := n.reload(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if n.warned {
		t.Error("a send failed without NOTIFY_SOCKET")
	}
}

// TestNotifyMonotonic: the production MONOTONIC_USEC line is one
// "MONOTONIC_USEC=<µs>" line.
func TestNotifyMonotonic(t *testing.T) {
	n := newNotifier(zaptest.NewLogger(t), nil)
	if m := n.monotonic(); !regexp.MustCompile(`^MONOTONIC_USEC=[0-9]+$`).MatchString(m) {
		t.Errorf("monotonic line %q", m)
	}
}

func TestStatusSummary(t *testing.T) {
	for _, tc := range []struct {
		states []string
		plane  string
		want   string
	}{
		{nil, "socket", "0 instances; dataplane socket"},
		{[]string{"BACKUP"}, "tc", "1 instance: 1 BACKUP; dataplane tc"},
		{[]string{"FAULT", "BACKUP", "MASTER", "BACKUP", "INIT"}, "xdp", "5 instances: 1 MASTER, 2 BACKUP, 1 FAULT, 1 INIT; dataplane xdp"},
		{[]string{"STOP", "MASTER"}, "", "2 instances: 1 MASTER, 1 STOP"},
	} {
		var s control.Status
		s.Dataplane = tc.plane
		for _, st := range tc.states {
			s.Instances = append(s.Instances, control.InstanceStatus{State: st})
		}
		if got := statusSummary(s); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.states, got, tc.want)
		}
	}
}

// TestNotifyHandedOver: an upgraded daemon tells systemd the new main PID
// and then nothing more, not even STOPPING=1 when its run ends.
func TestNotifyHandedOver(t *testing.T) {
	sys := newFakeSystemd(t)
	n := newNotifier(zaptest.NewLogger(t), func() control.Status { return control.Status{} })
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	close(ready)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.run(ctx, ready, nil)
	}()
	sys.expect("start", "READY=1\nSTATUS=0 instances")
	n.handedOver(4242)
	sys.expect("upgrade", "MAINPID=4242\nSTATUS=upgraded: pid 4242 runs the instances")
	cancel()
	<-done
	sys.none("after the hand-over")
}
