package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// fakeHandler answers with a fixed status and reload result.
type fakeHandler struct {
	status    Status
	reloadErr error
	// block, when not nil, makes Reload wait for it or for its context.
	block chan struct{}

	mu      sync.Mutex
	reloads int
}

func (h *fakeHandler) Status() Status { return h.status }

func (h *fakeHandler) Reload(ctx context.Context) error {
	h.mu.Lock()
	h.reloads++
	h.mu.Unlock()
	if h.block != nil {
		select {
		case <-h.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return h.reloadErr
}

// serve runs Serve on a socket in a temporary directory; the returned
// function stops it and returns Serve's result.
func serve(t *testing.T, h Handler) (path string, stop func() error) {
	t.Helper()
	path = filepath.Join(t.TempDir(), SocketName)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, path, h, zaptest.NewLogger(t)) }()
	waitFor(t, func() bool { _, err := os.Stat(path); return err == nil })
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return path, stop
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sampleStatus() Status {
	return Status{
		Dataplane: "xdp",
		Instances: []InstanceStatus{{
			Name: "VI_1", VRID: 51, Interface: "eth0", Version: 3, State: "MASTER",
			Priority: 101, ConfiguredPriority: 101, Source: "192.0.2.1", Master: "192.0.2.1",
			HoldsVIPs: true, Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Reason: "master down timer expired",
			VIPs: []VIPStatus{
				{Addr: "192.0.2.100/24", Dev: "eth0", Held: true},
				{Addr: "198.51.100.7/32", Dev: "eth1", Held: false},
			},
		}, {
			Name: "VI_2", VRID: 52, Interface: "eth9", State: "FAULT", Reason: "interface gone", Fault: "interface eth9 does not exist",
		}},
		Received: 10, Accepted: 9, Drops: map[string]uint64{"auth": 1},
		ConfigFile: "/etc/keepalived/keepalived.conf", Reloads: 2, ReloadErrors: 1,
	}
}

func TestStatusRoundTrip(t *testing.T) {
	want := sampleStatus()
	path, _ := serve(t, &fakeHandler{status: want})
	got, err := QueryStatus(context.Background(), path)
	if err != nil {
		t.Fatalf("QueryStatus: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status round trip:\n got %+v\nwant %+v", got, want)
	}
}

// TestStatusJSON pins the field names xvrrpctl status --raw users and the e2e
// tests read.
func TestStatusJSON(t *testing.T) {
	b, err := json.Marshal(sampleStatus())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		`"dataplane":"xdp"`, `"reloads":2`, `"reload_errors":1`, `"config_file":"/etc/keepalived/keepalived.conf"`,
		`"holds_vips":true`, `"reason":"master down timer expired"`, `"fault":"interface eth9 does not exist"`,
		`"vips":[{"addr":"192.0.2.100/24","dev":"eth0","held":true},{"addr":"198.51.100.7/32","dev":"eth1","held":false}]`,
	} {
		if !strings.Contains(string(b), key) {
			t.Errorf("status JSON lacks %s:\n%s", key, b)
		}
	}
	// An instance not in FAULT has no "fault" key.
	b, _ = json.Marshal(InstanceStatus{Name: "x"})
	if strings.Contains(string(b), `"fault"`) {
		t.Errorf("fault present without a fault: %s", b)
	}
}

func TestSocketMode(t *testing.T) {
	path, _ := serve(t, &fakeHandler{})
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	leftovers, _ := filepath.Glob(path + ".new.*")
	if len(leftovers) > 0 {
		t.Errorf("temporary socket names left: %v", leftovers)
	}
}

func TestReload(t *testing.T) {
	h := &fakeHandler{}
	path, _ := serve(t, h)
	if err := QueryReload(context.Background(), path); err != nil {
		t.Fatalf("reload: %v", err)
	}
	raw, err := Query(context.Background(), path, CmdReload)
	if err != nil || string(raw) != `{"ok":true}` {
		t.Errorf("raw reload reply %q, %v; want {\"ok\":true}", raw, err)
	}
	if h.reloads != 2 {
		t.Errorf("handler reloaded %d times, want 2", h.reloads)
	}
}

func TestReloadError(t *testing.T) {
	msg := "a.conf:3: priority 300: out of range 1..255\na.conf:9: unknown track_script chk"
	path, _ := serve(t, &fakeHandler{reloadErr: errors.New(msg)})
	err := QueryReload(context.Background(), path)
	var se *ServerError
	if !errors.As(err, &se) || se.Msg != msg || se.Cmd != CmdReload {
		t.Fatalf("reload error %#v, want a ServerError with %q", err, msg)
	}
	raw, _ := Query(context.Background(), path, CmdReload)
	var r Reply
	if err := json.Unmarshal(raw, &r); err != nil || r.OK || r.Error != msg {
		t.Errorf("raw reply %s: want {\"error\": every error}", raw)
	}
}

func TestUnknownCommand(t *testing.T) {
	path, _ := serve(t, &fakeHandler{})
	raw, err := Query(context.Background(), path, "frobnicate")
	if err != nil {
		t.Fatal(err)
	}
	var r Reply
	if err := json.Unmarshal(raw, &r); err != nil || r.OK || !strings.Contains(r.Error, `unknown command "frobnicate"`) {
		t.Errorf("reply %s, want an unknown command error", raw)
	}
}

func TestNotRunning(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	if _, err := QueryStatus(context.Background(), missing); !errors.Is(err, ErrNotRunning) {
		t.Errorf("missing socket: %v, want ErrNotRunning", err)
	}
	// A socket file nobody listens on (a crashed daemon's).
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if err := QueryReload(context.Background(), stale); !errors.Is(err, ErrNotRunning) {
		t.Errorf("stale socket: %v, want ErrNotRunning", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, path, &fakeHandler{status: Status{Dataplane: "socket"}}, zaptest.NewLogger(t))
	}()
	waitFor(t, func() bool {
		st, err := QueryStatus(context.Background(), path)
		return err == nil && st.Dataplane == "socket"
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left after Serve returned: %v", err)
	}
}

func TestNotASocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Serve(context.Background(), path, &fakeHandler{}, zaptest.NewLogger(t))
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Serve over a regular file: %v, want an error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Error("the regular file was replaced")
	}
}

// TestServeStops: Serve returns and every connection goroutine ends when
// its context ends, with an idle client connected and a reload in flight.
func TestServeStops(t *testing.T) {
	before := runtime.NumGoroutine()
	h := &fakeHandler{block: make(chan struct{})}
	path, stop := serve(t, h)

	idle, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	reloadDone := make(chan error, 1)
	go func() { reloadDone <- QueryReload(context.Background(), path) }()
	waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.reloads == 1 })

	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	// The idle client sees its connection closed.
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("idle client: read %d, %v; want the connection closed", n, err)
	}
	if err := <-reloadDone; err == nil {
		t.Error("reload in flight at stop: no error")
	}
	// Serve waited for its goroutines; the client goroutines above have
	// ended too. Allow the runtime a moment to retire them.
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestQueryContext(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	path, _ := serve(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := QueryReload(ctx, path)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("reload past the context deadline: %v, want DeadlineExceeded", err)
	}
	close(h.block)
}

func ExampleQueryStatus() {
	st, err := QueryStatus(context.Background(), SocketPath("/run/xvrrp/net-4026531840"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range st.Instances {
		fmt.Println(in.Name, in.State)
	}
}
