package vrrp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"regexp"
	"testing"
	"time"
)

var (
	src4 = netip.MustParseAddr("192.0.2.1")
	src6 = netip.MustParseAddr("fe80::1")
)

// goldenBytes returns a fresh copy of golden packet i with its addresses.
func goldenBytes(t testing.TB, i int) ([]byte, netip.Addr, netip.Addr) {
	t.Helper()
	return mustHex(t, golden[i].hex), golden[i].src, golden[i].dst
}

// refix recomputes the checksum of b the way the sender of its version does.
func refix(b []byte, src, dst netip.Addr) []byte {
	b[6], b[7] = 0, 0
	if b[0]>>4 == 2 {
		src, dst = netip.Addr{}, netip.Addr{}
	}
	binary.BigEndian.PutUint16(b[6:], Checksum(b, src, dst))
	return b
}

func TestDropReasonNames(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	seen := map[string]DropReason{}
	for r := DropReason(0); r < NumDropReasons; r++ {
		s := r.String()
		if !snake.MatchString(s) || s == "unknown" {
			t.Errorf("DropReason(%d).String() = %q, want a snake_case name", r, s)
		}
		if prev, ok := seen[s]; ok {
			t.Errorf("DropReason %d and %d share the name %q", prev, r, s)
		}
		seen[s] = r
	}
	if got := DropReason(NumDropReasons).String(); got != "unknown" {
		t.Errorf("DropReason(NumDropReasons).String() = %q, want unknown", got)
	}
	// The values are an ABI shared with the BPF program: pin a few.
	pinned := map[DropReason]uint8{DropNone: 0, DropTruncated: 1, DropBadChecksum: 6, DropUnknownVRID: 8, DropBadTTL: 9, DropAuthData: 15, DropRateLimited: 19}
	for r, v := range pinned {
		if uint8(r) != v {
			t.Errorf("%s = %d, want %d", r, r, v)
		}
	}
	if NumDropReasons != int(DropRateLimited)+1 {
		t.Errorf("NumDropReasons = %d, want %d", NumDropReasons, DropRateLimited+1)
	}
}

