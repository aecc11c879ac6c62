package vrrp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"
)

// Golden AH adverts captured from keepalived 2.2.7 (Debian bookworm) with
// testdata/capture-golden-ah.sh (the pcaps it wrote are kept next to it):
// keepalived on a veth end with 192.0.2.1/24, tcpdump on the peer end,
// `ip proto 51`. The hex is the whole IPv4 packet (the frame minus its
// Ethernet header). In each run the three adverts differ only in the IP
// identification and the AH sequence number (1, 2, 3: both count from 1),
// hence in the ICV and the header checksum.
var goldenAH = []struct {
	name    string
	key     [8]byte
	unicast bool
	src     netip.Addr
	dst     netip.Addr
	pcap    string
	hex     []string // seq 1, 2, 3
	want    Advert
}{
	{
		name: "multicast advert_int 1",
		// vrrp_instance AH1 { virtual_router_id 54; priority 150;
		//   advert_int 1; authentication { auth_type AH; auth_pass s3cr3t }
		//   virtual_ipaddress { 192.0.2.120/24; 192.0.2.121/24 } }
		key: [8]byte{'s', '3', 'c', 'r', '3', 't'},
		src: netip.MustParseAddr("192.0.2.1"), dst: GroupIPv4,
		pcap: "testdata/v2-ah.pcap",
		hex: []string{
			"45c0004400010000ff3318b2c0000201e0000012" + "70040000c000020100000001bfa333cefe1cceee231f5aae" +
				"213696020201c1d3c0000278c00002790000000000000000",
			"45c0004400020000ff3318b1c0000201e0000012" + "70040000c0000201000000021162afb614641b87fe45737b" +
				"213696020201c1d3c0000278c00002790000000000000000",
			"45c0004400030000ff3318b0c0000201e0000012" + "70040000c000020100000003288d6bb66e5e1ae58ee8355f" +
				"213696020201c1d3c0000278c00002790000000000000000",
		},
		want: Advert{Version: V2, VRID: 54, Priority: 150, Interval: time.Second, AuthType: AuthAH,
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.120"), netip.MustParseAddr("192.0.2.121")}},
	},
	{
		name: "unicast advert_int 2",
		// vrrp_instance AH2 { virtual_router_id 55; priority 100;
		//   advert_int 2; unicast_src_ip 192.0.2.1; unicast_peer { 192.0.2.2 }
		//   authentication { auth_type AH; auth_pass eightby8 }
		//   virtual_ipaddress { 192.0.2.130/24 } }
		key: [8]byte{'e', 'i', 'g', 'h', 't', 'b', 'y', '8'}, unicast: true,
		src: netip.MustParseAddr("192.0.2.1"), dst: netip.MustParseAddr("192.0.2.2"),
		pcap: "testdata/v2-ah-unicast.pcap",
		hex: []string{
			"45c0004000010000ff3336c6c0000201c0000202" + "70040000c00002010000000114ad86c7a2a768cd8191b1ca" +
				"213764010202b642c00002820000000000000000",
			"45c0004000020000ff3336c5c0000201c0000202" + "70040000c00002010000000202d1b594b7e175f2e5069504" +
				"213764010202b642c00002820000000000000000",
			"45c0004000030000ff3336c4c0000201c0000202" + "70040000c000020100000003f5ec3f726ee71c664d012d25" +
				"213764010202b642c00002820000000000000000",
		},
		want: Advert{Version: V2, VRID: 55, Priority: 100, Interval: 2 * time.Second, AuthType: AuthAH,
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.130")}},
	},
}

// readPcapIPv4 returns the IPv4 packets of an Ethernet pcap file (classic
// format, little-endian, as tcpdump writes it).
func readPcapIPv4(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(b[20:]) != 1 {
		t.Fatalf("%s: not a little-endian Ethernet pcap", path)
	}
	var out [][]byte
	for p := b[24:]; len(p) > 0; {
		if len(p) < 16 {
			t.Fatalf("%s: truncated record header", path)
		}
		n := int(binary.LittleEndian.Uint32(p[8:]))
		if len(p) < 16+n || n < 14+20 {
			t.Fatalf("%s: truncated record", path)
		}
		frame := p[16 : 16+n]
		ip := frame[14:]
		out = append(out, ip[:binary.BigEndian.Uint16(ip[2:])])
		p = p[16+n:]
	}
	return out
}

// The hex in goldenAH is what the kept pcaps hold.
func TestGoldenAHPcaps(t *testing.T) {
	for _, g := range goldenAH {
		pkts := readPcapIPv4(t, g.pcap)
		if len(pkts) != len(g.hex) {
			t.Fatalf("%s: %d packets, want %d", g.pcap, len(pkts), len(g.hex))
		}
		for i, p := range pkts {
			if want := mustHex(t, g.hex[i]); !bytes.Equal(p, want) {
				t.Errorf("%s packet %d =\n%x\nwant\n%x", g.pcap, i, p, want)
			}
		}
	}
}

// Reference: RFC 2338 §5.3.6.3, RFC 2402 §2 and §3.3.3 (AH header, ICV over
// the immutable fields), RFC 2403 (HMAC-MD5-96); keepalived 2.2.7 on the
// wire (SPI = source address, TOS 0xc0, TTL out of the ICV when unicast).
func TestGoldenAHDecode(t *testing.T) {
	for _, g := range goldenAH {
		t.Run(g.name, func(t *testing.T) {
			for i, h := range g.hex {
				pkt := mustHex(t, h)
				p, r := ParseAH(pkt)
				if r != DropNone {
					t.Fatalf("packet %d: ParseAH: %v", i, r)
				}
				s4 := g.src.As4()
				seq := uint32(i + 1)
				if p.Src != g.src || p.Dst != g.dst || p.TTL != TTL || p.NextHeader != IPProtocol ||
					p.SPI != binary.BigEndian.Uint32(s4[:]) || p.Seq != seq || p.ID != uint16(seq) {
					t.Errorf("packet %d: %+v", i, p)
				}
				if err := p.Authenticate(g.key, g.unicast); err != nil {
					t.Errorf("packet %d: Authenticate: %v", i, err)
				}
				// The TTL is in the multicast ICV and out of the unicast one.
				if err := p.Authenticate(g.key, !g.unicast); !errors.Is(err, ErrAHICV) {
					t.Errorf("packet %d: Authenticate with unicast=%t = %v, want ErrAHICV", i, !g.unicast, err)
				}
				wrong := g.key
				wrong[0] ^= 1
				if err := p.Authenticate(wrong, g.unicast); !errors.Is(err, ErrAHICV) {
					t.Errorf("packet %d: another key: %v, want ErrAHICV", i, err)
				}
				var a Advert
				if r := p.Advert(&a); r != DropNone {
					t.Fatalf("packet %d: Advert: %v", i, r)
				}
				if !reflect.DeepEqual(a, g.want) {
					t.Errorf("packet %d: Advert = %+v, want %+v", i, a, g.want)
				}
				e := Expect{Version: V2, VRID: g.want.VRID, Interval: g.want.Interval,
					AuthType: AuthAH, AuthData: g.key, VIPs: g.want.Addrs}
				if g.unicast {
					e.UnicastPeers = []netip.Addr{g.src}
				}
				if r := e.Check(&a, p.Src, p.TTL); r != DropNone {
					t.Errorf("packet %d: Check: %v", i, r)
				}
				// In protocol 112 an Auth Type 2 message is refused, as the
				// kernel path refuses it.
				if _, r := ParseAdvert(p.Msg, p.Src, p.Dst); r != DropAuthType {
					t.Errorf("packet %d: message in protocol 112: %v, want auth_type_mismatch", i, r)
				}
			}
		})
	}
}

// Reference: keepalived 2.2.7's bytes for the same settings (sequence
// number and IP identification taken from the capture).
func TestGoldenAHEncode(t *testing.T) {
	for _, g := range goldenAH {
		t.Run(g.name, func(t *testing.T) {
			a := g.want
			a.AuthData = g.key // the key never reaches the message
			msg, err := a.Marshal(g.src, g.dst)
			if err != nil {
				t.Fatal(err)
			}
			for i, h := range g.hex {
				want := mustHex(t, h)
				seq := uint32(i + 1)
				hdr := AHSend{Src: g.src, Dst: g.dst, ID: uint16(seq), TTL: TTL, Seq: seq, Unicast: g.unicast, Key: g.key}
				prefix := []byte{0xaa}
				got, err := AppendAH(prefix, hdr, msg)
				if err != nil {
					t.Fatalf("AppendAH: %v", err)
				}
				if got[0] != 0xaa || !bytes.Equal(got[1:], want) {
					t.Errorf("seq %d: AppendAH =\n%x\nwant (keepalived)\n%x", seq, got[1:], want)
				}
			}
		})
	}
}

// TestAHMutableFields: RFC 2402 §3.3.3.1.1.1 — the fields that may change
// in transit are out of the ICV, the others in.
func TestAHMutableFields(t *testing.T) {
	for _, tt := range []struct {
		name    string
		off     int
		unicast bool
		want    error
	}{
		{"tos", 1, false, nil},
		{"flags", 6, false, nil},
		{"header checksum", 10, false, nil},
		{"ttl, multicast", 8, false, ErrAHICV},
		{"ttl, unicast", 8, true, nil},
		{"identification", 5, false, ErrAHICV},
		{"identification, unicast", 5, true, ErrAHICV},
		{"source", 15, false, ErrAHICV},
		{"destination", 19, false, ErrAHICV},
		{"sequence number", 20 + 11, false, ErrAHICV},
		{"vrrp priority", 44 + 2, false, ErrAHICV},
		{"vrrp auth data", 44 + 19, true, ErrAHICV},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := goldenAH[0]
			if tt.unicast {
				g = goldenAH[1]
			}
			pkt := mustHex(t, g.hex[0])
			pkt[tt.off] ^= 0x08
			if tt.off == 6 {
				pkt[tt.off] = 0x40 // DF: still not a fragment
			}
			p, r := ParseAH(pkt)
			if r != DropNone {
				t.Fatalf("ParseAH: %v", r)
			}
			if err := p.Authenticate(g.key, tt.unicast); !errors.Is(err, tt.want) {
				t.Errorf("Authenticate = %v, want %v", err, tt.want)
			}
		})
	}
}

