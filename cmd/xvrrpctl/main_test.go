package main

import (
	"bytes"
	"context"
	"encoding/json"
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

// fakeDaemon answers the control protocol like xvrrpd.
type fakeDaemon struct {
	status    control.Status
	reloadErr error

	mu      sync.Mutex
	reloads int
}

func (f *fakeDaemon) Status() control.Status { return f.status }

func (f *fakeDaemon) Reload(context.Context) error {
	f.mu.Lock()
	f.reloads++
	f.mu.Unlock()
	return f.reloadErr
}

// serve runs a fake daemon's control socket in a temporary run directory.
func serve(t *testing.T, f *fakeDaemon) (runDir string) {
	t.Helper()
	runDir = t.TempDir()
	path := control.SocketPath(runDir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.Serve(ctx, path, f, zaptest.NewLogger(t)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return runDir
		}
		if time.Now().After(deadline) {
			t.Fatal("control socket did not appear")
		}
	}
}

// ctl runs xvrrpctl with args and returns its exit code and output.
func ctl(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func sampleStatus() control.Status {
	return control.Status{
		Dataplane: "xdp",
		Instances: []control.InstanceStatus{{
			Name: "VI_1", VRID: 51, Interface: "eth0", Version: 3, State: "MASTER",
			Priority: 101, ConfiguredPriority: 101, Source: "192.0.2.1", Master: "192.0.2.1",
			HoldsVIPs: true, Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Reason: "master down timer expired",
			VIPs: []control.VIPStatus{
				{Addr: "192.0.2.100/24", Dev: "eth0", Held: true},
				{Addr: "198.51.100.7/32", Dev: "eth1", Held: false},
			},
		}, {
			Name: "VI_2", VRID: 52, Interface: "eth9", State: "FAULT", Priority: 80, ConfiguredPriority: 100,
			Reason: "interface eth9 gone", Fault: "interface eth9 does not exist",
			VIPs: []control.VIPStatus{{Addr: "192.0.2.200/24", Dev: "eth9"}},
		}, {
			Name: "VI_3", VRID: 53, Interface: "eth0", State: "BACKUP", Priority: 100, ConfiguredPriority: 100,
			Master: "192.0.2.2", Reason: "higher priority advert",
		}},
		Received: 10, Accepted: 9, AdvertsSent: 5, GarpBursts: 1, Transitions: 2,
		Drops:      map[string]uint64{"ttl": 2, "auth": 1},
		ConfigFile: "/etc/keepalived/keepalived.conf", Reloads: 2, ReloadErrors: 1,
	}
}

func TestStatusTable(t *testing.T) {
	dir := serve(t, &fakeDaemon{status: sampleStatus()})
	code, out, errOut := ctl("--run-dir", dir, "status")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := `INSTANCE  VRID  IFACE  STATE   PRIO    MASTER     SINCE                 REASON                                                      VIPS
VI_1      51    eth0   MASTER  101     192.0.2.1  2026-01-02T03:04:05Z  master down timer expired                                   192.0.2.100/24 eth0 held
                                                                                                                                    198.51.100.7/32 eth1 missing
VI_2      52    eth9   FAULT   80/100  -          -                     interface eth9 gone (fault: interface eth9 does not exist)  192.0.2.200/24 eth9 not held
VI_3      53    eth0   BACKUP  100     192.0.2.2  -                     higher priority advert                                      -
dataplane xdp: received 10, accepted 9, sent 5, gratuitous bursts 1, transitions 2
drops: auth 1, ttl 2
config /etc/keepalived/keepalived.conf: reloads 2, refused 1
`
	if out != want {
		t.Errorf("status table:\n%s\nwant:\n%s", out, want)
	}
}

func TestStatusJSON(t *testing.T) {
	want := sampleStatus()
	dir := serve(t, &fakeDaemon{status: want})
	for _, args := range [][]string{
		{"--run-dir", dir, "status", "--json"},
		{"--run-dir", dir, "--json", "status"}, // the old spelling
	} {
		code, out, errOut := ctl(args...)
		if code != exitOK || errOut != "" {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut)
		}
		var got control.Status
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%q: output is not a status: %v\n%s", args, err, out)
		}
		if got.Instances[0].VIPs[1].Held || !got.Instances[0].VIPs[0].Held || got.Reloads != 2 {
			t.Errorf("%q: %+v", args, got)
		}
		if !strings.HasSuffix(out, "}\n") || strings.Count(out, "\n") != 1 {
			t.Errorf("%q: want one JSON line, got %q", args, out)
		}
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

func TestNotRunning(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range []string{"status", "reload"} {
		code, _, errOut := ctl("--run-dir", dir, cmd)
		if code != exitNotRunning || !strings.Contains(errOut, "xvrrpd is not running") {
			t.Errorf("%s without a socket: exit %d, stderr %q; want 3", cmd, code, errOut)
		}
	}
	// A socket left by a crashed daemon: connection refused.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: control.SocketPath(dir), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if code, _, errOut := ctl("--run-dir", dir, "status"); code != exitNotRunning {
		t.Errorf("status on a dead socket: exit %d, stderr %q; want 3", code, errOut)
	}
}

func TestError(t *testing.T) {
	// A run directory that is a file: not "not running", an error.
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	code, _, errOut := ctl("--run-dir", file, "status")
	if code != exitError || !strings.HasPrefix(errOut, "xvrrpctl: ") {
		t.Errorf("exit %d, stderr %q; want 1", code, errOut)
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
		{[]string{"status", "--help"}, "usage: xvrrpctl [--run-dir DIR] status [--json]"},
		{[]string{"reload", "--help"}, "usage: xvrrpctl [--run-dir DIR] reload"},
		{[]string{"--run-dir", "/nonexistent", "status", "-h"}, "usage: xvrrpctl [--run-dir DIR] status"},
	} {
		code, out, errOut := ctl(tc.args...)
		if code != exitOK || errOut != "" || !strings.HasPrefix(out, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, stdout:\n%s\nwant exit 0 and stdout starting with %q", tc.args, code, errOut, out, tc.want)
		}
	}
	// The main usage lists every command and the exit codes.
	_, out, _ := ctl("--help")
	for _, want := range []string{"status", "reload", "3 xvrrpd is not running"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}
