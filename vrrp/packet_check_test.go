package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// expectFor returns the Expect of the keepalived instance that sent golden
// packet i, as a backup peer on 192.0.2.2 / fe80::2 would configure it.
func expectFor(i int) Expect {
	g := golden[i]
	e := Expect{
		Version:  g.want.Version,
		VRID:     g.want.VRID,
		IPv6:     g.src.Is6(),
		Interval: g.want.Interval,
		AuthType: g.want.AuthType,
		AuthData: g.want.AuthData,
		VIPs:     append([]netip.Addr(nil), g.want.Addrs...),
	}
	if e.IPv6 {
		e.OwnAddrs = []netip.Addr{netip.MustParseAddr("fe80::2")}
	} else {
		e.OwnAddrs = []netip.Addr{netip.MustParseAddr("192.0.2.2")}
	}
	return e
}

// Reference: RFC 3768 §7.1, RFC 5798 §7.1 — the golden adverts pass every
// check of the instance that matches them, with the VIPs in any order.
func TestCheckAcceptsGolden(t *testing.T) {
	for i, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			e := expectFor(i)
			e.VIPs[0], e.VIPs[1] = e.VIPs[1], e.VIPs[0]
			a, r := e.Receive(mustHex(t, g.hex), g.src, g.dst, TTL)
			if r != DropNone {
				t.Fatalf("Receive = %v, want accepted", r)
			}
			if a.VRID != g.want.VRID {
				t.Errorf("VRID = %d, want %d", a.VRID, g.want.VRID)
			}
		})
	}
}

