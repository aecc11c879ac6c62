package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// Helpers of the side-by-side benchmark report (make bench, issue 12):
// every scenario of e2e/bench_*_test.go prints its measurements as
//
//	BENCH scenario=<name> impl=<keepalived|xvrrpd|...> run=<n> key=value ...
//
// lines, which internal/benchreport turns into docs/BENCHMARKS.md and its
// charts. Nothing here is asserted in make test: these tests skip unless
// XVRRP_BENCH=1.

// benchOnly skips the test unless XVRRP_BENCH=1 and it runs as root.
func benchOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("XVRRP_BENCH") != "1" {
		t.Skip("benchmark: set XVRRP_BENCH=1 (make bench or make bench-quick)")
	}
	testenv.RequireRoot(t)
}

// benchQuick reports whether this is make bench-quick (XVRRP_BENCH_QUICK=1):
// fewer repetitions, sizes and shorter windows.
func benchQuick() bool { return os.Getenv("XVRRP_BENCH_QUICK") == "1" }

// benchReps is the number of repetitions: XVRRP_BENCH_REPS when set, else
// full or, in quick mode, quick.
func benchReps(t *testing.T, full, quick int) int {
	t.Helper()
	if s := os.Getenv("XVRRP_BENCH_REPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 50 {
			t.Fatalf("XVRRP_BENCH_REPS=%q: want 1 to 50", s)
		}
		return n
	}
	if benchQuick() {
		return quick
	}
	return full
}

// benchPick returns full, or quick in quick mode.
func benchPick[T any](full, quick T) T {
	if benchQuick() {
		return quick
	}
	return full
}

// benchList is the comma-separated list in the environment variable env,
// or def.
func benchList(env string, def []string) []string {
	if s := os.Getenv(env); s != "" {
		return strings.Split(s, ",")
	}
	return def
}

// benchLine formats one BENCH line: scenario, then the key/value pairs in
// order. Strings holding spaces or quotes are quoted (strconv.Quote);
// floats get three significant decimals at most.
func benchLine(scenario string, kv ...any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "BENCH scenario=%s", scenario)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%s", kv[i], benchValue(kv[i+1]))
	}
	return b.String()
}

func benchValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" || strings.ContainsAny(x, " \t\"=") {
			return strconv.Quote(x)
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', 3, 64)
	case time.Duration:
		return strconv.FormatFloat(ms(x), 'f', 3, 64)
	default:
		return fmt.Sprint(x)
	}
}

// benchRouterPids are the processes of a router: xvrrpd's one, keepalived's
// parent and VRRP child.
func benchRouterPids(r *kaRouter) []int {
	if r.x != nil {
		return []int{r.x.Pid()}
	}
	return []int{r.k.pid, r.k.vrrpPid}
}

// benchRunTime is the CPU time of pids, every thread included
// (schedstat, ns resolution).
func benchRunTime(t testing.TB, pids []int) time.Duration {
	t.Helper()
	var sum time.Duration
	for _, p := range pids {
		sum += procRunTime(t, p)
	}
	return sum
}

// benchMemory is the resident set and the proportional set of pids, summed,
// in kB (/proc/PID/smaps_rollup). PSS counts a page shared by n processes
// as 1/n, so the sum over keepalived's two processes is what they cost
// together; RSS counts shared pages in each.
func benchMemory(t testing.TB, pids []int) (rssKB, pssKB int) {
	t.Helper()
	for _, p := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		if err != nil {
			t.Fatalf("memory of %d: %v", p, err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 2 {
				continue
			}
			n, err := strconv.Atoi(fs[1])
			if err != nil {
				continue
			}
			switch fs[0] {
			case "Rss:":
				rssKB += n
			case "Pss:":
				pssKB += n
			}
		}
		f.Close()
	}
	return rssKB, pssKB
}

// benchLog is everything the router has logged so far.
func benchLog(r *kaRouter) string {
	if r.x != nil {
		return r.x.LogText()
	}
	return r.k.Log()
}

// benchLogLines counts the lines of a log text.
func benchLogLines(s string) int { return strings.Count(s, "\n") }

// benchTransitions counts the state transitions a router logged:
// keepalived's "Entering … STATE" lines, xvrrpd's counter.
func benchTransitions(t testing.TB, r *kaRouter) int {
	t.Helper()
	if r.x != nil {
		if r.x.Exited() {
			return 0
		}
		return int(r.x.Status(t).Transitions)
	}
	n := 0
	for _, s := range []string{"Entering MASTER STATE", "Entering BACKUP STATE", "Entering FAULT STATE"} {
		n += strings.Count(r.k.Log(), s)
	}
	return n
}

// benchFailReason is the last fault or error the router logged, for the
// line of a run that failed.
func benchFailReason(r *kaRouter) string {
	if r == nil || (r.x == nil && r.k == nil) {
		return "not started"
	}
	lines := strings.Split(benchLog(r), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if _, f, ok := strings.Cut(l, `"fault": "`); ok {
			l, _, _ = strings.Cut(f, `"`)
		} else if !strings.Contains(strings.ToLower(l), "error") && !strings.Contains(l, "fatal") {
			continue
		}
		if len(l) > 160 {
			l = l[:160]
		}
		return strings.TrimSpace(l)
	}
	return "see the test log"
}
