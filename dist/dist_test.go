// Package dist holds what `make install` installs besides the binaries
// (the systemd unit) and the tests of the installation.
package dist

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xvrrp/xvrrp/internal/docgen"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// unitSettings reads the Key=Value lines of a unit file (the last value
// of a key wins, as for most settings).
func unitSettings(t *testing.T, text string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			m[k] = v
		}
	}
	return m
}

// TestUnitFile pins the settings docs/OPERATIONS.md explains.
func TestUnitFile(t *testing.T) {
	b, err := os.ReadFile("xvrrpd.service")
	if err != nil {
		t.Fatal(err)
	}
	s := unitSettings(t, string(b))
	for k, want := range map[string]string{
		"Type":                  "notify",
		"ExecStart":             "/usr/sbin/xvrrpd -f /etc/keepalived/keepalived.conf $XVRRPD_ARGS",
		"ExecReload":            "/bin/kill -HUP $MAINPID",
		"Restart":               "on-failure",
		"KillMode":              "process",
		"RuntimeDirectory":      "xvrrp",
		"CapabilityBoundingSet": "CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_PERFMON CAP_SETUID CAP_SETGID CAP_KILL",
		"ProtectSystem":         "strict",
		"ReadWritePaths":        "/run /sys/fs/bpf /tmp /var/tmp",
	} {
		if s[k] != want {
			t.Errorf("%s=%q, want %q", k, s[k], want)
		}
	}
	// Nothing that would give the service its own bpffs view or hide the
	// pins from the host.
	for _, k := range []string{"PrivateMounts", "TemporaryFileSystem", "InaccessiblePaths", "ProtectKernelTunables", "NoNewPrivileges"} {
		if v, ok := s[k]; ok {
			t.Errorf("%s=%s set", k, v)
		}
	}
}

// TestUnitVerify runs `systemd-analyze verify` on the unit, with ExecStart
// pointing at an executable that exists, and fails on any complaint
// (unknown keys are only warnings to it).
func TestUnitVerify(t *testing.T) {
	analyze := testenv.RequireCommand(t, "systemd-analyze")
	dir := t.TempDir()
	exe := filepath.Join(dir, "xvrrpd")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("xvrrpd.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "xvrrpd.service")
	os.WriteFile(unit, bytes.ReplaceAll(b, []byte("/usr/sbin/xvrrpd"), []byte(exe)), 0o644)
	verify(t, analyze, unit)
}

func verify(t *testing.T, analyze, unit string) {
	t.Helper()
	// --man=no: the man pages are checked by TestMakeInstall, not
	// looked up in the system's manual.
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
	}
}

