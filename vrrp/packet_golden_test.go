package vrrp

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Golden advertisements captured from keepalived 2.2.7 (Debian bookworm) as
// MASTER, with testdata/capture-golden.sh (the pcaps it wrote are kept next to
// it). Topology: namespace K runs
//
//	keepalived -n -l -D -G -P -f CONF -p K.pid -r V.pid -c C.pid -b B.pid
//
// on a veth end with 192.0.2.1/24 and fe80::1/64; namespace P holds the peer
// end and runs `tcpdump -n -i PEER -c 3 -w X.pcap 'ip proto 112 or ip6 proto 112'`.
// All three captured adverts of each run were identical apart from the IP ID;
// every one arrived with TTL / Hop Limit 255. The hex below is the IP payload
// (`tcpdump -xx -r X.pcap` minus the Ethernet and IP headers).
var golden = []struct {
	name     string
	conf     string // the vrrp_instance body (global_defs: router_id, vrrp_version)
	src, dst netip.Addr
	hex      string
	want     Advert
}{
	{
		name: "v2 pass auth advert_int 1",
		conf: "virtual_router_id 51; priority 150; advert_int 1; " +
			"authentication { auth_type PASS; auth_pass s3cr3t }; " +
			"virtual_ipaddress { 192.0.2.100/24; 192.0.2.101/24 }",
		src: netip.MustParseAddr("192.0.2.1"),
		dst: GroupIPv4,
		hex: "21339602" + "0101b8e4" + "c0000264" + "c0000265" + "7333637233740000",
		want: Advert{
			Version: V2, VRID: 51, Priority: 150, Interval: time.Second,
			AuthType: AuthPass, AuthData: [8]byte{'s', '3', 'c', 'r', '3', 't'},
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")},
		},
	},
	{
		name: "v3 ipv4 advert_int 0.1",
		conf: "vrrp_version 3; virtual_router_id 52; priority 200; advert_int 0.1; " +
			"virtual_ipaddress { 192.0.2.110/24; 192.0.2.111/24 }",
		src: netip.MustParseAddr("192.0.2.1"),
		dst: GroupIPv4,
		hex: "3134c802" + "000adf4b" + "c000026e" + "c000026f",
		want: Advert{
			Version: V3, VRID: 52, Priority: 200, Interval: 100 * time.Millisecond,
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.110"), netip.MustParseAddr("192.0.2.111")},
		},
	},
	{
		name: "v3 ipv6 advert_int 1",
		conf: "vrrp_version 3; virtual_router_id 53; priority 100; advert_int 1; " +
			"virtual_ipaddress { fe80::53/64; 2001:db8::53/64 }",
		src: netip.MustParseAddr("fe80::1"),
		dst: GroupIPv6,
		hex: "31356402" + "00643f55" +
			"fe800000000000000000000000000053" +
			"20010db8000000000000000000000053",
		want: Advert{
			Version: V3, VRID: 53, Priority: 100, Interval: time.Second,
			Addrs: []netip.Addr{netip.MustParseAddr("fe80::53"), netip.MustParseAddr("2001:db8::53")},
		},
	},
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Reference: RFC 3768 §5.1, RFC 5798 §5.1 (field layout); keepalived 2.2.7 on
// the wire.
func TestGoldenFields(t *testing.T) {
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			b := mustHex(t, g.hex)
			is6 := g.src.Is6()
			type field struct {
				name      string
				got, want int
			}
			fields := []field{
				{"version nibble", int(b[0] >> 4), int(g.want.Version)},
				{"type nibble", int(b[0] & 0xf), 1},
				{"vrid", int(b[1]), int(g.want.VRID)},
				{"priority", int(b[2]), int(g.want.Priority)},
				{"count", int(b[3]), len(g.want.Addrs)},
			}
			if g.want.Version == V2 {
				fields = append(fields,
					field{"auth type", int(b[4]), int(g.want.AuthType)},
					field{"adver int (s)", int(b[5]), int(g.want.Interval / time.Second)},
					field{"length", len(b), 8 + 4*len(g.want.Addrs) + 8},
				)
				if !bytes.Equal(b[len(b)-8:], g.want.AuthData[:]) {
					t.Errorf("auth data = %q, want %q", b[len(b)-8:], g.want.AuthData[:])
				}
			} else {
				fields = append(fields,
					field{"reserved nibble", int(b[4] >> 4), 0},
					field{"max adver int (cs)", int(b[4]&0xf)<<8 | int(b[5]), int(g.want.Interval / centisecond)},
					field{"length", len(b), 8 + addrLen(is6)*len(g.want.Addrs)},
				)
			}
			for _, f := range fields {
				if f.got != f.want {
					t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
				}
			}
			for i, want := range g.want.Addrs {
				n := addrLen(is6)
				if got, _ := netip.AddrFromSlice(b[8+i*n : 8+(i+1)*n]); got != want {
					t.Errorf("address %d = %s, want %s", i, got, want)
				}
			}
			// The checksum field verifies with the form each version uses:
			// v2 message only, v3 with the pseudo-header (IPv4 too: keepalived's
			// default).
			var pSrc, pDst netip.Addr
			if g.want.Version == V3 {
				pSrc, pDst = g.src, g.dst
			}
			if c := Checksum(b, pSrc, pDst); c != 0 {
				t.Errorf("checksum does not verify (residue %#04x)", c)
			}
			if g.want.Version == V3 && !is6 {
				if Checksum(b, netip.Addr{}, netip.Addr{}) == 0 {
					t.Error("v3 ipv4 checksum also verifies without the pseudo-header; expected keepalived's pseudo-header form only")
				}
			}
		})
	}
}

// Reference: RFC 3768 §7.1, RFC 5798 §7.1 (a valid advert is accepted).
func TestGoldenParse(t *testing.T) {
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			a, r := ParseAdvert(mustHex(t, g.hex), g.src, g.dst)
			if r != DropNone {
				t.Fatalf("ParseAdvert: %v", r)
			}
			if !reflect.DeepEqual(a, g.want) {
				t.Errorf("ParseAdvert = %+v, want %+v", a, g.want)
			}
		})
	}
}

// Reference: RFC 3768 §5.3.8, RFC 5798 §5.2.8 — and keepalived 2.2.7's bytes.
func TestGoldenMarshal(t *testing.T) {
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			want := mustHex(t, g.hex)
			got, err := g.want.Marshal(g.src, g.dst)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal =\n%x\nwant (keepalived)\n%x", got, want)
			}
			if n := g.want.Len(); n != len(want) {
				t.Errorf("Len = %d, want %d", n, len(want))
			}
			prefix := []byte{0xaa, 0xbb}
			app, err := g.want.Append(prefix, g.src, g.dst)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(app[:2], prefix) || !bytes.Equal(app[2:], want) {
				t.Errorf("Append = %x, want aabb%x", app, want)
			}
		})
	}
}
