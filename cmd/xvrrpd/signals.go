package main

import (
	"context"
	"os"
	"sync"
	"syscall"

	"go.uber.org/zap"
)

// signalAction is what xvrrpd does on a signal.
type signalAction int

const (
	sigNone   signalAction = iota // not handled: the Go runtime's default
	sigStop                       // stop the clean way: masters resign, VIPs removed
	sigReload                     // re-read the configuration
	sigData                       // write the data dump
	sigStats                      // write the stats dump
	sigIgnore                     // dropped
)

// signalActions maps every signal xvrrpd subscribes to. The rule: no
// signal kills the daemon without its masters resigning, except SIGKILL.
//
//   - SIGHUP reloads (keepalived's reload signal; systemctl reload).
//   - SIGUSR1 and SIGUSR2 write the data and stats dumps into the run
//     directory (keepalived's /tmp/keepalived.data and .stats).
//   - Every other signal whose default action terminates the process stops
//     the daemon the clean way: SIGTERM, SIGINT, SIGQUIT (no goroutine dump),
//     SIGALRM, SIGVTALRM, SIGXCPU (the soft CPU limit, before the kernel's
//     SIGKILL), SIGIO/SIGPOLL, SIGPWR, SIGSTKFLT, the real-time signals
//     SIGRTMIN+1 (35) to SIGRTMAX (64), and, when sent by kill(2), SIGILL,
//     SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV and SIGSYS (a real fault in
//     the process still crashes it: nothing can be trusted then).
//   - SIGPIPE and SIGXFSZ are dropped: the failed write that raises them
//     returns EPIPE or EFBIG where it is handled (a log pipe whose reader
//     died must not stop the daemon). They are subscribed to, not set to
//     SIG_IGN, so that scripts the daemon runs start with the default
//     disposition.
//
// Not in the table: SIGKILL and SIGSTOP (uncatchable); SIGPROF (the Go
// runtime's profiler takes it, it never terminates a Go program); signals
// 32 to 34, which the C library and the Go runtime reserve: os/signal cannot
// subscribe to them, 33 never terminates, 32 and 34 are set to SIG_IGN
// (sigreserved.go). Job-control and ignored-by-default signals (SIGTSTP,
// SIGTTIN, SIGTTOU, SIGCHLD, SIGCONT, SIGURG, SIGWINCH) keep their
// defaults.
var signalActions = func() map[syscall.Signal]signalAction {
	m := map[syscall.Signal]signalAction{
		syscall.SIGHUP:  sigReload,
		syscall.SIGUSR1: sigData,
		syscall.SIGUSR2: sigStats,
		syscall.SIGPIPE: sigIgnore,
		syscall.SIGXFSZ: sigIgnore,
	}
	for _, s := range []syscall.Signal{
		syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT,
		syscall.SIGALRM, syscall.SIGVTALRM, syscall.SIGXCPU, syscall.SIGIO, syscall.SIGPWR, syscall.SIGSTKFLT,
		syscall.SIGILL, syscall.SIGTRAP, syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGSEGV, syscall.SIGSYS,
	} {
		m[s] = sigStop
	}
	for s := syscall.Signal(firstRTSignal); s <= lastRTSignal; s++ {
		m[s] = sigStop
	}
	return m
}()

// The real-time signals os/signal can subscribe to (32 to 34 are taken
// by the C library's threads and the Go runtime).
const (
	firstRTSignal = 35
	lastRTSignal  = 64
)

// notifiedSignals lists every signal of signalActions, for signal.Notify.
func notifiedSignals() []os.Signal {
	sigs := make([]os.Signal, 0, len(signalActions))
	for s := range signalActions {
		sigs = append(sigs, s)
	}
	return sigs
}

func classify(s os.Signal) signalAction {
	if ss, ok := s.(syscall.Signal); ok {
		return signalActions[ss]
	}
	return sigNone
}

// signalHandlers are what signalLoop calls.
type signalHandlers struct {
	stop   func(os.Signal)           // called in the loop: must not block
	reload func(ctx context.Context) // called by the worker, one at a time
	data   func(ctx context.Context)
	stats  func(ctx context.Context)
}

// signalLoop acts on sigs until ctx ends. Stop signals call h.stop at
// once; reload and dump requests go to one worker goroutine, so that a slow
// reload never delays a stop. Requests that arrive while the worker is busy
// are coalesced: one SIGHUP or ten, one reload after the current one.
// signalLoop returns after the worker has finished.
func signalLoop(ctx context.Context, sigs <-chan os.Signal, h signalHandlers, log *zap.Logger) {
	reload := make(chan struct{}, 1)
	data := make(chan struct{}, 1)
	stats := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-reload:
				h.reload(ctx)
			case <-data:
				h.data(ctx)
			case <-stats:
				h.stats(ctx)
			}
		}
	})
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sigs:
			switch classify(s) {
			case sigStop:
				log.Info("stopping", zap.Stringer("signal", s))
				h.stop(s)
			case sigReload:
				log.Info("reload requested", zap.Stringer("signal", s))
				request(reload)
			case sigData:
				request(data)
			case sigStats:
				request(stats)
			default:
				log.Debug("signal ignored", zap.Stringer("signal", s))
			}
		}
	}
}

// request queues a request unless one is pending already.
func request(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
