package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watching runs xvrrpctl with args in the background; the returned
// channel gets its exit code.
func watching(ctx context.Context, args ...string) (stdout, stderr *syncBuffer, code <-chan int) {
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	c := make(chan int, 1)
	go func() {
		c <- runEnv(ctx, args, &env{stdout: stdout, stderr: stderr, now: func() time.Time { return testNow }})
	}()
	return stdout, stderr, c
}

func exitCode(t *testing.T, code <-chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("xvrrpctl watch did not exit after 5 s")
	}
	return -1
}

func watchEvents() []control.Event {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 250_000_000, time.UTC)
	return []control.Event{
		{Time: t0, Instance: "VI_1", VRID: 51, From: "INIT", To: "BACKUP", Reason: "startup", Priority: 100},
		{Time: t0.Add(3 * time.Second), Instance: "VI_1", VRID: 51, From: "BACKUP", To: "MASTER",
			Reason: "master down timer expired", Priority: 100, Master: "192.0.2.1"},
		{Time: t0.Add(time.Minute), Instance: "VI_2", VRID: 52, From: "MASTER", To: "FAULT",
			Reason: "interface eth9 gone", Priority: 0},
	}
}

// TestWatch: one line per event, in order, as they are published; an
// interrupt (the context) ends the watch with exit 0 and the daemon's
// subscription with it.
func TestWatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"text", []string{"watch"}, `2026-01-02T03:04:05.250Z VI_1 vrid 51 INIT -> BACKUP priority 100: startup
2026-01-02T03:04:08.250Z VI_1 vrid 51 BACKUP -> MASTER priority 100 master 192.0.2.1: master down timer expired
2026-01-02T03:05:05.250Z VI_2 vrid 52 MASTER -> FAULT priority 0: interface eth9 gone
`},
		{"json", []string{"watch", "--json"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDaemon{}
			dir := serve(t, f)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out, errOut, code := watching(ctx, append([]string{"--run-dir", dir}, tc.args...)...)
			waitFor(t, func() bool { return f.watchers() == 1 })
			evs := watchEvents()
			for _, e := range evs {
				f.publish(e)
			}
			waitFor(t, func() bool { return strings.Count(out.String(), "\n") == len(evs) })
			cancel()
			if c := exitCode(t, code); c != exitOK || errOut.String() != "" {
				t.Errorf("interrupted watch: exit %d, stderr %q; want 0", c, errOut)
			}
			waitFor(t, func() bool { return f.watchers() == 0 })

			if tc.want != "" {
				if out.String() != tc.want {
					t.Errorf("watch output:\n%s\nwant:\n%s", out, tc.want)
				}
				return
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			for i, l := range lines {
				var got control.Event
				if err := json.Unmarshal([]byte(l), &got); err != nil {
					t.Fatalf("line %d %q: %v", i, l, err)
				}
				if w := evs[i]; !got.Time.Equal(w.Time) || got.Instance != w.Instance || got.To != w.To || got.Master != w.Master || got.Reason != w.Reason {
					t.Errorf("line %d: %+v, want %+v", i, got, w)
				}
			}
		})
	}
}

// TestWatchDaemonStops: the daemon going away ends the watch with exit 1
// and a message.
func TestWatchDaemonStops(t *testing.T) {
	f := &fakeDaemon{}
	dir, stop := serveStop(t, f)
	out, errOut, code := watching(context.Background(), "--run-dir", dir, "watch")
	waitFor(t, func() bool { return f.watchers() == 1 })
	f.publish(watchEvents()[0])
	waitFor(t, func() bool { return strings.Count(out.String(), "\n") == 1 })
	stop()
	if c := exitCode(t, code); c != exitError || errOut.String() != "xvrrpctl: watch: xvrrpd ended the stream\n" {
		t.Errorf("watch when the daemon stopped: exit %d, stderr %q; want 1", c, errOut)
	}
}

// statusOnly is a daemon whose control socket cannot watch.
type statusOnly struct{ fakeDaemon }

func (*statusOnly) Watch(context.Context) <-chan control.Event { return nil }

func TestWatchRefused(t *testing.T) {
	dir := serve(t, &statusOnly{})
	code, out, errOut := ctl("--run-dir", dir, "watch")
	if code != exitError || out != "" || errOut != "xvrrpctl: watch: not available\n" {
		t.Errorf("watch on a daemon that cannot: exit %d, stdout %q, stderr %q; want 1", code, out, errOut)
	}
}
