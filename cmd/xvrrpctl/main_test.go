package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

// fakeDaemon answers the control protocol like xvrrpd: a fixed status,
// reloads counted, watch subscriptions fed by publish.
type fakeDaemon struct {
	status    control.Status
	reloadErr error

	mu      sync.Mutex
	reloads int
	subs    map[chan control.Event]struct{}
}

func (f *fakeDaemon) Status() control.Status { return f.status }

func (f *fakeDaemon) Reload(context.Context) error {
	f.mu.Lock()
	f.reloads++
	f.mu.Unlock()
	return f.reloadErr
}

// Watch is Daemon.Watch's contract: a channel closed when ctx ends.
func (f *fakeDaemon) Watch(ctx context.Context) <-chan control.Event {
	ch := make(chan control.Event, 16)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[chan control.Event]struct{}{}
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.subs, ch)
		close(ch)
		f.mu.Unlock()
	}()
	return ch
}

func (f *fakeDaemon) publish(e control.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		ch <- e
	}
}

func (f *fakeDaemon) watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// serve runs a handler's control socket in a temporary run directory
// until the test ends.
func serve(t *testing.T, h control.Handler) (runDir string) {
	runDir, _ = serveStop(t, h)
	return runDir
}

// serveStop is serve with a function that stops the socket early.
func serveStop(t *testing.T, h control.Handler) (runDir string, stop func()) {
	t.Helper()
	runDir = t.TempDir()
	path := control.SocketPath(runDir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.Serve(ctx, path, h, zaptest.NewLogger(t)) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	waitFor(t, func() bool { _, err := os.Stat(path); return err == nil })
	return runDir, stop
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 5 s")
		}
	}
}

// testNow is the clock of every command run by ctl.
var testNow = time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)

// ctl runs xvrrpctl with args and returns its exit code and output.
func ctl(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = runEnv(context.Background(), args, &env{stdout: &out, stderr: &errOut, now: func() time.Time { return testNow }})
	return code, out.String(), errOut.String()
}

func sampleStatus() control.Status {
	return control.Status{
		Dataplane: "xdp",
		Instances: []control.InstanceStatus{{
			Name: "VI_1", VRID: 51, Interface: "eth0", Version: 3, State: "MASTER", WantState: "MASTER",
			Priority: 101, ConfiguredPriority: 101, Source: "192.0.2.1", Master: "192.0.2.1", MasterPriority: 101,
			HoldsVIPs: true, Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Reason: "master down timer expired", AdvertInt: time.Second, MasterAdvertInt: time.Second,
			VIPs: []control.VIPStatus{
				{Addr: "192.0.2.100/24", Dev: "eth0", Held: true},
				{Addr: "198.51.100.7/32", Dev: "eth1", Held: false},
			},
			Trackers: []control.TrackerStatus{
				{Kind: "script", Name: "chk_nginx", State: "ok", Weight: 10},
				{Kind: "interface", Name: "eth1", State: "ok", Weight: -20},
				{Kind: "file", Name: "maint", State: "0", Weight: -1, Reverse: true},
			},
			Stats: control.InstanceStats{AdvertRcvd: 4, AdvertSent: 3301, BecomeMaster: 1},
		}, {
			Name: "VI_2", VRID: 52, Interface: "eth9", Version: 2, State: "FAULT", WantState: "FAULT",
			Priority: 80, ConfiguredPriority: 100, AdvertInt: time.Second,
			Since:  time.Date(2026, 1, 2, 3, 59, 18, 0, time.UTC),
			Reason: "interface eth9 gone", Fault: "interface eth9 does not exist",
			VIPs:     []control.VIPStatus{{Addr: "192.0.2.200/24", Dev: "eth9"}},
			Trackers: []control.TrackerStatus{{Kind: "script", Name: "chk_db", State: "failed", Weight: -20}},
			Stats:    control.InstanceStats{AdvertRcvd: 120, AdvertSent: 7, BecomeMaster: 1, ReleaseMaster: 1, PriZeroSent: 1},
		}, {
			Name: "VI_3", VRID: 53, Interface: "eth0", Version: 3, State: "BACKUP", WantState: "MASTER",
			Priority: 100, ConfiguredPriority: 100, Master: "192.0.2.2", MasterPriority: 150,
			AdvertInt: 100 * time.Millisecond, MasterAdvertInt: 200 * time.Millisecond,
			Since:  time.Date(2025, 12, 30, 1, 0, 0, 0, time.UTC),
			Reason: "higher priority advert",
			Stats:  control.InstanceStats{AdvertRcvd: 2701234, PriZeroRcvd: 2},
		}},
		Received: 2701358, Accepted: 2701340, AdvertsSent: 3308, GarpBursts: 2, Transitions: 6,
		KernelEvents: 57, KernelEventsLost: 3, HostEvents: 4, WatchDropped: 1,
		Drops:      map[string]uint64{"bad_ttl": 2, "auth_type_mismatch": 1, "unknown_vrid": 15},
		ConfigFile: "/etc/keepalived/keepalived.conf", Reloads: 2, ReloadErrors: 1,
	}
}

