package e2e

import (
	"fmt"
	"testing"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// TestBenchHealth is the failing-health-check scenario of the benchmark
// report (make bench): TestHealthFailoverKeepalived's pair (a weighted
// vrrp_script, weight -20, fall 2, rise 2, interval 1 s; VRRPv2 at 1 s,
// priorities 110/100) run as a keepalived pair and as an xvrrpd pair,
// several times. Each run prints the HEALTH-FAILOVER line (from the
// check's failure to the backup holding the VIP, and to the master's first
// advert at the lowered priority) and the HEALTH-FAILBACK line of
// healthFailoverPair.
func TestBenchHealth(t *testing.T) {
	benchOnly(t)
	testenv.RequireCommand(t, "keepalived")
	impls := benchList("XVRRP_BENCH_IMPLS", []string{"keepalived", "xvrrpd"})
	reps := benchReps(t, 3, 1)
	for _, impl := range impls {
		for i := range reps {
			t.Run(fmt.Sprintf("%s/%d", impl, i+1), func(t *testing.T) {
				healthFailoverPair(t, impl, impl)
			})
		}
	}
}
