package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

// auth_type AH instances (vrrp/auth_ah.go): their adverts travel in IP
// protocol 51, which the BPF program does not parse (it passes every
// packet that is not protocol 112 to the stack untouched). Whatever the
// dataplane, they are received on a raw socket of protocol 51 (ahPlane,
// wrapped around the dataplane, which keeps the other instances) and sent
// on one with IP_HDRINCL (ahSender, one of netPort's senders): the socket
// fallback docs/MIGRATING.md describes.

// ahKey names an AH instance for its sequence number: the interface by
// name and the VRID, which stay the same when the interface is recreated
// (a new index) and across reloads, as keepalived keeps the counter of an
// instance across reloads.
type ahKey struct {
	ifname string
	vrid   uint8
}

// ahSession is one AH instance's sequence number (sent and accepted alike,
// as keepalived counts) and IP identification. Its sender and the AH
// receive path share it.
type ahSession struct {
	mu  sync.Mutex
	seq vrrp.AHSequence
	id  uint16
}

// nextSend returns the sequence number and IP identification of the next
// advert: both count from 1, the identification skipping 0 (the kernel
// would fill in its own), as keepalived's.
func (s *ahSession) nextSend() (seq uint32, id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id++
	if s.id == 0 {
		s.id = 1
	}
	return s.seq.Next(), s.id
}

// accept reports whether an authenticated advert's seq is new (and takes
// it as the counter), with the counter before.
func (s *ahSession) accept(seq uint32) (ok bool, last uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last = s.seq.Last()
	return s.seq.Accept(seq), last
}

// ahSessions holds the sessions of the daemon's AH instances. Safe for
// concurrent use.
type ahSessions struct {
	mu sync.Mutex
	m  map[ahKey]*ahSession
}

func newAHSessions() *ahSessions { return &ahSessions{m: map[ahKey]*ahSession{}} }

// get returns the session of k, made on first use.
func (a *ahSessions) get(k ahKey) *ahSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.m[k]
	if s == nil {
		s = &ahSession{}
		a.m[k] = s
	}
	return s
}

// advertSender is one of netPort's senders: it sends an encoded VRRP
// message (vrrp.Advert.Append) to its destinations. *netio.Sender is the
// one of protocol 112, *ahSender the one of AH instances.
type advertSender interface {
	Send(msg []byte) error
	Close() error
}

// ahSender sends an AH instance's adverts: each message gets the next
// sequence number and IP identification of the instance's session, then
// the IP and AH headers (vrrp.AppendAH), once per destination. Used by the
// loop only.
type ahSender struct {
	s       *netio.AHSender
	sess    *ahSession
	src     netip.Addr
	dsts    []netip.Addr
	unicast bool
	key     [8]byte
	buf     []byte
}

// newSender opens the AH sender of instance in on interface (ifindex,
// ifname) with source src, to group or to the unicast peers, in the
// calling thread's namespace.
func (a *ahSessions) newSender(in *config.Instance, ifindex int, ifname string, src, group netip.Addr) (*ahSender, error) {
	sc := netio.SenderConfig{Ifindex: ifindex, Ifname: ifname, Src: src, Group: group, Peers: in.UnicastPeers}
	s, err := netio.NewAHSender(sc)
	if err != nil {
		return nil, err
	}
	return &ahSender{s: s, sess: a.get(ahKey{ifname: ifname, vrid: in.VRID}), src: src.Unmap(),
		dsts: s.Destinations(), unicast: in.Unicast(), key: in.AuthPass}, nil
}

