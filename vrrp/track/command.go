package track

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// OutputCap is how much of a script's combined stdout and stderr is kept
// (for a log line when it fails); everything beyond is read and discarded.
const OutputCap = 512

// DefaultKillGrace is how long a timed-out script has between SIGTERM and
// SIGKILL of its process group (keepalived waits 2 s).
const DefaultKillGrace = 2 * time.Second

// SplitCommand splits a script line into words as keepalived does for
// "script" and notify commands: words are separated by blanks; single and
// double quotes group blanks into a word and are removed; a backslash
// escapes the next character (\n, \t, \xHH, \NNN and the other C escapes are
// decoded). No shell is involved: the first word is executed directly.
func SplitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i >= len(s) {
				return nil, fmt.Errorf("command %q: backslash at end", s)
			}
			n, width := unescape(s[i:])
			cur.WriteByte(n)
			i += width - 1
			inWord = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("command %q: missing closing %c", s, quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("command %q: empty", s)
	}
	return words, nil
}

// unescape decodes the escape sequence at the start of s (after the
// backslash) and returns the byte and the number of input bytes used.
func unescape(s string) (byte, int) {
	isHex := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	hexVal := func(c byte) byte {
		switch {
		case c >= 'a':
			return c - 'a' + 10
		case c >= 'A':
			return c - 'A' + 10
		}
		return c - '0'
	}
	c := s[0]
	switch {
	case c == 'x' && len(s) > 1 && isHex(s[1]):
		v, n := byte(0), 1
		for ; n <= 2 && n < len(s) && isHex(s[n]); n++ {
			v = v<<4 | hexVal(s[n])
		}
		return v, n
	case c == 'c' && len(s) > 1:
		return s[1] & 0x1f, 2
	case c >= '0' && c <= '7':
		v, n := byte(0), 0
		for ; n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7'; n++ {
			v = v<<3 | (s[n] - '0')
		}
		return v, n
	}
	switch c {
	case 'a':
		return '\a', 1
	case 'b':
		return '\b', 1
	case 'E':
		return 0x1b, 1
	case 'f':
		return '\f', 1
	case 'n':
		return '\n', 1
	case 'r':
		return '\r', 1
	case 't':
		return '\t', 1
	case 'v':
		return '\v', 1
	}
	return c, 1
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
