package daemon

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp"
)

// warmFake is a fake dataplane with a name, a count of valid adverts per
// virtual router and a record of its Close.
type warmFake struct {
	*fakePlane
	name   string
	rcvd   map[rxKey]uint64
	closed int
}

func newWarmFake(name string, events chan any) *warmFake {
	p := newFakePlane()
	p.events = events
	return &warmFake{fakePlane: p, name: name}
}

func (p *warmFake) Name() string { return p.name }
func (p *warmFake) Close() error { p.closed++; return nil }
func (p *warmFake) counts() bool { return p.rcvd != nil }
func (p *warmFake) Received(k rxKey) (uint64, bool) {
	if !p.counts() {
		return 0, false
	}
	return p.rcvd[k], true
}

// warmRig is masterRig's configuration on a warmPlane whose first plane
// is a fake "socket" and whose load returns what the test gives it on
// loaded, when it gives it.
type warmRig struct {
	*rig
	w      *warmPlane
	sock   *warmFake
	events chan any
	loaded chan func() (Dataplane, error)
}

func newWarmRig(t *testing.T) *warmRig {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := buildRig(t, env, confMaster, Options{Log: zaptest.NewLogger(t)})
	wr := &warmRig{rig: r, events: make(chan any, 16), loaded: make(chan func() (Dataplane, error), 1)}
	wr.sock = newWarmFake("socket", wr.events)
	wr.w = newWarmPlane(zaptest.NewLogger(t), wr.events, wr.sock, func() (Dataplane, error) { return (<-wr.loaded)() })
	r.d.parts.plane = wr.w
	t.Cleanup(func() {
		select {
		case wr.loaded <- func() (Dataplane, error) { return nil, errors.New("test over") }:
		default:
		}
		wr.w.halt()
	})
	r.d.start(r.now)
	return wr
}

// load finishes the background load with p (or err) and delivers the
// loop event it causes.
func (wr *warmRig) load(p Dataplane, err error) {
	wr.t.Helper()
	wr.loaded <- func() (Dataplane, error) { return p, err }
	select {
	case ev := <-wr.events:
		if _, ok := ev.(planeSwitch); !ok {
			wr.t.Fatalf("event %T, want planeSwitch", ev)
		}
		wr.handle(ev)
	case <-time.After(5 * time.Second):
		wr.t.Fatal("no planeSwitch event after the load")
	}
}

// The warm start: the instance is bound and receives on the socket plane
// at once; when the kernel plane has loaded, the same bindings move to it,
// the socket plane closes, the status names the new plane, and the
// advert counts carry on from the socket plane's.
func TestWarmPlaneSwitchesWhenLoaded(t *testing.T) {
	wr := newWarmRig(t)
	wr.wantState("VI_1", vrrp.Backup)
	if _, ok := wr.sock.bound(51); !ok {
		t.Fatal("the instance is not bound on the socket plane before the load")
	}
	if got := wr.d.Status().Dataplane; got != "socket" {
		t.Errorf("status dataplane %q before the load, want socket", got)
	}
	// Adverts on the socket plane: the loop counts them.
	for range 3 {
		wr.handle(wr.peerAdvert("VI_1", 100, "192.0.2.9"))
	}
	kern := newWarmFake("xdp", wr.events)
	kern.rcvd = map[rxKey]uint64{}
	wr.load(kern, nil)

	b, ok := kern.bound(51)
	if !ok || b.Key != wr.inst("VI_1").key {
		t.Fatalf("kernel plane bindings %+v, want VI_1's", kern.binds)
	}
	if wr.sock.closed != 1 {
		t.Errorf("socket plane closed %d times at the switch, want 1", wr.sock.closed)
	}
	if got := wr.d.Status().Dataplane; got != "xdp" {
		t.Errorf("status dataplane %q after the switch, want xdp", got)
	}
	kern.rcvd[wr.inst("VI_1").key] = 2
	if got := wr.d.Status().Instances[0].Stats.AdvertRcvd; got != 5 {
		t.Errorf("adverts received %d after the switch, want 3 (socket) + 2 (kernel)", got)
	}
	// The loop now asks the kernel plane.
	wr.handle(planeTime{})
	if kern.checks != 1 || wr.sock.checks != 0 {
		t.Errorf("attachment checks: kernel %d, socket %d, want 1 and 0", kern.checks, wr.sock.checks)
	}
	if err := wr.w.Close(); err != nil {
		t.Fatal(err)
	}
	if kern.closed != 1 || wr.sock.closed != 1 {
		t.Errorf("Close: kernel closed %d, socket %d times, want 1 and 1", kern.closed, wr.sock.closed)
	}
	if _, open := <-wr.events; open {
		t.Error("events channel still open after Close")
	}
}

// A kernel plane that cannot load leaves the socket plane in use.
func TestWarmPlaneLoadFails(t *testing.T) {
	wr := newWarmRig(t)
	wr.load(nil, errors.New("no CAP_BPF"))
	if got := wr.d.Status().Dataplane; got != "socket" {
		t.Errorf("status dataplane %q, want socket", got)
	}
	if wr.sock.closed != 0 {
		t.Error("socket plane closed after a failed load")
	}
	wr.advance(4 * time.Second)
	wr.wantState("VI_1", vrrp.Master)
}

// A kernel plane that cannot receive on an interface is closed and the
// socket plane stays: an instance must not lose the receive path it has.
func TestWarmPlaneBindFails(t *testing.T) {
	wr := newWarmRig(t)
	kern := newWarmFake("xdp", wr.events)
	kern.fail = map[int]error{wr.inst("VI_1").key.ifindex: errors.New("attach refused")}
	wr.load(kern, nil)
	if kern.closed != 1 {
		t.Errorf("kernel plane closed %d times, want 1", kern.closed)
	}
	if wr.sock.closed != 0 || wr.d.Status().Dataplane != "socket" {
		t.Errorf("socket plane closed %d times, dataplane %q: want it kept", wr.sock.closed, wr.d.Status().Dataplane)
	}
	if f := wr.inst("VI_1").status.Fault; f != "" {
		t.Errorf("instance in fault %q after the failed switch", f)
	}
}

// Close during the load waits for it and closes what it loaded.
func TestWarmPlaneCloseDuringLoad(t *testing.T) {
	wr := newWarmRig(t)
	kern := newWarmFake("xdp", wr.events)
	closed := make(chan error, 1)
	go func() { closed <- wr.w.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while the load was running")
	case <-time.After(50 * time.Millisecond):
	}
	wr.loaded <- func() (Dataplane, error) { return kern, nil }
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the load ended")
	}
	if kern.closed != 1 || wr.sock.closed != 1 {
		t.Errorf("kernel closed %d, socket %d times, want 1 and 1", kern.closed, wr.sock.closed)
	}
}
