package loader

import (
	"testing"
	"time"
)

// TestWallClock: a kernel timestamp (CLOCK_MONOTONIC, bpf_ktime_get_ns)
// converts to the time.Time of the same moment, identically on every call.
func TestWallClock(t *testing.T) {
	before := time.Now()
	m := monotonic()
	after := time.Now()
	got := wallClock(m)
	if got.Before(before.Add(-50*time.Microsecond)) || got.After(after.Add(50*time.Microsecond)) {
		t.Errorf("wallClock(now) = %v, want between %v and %v", got, before, after)
	}
	if again := wallClock(m); !again.Equal(got) {
		t.Errorf("wallClock is not a function of its input: %v then %v", got, again)
	}
	if d := wallClock(m + time.Second).Sub(got); d != time.Second {
		t.Errorf("one second later converts %v later", d)
	}
}
