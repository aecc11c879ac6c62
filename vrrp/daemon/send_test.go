package daemon

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

// fakeBatch is a batchSocket that records what each Flush sent (copies,
// made at Flush: an encoding changed while queued shows).
type fakeBatch struct {
	queued  [][]byte
	dsts    []*netio.Dest
	flushes [][][]byte
	fail    map[int]error // index in the batch → error
	closed  bool
	counted int // noRecord: adverts sent
	// noRecord: Flush counts, records nothing (allocates nothing).
	noRecord bool
}

func (s *fakeBatch) Queue(p []byte, d *netio.Dest) {
	s.queued = append(s.queued, p)
	s.dsts = append(s.dsts, d)
}

func (s *fakeBatch) Flush(failed func(int, error)) int {
	if s.noRecord {
		n := len(s.queued)
		s.counted += n
		clear(s.queued)
		clear(s.dsts)
		s.queued, s.dsts = s.queued[:0], s.dsts[:0]
		return n
	}
	var sent [][]byte
	for i, p := range s.queued {
		if err := s.fail[i]; err != nil {
			failed(i, err)
			continue
		}
		sent = append(sent, append([]byte(nil), p...))
	}
	s.flushes = append(s.flushes, sent)
	s.queued, s.dsts = s.queued[:0], s.dsts[:0]
	return len(sent)
}

func (s *fakeBatch) Close() error { s.closed = true; return nil }

// sendRig is a sendPool whose sockets are fakeBatches, and ports on it.
type sendRig struct {
	pool  *sendPool
	socks map[sockKey]*fakeBatch
	src   netip.Addr
}

func newSendRig() *sendRig {
	r := &sendRig{socks: map[sockKey]*fakeBatch{}, src: netip.MustParseAddr("192.0.2.1")}
	r.pool = newSendPool()
	r.pool.open = func(ifindex int, _ string, src netip.Addr) (batchSocket, error) {
		s := &fakeBatch{}
		r.socks[sockKey{ifindex, src}] = s
		return s, nil
	}
	return r
}

// port binds a port on ifindex from the rig's source, to dsts.
func (r *sendRig) port(t *testing.T, ifindex int, dsts ...netip.Addr) *netPort {
	t.Helper()
	p := &netPort{log: zaptest.NewLogger(t), src: r.src, pool: r.pool}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	var err error
	if p.sock, err = r.pool.acquire(ifindex, "eth0", r.src); err != nil {
		t.Fatal(err)
	}
	for _, d := range dsts {
		p.encs = append(p.encs, encoded{dst: netio.NewDest(d, ifindex)})
	}
	return p
}

func v3Advert(vrid, prio uint8, vips ...string) vrrp.Advert {
	a := vrrp.Advert{Version: vrrp.V3, VRID: vrid, Priority: prio, Interval: 10 * time.Millisecond}
	for _, v := range vips {
		a.Addrs = append(a.Addrs, netip.MustParseAddr(v))
	}
	return a
}