// One test per configuration-dependent drop reason.
func TestCheckDrops(t *testing.T) {
	tests := []struct {
		name string
		ref  string
		pkt  int // golden index
		src  netip.Addr
		ttl  uint8
		mod  func(e *Expect)
		want DropReason
	}{
		{"other vrid", "RFC 3768 §7.1 VRID configured", 0, src4, TTL, func(e *Expect) { e.VRID = 50 }, DropUnknownVRID},
		{"v2 ttl 254", "RFC 3768 §7.1 TTL 255", 0, src4, 254, nil, DropBadTTL},
		{"v3 ipv4 ttl 64", "RFC 5798 §7.1 TTL 255", 1, src4, 64, nil, DropBadTTL},
		{"v3 ipv6 hop limit 1", "RFC 5798 §7.1 Hop Limit 255", 2, src6, 1, nil, DropBadTTL},
		{"v3 advert to v2 instance", "RFC 3768 §7.1 version", 1, src4, TTL, func(e *Expect) { e.Version = V2 }, DropVersionMismatch},
		{"v2 advert to v3 instance", "RFC 5798 §7.1 version", 0, src4, TTL, func(e *Expect) { e.Version = V3 }, DropVersionMismatch},
		{"ipv4 advert to ipv6 instance", "RFC 5798 §5 one family per instance", 1, src4, TTL, func(e *Expect) { e.IPv6 = true }, DropBadFamily},
		{"own address looped back", "keepalived ignores its own adverts", 0, src4, TTL, func(e *Expect) {
			e.OwnAddrs = append(e.OwnAddrs, src4)
		}, DropOwnAddr},
		{"own link-local address with zone", "keepalived ignores its own adverts", 2, src6.WithZone("eth0"), TTL, func(e *Expect) {
			e.OwnAddrs = []netip.Addr{src6}
		}, DropOwnAddr},
		{"not a unicast peer", "keepalived vrrp_check_unicast_src", 0, src4, TTL, func(e *Expect) {
			e.UnicastPeers = []netip.Addr{netip.MustParseAddr("192.0.2.3")}
			e.CheckUnicastSrc = true
		}, DropNotPeer},
		{"ipv6 global source", "RFC 5798 §5.1.2.1 link-local source", 2, netip.MustParseAddr("2001:db8::1"), TTL, nil, DropSrcNotLinkLocal},
		{"auth none vs pass", "RFC 3768 §7.1 Auth Type", 0, src4, TTL, func(e *Expect) { e.AuthType = AuthNone; e.AuthData = [8]byte{} }, DropAuthType},
		{"wrong password", "RFC 3768 §7.1 authentication", 0, src4, TTL, func(e *Expect) { e.AuthData = [8]byte{'s', '3', 'c', 'r', '3', 'T'} }, DropAuthData},
		{"password differs after NUL", "RFC 3768 §7.1 authentication (all 8 bytes)", 0, src4, TTL, func(e *Expect) { e.AuthData[7] = 'x' }, DropAuthData},
		{"v2 interval 2s configured", "RFC 3768 §7.1 Adver Interval", 0, src4, TTL, func(e *Expect) { e.Interval = 2 * time.Second }, DropIntervalMismatch},
		{"one vip configured", "RFC 3768 §7.1 Count IP Addrs (MAY; keepalived drops)", 0, src4, TTL, func(e *Expect) { e.VIPs = e.VIPs[:1] }, DropAddrCount},
		{"three vips configured", "RFC 5798 §7.1 Count IPvX Addrs", 2, src6, TTL, func(e *Expect) {
			e.VIPs = append(e.VIPs, netip.MustParseAddr("2001:db8::54"))
		}, DropAddrCount},
		{"skip does not skip the count", "keepalived vrrp_skip_check_adv_addr", 1, src4, TTL, func(e *Expect) {
			e.VIPs = e.VIPs[:1]
			e.SkipCheckAdvAddr = true
		}, DropAddrCount},
		{"different vip", "RFC 5798 §7.1 address list (MAY; keepalived drops)", 1, src4, TTL, func(e *Expect) {
			e.VIPs[1] = netip.MustParseAddr("192.0.2.112")
		}, DropAddrList},
		{"4-in-6 vip does not match the ipv4 address", "RFC 5798 §7.1 address list", 1, src4, TTL, func(e *Expect) {
			e.VIPs[0] = netip.AddrFrom16(e.VIPs[0].As16())
		}, DropAddrList},
		{"duplicate vip does not match two", "RFC 3768 §7.1 address list", 0, src4, TTL, func(e *Expect) {
			e.VIPs[1] = e.VIPs[0]
			e.VIPs = append(e.VIPs[:1], netip.MustParseAddr("192.0.2.102"))
		}, DropAddrList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Logf("Reference: %s", tt.ref)
			g := golden[tt.pkt]
			a, r := ParseAdvert(mustHex(t, g.hex), g.src, g.dst)
			if r != DropNone {
				t.Fatal(r)
			}
			e := expectFor(tt.pkt)
			if tt.mod != nil {
				tt.mod(&e)
			}
			if got := e.Check(&a, tt.src, tt.ttl); got != tt.want {
				t.Errorf("Check = %v, want %v", got, tt.want)
			}
		})
	}
}

