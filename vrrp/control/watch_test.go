package control

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// watchHandler is a fakeHandler that streams events like Daemon.Watch:
// a channel per subscriber, closed when its context ends.
type watchHandler struct {
	fakeHandler

	wmu   sync.Mutex
	subs  map[chan Event]struct{}
	ended int // subscriptions whose context ended
}

func (h *watchHandler) Watch(ctx context.Context) <-chan Event {
	ch := make(chan Event, 16)
	h.wmu.Lock()
	if h.subs == nil {
		h.subs = map[chan Event]struct{}{}
	}
	h.subs[ch] = struct{}{}
	h.wmu.Unlock()
	go func() {
		<-ctx.Done()
		h.wmu.Lock()
		delete(h.subs, ch)
		close(ch)
		h.ended++
		h.wmu.Unlock()
	}()
	return ch
}

func (h *watchHandler) publish(e Event) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	for ch := range h.subs {
		ch <- e
	}
}

// counts returns the open subscriptions and those that ended.
func (h *watchHandler) counts() (open, ended int) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	return len(h.subs), h.ended
}

func sampleEvents() []Event {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return []Event{
		{Time: t0, Instance: "VI_1", VRID: 51, From: "INIT", To: "BACKUP", Reason: "startup", Priority: 100},
		{Time: t0.Add(3 * time.Second), Instance: "VI_1", VRID: 51, From: "BACKUP", To: "MASTER",
			Reason: "master down timer expired", Priority: 100, Master: "192.0.2.1"},
	}
}

// watchAsync runs Watch in a goroutine; events arrive on the returned
// channel, Watch's result on the other.
func watchAsync(ctx context.Context, path string) (<-chan Event, <-chan error) {
	evs := make(chan Event, 16)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, path, func(e Event) error { evs <- e; return nil })
	}()
	return evs, done
}

func receive(t *testing.T, evs <-chan Event) Event {
	t.Helper()
	select {
	case e := <-evs:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event after 5 s")
	}
	return Event{}
}

func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after 5 s")
	}
	return nil
}

// TestWatchStreams: every event published after the subscription reaches
// the client, in order, intact; the client's context ends the stream and,
// through the connection, the handler's subscription.
func TestWatchStreams(t *testing.T) {
	before := runtime.NumGoroutine()
	h := &watchHandler{}
	path, stop := serve(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	evs, done := watchAsync(ctx, path)
	waitFor(t, func() bool { open, _ := h.counts(); return open == 1 })

	want := sampleEvents()
	for _, e := range want {
		h.publish(e)
	}
	for i, w := range want {
		if got := receive(t, evs); !got.Time.Equal(w.Time) || got.Instance != w.Instance || got.From != w.From ||
			got.To != w.To || got.Reason != w.Reason || got.Priority != w.Priority || got.Master != w.Master || got.VRID != w.VRID {
			t.Errorf("event %d: got %+v, want %+v", i, got, w)
		}
	}
	cancel()
	if err := result(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch after cancel: %v, want context.Canceled", err)
	}
	// The server saw the client go and ended the subscription.
	waitFor(t, func() bool { open, ended := h.counts(); return open == 0 && ended == 1 })
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

// TestWatchClientDisconnect: a raw client that subscribes and hangs up
// (no further request, no deadline on the server's read) ends the
// subscription and its connection goroutine while Serve goes on.
func TestWatchClientDisconnect(t *testing.T) {
	h := &watchHandler{}
	path, _ := serve(t, h)
	before := runtime.NumGoroutine()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(CmdWatch + "\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "{\"ok\":true}\n" {
		t.Fatalf("watch acknowledgement %q, %v", buf[:n], err)
	}
	c.Close()
	waitFor(t, func() bool { open, ended := h.counts(); return open == 0 && ended == 1 })
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
	// Serve still answers.
	if _, err := QueryStatus(context.Background(), path); err != nil {
		t.Errorf("status after a watcher left: %v", err)
	}
}

// TestWatchServeStops: Serve's context ending closes every stream (the
// client sees ErrStreamEnded), ends the subscriptions and Serve waits for
// the stream goroutines.
func TestWatchServeStops(t *testing.T) {
	before := runtime.NumGoroutine()
	h := &watchHandler{}
	path, stop := serve(t, h)
	var dones []<-chan error
	for range 3 {
		_, done := watchAsync(context.Background(), path)
		dones = append(dones, done)
	}
	waitFor(t, func() bool { open, _ := h.counts(); return open == 3 })
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	// Every subscription's context has ended (the fake closes its channel
	// on a goroutine of its own, as Daemon.Watch does).
	waitFor(t, func() bool { open, ended := h.counts(); return open == 0 && ended == 3 })
	for _, done := range dones {
		if err := result(t, done); !errors.Is(err, ErrStreamEnded) {
			t.Errorf("Watch when Serve stopped: %v, want ErrStreamEnded", err)
		}
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

// TestWatchCallbackError: an error from the callback ends Watch with it.
func TestWatchCallbackError(t *testing.T) {
	h := &watchHandler{}
	path, _ := serve(t, h)
	stopErr := errors.New("enough")
	done := make(chan error, 1)
	go func() {
		done <- Watch(context.Background(), path, func(Event) error { return stopErr })
	}()
	waitFor(t, func() bool { open, _ := h.counts(); return open == 1 })
	h.publish(sampleEvents()[0])
	if err := result(t, done); !errors.Is(err, stopErr) {
		t.Errorf("Watch: %v, want the callback's error", err)
	}
	waitFor(t, func() bool { open, _ := h.counts(); return open == 0 })
}

// nilWatcher implements Watcher but cannot watch.
type nilWatcher struct{ fakeHandler }

func (*nilWatcher) Watch(context.Context) <-chan Event { return nil }

func TestWatchNotAvailable(t *testing.T) {
	for name, h := range map[string]Handler{"no Watch method": &fakeHandler{}, "nil channel": &nilWatcher{}} {
		path, _ := serve(t, h)
		err := Watch(context.Background(), path, func(Event) error { return nil })
		var se *ServerError
		if !errors.As(err, &se) || se.Cmd != CmdWatch || se.Msg != "watch: not available" {
			t.Errorf("%s: Watch: %#v, want a ServerError", name, err)
		}
	}
}

func TestWatchNotRunning(t *testing.T) {
	err := Watch(context.Background(), t.TempDir()+"/missing.sock", func(Event) error { return nil })
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("Watch without a daemon: %v, want ErrNotRunning", err)
	}
}
