package bpf_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// testIfindex is the ingress ifindex of a BPF_PROG_TEST_RUN (loopback).
const testIfindex = 1

// XDP and tcx verdicts.
const (
	xdpDrop = 1
	xdpPass = 2
	tcxNext = 0xffffffff // -1
	tcxDrop = 2
)

// frame is a test packet: Ethernet (optionally one 802.1Q tag), IPv4 (with
// options) or IPv6, and a payload with IP protocol proto (112 unless set).
type frame struct {
	src, dst netip.Addr
	ttl      uint8
	vlan     bool
	ipOpts   []byte // IPv4 options, a multiple of 4 bytes
	proto    uint8
	fragOff  uint16 // IPv4 flags+offset field
	payload  []byte
	pad      int // link-layer padding after the IP packet
}

func (f frame) bytes() []byte {
	b := []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x02, 0, 0, 0, 0, 1}
	if f.vlan {
		b = append(b, 0x81, 0x00, 0x00, 0x64)
	}
	proto := f.proto
	if proto == 0 {
		proto = vrrp.IPProtocol
	}
	if f.src.Is4() {
		b = append(b, 0x08, 0x00)
		hl := 20 + len(f.ipOpts)
		h := make([]byte, hl)
		h[0] = 0x40 | byte(hl/4)
		h[1] = 0xc0
		binary.BigEndian.PutUint16(h[2:], uint16(hl+len(f.payload)))
		binary.BigEndian.PutUint16(h[6:], f.fragOff)
		h[8] = f.ttl
		h[9] = proto
		s, d := f.src.As4(), f.dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		copy(h[20:], f.ipOpts)
		binary.BigEndian.PutUint16(h[10:], ipChecksum(h))
		b = append(b, h...)
	} else {
		b = append(b, 0x86, 0xdd)
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(len(f.payload)))
		h[6] = proto
		h[7] = f.ttl
		s, d := f.src.As16(), f.dst.As16()
		copy(h[8:], s[:])
		copy(h[24:], d[:])
		b = append(b, h...)
	}
	b = append(b, f.payload...)
	return append(b, make([]byte, f.pad)...)
}

func ipChecksum(h []byte) uint16 {
	var acc uint32
	for i := 0; i+1 < len(h); i += 2 {
		acc += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// newLoader loads the programs (no attach, no pins) with insts configured.
func newLoader(t testing.TB, opts loader.Options, insts ...loader.Instance) *loader.Loader {
	t.Helper()
	testenv.RequireRoot(t)
	l, err := loader.Load(opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if err := l.SetInstances(insts); err != nil {
		t.Fatalf("set instances: %v", err)
	}
	return l
}

// runProg runs prog once on data and returns the verdict.
func runProg(t testing.TB, prog *ebpf.Program, data []byte) uint32 {
	t.Helper()
	ret, err := prog.Run(&ebpf.RunOptions{Data: data})
	if err != nil {
		t.Fatalf("run %s: %v", prog, err)
	}
	return ret
}

func stats(t testing.TB, l *loader.Loader) loader.Stats {
	t.Helper()
	s, err := l.Stats()
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	return s
}

// Addresses used by the tests.
var (
	peer4   = netip.MustParseAddr("192.0.2.1")
	peer4b  = netip.MustParseAddr("192.0.2.2")
	own4    = netip.MustParseAddr("192.0.2.9")
	vip4a   = netip.MustParseAddr("192.0.2.200")
	vip4b   = netip.MustParseAddr("192.0.2.201")
	peer6   = netip.MustParseAddr("fe80::1")
	peer6b  = netip.MustParseAddr("fe80::2")
	global6 = netip.MustParseAddr("2001:db8::1")
	vip6a   = netip.MustParseAddr("2001:db8::200")
	vip6b   = netip.MustParseAddr("2001:db8::201")
)

// instance and expect describe the same virtual router to the kernel and
// to the Go codec.
type testRouter struct {
	inst   loader.Instance
	expect vrrp.Expect
}

func router(version vrrp.Version, vrid uint8, ipv6 bool, interval time.Duration, vips ...netip.Addr) testRouter {
	own := own4
	if ipv6 {
		own = global6
	}
	return testRouter{
		inst: loader.Instance{Ifindex: testIfindex, VRID: vrid, IPv6: ipv6, Version: uint8(version),
			Interval: interval, VIPs: vips, OwnAddrs: []netip.Addr{own}, RatePerInterval: -1},
		expect: vrrp.Expect{Version: version, VRID: vrid, IPv6: ipv6, Interval: interval, VIPs: vips,
			OwnAddrs: []netip.Addr{own}},
	}
}

func (r testRouter) withAuth(pass string) testRouter {
	var d [8]byte
	copy(d[:], pass)
	r.inst.AuthType, r.inst.AuthData = 1, d
	r.expect.AuthType, r.expect.AuthData = vrrp.AuthPass, d
	return r
}

func (r testRouter) withPeers(check bool, peers ...netip.Addr) testRouter {
	r.inst.UnicastPeers, r.inst.CheckUnicastSrc = peers, check
	r.expect.UnicastPeers, r.expect.CheckUnicastSrc = peers, check
	return r
}

func (r testRouter) withSkip() testRouter {
	r.inst.SkipCheckAdvAddr, r.expect.SkipCheckAdvAddr = true, true
	return r
}

// advert marshals a for src→dst, failing the test on error.
func advert(t testing.TB, a vrrp.Advert, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := a.Marshal(src, dst)
	if err != nil {
		t.Fatalf("marshal %+v: %v", a, err)
	}
	return b
}
