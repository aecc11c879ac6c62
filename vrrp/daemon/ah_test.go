package daemon

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

// fakeAHReceiver stands for the raw socket of protocol 51.
type fakeAHReceiver struct {
	group  netip.Addr
	ifaces []*net.Interface
	closed bool
}

func (r *fakeAHReceiver) Run(ctx context.Context, _ func(netio.RawPacket)) error {
	<-ctx.Done()
	return nil
}
func (r *fakeAHReceiver) Close() error { r.closed = true; return nil }

var (
	ahSrc  = netip.MustParseAddr("192.0.2.1")
	ahVIP  = netip.MustParseAddr("192.0.2.100")
	ahKey8 = [8]byte{'n', 'e', 'u', 't', 'r', 'o', 'n'}
)

// ahBinding is an AH instance (VRID 7 on ifindex 3) as the loop binds it.
func ahBinding() PlaneBinding {
	return PlaneBinding{Key: rxKey{ifindex: 3, vrid: 7}, Ifname: "ha-x", Group: netio.GroupV4,
		Expect: vrrp.Expect{Version: vrrp.V2, VRID: 7, Interval: time.Second, AuthType: vrrp.AuthAH, AuthData: ahKey8,
			VIPs: []netip.Addr{ahVIP}, OwnAddrs: []netip.Addr{netip.MustParseAddr("192.0.2.2")}}}
}

// newTestAHPlane wraps a fake dataplane; opened records the receivers it
// opens.
func newTestAHPlane(t *testing.T) (*ahPlane, *fakePlane, *[]*fakeAHReceiver, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	inner := newFakePlane()
	p := newAHPlane(zap.New(core), inner, newAHSessions(), &limiter{}, 16)
	var opened []*fakeAHReceiver
	p.open = func(g netip.Addr, ifaces []*net.Interface) (ahReceiver, error) {
		r := &fakeAHReceiver{group: g, ifaces: ifaces}
		opened = append(opened, r)
		return r, nil
	}
	t.Cleanup(func() { p.Close() })
	return p, inner, &opened, logs
}

// ahAdvert builds the AH packet of an advert for ahBinding.
func ahAdvert(t *testing.T, prio uint8, interval time.Duration, seq uint32, key [8]byte) netio.RawPacket {
	t.Helper()
	a := vrrp.Advert{Version: vrrp.V2, VRID: 7, Priority: prio, Interval: interval, AuthType: vrrp.AuthAH, Addrs: []netip.Addr{ahVIP}}
	msg, err := a.Marshal(ahSrc, netio.GroupV4)
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := vrrp.AppendAH(nil, vrrp.AHSend{Src: ahSrc, Dst: netio.GroupV4, ID: 1, TTL: vrrp.TTL, Seq: seq, Key: key}, msg)
	if err != nil {
		t.Fatal(err)
	}
	return netio.RawPacket{Ifindex: 3, Data: pkt}
}

// nextEvent returns the event queued, or nil.
func nextEvent(p *ahPlane) any {
	select {
	case ev := <-p.Events():
		return ev
	default:
		return nil
	}
}

