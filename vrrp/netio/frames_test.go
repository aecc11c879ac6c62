package netio

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

var testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x01, 0x07}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Reference: RFC 5944 §4.6 (gratuitous ARP request and reply forms).
func TestGratuitousARPGolden(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.200")
	pad := strings.Repeat("00", 18)
	for _, tc := range []struct {
		name string
		form ARPForm
		want string
	}{
		{"request", ARPRequest, `
			ffffffffffff 02005e000107 0806
			0001 0800 06 04 0001
			02005e000107 c00002c8
			000000000000 c00002c8` + pad},
		{"reply", ARPReply, `
			ffffffffffff 02005e000107 0806
			0001 0800 06 04 0002
			02005e000107 c00002c8
			02005e000107 c00002c8` + pad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GratuitousARP(testMAC, ip, tc.form)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("frame\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestGratuitousARPRejects(t *testing.T) {
	if _, err := GratuitousARP(testMAC, netip.MustParseAddr("2001:db8::1"), ARPRequest); err == nil {
		t.Error("IPv6 address accepted")
	}
	if _, err := GratuitousARP(testMAC[:4], netip.MustParseAddr("192.0.2.1"), ARPRequest); err == nil {
		t.Error("4-byte MAC accepted")
	}
	if _, err := GratuitousARP(testMAC, netip.MustParseAddr("192.0.2.1"), ARPRequest|ARPReply); err == nil {
		t.Error("two forms at once accepted")
	}
}

// Reference: RFC 4861 §7.2.6 (unsolicited Neighbor Advertisement), §4.4
// (format), §4.6.1 (Target Link-Layer Address option).
func TestUnsolicitedNAGolden(t *testing.T) {
	target := netip.MustParseAddr("2001:db8::200")
	for _, tc := range []struct {
		name   string
		router bool
		flags  string
	}{
		{"host", false, "20"},
		{"router", true, "a0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnsolicitedNA(testMAC, target, target, tc.router)
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, `
				333300000001 02005e000107 86dd
				60000000 0020 3a ff
				20010db8000000000000000000000200
				ff020000000000000000000000000001
				88 00 0000 `+tc.flags+`000000
				20010db8000000000000000000000200
				02 01 02005e000107`)
			// The checksum is checked separately below; compare the rest.
			gotNoSum := append([]byte(nil), got...)
			gotNoSum[56], gotNoSum[57] = 0, 0
			if !bytes.Equal(gotNoSum, want) {
				t.Fatalf("frame\n got %x\nwant %x", gotNoSum, want)
			}
			// Independent checksum: x/net/icmp over the same message and
			// pseudo-header.
			m := icmp.Message{Type: ipv6.ICMPTypeNeighborAdvertisement, Body: &icmp.RawBody{Data: want[58:]}}
			ref, err := m.Marshal(icmp.IPv6PseudoHeader(target.AsSlice(), net.ParseIP("ff02::1")))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[54:58], ref[0:4]) {
				t.Errorf("checksum %x, x/net/icmp computes %x", got[56:58], ref[2:4])
			}
			if c := ICMPv6Checksum(target, netip.MustParseAddr("ff02::1"), got[54:]); c != 0 {
				t.Errorf("verifying the checksum gives %#x, want 0", c)
			}
		})
	}
}