// keepalived drops an advert whose SPI is not its source address, even
// with a valid ICV.
func TestAHSPI(t *testing.T) {
	g := goldenAH[0]
	pkt := mustHex(t, g.hex[0])
	pkt[20+ahOffSPI+3] = 9 // 192.0.2.9
	icv := ahICV(pkt, ipv4HeaderLen, false, g.key)
	copy(pkt[20+ahOffICV:], icv[:ahICVLen])
	p, r := ParseAH(pkt)
	if r != DropNone {
		t.Fatal(r)
	}
	if err := p.Authenticate(g.key, false); !errors.Is(err, ErrAHSPI) {
		t.Errorf("Authenticate = %v, want ErrAHSPI", err)
	}
}

func TestParseAHErrors(t *testing.T) {
	good := mustHex(t, goldenAH[0].hex[0])
	mod := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	for _, tt := range []struct {
		name string
		pkt  []byte
		want DropReason
	}{
		{"empty", nil, DropTruncated},
		{"ip header only", good[:20], DropTruncated},
		{"ah cut", good[:30], DropTruncated},
		{"shorter than total length", good[:len(good)-1], DropTruncated},
		{"longer than total length", append(append([]byte(nil), good...), 0), DropBadLength},
		{"ipv6", mod(func(b []byte) []byte { b[0] = 0x65; return b }), DropBadFamily},
		{"ihl 4", mod(func(b []byte) []byte { b[0] = 0x44; return b }), DropBadLength},
		{"ihl past the ah header", mod(func(b []byte) []byte { b[0] = 0x4f; return b }), DropTruncated},
		{"protocol 112", mod(func(b []byte) []byte { b[9] = 112; return b }), DropBadFamily},
		{"fragment", mod(func(b []byte) []byte { b[6] = 0x20; return b }), DropBadFamily},
		{"next header udp", mod(func(b []byte) []byte { b[20] = 17; return b }), DropBadType},
		{"payload length 5", mod(func(b []byte) []byte { b[21] = 5; return b }), DropBadLength},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, r := ParseAH(tt.pkt); r != tt.want {
				t.Errorf("ParseAH = %v, want %v", r, tt.want)
			}
		})
	}
	// An IP option before the AH header is skipped.
	opt := append(append(append([]byte(nil), good[:20]...), 1, 1, 1, 0), good[20:]...)
	opt[0] = 0x46
	binary.BigEndian.PutUint16(opt[2:], uint16(len(opt)))
	p, r := ParseAH(opt)
	if r != DropNone || p.Seq != 1 || !bytes.Equal(p.Msg, good[44:]) {
		t.Errorf("with an option: %v %+v", r, p)
	}
}