// AH instances go to the socket of protocol 51, the others stay with the
// wrapped dataplane (the kernel path keeps them).
func TestAHPlaneSplitsBindings(t *testing.T) {
	p, inner, opened, _ := newTestAHPlane(t)
	pass := PlaneBinding{Key: rxKey{ifindex: 3, vrid: 8}, Ifname: "ha-x", Group: netio.GroupV4,
		Expect: vrrp.Expect{Version: vrrp.V2, VRID: 8, Interval: time.Second, AuthType: vrrp.AuthPass}}
	ah := ahBinding()
	if failed := p.Bind([]PlaneBinding{ah, pass}); len(failed) != 0 {
		t.Fatalf("Bind failed: %v", failed)
	}
	if len(inner.binds) != 1 || inner.binds[0].Key != pass.Key {
		t.Errorf("wrapped dataplane got %+v, want the PASS instance only", inner.binds)
	}
	if len(*opened) != 1 || (*opened)[0].group != netio.GroupV4 || len((*opened)[0].ifaces) != 1 || (*opened)[0].ifaces[0].Index != 3 {
		t.Fatalf("ah receivers opened: %+v", *opened)
	}
	// Same set: the socket stays.
	p.Bind([]PlaneBinding{pass, ah})
	if len(*opened) != 1 {
		t.Errorf("an unchanged binding reopened the ah socket")
	}
	inner.last[pass.Key] = vrrp.AdvertReceived{Src: ahSrc}
	inner.last[ah.Key] = vrrp.AdvertReceived{Src: ahSrc}
	if _, _, ok := p.Last(ah.Key); ok {
		t.Error("Last of an AH instance came from the wrapped dataplane")
	}
	if _, _, ok := p.Last(pass.Key); !ok {
		t.Error("Last of the PASS instance did not come from the wrapped dataplane")
	}
	if _, ok := p.Received(ah.Key); ok {
		t.Error("Received of an AH instance: the loop counts those")
	}
	// No AH instance left: the socket closes.
	p.Bind([]PlaneBinding{pass})
	if !(*opened)[0].closed {
		t.Error("the ah socket stayed open without an AH instance")
	}
	// A receive failure faults the AH instances' interface only.
	p.open = func(netip.Addr, []*net.Interface) (ahReceiver, error) { return nil, net.ErrClosed }
	failed := p.Bind([]PlaneBinding{pass, {Key: rxKey{ifindex: 4, vrid: 7}, Ifname: "ha-y", Group: netio.GroupV4, Expect: ah.Expect}})
	if len(failed) != 1 || failed[4] == nil {
		t.Errorf("failed = %v, want ifindex 4 only", failed)
	}
}

// Reference: RFC 2338 §5.3.6.3 and keepalived 2.2.7's receive checks (ICV,
// SPI, then a sequence number above the last one).
func TestAHPlaneReceive(t *testing.T) {
	p, _, _, logs := newTestAHPlane(t)
	p.Bind([]PlaneBinding{ahBinding()})

	p.receive(ahAdvert(t, 150, time.Second, 41, ahKey8))
	ev, ok := nextEvent(p).(planeAdvert)
	if !ok || ev.Key != (rxKey{ifindex: 3, vrid: 7}) || ev.Recv.Advert.Priority != 150 || ev.Recv.Src != ahSrc {
		t.Fatalf("valid advert: %+v", ev)
	}
	// The instance's sender continues above what it accepted.
	if seq, id := p.sessions.get(ahKey{ifname: "ha-x", vrid: 7}).nextSend(); seq != 42 || id != 1 {
		t.Errorf("next send: seq %d id %d, want 42 and 1", seq, id)
	}

	// A replay (and a number we sent ourselves) is dropped without a
	// sample: no "configuration differs" warning.
	p.receive(ahAdvert(t, 150, time.Second, 41, ahKey8))
	p.receive(ahAdvert(t, 150, time.Second, 42, ahKey8))
	if ev := nextEvent(p); ev != nil {
		t.Fatalf("replay queued %+v", ev)
	}
	if n := logs.FilterMessage("ipsec ah advert dropped: sequence number not above the last one").Len(); n != 1 {
		t.Errorf("%d replay log lines, want 1 (once a minute per peer)", n)
	}
	p.receive(ahAdvert(t, 150, time.Second, 43, ahKey8))
	if _, ok := nextEvent(p).(planeAdvert); !ok {
		t.Error("seq 43 after 42 was not accepted")
	}

	// Another auth_pass: dropped as auth_data_mismatch, sampled for the
	// loop's warning, and a log line that says so.
	wrong := ahKey8
	wrong[0] = 'N'
	p.receive(ahAdvert(t, 150, time.Second, 44, wrong))
	if d, ok := nextEvent(p).(planeDrop); !ok || d.Reason != vrrp.DropAuthData || d.Src != ahSrc || d.VRID != 7 {
		t.Fatalf("wrong auth_pass: %+v", d)
	}
	if e := logs.FilterMessage("ipsec ah advert failed authentication: dropped").All(); len(e) != 1 ||
		e[0].ContextMap()["error"] != vrrp.ErrAHICV.Error() {
		t.Errorf("log lines for a wrong auth_pass: %+v", e)
	}
	// The failed advert did not move the counter.
	p.receive(ahAdvert(t, 150, time.Second, 44, ahKey8))
	if _, ok := nextEvent(p).(planeAdvert); !ok {
		t.Error("seq 44 with the right key after a forged 44 was not accepted")
	}

	// The instance's own checks apply as on any dataplane.
	p.receive(ahAdvert(t, 150, 2*time.Second, 45, ahKey8))
	if d, ok := nextEvent(p).(planeDrop); !ok || d.Reason != vrrp.DropIntervalMismatch {
		t.Errorf("advert_int 2: %+v", d)
	}

	// AH for another protocol is IPsec traffic, not counted.
	other := ahAdvert(t, 150, time.Second, 46, ahKey8)
	other.Data[20] = 17
	var before planeCounters
	p.Counters(&before)
	p.receive(other)
	var after planeCounters
	p.Counters(&after)
	if after.Received != before.Received || nextEvent(p) != nil {
		t.Error("AH for UDP was counted or queued")
	}
	if after.Accepted != 3 || after.Drops[vrrp.DropAuthData] != 3 || after.Drops[vrrp.DropIntervalMismatch] != 1 || after.Received != 7 {
		t.Errorf("counters %+v", after)
	}
}

