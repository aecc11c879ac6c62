package vrrp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// fuzzAddrs are the (src, dst) pairs a fuzz input selects from with one byte.
var fuzzAddrs = [][2]netip.Addr{
	{netip.MustParseAddr("192.0.2.1"), GroupIPv4},
	{netip.MustParseAddr("fe80::1"), GroupIPv6},
	{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")},
	{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")},
	{netip.MustParseAddr("192.0.2.1"), netip.Addr{}},
	{netip.MustParseAddr("192.0.2.1"), GroupIPv6},
	{netip.Addr{}, netip.Addr{}},
}

// FuzzParseAdvert: ParseAdvert never panics, and whatever it accepts
// marshals again (with the same src and dst) to bytes that parse to the same
// advert and are a fixed point of Marshal.
func FuzzParseAdvert(f *testing.F) {
	for i, g := range golden {
		b := mustHex(f, g.hex)
		sel := byte(0)
		if g.src.Is6() {
			sel = 1
		}
		f.Add(b, sel)
		f.Add(b[:len(b)-1], sel)
		f.Add(append(b, 0), sel)
		// Same packet, the other forms of the v3 IPv4 checksum.
		if i == 1 {
			c := bytes.Clone(b)
			c[6], c[7] = 0, 0
			binary.BigEndian.PutUint16(c[6:], Checksum(c, netip.Addr{}, netip.Addr{}))
			f.Add(c, byte(0))
			f.Add(b, byte(2))
		}
	}
	f.Add([]byte{}, byte(0))
	f.Add([]byte{0x21, 1, 100, 0, 0, 1, 0xdd, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0}, byte(0))
	f.Add([]byte{0x31, 1, 100, 255, 0, 100, 0, 0}, byte(1))

	f.Fuzz(func(t *testing.T, b []byte, sel byte) {
		p := fuzzAddrs[int(sel)%len(fuzzAddrs)]
		src, dst := p[0], p[1]
		a, r := ParseAdvert(b, src, dst)
		if r >= NumDropReasons || r == DropRateLimited {
			t.Fatalf("ParseAdvert returned reason %d", r)
		}
		if r != DropNone {
			return
		}
		out, err := a.Marshal(src, dst)
		if err != nil {
			t.Fatalf("accepted advert %+v does not marshal: %v", a, err)
		}
		if len(out) != len(b) {
			t.Fatalf("re-marshalled length %d, received %d", len(out), len(b))
		}
		a2, r := ParseAdvert(out, src, dst)
		if r != DropNone {
			t.Fatalf("re-marshalled advert dropped: %v\nin  %x\nout %x", r, b, out)
		}
		if !advertEqual(&a, &a2) {
			t.Fatalf("round trip changed the advert:\n%+v\n%+v", a, a2)
		}
		out2, err := a2.Marshal(src, dst)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Marshal not a fixed point: %x, %x, %v", out, out2, err)
		}
	})
}

// FuzzAdvertRoundTrip: any Advert built from fields either fails to marshal
// with ErrInvalidAdvert, or marshals to bytes that parse back to the same
// advert.
func FuzzAdvertRoundTrip(f *testing.F) {
	f.Add(uint8(2), uint8(51), uint8(150), uint16(1), uint8(1), uint64(0x7333637233740000), uint8(2), []byte{192, 0, 2, 100, 192, 0, 2, 101}, false)
	f.Add(uint8(3), uint8(52), uint8(200), uint16(10), uint8(0), uint64(0), uint8(2), []byte{192, 0, 2, 110, 192, 0, 2, 111}, false)
	f.Add(uint8(3), uint8(53), uint8(100), uint16(100), uint8(0), uint64(0), uint8(1), []byte{0xfe, 0x80, 15: 0x53}, true)
	f.Add(uint8(3), uint8(1), uint8(0), uint16(4095), uint8(0), uint64(0), uint8(0), []byte(nil), true)
	f.Add(uint8(2), uint8(0), uint8(0), uint16(0), uint8(3), uint64(1), uint8(255), []byte{1}, false)

	f.Fuzz(func(t *testing.T, ver, vrid, prio uint8, units uint16, auth uint8, authData uint64, n uint8, seed []byte, is6 bool) {
		a := Advert{Version: Version(ver), VRID: vrid, Priority: prio, AuthType: AuthType(auth)}
		binary.BigEndian.PutUint64(a.AuthData[:], authData)
		if a.Version == V2 {
			a.Interval = time.Duration(units) * time.Second
		} else {
			a.Interval = time.Duration(units) * centisecond
		}
		size := addrLen(is6)
		for i := 0; i < int(n); i++ {
			var raw [16]byte
			for j := 0; j < size && len(seed) > 0; j++ {
				raw[j] = seed[(i*size+j)%len(seed)]
			}
			if is6 {
				a.Addrs = append(a.Addrs, netip.AddrFrom16(raw))
			} else {
				a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte(raw[:4])))
			}
		}
		src, dst := fuzzAddrs[0][0], fuzzAddrs[0][1]
		if is6 {
			src, dst = fuzzAddrs[1][0], fuzzAddrs[1][1]
		}
		b, err := a.Marshal(src, dst)
		if err != nil {
			if !errors.Is(err, ErrInvalidAdvert) {
				t.Fatalf("Marshal error %v does not wrap ErrInvalidAdvert", err)
			}
			return
		}
		if len(b) != a.Len() {
			t.Fatalf("Marshal gave %d bytes, Len says %d", len(b), a.Len())
		}
		got, r := ParseAdvert(b, src, dst)
		if r != DropNone {
			t.Fatalf("ParseAdvert(Marshal(%+v)) = %v (%x)", a, r, b)
		}
		if !advertEqual(&got, &a) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, a)
		}
	})
}
