package e2e

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/floodgen"
	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp"
)

// TestBenchFlood is the flood scenario of the benchmark report (make
// bench): TestFlood's pair (MASTER 101 / BACKUP 100, VRRPv2, PASS,
// advert_int 1) and generator (internal/floodgen, XDP live frames, as fast
// as the machine goes), run by keepalived 2.2.7 and by xvrrpd (XDP; more
// with XVRRP_BENCH_FLOOD_DAEMONS=keepalived,xdp,socket). Floods, each at the
// master and at the backup:
//
//   - junk: TestFlood's malformed protocol-112 packets;
//   - forged-lower: a valid advert at priority 50 from a spoofed source;
//   - forged-higher: a valid advert at priority 254 from a spoofed source
//     that is not a unicast peer, sent to the target's own address. This
//     one runs on a unicast pair (unicast_src_ip, unicast_peer) with
//     vrrp_check_unicast_src, the configuration that tells a peer from a
//     stranger: in multicast mode any source with the password is a peer
//     and the protocol obliges both daemons to yield.
//
// Per flood it prints
//
//	BENCH scenario=flood impl=… kind=… target=… run=… pps=… cpu=… cpu_other=… sent_pps=… sent_pps_before=… dual_ms=… vip_lost_ms=… transitions=… log_lines=…
//
// cpu, cpu_other: the flooded and the other daemon's CPU (schedstat, all
// processes and threads), % of one core; sent_pps: packets both routers
// sent per second during the flood (adverts, answers, ARP), and in the
// quiet window before it; drain_ms: how long after the flood the pair
// went on sending more than its adverts; recover_ms: until the master
// alone held the VIP again (the next flood starts after both); dual_ms / vip_lost_ms: VIP on both nodes /
// missing on the master, sampled every 10 ms; transitions: state changes
// of both daemons; log_lines: lines both logged during the flood.
// It asserts nothing but that the floods ran.
func TestBenchFlood(t *testing.T) {
	benchOnly(t)
	testenv.RequireCommand(t, "keepalived")
	daemons := benchList("XVRRP_BENCH_FLOOD_DAEMONS", []string{"keepalived", "xdp"})
	reps := benchReps(t, 3, 1)
	d := benchPick(3*time.Second, 2*time.Second)
	quiet := benchPick(2*time.Second, time.Second)
	for _, dm := range daemons {
		t.Run(dm+"/multicast", func(t *testing.T) {
			p := startBenchFloodPair(t, dm, false)
			for i := range reps {
				for _, kind := range []string{"junk", "forged-lower"} {
					for _, target := range []string{"master", "backup"} {
						fk := kind
						if kind == "forged-lower" {
							fk = "forged"
						}
						frames := p.floodFrames(fk, p.node(target).Link.HardwareAddr)
						r := p.benchFlood(frames, target, quiet, d)
						t.Log(r.line(dm, kind, target, i+1))
					}
				}
			}
		})
		t.Run(dm+"/unicast", func(t *testing.T) {
			p := startBenchFloodPair(t, dm, true)
			for i := range reps {
				for _, target := range []string{"master", "backup"} {
					r := p.benchFlood(p.forgedHigherFrames(p.node(target)), target, quiet, d)
					t.Log(r.line(dm, "forged-higher", target, i+1))
				}
			}
		})
	}
}

// benchDrainMax bounds the wait for a pair to go quiet after a flood.
const benchDrainMax = 20 * time.Second

// benchForgeHighPrio is the priority of the forged-higher flood.
const benchForgeHighPrio = 254

// startBenchFloodPair is startFloodPair with the daemons' logs at info
// (xvrrpd's per-packet debug lines are not what runs in production) and,
// with unicast, the pair configured as unicast peers of each other with
// vrrp_check_unicast_src.
func startBenchFloodPair(t *testing.T, daemon string, unicast bool) *floodPair {
	t.Helper()
	return startFloodPairWith(t, daemon, unicast, "--log-level", "info")
}

// forgedHigherFrames is one valid VRRPv2 advert (password right) at
// benchForgeHighPrio for the pair's VIP, from the spoofed floodForgeHost
// (not a unicast peer) to dst's own address and MAC.
func (p *floodPair) forgedHigherFrames(dst *netnstest.Node) [][]byte {
	src := p.l.host4(floodForgeHost)
	a := vrrp.Advert{Version: vrrp.V2, VRID: floodVRID, Priority: benchForgeHighPrio, Interval: time.Second,
		AuthType: vrrp.AuthPass, Addrs: []netip.Addr{p.vip}}
	copy(a.AuthData[:], "e2e-pass")
	pay, err := a.Marshal(src, dst.Addr4())
	if err != nil {
		p.t.Fatalf("marshal forged advert: %v", err)
	}
	f := frameV4(p.gen.Link.HardwareAddr, src, dst.Addr4(), 255, pay)
	copy(f[0:6], dst.Link.HardwareAddr)
	return [][]byte{f}
}

