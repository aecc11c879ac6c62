package vrrp

import (
	"testing"
	"time"
)

// Reference: RFC 3768 §6.1, RFC 5798 §6.1, RFC 9568 §6.1.
func TestSkewTimeAndMasterDownInterval(t *testing.T) {
	tests := []struct {
		name     string
		v        Version
		prio     uint8
		interval time.Duration
		skew     time.Duration
		down     time.Duration
	}{
		// v2: Skew_Time = (256-Priority)/256 s, independent of the interval.
		{"v2 prio 100 int 1s", V2, 100, time.Second, 609375 * time.Microsecond, 3*time.Second + 609375*time.Microsecond},
		{"v2 prio 100 int 5s", V2, 100, 5 * time.Second, 609375 * time.Microsecond, 15*time.Second + 609375*time.Microsecond},
		{"v2 prio 255", V2, 255, time.Second, 3906250 * time.Nanosecond, 3*time.Second + 3906250*time.Nanosecond},
		{"v2 prio 1", V2, 1, time.Second, 996093750 * time.Nanosecond, 3*time.Second + 996093750*time.Nanosecond},
		{"v2 prio 0", V2, 0, time.Second, time.Second, 4 * time.Second},
		// v3: Skew_Time = ((256-Priority)*Master_Adver_Interval)/256.
		{"v3 prio 100 int 1s", V3, 100, time.Second, 609375 * time.Microsecond, 3*time.Second + 609375*time.Microsecond},
		{"v3 prio 100 int 100ms", V3, 100, 100 * time.Millisecond, 60937500 * time.Nanosecond, 300*time.Millisecond + 60937500*time.Nanosecond},
		{"v3 prio 200 int 10ms", V3, 200, 10 * time.Millisecond, 2187500 * time.Nanosecond, 30*time.Millisecond + 2187500*time.Nanosecond},
		{"v3 prio 255 int 40.95s", V3, 255, 40950 * time.Millisecond, 159960937 * time.Nanosecond, 3*40950*time.Millisecond + 159960937*time.Nanosecond},
		{"v3 prio 1 int 2s", V3, 1, 2 * time.Second, 1992187500 * time.Nanosecond, 6*time.Second + 1992187500*time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SkewTime(tt.v, tt.prio, tt.interval); got != tt.skew {
				t.Errorf("SkewTime = %v, want %v", got, tt.skew)
			}
			if got := MasterDownInterval(tt.v, tt.prio, tt.interval); got != tt.down {
				t.Errorf("MasterDownInterval = %v, want %v", got, tt.down)
			}
		})
	}
}

// Reference: RFC 5798 §6.1 — a higher priority gives a shorter skew, so the
// best backup takes over first.
func TestSkewTimeMonotonic(t *testing.T) {
	for _, v := range []Version{V2, V3} {
		prev := SkewTime(v, 1, time.Second)
		for p := 2; p <= 255; p++ {
			s := SkewTime(v, uint8(p), time.Second)
			if s >= prev {
				t.Fatalf("v%d: SkewTime(prio %d) = %v, not below prio %d's %v", v, p, s, p-1, prev)
			}
			prev = s
		}
	}
}
