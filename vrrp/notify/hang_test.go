package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// hungScript returns a script that writes its pid (its process group, as
// scripts run in their own group) to pidFile and then never exits.
func hungScript(t *testing.T, dir, name, pidFile string) string {
	t.Helper()
	return script(t, dir, name, "echo $$ > "+pidFile+"\nexec sleep 1000")
}

// readPid waits for a script to write its pid to path. Once read, the
// process group is killed (and the pid reaped if it is a child of the test)
// when the test ends, so that no test leaves a sleeping script behind.
func readPid(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if s := strings.TrimSpace(string(b)); strings.HasSuffix(string(b), "\n") && s != "" {
			pid, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("%s: %q", path, b)
			}
			t.Cleanup(func() {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				var ws syscall.WaitStatus
				_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			})
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no pid written", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gone reports whether process pid has ended (a zombie counts as ended: an
// orphan's zombie may wait for a container's init to reap it).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...; comm may contain blanks and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

func waitGone(t *testing.T, what string, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still running after %v", what, pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closeAtEnd closes r when the test ends, in case the test failed before
// its own Close.
func closeAtEnd(t *testing.T, r *Runner) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = r.Close(ctx)
	})
}

// Issue 8: a notify script that never exits held back every later
// notification of its instance until its 60 s timeout.
func TestHungScriptDoesNotDelayNextNotification(t *testing.T) {
	dir := t.TempDir()
	log, pidFile := filepath.Join(dir, "log"), filepath.Join(dir, "pid")
	hang := hungScript(t, dir, "hang.sh", pidFile)
	rec := script(t, dir, "rec.sh", `echo "$*" >> `+log)
	r := New(zaptest.NewLogger(t), Options{SkipSecurity: true}) // default 60 s timeout
	closeAtEnd(t, r)
	start := time.Now()
	r.Notify(Instance, "VI_1", config.Notify{Master: config.Command{Cmd: hang}}, "MASTER", 100)
	r.Notify(Instance, "VI_1", config.Notify{Backup: config.Command{Cmd: rec + " backup"}}, "BACKUP", 100)
	pid := readPid(t, pidFile)
	lines := waitLines(t, log, 1)
	// The order grace is 1 s; the bound is generous for a loaded machine.
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("second notification ran %v after the first, want about 1 s", d)
	}
	if lines[0] != "backup" {
		t.Errorf("log %q", lines)
	}
	if gone(pid) {
		t.Error("hung script ended before its timeout")
	}
}

// The hung script, no longer waited for by its instance's worker, is still
// bounded by its own timeout: its whole process group is killed.
func TestHungScriptKilledAtTimeout(t *testing.T) {
	dir := t.TempDir()
	pidFile, childFile := filepath.Join(dir, "pid"), filepath.Join(dir, "child")
	hang := script(t, dir, "hang.sh", "echo $$ > "+pidFile+"\nsleep 1000 &\necho $! > "+childFile+"\nwait")
	r := New(zaptest.NewLogger(t), Options{SkipSecurity: true, Timeout: 300 * time.Millisecond})
	closeAtEnd(t, r)
	r.Notify(Instance, "VI_1", config.Notify{Master: config.Command{Cmd: hang}}, "MASTER", 100)
	pid, child := readPid(t, pidFile), readPid(t, childFile)
	// SIGTERM at 300 ms (SIGKILL 2 s later if ignored).
	waitGone(t, "hung script", pid, 5*time.Second)
	waitGone(t, "hung script's child", child, 5*time.Second)
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// Issue 8: notify_stop was lost at exit when an earlier script of the
// instance hung: Close must start it, and leave what still runs at the
// deadline running, as keepalived does.
func TestCloseStartsStopDespiteHungScript(t *testing.T) {
	dir := t.TempDir()
	pidFile, stopped, log := filepath.Join(dir, "pid"), filepath.Join(dir, "stopped"), filepath.Join(dir, "log")
	hang := hungScript(t, dir, "hang.sh", pidFile)
	stop := script(t, dir, "stop.sh", "echo stopped > "+stopped)
	rec := script(t, dir, "rec.sh", `echo "$*" >> `+log)
	r := New(zaptest.NewLogger(t), Options{SkipSecurity: true})
	closeAtEnd(t, r)
	n := config.Notify{Master: config.Command{Cmd: hang}, Stop: config.Command{Cmd: stop}, Generic: config.Command{Cmd: rec}}
	r.Notify(Instance, "VI_1", n, "MASTER", 100)
	r.Notify(Instance, "VI_1", n, Stop, 100)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := r.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v, want the deadline (the hung script is still running)", err)
	}
	if b, err := os.ReadFile(stopped); err != nil || string(b) != "stopped\n" {
		t.Errorf("notify_stop did not run before Close returned: %q, %v", b, err)
	}
	b, _ := os.ReadFile(log)
	if got := string(b); !strings.Contains(got, "INSTANCE VI_1 MASTER 100\n") || !strings.Contains(got, "INSTANCE VI_1 STOP 100\n") {
		t.Errorf("generic notify calls: %q", got)
	}
	// Left running, not killed.
	if pid := readPid(t, pidFile); gone(pid) {
		t.Error("the hung script was killed at Close")
	}
	// After Close, nothing more runs.
	r.Notify(Instance, "VI_1", n, Stop, 100)
}

