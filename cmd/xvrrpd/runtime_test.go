package main

import (
	"context"
	"runtime/debug"
	"testing"
	"time"
)

// xvrrpd runs with gcPercent (Go's default, 100) unless the environment says otherwise.
func TestTuneRuntime(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	if got := tuneRuntime(func(string) string { return "" }); got != gcPercent {
		t.Errorf("tuneRuntime = %d, want %d", got, gcPercent)
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC percent in force %d, want %d", got, gcPercent)
	}
	// GOGC=80 in the environment: the runtime read it; it stays.
	env := func(k string) string {
		if k == "GOGC" {
			return "80"
		}
		return ""
	}
	debug.SetGCPercent(80)
	if got := tuneRuntime(env); got != 80 {
		t.Errorf("tuneRuntime with GOGC=80 = %d, want 80", got)
	}
	if got := debug.SetGCPercent(100); got != 80 {
		t.Errorf("GC percent in force %d with GOGC=80, want 80", got)
	}
}

// releaseStartupMemory waits for ready, and returns at once when the
// daemon stops first.
func TestReleaseStartupMemoryStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { releaseStartupMemory(ctx, make(chan struct{})); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("releaseStartupMemory did not return when ctx ended before ready")
	}
	ready := make(chan struct{})
	close(ready)
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { releaseStartupMemory(ctx, ready); close(done) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("releaseStartupMemory did not return when ctx ended while waiting")
	}
}
