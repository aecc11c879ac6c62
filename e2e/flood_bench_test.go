package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// TestFloodCompare is the flood comparison of docs/BENCHMARKS.md ("Flood"):
// the floods of TestFlood against xvrrpd on the XDP and on the socket
// dataplane and against a keepalived pair, at a fixed 100 kpps (the rate
// of the report that started this) and at the generator's full rate. It
// prints one FLOOD line per run and a table. It is a benchmark: it runs
// only with XVRRP_BENCH=1 (make bench) and asserts nothing but that the
// floods ran.
func TestFloodCompare(t *testing.T) {
	if os.Getenv("XVRRP_BENCH") != "1" {
		t.Skip("benchmark: set XVRRP_BENCH=1 (make bench)")
	}
	testenv.RequireRoot(t)
	daemons := []string{"xdp", "socket", "keepalived"}
	if s := os.Getenv("XVRRP_BENCH_DAEMONS"); s != "" {
		daemons = strings.Split(s, ",")
	}
	type run struct {
		kind, target string
		pps          int
	}
	runs := []run{
		{"forged", "master", 100_000}, {"junk", "master", 100_000},
		{"forged", "master", 0}, {"junk", "master", 0},
		{"forged", "backup", 0}, {"junk", "backup", 0},
	}
	var results []floodResult
	for _, d := range daemons {
		t.Run(d, func(t *testing.T) {
			p := startFloodPair(t, d)
			for _, r := range runs {
				res := p.flood(r.kind, r.target, r.pps, floodDuration)
				t.Log(res.line())
				if res.pps < float64(min(r.pps, 50_000))*0.8 || res.pps == 0 {
					t.Errorf("%s %s at %s: only %.0f pps entered the LAN", d, r.kind, r.target, res.pps)
				}
				results = append(results, res)
			}
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| daemon | flood | target | offered pps | delivered pps | daemon CPU %% | other CPU %% | dual master ms | VIP lost ms | master pkts/s before | master pkts/s during | transitions |\n")
	fmt.Fprintf(&b, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		tr := "-"
		if r.daemon != "keepalived" {
			tr = fmt.Sprint(r.transitions)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.0f | %.2f | %.2f | %d | %d | %.2f | %.2f | %s |\n",
			r.daemon, r.kind, r.target, r.pps, r.delivered, r.cpu, r.cpuOther,
			r.dual.Milliseconds(), r.vipLost.Milliseconds(), r.baseRate, r.rate, tr)
	}
	t.Log(b.String())
}
