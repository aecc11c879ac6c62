package netio

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp"
)

// ahPacket builds an AH advert from src to dst as keepalived would send it.
func ahPacket(t *testing.T, src, dst netip.Addr, seq uint32, unicast bool) []byte {
	t.Helper()
	a := vrrp.Advert{Version: vrrp.V2, VRID: 9, Priority: 120, Interval: time.Second, AuthType: vrrp.AuthAH,
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.200")}}
	msg, err := a.Marshal(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := vrrp.AppendAH(nil, vrrp.AHSend{Src: src, Dst: dst, ID: uint16(seq), TTL: vrrp.TTL, Seq: seq,
		Unicast: unicast, Key: [8]byte{'k'}}, msg)
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

// The AH packet leaves exactly as built (IP_HDRINCL: TOS 0xc0, TTL 255 and
// the identification kept, the ICV still verifying) and the receiver gets
// it whole, IP header included, with its arrival interface; multicast
// loopback is off.
// Reference: RFC 2338 §5.3.6.3; keepalived 2.2.7 builds the IP header itself.
func TestAHSendReceive(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	for _, tc := range []struct {
		name  string
		peers []netip.Addr
		dst   netip.Addr
	}{
		{"multicast", nil, GroupV4},
		{"unicast", []netip.Addr{topo.B.Addr4()}, topo.B.Addr4()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s *AHSender
			var self, r *AHReceiver
			if err := topo.A.Do(func() error {
				var err error
				s, err = NewAHSender(SenderConfig{Ifindex: topo.A.Link.Index, Ifname: topo.IfName, Src: topo.A.Addr4(), Peers: tc.peers})
				if err != nil {
					return err
				}
				self, err = NewAHReceiver(GroupV4, []*net.Interface{topo.A.Link.Interface()})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			defer self.Close()
			if err := topo.B.Do(func() error {
				var err error
				r, err = NewAHReceiver(GroupV4, []*net.Interface{topo.B.Link.Interface()})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if d := s.Destinations(); len(d) != 1 || d[0] != tc.dst {
				t.Fatalf("Destinations = %v, want [%v]", d, tc.dst)
			}
			pkt := ahPacket(t, topo.A.Addr4(), tc.dst, 7, len(tc.peers) > 0)
			if err := s.SendTo(pkt, tc.dst); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			p, err := r.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p.Ifindex != topo.B.Link.Index {
				t.Errorf("ifindex %d, want %d", p.Ifindex, topo.B.Link.Index)
			}
			if !bytes.Equal(p.Data, pkt) {
				t.Errorf("received\n%x\nsent\n%x", p.Data, pkt)
			}
			ap, reason := vrrp.ParseAH(p.Data)
			if reason != vrrp.DropNone {
				t.Fatal(reason)
			}
			if err := ap.Authenticate([8]byte{'k'}, len(tc.peers) > 0); err != nil {
				t.Error(err)
			}
			if len(tc.peers) == 0 {
				sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer scancel()
				if p, err := self.Read(sctx); err == nil {
					t.Errorf("sender's namespace received its own advert: %x", p.Data)
				} else if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("self read: %v", err)
				}
			}
		})
	}
}

// A receiver reports packets from the interfaces it joined on only;
// Close unblocks Run, which returns nil, and Read then says os.ErrClosed.
func TestAHReceiverFilterAndClose(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	var s *AHSender
	var r *AHReceiver
	if err := topo.A.Do(func() error {
		var err error
		s, err = NewAHSender(SenderConfig{Ifindex: topo.A.Link.Index, Ifname: topo.IfName, Src: topo.A.Addr4()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	// joined holds the group on B's link, so the kernel delivers the
	// packet to every raw socket of protocol 51 there, r included.
	var joined *AHReceiver
	if err := topo.B.Do(func() error {
		var err error
		if r, err = NewAHReceiver(GroupV4, []*net.Interface{{Index: 1, Name: lo.Name}}); err != nil {
			return err
		}
		joined, err = NewAHReceiver(GroupV4, []*net.Interface{topo.B.Link.Interface()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer joined.Close()
	if err := s.SendTo(ahPacket(t, topo.A.Addr4(), GroupV4, 1, false), GroupV4); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if p, err := joined.Read(ctx); err != nil || p.Ifindex != topo.B.Link.Index {
		t.Fatalf("receiver joined on %s: %+v, %v", topo.IfName, p, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if p, err := r.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("packet from an interface not joined: %+v, %v", p, err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background(), func(RawPacket) {}) }()
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
	if _, err := r.Read(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: %v, want os.ErrClosed", err)
	}
}

func TestAHSenderNeedsIPv4(t *testing.T) {
	if _, err := NewAHSender(SenderConfig{Ifname: "x", Src: netip.MustParseAddr("fe80::1")}); err == nil {
		t.Error("an ipv6 source was accepted")
	}
	if _, err := NewAHReceiver(GroupV6, nil); err == nil {
		t.Error("an ipv6 group was accepted")
	}
}