func TestAppendAHErrors(t *testing.T) {
	a := goldenAH[0].want
	msg, err := a.Marshal(netip.Addr{}, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	pass := a
	pass.AuthType = AuthPass
	passMsg, err := pass.Marshal(netip.Addr{}, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.1")
	for _, tt := range []struct {
		name string
		h    AHSend
		msg  []byte
	}{
		{"ipv6 source", AHSend{Src: netip.MustParseAddr("fe80::1"), Dst: GroupIPv4}, msg},
		{"no destination", AHSend{Src: src}, msg},
		{"pass message", AHSend{Src: src, Dst: GroupIPv4}, passMsg},
		{"short message", AHSend{Src: src, Dst: GroupIPv4}, msg[:10]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte{1, 2}
			got, err := AppendAH(b, tt.h, tt.msg)
			if !errors.Is(err, ErrInvalidAdvert) || !bytes.Equal(got, b) {
				t.Errorf("AppendAH = %x, %v; want b unchanged and ErrInvalidAdvert", got, err)
			}
		})
	}
}

// The message under AH carries 8 zero bytes where PASS puts the password.
func TestAppendAuthAHZeroTrailer(t *testing.T) {
	a := goldenAH[0].want
	a.AuthData = [8]byte{'s', 'e', 'c', 'r', 'e', 't'}
	b, err := a.Marshal(netip.Addr{}, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if b[offAuthType] != 2 || !bytes.Equal(b[len(b)-8:], make([]byte, 8)) {
		t.Errorf("message = %x, want auth type 2 and a zero trailer", b)
	}
}

// Reference: keepalived 2.2.7 vrrp.c (one counter per instance for what it
// sends and what it accepts; only a number above it is accepted).
func TestAHSequence(t *testing.T) {
	var s AHSequence
	for want := uint32(1); want <= 3; want++ {
		if got := s.Next(); got != want {
			t.Fatalf("Next = %d, want %d", got, want)
		}
	}
	if s.Accept(3) || s.Accept(2) || s.Accept(0) {
		t.Error("accepted a number already sent")
	}
	if !s.Accept(100) || s.Last() != 100 {
		t.Errorf("Accept(100): last %d", s.Last())
	}
	if s.Accept(100) {
		t.Error("accepted a replay")
	}
	// A backup that takes over continues above the master it heard.
	if got := s.Next(); got != 101 {
		t.Errorf("Next after accepting 100 = %d, want 101", got)
	}
	s = AHSequence{n: ahSeqMax - 1}
	for i, want := range []uint32{ahSeqMax, ahSeqMax, ahSeqMax} {
		if got := s.Next(); got != want {
			t.Errorf("Next #%d near the end = %#x, want %#x (the counter stops at 0xfffffffe)", i, got, want)
		}
	}
	if !s.Accept(0xffffffff) || s.Accept(0xffffffff) {
		t.Error("0xffffffff from a peer is new once")
	}
}

// FuzzAH: whatever the bytes, ParseAH does not panic, and an advert that
// AppendAH builds comes back the same through ParseAH, Authenticate and
// Advert.
func FuzzAH(f *testing.F) {
	for _, g := range goldenAH {
		for _, h := range g.hex {
			f.Add(mustHex(f, h), uint8(g.want.VRID), uint8(150), uint32(7), uint16(9), false)
		}
	}
	f.Add([]byte{0x45}, uint8(1), uint8(0), uint32(0), uint16(0), true)
	f.Fuzz(func(t *testing.T, raw []byte, vrid, prio uint8, seq uint32, id uint16, unicast bool) {
		if p, r := ParseAH(raw); r == DropNone {
			var a Advert
			p.Advert(&a)
			p.Authenticate([8]byte{}, unicast)
		}
		if vrid == 0 {
			vrid = 1
		}
		key := [8]byte{vrid, prio, 3}
		a := Advert{Version: V2, VRID: vrid, Priority: prio, Interval: time.Second, AuthType: AuthAH,
			Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, vrid})}}
		msg, err := a.Marshal(netip.Addr{}, netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		src, dst := netip.MustParseAddr("10.1.2.3"), GroupIPv4
		pkt, err := AppendAH(nil, AHSend{Src: src, Dst: dst, ID: id, TTL: TTL, Seq: seq, Unicast: unicast, Key: key}, msg)
		if err != nil {
			t.Fatal(err)
		}
		if Checksum(pkt[:ipv4HeaderLen], netip.Addr{}, netip.Addr{}) != 0 {
			t.Error("ip header checksum does not verify")
		}
		p, r := ParseAH(pkt)
		if r != DropNone || p.Seq != seq || p.ID != id || p.Src != src || p.Dst != dst {
			t.Fatalf("ParseAH: %v %+v", r, p)
		}
		if err := p.Authenticate(key, unicast); err != nil {
			t.Fatal(err)
		}
		var got Advert
		if r := p.Advert(&got); r != DropNone || !reflect.DeepEqual(got, a) {
			t.Fatalf("Advert: %v %+v, want %+v", r, got, a)
		}
	})
}
