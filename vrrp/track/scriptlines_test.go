package track

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// scriptLinesDir holds one configuration per way of writing a script line,
// with what keepalived 2.2.7 ran for it recorded beside it (CASE.keepalived,
// written by run.sh with the real keepalived in a network namespace).
const scriptLinesDir = "testdata/scriptlines"

// kaScriptRun is keepalived's record of one case.
type kaScriptRun struct {
	testOK bool     // keepalived -t exited 0
	runs   []string // distinct lines of the log, the generic notify's state words removed
}

// genericTail is what keepalived and xvrrpd append to the generic notify
// command ("notify"): instance, name, state, priority. The state and
// priority vary with the run; the comparison leaves them out.
var genericTail = regexp.MustCompile(` \[INSTANCE\] \[VI_1\] \[[A-Z]+\] \[[0-9]+\]$`)

func readKaScriptRun(t *testing.T, file string) kaScriptRun {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r kaScriptRun
	section, exitSeen := "", false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "== "):
			section = line
		case section == "== keepalived -t" && strings.HasPrefix(line, "exit status "):
			r.testOK, exitSeen = line == "exit status 0", true
		case section == "== runs" && line != "":
			r.runs = append(r.runs, genericTail.ReplaceAllString(line, ""))
		}
	}
	if err := sc.Err(); err != nil || !exitSeen || section != "== runs" {
		t.Fatalf("%s: not a recording of run.sh (%v)", file, err)
	}
	slices.Sort(r.runs)
	r.runs = slices.Compact(r.runs)
	return r
}

// TestScriptLinesAsKeepalived reads each recorded case as xvrrpd does, runs
// the vrrp_script, notify_master and notify commands it gets (copies of
// argv.sh that log their arguments) and compares with what keepalived ran
// for the same lines: the same programs with the same arguments, and none
// of those keepalived ignored. `xvrrpd -t`'s reading of the file passes
// exactly where keepalived -t does.
func TestScriptLinesAsKeepalived(t *testing.T) {
	confs, err := filepath.Glob(filepath.Join(scriptLinesDir, "*.conf"))
	if err != nil || len(confs) == 0 {
		t.Fatalf("no cases in %s: %v", scriptLinesDir, err)
	}
	script, err := os.ReadFile(filepath.Join(scriptLinesDir, "argv.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, conf := range confs {
		name := strings.TrimSuffix(filepath.Base(conf), ".conf")
		t.Run(name, func(t *testing.T) {
			ka := readKaScriptRun(t, strings.TrimSuffix(conf, ".conf")+".keepalived")
			dir := t.TempDir()
			for _, s := range []string{"argv-s", "argv-m", "argv-n"} {
				if err := os.WriteFile(filepath.Join(dir, s), script, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.ReplaceAll(string(data), "ARGVDIR", dir))
			cfg, perr := config.Parse(filepath.Join(dir, "k.conf"), data)
			v := config.NewVerdict("", cfg, perr)
			if v.OK != ka.testOK {
				var b strings.Builder
				v.WriteText(&b)
				t.Errorf("xvrrpd -t ok %v, keepalived -t ok %v:\n%s", v.OK, ka.testOK, b.String())
			}
			if len(cfg.Instances) != 1 {
				t.Fatalf("%d instances, want VI_1 only", len(cfg.Instances))
			}
			nt := cfg.Instances[0].Notify
			cmds := []struct {
				where string
				c     config.Command
				extra []string
			}{
				{"vrrp_instance VI_1 notify_master", nt.Master, nil},
				{"vrrp_instance VI_1 notify", nt.Generic, []string{"INSTANCE", "VI_1", "MASTER", "110"}},
			}
			if s := cfg.Script("chk"); s != nil {
				cmds = append(cmds, struct {
					where string
					c     config.Command
					extra []string
				}{"vrrp_script chk", s.Command(), nil})
			}
			var argvOnly []string
			for _, x := range cmds {
				if x.c.Cmd == "" {
					continue // keepalived ignores the line, and so does the decoder
				}
				cmd, err := PrepareCommand(x.where, x.c, cfg.Global)
				if cmd == nil {
					t.Logf("%s refused: %v", x.where, err)
					continue
				}
				if cmd.Cred != nil && os.Getuid() != 0 {
					// It would run as another user: only root can
					// start it. Its words are what it would get.
					argvOnly = append(argvOnly, logLine(append(cmd.Argv, x.extra...)))
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				res := cmd.Run(ctx, 5*time.Second, 0, x.extra...)
				cancel()
				if !res.OK() {
					t.Errorf("%s (%q): %s %s", x.where, cmd.Argv, res, res.Output)
				}
			}
			got := argvOnly
			if b, err := os.ReadFile(filepath.Join(dir, "log")); err == nil {
				got = append(got, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
			}
			for i := range got {
				got[i] = genericTail.ReplaceAllString(got[i], "")
			}
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, ka.runs) {
				t.Errorf("xvrrpd runs\n  %s\nkeepalived 2.2.7 ran\n  %s", strings.Join(got, "\n  "), strings.Join(ka.runs, "\n  "))
			}
		})
	}
}

// logLine is the line argv.sh logs for argv.
func logLine(argv []string) string {
	var b strings.Builder
	b.WriteString(filepath.Base(argv[0]) + ":")
	for _, a := range argv[1:] {
		fmt.Fprintf(&b, " [%s]", a)
	}
	return b.String()
}