// Quick scripts of one instance still run one after the other, in order.
func TestQuickScriptsKeepOrder(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	// Slow enough that notifications arrive faster than the scripts end.
	rec := script(t, dir, "rec.sh", `sleep 0.03; echo "$*" >> `+log)
	// A long grace: on a loaded machine a 30 ms script may take a while.
	r := New(zaptest.NewLogger(t), Options{SkipSecurity: true, OrderGrace: 10 * time.Second})
	closeAtEnd(t, r)
	var want []string
	for i := range 12 {
		state := [...]string{"MASTER", "BACKUP", "FAULT"}[i%3]
		c := config.Command{Cmd: fmt.Sprintf("%s %d", rec, i)}
		r.Notify(Instance, "VI_1", config.Notify{Master: c, Backup: c, Fault: c}, state, 100)
		want = append(want, strconv.Itoa(i))
	}
	got := waitLines(t, log, len(want))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("order %q, want %q", got, want)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// A notify_stop script left running by Close goes on after it, printing
// included (its output must not be a pipe that nobody reads any more).
func TestStopScriptOutlivesClose(t *testing.T) {
	dir := t.TempDir()
	pidFile, done := filepath.Join(dir, "pid"), filepath.Join(dir, "done")
	stop := script(t, dir, "stop.sh", "echo $$ > "+pidFile+"\nsleep 0.5\necho printing after close\necho printing after close >&2\necho done > "+done)
	r := New(zaptest.NewLogger(t), Options{SkipSecurity: true})
	closeAtEnd(t, r)
	r.Notify(Instance, "VI_1", config.Notify{Stop: config.Command{Cmd: stop}}, Stop, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v, want the deadline", err)
	}
	pid := readPid(t, pidFile)
	if lines := waitLines(t, done, 1); lines[0] != "done" {
		t.Errorf("done: %q", lines)
	}
	// Left to the test process, its parent: reap it.
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
		t.Errorf("stop script: %v, status %v", err, ws)
	}
}

// At Close, quick scripts still start in order: notify_stop, then the
// generic notify's STOP call (found by the e2e health test: both started
// at once and wrote in either order).
func TestCloseKeepsStopOrder(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	stop := script(t, dir, "stop.sh", "sleep 0.05; echo stop >> "+log)
	rec := script(t, dir, "rec.sh", `echo "$*" >> `+log)
	r := New(zaptest.NewLogger(t), Options{SkipSecurity: true})
	closeAtEnd(t, r)
	r.Notify(Instance, "VI_1", config.Notify{Stop: config.Command{Cmd: stop}, Generic: config.Command{Cmd: rec}}, Stop, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(log); string(b) != "stop\nINSTANCE VI_1 STOP 100\n" {
		t.Fatalf("log %q, want notify_stop first", b)
	}
}