// Structural drops, made by ParseAdvert before any configuration is known.
func TestParseDrops(t *testing.T) {
	v2 := func(t *testing.T) ([]byte, netip.Addr, netip.Addr) { return goldenBytes(t, 0) }
	v3 := func(t *testing.T) ([]byte, netip.Addr, netip.Addr) { return goldenBytes(t, 1) }
	v6 := func(t *testing.T) ([]byte, netip.Addr, netip.Addr) { return goldenBytes(t, 2) }
	tests := []struct {
		name string
		ref  string
		pkt  func(t *testing.T) ([]byte, netip.Addr, netip.Addr)
		want DropReason
	}{
		{"shorter than header", "RFC 3768 §7.1 complete packet", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v2(t)
			return b[:7], s, d
		}, DropTruncated},
		{"v2 missing auth data", "RFC 3768 §7.1 complete packet", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v2(t)
			return b[:len(b)-8], s, d
		}, DropTruncated},
		{"count larger than addresses", "RFC 5798 §7.1 complete packet", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v3(t)
			b[3] = 3
			return refix(b, s, d), s, d
		}, DropTruncated},
		{"version 1", "RFC 3768 §7.1 version", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v2(t)
			b[0] = 0x11
			return refix(b, s, d), s, d
		}, DropBadVersion},
		{"version 4", "RFC 5798 §7.1 version", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v3(t)
			b[0] = 0x41
			return refix(b, s, d), s, d
		}, DropBadVersion},
		{"type 2", "RFC 5798 §5.2.2 unknown type", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v3(t)
			b[0] = 0x32
			return refix(b, s, d), s, d
		}, DropBadType},
		{"count smaller than addresses", "RFC 3768 §7.1 complete packet", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v3(t)
			b[3] = 1
			return refix(b, s, d), s, d
		}, DropBadLength},
		{"trailing byte", "RFC 3768 §7.1 complete packet", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v6(t)
			return append(b, 0), s, d
		}, DropBadLength},
		{"v2 interval 0", "RFC 3768 §5.3.7", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v2(t)
			b[5] = 0
			return refix(b, s, d), s, d
		}, DropBadInterval},
		{"v3 interval 0 with reserved bits set", "RFC 5798 §5.2.7", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v3(t)
			b[4], b[5] = 0xf0, 0
			return refix(b, s, d), s, d
		}, DropBadInterval},
		{"v2 checksum", "RFC 3768 §7.1 checksum", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v2(t)
			b[2]++ // priority changed, checksum not
			return b, s, d
		}, DropBadChecksum},
		{"v2 auth data covered by checksum", "RFC 3768 §5.3.8", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v2(t)
			b[len(b)-1] = 'x'
			return b, s, d
		}, DropBadChecksum},
		{"v3 ipv4 pseudo-header src", "RFC 5798 §5.2.8", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, _, d := v3(t)
			return b, netip.MustParseAddr("192.0.2.9"), d
		}, DropBadChecksum},
		{"v3 ipv6 pseudo-header dst", "RFC 5798 §5.2.8", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, _ := v6(t)
			return b, s, netip.MustParseAddr("fe80::2")
		}, DropBadChecksum},
		{"v3 ipv6 without pseudo-header", "RFC 5798 §5.2.8", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v6(t)
			b[6], b[7] = 0, 0
			binary.BigEndian.PutUint16(b[6:], Checksum(b, netip.Addr{}, netip.Addr{}))
			return b, s, d
		}, DropBadChecksum},
		{"v2 over ipv6", "RFC 3768 §5", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, _, _ := v2(t)
			return b, src6, GroupIPv6
		}, DropBadFamily},
		{"v3 mixed src and dst", "RFC 5798 §5.2.8", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, _ := v3(t)
			return b, s, GroupIPv6
		}, DropBadFamily},
		{"invalid src", "RFC 5798 §5.2.8", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, _, d := v3(t)
			return b, netip.Addr{}, d
		}, DropBadFamily},
		{"vrid 0", "RFC 3768 §5.3.3", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v2(t)
			b[1] = 0
			return refix(b, s, d), s, d
		}, DropUnknownVRID},
		{"v2 auth type 2 (ip ah)", "RFC 3768 §5.3.6", func(t *testing.T) ([]byte, netip.Addr, netip.Addr) {
			b, s, d := v2(t)
			b[4] = 2
			return refix(b, s, d), s, d
		}, DropAuthType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Logf("Reference: %s", tt.ref)
			b, s, d := tt.pkt(t)
			if _, r := ParseAdvert(b, s, d); r != tt.want {
				t.Errorf("ParseAdvert = %v, want %v", r, tt.want)
			}
		})
	}
}

// Reference: RFC 5798 §5.2.8 (IPv4 pseudo-header, as keepalived sends it) and
// RFC 9568 §5.2.8 (IPv4 message only): both are accepted, and so is the
// pseudo-header with the multicast group as destination for a unicast advert
// (older keepalived unicast checksums).
func TestParseV3IPv4ChecksumForms(t *testing.T) {
	peer := netip.MustParseAddr("192.0.2.2")
	for _, tc := range []struct {
		name       string
		csSrc      netip.Addr
		csDst      netip.Addr
		dst        netip.Addr
		wantAccept bool
	}{
		{"pseudo-header multicast", src4, GroupIPv4, GroupIPv4, true},
		{"message only multicast", netip.Addr{}, netip.Addr{}, GroupIPv4, true},
		{"pseudo-header unicast", src4, peer, peer, true},
		{"pseudo-header with group, sent unicast", src4, GroupIPv4, peer, true},
		{"message only unicast", netip.Addr{}, netip.Addr{}, peer, true},
		{"pseudo-header for another dst", src4, netip.MustParseAddr("192.0.2.3"), peer, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _, _ := goldenBytes(t, 1)
			b[6], b[7] = 0, 0
			binary.BigEndian.PutUint16(b[6:], Checksum(b, tc.csSrc, tc.csDst))
			_, r := ParseAdvert(b, src4, tc.dst)
			if (r == DropNone) != tc.wantAccept {
				t.Errorf("ParseAdvert = %v, want accepted=%t", r, tc.wantAccept)
			}
			if !tc.wantAccept && r != DropBadChecksum {
				t.Errorf("ParseAdvert = %v, want %v", r, DropBadChecksum)
			}
		})
	}
}

