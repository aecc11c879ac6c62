package bpf_test

import (
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// benchChunk is how many program runs one BPF_PROG_TEST_RUN call makes.
const benchChunk = 20000

// benchProg reports the program's own cost from BPF_PROG_TEST_RUN. b.N runs
// are made in chunks of benchChunk and ns/op is the cheapest chunk's mean:
// on a shared machine a chunk that was preempted (the kernel's timing
// includes the time away) would otherwise dominate the mean. mean-ns/op is
// the plain mean over all runs.
func benchProg(b *testing.B, prog *ebpf.Program, data []byte) {
	b.Helper()
	best, total := time.Duration(0), time.Duration(0)
	for left := b.N; left > 0; left -= benchChunk {
		n := min(left, benchChunk)
		_, d, err := prog.Benchmark(data, n, nil)
		if err != nil {
			b.Fatalf("benchmark: %v", err)
		}
		if best == 0 || d < best {
			best = d
		}
		total += d * time.Duration(n)
	}
	b.ReportMetric(float64(best.Nanoseconds()), "ns/op")
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "mean-ns/op")
}

func benchLoader(b *testing.B) (*loader.Loader, frame) {
	r := router(vrrp.V3, 20, false, time.Second, vip4a)
	l := newLoader(b, loader.Options{}, r.inst)
	return l, frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(b, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
}

// BenchmarkXDPNonVRRP: an IPv4 UDP packet, passed after one parse.
func BenchmarkXDPNonVRRP(b *testing.B) {
	l, f := benchLoader(b)
	xdp, _ := l.Programs()
	f.proto = 17
	benchProg(b, xdp, f.bytes())
}

// BenchmarkXDPValidAdvert: a valid v3 advert, recorded, no record written
// (steady state on a Backup).
func BenchmarkXDPValidAdvert(b *testing.B) {
	l, f := benchLoader(b)
	xdp, _ := l.Programs()
	benchProg(b, xdp, f.bytes())
}

// BenchmarkXDPValidAdvertWatched: the same with the silence watch on (as
// xvrrpd runs it): one more array lookup and flag test per advert.
func BenchmarkXDPValidAdvertWatched(b *testing.B) {
	r := router(vrrp.V3, 20, false, time.Second, vip4a)
	l := newLoader(b, loader.Options{WatchSilence: true}, r.inst)
	xdp, _ := l.Programs()
	f := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(b, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	benchProg(b, xdp, f.bytes())
}

// BenchmarkXDPValidAdvertV2Auth: VRRPv2 with a password and two VIPs.
func BenchmarkXDPValidAdvertV2Auth(b *testing.B) {
	l := newLoader(b, loader.Options{}, rV2.inst)
	xdp, _ := l.Programs()
	f := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(b, v2(10, 100, "secret", vip4a, vip4b), peer4, vrrp.GroupIPv4)}
	benchProg(b, xdp, f.bytes())
}

// BenchmarkXDPValidAdvertIPv6: a valid v3 advert over IPv6.
func BenchmarkXDPValidAdvertIPv6(b *testing.B) {
	l := newLoader(b, loader.Options{}, rV6.inst)
	xdp, _ := l.Programs()
	f := frame{src: peer6, dst: vrrp.GroupIPv6, ttl: 255, payload: advert(b, v3(30, 100, vip6a), peer6, vrrp.GroupIPv6)}
	benchProg(b, xdp, f.bytes())
}

// BenchmarkXDPBadChecksum: an invalid advert, dropped with a counter.
func BenchmarkXDPBadChecksum(b *testing.B) {
	l, f := benchLoader(b)
	xdp, _ := l.Programs()
	f.payload[7] ^= 1
	benchProg(b, xdp, f.bytes())
}

// BenchmarkXDPValidAdvertSampling: BenchmarkXDPValidAdvert with drop
// sampling on (Options.DropSamples): the valid path must cost the same.
func BenchmarkXDPValidAdvertSampling(b *testing.B) {
	r := router(vrrp.V3, 20, false, time.Second, vip4a)
	l := newLoader(b, loader.Options{DropSamples: loader.DefaultDropSamples}, r.inst)
	xdp, _ := l.Programs()
	f := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(b, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	benchProg(b, xdp, f.bytes())
}

// BenchmarkXDPBadChecksumSampled: a flood of invalid adverts with drop
// sampling on: past the first few, each costs a counter and an empty
// token bucket.
func BenchmarkXDPBadChecksumSampled(b *testing.B) {
	r := router(vrrp.V3, 20, false, time.Second, vip4a)
	l := newLoader(b, loader.Options{DropSamples: loader.DefaultDropSamples}, r.inst)
	xdp, _ := l.Programs()
	f := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(b, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	f.payload[7] ^= 1
	benchProg(b, xdp, f.bytes())
}

// BenchmarkXDPRateLimited: a flood from one source, over its rate.
func BenchmarkXDPRateLimited(b *testing.B) {
	r := router(vrrp.V3, 20, false, time.Second, vip4a)
	r.inst.RatePerInterval = 1
	l := newLoader(b, loader.Options{}, r.inst)
	xdp, _ := l.Programs()
	f := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(b, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	benchProg(b, xdp, f.bytes())
}

// BenchmarkTCValidAdvert: the same advert through the tc program.
func BenchmarkTCValidAdvert(b *testing.B) {
	l, f := benchLoader(b)
	_, tc := l.Programs()
	benchProg(b, tc, f.bytes())
}

// BenchmarkGoValidate: vrrp.Validate on the payload of the same advert, for
// the kernel/Go ratio (the socket path also pays the syscall and copy).
func BenchmarkGoValidate(b *testing.B) {
	_, f := benchLoader(b)
	e := router(vrrp.V3, 20, false, time.Second, vip4a).expect
	lookup := func(vrid uint8) *vrrp.Expect { return &e }
	var a vrrp.Advert
	b.ReportAllocs()
	for b.Loop() {
		var r vrrp.DropReason
		a, r = vrrp.Validate(f.payload, f.src, f.dst, f.ttl, lookup)
		if r != vrrp.DropNone {
			b.Fatal(r)
		}
	}
	_ = a
}
