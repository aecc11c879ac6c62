package bpf_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// The virtual routers of the table tests, all on the test-run ifindex.
var (
	rV2     = router(vrrp.V2, 10, false, time.Second, vip4a, vip4b).withAuth("secret")
	rV3     = router(vrrp.V3, 20, false, time.Second, vip4a)
	rV6     = router(vrrp.V3, 30, true, time.Second, vip6a)
	rUni    = router(vrrp.V3, 40, false, time.Second, vip4a).withPeers(true, peer4)
	rSkip   = router(vrrp.V3, 60, false, time.Second, vip4a, vip4b).withSkip()
	rUni6   = router(vrrp.V3, 70, true, time.Second, vip6b).withPeers(false, peer6b)
	routers = []testRouter{rV2, rV3, rV6, rUni, rSkip, rUni6}
)

func instances(rs []testRouter) []loader.Instance {
	var out []loader.Instance
	for _, r := range rs {
		out = append(out, r.inst)
	}
	return out
}

// goValidate is the socket path's decision for the same packet.
func goValidate(rs []testRouter, f frame) vrrp.DropReason {
	_, reason := vrrp.Validate(f.payload, f.src, f.dst, f.ttl, func(vrid uint8) *vrrp.Expect {
		for i := range rs {
			if rs[i].expect.VRID == vrid && rs[i].expect.IPv6 == f.src.Is6() {
				return &rs[i].expect
			}
		}
		return nil
	})
	return reason
}

// refresh recomputes the checksum of a v3 (or, with zero addresses, v2)
// advert after a test patched it.
func refresh(b []byte, src, dst netip.Addr) []byte {
	b = append([]byte(nil), b...)
	b[6], b[7] = 0, 0
	binary.BigEndian.PutUint16(b[6:], vrrp.Checksum(b, src, dst))
	return b
}

func v3(vrid, prio uint8, addrs ...netip.Addr) vrrp.Advert {
	return vrrp.Advert{Version: vrrp.V3, VRID: vrid, Priority: prio, Interval: time.Second, Addrs: addrs}
}

func v2(vrid, prio uint8, pass string, addrs ...netip.Addr) vrrp.Advert {
	a := vrrp.Advert{Version: vrrp.V2, VRID: vrid, Priority: prio, Interval: time.Second, Addrs: addrs}
	if pass != "" {
		a.AuthType = vrrp.AuthPass
		copy(a.AuthData[:], pass)
	}
	return a
}

type reasonCase struct {
	name string
	f    frame
	want vrrp.DropReason
}

