package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
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
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w (%s: %w)", ErrNotRunning, path, unwrapOp(err))
		}
		return nil, fmt.Errorf("connect to xvrrpd: %w", err)
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