// TestMakeInstall runs `make install DESTDIR=...` and checks the files it
// installs, that the unit starts the installed xvrrpd, that the man pages
// and completions name every flag of both commands, and that the
// installed unit verifies.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both commands: skipped with -short")
	}
	mk := testenv.RequireCommand(t, "make")
	goBin := testenv.RequireCommand(t, "go")
	dest := t.TempDir()
	build := t.TempDir()
	cmd := exec.Command(mk, "-C", "..", "install", "DESTDIR="+dest, "BIN="+build, "GO="+goBin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}

	want := map[string]fs.FileMode{
		"usr/local/sbin/xvrrpd":                                0o755,
		"usr/local/sbin/xvrrpctl":                              0o755,
		"usr/local/lib/systemd/system/xvrrpd.service":          0o644,
		"usr/local/share/man/man8/xvrrpd.8":                    0o644,
		"usr/local/share/man/man8/xvrrpctl.8":                  0o644,
		"usr/local/share/bash-completion/completions/xvrrpd":   0o644,
		"usr/local/share/bash-completion/completions/xvrrpctl": 0o644,
	}
	got := map[string]fs.FileMode{}
	filepath.WalkDir(dest, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			rel, _ := filepath.Rel(dest, path)
			got[rel] = info.Mode().Perm()
		}
		return err
	})
	for name, mode := range want {
		if m, ok := got[name]; !ok {
			t.Errorf("%s not installed", name)
		} else if m != mode {
			t.Errorf("%s: mode %v, want %v", name, m, mode)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s installed but not expected", name)
		}
	}
	if t.Failed() {
		return
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	unit := read("usr/local/lib/systemd/system/xvrrpd.service")
	if s := unitSettings(t, unit); !strings.HasPrefix(s["ExecStart"], "/usr/local/sbin/xvrrpd ") {
		t.Errorf("installed unit: ExecStart=%s, want the installed /usr/local/sbin/xvrrpd", s["ExecStart"])
	}

	xvrrpd := filepath.Join(dest, "usr/local/sbin/xvrrpd")
	xvrrpctl := filepath.Join(dest, "usr/local/sbin/xvrrpctl")
	checkNames := func(what, text string, flags []string) {
		t.Helper()
		for _, f := range flags {
			if !strings.Contains(text, f) {
				t.Errorf("%s does not mention %s", what, f)
			}
		}
	}
	roff := func(flags []string) []string {
		out := make([]string, len(flags))
		for i, f := range flags {
			out[i] = strings.ReplaceAll(f, "-", `\-`)
		}
		return out
	}

	// xvrrpd: every flag its -h lists.
	help, _ := exec.Command(xvrrpd, "-h").CombinedOutput()
	var dflags []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1) {
		dflags = append(dflags, docgen.Dashed(m[1]))
	}
	if len(dflags) < 6 {
		t.Fatalf("xvrrpd -h lists %d flags:\n%s", len(dflags), help)
	}
	checkNames("xvrrpd.8", read("usr/local/share/man/man8/xvrrpd.8"), roff(dflags))
	checkNames("xvrrpd completion", read("usr/local/share/bash-completion/completions/xvrrpd"), dflags)

	// xvrrpctl: every flag defined on its FlagSets, each one accepted by
	// the binary (exit 3, not running, rather than 2, usage).
	sets, err := docgen.SourceFlagSets("../cmd/xvrrpctl")
	if err != nil {
		t.Fatal(err)
	}
	var cflags []string
	noDaemon := t.TempDir()
	for set, flags := range sets {
		for _, f := range flags {
			cflags = append(cflags, docgen.Dashed(f.Name))
			args := []string{"--run-dir", noDaemon}
			if set != "xvrrpctl" {
				args = append(args, set)
			}
			args = append(args, docgen.Dashed(f.Name))
			switch f.Type {
			case "":
			case "duration":
				args = append(args, "1s")
			default:
				args = append(args, "1")
			}
			if set == "xvrrpctl" {
				args = append(args, "status")
			}
			err := exec.Command(xvrrpctl, args...).Run()
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == 2 {
				t.Errorf("xvrrpctl %s: usage error: the flag found in the source is not one", strings.Join(args, " "))
			}
		}
	}
	if !slices.Contains(cflags, "--run-dir") || !slices.Contains(cflags, "--json") {
		t.Fatalf("flags found in cmd/xvrrpctl: %v", cflags)
	}
	checkNames("xvrrpctl.8", read("usr/local/share/man/man8/xvrrpctl.8"), roff(cflags))
	checkNames("xvrrpctl completion", read("usr/local/share/bash-completion/completions/xvrrpctl"), cflags)

	// The pages render without groff warnings.
	if man, err := exec.LookPath("man"); err == nil {
		for _, page := range []string{"xvrrpd.8", "xvrrpctl.8"} {
			cmd := exec.Command(man, "--warnings", "-l", filepath.Join(dest, "usr/local/share/man/man8", page))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Errorf("man -l %s: %v\n%s", page, err, stderr.String())
			}
		}
	}
	for _, c := range []string{"xvrrpd", "xvrrpctl"} {
		if out, err := exec.Command("bash", "-n", filepath.Join(dest, "usr/local/share/bash-completion/completions", c)).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s completion: %v\n%s", c, err, out)
		}
	}

	// The installed unit, pointed at the installed binary, verifies.
	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		u := filepath.Join(t.TempDir(), "xvrrpd.service")
		os.WriteFile(u, []byte(strings.ReplaceAll(unit, "/usr/local/sbin/xvrrpd", xvrrpd)), 0o644)
		verify(t, analyze, u)
	}
}