func reasonCases(t testing.TB) []reasonCase {
	g4, g6 := vrrp.GroupIPv4, vrrp.GroupIPv6
	m4 := func(a vrrp.Advert, src netip.Addr) frame {
		return frame{src: src, dst: g4, ttl: 255, payload: advert(t, a, src, g4)}
	}
	m6 := func(a vrrp.Advert, src netip.Addr) frame {
		return frame{src: src, dst: g6, ttl: 255, payload: advert(t, a, src, g6)}
	}
	patch := func(f frame, fn func(b []byte)) frame {
		f.payload = append([]byte(nil), f.payload...)
		fn(f.payload)
		return f
	}
	fix := func(f frame) frame { f.payload = refresh(f.payload, f.src, f.dst); return f }
	v2ok := m4(v2(10, 100, "secret", vip4b, vip4a), peer4)
	v3ok := m4(v3(20, 100, vip4a), peer4)

	cs := []reasonCase{
		// Reference: RFC 3768 §7.1 — a complete, valid VRRPv2 advert.
		{"v2 valid", v2ok, vrrp.DropNone},
		// Reference: RFC 5798 §7.1 — valid VRRPv3 over IPv4 and IPv6.
		{"v3 ipv4 valid", v3ok, vrrp.DropNone},
		{"v3 ipv6 valid", m6(v3(30, 100, vip6a), peer6), vrrp.DropNone},
		{"v3 ipv4 no pseudo-header (RFC 9568)", fix2(v3ok, netip.Addr{}, netip.Addr{}), vrrp.DropNone},
		{"v3 ipv4 unicast checksum with 224.0.0.18", func() frame {
			f := frame{src: peer4, dst: own4, ttl: 64, payload: advert(t, v3(40, 100, vip4a), peer4, g4)}
			return f
		}(), vrrp.DropNone},
		{"vlan tagged", func() frame { f := v3ok; f.vlan = true; return f }(), vrrp.DropNone},
		{"ipv4 options", func() frame { f := v2ok; f.ipOpts = []byte{0x94, 0x04, 0, 0, 1, 1, 1, 0}; return f }(), vrrp.DropNone},
		{"ethernet padding", func() frame { f := v3ok; f.pad = 20; return f }(), vrrp.DropNone},
		{"unicast ttl 64", func() frame { f := m4(v3(40, 100, vip4a), peer4); f.ttl = 64; return f }(), vrrp.DropNone},
		{"unicast ipv6 global source", func() frame {
			src := netip.MustParseAddr("2001:db8::7")
			return frame{src: src, dst: global6, ttl: 9, payload: advert(t, v3(70, 100, vip6b), src, global6)}
		}(), vrrp.DropNone},
		{"skip check adv addr", m4(v3(60, 100, vip4a, peer4b), peer4), vrrp.DropNone},

		// Reference: RFC 3768 §7.1 / RFC 5798 §7.1, in vrrp.Validate's order.
		{"truncated header", patch(v3ok, func(b []byte) {}), vrrp.DropTruncated},
		{"bad version", patch(v3ok, func(b []byte) { b[0] = 0x41 }), vrrp.DropBadVersion},
		{"bad type", patch(v3ok, func(b []byte) { b[0] = 0x32 }), vrrp.DropBadType},
		{"truncated by count", patch(v3ok, func(b []byte) { b[3] = 2 }), vrrp.DropTruncated},
		{"bad length", func() frame { f := v3ok; f.payload = append(append([]byte(nil), f.payload...), 0, 0, 0, 0); return f }(), vrrp.DropBadLength},
		{"bad interval", patch(v3ok, func(b []byte) { b[4], b[5] = 0xf0, 0 }), vrrp.DropBadInterval},
		{"bad checksum", patch(v3ok, func(b []byte) { b[7] ^= 1 }), vrrp.DropBadChecksum},
		{"v2 over ipv6", func() frame {
			p := advert(t, v2(10, 100, "secret", vip4a, vip4b), peer4, g4)
			return frame{src: peer6, dst: g6, ttl: 255, payload: p}
		}(), vrrp.DropBadFamily},
		{"ipv4-mapped source in ipv6", func() frame {
			src := netip.MustParseAddr("::ffff:192.0.2.1")
			return frame{src: src, dst: g6, ttl: 255, payload: advert(t, v3(30, 100, vip6a), peer6, g6)}
		}(), vrrp.DropBadFamily},
		{"vrid 0", fix(patch(v3ok, func(b []byte) { b[1] = 0 })), vrrp.DropUnknownVRID},
		{"v2 auth type 2", fix2(patch(m4(v2(10, 100, "", vip4a, vip4b), peer4), func(b []byte) { b[4] = 2 }), netip.Addr{}, netip.Addr{}), vrrp.DropAuthType},
		{"unknown vrid", m4(v3(99, 100, vip4a), peer4), vrrp.DropUnknownVRID},
		{"vrid of the other family", m6(v3(20, 100, vip6a), peer6), vrrp.DropUnknownVRID},
		{"bad ttl", func() frame { f := v3ok; f.ttl = 254; return f }(), vrrp.DropBadTTL},
		{"bad hop limit", func() frame { f := m6(v3(30, 100, vip6a), peer6); f.ttl = 1; return f }(), vrrp.DropBadTTL},
		{"version mismatch", m4(v2(20, 100, "", vip4a), peer4), vrrp.DropVersionMismatch},
		{"own address", m4(v3(20, 100, vip4a), own4), vrrp.DropOwnAddr},
		{"not a peer", func() frame { f := m4(v3(40, 100, vip4a), peer4b); f.ttl = 64; return f }(), vrrp.DropNotPeer},
		{"ipv6 source not link-local", m6(v3(30, 100, vip6a), netip.MustParseAddr("2001:db8::5")), vrrp.DropSrcNotLinkLocal},
		{"auth type mismatch", m4(v2(10, 100, "", vip4a, vip4b), peer4), vrrp.DropAuthType},
		{"auth data mismatch", m4(v2(10, 100, "secreT", vip4a, vip4b), peer4), vrrp.DropAuthData},
		{"interval mismatch", func() frame {
			a := v2(10, 100, "secret", vip4a, vip4b)
			a.Interval = 2 * time.Second
			return m4(a, peer4)
		}(), vrrp.DropIntervalMismatch},
		{"addr count", m4(v3(20, 100, vip4a, vip4b), peer4), vrrp.DropAddrCount},
		{"addr list", m4(v3(20, 100, vip4b), peer4), vrrp.DropAddrList},
		{"addr list duplicate", m4(v2(10, 100, "secret", vip4a, vip4a), peer4), vrrp.DropAddrList},
		{"ipv6 addr list", m6(v3(30, 100, vip6b), peer6), vrrp.DropAddrList},
	}
	cs[11].f.payload = cs[11].f.payload[:6] // "truncated header"
	return cs
}

