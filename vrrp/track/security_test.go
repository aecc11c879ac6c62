package track

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// secLayout builds, in a root-owned directory, the paths the symbolic-link
// cases use and returns that directory:
//
//	real/ok.sh          0755 root: a secure script
//	real/alias -> ok.sh a link with another name, same directory
//	link -> real        a root-owned link to a secure directory
//	ww/                 0777 without the sticky bit: insecure
//	ww/x.sh
//	toww -> ww          a link to the insecure directory
//	real/via -> ../ww/x.sh
//	userlink -> real    a link owned by uid 1000
//	bin2/multi          a program that acts on its name
//	real/named -> ../bin2/multi
func secLayout(t *testing.T) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root: the checks want root-owned paths")
	}
	dir, err := os.MkdirTemp("/root", "xv-sec-")
	if err != nil {
		t.Skip("needs a root-owned directory (/root):", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(dir, 0o755))
	must(os.Mkdir(filepath.Join(dir, "real"), 0o755))
	writeScript(t, filepath.Join(dir, "real"), "ok.sh", "exit 0")
	must(os.Symlink("ok.sh", filepath.Join(dir, "real", "alias")))
	must(os.Symlink("real", filepath.Join(dir, "link")))
	must(os.Mkdir(filepath.Join(dir, "ww"), 0o755))
	must(os.Chmod(filepath.Join(dir, "ww"), 0o777))
	writeScript(t, filepath.Join(dir, "ww"), "x.sh", "exit 0")
	must(os.Symlink("ww", filepath.Join(dir, "toww")))
	must(os.Symlink("../ww/x.sh", filepath.Join(dir, "real", "via")))
	must(os.Symlink("real", filepath.Join(dir, "userlink")))
	must(os.Lchown(filepath.Join(dir, "userlink"), 1000, 1000))
	must(os.Mkdir(filepath.Join(dir, "bin2"), 0o755))
	writeScript(t, filepath.Join(dir, "bin2"), "multi", "exit 0")
	must(os.Symlink("../bin2/multi", filepath.Join(dir, "real", "named")))
	return dir
}

// secCases are script paths under enable_script_security with script_user
// root, with keepalived 2.2.7's verdict (the exit status of keepalived -t
// on a vrrp_script running it: 0 accepted, 5 "Disabling track script ...
// due to insecure"; -1 when keepalived 2.2.7 has no such setting) and
// xvrrpd's: accepted (and the path it runs by) or refused.
var secCases = []struct {
	name     string
	path     string // relative to the layout; absolute as is
	symlinks bool   // use_symlink_paths (keepalived 2.3)
	kaRC     int
	refused  string // substring of the refusal; "" when accepted
	runs     string // the path it runs by, relative to the layout
}{
	{name: "symlinked directory", path: "link/ok.sh", kaRC: 0, runs: "real/ok.sh"},
	{name: "symlinked directory, use_symlink_paths", path: "link/ok.sh", symlinks: true, kaRC: -1, runs: "link/ok.sh"},
	{name: "link to another name in the same directory", path: "real/alias", kaRC: 0, runs: "real/alias"},
	{name: "link to an insecure directory", path: "toww/x.sh", kaRC: 5, refused: "is writable by non-root users"},
	{name: "link into an insecure directory", path: "real/via", kaRC: 5, refused: "is writable by non-root users"},
	{name: "insecure directory", path: "ww/x.sh", kaRC: 5, refused: "is writable by non-root users"},
	{name: "link owned by a user, resolved", path: "userlink/ok.sh", kaRC: 0, runs: "real/ok.sh"},
	{name: "link owned by a user, use_symlink_paths", path: "userlink/ok.sh", symlinks: true, kaRC: -1, refused: "is owned by uid 1000"},
	// keepalived runs bin2/multi (by another name than written); xvrrpd
	// runs the link, so that the program sees the name it was given.
	{name: "link to another name in another directory", path: "real/named", kaRC: 0, runs: "real/named"},
}

