package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/netio"
	"github.com/xvrrp/xvrrp/vrrp/notify"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// The fakes below stand for the host, the dataplane, the trackers and
// the notifier, so that the loop's decisions are tested without root, in
// milliseconds, by calling Daemon.handle with a fake clock.

// fakeLink is an interface of the fake host.
type fakeLink struct {
	index int
	addrs []netip.Addr // the first IPv4 one is the primary
}

// fakeEnv is the fake host: links by name, addresses held, what was sent.
type fakeEnv struct {
	links map[string]*fakeLink
	// vips held, as "addr@index".
	vips   map[string]bool
	ports  []*fakePort
	nextIf int
	log    []string
	// flushes counts Flush calls (the batches of the send path).
	flushes int
	// hasCalls counts HasVIP calls (each lists the interface's
	// addresses on a real host).
	hasCalls int
}

func newFakeEnv() *fakeEnv {
	return &fakeEnv{links: map[string]*fakeLink{}, vips: map[string]bool{}, nextIf: 10}
}

// addLink creates (or recreates, with a new index) a link with addrs.
func (e *fakeEnv) addLink(name string, addrs ...string) *fakeLink {
	e.nextIf++
	l := &fakeLink{index: e.nextIf}
	for _, a := range addrs {
		l.addrs = append(l.addrs, netip.MustParseAddr(a))
	}
	e.links[name] = l
	return l
}

func (e *fakeEnv) byIndex(i int) (string, *fakeLink) {
	for n, l := range e.links {
		if l.index == i {
			return n, l
		}
	}
	return "", nil
}

func (e *fakeEnv) Bind(in *config.Instance, vips []netio.VIP) (Binding, error) {
	l := e.links[in.Interface]
	if l == nil {
		return Binding{}, fmt.Errorf("interface %s: link not found", in.Interface)
	}
	src := in.UnicastSrc
	for _, a := range l.addrs {
		if !src.IsValid() && a.Is4() == (in.Family() == config.IPv4) {
			src = a
		}
	}
	if !src.IsValid() {
		return Binding{}, errors.New("no address")
	}
	p := &fakePort{env: e, ifindex: l.index}
	e.ports = append(e.ports, p)
	return Binding{Ifindex: l.index, Ifname: in.Interface, Src: src, Own: []netip.Addr{src}, Port: p}, nil
}

func (e *fakeEnv) vipKey(v netio.VIP) (string, error) {
	idx := v.Index
	if idx == 0 {
		l := e.links[v.Dev]
		if l == nil {
			return "", fmt.Errorf("link %s not found", v.Dev)
		}
		idx = l.index
	}
	if _, l := e.byIndex(idx); l == nil {
		return "", fmt.Errorf("link %d not found", idx)
	}
	return fmt.Sprintf("%v@%d", v.Prefix.Addr(), idx), nil
}

func (e *fakeEnv) AddVIP(v netio.VIP) error {
	k, err := e.vipKey(v)
	if err != nil {
		return err
	}
	e.vips[k] = true
	e.log = append(e.log, "add "+k)
	return nil
}

func (e *fakeEnv) DelVIP(v netio.VIP) error {
	k, err := e.vipKey(v)
	if err != nil {
		return nil // gone with its link
	}
	delete(e.vips, k)
	e.log = append(e.log, "del "+k)
	return nil
}

func (e *fakeEnv) HasVIP(v netio.VIP) (bool, error) {
	e.hasCalls++
	k, err := e.vipKey(v)
	if err != nil {
		return false, nil
	}
	return e.vips[k], nil
}

func (e *fakeEnv) Watch(ctx context.Context, out chan<- any) error { <-ctx.Done(); return nil }
func (e *fakeEnv) Flush() []SendFailure                            { e.flushes++; return nil }

// holds tells whether addr is held on the link named dev.
func (e *fakeEnv) holds(dev, addr string) bool {
	l := e.links[dev]
	return l != nil && e.vips[fmt.Sprintf("%v@%d", netip.MustParseAddr(addr), l.index)]
}

// fakePort records what an instance sent.
type fakePort struct {
	env       *fakeEnv
	ifindex   int
	sent      []uint8 // priorities
	announced int
	bursts    []Burst // what each Announce asked for
	closed    bool
}

func (p *fakePort) SendAdvert(a *vrrp.Advert) error {
	if p.closed {
		return errors.New("closed")
	}
	if _, l := p.env.byIndex(p.ifindex); l == nil {
		return errors.New("no such device")
	}
	p.sent = append(p.sent, a.Priority)
	return nil
}
func (p *fakePort) Announce(_ []netio.VIP, b Burst) {
	p.announced++
	p.bursts = append(p.bursts, b)
}
func (p *fakePort) Close() error { p.closed = true; return nil }

// fakePlane is a dataplane that records bindings and plays back what a
// test queues.
type fakePlane struct {
	binds  []PlaneBinding
	fail   map[int]error
	last   map[rxKey]vrrp.AdvertReceived
	lost   []planeLost
	events chan any
	checks int
}

func newFakePlane() *fakePlane {
	return &fakePlane{last: map[rxKey]vrrp.AdvertReceived{}, events: make(chan any, 16)}
}