// fix2 re-checksums f's payload with the pseudo-header of (src, dst)
// (none when both are zero).
func fix2(f frame, src, dst netip.Addr) frame {
	f.payload = refresh(f.payload, src, dst)
	return f
}

// TestDropReasons runs every case through both programs and the Go codec:
// the same reason from all three, the verdict, and exactly one counter.
// Drop sampling is on: a dropped packet whose VRRP header could be read
// yields one EventDropped record with the same reason, describing it.
func TestDropReasons(t *testing.T) {
	l := newLoader(t, loader.Options{DropSamples: 1000}, instances(routers)...)
	xdp, tc := l.Programs()
	for _, c := range reasonCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if got := goValidate(routers, c.f); got != c.want {
				t.Fatalf("vrrp.Validate: %v, want %v (the table is wrong)", got, c.want)
			}
			for _, p := range []struct {
				prog       *ebpf.Program
				drop, pass uint32
			}{{xdp, xdpDrop, xdpPass}, {tc, tcxDrop, tcxNext}} {
				before := stats(t, l)
				v := runProg(t, p.prog, c.f.bytes())
				after := stats(t, l)
				if v != p.drop {
					t.Errorf("%s: verdict %d, want drop %d", p.prog, v, p.drop)
				}
				for r := range after.Drops {
					d := after.Drops[r] - before.Drops[r]
					want := uint64(0)
					if vrrp.DropReason(r) == c.want {
						want = 1
					}
					if d != want {
						t.Errorf("%s: counter %v +%d, want +%d", p.prog, vrrp.DropReason(r), d, want)
					}
				}
				if after.NotVRRP != before.NotVRRP || after.PassedIP != before.PassedIP {
					t.Errorf("%s: counted as not VRRP / passed", p.prog)
				}
				checkSample(t, l, c, after.Events-before.Events)
			}
		})
	}
}

// checkSample reads the n records one case wrote and checks that exactly
// a dropped packet with a readable VRRP header was sampled, as sent.
func checkSample(t *testing.T, l *loader.Loader, c reasonCase, n uint64) {
	t.Helper()
	var samples []loader.Event
	for range n {
		if e := nextEvent(t, l); e.Kinds&loader.EventDropped != 0 {
			samples = append(samples, e)
		}
	}
	pl := c.f.payload
	if c.want == vrrp.DropNone || len(pl) < 8 {
		if len(samples) != 0 {
			t.Errorf("sampled %+v", samples[0])
		}
		return
	}
	if len(samples) != 1 {
		t.Fatalf("%d samples, want 1", len(samples))
	}
	e := samples[0]
	interval := time.Duration((int(pl[4])<<8|int(pl[5]))&0xfff) * 10 * time.Millisecond // v3: centiseconds
	if pl[0]>>4 == 2 {
		interval = time.Duration(pl[5]) * time.Second
	}
	if e.Kinds != loader.EventDropped || vrrp.DropReason(e.Reason) != c.want || e.Src != c.f.src ||
		e.IPv6 != c.f.src.Is6() || e.Ifindex != testIfindex || e.VRID != pl[1] || e.Priority != pl[2] ||
		e.Version != pl[0]>>4 || e.AddrCount != int(pl[3]) || e.Interval != interval {
		t.Errorf("sample %+v (reason %v), want %v from %v, header %x", e, vrrp.DropReason(e.Reason), c.want, c.f.src, pl[:8])
	}
}