func marshalFor(t *testing.T, a vrrp.Advert, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := a.Marshal(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Instances on one interface and source share one socket, and what they
// queue in a turn leaves in one Flush, each advert as vrrp.Advert.Marshal
// encodes it for its destination (the v3 checksum covers it).
// Reference: RFC 5798 §5.2.8 (the checksum covers the pseudo-header).
func TestSendSharedSocketOneFlush(t *testing.T) {
	r := newSendRig()
	peer := netip.MustParseAddr("192.0.2.9")
	p1 := r.port(t, 2, vrrp.GroupIPv4)
	p2 := r.port(t, 2, peer, netip.MustParseAddr("192.0.2.10"))
	p3 := r.port(t, 3, vrrp.GroupIPv4) // another interface
	if len(r.socks) != 2 {
		t.Fatalf("%d sockets for two interfaces, want 2", len(r.socks))
	}
	a1, a2, a3 := v3Advert(1, 150, "10.0.0.1"), v3Advert(2, 100, "10.0.0.2"), v3Advert(3, 200, "10.0.0.3")
	for _, c := range []struct {
		p *netPort
		a *vrrp.Advert
	}{{p1, &a1}, {p2, &a2}, {p3, &a3}} {
		if err := c.p.SendAdvert(c.a); err != nil {
			t.Fatal(err)
		}
	}
	if fails := r.pool.flush(); len(fails) != 0 {
		t.Fatalf("flush failures: %v", fails)
	}
	s2 := r.socks[sockKey{2, r.src}]
	if len(s2.flushes) != 1 {
		t.Fatalf("%d flushes of interface 2's socket, want 1", len(s2.flushes))
	}
	want := [][]byte{marshalFor(t, a1, r.src, vrrp.GroupIPv4), marshalFor(t, a2, r.src, peer), marshalFor(t, a2, r.src, netip.MustParseAddr("192.0.2.10"))}
	if got := s2.flushes[0]; len(got) != 3 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) || !bytes.Equal(got[2], want[2]) {
		t.Errorf("interface 2 sent\n%x\nwant\n%x", got, want)
	}
	if got := r.socks[sockKey{3, r.src}].flushes; len(got) != 1 || len(got[0]) != 1 {
		t.Errorf("interface 3 sent %x, want one advert", got)
	}
	if fails := r.pool.flush(); len(fails) != 0 || len(s2.flushes) != 1 {
		t.Errorf("an empty flush sent something (%d flushes) or failed (%v)", len(s2.flushes), fails)
	}
}

// The encoding is kept while the advert does not change; a new priority or
// VIP list is encoded again (checksum included), and an old encoding still
// queued leaves first, unchanged.
func TestSendEncodingKeptUntilTheAdvertChanges(t *testing.T) {
	r := newSendRig()
	p := r.port(t, 2, vrrp.GroupIPv4)
	s := r.socks[sockKey{2, r.src}]
	a := v3Advert(1, 150, "10.0.0.1")
	p.SendAdvert(&a)
	r.pool.flush()
	first := &p.encs[0].bytes[0]
	p.SendAdvert(&a)
	r.pool.flush()
	if &p.encs[0].bytes[0] != first {
		t.Error("an unchanged advert was encoded again")
	}
	// Priority 0 queued after priority 150 in the same turn: both go, in
	// order, each with its own checksum.
	p.SendAdvert(&a)
	a.Priority = 0
	p.SendAdvert(&a)
	r.pool.flush()
	a150 := a
	a150.Priority = 150
	want := [][]byte{marshalFor(t, a150, r.src, vrrp.GroupIPv4), marshalFor(t, a, r.src, vrrp.GroupIPv4)}
	var got [][]byte
	for _, f := range s.flushes[2:] {
		got = append(got, f...)
	}
	if len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
		t.Errorf("sent\n%x\nwant\n%x", got, want)
	}
	// A VIP list changed in place (a reload) is seen.
	a.Priority = 150
	a.Addrs[0] = netip.MustParseAddr("10.0.0.99")
	p.SendAdvert(&a)
	r.pool.flush()
	if last := s.flushes[len(s.flushes)-1]; len(last) != 1 || !bytes.Equal(last[0], marshalFor(t, a, r.src, vrrp.GroupIPv4)) {
		t.Errorf("after the VIP change sent %x", last)
	}
}

// A refused advert comes back with its port; the others of the batch go.
func TestSendFailureNamesThePort(t *testing.T) {
	r := newSendRig()
	p1, p2 := r.port(t, 2, vrrp.GroupIPv4), r.port(t, 2, vrrp.GroupIPv4)
	s := r.socks[sockKey{2, r.src}]
	s.fail = map[int]error{1: errors.New("ENOBUFS")}
	a1, a2 := v3Advert(1, 150), v3Advert(2, 150)
	p1.SendAdvert(&a1)
	p2.SendAdvert(&a2)
	fails := r.pool.flush()
	if len(fails) != 1 || fails[0].Port != p2 {
		t.Fatalf("failures %+v, want one of p2", fails)
	}
	if len(s.flushes[0]) != 1 {
		t.Errorf("%d adverts sent, want p1's", len(s.flushes[0]))
	}
}

