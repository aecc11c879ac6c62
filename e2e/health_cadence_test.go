package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// healthSleepArg is the argument of the hanging script's sleep: unusual
// enough to find its processes in /proc.
const healthSleepArg = "987.654"

// countSleepers returns how many processes run "sleep healthSleepArg".
func countSleepers(t testing.TB) int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatalf("list processes: %v", err)
	}
	want := []byte("sleep\x00" + healthSleepArg + "\x00")
	n := 0
	for _, p := range dirs {
		if b, err := os.ReadFile(p); err == nil && bytes.HasSuffix(b, want) && bytes.Contains(b, []byte("sleep")) {
			n++
		}
	}
	return n
}

// TestHealthScriptsDoNotDisturbAdverts runs, on a VRRPv3 master at
// advert_int 0.1, a vrrp_script that hangs (timeout 1 s) and one that
// prints megabytes and fails, both every second (keepalived 2.2.7's
// shortest script interval, and xvrrpd's). Their small weights keep
// the master above the backup. Seen from a third node, the master's
// adverts keep their cadence (3 s: 30 ± 20 %, no gap over two intervals
// unless the machine itself stalled), it stays master, the hung scripts are
// killed and its log stays small.
// Reference: RFC 5798 §6.4.3 (a master sends an advertisement every
// Advertisement_Interval).
func TestHealthScriptsDoNotDisturbAdverts(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	vip := l.VIP4(1)
	const adv = 100 * time.Millisecond
	dir := t.TempDir()
	sleeper, noisy := filepath.Join(dir, "hang.sh"), filepath.Join(dir, "noisy.sh")
	writeHealthScript(t, sleeper, "exec sleep "+healthSleepArg+"\n")
	writeHealthScript(t, noisy, "yes 'a line of noise from a health check' | head -c 4000000\nexit 1\n")
	scripts := []string{
		healthScriptConf(healthScript{Name: "chk_hang", Script: sleeper, Interval: "1", Timeout: "1", Weight: -5}),
		healthScriptConf(healthScript{Name: "chk_noisy", Script: noisy, Interval: "1", Weight: -5}),
	}
	m := vrrpInstance{Name: "VI_1", State: "MASTER", VRID: 51, Priority: 120, AdvertInt: "0.1", Version: 3,
		VIPs: []string{vip.String() + "/24"}, Extra: healthTrackScript("chk_hang", "chk_noisy")}
	b := vrrpInstance{Name: "VI_1", State: "BACKUP", VRID: 51, Priority: 100, AdvertInt: "0.1", Version: 3,
		VIPs: []string{vip.String() + "/24"}}
	sn := healthObserve(t, l)
	stalls := watchStalls(t)
	r1 := startXvrrpd(t, n1.NS, "r1", healthConf("r1", nil, scripts, m))
	r2 := startXvrrpd(t, n2.NS, "r2", keepalivedConf("r2", nil, b))
	// Both scripts fail: 120 - 5 - 5.
	waitFor(t, 5*time.Second, "r1 MASTER at priority 110 with the VIP, r2 BACKUP", func() bool {
		return r1.State("VI_1") == "MASTER" && r1.Instance(t, "VI_1").Priority == 110 &&
			r2.State("VI_1") == "BACKUP" && hasVIP(t, n1.NS, ifName, vip)
	})

	const window = 3 * time.Second
	from := time.Now()
	holdFor(t, window, "r1 MASTER with the VIP alone", func() bool {
		return r1.State("VI_1") == "MASTER" && hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
	})
	to := time.Now()
	time.Sleep(50 * time.Millisecond) // the last adverts of the window
	seen := sn.All(from, func(s kaSeen) bool { return s.Src == n1.Addr4() && !s.At.After(to) })
	want := int(window / adv)
	var maxGap time.Duration
	var gapAt time.Time
	prev := from
	for _, s := range seen {
		if s.Prio != 110 {
			t.Errorf("advert at %v with priority %d, want 110", s.At.Sub(from), s.Prio)
		}
		if g := s.At.Sub(prev); g > maxGap {
			maxGap, gapAt = g, prev
		}
		prev = s.At
	}
	t.Logf("adverts from the master in %v: %d (want %d ± 20%%), longest gap %v", window, len(seen), want, maxGap.Round(time.Millisecond))
	if st := stalls.Max(from, to); st > 0 {
		t.Logf("the machine stalled for %v during the window: cadence bounds not counted", st.Round(time.Millisecond))
	} else {
		if len(seen) < want*8/10 || len(seen) > want*12/10 {
			t.Errorf("%d adverts from the master in %v, want %d ± 20%%", len(seen), window, want)
		}
		if maxGap > 2*adv {
			t.Errorf("gap of %v between the master's adverts (after %v), want ≤ %v", maxGap, gapAt.Sub(from), 2*adv)
		}
	}

	// A hung run is killed at its timeout: at most the current one (and one
	// being reaped) is alive.
	n := countSleepers(t)
	t.Logf("hung check scripts alive: %d", n)
	if n > 2 {
		t.Errorf("%d hung check scripts alive, want ≤ 2 (timed-out runs are killed)", n)
	}
	st, err := os.Stat(r1.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("master's log (debug level) after %v of failing scripts: %d bytes", time.Since(from).Round(time.Second), st.Size())
	if st.Size() > 200<<10 {
		t.Errorf("master's log is %d bytes: flooded by script failures or output", st.Size())
	}
}