// Reference: RFC 5798 §5.2.1 — the reserved bits are ignored on receipt and
// sent as zero.
func TestParseV3IgnoresReservedBits(t *testing.T) {
	b, s, d := goldenBytes(t, 1)
	b[4] |= 0xa0
	a, r := ParseAdvert(refix(b, s, d), s, d)
	if r != DropNone {
		t.Fatalf("ParseAdvert: %v", r)
	}
	if a.Interval != 100*time.Millisecond {
		t.Errorf("Interval = %v, want 100ms", a.Interval)
	}
	out, err := a.Marshal(s, d)
	if err != nil {
		t.Fatal(err)
	}
	if out[4]>>4 != 0 {
		t.Errorf("re-marshalled reserved nibble = %#x, want 0", out[4]>>4)
	}
}

// Reference: RFC 3768 §7.1, RFC 5798 §7.1 — every prefix of a valid packet
// is rejected (truncated or, for the IPv4 v3 form, never accepted), and no
// input panics.
func TestParseTruncatedEveryOffset(t *testing.T) {
	for i, g := range golden {
		b, s, d := goldenBytes(t, i)
		for n := 0; n < len(b); n++ {
			_, r := ParseAdvert(b[:n], s, d)
			if r != DropTruncated {
				t.Errorf("%s: ParseAdvert(first %d bytes) = %v, want %v", g.name, n, r, DropTruncated)
			}
		}
	}
}

func TestParseReusesAddrs(t *testing.T) {
	b, s, d := goldenBytes(t, 2)
	a := Advert{Addrs: make([]netip.Addr, 0, 4)}
	backing := &a.Addrs[:1][0]
	if r := a.Parse(b, s, d); r != DropNone {
		t.Fatal(r)
	}
	if &a.Addrs[0] != backing {
		t.Error("Parse allocated a new Addrs slice though the old one had room")
	}
	allocs := testing.AllocsPerRun(100, func() { a.Parse(b, s, d) })
	if allocs != 0 {
		t.Errorf("Parse into an Advert with room allocates %v times, want 0", allocs)
	}
}

func TestMarshalErrors(t *testing.T) {
	ok2 := golden[0].want
	ok3 := golden[1].want
	ok6 := golden[2].want
	tests := []struct {
		name     string
		a        Advert
		src, dst netip.Addr
	}{
		{"version 4", func() Advert { a := ok3; a.Version = 4; return a }(), src4, GroupIPv4},
		{"vrid 0", func() Advert { a := ok2; a.VRID = 0; return a }(), src4, GroupIPv4},
		{"v2 interval 1.5s", func() Advert { a := ok2; a.Interval = 1500 * time.Millisecond; return a }(), src4, GroupIPv4},
		{"v2 interval 0", func() Advert { a := ok2; a.Interval = 0; return a }(), src4, GroupIPv4},
		{"v2 interval 256s", func() Advert { a := ok2; a.Interval = 256 * time.Second; return a }(), src4, GroupIPv4},
		{"v2 auth type 3", func() Advert { a := ok2; a.AuthType = 3; return a }(), src4, GroupIPv4},
		{"v2 over ipv6", ok2, src6, GroupIPv6},
		{"v2 ipv6 address", func() Advert {
			a := ok2
			a.Addrs = []netip.Addr{netip.MustParseAddr("2001:db8::1")}
			return a
		}(), src4, GroupIPv4},
		{"v3 interval 15ms", func() Advert { a := ok3; a.Interval = 15 * time.Millisecond; return a }(), src4, GroupIPv4},
		{"v3 interval 40.96s", func() Advert { a := ok3; a.Interval = 40960 * time.Millisecond; return a }(), src4, GroupIPv4},
		{"v3 interval 0", func() Advert { a := ok3; a.Interval = 0; return a }(), src4, GroupIPv4},
		{"v3 auth", func() Advert { a := ok3; a.AuthType = AuthPass; return a }(), src4, GroupIPv4},
		{"v3 auth data", func() Advert { a := ok3; a.AuthData[0] = 1; return a }(), src4, GroupIPv4},
		{"v3 missing dst", ok3, src4, netip.Addr{}},
		{"v3 mixed src dst", ok3, src4, GroupIPv6},
		{"v3 ipv6 addrs over ipv4", ok6, src4, GroupIPv4},
		{"v3 mixed address families", func() Advert {
			a := ok6
			a.Addrs = []netip.Addr{netip.MustParseAddr("fe80::1"), netip.MustParseAddr("192.0.2.1")}
			return a
		}(), src6, GroupIPv6},
		{"invalid address", func() Advert { a := ok3; a.Addrs = []netip.Addr{{}}; return a }(), src4, GroupIPv4},
		{"256 addresses", func() Advert { a := ok3; a.Addrs = make([]netip.Addr, 256); return a }(), src4, GroupIPv4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{1, 2, 3}
			out, err := tt.a.Append(prefix, tt.src, tt.dst)
			if !errors.Is(err, ErrInvalidAdvert) {
				t.Fatalf("Append error = %v, want ErrInvalidAdvert", err)
			}
			if len(out) != len(prefix) {
				t.Errorf("Append on error returned %d bytes, want the %d given", len(out), len(prefix))
			}
			if _, err := tt.a.Marshal(tt.src, tt.dst); !errors.Is(err, ErrInvalidAdvert) {
				t.Errorf("Marshal error = %v, want ErrInvalidAdvert", err)
			}
		})
	}
}

