package daemon

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
)

// mastersConf is n owners (priority 255: MASTER at once) on eth0 at
// advert_int 1.
func mastersConf(n int) string {
	var b strings.Builder
	for v := 1; v <= n; v++ {
		fmt.Fprintf(&b, "vrrp_instance VI_%d {\n state MASTER\n interface eth%d\n virtual_router_id %d\n priority 255\n advert_int 1\n version 3\n virtual_ipaddress {\n  10.%d.%d.1/32\n }\n}\n",
			v, v/250, v%250+1, v/250, v%250)
	}
	return b.String()
}

// BenchmarkLoopWake is one wake-up of the loop with n masters whose
// adverts fall due one at a time (phases spread over the interval, the
// worst case for the loop: a wake per advert): the deadline scan, the
// tick and the advert. ns/op × adverts a second is the loop's CPU.
func BenchmarkLoopWake(b *testing.B) {
	for _, n := range []int{255, 4000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			env := newFakeEnv()
			for i := 0; i <= n/250; i++ {
				env.addLink(fmt.Sprintf("eth%d", i), fmt.Sprintf("192.0.%d.1", i))
			}
			r := buildRig(&testing.T{}, env, mastersConf(n), Options{Log: zap.NewNop()})
			defer r.d.trackerStop()
			r.d.start(r.now)
			// Spread the phases: instance i's advert is due i ×
			// interval/n after instance 0's.
			first := r.now.Add(time.Second)
			for i, inst := range r.d.insts {
				if inst.router.State() != vrrp.Master {
					b.Fatalf("%s is %v", inst.cfg.Name, inst.router.State())
				}
				r.d.step(inst, first.Add(time.Duration(i)*time.Second/time.Duration(n)), vrrp.Tick{})
			}
			r.now = first.Add(time.Second)
			for _, p := range env.ports {
				p.sent = p.sent[:0:0]
			}
			b.ResetTimer()
			for range b.N {
				next := r.d.deadline(r.now)
				r.now = next
				r.d.handle(r.now, tick{})
			}
		})
	}
}