func (p *fakePlane) Name() string { return "fake" }
func (p *fakePlane) Bind(bs []PlaneBinding) map[int]error {
	p.binds = append([]PlaneBinding(nil), bs...)
	return p.fail
}
func (p *fakePlane) Events() <-chan any { return p.events }
func (p *fakePlane) Last(k rxKey) (vrrp.AdvertReceived, bool, bool) {
	a, ok := p.last[k]
	return a, false, ok
}
func (p *fakePlane) Check() []planeLost {
	p.checks++
	l := p.lost
	p.lost = nil
	return l
}
func (p *fakePlane) Counters(*planeCounters)       {}
func (p *fakePlane) Received(rxKey) (uint64, bool) { return 0, false }
func (p *fakePlane) Close() error                  { return nil }

// bound returns the binding of vrid, if the dataplane has one.
func (p *fakePlane) bound(vrid uint8) (PlaneBinding, bool) {
	for _, b := range p.binds {
		if b.Key.vrid == vrid {
			return b, true
		}
	}
	return PlaneBinding{}, false
}

// fakeTracker gives every instance its configured priority, changed by
// SetBase or set by the test.
type fakeTracker struct {
	mu      sync.Mutex
	state   map[string]track.Update
	updates chan track.Update
}

func newFakeTracker(cfg *config.Config) *fakeTracker {
	t := &fakeTracker{state: map[string]track.Update{}, updates: make(chan track.Update)}
	for _, in := range cfg.Instances {
		t.state[in.Name] = track.Update{Instance: in.Name, Priority: in.Priority}
	}
	return t
}

func (t *fakeTracker) State(name string) (track.Update, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.state[name]
	return u, ok
}
func (t *fakeTracker) Updates() <-chan track.Update { return t.updates }
func (t *fakeTracker) Tracked(name string) []track.Tracked {
	return []track.Tracked{{Kind: "script", Name: "chk_" + name, State: "ok", Weight: -20}}
}
func (t *fakeTracker) SetBase(name string, p uint8) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.state[name]
	u.Priority = p
	t.state[name] = u
	return ok
}
func (t *fakeTracker) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// fakeNotifier records notifications as "name STATE".
type fakeNotifier struct{ got []string }

func (n *fakeNotifier) Notify(_ notify.Kind, name string, _ config.Notify, state string, _ uint8) {
	n.got = append(n.got, name+" "+state)
}
func (n *fakeNotifier) Close(context.Context) error { return nil }

// rig is a daemon on the fakes, with a clock the test moves.
type rig struct {
	t        *testing.T
	d        *Daemon
	env      *fakeEnv
	plane    *fakePlane
	trackers []*fakeTracker
	notes    *fakeNotifier
	now      time.Time
}

// newRig builds a daemon for conf on env (links already created).
func newRig(t *testing.T, env *fakeEnv, conf string) *rig {
	t.Helper()
	r := buildRig(t, env, conf, Options{Log: zaptest.NewLogger(t)})
	r.d.start(r.now)
	return r
}

// buildRig builds a daemon for conf on env with opts, its tracker
// running, not started.
func buildRig(t *testing.T, env *fakeEnv, conf string, opts Options) *rig {
	t.Helper()
	cfg := parse(t, conf)
	r := &rig{t: t, env: env, plane: newFakePlane(), notes: &fakeNotifier{}, now: time.Unix(1000, 0)}
	p := parts{
		env:   env,
		plane: r.plane,
		newTracker: func(cfg *config.Config) (Tracker, error) {
			tr := newFakeTracker(cfg)
			r.trackers = append(r.trackers, tr)
			return tr, nil
		},
		newNotifier: func(*config.Config) Notifier { return r.notes },
	}
	d, err := newDaemon(cfg, opts, p)
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	d.startTracker()
	t.Cleanup(func() { d.trackerStop() })
	return r
}

func parse(t *testing.T, conf string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("keepalived.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// advance moves the clock by dt, firing every deadline on the way.
func (r *rig) advance(dt time.Duration) {
	end := r.now.Add(dt)
	for {
		next := r.d.deadline(r.now)
		if want := scanDeadline(r.d, r.now); !next.Equal(want) {
			r.t.Fatalf("the timer heap's deadline %v differs from the instances' %v", next, want)
		}
		if next.After(end) {
			break
		}
		r.now = next
		r.d.handle(r.now, tick{})
	}
	r.now = end
}

// call runs fn as a loop call (what Handover and Resume send) now.
func (r *rig) call(fn func(time.Time) error) error {
	c := loopCall{fn: fn, done: make(chan error, 1)}
	r.handle(c)
	return <-c.done
}

// handle delivers one event now.
func (r *rig) handle(ev any) { r.d.handle(r.now, ev) }

func (r *rig) inst(name string) *instance {
	r.t.Helper()
	inst := r.d.instance(name)
	if inst == nil {
		r.t.Fatalf("no instance %s", name)
	}
	return inst
}

func (r *rig) state(name string) vrrp.State { return r.inst(name).router.State() }

// wantState fails unless the instance is in st.
func (r *rig) wantState(name string, st vrrp.State) {
	r.t.Helper()
	if got := r.state(name); got != st {
		r.t.Fatalf("%s: state %v, want %v (fault %q)", name, got, st, r.inst(name).status.Fault)
	}
}

// peerAdvert is an advert from peer with prio for the instance.
func (r *rig) peerAdvert(name string, prio uint8, peer string) planeAdvert {
	inst := r.inst(name)
	a := inst.advert
	a.Priority = prio
	return planeAdvert{Key: inst.key, Recv: vrrp.AdvertReceived{Advert: a, Src: netip.MustParseAddr(peer)}}
}
