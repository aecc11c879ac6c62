package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/xvrrp/xvrrp/internal/netnstest"
)

// TestMemoryMeasure measures the memory of a daemon running N VRRPv3
// masters (one VIP each, 172.16.x.y/32 on eth0), xvrrpd beside
// keepalived, for each N of XVRRP_BENCH_INSTANCES (default 1,50,255) at
// advert_int XVRRP_BENCH_INTERVAL (default 0.01). Once every VIP is on
// the interface (every instance MASTER) and 8 s have passed (xvrrpd
// returns its start-up memory to the system 5 s after it is ready), it samples
// Rss and Pss of /proc/PID/smaps_rollup, summed over the daemon's
// processes (keepalived's parent and VRRP child), 5 times 1 s apart, and
// prints the largest:
//
//	MEMORY daemon=xvrrpd dataplane=auto instances=255 interval=10ms rss_kb=9876 pss_kb=5432 threads=7 processes=1
//
// Environment: XVRRP_BENCH=1 (else it skips), XVRRP_BENCH_DAEMONS,
// XVRRP_BENCH_INSTANCES, XVRRP_BENCH_INTERVAL, XVRRP_BENCH_DATAPLANE.
//
//	XVRRP_BENCH=1 go test -count=1 -run '^TestMemoryMeasure$' -v ./e2e/
func TestMemoryMeasure(t *testing.T) {
	requireBench(t)
	counts := []int{1, 50, 255}
	if s := os.Getenv("XVRRP_BENCH_INSTANCES"); s != "" {
		counts = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 || n > 255 {
				t.Fatalf("XVRRP_BENCH_INSTANCES=%q: want numbers 1-255", s)
			}
			counts = append(counts, n)
		}
	}
	interval := "0.01"
	if s := os.Getenv("XVRRP_BENCH_INTERVAL"); s != "" {
		interval = s
	}
	l := newLAN(t, "r1")
	r1 := l.Node(t, "r1")
	dp := measureDataplane()
	var lines []string
	for _, n := range counts {
		for _, kind := range measureDaemons() {
			d := startMasters(t, r1, kind, n, interval, dp)
			time.Sleep(8 * time.Second)
			var rss, pss int
			for range 5 {
				r, p := memoryOf(t, d.pids())
				rss, pss = max(rss, r), max(pss, p)
				time.Sleep(time.Second)
			}
			line := fmt.Sprintf("MEMORY daemon=%s dataplane=%s instances=%d interval=%ss rss_kb=%d pss_kb=%d threads=%d processes=%d",
				kind, dataplaneOf(kind, dp), n, interval, rss, pss, threadsOf(d.pids()), len(d.pids()))
			t.Log(line)
			lines = append(lines, line)
			d.stop()
		}
	}
	fmt.Println(strings.Join(lines, "\n"))
}

// masterVIP is the VIP of virtual router vrid in the scale measurements.
func masterVIP(vrid int) netip.Addr { return netip.AddrFrom4([4]byte{172, 16, byte(vrid), 1}) }

// startMasters starts kind on node with n VRRPv3 instances, VRIDs 1..n,
// state MASTER priority 150 at advert_int interval, and waits (at most
// 60 s) until every VIP is on the node's eth0.
func startMasters(t *testing.T, node *netnstest.Node, kind string, n int, interval, dp string) *timedDaemon {
	t.Helper()
	var insts []vrrpInstance
	for v := 1; v <= n; v++ {
		insts = append(insts, vrrpInstance{State: "MASTER", VRID: v, Priority: 150, AdvertInt: interval, Version: 3,
			VIPs: []string{masterVIP(v).String() + "/32"}})
	}
	var extra []string
	if kind == "xvrrpd" {
		extra = []string{"--dataplane", dp}
	}
	d := startTimed(t, node.NS, kind, keepalivedConf("r1", nil, insts...), extra...)
	d.waitChild(t, 10*time.Second)
	waitFor(t, 60*time.Second, fmt.Sprintf("%s: %d masters holding their VIPs", kind, n), func() bool {
		return vipsHeld(t, node.NS, n) == n
	})
	return d
}

// vipsHeld counts the masters' VIPs (masterVIP(1..n)) on ns's eth0.
func vipsHeld(t testing.TB, ns *netnstest.NS, n int) int {
	t.Helper()
	link, err := ns.Handle().LinkByName(ifName)
	if err != nil {
		t.Fatalf("find %s: %v", ifName, err)
	}
	addrs, err := ns.Handle().AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		t.Fatalf("addresses of %s: %v", ifName, err)
	}
	held := 0
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.IP)
		ip = ip.Unmap()
		for v := 1; v <= n; v++ {
			if ip == masterVIP(v) {
				held++
				break
			}
		}
	}
	return held
}
