package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// TestStartupMeasure measures how fast a daemon of one instance is up,
// xvrrpd beside keepalived, in the same topology (a bridge, the daemon's
// node, a peer node), XVRRP_BENCH_RUNS runs each (default 5), launched
// from a thread in the daemon's namespace (no ip netns exec: the launch is
// the fork of the daemon itself). Three times from the launch:
//
//   - ready_ms: xvrrpd's READY=1 on NOTIFY_SOCKET (every instance bound,
//     the receive path in place); keepalived's "Startup complete" line,
//     which it logs just before its READY=1 (sent only to a systemd
//     parent), once its VRRP process has read the configuration and
//     before it opens its sockets;
//   - sent_ms: the first advert on the wire (captured on the daemon's
//     bridge port, kernel timestamps) of an address owner (priority 255:
//     MASTER at once, RFC 5798 §6.4.1);
//   - rx_ms: the first advert the daemon received. A peer sends a
//     priority-0 advert every 2 ms from before the launch; a Backup of
//     priority 254 that receives one becomes Master after Skew_Time
//     (RFC 5798 §6.4.2: 0.78 ms at advert_int 0.1) and advertises at once,
//     so rx_ms is its first advert minus Skew_Time (without a priority-0
//     advert it would wait its Master_Down_Interval, 300.8 ms). The
//     same measure for both daemons, read on the wire.
//
// Output, one line per run and a median line per daemon:
//
//	STARTUP daemon=xvrrpd dataplane=auto run=1 ready_ms=12.3 sent_ms=13.0 rx_ms=14.1
//	STARTUP daemon=xvrrpd dataplane=auto median runs=5 ready_ms=... sent_ms=... rx_ms=...
//
// Environment: XVRRP_BENCH=1 (else it skips), XVRRP_BENCH_DAEMONS
// (xvrrpd,keepalived), XVRRP_BENCH_RUNS, XVRRP_BENCH_DATAPLANE (xvrrpd's
// --dataplane, default auto). Run it alone (it is CPU-timing sensitive):
//
//	XVRRP_BENCH=1 go test -count=1 -run '^TestStartupMeasure$' -v ./e2e/
func TestStartupMeasure(t *testing.T) {
	requireBench(t)
	runs := measureRuns(t, 5)
	l := newLAN(t, "r1", "peer")
	r1, peer := l.Node(t, "r1"), l.Node(t, "peer")
	vip := l.VIP4(1)
	const rxInterval = 100 * time.Millisecond
	rxSkew := time.Duration(256-254) * rxInterval / 256
	owner := vrrpInstance{State: "MASTER", VRID: 1, Priority: 255, AdvertInt: "1", Version: 3, VIPs: []string{vip.String() + "/24"}}
	backup := vrrpInstance{State: "BACKUP", VRID: 2, Priority: 254, AdvertInt: "0.1", Version: 3, VIPs: []string{l.VIP4(2).String() + "/24"}}

	// The peer's priority-0 adverts for VRID 2 (the Backup's VIPs, so
	// that both daemons accept them).
	a := vrrp.Advert{Version: vrrp.V3, VRID: 2, Priority: 0, Interval: rxInterval, Addrs: []netip.Addr{l.VIP4(2)}}
	p, err := a.Marshal(peer.Addr4(), vrrp.GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	frame := frameV4(peer.Link.HardwareAddr, peer.Addr4(), vrrp.GroupIPv4, 255, p)
	pc := openPacket(t, peer.NS, ifName, 0)

	fromR1 := func(s kaSeen) bool { return s.Src == r1.Addr4() && s.Prio != 0 }
	dp := measureDataplane()
	for _, kind := range measureDaemons() {
		var readys, sents, rxs []float64
		for run := 1; run <= runs; run++ {
			// What r1 sends (a capture lasts at most 2 minutes: one a run).
			sn := sniffVRRP(t, l.Bridge, r1.Link.BridgePort)
			var extra []string
			if kind == "xvrrpd" {
				extra = []string{"--dataplane", dp}
			}
			// The owner: launch → READY=1, launch → first advert.
			d := startTimed(t, r1.NS, kind, keepalivedConf("r1", nil, owner), extra...)
			ready := d.waitReady(t, 10*time.Second)
			s, ok := sn.Await(d.launched, fromR1, 5*time.Second)
			if !ok {
				t.Fatalf("%s run %d: the owner sent no advert within 5 s", kind, run)
			}
			d.stop()

			// The Backup: launch → first advert received.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				tick := time.NewTicker(2 * time.Millisecond)
				defer tick.Stop()
				end := time.After(15 * time.Second)
				for {
					select {
					case <-stop:
						return
					case <-end:
						return
					case <-tick.C:
						_ = pc.Send(frame)
					}
				}
			})
			time.Sleep(10 * time.Millisecond)
			b := startTimed(t, r1.NS, kind, keepalivedConf("r1", nil, backup), extra...)
			rx, ok := sn.Await(b.launched, fromR1, 5*time.Second)
			close(stop)
			wg.Wait()
			if !ok {
				t.Fatalf("%s run %d: the Backup did not take over within 5 s", kind, run)
			}
			b.stop()
			if os.Getenv("XVRRP_BENCH_DEBUG") != "" {
				t.Logf("launched %s rx %s\n%s", b.launched.Format("15:04:05.000000"), rx.At.Format("15:04:05.000000"), b.out.String())
			}

			readyMS, sentMS := ms(ready.Sub(d.launched)), ms(s.At.Sub(d.launched))
			rxMS := ms(rx.At.Sub(b.launched) - rxSkew)
			readys, sents, rxs = append(readys, readyMS), append(sents, sentMS), append(rxs, rxMS)
			t.Logf("STARTUP daemon=%s dataplane=%s run=%d ready_ms=%.1f sent_ms=%.1f rx_ms=%.1f",
				kind, dataplaneOf(kind, dp), run, readyMS, sentMS, rxMS)
		}
		line := fmt.Sprintf("STARTUP daemon=%s dataplane=%s median runs=%d ready_ms=%.1f sent_ms=%.1f rx_ms=%.1f",
			kind, dataplaneOf(kind, dp), runs, median(readys), median(sents), median(rxs))
		t.Log(line)
		fmt.Println(line)
	}
}

// dataplaneOf names the dataplane a measured daemon ran: xvrrpd's
// --dataplane, keepalived's socket.
func dataplaneOf(kind, dp string) string {
	if kind == "xvrrpd" {
		return dp
	}
	return "socket"
}