// Reference: RFC 5798 §5.2.5 allows a count up to 255; the bounds of each
// field encode.
func TestMarshalLimits(t *testing.T) {
	addrs := make([]netip.Addr, MaxAddrs)
	for i := range addrs {
		addrs[i] = netip.AddrFrom16([16]byte{0: 0x20, 1: 0x01, 14: byte(i >> 8), 15: byte(i)})
	}
	for _, a := range []Advert{
		{Version: V2, VRID: 255, Priority: 255, Interval: 255 * time.Second, Addrs: []netip.Addr{src4}},
		{Version: V2, VRID: 1, Priority: 0, Interval: time.Second},
		{Version: V3, VRID: 1, Priority: 1, Interval: 40950 * time.Millisecond, Addrs: addrs},
		{Version: V3, VRID: 9, Priority: 0, Interval: 10 * time.Millisecond, Addrs: addrs[:1]},
	} {
		s, d := src4, GroupIPv4
		if len(a.Addrs) > 0 && a.Addrs[0].Is6() {
			s, d = src6, GroupIPv6
		}
		b, err := a.Marshal(s, d)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", a, err)
		}
		if len(b) != a.Len() {
			t.Errorf("len = %d, Len() = %d", len(b), a.Len())
		}
		got, r := ParseAdvert(b, s, d)
		if r != DropNone {
			t.Fatalf("ParseAdvert(Marshal(%+v)) = %v", a, r)
		}
		if !advertEqual(&got, &a) {
			t.Errorf("round trip = %+v, want %+v", got, a)
		}
	}
}

// advertEqual compares adverts treating nil and empty Addrs alike.
func advertEqual(x, y *Advert) bool {
	if x.Version != y.Version || x.VRID != y.VRID || x.Priority != y.Priority ||
		x.Interval != y.Interval || x.AuthType != y.AuthType || x.AuthData != y.AuthData ||
		len(x.Addrs) != len(y.Addrs) {
		return false
	}
	for i := range x.Addrs {
		if x.Addrs[i] != y.Addrs[i] {
			return false
		}
	}
	return true
}

// Reference: RFC 1071 §3 — the worked example sums to 0xddf2, so the
// checksum is its complement, 0x220d.
func TestChecksumRFC1071(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Checksum(b, netip.Addr{}, netip.Addr{}); got != 0x220d {
		t.Errorf("Checksum = %#04x, want 0x220d", got)
	}
	// An odd trailing byte is padded with zero.
	if got, want := Checksum([]byte{0x01}, netip.Addr{}, netip.Addr{}), ^uint16(0x0100); got != want {
		t.Errorf("Checksum(odd) = %#04x, want %#04x", got, want)
	}
	// IPv4-mapped addresses give the IPv4 pseudo-header.
	b, _, _ = goldenBytes(t, 1)
	if got := Checksum(b, netip.AddrFrom16(src4.As16()), netip.AddrFrom16(GroupIPv4.As16())); got != 0 {
		t.Errorf("Checksum with 4-in-6 addresses = %#04x, want 0", got)
	}
}

// BenchmarkReceive measures the socket path's whole receive decision for a
// valid advert: parse into a reused Advert, then the instance checks.
func BenchmarkReceive(b *testing.B) {
	for i, g := range golden {
		b.Run(g.name, func(b *testing.B) {
			pkt := mustHex(b, g.hex)
			e := expectFor(i)
			var a Advert
			b.ReportAllocs()
			for b.Loop() {
				if a.Parse(pkt, g.src, g.dst) != DropNone || e.Check(&a, g.src, TTL) != DropNone {
					b.Fatal("dropped")
				}
			}
		})
	}
}
