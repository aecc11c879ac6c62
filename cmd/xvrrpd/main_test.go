package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    options
		wantErr string
	}{
		{args: nil, want: options{file: defaultConfig, logLevel: "info", logFormat: "console", dataplane: "auto"}},
		{args: []string{"-f", "a.conf", "-t"}, want: options{file: "a.conf", test: true, logLevel: "info", logFormat: "console", dataplane: "auto"}},
		{args: []string{"--use-file=b.conf", "--config-test", "--dataplane", "tc", "--run-dir", "/tmp/x", "--log-format", "json", "--log-level", "debug"},
			want: options{file: "b.conf", test: true, logLevel: "debug", logFormat: "json", dataplane: "tc", runDir: "/tmp/x"}},
		{args: []string{"--dataplane", "dpdk"}, wantErr: `--dataplane "dpdk"`},
		{args: []string{"--log-format", "xml"}, wantErr: `--log-format "xml"`},
		{args: []string{"extra"}, wantErr: "unexpected arguments: extra"},
		{args: []string{"--no-such-flag"}, wantErr: "flag provided but not defined"},
	} {
		var stderr bytes.Buffer
		o, err := parseFlags(tc.args, &stderr)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if *o != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.args, *o, tc.want)
		}
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &stdout, &stderr); err != nil {
		t.Errorf("--help: %v", err)
	}
	for _, f := range []string{"-f", "-t", "-dataplane", "-run-dir", "-log-level"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("--help does not mention %s:\n%s", f, stderr.String())
		}
	}
}

const missingIfaceConfig = `vrrp_instance VI_1 {
  interface nonexistent0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.10/24
    192.0.2.11/24 dev nonexistent1
    192.0.2.12/24 dev nonexistent1
    192.0.2.13/24 dev lo
  }
}
vrrp_instance VI_2 {
  interface lo
  virtual_router_id 52
  virtual_ipaddress {
    192.0.2.20/24
  }
}
`

// TestConfigTestMissingInterface: like keepalived, `xvrrpd -t` warns about
// an interface that does not exist here, and the configuration stays valid
// (the daemon waits in FAULT for it).
func TestConfigTestMissingInterface(t *testing.T) {
	path := writeConfig(t, missingIfaceConfig)
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-t", "-f", path}, &stdout, &stderr); err != nil {
		t.Fatalf("-t: %v\n%s", err, stdout.String())
	}
	out := stdout.String()
	want := []string{
		path + ":1: warning: interface: vrrp_instance VI_1: interface nonexistent0 does not exist in this network namespace",
		path + ":8: warning: VIP dev: vrrp_instance VI_1: VIP dev nonexistent1 does not exist in this network namespace",
	}
	var warnings []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, ": warning: ") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != len(want) {
		t.Fatalf("warnings:\n%s\nwant %d (one per instance and interface)", strings.Join(warnings, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(warnings[i], w) {
			t.Errorf("warning %d:\n %s\nwant it to start with\n %s", i, warnings[i], w)
		}
	}
	// The verdict is the last line.
	if !strings.HasSuffix(out, "configuration ok: 2 vrrp_instance(s), 2 warning(s)\n") {
		t.Errorf("last line of:\n%s", out)
	}
}

func TestConfigTestErrors(t *testing.T) {
	path := writeConfig(t, "vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 300\n}\n")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-t", "-f", path}, &stdout, &stderr)
	if !errors.Is(err, errReported) {
		t.Errorf("-t of an invalid configuration: %v, want errReported (exit 1)", err)
	}
	if !strings.Contains(stdout.String(), path+":3:") || !strings.Contains(stdout.String(), "configuration invalid") {
		t.Errorf("-t output:\n%s", stdout.String())
	}
}

func TestMissingInterfaces(t *testing.T) {
	path := writeConfig(t, `vrrp_instance A {
  interface eth0
  virtual_router_id 1
  track_interface {
    eth9
    eth1
  }
  virtual_ipaddress {
    192.0.2.1/24 dev eth9
  }
  virtual_ipaddress_excluded {
    198.51.100.1/24 dev eth8
  }
}
`)
	var stdout bytes.Buffer
	cfgErr := configTest(&stdout, path, mustLoad(t, path), nil, func(name string) bool { return name == "eth0" || name == "eth1" }, false)
	if cfgErr != nil {
		t.Fatal(cfgErr)
	}
	got := stdout.String()
	for _, w := range []string{
		path + ":9: warning: VIP dev: vrrp_instance A: VIP dev eth9 does not exist",
		path + ":12: warning: VIP dev: vrrp_instance A: VIP dev eth8 does not exist",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
	// eth9 is named twice (VIP dev, then track_interface): one warning.
	if n := strings.Count(got, "eth9"); n != 1 {
		t.Errorf("eth9 warned about %d times:\n%s", n, got)
	}
	if strings.Contains(got, "eth0") || strings.Contains(got, "eth1") {
		t.Errorf("warning about an existing interface:\n%s", got)
	}
}