func TestReload(t *testing.T) {
	f := &fakeDaemon{}
	dir := serve(t, f)
	code, out, errOut := ctl("--run-dir", dir, "reload")
	if code != exitOK || out != "configuration reloaded\n" || errOut != "" {
		t.Errorf("reload: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if f.reloads != 1 {
		t.Errorf("daemon reloaded %d times", f.reloads)
	}
}

func TestReloadRefused(t *testing.T) {
	msg := "/etc/keepalived/keepalived.conf: configuration has errors, the running one stays:\n" +
		"/etc/keepalived/keepalived.conf:3: virtual_router_id 300: out of range 1..255\n" +
		"/etc/keepalived/keepalived.conf:4: priority 999: out of range 1..255"
	dir := serve(t, &fakeDaemon{reloadErr: errors.New(msg)})
	code, out, errOut := ctl("--run-dir", dir, "reload")
	if code != exitError || out != "" {
		t.Errorf("refused reload: exit %d, stdout %q", code, out)
	}
	if want := "xvrrpctl: reload refused:\n" + msg + "\n"; errOut != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
}

// TestNotRunning: every command that talks to the daemon exits 3 without
// one.
func TestNotRunning(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"status"}, {"status", "--json"}, {"status", "--raw"}, {"stats"}, {"stats", "--json"},
		{"watch"}, {"watch", "--json"}, {"reload"}} {
		code, out, errOut := ctl(append([]string{"--run-dir", dir}, args...)...)
		if code != exitNotRunning || out != "" || !strings.Contains(errOut, "xvrrpd is not running") {
			t.Errorf("%q without a socket: exit %d, stdout %q, stderr %q; want 3", args, code, out, errOut)
		}
	}
	// A socket left by a crashed daemon: connection refused.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: control.SocketPath(dir), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	for _, cmd := range []string{"status", "stats", "watch"} {
		if code, _, errOut := ctl("--run-dir", dir, cmd); code != exitNotRunning {
			t.Errorf("%s on a dead socket: exit %d, stderr %q; want 3", cmd, code, errOut)
		}
	}
}

func TestError(t *testing.T) {
	// A run directory that is a file: not "not running", an error.
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	for _, cmd := range []string{"status", "stats", "watch", "reload"} {
		code, out, errOut := ctl("--run-dir", file, cmd)
		if code != exitError || out != "" || !strings.HasPrefix(errOut, "xvrrpctl: ") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1", cmd, code, out, errOut)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "xvrrpctl: no command\nusage: xvrrpctl"},
		{[]string{"frobnicate"}, `xvrrpctl: unknown command "frobnicate"` + "\nusage: xvrrpctl"},
		{[]string{"--bogus", "status"}, "xvrrpctl: flag provided but not defined: -bogus\nusage: xvrrpctl"},
		{[]string{"status", "--bogus"}, "xvrrpctl: flag provided but not defined: -bogus\nusage: xvrrpctl [--run-dir DIR] status"},
		{[]string{"status", "extra"}, "xvrrpctl: status: unexpected arguments: extra\nusage: xvrrpctl [--run-dir DIR] status"},
		{[]string{"status", "--json", "--raw"}, "xvrrpctl: status: --json and --raw exclude each other\nusage: xvrrpctl [--run-dir DIR] status"},
		{[]string{"stats", "--raw"}, "xvrrpctl: flag provided but not defined: -raw\nusage: xvrrpctl [--run-dir DIR] stats"},
		{[]string{"stats", "all"}, "xvrrpctl: stats: unexpected arguments: all\nusage: xvrrpctl [--run-dir DIR] stats"},
		{[]string{"watch", "VI_1"}, "xvrrpctl: watch: unexpected arguments: VI_1\nusage: xvrrpctl [--run-dir DIR] watch"},
		{[]string{"reload", "now"}, "xvrrpctl: reload: unexpected arguments: now\nusage: xvrrpctl [--run-dir DIR] reload"},
	} {
		code, out, errOut := ctl(tc.args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and stderr starting with:\n%s", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "usage: xvrrpctl [--run-dir DIR] COMMAND"},
		{[]string{"-h"}, "usage: xvrrpctl [--run-dir DIR] COMMAND"},
		{[]string{"help"}, "usage: xvrrpctl [--run-dir DIR] COMMAND"},
		{[]string{"help", "reload"}, "usage: xvrrpctl [--run-dir DIR] reload"},
		{[]string{"help", "watch"}, "usage: xvrrpctl [--run-dir DIR] watch [--json]"},
		{[]string{"status", "--help"}, "usage: xvrrpctl [--run-dir DIR] status [--json | --raw]"},
		{[]string{"stats", "--help"}, "usage: xvrrpctl [--run-dir DIR] stats [--json]"},
		{[]string{"watch", "--help"}, "usage: xvrrpctl [--run-dir DIR] watch [--json]"},
		{[]string{"reload", "--help"}, "usage: xvrrpctl [--run-dir DIR] reload"},
		{[]string{"--run-dir", "/nonexistent", "status", "-h"}, "usage: xvrrpctl [--run-dir DIR] status"},
		{[]string{"--run-dir", "/nonexistent", "watch", "-json", "-h"}, "usage: xvrrpctl [--run-dir DIR] watch"},
	} {
		code, out, errOut := ctl(tc.args...)
		if code != exitOK || errOut != "" || !strings.HasPrefix(out, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, stdout:\n%s\nwant exit 0 and stdout starting with %q", tc.args, code, errOut, out, tc.want)
		}
	}
	// The main usage lists every command and the exit codes.
	_, out, _ := ctl("--help")
	for _, want := range []string{"status", "stats", "watch", "reload", "3 xvrrpd is not running"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}
