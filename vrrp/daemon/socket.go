package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

// socketPlane receives adverts on one raw socket per address family,
// joined to the group on every interface with an instance of that family,
// and validates them in Go (vrrp.Validate).
type socketPlane struct {
	log     *zap.Logger
	binds   bindings
	events  chan any
	sampler dropSampler
	limited *limiter
	rxCounters

	// receivers, their shape, and the goroutines reading them: changed by
	// Bind and Close (the loop) only.
	rx     []*netio.Receiver
	shape  string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newSocketPlane(log *zap.Logger, queue int, limited *limiter) *socketPlane {
	return &socketPlane{log: log, events: make(chan any, queue), limited: limited}
}

func (p *socketPlane) Name() string                  { return DataplaneSocket }
func (p *socketPlane) Events() <-chan any            { return p.events }
func (p *socketPlane) Received(rxKey) (uint64, bool) { return 0, false }
func (p *socketPlane) Check() []planeLost            { return nil }
func (p *socketPlane) Last(rxKey) (vrrp.AdvertReceived, bool, bool) {
	return vrrp.AdvertReceived{}, false, false
}

// Bind swaps the lookup table; the sockets are reopened only when the
// set of interfaces or groups changed.
func (p *socketPlane) Bind(bs []PlaneBinding) map[int]error {
	if err := p.bind(bs); err != nil {
		failed := map[int]error{}
		for _, b := range bs {
			failed[b.Key.ifindex] = err
		}
		return failed
	}
	return nil
}

func (p *socketPlane) bind(bs []PlaneBinding) error {
	p.binds.set(bs)
	type famIfaces struct {
		group  netip.Addr
		ifaces []*net.Interface
	}
	var fams [2]famIfaces
	shape := ""
	for _, v6 := range []bool{false, true} {
		f := &fams[boolIndex(v6)]
		seen := map[int]bool{}
		for i := range bs {
			b := &bs[i]
			if b.Key.ipv6 != v6 {
				continue
			}
			if len(b.Expect.UnicastPeers) == 0 {
				g := b.Group
				if f.group.IsValid() && f.group != g {
					return fmt.Errorf("multicast group %v differs from %v: one group per address family is supported", g, f.group)
				}
				f.group = g
			}
			if !seen[b.Key.ifindex] {
				seen[b.Key.ifindex] = true
				f.ifaces = append(f.ifaces, &net.Interface{Index: b.Key.ifindex, Name: b.Ifname})
			}
		}
		if !f.group.IsValid() {
			f.group = netio.GroupV4
			if v6 {
				f.group = netio.GroupV6
			}
		}
		slices.SortFunc(f.ifaces, func(a, b *net.Interface) int { return a.Index - b.Index })
		shape += fmt.Sprint(f.group)
		for _, ifi := range f.ifaces {
			shape += fmt.Sprintf(" %d/%s", ifi.Index, ifi.Name)
		}
		shape += ";"
	}
	if shape == p.shape && p.rx != nil {
		return nil
	}
	p.stop()
	var rx []*netio.Receiver
	for _, f := range fams {
		if len(f.ifaces) == 0 {
			continue
		}
		r, err := netio.NewReceiver(f.group, f.ifaces)
		if err != nil {
			for _, r := range rx {
				r.Close()
			}
			p.shape = ""
			return fmt.Errorf("advert receiver for %v: %w", f.group, err)
		}
		rx = append(rx, r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.rx, p.shape, p.cancel = rx, shape, cancel
	for _, r := range rx {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := r.Run(ctx, p.receive); err != nil && ctx.Err() == nil {
				p.log.Error("advert receiver stopped", zap.Error(err))
			}
		}()
	}
	return nil
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stop closes the receivers and waits for their goroutines.
func (p *socketPlane) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	for _, r := range p.rx {
		r.Close()
	}
	p.wg.Wait()
	p.rx, p.cancel = nil, nil
}

// receive validates one packet and queues the valid advert for the loop.
// It runs on a receiver goroutine.
func (p *socketPlane) receive(pk netio.Packet) {
	p.received.Add(1)
	v6 := pk.Src.Is6() && !pk.Src.Is4In6()
	var key rxKey
	lookup := func(vrid uint8) *vrrp.Expect {
		key = rxKey{ifindex: pk.Ifindex, ipv6: v6, vrid: vrid}
		b := p.binds.get(key)
		if b == nil {
			return nil
		}
		return &b.Expect
	}
	adv, reason := vrrp.Validate(pk.Payload, pk.Src, pk.Dst, pk.TTL, lookup)
	if reason != vrrp.DropNone {
		p.drops[reason].Add(1)
		p.limited.debug(p.log, "advert dropped", zap.Stringer("reason", reason),
			zap.Stringer("src", pk.Src), zap.Int("ifindex", pk.Ifindex))
		if sampled(reason) && p.sampler.allow(time.Now()) {
			p.queue(planeDrop{Ifindex: pk.Ifindex, VRID: key.vrid, Src: pk.Src, Reason: reason})
		}
		return
	}
	p.accepted.Add(1)
	p.queue(planeAdvert{Key: key, Recv: vrrp.AdvertReceived{Advert: adv, Src: pk.Src}})
}

func (p *socketPlane) queue(ev any) {
	select {
	case p.events <- ev:
	default:
		p.full.Add(1)
		p.limited.warn(p.log, "event queue full: advert dropped")
	}
}

func (p *socketPlane) Counters(c *planeCounters) {
	p.rxCounters.add(c)
}

func (p *socketPlane) Close() error {
	p.stop()
	return nil
}
