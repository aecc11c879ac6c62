package track

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// OutputCap is how much of a script's combined stdout and stderr is kept
// (for a log line when it fails); everything beyond is read and discarded.
const OutputCap = 512

// DefaultKillGrace is how long a timed-out script has between SIGTERM and
// SIGKILL of its process group (keepalived waits 2 s).
const DefaultKillGrace = 2 * time.Second

// SplitCommand splits a command into the words that run, as keepalived
// splits the command of "script" and notify lines (config.SplitCommand):
// quotes group, backslash escapes are decoded, no shell is involved (the
// first word is executed directly).
func SplitCommand(s string) ([]string, error) { return config.SplitCommand(s) }

// commandWords returns the words c runs: c.Argv as the configuration's reading of
// the line gave them, else c.Cmd split (a Command built by hand). The
// slice is the caller's.
func commandWords(c config.Command) ([]string, error) {
	if c.Argv != nil {
		if len(c.Argv) == 0 {
			return nil, fmt.Errorf("command %q: empty", c.Cmd)
		}
		return append([]string(nil), c.Argv...), nil
	}
	return SplitCommand(c.Cmd)
}

// Command is a script ready to run: its words and the credentials to run
// it with. Build one with PrepareCommand. A Command is immutable and safe
// for concurrent use; each Run starts a new process.
type Command struct {
	Argv []string
	// Cred is nil when the script runs as the daemon's own user.
	Cred *syscall.Credential
	// User is the user name the script runs as ("" for the daemon's own).
	User string
}

// Result is the outcome of one run.
type Result struct {
	ExitCode int            // -1 when killed by a signal or not started
	Signal   syscall.Signal // the signal that ended it, 0 otherwise
	TimedOut bool           // the run exceeded its timeout and was killed
	Err      error          // the process could not be started
	Output   string         // at most OutputCap bytes of stdout+stderr
	Duration time.Duration
}

// OK reports whether the run succeeded (exit status 0).
func (r Result) OK() bool { return r.Err == nil && !r.TimedOut && r.Signal == 0 && r.ExitCode == 0 }

// String describes the outcome for logs.
func (r Result) String() string {
	switch {
	case r.Err != nil:
		return "not started: " + r.Err.Error()
	case r.TimedOut:
		return "timed out"
	case r.Signal != 0:
		return "killed by signal " + r.Signal.String()
	}
	return fmt.Sprintf("exit status %d", r.ExitCode)
}

// Run runs the command in its own process group with extra arguments
// appended, waits at most timeout (0: no limit), and on timeout sends
// SIGTERM to the whole process group, then SIGKILL after grace (0:
// DefaultKillGrace); a timed-out run counts as a failure. Output is read and
// discarded beyond OutputCap bytes, so a script printing megabytes costs no
// memory. ctx cancellation kills the group at once.
func (c *Command) Run(ctx context.Context, timeout, grace time.Duration, extra ...string) Result {
	start := time.Now()
	res := Result{ExitCode: -1}
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	argv := append(append([]string(nil), c.Argv...), extra...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.Cred}
	pr, pw, err := os.Pipe()
	if err != nil {
		res.Err = fmt.Errorf("pipe: %w", err)
		return res
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		res.Err = err
		return res
	}
	pw.Close()
	pid := cmd.Process.Pid

	// Drain the output on our own goroutine: cmd.Wait does not wait for it,
	// so a grandchild holding the pipe open never delays the result.
	kept := make(chan string, 1)
	go func() {
		var keep []byte
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			if room := OutputCap - len(keep); room > 0 {
				keep = append(keep, buf[:min(n, room)]...)
			}
			if err != nil {
				break
			}
		}
		kept <- string(keep)
	}()

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	var waitErr error
	killed := false
	select {
	case waitErr = <-done:
	case <-timer:
		res.TimedOut, killed = true, true
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		g := time.NewTimer(grace)
		defer g.Stop()
		select {
		case waitErr = <-done:
		case <-g.C:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			waitErr = <-done
		}
	case <-ctx.Done():
		killed = true
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		waitErr = <-done
	}
	if killed {
		// The leader is gone; children it left in its group go too.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	pr.Close()
	res.Output = <-kept
	res.Duration = time.Since(start)

	var ee *exec.ExitError
	switch {
	case waitErr == nil:
		res.ExitCode = 0
	case errors.As(waitErr, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal()
		} else {
			res.ExitCode = ee.ExitCode()
		}
	default:
		res.Err = waitErr
	}
	return res
}