// The last port to close closes the socket; a closing port's queued
// advert (a priority-0 advert at stop) is sent first.
func TestSendSocketReleasedByTheLastPort(t *testing.T) {
	r := newSendRig()
	p1, p2 := r.port(t, 2, vrrp.GroupIPv4), r.port(t, 2, vrrp.GroupIPv4)
	s := r.socks[sockKey{2, r.src}]
	a := v3Advert(1, 0)
	p1.SendAdvert(&a)
	if err := p1.Close(); err != nil {
		t.Fatal(err)
	}
	if s.closed || len(s.flushes) != 1 || len(s.flushes[0]) != 1 {
		t.Fatalf("after the first close: closed %v, flushes %d", s.closed, len(s.flushes))
	}
	if err := p2.Close(); err != nil {
		t.Fatal(err)
	}
	if !s.closed || len(r.pool.socks) != 0 {
		t.Errorf("after the last close: closed %v, %d sockets in the pool", s.closed, len(r.pool.socks))
	}
	p3 := r.port(t, 2, vrrp.GroupIPv4)
	if r.socks[sockKey{2, r.src}] == s {
		t.Error("a closed socket was reused")
	}
	p3.Close()
}

// Sending an unchanged advert and flushing allocates nothing: 255 masters
// at 10 ms are 25 500 adverts a second.
func TestSendAdvertDoesNotAllocate(t *testing.T) {
	r := newSendRig()
	var ports []*netPort
	var adverts []vrrp.Advert
	for i := range 16 {
		ports = append(ports, r.port(t, 2, vrrp.GroupIPv4))
		adverts = append(adverts, v3Advert(uint8(i+1), 150, "10.0.0.1"))
	}
	s := r.socks[sockKey{2, r.src}]
	s.noRecord = true
	round := func() {
		for i, p := range ports {
			if err := p.SendAdvert(&adverts[i]); err != nil {
				t.Fatal(err)
			}
		}
		r.pool.flush()
	}
	round()
	if allocs := testing.AllocsPerRun(100, round); allocs != 0 {
		t.Errorf("%.1f allocations per 16 adverts and a flush, want 0", allocs)
	}
	if s.counted != 16*102 {
		t.Errorf("%d adverts sent, want %d", s.counted, 16*102)
	}
}

// Masters whose adverts fall due together send them in one batch: the
// tick that steps them flushes once. An advert outside a tick (a
// transition, a priority-0 answer) goes at once.
func TestTickSendsInOneBatch(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	conf := ""
	for _, v := range []string{"1", "2", "3"} {
		conf += `
vrrp_instance VI_` + v + ` {
  state MASTER
  interface eth0
  virtual_router_id ` + v + `
  priority 255
  advert_int 1
  version 3
  virtual_ipaddress {
    192.0.2.10` + v + `/24
  }
}
`
	}
	r := newRig(t, env, conf)
	for _, n := range []string{"VI_1", "VI_2", "VI_3"} {
		r.wantState(n, vrrp.Master) // owners: MASTER at once
	}
	if env.flushes < 3 {
		t.Errorf("%d flushes for three owners' first adverts, want one each", env.flushes)
	}
	sent := func() (n int) {
		for _, p := range env.ports {
			n += len(p.sent)
		}
		return n
	}
	before, flushes := sent(), env.flushes
	r.advance(time.Second)
	if got := sent() - before; got != 3 {
		t.Fatalf("%d adverts after one interval, want 3", got)
	}
	if got := env.flushes - flushes; got != 1 {
		t.Errorf("%d flushes for three adverts due together, want 1", got)
	}
}
