package bpf_test

import (
	"net/netip"
	"testing"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// Source and destination tables of FuzzKernelVsGo: sel bit 7 picks IPv6,
// bits 0-2 the source, bits 3-4 the destination.
var (
	fuzzSrc4 = []netip.Addr{peer4, peer4b, own4, netip.MustParseAddr("198.51.100.1")}
	fuzzDst4 = []netip.Addr{vrrp.GroupIPv4, own4}
	fuzzSrc6 = []netip.Addr{peer6, peer6b, global6, netip.MustParseAddr("2001:db8::5"),
		netip.MustParseAddr("2001:db8::7"), netip.MustParseAddr("::ffff:192.0.2.1")}
	fuzzDst6 = []netip.Addr{vrrp.GroupIPv6, global6}
)

func fuzzAddrs(sel uint8) (src, dst netip.Addr) {
	if sel&0x80 != 0 {
		return fuzzSrc6[int(sel&7)%len(fuzzSrc6)], fuzzDst6[int(sel>>3&3)%len(fuzzDst6)]
	}
	return fuzzSrc4[int(sel&7)%len(fuzzSrc4)], fuzzDst4[int(sel>>3&3)%len(fuzzDst4)]
}

func fuzzSel(src, dst netip.Addr) (uint8, bool) {
	srcs, dsts, sel := fuzzSrc4, fuzzDst4, uint8(0)
	if src.Is6() {
		srcs, dsts, sel = fuzzSrc6, fuzzDst6, 0x80
	}
	for i, s := range srcs {
		for j, d := range dsts {
			if s == src && d == dst {
				return sel | uint8(i) | uint8(j)<<3, true
			}
		}
	}
	return 0, false
}

// FuzzKernelVsGo feeds the same packet to vrrp.Validate and to the XDP
// program: they must agree on accept or drop, and on the reason.
//
// Known, deliberate difference (never generated here): an IPv6 packet whose
// source and destination are both IPv4-mapped; the Go codec unmaps both and
// treats it as IPv4, the kernel drops it as bad_family.
func FuzzKernelVsGo(f *testing.F) {
	for _, c := range reasonCases(f) {
		if sel, ok := fuzzSel(c.f.src, c.f.dst); ok {
			f.Add(c.f.payload, c.f.ttl, sel)
		}
	}
	for _, a := range []vrrp.Advert{
		v2(10, 255, "secret", vip4a, vip4b), v3(20, 1, vip4a), v3(60, 100, vip4b, vip4a), v2(10, 100, "", vip4a),
	} {
		f.Add(advert(f, a, peer4, vrrp.GroupIPv4), uint8(255), uint8(0))
	}
	f.Add(advert(f, v3(30, 100, vip6a), peer6, vrrp.GroupIPv6), uint8(255), uint8(0x80))
	f.Add(advert(f, v3(70, 100, vip6b), global6, vrrp.GroupIPv6), uint8(3), uint8(0x82))

	l := newLoader(f, loader.Options{PassValid: true}, instances(routers)...)
	xdp, _ := l.Programs()
	f.Fuzz(func(t *testing.T, payload []byte, ttl, sel uint8) {
		if len(payload) > 4200 {
			payload = payload[:4200]
		}
		src, dst := fuzzAddrs(sel)
		fr := frame{src: src, dst: dst, ttl: ttl, payload: payload}
		want := goValidate(routers, fr)

		before := stats(t, l)
		v := runProg(t, xdp, fr.bytes())
		after := stats(t, l)
		got, moved := vrrp.DropReason(255), 0
		for r := range after.Drops {
			if after.Drops[r] != before.Drops[r] {
				got, moved = vrrp.DropReason(r), moved+1
			}
		}
		if moved != 1 || after.NotVRRP != before.NotVRRP || after.PassedIP != before.PassedIP {
			t.Fatalf("%d drop counters moved (not_vrrp %d→%d, passed_ip %d→%d)", moved,
				before.NotVRRP, after.NotVRRP, before.PassedIP, after.PassedIP)
		}
		if got != want {
			t.Fatalf("kernel %v, go %v (src %v dst %v ttl %d payload %x)", got, want, src, dst, ttl, payload)
		}
		if wantV := map[bool]uint32{true: xdpPass, false: xdpDrop}[want == vrrp.DropNone]; v != wantV {
			t.Fatalf("verdict %d for %v", v, want)
		}
	})
}
