package netio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"golang.org/x/sys/unix"
)

// capture opens an AF_PACKET socket receiving every frame on node's link.
func capture(t *testing.T, node *netnstest.Node) *packet.Conn {
	t.Helper()
	var c *packet.Conn
	if err := node.Do(func() error {
		var err error
		c, err = packet.Listen(node.Link.Interface(), packet.Raw, unix.ETH_P_ALL, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// collect reads frames until keep has accepted want of them or the timeout.
func collect(t *testing.T, c *packet.Conn, want int, timeout time.Duration, keep func([]byte) bool) [][]byte {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	buf := make([]byte, 2048)
	for len(got) < want {
		n, _, err := c.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if keep(buf[:n]) {
			got = append(got, append([]byte(nil), buf[:n]...))
		}
	}
	return got
}

func isARP(f []byte) bool { return len(f) >= 42 && binary.BigEndian.Uint16(f[12:14]) == etherTypeARP }

func isNA(f []byte) bool {
	return len(f) >= 78 && binary.BigEndian.Uint16(f[12:14]) == etherTypeIPv6 && f[20] == protoICMPv6 && f[54] == icmpv6TypeNA
}

// Reference: RFC 5798 §6.4.1 / §8.1.2 (gratuitous ARP for each IPv4 VIP),
// §8.2 and RFC 4861 §7.2.6 (unsolicited NA for each IPv6 VIP).
func TestAnnounceOnTheWire(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	var a *Announcer
	if err := topo.A.Do(func() error {
		var err error
		a, err = Dial(topo.A.Link.Interface())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c := capture(t, topo.B)

	v4, v6 := netip.MustParseAddr("192.0.2.200"), netip.MustParseAddr("2001:db8::200")
	const repeat = 3
	if err := a.Announce(context.Background(), []netip.Addr{v4, v6}, repeat, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	mac := topo.A.Link.HardwareAddr
	fromA := func(f []byte) bool { return bytes.Equal(f[6:12], mac) }
	arps := collect(t, c, 2*repeat, 2*time.Second, func(f []byte) bool { return isARP(f) && fromA(f) })
	if len(arps) != 2*repeat {
		t.Fatalf("peer saw %d gratuitous ARPs, want %d", len(arps), 2*repeat)
	}
	c2 := capture(t, topo.B)
	if err := a.Announce(context.Background(), []netip.Addr{v6}, repeat, 0); err != nil {
		t.Fatal(err)
	}
	nas := collect(t, c2, repeat, 2*time.Second, func(f []byte) bool { return isNA(f) && fromA(f) })
	if len(nas) != repeat {
		t.Fatalf("peer saw %d neighbor advertisements, want %d", len(nas), repeat)
	}

	for i, f := range arps {
		// Field by field (RFC 826 layout, RFC 5944 §4.6 values).
		op := uint16(arpOpRequest)
		if i%2 == 1 {
			op = arpOpReply
		}
		checks := []struct {
			name      string
			got, want []byte
		}{
			{"dst mac", f[0:6], ethBroadcast},
			{"src mac", f[6:12], mac},
			{"htype", f[14:16], []byte{0, 1}},
			{"ptype", f[16:18], []byte{8, 0}},
			{"hlen plen", f[18:20], []byte{6, 4}},
			{"op", f[20:22], []byte{0, byte(op)}},
			{"sha", f[22:28], mac},
			{"spa", f[28:32], v4.AsSlice()},
			{"tpa", f[38:42], v4.AsSlice()},
		}
		if op == arpOpReply {
			checks = append(checks, struct {
				name      string
				got, want []byte
			}{"tha", f[32:38], mac})
		} else {
			checks = append(checks, struct {
				name      string
				got, want []byte
			}{"tha", f[32:38], make([]byte, 6)})
		}
		for _, ch := range checks {
			if !bytes.Equal(ch.got, ch.want) {
				t.Errorf("arp %d %s = %x, want %x", i, ch.name, ch.got, ch.want)
			}
		}
	}
	allNodes16 := allNodes.As16()
	for i, f := range nas {
		ip := f[14:]
		na := ip[40:]
		checks := []struct {
			name      string
			got, want []byte
		}{
			{"dst mac", f[0:6], []byte{0x33, 0x33, 0, 0, 0, 1}},
			{"src mac", f[6:12], mac},
			{"version", []byte{ip[0] >> 4}, []byte{6}},
			{"payload length", ip[4:6], []byte{0, 32}},
			{"next header", ip[6:7], []byte{58}},
			{"hop limit", ip[7:8], []byte{255}},
			{"src", ip[8:24], v6.AsSlice()},
			{"dst", ip[24:40], allNodes16[:]},
			{"type code", na[0:2], []byte{136, 0}},
			{"flags", na[4:8], []byte{0x20, 0, 0, 0}}, // O=1, S=0, R=0
			{"target", na[8:24], v6.AsSlice()},
			{"option", na[24:32], append([]byte{2, 1}, mac...)},
		}
		for _, ch := range checks {
			if !bytes.Equal(ch.got, ch.want) {
				t.Errorf("na %d %s = %x, want %x", i, ch.name, ch.got, ch.want)
			}
		}
		if sum := ICMPv6Checksum(v6, allNodes, na[:32]); sum != 0 {
			t.Errorf("na %d checksum does not verify (%#x)", i, sum)
		}
	}
}

// Reference: RFC 5798 §5.1.1.3 and §5.1.2.3 (TTL / hop limit 255),
// §5.1.2.1 (IPv6 source is the link-local address), §5.1.1.2 / §5.1.2.2
// (destination 224.0.0.18 / ff02::12).
func TestAdvertSendReceive(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	for _, tc := range []struct {
		name    string
		src     netip.Addr
		group   netip.Addr
		peers   []netip.Addr
		wantDst netip.Addr
	}{
		{"ipv4-multicast", topo.A.Addr4(), GroupV4, nil, GroupV4},
		{"ipv6-multicast", topo.A.Link.LinkLocal, GroupV6, nil, GroupV6},
		{"ipv4-unicast", topo.A.Addr4(), GroupV4, []netip.Addr{topo.B.Addr4()}, topo.B.Addr4()},
		{"ipv6-unicast", topo.A.Addr6(), GroupV6, []netip.Addr{topo.B.Addr6()}, topo.B.Addr6()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s *Sender
			var r, self *Receiver
			if err := topo.A.Do(func() error {
				var err error
				s, err = NewSender(SenderConfig{Ifindex: topo.A.Link.Index, Ifname: topo.IfName, Src: tc.src, Group: tc.group, Peers: tc.peers})
				if err != nil {
					return err
				}
				self, err = NewReceiver(tc.group, []*net.Interface{topo.A.Link.Interface()})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			defer self.Close()
			if err := topo.B.Do(func() error {
				var err error
				r, err = NewReceiver(tc.group, []*net.Interface{topo.B.Link.Interface()})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer r.Close()

			// A v3-looking payload with arbitrary checksum bytes: they must
			// arrive untouched (IPV6_CHECKSUM is off).
			payload := []byte{0x31, 7, 100, 1, 0x00, 0x64, 0xde, 0xad, 192, 0, 2, 200}
			if tc.src.Is6() {
				payload = append(payload[:8:8], netip.MustParseAddr("2001:db8::200").AsSlice()...)
			}
			if err := s.Send(payload); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			p, err := r.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p.TTL != 255 {
				t.Errorf("TTL/hop limit %d, want 255", p.TTL)
			}
			if p.Ifindex != topo.B.Link.Index {
				t.Errorf("ifindex %d, want %d", p.Ifindex, topo.B.Link.Index)
			}
			if p.Src != tc.src {
				t.Errorf("src %v, want %v", p.Src, tc.src)
			}
			if p.Dst != tc.wantDst {
				t.Errorf("dst %v, want %v", p.Dst, tc.wantDst)
			}
			if !bytes.Equal(p.Payload, payload) {
				t.Errorf("payload %x, want %x", p.Payload, payload)
			}
			// Multicast loopback is off: the sender's own namespace does not
			// get its advert back.
			if len(tc.peers) == 0 {
				sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer scancel()
				if p, err := self.Read(sctx); err == nil {
					t.Errorf("sender's namespace received its own advert: %+v", p)
				} else if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("self read: %v", err)
				}
			}
		})
	}
}

// A receiver only reports packets from the interfaces it joined on.
func TestReceiverInterfaceFilter(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	// A second link on B, on another bridge, where A sends nothing; B joins
	// only there.
	br2 := netnstest.Bridge(t)
	other := topo.B.ConnectTo(t, br2, "eth1")
	var r *Receiver
	if err := topo.B.Do(func() error {
		var err error
		r, err = NewReceiver(GroupV4, []*net.Interface{other.Interface()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s *Sender
	if err := topo.A.Do(func() error {
		var err error
		s, err = NewSender(SenderConfig{Ifindex: topo.A.Link.Index, Ifname: topo.IfName, Src: topo.A.Addr4(), Peers: []netip.Addr{topo.B.Addr4()}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Send([]byte{0x31, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if p, err := r.Read(ctx); err == nil {
		t.Fatalf("packet from eth0 reported by a receiver joined on eth1 only: %+v", p)
	}
	// Joining eth0 too makes it visible.
	if err := r.Join(topo.B.Link.Interface()); err != nil {
		t.Fatal(err)
	}
	if err := s.Send([]byte{0x31, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	if p, err := r.Read(ctx2); err != nil || p.Ifindex != topo.B.Link.Index {
		t.Fatalf("after join: %+v, %v", p, err)
	}
}

// Close unblocks Run, which returns nil, and leaves no goroutine behind.
func TestReceiverClose(t *testing.T) {
	testenv.RequireRoot(t)
	n := netnstest.New(t, "rxclose")
	before := runtime.NumGoroutine()
	for _, g := range []netip.Addr{GroupV4, GroupV6} {
		var r *Receiver
		if err := n.Do(func() error {
			var err error
			r, err = NewReceiver(g, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- r.Run(context.Background(), func(Packet) {}) }()
		time.Sleep(20 * time.Millisecond)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after Close returned %v, want nil", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Run still blocked after Close")
		}
		if _, err := r.Read(context.Background()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: %v, want net.ErrClosed", err)
		}
		// Cancelling the context unblocks too.
		if err := n.Do(func() error {
			var err error
			r, err = NewReceiver(g, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { done <- r.Run(ctx, func(Packet) {}) }()
		time.Sleep(20 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after cancel returned %v, want nil", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Run still blocked after cancel")
		}
		r.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines after closing, %d before", g, before)
	}
}
