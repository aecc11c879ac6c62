package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// ErrNotRunning is returned (wrapped) by the client functions when no
// daemon listens at the path: the socket is missing or refuses connections.
var ErrNotRunning = errors.New("xvrrpd is not running")

// ServerError is an error the daemon answered with.
type ServerError struct {
	Cmd string
	Msg string
}

func (e *ServerError) Error() string { return e.Msg }

// Query sends cmd to the daemon listening at path and returns its reply
// line (JSON, without the newline). Without a deadline on ctx, the query is
// bounded by IOTimeout plus ReloadTimeout. A missing socket or a refused
// connection gives an error wrapping ErrNotRunning.
func Query(ctx context.Context, path, cmd string) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*IOTimeout+ReloadTimeout)
		defer cancel()
	}
	c, err := dial(ctx, path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	// A cancelled ctx interrupts the exchange too.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := fmt.Fprintln(c, cmd); err != nil {
		return nil, fmt.Errorf("send %s: %w", cmd, unwrapOp(err))
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl):
			err = context.DeadlineExceeded
		default:
			err = unwrapOp(err)
		}
		return nil, fmt.Errorf("read reply to %s: %w", cmd, err)
	}
	return line[:len(line)-1], nil
}

// dial connects to the daemon's socket at path. A missing socket or a
// refused connection gives an error wrapping ErrNotRunning.
func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w (%s: %w)", ErrNotRunning, path, unwrapOp(err))
		}
		return nil, fmt.Errorf("connect to xvrrpd: %w", err)
	}
	return c, nil
}

// unwrapOp drops net.OpError's "dial unix PATH:" prefix (the path in a
// read error is the server's temporary bind name, confusing).
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// QueryStatus asks the daemon at path for its Status.
func QueryStatus(ctx context.Context, path string) (Status, error) {
	var st Status
	line, err := Query(ctx, path, CmdStatus)
	if err != nil {
		return st, err
	}
	if err := replyError(CmdStatus, line); err != nil {
		return st, err
	}
	if err := json.Unmarshal(line, &st); err != nil {
		return st, fmt.Errorf("decode status: %w", err)
	}
	return st, nil
}

// QueryReload asks the daemon at path to reload its configuration. A
// refused reload is a *ServerError with every error in its message.
func QueryReload(ctx context.Context, path string) error {
	line, err := Query(ctx, path, CmdReload)
	if err != nil {
		return err
	}
	if err := replyError(CmdReload, line); err != nil {
		return err
	}
	var r Reply
	if err := json.Unmarshal(line, &r); err != nil {
		return fmt.Errorf("decode reply to %s: %w", CmdReload, err)
	}
	if !r.OK {
		return fmt.Errorf("reply to %s: neither ok nor error: %s", CmdReload, line)
	}
	return nil
}

// QueryMaintenance sends CmdHandover or CmdResume for name (an instance
// or sync group; "" for every instance).
func QueryMaintenance(ctx context.Context, path, cmd, name string) error {
	line, err := Query(ctx, path, strings.TrimSpace(cmd+" "+name))
	if err != nil {
		return err
	}
	if err := replyError(cmd, line); err != nil {
		return err
	}
	var r Reply
	if err := json.Unmarshal(line, &r); err != nil || !r.OK {
		return fmt.Errorf("unexpected reply to %s: %s", cmd, line)
	}
	return nil
}

// QueryUpgrade asks the daemon at path to replace itself by a new process
// of binary ("" for its own path) and returns the new process's PID. A
// refused or failed upgrade is a *ServerError with the reason; the
// running daemon then goes on.
func QueryUpgrade(ctx context.Context, path, binary string) (int, error) {
	line, err := Query(ctx, path, strings.TrimSpace(CmdUpgrade+" "+binary))
	if err != nil {
		return 0, err
	}
	if err := replyError(CmdUpgrade, line); err != nil {
		return 0, err
	}
	var r Reply
	if err := json.Unmarshal(line, &r); err != nil || !r.OK || r.PID <= 0 {
		return 0, fmt.Errorf("unexpected reply to %s: %s", CmdUpgrade, line)
	}
	return r.PID, nil
}

// replyError returns the error a reply carries, if any.
func replyError(cmd string, line []byte) error {
	var r Reply
	if err := json.Unmarshal(line, &r); err != nil {
		return fmt.Errorf("decode reply to %s: %w", cmd, err)
	}
	if r.Error != "" {
		return &ServerError{Cmd: cmd, Msg: r.Error}
	}
	return nil
}

// ErrStreamEnded is returned (wrapped) by Watch when the daemon closes the
// stream: it stopped, or it is restarting.
var ErrStreamEnded = errors.New("xvrrpd ended the stream")

// Watch subscribes to the daemon's state changes and calls fn with each
// event, in order, as it arrives. It returns when ctx ends (ctx's error),
// when fn returns an error (that error), or when the daemon ends the stream
// (an error wrapping ErrStreamEnded). Connecting and the daemon's
// acknowledgement are bounded by IOTimeout; the stream itself has no
// deadline. A missing socket or a refused connection gives an error
// wrapping ErrNotRunning; a daemon that refuses to stream, a *ServerError.
func Watch(ctx context.Context, path string, fn func(Event) error) error {
	dctx, cancel := context.WithTimeout(ctx, IOTimeout)
	c, err := dial(dctx, path)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	defer c.Close()
	// Closing, not a deadline: the stream clears its deadlines, which
	// would undo a deadline set here by a racing cancel.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	// fail reports ctx's error when ctx ended the connection.
	fail := func(what string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w", what, unwrapOp(err))
	}

	c.SetDeadline(time.Now().Add(IOTimeout))
	if _, err := fmt.Fprintln(c, CmdWatch); err != nil {
		return fail("send "+CmdWatch, err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fail("read reply to "+CmdWatch, err)
	}
	if err := replyError(CmdWatch, line); err != nil {
		return err
	}
	c.SetDeadline(time.Time{})
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && ctx.Err() == nil {
				return fmt.Errorf("watch: %w", ErrStreamEnded)
			}
			return fail("watch", err)
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}
