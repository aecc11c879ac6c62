package bpf_test

import (
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// benchProg reports the program's own ns/op from BPF_PROG_TEST_RUN.
func benchProg(b *testing.B, prog *ebpf.Program, data []byte) {
	b.Helper()
	ret, d, err := prog.Benchmark(data, b.N, nil)
	if err != nil {
		b.Fatalf("benchmark: %v", err)
	}
	_ = ret
	b.ReportMetric(float64(d.Nanoseconds()), "ns/op")
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
