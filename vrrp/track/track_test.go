package track

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		`/bin/x master`:            {"/bin/x", "master"},
		`  /bin/x   "a b"  'c d' `: {"/bin/x", "a b", "c d"},
		`/bin/x a\ b \x41\n`:       {"/bin/x", "a b", "A\n"},
		`/bin/x "it's"`:            {"/bin/x", "it's"},
	} {
		got, err := SplitCommand(in)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{``, `   `, `/bin/x "open`, `/bin/x \`} {
		if _, err := SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q): no error", bad)
		}
	}
}

func TestRecordRiseFall(t *testing.T) {
	o := &object{script: &config.Script{Rise: 2, Fall: 3}, initState: true, result: 1}
	steps := []struct {
		ok   bool
		want status
	}{
		{false, statusFailed},                  // first result decides
		{true, statusFailed}, {true, statusOK}, // rise 2
		{false, statusOK}, {false, statusOK}, {true, statusOK}, // reset by a success
		{false, statusOK}, {false, statusOK}, {false, statusFailed}, // fall 3
		{true, statusFailed}, {false, statusFailed}, {true, statusFailed}, {true, statusOK},
	}
	for i, s := range steps {
		o.record(s.ok)
		if o.status != s.want {
			t.Fatalf("step %d (ok=%v): status %v, want %v", i, s.ok, o.status, s.want)
		}
	}
	// First success decides too.
	o = &object{script: &config.Script{Rise: 3, Fall: 3}, initState: true, result: 2}
	if o.record(true); o.status != statusOK {
		t.Fatalf("first success: status %v", o.status)
	}
	// init_fail: starts failed, needs rise successes.
	o = &object{script: &config.Script{Rise: 2, Fall: 1}, status: statusFailed}
	o.record(false)
	o.record(true)
	if o.status != statusFailed {
		t.Fatal("init_fail: one success made it OK")
	}
	if o.record(true); o.status != statusOK {
		t.Fatal("init_fail: two successes did not make it OK")
	}
}

func TestCompute(t *testing.T) {
	mk := func(base uint8, refs ...*ref) *instState {
		is := &instState{name: "VI", base: base}
		for _, r := range refs {
			r.inst = is
			is.refs = append(is.refs, r)
		}
		return is
	}
	sc := func(st status) *object { return &object{kind: kindScript, name: "s", status: st} }
	fl := func(v int64) *object { return &object{kind: kindFile, name: "f", value: v} }
	tr := &Tracker{}
	for _, c := range []struct {
		name  string
		is    *instState
		prio  uint8
		fault bool
		wait  bool
	}{
		{"negative weight failed", mk(100, &ref{obj: sc(statusFailed), weight: -20}), 80, false, false},
		{"negative weight ok", mk(100, &ref{obj: sc(statusOK), weight: -20}), 100, false, false},
		{"positive weight ok", mk(100, &ref{obj: sc(statusOK), weight: 20}), 120, false, false},
		{"positive weight failed", mk(100, &ref{obj: sc(statusFailed), weight: 20}), 100, false, false},
		{"reverse positive ok", mk(100, &ref{obj: sc(statusOK), weight: 20, reverse: true}), 80, false, false},
		{"reverse negative failed", mk(100, &ref{obj: sc(statusFailed), weight: -20, reverse: true}), 120, false, false},
		{"init adds nothing", mk(100, &ref{obj: sc(statusInit), weight: -20}), 100, false, false},
		{"clamp high", mk(250, &ref{obj: sc(statusOK), weight: 50}), 254, false, false},
		{"clamp low", mk(10, &ref{obj: sc(statusFailed), weight: -50}), 1, false, false},
		{"owner unchanged", mk(255, &ref{obj: sc(statusFailed), weight: -50}), 255, false, false},
		{"weight 0 failed", mk(100, &ref{obj: sc(statusFailed)}), 100, true, false},
		{"weight 0 reverse ok", mk(100, &ref{obj: sc(statusOK), reverse: true}), 100, true, false},
		{"weight 0 init waits", mk(100, &ref{obj: sc(statusInit)}), 100, false, true},
		{"file weight 1", mk(100, &ref{obj: fl(7), weight: 1}), 107, false, false},
		{"file weight -2", mk(100, &ref{obj: fl(7), weight: -2}), 86, false, false},
		{"file reverse", mk(100, &ref{obj: fl(7), weight: 2, reverse: true}), 86, false, false},
		{"file -254 faults", mk(100, &ref{obj: fl(-254), weight: 1}), 100, true, false},
		{"file weight 0 nonzero", mk(100, &ref{obj: fl(3)}), 100, true, false},
		{"file weight 0 zero", mk(100, &ref{obj: fl(0)}), 100, false, false},
		{"sum", mk(100, &ref{obj: sc(statusFailed), weight: -20}, &ref{obj: fl(5), weight: 2}), 90, false, false},
	} {
		u := tr.compute(c.is)
		if u.Priority != c.prio || u.Fault != c.fault || u.Waiting != c.wait {
			t.Errorf("%s: got %+v, want priority %d fault %v waiting %v", c.name, u, c.prio, c.fault, c.wait)
		}
	}
}

func TestParseStrtol(t *testing.T) {
	for in, want := range map[string]int64{"42\n": 42, "  -7x": -7, "0x10": 16, "010": 8, "abc": 0, "": 0, "+3": 3} {
		if v, ok := parseStrtol(in); !ok || v != want {
			t.Errorf("parseStrtol(%q) = %d, %v; want %d", in, v, ok, want)
		}
	}
	if _, ok := parseStrtol("99999999999"); ok {
		t.Error("out of range value accepted")
	}
}

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func pidAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	// A zombie is not alive.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !containsState(string(b), 'Z')
}

func containsState(stat string, s byte) bool {
	for i := len(stat) - 1; i > 0; i-- {
		if stat[i] == ')' {
			return i+2 < len(stat) && stat[i+2] == s
		}
	}
	return false
}

func TestRunTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	p := writeScript(t, dir, "hang.sh", fmt.Sprintf("sleep 3600 &\necho $! > %s\necho $$ >> %s\nsleep 3600", pids, pids))
	c := &Command{Argv: []string{p}}
	res := c.Run(context.Background(), 300*time.Millisecond, 200*time.Millisecond)
	if !res.TimedOut || res.OK() {
		t.Fatalf("result %v, want timed out", res)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	var child, parent int
	fmt.Sscan(string(b), &child, &parent)
	deadline := time.Now().Add(3 * time.Second)
	for pidAlive(child) || pidAlive(parent) {
		if time.Now().After(deadline) {
			t.Fatalf("processes %d/%d still alive after timeout", child, parent)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunLargeOutput(t *testing.T) {
	dir := t.TempDir()
	p := writeScript(t, dir, "loud.sh", "head -c 8000000 /dev/zero | tr '\\0' x; exit 3")
	res := (&Command{Argv: []string{p}}).Run(context.Background(), 10*time.Second, 0)
	if res.ExitCode != 3 || len(res.Output) != OutputCap {
		t.Fatalf("exit %d, kept %d bytes; want 3, %d", res.ExitCode, len(res.Output), OutputCap)
	}
}

// next waits for an Update for instance name.
func next(t *testing.T, tr *Tracker, name string, within time.Duration) Update {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case u := <-tr.Updates():
			if u.Instance == name {
				return u
			}
		case <-timer.C:
			t.Fatalf("no update for %s within %v", name, within)
		}
	}
}

// TestTrackerScripts: rise and fall move the priority (weight) or fault
// the instance (weight 0); a script that never ends does not hold back
// the others. The scripts run every 50 ms (set on config.Script: a
// keepalived.conf interval is whole seconds), but chk's timeout is long:
// by default it is the interval (as keepalived's), and a loaded machine can
// take longer than 50 ms to start a shell, which is then a failure (the
// test failed so). The deadlines of next are only there to end a test
// that would otherwise wait for ever.
func TestTrackerScripts(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	// setState replaces the file in one step: a run reads the old value
	// or the new one, never an empty file.
	setState := func(v string) {
		t.Helper()
		tmp := state + ".new"
		if err := os.WriteFile(tmp, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, state); err != nil {
			t.Fatal(err)
		}
	}
	setState("0")
	chk := writeScript(t, dir, "chk.sh", "exit $(cat "+state+")")
	hang := writeScript(t, dir, "hang.sh", "sleep 3600")
	conf := fmt.Sprintf(`
vrrp_script chk {
  script "%s"
  timeout 30
  weight -30
  rise 2
  fall 2
}
vrrp_script hang {
  script "%s"
  timeout 10
  weight -5
}
vrrp_instance VI_1 {
  interface lo
  dont_track_primary
  virtual_router_id 1
  priority 100
  virtual_ipaddress { 192.0.2.1 }
  track_script {
    chk
    hang
  }
}
vrrp_instance VI_2 {
  interface lo
  dont_track_primary
  virtual_router_id 2
  priority 100
  virtual_ipaddress { 192.0.2.2 }
  track_script {
    chk weight 0
  }
}
`, chk, hang)
	cfg, err := config.Parse(filepath.Join(dir, "k.conf"), []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Scripts {
		s.Interval = 50 * time.Millisecond
	}
	tr, err := New(cfg, zaptest.NewLogger(t), Options{SkipSecurity: true, KillGrace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := tr.State("VI_2"); !u.Waiting || u.Fault {
		t.Fatalf("VI_2 before first result: %+v, want waiting", u)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()
	defer func() { cancel(); <-done }()

	const deadline = 30 * time.Second
	// The hanging script never reports; chk's first success decides.
	if u := next(t, tr, "VI_2", deadline); u.Waiting || u.Fault {
		t.Fatalf("VI_2 after success: %+v", u)
	}
	setState("1")
	u1 := next(t, tr, "VI_1", deadline)
	if u1.Priority != 70 || u1.Fault {
		t.Fatalf("VI_1 after fall: %+v, want priority 70", u1)
	}
	if u := next(t, tr, "VI_2", deadline); !u.Fault {
		t.Fatalf("VI_2 after fall: %+v, want fault", u)
	}
	setState("0")
	if u := next(t, tr, "VI_1", deadline); u.Priority != 100 {
		t.Fatalf("VI_1 after rise: %+v", u)
	}
}

func TestTrackerFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "val")
	cfg := trackFileConfig(t, dir, f)
	tr, err := New(cfg, zaptest.NewLogger(t), Options{FilePoll: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := tr.State("VI_1"); u.Priority != 94 {
		t.Fatalf("initial: %+v, want 94 (init_file 2 × -3)", u)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	os.WriteFile(f, []byte("5\n"), 0o644)
	if u := next(t, tr, "VI_1", 3*time.Second); u.Priority != 85 {
		t.Fatalf("after 5: %+v", u)
	}
	os.WriteFile(f, []byte("100\n"), 0o644)
	if u := next(t, tr, "VI_1", 3*time.Second); !u.Fault {
		t.Fatalf("after 100 (×-3 ≤ -254): %+v, want fault", u)
	}
	os.Remove(f)
	if u := next(t, tr, "VI_1", 3*time.Second); u.Fault || u.Priority != 100 {
		t.Fatalf("after removal (reads 0): %+v", u)
	}
}

func TestScriptSecurity(t *testing.T) {
	dir, err := os.MkdirTemp("/root", "xv-track-")
	if os.Getuid() != 0 || err != nil {
		t.Skip("needs root and a root-owned directory")
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	good := writeScript(t, dir, "good.sh", "exit 0")
	bad := writeScript(t, dir, "bad.sh", "exit 0")
	os.Chmod(bad, 0o777)
	g := config.Global{ScriptUser: "root", EnableScriptSecurity: true}
	if _, err := PrepareCommand("good", config.Command{Cmd: good}, g); err != nil {
		t.Errorf("root-owned 0755 script refused: %v", err)
	}
	c, err := PrepareCommand("bad", config.Command{Cmd: bad}, g)
	var se *SecurityError
	if c != nil || err == nil || !asSec(err, &se) || !se.Disabled {
		t.Errorf("world-writable script: cmd %v err %v; want refused", c, err)
	}
	g.EnableScriptSecurity = false
	if c, err := PrepareCommand("bad", config.Command{Cmd: bad}, g); c == nil || err == nil {
		t.Errorf("without enable_script_security: cmd %v err %v; want a warning and a command", c, err)
	}
}

func asSec(err error, se **SecurityError) bool {
	s, ok := err.(*SecurityError)
	*se = s
	return ok
}

// SetBase moves the effective priority with the configured one and keeps
// the tracked objects' weights (a reload that changed only a priority).
func TestTrackerSetBase(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "val")
	cfg := trackFileConfig(t, dir, f)
	tr, err := New(cfg, zaptest.NewLogger(t), Options{FilePoll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if !tr.SetBase("VI_1", 150) {
		t.Fatal("SetBase of a known instance reported false")
	}
	if u := next(t, tr, "VI_1", 3*time.Second); u.Priority != 144 {
		t.Fatalf("after SetBase 150: %+v, want 144 (150 + 2 × -3)", u)
	}
	if u, _ := tr.State("VI_1"); u.Priority != 144 {
		t.Fatalf("State after SetBase: %+v", u)
	}
	if tr.SetBase("nope", 1) {
		t.Fatal("SetBase of an unknown instance reported true")
	}
}

// trackFileConfig is VI_1 (priority 100) tracking the file f with weight
// -3 and init_file 2.
func trackFileConfig(t *testing.T, dir, f string) *config.Config {
	t.Helper()
	conf := fmt.Sprintf(`
track_file tf {
  file "%s"
  weight -3
  init_file 2
}
vrrp_instance VI_1 {
  interface lo
  dont_track_primary
  virtual_router_id 1
  priority 100
  virtual_ipaddress { 192.0.2.1 }
  track_file {
    tf
  }
}
`, f)
	cfg, err := config.Parse(filepath.Join(dir, "k.conf"), []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Tracked lists an instance's objects with their state and weight.
func TestTrackedReport(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "val")
	tr, err := New(trackFileConfig(t, dir, f), zaptest.NewLogger(t), Options{FilePoll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	got := tr.Tracked("VI_1")
	want := []Tracked{{Kind: "file", Name: "tf", State: "2", Weight: -3}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("Tracked = %+v, want %+v", got, want)
	}
	if tr.Tracked("nope") != nil {
		t.Fatal("an unknown instance has tracked objects")
	}
}