// With a dataplane that is not one of ours, its events are forwarded, and
// Close closes the channel.
func TestAHPlaneForwards(t *testing.T) {
	inner := newFakePlane()
	p := newAHPlane(zap.NewNop(), inner, newAHSessions(), &limiter{}, 4)
	inner.events <- planeDrop{VRID: 9}
	select {
	case ev := <-p.Events():
		if d, ok := ev.(planeDrop); !ok || d.VRID != 9 {
			t.Errorf("forwarded %+v", ev)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("event of the wrapped dataplane not forwarded")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-p.Events(); ok {
		t.Error("Events still open after Close")
	}
}

// handoffFake is a dataplane with kernel state.
type handoffFake struct {
	*fakePlane
	released bool
}

func (h *handoffFake) attachments() []AttachmentHandoff  { return []AttachmentHandoff{{Ifindex: 5}} }
func (h *handoffFake) inherit([]AttachmentHandoff) error { return nil }
func (h *handoffFake) release() error                    { h.released = true; return nil }
func (h *handoffFake) pin(string) error                  { return nil }

// The wrapper keeps a kernel dataplane's handover (an upgrade) working.
func TestWithAHKeepsHandoff(t *testing.T) {
	if _, ok := withAH(zap.NewNop(), newFakePlane(), newAHSessions(), &limiter{}, 4).(handoffPlane); ok {
		t.Error("a plain dataplane became a handoffPlane")
	}
	h := &handoffFake{fakePlane: newFakePlane()}
	w, ok := withAH(zap.NewNop(), h, newAHSessions(), &limiter{}, 4).(handoffPlane)
	if !ok {
		t.Fatal("the kernel dataplane's handover is hidden by the wrapper")
	}
	if as := w.attachments(); len(as) != 1 || as[0].Ifindex != 5 {
		t.Errorf("attachments %+v", as)
	}
	if err := w.release(); err != nil || !h.released {
		t.Errorf("release: %v, released %t", err, h.released)
	}
}

// keepalived's IP identification counts from 1 and skips 0.
func TestAHSessionID(t *testing.T) {
	s := &ahSession{id: 0xfffe}
	for _, want := range []uint16{0xffff, 1, 2} {
		if _, id := s.nextSend(); id != want {
			t.Errorf("id %#x, want %#x", id, want)
		}
	}
}
