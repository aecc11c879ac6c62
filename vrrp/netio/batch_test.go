package netio

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// batchPair opens a BatchSocket on A from src and a receiver of group on
// B.
func batchPair(t *testing.T, topo *netnstest.Topology, src, group netip.Addr) (*BatchSocket, *Receiver) {
	t.Helper()
	var s *BatchSocket
	if err := topo.A.Do(func() error {
		var err error
		s, err = NewBatchSocket(topo.A.Link.Index, topo.IfName, src)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var r *Receiver
	if err := topo.B.Do(func() error {
		var err error
		r, err = NewReceiver(group, []*net.Interface{topo.B.Link.Interface()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return s, r
}

// readAll reads n packets (3 s at most).
func readAll(t *testing.T, r *Receiver, n int) []Packet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var got []Packet
	for len(got) < n {
		p, err := r.Read(ctx)
		if err != nil {
			t.Fatalf("after %d of %d packets: %v", len(got), n, err)
		}
		got = append(got, p)
	}
	return got
}

// One Flush sends every queued advert, to the group and to unicast peers,
// each as it was queued, with the TTL, source and destination a Sender
// gives them, IPv4 and IPv6 (link-local source, zone from the interface).
// Reference: RFC 5798 §5.1.1.3, §5.1.2.3 (TTL / hop limit 255), §5.1.2.1
// (IPv6 link-local source).
func TestBatchSocketSendsEveryAdvert(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	for _, tc := range []struct {
		name  string
		src   netip.Addr
		group netip.Addr
		peer  netip.Addr
	}{
		{"ipv4", topo.A.Addr4(), GroupV4, topo.B.Addr4()},
		{"ipv6", topo.A.Link.LinkLocal, GroupV6, topo.B.Link.LinkLocal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, r := batchPair(t, topo, tc.src, tc.group)
			group, peer := NewDest(tc.group, topo.A.Link.Index), NewDest(tc.peer, topo.A.Link.Index)
			msgs := [][]byte{{0x31, 1, 100, 0, 0, 100, 0xde, 0xad}, {0x31, 2, 101, 0, 0, 100, 0xbe, 0xef}, {0x31, 3, 102, 0, 0, 100, 0x12, 0x34}}
			s.Queue(msgs[0], group)
			s.Queue(msgs[1], peer)
			s.Queue(msgs[2], group)
			if s.Queued() != 3 {
				t.Fatalf("queued %d, want 3", s.Queued())
			}
			if n := s.Flush(func(i int, err error) { t.Errorf("message %d: %v", i, err) }); n != 3 {
				t.Fatalf("Flush sent %d, want 3", n)
			}
			if s.Queued() != 0 {
				t.Errorf("%d still queued after Flush", s.Queued())
			}
			got := readAll(t, r, 3)
			for i, p := range got {
				want, dst := msgs[i], tc.group
				if i == 1 {
					dst = tc.peer
				}
				if !bytes.Equal(p.Payload, want) || p.Src != tc.src || p.Dst != dst || p.TTL != 255 {
					t.Errorf("packet %d: payload %x from %v to %v TTL %d, want %x from %v to %v TTL 255",
						i, p.Payload, p.Src, p.Dst, p.TTL, want, tc.src, dst)
				}
			}
		})
	}
}

// A message the kernel refuses is reported by its index and skipped; the
// others of the batch still go.
func TestBatchSocketSkipsAFailedMessage(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	s, r := batchPair(t, topo, topo.A.Addr4(), GroupV4)
	group := NewDest(GroupV4, topo.A.Link.Index)
	// Broadcast without SO_BROADCAST: the kernel refuses it (EACCES).
	wrong := NewDest(netip.MustParseAddr("255.255.255.255"), topo.A.Link.Index)
	a, b := []byte{0x31, 1, 100, 0, 0, 100, 0, 1}, []byte{0x31, 1, 100, 0, 0, 100, 0, 2}
	s.Queue(a, group)
	s.Queue(a, wrong)
	s.Queue(b, group)
	var failed []int
	var ferr error
	if n := s.Flush(func(i int, err error) { failed, ferr = append(failed, i), err }); n != 2 {
		t.Errorf("Flush sent %d, want 2", n)
	}
	if len(failed) != 1 || failed[0] != 1 || ferr == nil {
		t.Errorf("failed %v (%v), want message 1 with an error", failed, ferr)
	}
	got := readAll(t, r, 2)
	if !bytes.Equal(got[0].Payload, a) || !bytes.Equal(got[1].Payload, b) {
		t.Errorf("received %x and %x, want %x and %x", got[0].Payload, got[1].Payload, a, b)
	}
}

// Queue and Flush allocate nothing once the batch has its working size:
// 255 masters at 10 ms are 25 500 adverts a second.
func TestBatchSocketDoesNotAllocate(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	s, _ := batchPair(t, topo, topo.A.Addr4(), GroupV4)
	group := NewDest(GroupV4, topo.A.Link.Index)
	msg := []byte{0x31, 1, 100, 0, 0, 100, 0, 1}
	var errs []error
	allocs := testing.AllocsPerRun(200, func() {
		for range 8 {
			s.Queue(msg, group)
		}
		s.Flush(func(_ int, err error) { errs = append(errs, err) })
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per Queue×8 + Flush, want 0", allocs)
	}
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}