// Reference: keepalived 2.2.7 lib/notify.c check_script_secure: the
// script runs by its resolved path (the name as written kept when it is
// the same file), and the resolved path is what is checked; a root-owned
// link to a secure directory is as secure as the directory.
func TestScriptSecuritySymlinks(t *testing.T) {
	dir := secLayout(t)
	for _, tc := range secCases {
		t.Run(tc.name, func(t *testing.T) {
			g := config.Global{ScriptUser: "root", EnableScriptSecurity: true, UseSymlinkPaths: tc.symlinks}
			c, err := PrepareCommand("vrrp_script chk", config.Command{Cmd: filepath.Join(dir, tc.path) + " arg"}, g)
			if tc.refused != "" {
				var se *SecurityError
				if c != nil || !errors.As(err, &se) || !se.Disabled || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("cmd %v err %v; want refused: %s", c, err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if want := []string{filepath.Join(dir, tc.runs), "arg"}; strings.Join(c.Argv, " ") != strings.Join(want, " ") {
				t.Errorf("runs %q, want %q", c.Argv, want)
			}
		})
	}
}

// On a usr-merged system /bin is a root-owned link to usr/bin:
// "/bin/true" is accepted and runs as /usr/bin/true (keepalived 2.2.7 does
// the same; xvrrpd refused it with "wrong file type" before).
func TestScriptSecurityUsrMerged(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	if fi, err := os.Lstat("/bin"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Skip("/bin is not a symbolic link here")
	}
	real, err := filepath.EvalSymlinks("/bin/true")
	if err != nil {
		t.Skip(err)
	}
	g := config.Global{ScriptUser: "root", EnableScriptSecurity: true}
	c, err := PrepareCommand("vrrp_script chk", config.Command{Cmd: "/bin/true"}, g)
	if err != nil || c.Argv[0] != real {
		t.Fatalf("cmd %v err %v; want accepted, run as %s", c, err, real)
	}
	// pidof is a link to killall5: it runs by its own name.
	if _, err := os.Stat("/bin/pidof"); err == nil {
		if c, err := PrepareCommand("vrrp_script chk", config.Command{Cmd: "/bin/pidof haproxy"}, g); err != nil || filepath.Base(c.Argv[0]) != "pidof" {
			t.Errorf("/bin/pidof: cmd %v err %v; want accepted, run as pidof", c, err)
		}
	}
	g.UseSymlinkPaths = true
	if c, err := PrepareCommand("vrrp_script chk", config.Command{Cmd: "/bin/true"}, g); err != nil || c.Argv[0] != "/bin/true" {
		t.Fatalf("use_symlink_paths: cmd %v err %v; want accepted, run as /bin/true", c, err)
	}
}

// TestScriptSecuritySymlinksRecorded checks secCases' keepalived verdicts
// against keepalived 2.2.7, where it is installed.
func TestScriptSecuritySymlinksRecorded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: keepalived is not run")
	}
	dir := secLayout(t)
	out, err := exec.Command("keepalived", "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "v2.2.7") {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: keepalived 2.2.7 is not installed")
		}
		t.Skip("the records are keepalived 2.2.7's; it is not installed here")
	}
	for i, tc := range secCases {
		if tc.kaRC < 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			conf := fmt.Sprintf("global_defs {\n    enable_script_security\n    script_user root\n}\n"+
				"vrrp_script chk {\n    script \"%s\"\n}\n"+
				"vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    track_script {\n        chk\n    }\n"+
				"    virtual_ipaddress {\n        10.0.0.10/24\n    }\n}\n", filepath.Join(dir, tc.path))
			f := filepath.Join(dir, fmt.Sprintf("k%d.conf", i))
			if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("unshare", "-n", "sh", "-c",
				`ip link add eth0 type veth peer name eth1 && ip link set lo up && exec keepalived -t -f "$0"`, f)
			var b bytes.Buffer
			cmd.Stdout, cmd.Stderr = &b, &b
			rc := 0
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatal(err)
				}
				rc = ee.ExitCode()
			}
			if rc != tc.kaRC {
				t.Errorf("keepalived -t exits %d, recorded %d:\n%s", rc, tc.kaRC, b.String())
			}
		})
	}
}
