package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// terminating lists the Linux signals whose default action terminates the
// process (signal(7): Term and Core).
var terminating = func() []syscall.Signal {
	s := []syscall.Signal{
		syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGABRT,
		syscall.SIGBUS, syscall.SIGFPE, syscall.SIGKILL, syscall.SIGUSR1, syscall.SIGSEGV, syscall.SIGUSR2,
		syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGSTKFLT, syscall.SIGXCPU, syscall.SIGXFSZ,
		syscall.SIGVTALRM, syscall.SIGPROF, syscall.SIGIO, syscall.SIGPWR, syscall.SIGSYS,
	}
	for rt := syscall.Signal(32); rt <= 64; rt++ {
		s = append(s, rt)
	}
	return s
}()

// uncatchable are the exceptions signals.go documents.
var uncatchable = map[syscall.Signal]bool{
	syscall.SIGKILL: true, syscall.SIGPROF: true, 32: true, 33: true, 34: true,
}

func TestSignalTable(t *testing.T) {
	for _, s := range terminating {
		a, handled := signalActions[s]
		switch {
		case uncatchable[s] && handled:
			t.Errorf("%v (%d) is in the table but cannot be subscribed to", s, int(s))
		case !uncatchable[s] && !handled:
			t.Errorf("%v (%d) terminates by default and is not handled", s, int(s))
		case handled && a == sigNone:
			t.Errorf("%v: no action", s)
		}
	}
	for s, want := range map[syscall.Signal]signalAction{
		syscall.SIGHUP: sigReload, syscall.SIGUSR1: sigData, syscall.SIGUSR2: sigStats,
		syscall.SIGTERM: sigStop, syscall.SIGINT: sigStop, syscall.SIGQUIT: sigStop,
		syscall.SIGPIPE: sigIgnore, syscall.SIGXFSZ: sigIgnore,
		syscall.SIGCHLD: sigNone, syscall.SIGWINCH: sigNone, syscall.SIGTSTP: sigNone,
	} {
		if got := classify(s); got != want {
			t.Errorf("classify(%v) = %d, want %d", s, got, want)
		}
	}
	if len(notifiedSignals()) != len(signalActions) {
		t.Error("notifiedSignals does not list the table")
	}
}

// TestSignalsDelivered sends every signal of the table to this process:
// each must arrive on the channel (a signal the runtime would act on by
// itself — die, dump goroutines — would kill the test binary instead).
func TestSignalsDelivered(t *testing.T) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, notifiedSignals()...)
	defer signal.Stop(c)
	for s := range signalActions {
		if err := syscall.Kill(os.Getpid(), s); err != nil {
			t.Fatalf("kill %v: %v", s, err)
		}
		select {
		case got := <-c:
			if got != s {
				t.Errorf("sent %v, received %v", s, got)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v not delivered", s)
		}
	}
}

func TestSignalLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal)
	calls := make(chan string, 16)
	release := make(chan struct{})
	var mu sync.Mutex
	var stops []os.Signal
	h := signalHandlers{
		stop: func(s os.Signal) { mu.Lock(); stops = append(stops, s); mu.Unlock() },
		reload: func(ctx context.Context) {
			calls <- "reload"
			<-release // a slow reload
		},
		data:  func(context.Context) { calls <- "data" },
		stats: func(context.Context) { calls <- "stats" },
	}
	done := make(chan struct{})
	go func() {
		signalLoop(ctx, sigs, h, zaptest.NewLogger(t))
		close(done)
	}()

	expect := func(want string) {
		t.Helper()
		select {
		case got := <-calls:
			if got != want {
				t.Fatalf("called %s, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not called", want)
		}
	}
	sigs <- syscall.SIGHUP
	expect("reload")
	// While the reload runs: a stop is handled at once, more SIGHUPs
	// coalesce into one reload, a dump waits its turn, SIGPIPE is dropped.
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGPIPE
	sigs <- syscall.SIGUSR2
	sigs <- syscall.SIGTERM
	sigs <- syscall.SIGUSR2 // the loop has taken the previous one when this send returns
	mu.Lock()
	if len(stops) != 1 || stops[0] != syscall.SIGTERM {
		t.Errorf("stops %v during a reload, want [SIGTERM]", stops)
	}
	mu.Unlock()
	close(release)
	got := map[string]int{}
	for range 2 {
		select {
		case c := <-calls:
			got[c]++
		case <-time.After(10 * time.Second):
			t.Fatalf("calls after the reload: %v", got)
		}
	}
	if got["reload"] != 1 || got["stats"] != 1 {
		t.Errorf("after the slow reload: %v, want one reload and one stats dump", got)
	}
	select {
	case c := <-calls:
		t.Errorf("extra call %s", c)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("signalLoop did not return after its context ended")
	}
}

// TestReservedSignalsIgnored: after ignoreReservedSignals, signals 32 and
// 34 no longer kill the process (this test binary would die otherwise).
func TestReservedSignalsIgnored(t *testing.T) {
	if len(reservedSignals) == 0 {
		t.Skip("reserved signals keep their default on this architecture")
	}
	if err := ignoreReservedSignals(); err != nil {
		t.Fatal(err)
	}
	for _, s := range reservedSignals {
		if err := syscall.Kill(os.Getpid(), s); err != nil {
			t.Fatalf("kill %d: %v", int(s), err)
		}
	}
	// A signal a process sends itself is delivered before kill returns
	// (here, to a thread of this process in any case before long).
	time.Sleep(100 * time.Millisecond)
}