// routers are the pair as kaRouters (for the bench helpers).
func (p *floodPair) routers() (r1, r2 *kaRouter) {
	kind := "xvrrpd"
	if p.daemon == "keepalived" {
		kind = "keepalived"
	}
	return &kaRouter{t: p.t, kind: kind, node: p.n1, x: p.x1, k: p.k1},
		&kaRouter{t: p.t, kind: kind, node: p.n2, x: p.x2, k: p.k2}
}

// benchFloodResult is what one flood of TestBenchFlood did.
type benchFloodResult struct {
	pps, cpu, cpuOther, sent, sentBefore float64
	dual, vipLost, drain, recover, took  time.Duration
	transitions, logLines                int
}

func (r benchFloodResult) line(daemon, kind, target string, run int) string {
	impl := "xvrrpd-" + daemon
	if daemon == "keepalived" {
		impl = "keepalived"
	}
	return benchLine("flood", "impl", impl, "kind", kind, "target", target, "run", run,
		"pps", r.pps, "cpu", r.cpu, "cpu_other", r.cpuOther, "sent_pps", r.sent, "sent_pps_before", r.sentBefore,
		"dual_ms", r.dual, "vip_lost_ms", r.vipLost, "transitions", r.transitions, "log_lines", r.logLines,
		"drain_ms", r.drain, "recover_ms", r.recover, "flood_ms", r.took)
}

// benchFlood sends frames at the generator's full rate for d towards
// target ("master" or "backup") after a quiet window, and measures.
func (p *floodPair) benchFlood(frames [][]byte, target string, quiet, d time.Duration) benchFloodResult {
	t := p.t
	t.Helper()
	var r benchFloodResult
	r1, r2 := p.routers()
	tr, other := r1, r2
	if target == "backup" {
		tr, other = r2, r1
	}
	sent := func() uint64 {
		a, _ := linkCounts(t, p.n1.NS, ifName)
		b, _ := linkCounts(t, p.n2.NS, ifName)
		return a + b
	}
	s0, q0 := sent(), time.Now()
	time.Sleep(quiet)
	s1 := sent()
	r.sentBefore = float64(s1-s0) / time.Since(q0).Seconds()

	tr0 := benchTransitions(t, r1) + benchTransitions(t, r2)
	l0 := benchLogLines(benchLog(r1)) + benchLogLines(benchLog(r2))
	cnt0, err := p.counter.Count()
	if err != nil {
		t.Fatal(err)
	}
	c0, o0 := benchRunTime(t, benchRouterPids(tr)), benchRunTime(t, benchRouterPids(other))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			on1, on2 := vipHeld(p.n1.NS, ifName, p.vip), vipHeld(p.n2.NS, ifName, p.vip)
			now := time.Now()
			if on1 && on2 {
				r.dual += now.Sub(last)
			}
			if !on1 {
				r.vipLost += now.Sub(last)
			}
			last = now
		}
	}()
	f0 := time.Now()
	err = p.gen.Do(func() (err error) {
		_, err = p.tx.Flood(context.Background(), floodgen.Options{Frames: frames, Duration: d})
		return err
	})
	el := time.Since(f0)
	r.took = el
	c1, o1 := benchRunTime(t, benchRouterPids(tr)), benchRunTime(t, benchRouterPids(other))
	s2 := sent()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("flood: %v", err)
	}
	cnt1, err := p.counter.Count()
	if err != nil {
		t.Fatal(err)
	}
	r.pps = float64(cnt1-cnt0) / el.Seconds()
	r.cpu = 100 * (c1 - c0).Seconds() / el.Seconds()
	r.cpuOther = 100 * (o1 - o0).Seconds() / el.Seconds()
	r.sent = float64(s2-s1) / el.Seconds()
	r.transitions = benchTransitions(t, r1) + benchTransitions(t, r2) - tr0
	r.logLines = benchLogLines(benchLog(r1)) + benchLogLines(benchLog(r2)) - l0
	// After the flood: how long the pair goes on sending more than its
	// adverts (keepalived answers the forged adverts still queued in its
	// socket: until a 500 ms window with at most 2 packets) and how long
	// until the master alone holds the VIP again (a flood that moved it);
	// at most benchDrainMax. The next flood starts after both.
	end := time.Now()
	normal := func() bool { return vipHeld(p.n1.NS, ifName, p.vip) && !vipHeld(p.n2.NS, ifName, p.vip) }
	r.recover = -1
	for time.Since(end) < benchDrainMax {
		if r.recover < 0 && normal() {
			r.recover = time.Since(end)
		}
		a := sent()
		time.Sleep(500 * time.Millisecond)
		if r.drain == 0 && sent()-a <= 2 {
			r.drain = time.Since(end)
		}
		if r.drain > 0 && r.recover >= 0 {
			break
		}
	}
	if r.recover < 0 {
		t.Errorf("flood at the %s: the master did not hold the VIP alone again within %v", target, benchDrainMax)
	}
	if r.pps == 0 {
		t.Errorf("flood at the %s: no frame entered the LAN", target)
	}
	return r
}
