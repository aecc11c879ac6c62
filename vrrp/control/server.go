package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Handler answers the commands. Its methods are called from connection
// goroutines, possibly concurrently: they must be safe for that.
type Handler interface {
	// Status returns the current snapshot.
	Status() Status
	// Reload re-reads and applies the configuration. The error, when not
	// nil, is sent to the client as is: it should name every problem.
	Reload(ctx context.Context) error
}

// Watcher is what a Handler implements to answer CmdWatch. Serve checks
// for it with a type assertion; a Handler without it answers watch with
// an error.
type Watcher interface {
	// Watch returns a channel of the state changes from now on, closed
	// when ctx ends; nil when watching is not available. Called from
	// connection goroutines, possibly concurrently.
	Watch(ctx context.Context) <-chan Event
}

// Maintainer is what a Handler implements to answer CmdHandover and
// CmdResume (checked with a type assertion, as Watcher). name is an
// instance or sync group, or empty for every instance.
type Maintainer interface {
	Handover(ctx context.Context, name string) error
	Resume(ctx context.Context, name string) error
}

// Upgrader is what a Handler implements to answer CmdUpgrade (checked
// with a type assertion, as Watcher): replace the running daemon by a new
// process of binary ("" for its own path) and return that process's PID
// once it has taken over; on an error the running daemon goes on. commit,
// when not nil, is called once the reply is written (or could not be):
// the running daemon ends then, not before its client has the answer.
type Upgrader interface {
	Upgrade(ctx context.Context, binary string) (pid int, commit func(), err error)
}

// Timeouts of one connection.
const (
	// IOTimeout bounds reading the request and writing the reply, and
	// writing each line of a watch stream.
	IOTimeout = 5 * time.Second
	// ReloadTimeout bounds Handler.Reload (its context ends then), and
	// Upgrader.Upgrade.
	ReloadTimeout = 30 * time.Second
)

// maxRequest is the longest request line read.
const maxRequest = 256

// Serve answers requests on a unix socket at path until ctx ends, then
// closes the listener and every open connection, waits for their
// goroutines and removes the socket. The socket is created with mode 0600;
// a stale socket file at path (a crashed run) is replaced, anything else
// there is an error. Serve returns nil when ctx ends, or the error that
// kept it from listening.
func Serve(ctx context.Context, path string, h Handler, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	l, err := listen(path)
	if err != nil {
		return err
	}
	// Removed only while it is still ours: a daemon that upgraded has
	// its successor's socket there.
	mine, _ := os.Stat(path)
	defer func() {
		if now, err := os.Stat(path); err == nil && mine != nil && os.SameFile(mine, now) {
			os.Remove(path)
		}
	}()
	s := &server{h: h, log: log, conns: map[net.Conn]struct{}{}}

	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		l.Close()
		s.closeAll()
	})
	defer func() {
		close(done)
		wg.Wait()
	}()

	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// EMFILE and the like: wait, do not give the socket up.
			log.Warn("control socket accept", zap.Error(err))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if !s.track(c) {
			c.Close()
			return nil
		}
		wg.Go(func() {
			defer s.untrack(c)
			s.serveConn(ctx, c)
		})
	}
}

// listen binds a unix socket at path with mode 0600. It binds under a
// temporary name, sets the mode and renames it into place, so that the
// socket is never reachable with a wider mode.
func listen(path string) (*net.UnixListener, error) {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("control socket: %w", err)
	}
	tmp := path + ".new." + strconv.Itoa(os.Getpid())
	os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// The file is renamed away: Serve removes it, not Close.
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return l, nil
}

// server tracks open connections, so that Serve can close them.
type server struct {
	h   Handler
	log *zap.Logger

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// track registers c; false when the server is closing.
func (s *server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// closeAll closes every open connection, which ends their goroutines'
// reads and writes, and refuses new ones.
func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
}

// serveConn reads one request line and writes one reply line, or streams
// events for a watch.
func (s *server) serveConn(ctx context.Context, c net.Conn) {
	c.SetDeadline(time.Now().Add(IOTimeout))
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest)).ReadString('\n')
	if err != nil {
		if line == "" || !errors.Is(err, io.EOF) {
			s.log.Debug("control request", zap.Error(err))
			return
		}
		// A request without its newline, then EOF: accepted.
	}
	var reply any
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case CmdHandover, CmdResume:
		m, ok := s.h.(Maintainer)
		if !ok {
			reply = Reply{Error: cmd + " is not available"}
			break
		}
		do := m.Handover
		if cmd == CmdResume {
			do = m.Resume
		}
		rctx, cancel := context.WithTimeout(ctx, IOTimeout)
		err := do(rctx, arg)
		cancel()
		if err != nil {
			reply = Reply{Error: err.Error()}
		} else {
			reply = Reply{OK: true}
		}
	case CmdUpgrade:
		u, ok := s.h.(Upgrader)
		if !ok {
			reply = Reply{Error: cmd + " is not available"}
			break
		}
		rctx, cancel := context.WithTimeout(ctx, ReloadTimeout)
		pid, commit, err := u.Upgrade(rctx, arg)
		cancel()
		if err != nil {
			reply = Reply{Error: err.Error()}
		} else {
			reply = Reply{OK: true, PID: pid}
		}
		if commit != nil {
			defer commit()
		}
	case CmdStatus:
		reply = s.h.Status()
	case CmdWatch:
		s.watch(ctx, c)
		return
	case CmdReload:
		rctx, cancel := context.WithTimeout(ctx, ReloadTimeout)
		err := s.h.Reload(rctx)
		cancel()
		if err != nil {
			reply = Reply{Error: err.Error()}
		} else {
			reply = Reply{OK: true}
		}
	default:
		reply = Reply{Error: fmt.Sprintf("unknown command %q: want %s, %s, %s, %s, %s or %s", cmd, CmdStatus, CmdReload, CmdWatch, CmdHandover, CmdResume, CmdUpgrade)}
	}
	c.SetDeadline(time.Now().Add(IOTimeout))
	if err := json.NewEncoder(c).Encode(reply); err != nil {
		s.log.Debug("control reply", zap.Error(err))
	}
}

// watch streams the handler's events on c: {"ok":true} once subscribed,
// then one Event per line, until the client disconnects, a write fails
// (IOTimeout per line: a client that stops reading is dropped) or ctx
// ends (Serve's closeAll also closes c). The reading side has no
// deadline: one goroutine, waited for here, reads c only to see the
// client go.
func (s *server) watch(ctx context.Context, c net.Conn) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ch <-chan Event
	if w, ok := s.h.(Watcher); ok {
		ch = w.Watch(wctx)
	}
	enc := json.NewEncoder(c)
	send := func(v any) bool {
		c.SetWriteDeadline(time.Now().Add(IOTimeout))
		if err := enc.Encode(v); err != nil {
			s.log.Debug("control watch", zap.Error(err))
			return false
		}
		return true
	}
	if ch == nil {
		send(Reply{Error: CmdWatch + ": not available"})
		return
	}
	c.SetReadDeadline(time.Time{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		// The client sends nothing more: a read ends at its EOF, or when
		// c is closed or its read deadline set below.
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	defer func() {
		c.SetReadDeadline(time.Unix(1, 0))
		wg.Wait()
	}()
	if !send(Reply{OK: true}) {
		return
	}
	for {
		select {
		case <-wctx.Done():
			return
		case ev, ok := <-ch:
			if !ok || !send(ev) {
				return
			}
		}
	}
}
