package main

import (
	"context"
	"runtime/debug"
	"time"
)

// The Go runtime's defaults suit a program whose heap grows with its
// work; xvrrpd's live heap is small and steady (about 3.5 MB for 255
// instances) and its steady state allocates little, so a daemon is
// better served by a heap that stays close to what is live.
const (
	// gcPercent is GOGC's default here: Go's own, 100. 25 held 255
	// instances in 11 MB instead of 19 MB, but the collections it made
	// (the socket dataplane allocates per advert) delayed the loop of a
	// backup of 255 instances at advert_int 0.05 past its
	// Master_Down_Interval on a 2-CPU machine: it took over again and
	// again (e2e TestReload255 on the socket dataplane). Memory is not
	// worth a second master.
	gcPercent = 100
	// releaseAfter is how long after the start the memory the start-up
	// used (configuration, netlink dumps, the BPF load, one burst of
	// transitions) is given back to the system at once, instead of over
	// minutes by the background scavenger.
	releaseAfter = 5 * time.Second
)

// tuneRuntime applies gcPercent unless GOGC is set in the environment
// (the operator's choice wins). It returns the percentage in force.
func tuneRuntime(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(gcPercent)
	return gcPercent
}

// releaseStartupMemory returns the start-up's freed memory to the system
// releaseAfter after ready is closed (the daemon runs every instance),
// unless ctx ends first.
func releaseStartupMemory(ctx context.Context, ready <-chan struct{}) {
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	t := time.NewTimer(releaseAfter)
	defer t.Stop()
	select {
	case <-t.C:
		debug.FreeOSMemory()
	case <-ctx.Done():
	}
}
