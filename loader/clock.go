package loader

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xvrrp/xvrrp/bpf"
)

// kernelClock converts readings of the kernel's clock (bpf_ktime_get_ns:
// CLOCK_MONOTONIC of the initial time namespace) into time.Time.
//
// This process's CLOCK_MONOTONIC, which Go's time.Now() reads, is not
// necessarily that clock: inside a time namespace (unshare --time
// --monotonic=N) it runs N seconds ahead. So the pairing is measured
// against the kernel's clock itself, once, by running clock_probe: t0 is a
// time.Now() and k0 the kernel's reading of the same moment. A conversion
// is then one addition, no syscall, and gives the same Time for the same
// reading every time. Sub, Before and After against time.Now() are exact
// up to the calibration's error (half of one BPF_PROG_TEST_RUN, a few
// microseconds); the wall part drifts with later wall-clock adjustments
// (display only).
type kernelClock struct {
	t0 time.Time     // carries Go's monotonic reading
	k0 time.Duration // the kernel's clock at t0
}

// time converts a kernel clock reading.
func (c kernelClock) time(k time.Duration) time.Time { return c.t0.Add(k - c.k0) }

// calibrationTries is how many readings calibrate takes; the one taken in
// the shortest window wins.
const calibrationTries = 5

// calibrate pairs time.Now() with probe's reading of the kernel clock,
// taken between two time.Now() calls (the midpoint).
func calibrate(probe func() (time.Duration, error)) (kernelClock, error) {
	var best kernelClock
	bestWindow := time.Duration(-1)
	for range calibrationTries {
		before := time.Now()
		k, err := probe()
		after := time.Now()
		if err != nil {
			return kernelClock{}, err
		}
		if w := after.Sub(before); bestWindow < 0 || w < bestWindow {
			bestWindow = w
			best = kernelClock{t0: before.Add(w / 2), k0: k}
		}
	}
	return best, nil
}

// probeClock runs clock_probe once and returns its bpf_ktime_get_ns.
func probeClock(prog *ebpf.Program) (time.Duration, error) {
	var r bpf.VrrpClockReading
	if _, err := prog.Run(&ebpf.RunOptions{Context: r, ContextOut: &r}); err != nil {
		return 0, fmt.Errorf("run clock probe: %w", err)
	}
	if r.Ns == 0 {
		return 0, errors.New("run clock probe: no reading")
	}
	return time.Duration(r.Ns), nil
}