func TestICMPv6ChecksumOddLength(t *testing.T) {
	src, dst := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1")
	msg := []byte{128, 0, 0, 0, 0, 1, 0, 2, 0xab} // echo request with 1 data byte
	sum := ICMPv6Checksum(src, dst, msg)
	m := icmp.Message{Type: ipv6.ICMPTypeEchoRequest, Body: &icmp.Echo{ID: 1, Seq: 2, Data: []byte{0xab}}}
	ref, err := m.Marshal(icmp.IPv6PseudoHeader(src.AsSlice(), dst.AsSlice()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sum, uint16(ref[2])<<8|uint16(ref[3]); got != want {
		t.Fatalf("checksum %#x, want %#x", got, want)
	}
}

// fakeConn records what an Announcer writes.
type fakeConn struct {
	net.PacketConn
	mu     sync.Mutex
	frames [][]byte
	dsts   []net.Addr
	times  []time.Time
	err    error
}

func (c *fakeConn) WriteTo(b []byte, a net.Addr) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.frames = append(c.frames, append([]byte(nil), b...))
	c.dsts = append(c.dsts, a)
	c.times = append(c.times, time.Now())
	return len(b), nil
}

func (c *fakeConn) Close() error { return nil }

func TestAnnouncerRounds(t *testing.T) {
	conn := &fakeConn{}
	ifi := &net.Interface{Index: 3, Name: "eth0", HardwareAddr: testMAC}
	a := New(ifi, conn)
	v4, v6 := netip.MustParseAddr("192.0.2.200"), netip.MustParseAddr("2001:db8::200")
	if err := a.Announce(context.Background(), []netip.Addr{v4, v6}, 5, 0); err != nil {
		t.Fatal(err)
	}
	// Default: per round, ARP request, ARP reply, NA.
	if len(conn.frames) != 15 {
		t.Fatalf("sent %d frames, want 15", len(conn.frames))
	}
	req, _ := GratuitousARP(testMAC, v4, ARPRequest)
	rep, _ := GratuitousARP(testMAC, v4, ARPReply)
	na, _ := UnsolicitedNA(testMAC, v6, v6, false)
	for i, f := range conn.frames {
		want := [][]byte{req, rep, na}[i%3]
		if !bytes.Equal(f, want) {
			t.Errorf("frame %d = %x, want %x", i, f, want)
		}
		dst := conn.dsts[i].(*packet.Addr).HardwareAddr
		if !bytes.Equal(dst, f[0:6]) {
			t.Errorf("frame %d addressed to %v, frame says %x", i, dst, f[0:6])
		}
	}

	// Request form only, router flag, with an interval between packets.
	conn2 := &fakeConn{}
	b := New(ifi, conn2)
	b.SetARPForms(ARPRequest)
	b.SetRouter(true)
	const gap = 20 * time.Millisecond
	if err := b.Announce(context.Background(), []netip.Addr{v4, v6}, 2, gap); err != nil {
		t.Fatal(err)
	}
	if len(conn2.frames) != 4 {
		t.Fatalf("sent %d frames, want 4", len(conn2.frames))
	}
	if conn2.frames[0][21] != arpOpRequest || conn2.frames[2][21] != arpOpRequest {
		t.Errorf("ARP forms sent: op %d, %d", conn2.frames[0][21], conn2.frames[2][21])
	}
	if conn2.frames[1][58]&0x80 == 0 {
		t.Errorf("router flag not set: flags %#x", conn2.frames[1][58])
	}
	for i := 1; i < len(conn2.times); i++ {
		if d := conn2.times[i].Sub(conn2.times[i-1]); d < gap {
			t.Errorf("gap before packet %d is %v, want ≥ %v", i, d, gap)
		}
	}
}

func TestAnnouncerStops(t *testing.T) {
	ifi := &net.Interface{Index: 3, Name: "eth0", HardwareAddr: testMAC}
	conn := &fakeConn{}
	a := New(ifi, conn)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := a.Announce(ctx, []netip.Addr{netip.MustParseAddr("192.0.2.200")}, 5, time.Hour)
	if !errors.Is(err, context.Canceled) || len(conn.frames) != 0 {
		t.Fatalf("cancelled announce: err %v, %d frames", err, len(conn.frames))
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = a.Announce(ctx, []netip.Addr{netip.MustParseAddr("192.0.2.200")}, 5, time.Hour)
	if !errors.Is(err, context.DeadlineExceeded) || len(conn.frames) != 1 {
		t.Fatalf("announce cut by deadline: err %v, %d frames (want 1)", err, len(conn.frames))
	}
	conn.err = errors.New("boom")
	if err := a.Announce(context.Background(), []netip.Addr{netip.MustParseAddr("192.0.2.200")}, 1, 0); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("send error not returned: %v", err)
	}
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]uint8{"": 0, "global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255, "17": 17} {
		got, err := ParseScope(in)
		if err != nil || uint8(got) != want {
			t.Errorf("ParseScope(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"bogus", "256", "-1"} {
		if _, err := ParseScope(bad); err == nil {
			t.Errorf("ParseScope(%q) accepted", bad)
		}
	}
}