// Checks that are relaxed on purpose, each pinned so a change is deliberate.
func TestCheckAccepts(t *testing.T) {
	tests := []struct {
		name string
		ref  string
		pkt  int
		src  netip.Addr
		ttl  uint8
		mod  func(e *Expect)
		adv  func(a *Advert) // applied after parsing
	}{
		{"unicast instance ignores ttl", "keepalived: TTL not checked with unicast_peer", 0, src4, 63, func(e *Expect) {
			e.UnicastPeers = []netip.Addr{src4}
		}, nil},
		{"peer source accepted", "keepalived vrrp_check_unicast_src", 1, src4, TTL, func(e *Expect) {
			e.UnicastPeers = []netip.Addr{netip.MustParseAddr("192.0.2.9"), src4}
			e.CheckUnicastSrc = true
		}, nil},
		{"unknown source accepted without vrrp_check_unicast_src", "keepalived default", 1, src4, TTL, func(e *Expect) {
			e.UnicastPeers = []netip.Addr{netip.MustParseAddr("192.0.2.9")}
		}, nil},
		{"unicast ipv6 from a global address", "RFC 5798 §5.1.2.1 applies to multicast", 2, netip.MustParseAddr("2001:db8::1"), TTL, func(e *Expect) {
			e.UnicastPeers = []netip.Addr{netip.MustParseAddr("2001:db8::1")}
		}, nil},
		{"skip_check_adv_addr", "keepalived vrrp_skip_check_adv_addr", 2, src6, TTL, func(e *Expect) {
			e.VIPs[0] = netip.MustParseAddr("fe80::99")
			e.SkipCheckAdvAddr = true
		}, nil},
		{"v3 learns any interval", "RFC 5798 §6.4.2 Master_Adver_Interval", 1, src4, TTL, func(e *Expect) { e.Interval = time.Second }, nil},
		{"v3 ignores auth settings", "RFC 5798 §5 no authentication", 1, src4, TTL, func(e *Expect) { e.AuthType = AuthPass; e.AuthData[0] = 1 }, nil},
		{"auth none ignores data", "RFC 3768 §5.3.6", 0, src4, TTL, func(e *Expect) {
			e.AuthType, e.AuthData = AuthNone, [8]byte{}
		}, func(a *Advert) {
			a.AuthType, a.AuthData = AuthNone, [8]byte{1, 2, 3}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Logf("Reference: %s", tt.ref)
			g := golden[tt.pkt]
			a, r := ParseAdvert(mustHex(t, g.hex), g.src, g.dst)
			if r != DropNone {
				t.Fatal(r)
			}
			if tt.adv != nil {
				tt.adv(&a)
			}
			e := expectFor(tt.pkt)
			if tt.mod != nil {
				tt.mod(&e)
			}
			if got := e.Check(&a, tt.src, tt.ttl); got != DropNone {
				t.Errorf("Check = %v, want accepted", got)
			}
		})
	}
}

// Reference: RFC 3768 §7.1 — the structural checks come first, then the VRID
// lookup, then the instance's checks.
func TestValidateOrder(t *testing.T) {
	e0, e1 := expectFor(0), expectFor(1)
	lookup := func(vrid uint8) *Expect {
		switch vrid {
		case e0.VRID:
			return &e0
		case e1.VRID:
			return &e1
		}
		return nil
	}
	b, s, d := goldenBytes(t, 0)
	if _, r := Validate(b, s, d, TTL, lookup); r != DropNone {
		t.Errorf("Validate(golden v2) = %v", r)
	}
	if _, r := Validate(b, s, d, 1, lookup); r != DropBadTTL {
		t.Errorf("Validate(golden v2, ttl 1) = %v, want bad_ttl", r)
	}
	b[2]++ // bad checksum and bad TTL: the structural reason wins
	if _, r := Validate(b, s, d, 1, lookup); r != DropBadChecksum {
		t.Errorf("Validate(bad checksum, ttl 1) = %v, want bad_checksum", r)
	}
	b, s, d = goldenBytes(t, 2) // VRID 53: not configured
	if _, r := Validate(b, s, d, TTL, lookup); r != DropUnknownVRID {
		t.Errorf("Validate(vrid 53) = %v, want unknown_vrid", r)
	}
	b, s, d = goldenBytes(t, 1)
	if _, r := e0.Receive(b, s, d, TTL); r != DropUnknownVRID {
		t.Errorf("Receive(vrid 52) on instance 51 = %v, want unknown_vrid", r)
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	g := golden[2]
	a, _ := ParseAdvert(mustHex(t, g.hex), g.src, g.dst)
	e := expectFor(2)
	allocs := testing.AllocsPerRun(100, func() {
		if e.Check(&a, g.src, TTL) != DropNone {
			t.Fatal("rejected")
		}
	})
	if allocs != 0 {
		t.Errorf("Check allocates %v times, want 0", allocs)
	}
}