// TestPassVerdicts: with PassValid/PassInvalid the same packets go on to the
// stack; non-VRRP and packets the IP stack must judge always do.
func TestPassVerdicts(t *testing.T) {
	l := newLoader(t, loader.Options{PassValid: true, PassInvalid: true}, instances(routers)...)
	xdp, tc := l.Programs()
	valid := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	invalid := valid
	invalid.ttl = 1
	for _, f := range []frame{valid, invalid} {
		if v := runProg(t, xdp, f.bytes()); v != xdpPass {
			t.Errorf("xdp verdict %d, want pass", v)
		}
		if v := runProg(t, tc, f.bytes()); v != tcxNext {
			t.Errorf("tc verdict %d, want next", v)
		}
	}
	s := stats(t, l)
	if s.Drops[vrrp.DropNone] != 2 || s.Drops[vrrp.DropBadTTL] != 2 {
		t.Errorf("stats %+v: want 2 accepted, 2 bad ttl", s)
	}
}

// TestNotVRRP: other protocols, fragments and broken IPv4 headers pass.
func TestNotVRRP(t *testing.T) {
	l := newLoader(t, loader.Options{}, instances(routers)...)
	xdp, tc := l.Programs()
	valid := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	udp := valid
	udp.proto = 17
	udp6 := frame{src: peer6, dst: vrrp.GroupIPv6, ttl: 255, proto: 17, payload: make([]byte, 20)}
	frag := valid
	frag.fragOff = 0x2000 // MF
	badHdr := valid.bytes()
	badHdr[14+10] ^= 0xff // IPv4 header checksum
	arp := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06}, make([]byte, 28)...)
	cases := []struct {
		name   string
		data   []byte
		passIP bool
	}{
		{"udp", udp.bytes(), false}, {"udp6", udp6.bytes(), false}, {"arp", arp, false},
		{"fragment", frag.bytes(), true}, {"bad ipv4 header checksum", badHdr, true},
	}
	for _, c := range cases {
		for _, p := range []struct {
			prog *ebpf.Program
			pass uint32
		}{{xdp, xdpPass}, {tc, tcxNext}} {
			before := stats(t, l)
			if v := runProg(t, p.prog, c.data); v != p.pass {
				t.Errorf("%s %s: verdict %d, want pass", c.name, p.prog, v)
			}
			after := stats(t, l)
			dn, dp := after.NotVRRP-before.NotVRRP, after.PassedIP-before.PassedIP
			if (c.passIP && (dp != 1 || dn != 0)) || (!c.passIP && (dn != 1 || dp != 0)) {
				t.Errorf("%s %s: not_vrrp +%d, passed_ip +%d", c.name, p.prog, dn, dp)
			}
		}
	}
}

// TestTruncatedFrames cuts a VLAN-tagged IPv4 advert with options at every
// offset: too short for the headers passes as not VRRP, anything shorter
// than the IP packet is a truncated advert.
//
// Reference: RFC 3768 §7.1 ("contains the complete VRRP packet").
func TestTruncatedFrames(t *testing.T) {
	l := newLoader(t, loader.Options{}, instances(routers)...)
	xdp, tc := l.Programs()
	f := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, vlan: true, ipOpts: []byte{0x94, 0x04, 0, 0},
		payload: advert(t, v2(10, 100, "secret", vip4a, vip4b), peer4, vrrp.GroupIPv4)}
	full := f.bytes()
	const ethVLAN, ipFixed = 18, 20
	for cut := 14; cut < len(full); cut++ { // the kernel needs an Ethernet header
		for _, p := range []struct {
			prog       *ebpf.Program
			drop, pass uint32
		}{{xdp, xdpDrop, xdpPass}, {tc, tcxDrop, tcxNext}} {
			before := stats(t, l)
			v := runProg(t, p.prog, full[:cut])
			after := stats(t, l)
			if cut < ethVLAN+ipFixed {
				if v != p.pass || after.NotVRRP-before.NotVRRP != 1 {
					t.Errorf("cut %d %s: verdict %d, not_vrrp +%d; want pass as not vrrp", cut, p.prog, v, after.NotVRRP-before.NotVRRP)
				}
				continue
			}
			if v != p.drop || after.Drops[vrrp.DropTruncated]-before.Drops[vrrp.DropTruncated] != 1 {
				t.Errorf("cut %d %s: verdict %d, truncated +%d; want drop as truncated", cut, p.prog, v,
					after.Drops[vrrp.DropTruncated]-before.Drops[vrrp.DropTruncated])
			}
		}
	}
	if v := runProg(t, xdp, full); v != xdpDrop || stats(t, l).Drops[vrrp.DropNone] != 1 {
		t.Errorf("full frame: verdict %d, stats %+v", v, stats(t, l))
	}
}
