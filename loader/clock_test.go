package loader

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// processMonotonic reads this process's CLOCK_MONOTONIC (the clock Go's
// time.Now() carries).
func processMonotonic(t *testing.T) time.Duration {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// TestKernelClockOffset: a kernel timestamp converts to the time.Time of
// the same moment whatever the offset between the kernel's clock and this
// process's CLOCK_MONOTONIC (a time namespace: unshare --time
// --monotonic=N puts the process's clock N seconds ahead of
// bpf_ktime_get_ns), identically on every call.
func TestKernelClockOffset(t *testing.T) {
	for _, off := range []time.Duration{0, 86400 * time.Second, -3 * time.Second} {
		// The simulated kernel clock: this process's minus the offset.
		kernel := func() (time.Duration, error) { return processMonotonic(t) - off, nil }
		c, err := calibrate(kernel)
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		k, _ := kernel()
		after := time.Now()
		got := c.time(k)
		const slack = 100 * time.Microsecond
		if got.Before(before.Add(-slack)) || got.After(after.Add(slack)) {
			t.Errorf("offset %v: converted now = %v from time.Now()", off, time.Since(got))
		}
		if again := c.time(k); !again.Equal(got) {
			t.Errorf("offset %v: not a function of its input: %v then %v", off, got, again)
		}
		if d := c.time(k + time.Second).Sub(got); d != time.Second {
			t.Errorf("offset %v: one second later converts %v later", off, d)
		}
	}
}

// TestCalibrateError: a failing probe fails the calibration.
func TestCalibrateError(t *testing.T) {
	want := errors.New("no probe")
	if _, err := calibrate(func() (time.Duration, error) { return 0, want }); !errors.Is(err, want) {
		t.Errorf("err %v, want %v", err, want)
	}
}