func (s *ahSender) Send(msg []byte) error {
	seq, id := s.sess.nextSend()
	var errs []error
	for _, dst := range s.dsts {
		h := vrrp.AHSend{Src: s.src, Dst: dst, ID: id, TTL: vrrp.TTL, Seq: seq, Unicast: s.unicast, Key: s.key}
		pkt, err := vrrp.AppendAH(s.buf[:0], h, msg)
		if err != nil {
			return fmt.Errorf("encode ah advert: %w", err)
		}
		s.buf = pkt
		if err := s.s.SendTo(pkt, dst); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *ahSender) Close() error { return s.s.Close() }

// ahReceiver is what ahPlane reads AH packets from (netio.AHReceiver; a
// fake in tests).
type ahReceiver interface {
	Run(ctx context.Context, fn func(netio.RawPacket)) error
	Close() error
}

// ahPlane is a Dataplane wrapped so that AH instances are received on a
// raw socket of protocol 51 and validated in Go (ParseAH, Check,
// Authenticate, then the sequence number), whatever the wrapped dataplane
// is; every other instance stays with the wrapped one. Its events join the
// wrapped dataplane's channel when that is one of ours (no extra hop for
// them), else they are forwarded.
type ahPlane struct {
	Dataplane // the wrapped dataplane: Name and Check are its own
	log       *zap.Logger
	sessions  *ahSessions
	limited   *limiter
	open      func(group netip.Addr, ifaces []*net.Interface) (ahReceiver, error)

	events  chan any
	forward bool // events is ours: the wrapped one's are forwarded
	done    chan struct{}
	fwd     sync.WaitGroup

	binds   bindings // AH instances only
	sampler dropSampler
	rxCounters

	warnMu sync.Mutex
	warned map[ahWarnKey]time.Time

	// The receiver, its shape and the goroutine reading it: changed by
	// Bind and Close (the loop) only.
	rx     ahReceiver
	shape  string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// ahWarnKey limits the AH log lines to one per peer, kind and minute.
type ahWarnKey struct {
	src  netip.Addr
	kind string
}

const ahWarnEvery = time.Minute

// withAH wraps inner so that AH instances are received on a socket. A
// dataplane with kernel state to hand over (handoffPlane) stays one.
func withAH(log *zap.Logger, inner Dataplane, sessions *ahSessions, limited *limiter, queue int) Dataplane {
	p := newAHPlane(log, inner, sessions, limited, queue)
	if h, ok := inner.(handoffPlane); ok {
		return &ahHandoffPlane{ahPlane: p, h: h}
	}
	return p
}

func newAHPlane(log *zap.Logger, inner Dataplane, sessions *ahSessions, limited *limiter, queue int) *ahPlane {
	p := &ahPlane{Dataplane: inner, log: log, sessions: sessions, limited: limited,
		done: make(chan struct{}), warned: map[ahWarnKey]time.Time{}}
	p.open = func(group netip.Addr, ifaces []*net.Interface) (ahReceiver, error) {
		return netio.NewAHReceiver(group, ifaces)
	}
	switch in := inner.(type) {
	case *socketPlane:
		p.events = in.events
	case *kernelPlane:
		p.events = in.events
	default:
		p.events, p.forward = make(chan any, queue), true
		p.fwd.Add(1)
		go p.forwardEvents(inner.Events())
	}
	return p
}

// forwardEvents passes the wrapped dataplane's events on until it closes
// its channel or the plane is closed.
func (p *ahPlane) forwardEvents(in <-chan any) {
	defer p.fwd.Done()
	for {
		select {
		case ev, ok := <-in:
			if !ok {
				return
			}
			select {
			case p.events <- ev:
			case <-p.done:
				return
			}
		case <-p.done:
			return
		}
	}
}

func (p *ahPlane) Events() <-chan any { return p.events }

// isAH tells whether a binding is received here: a VRRPv2 IPv4 instance
// with auth_type AH.
func isAH(b *PlaneBinding) bool {
	return b.Expect.AuthType == vrrp.AuthAH && b.Expect.Version == vrrp.V2 && !b.Key.ipv6
}

// Bind gives the wrapped dataplane its instances and receives for the AH
// ones; the failures of both are returned.
func (p *ahPlane) Bind(bs []PlaneBinding) map[int]error {
	var ah, rest []PlaneBinding
	for _, b := range bs {
		if isAH(&b) {
			ah = append(ah, b)
		} else {
			rest = append(rest, b)
		}
	}
	failed := p.Dataplane.Bind(rest)
	if err := p.bindAH(ah); err != nil {
		if failed == nil {
			failed = map[int]error{}
		}
		for _, b := range ah {
			failed[b.Key.ifindex] = err
		}
	}
	return failed
}

// bindAH swaps the table of AH instances and (re)opens the receiver when
// the interfaces or the group changed; none left closes it.
func (p *ahPlane) bindAH(bs []PlaneBinding) error {
	p.binds.set(bs)
	group := netip.Addr{}
	var ifaces []*net.Interface
	seen := map[int]bool{}
	for i := range bs {
		b := &bs[i]
		if len(b.Expect.UnicastPeers) == 0 {
			if group.IsValid() && group != b.Group {
				return fmt.Errorf("ipsec ah: multicast group %v differs from %v: one group is supported", b.Group, group)
			}
			group = b.Group
		}
		if !seen[b.Key.ifindex] {
			seen[b.Key.ifindex] = true
			ifaces = append(ifaces, &net.Interface{Index: b.Key.ifindex, Name: b.Ifname})
		}
	}
	if !group.IsValid() {
		group = netio.GroupV4
	}
	slices.SortFunc(ifaces, func(a, b *net.Interface) int { return a.Index - b.Index })
	shape := group.String()
	for _, ifi := range ifaces {
		shape += fmt.Sprintf(" %d/%s", ifi.Index, ifi.Name)
	}
	if len(ifaces) == 0 {
		shape = ""
	}
	if shape == p.shape && (p.rx != nil || shape == "") {
		return nil
	}
	p.stopAH()
	p.shape = ""
	if shape == "" {
		return nil
	}
	rx, err := p.open(group, ifaces)
	if err != nil {
		return fmt.Errorf("ipsec ah receiver for %v: %w", group, err)
	}
	names := make([]string, len(ifaces))
	for i, ifi := range ifaces {
		names[i] = ifi.Name
	}
	p.log.Info("ipsec ah instances receive on a raw socket of protocol 51",
		zap.Strings("ifaces", names), zap.Stringer("group", group), zap.String("dataplane", p.Dataplane.Name()))
	ctx, cancel := context.WithCancel(context.Background())
	p.rx, p.shape, p.cancel = rx, shape, cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := rx.Run(ctx, p.receive); err != nil && ctx.Err() == nil {
			p.log.Error("ipsec ah receiver stopped", zap.Error(err))
		}
	}()
	return nil
}

// stopAH closes the receiver and waits for its goroutine.
func (p *ahPlane) stopAH() {
	if p.cancel != nil {
		p.cancel()
	}
	if p.rx != nil {
		p.rx.Close()
	}
	p.wg.Wait()
	p.rx, p.cancel = nil, nil
}

// receive validates one AH packet and queues the valid advert for the
// loop. It runs on the receiver's goroutine. The order: the IP and AH
// headers, the VRRP message, the instance's checks (vrrp.Expect.Check),
// the ICV and SPI, and last the sequence number, so that only an advert
// valid in every other respect moves the counter.
func (p *ahPlane) receive(pk netio.RawPacket) {
	ap, reason := vrrp.ParseAH(pk.Data)
	if reason == vrrp.DropBadType && ap.NextHeader != vrrp.IPProtocol {
		return // AH for another protocol: IPsec traffic, not ours (keepalived ignores it too)
	}
	p.received.Add(1)
	var adv vrrp.Advert
	var key rxKey
	var b *PlaneBinding
	if reason == vrrp.DropNone {
		reason = ap.Advert(&adv)
	}
	if reason == vrrp.DropNone {
		key = rxKey{ifindex: pk.Ifindex, vrid: adv.VRID}
		if b = p.binds.get(key); b == nil {
			reason = vrrp.DropUnknownVRID
		} else {
			reason = b.Expect.Check(&adv, ap.Src, ap.TTL)
		}
	}
	if reason == vrrp.DropNone {
		if err := ap.Authenticate(b.Expect.AuthData, len(b.Expect.UnicastPeers) > 0); err != nil {
			reason = vrrp.DropAuthData
			p.warnOnce(ap.Src, "auth", func() {
				p.log.Warn("ipsec ah advert failed authentication: dropped", zap.Stringer("src", ap.Src),
					zap.Uint8("vrid", adv.VRID), zap.String("iface", b.Ifname), zap.Error(err))
			})
		}
	}
	if reason != vrrp.DropNone {
		p.drops[reason].Add(1)
		p.limited.debug(p.log, "ipsec ah advert dropped", zap.Stringer("reason", reason),
			zap.Stringer("src", ap.Src), zap.Int("ifindex", pk.Ifindex))
		if sampled(reason) && p.sampler.allow(time.Now()) {
			p.queue(planeDrop{Ifindex: pk.Ifindex, VRID: key.vrid, Src: ap.Src, Reason: reason})
		}
		return
	}
	if ok, last := p.sessions.get(ahKey{ifname: b.Ifname, vrid: adv.VRID}).accept(ap.Seq); !ok {
		// A replay, or a peer that restarted and counts from 1 again
		// (keepalived drops it the same way; the counters meet again
		// when one of the two takes over). Counted as an authentication
		// failure, not sampled: the peer's configuration is not at fault.
		p.drops[vrrp.DropAuthData].Add(1)
		p.warnOnce(ap.Src, "seq", func() {
			p.log.Info("ipsec ah advert dropped: sequence number not above the last one", zap.Stringer("src", ap.Src),
				zap.Uint8("vrid", adv.VRID), zap.String("iface", b.Ifname), zap.Uint32("seq", ap.Seq), zap.Uint32("last", last))
		})
		return
	}
	p.accepted.Add(1)
	p.queue(planeAdvert{Key: key, Recv: vrrp.AdvertReceived{Advert: adv, Src: ap.Src}})
}

// warnOnce runs log at most once per peer, kind and ahWarnEvery.
func (p *ahPlane) warnOnce(src netip.Addr, kind string, log func()) {
	now := time.Now()
	k := ahWarnKey{src: src, kind: kind}
	p.warnMu.Lock()
	if last, ok := p.warned[k]; ok && now.Sub(last) < ahWarnEvery {
		p.warnMu.Unlock()
		return
	}
	if len(p.warned) > 4096 {
		clear(p.warned)
	}
	p.warned[k] = now
	p.warnMu.Unlock()
	log()
}

func (p *ahPlane) queue(ev any) {
	select {
	case p.events <- ev:
	default:
		p.full.Add(1)
		p.limited.warn(p.log, "event queue full: advert dropped")
	}
}

// Last and Received: an AH instance is on the socket path (nothing
// recorded, the loop counts); the others ask the wrapped dataplane.
func (p *ahPlane) Last(k rxKey) (vrrp.AdvertReceived, bool, bool) {
	if p.binds.get(k) != nil {
		return vrrp.AdvertReceived{}, false, false
	}
	return p.Dataplane.Last(k)
}

func (p *ahPlane) Received(k rxKey) (uint64, bool) {
	if p.binds.get(k) != nil {
		return 0, false
	}
	return p.Dataplane.Received(k)
}

func (p *ahPlane) Counters(c *planeCounters) {
	p.Dataplane.Counters(c)
	p.rxCounters.add(c)
}

// Close stops the AH receiver first (its goroutine may write to the
// wrapped dataplane's channel, which that one closes), then the wrapped
// dataplane.
func (p *ahPlane) Close() error {
	p.stopAH()
	return p.finish(p.Dataplane.Close())
}

// finish stops the forwarding of the wrapped dataplane's events, once it
// is closed or released.
func (p *ahPlane) finish(err error) error {
	close(p.done)
	p.fwd.Wait()
	if p.forward {
		close(p.events)
	}
	return err
}

// ahHandoffPlane is ahPlane around a dataplane with kernel state
// (handoffPlane): the attachments and pins are the wrapped one's. The AH
// sockets are not handed over: the new process opens its own.
type ahHandoffPlane struct {
	*ahPlane
	h handoffPlane
}

func (p *ahHandoffPlane) attachments() []AttachmentHandoff     { return p.h.attachments() }
func (p *ahHandoffPlane) inherit(as []AttachmentHandoff) error { return p.h.inherit(as) }
func (p *ahHandoffPlane) pin(id string) error                  { return p.h.pin(id) }

// release stops the AH receiver, then releases the wrapped dataplane.
func (p *ahHandoffPlane) release() error {
	p.stopAH()
	return p.finish(p.h.release())
}
