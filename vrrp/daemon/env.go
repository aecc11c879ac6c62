package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/netio"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// Env is the host as the control loop sees it: interfaces, addresses and
// the sockets an instance sends on. netEnv is the real one (netlink and
// raw sockets in the daemon's network namespace); the unit tests use a
// fake. Methods are called from the control loop only, except Watch.
type Env interface {
	// Bind resolves in's interface and advert source address now and
	// opens the sockets its adverts leave by. It fails while the
	// interface or its primary address is missing (the instance then
	// waits in FAULT and the loop retries on the next link or address
	// event).
	Bind(in *config.Instance, vips []netio.VIP) (Binding, error)
	// AddVIP and DelVIP change one virtual address; both are idempotent.
	AddVIP(v netio.VIP) error
	DelVIP(v netio.VIP) error
	// HasVIP reports whether the kernel holds v now.
	HasVIP(v netio.VIP) (bool, error)
	// Watch sends every link and address change of the namespace to out
	// until ctx ends (hostLink, hostAddr; hostResync when changes may have
	// been missed).
	Watch(ctx context.Context, out chan<- any) error
	// Flush sends the adverts Port.SendAdvert queued since the last
	// Flush (one sendmmsg per shared socket, send.go) and returns those
	// that failed, valid until the next Flush.
	Flush() []SendFailure
}

// Binding is an instance bound to an interface: where it receives and how
// it sends.
type Binding struct {
	Ifindex int
	Ifname  string
	// Src is the advert source: unicast_src_ip / mcast_src_ip, else the
	// interface's primary IPv4 or IPv6 link-local address.
	Src netip.Addr
	// Own are the interface's addresses that are not VIPs: an advert from
	// one of them is our own.
	Own  []netip.Addr
	Port Port
}

// Port sends for one bound instance.
type Port interface {
	// SendAdvert queues a for every destination, encoded (once: the
	// encoding is kept until a changes); Env.Flush sends it. An AH
	// instance's adverts go at once.
	SendAdvert(a *vrrp.Advert) error
	// Announce starts a burst of gratuitous ARPs / unsolicited NAs for
	// vips in the background; a burst still running is not doubled.
	Announce(vips []netio.VIP, b Burst)
	// Close stops the bursts, waits for them and closes the sockets.
	Close() error
}

// Burst is the shape of one gratuitous ARP/NA burst.
type Burst struct {
	Repeat      int
	ARPInterval time.Duration // vrrp_garp_interval
	NAInterval  time.Duration // vrrp_gna_interval
}

// Host events, as Env.Watch delivers them to the loop.
type (
	// hostLink: a link appeared, changed (name, state) or was deleted.
	hostLink struct {
		Index   int
		Name    string
		Deleted bool
	}
	// hostAddr: an address was added to or removed from a link.
	hostAddr struct {
		Index   int
		Addr    netip.Addr
		Deleted bool
	}
	// hostResync: notifications may have been lost (socket overrun);
	// everything must be checked again.
	hostResync struct{ Err error }
	// hostSubscribed: the watch is subscribed; what changed before is
	// not reported.
	hostSubscribed struct{}
)

// netEnv is the real Env.
type netEnv struct {
	log  *zap.Logger
	nl   *netlink.Handle
	ah   *ahSessions // the AH instances' sequence numbers (ah.go), shared with the dataplane
	pool *sendPool   // the shared advert sockets (send.go)
}

func (e *netEnv) Bind(in *config.Instance, vips []netio.VIP) (b Binding, err error) {
	ifi, err := netio.InterfaceByName(e.nl, in.Interface)
	if err != nil {
		return b, fmt.Errorf("interface %s: %w", in.Interface, err)
	}
	b.Ifindex, b.Ifname = ifi.Index, ifi.Name
	fam := netlink.FAMILY_V4
	if in.Family() == config.IPv6 {
		fam = netlink.FAMILY_V6
	}
	var vipAddrs []netip.Addr
	for _, v := range vips {
		vipAddrs = append(vipAddrs, v.Prefix.Addr())
	}
	b.Src = in.UnicastSrc
	if !b.Src.IsValid() {
		b.Src = in.McastSrc
	}
	if !b.Src.IsValid() {
		if b.Src, err = netio.PrimaryAddr(e.nl, in.Interface, fam, vipAddrs...); err != nil {
			return b, fmt.Errorf("source address on %s: %w", in.Interface, err)
		}
	}
	if b.Own, err = ownAddrs(e.nl, ifi, vipAddrs); err != nil {
		return b, err
	}
	b.Own = append(b.Own, b.Src)
	// WithLazy: the fields are encoded (a logger clone, about 1 KB) only
	// if this port ever logs.
	p := &netPort{log: e.log.WithLazy(zap.String("instance", in.Name)), nl: e.nl, src: b.Src, announcers: map[string]*netio.Announcer{}, pool: e.pool}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	group := in.McastGroup
	if !group.IsValid() {
		group = config.DefaultMcastGroup4
		if fam == netlink.FAMILY_V6 {
			group = config.DefaultMcastGroup6
		}
	}
	dsts := in.UnicastPeers
	if len(dsts) == 0 {
		dsts = []netip.Addr{group}
	}
	if in.AuthType == vrrp.AuthAH {
		// One sender for every destination: one sequence number per advert.
		s, err := e.ah.newSender(in, ifi.Index, ifi.Name, b.Src, group)
		if err != nil {
			p.Close()
			return b, err
		}
		p.senders = append(p.senders, sender{dst: dsts[0], s: s})
		dsts = nil
	}
	if len(dsts) > 0 {
		// The interface's shared socket for this source (send.go).
		if p.sock, err = e.pool.acquire(ifi.Index, ifi.Name, b.Src); err != nil {
			p.Close()
			return b, err
		}
		for _, dst := range dsts {
			p.encs = append(p.encs, encoded{dst: netio.NewDest(dst, ifi.Index)})
		}
	}
	// Open the gratuitous ARP/NA sockets now, not at the first takeover:
	// the burst then follows the takeover's advert by microseconds. A
	// device missing now is tried again at the first burst.
	p.mu.Lock()
	for _, v := range vips {
		if _, err := p.announcer(v.Dev); err != nil {
			p.log.Debug("gratuitous arp/na socket", zap.String("dev", v.Dev), zap.Error(err))
		}
	}
	p.mu.Unlock()
	b.Port = p
	return b, nil
}

func (e *netEnv) AddVIP(v netio.VIP) error         { return netio.AddVIP(e.nl, v) }
func (e *netEnv) DelVIP(v netio.VIP) error         { return netio.DelVIP(e.nl, v) }
func (e *netEnv) HasVIP(v netio.VIP) (bool, error) { return netio.HasVIP(e.nl, v) }

// watchBuffer is the receive buffer of the netlink subscriptions: large
// enough that a burst of changes (hundreds of VIPs added at a takeover)
// does not overrun it; an overrun is reported as hostResync.
const watchBuffer = 4 << 20

// Watch subscribes to link and address changes of the calling thread's
// namespace (the daemon runs in its namespace). The library ends a
// subscription at its first receive error (an overrun: ENOBUFS): Watch
// then subscribes again and sends hostResync, so the loop re-reads
// everything it depends on and no change stays unseen.
func (e *netEnv) Watch(ctx context.Context, out chan<- any) error {
	send := func(ev any) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		err := e.watchOnce(ctx, send)
		if ctx.Err() != nil {
			return nil
		}
		e.log.Warn("netlink subscription lost: subscribing again", zap.Error(err))
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil
		}
		if !send(hostResync{Err: err}) {
			return nil
		}
	}
}

// watchOnce runs one pair of subscriptions until either ends or ctx ends.
func (e *netEnv) watchOnce(ctx context.Context, send func(any) bool) error {
	done := make(chan struct{})
	defer close(done)
	links := make(chan netlink.LinkUpdate, 256)
	addrs := make(chan netlink.AddrUpdate, 256)
	errs := make(chan error, 1)
	onErr := func(err error) {
		if track.DroppedForeign(err) {
			e.log.Debug("host watch: a message not from the kernel was dropped", zap.Error(err))
			return
		}
		select {
		case errs <- err:
		default:
		}
	}
	if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{
		ErrorCallback: onErr, ReceiveBufferSize: watchBuffer, ReceiveBufferForceSize: true,
	}); err != nil {
		return fmt.Errorf("subscribe to link changes: %w", err)
	}
	if err := netlink.AddrSubscribeWithOptions(addrs, done, netlink.AddrSubscribeOptions{
		ErrorCallback: onErr, ReceiveBufferSize: watchBuffer, ReceiveBufferForceSize: true,
	}); err != nil {
		return fmt.Errorf("subscribe to address changes: %w", err)
	}
	if !send(hostSubscribed{}) {
		return nil
	}
	for {
		var ev any
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-links:
			if !ok {
				return fmt.Errorf("link subscription ended: %w", firstErr(errs))
			}
			ev = hostLink{Index: int(u.Index), Name: u.Attrs().Name, Deleted: u.Header.Type == unix.RTM_DELLINK}
		case u, ok := <-addrs:
			if !ok {
				return fmt.Errorf("address subscription ended: %w", firstErr(errs))
			}
			a, _ := netip.AddrFromSlice(u.LinkAddress.IP)
			ev = hostAddr{Index: u.LinkIndex, Addr: a.Unmap(), Deleted: !u.NewAddr}
		}
		if !send(ev) {
			return nil
		}
	}
}

// firstErr returns the error a subscription reported, if any.
func firstErr(errs <-chan error) error {
	select {
	case err := <-errs:
		return err
	default:
		return errors.New("no error reported")
	}
}

// ownAddrs lists the addresses of ifi that are not VIPs.
func ownAddrs(h *netlink.Handle, ifi *net.Interface, vips []netip.Addr) ([]netip.Addr, error) {
	link, err := h.LinkByIndex(ifi.Index)
	if err != nil {
		return nil, fmt.Errorf("link %s: %w", ifi.Name, err)
	}
	list, err := netio.AddrList(h, link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", ifi.Name, err)
	}
	var out []netip.Addr
next:
	for _, a := range list {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		for _, v := range vips {
			if v == ip {
				continue next
			}
		}
		out = append(out, ip)
	}
	return out, nil
}

// netPort is the real Port: the shared raw socket of its interface and
// source (send.go) with the advert encoded for each destination (v3
// checksums cover the destination), or, for an AH instance, one ahSender
// for all of them; and an AF_PACKET announcer per device the VIPs live
// on, opened when first used.
type netPort struct {
	log     *zap.Logger
	nl      *netlink.Handle
	src     netip.Addr
	senders []sender // AH
	buf     []byte   // AH
	pool    *sendPool
	sock    *pooledSocket // nil for AH
	encs    []encoded     // per destination
	queued  bool          // an advert of this port waits in sock's batch

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// announcers and busy are used by the loop (Announce) and the burst
	// goroutines.
	mu         sync.Mutex
	announcers map[string]*netio.Announcer
	busy       map[string]bool
}

type sender struct {
	dst netip.Addr
	s   advertSender
}

func (p *netPort) SendAdvert(a *vrrp.Advert) error {
	if p.sock != nil {
		return p.queueAdvert(a)
	}
	var errs []error
	for _, s := range p.senders {
		b, err := a.Append(p.buf[:0], p.src, s.dst)
		if err != nil {
			return fmt.Errorf("encode advert: %w", err)
		}
		p.buf = b
		if err := s.s.Send(b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *netPort) Announce(vips []netio.VIP, b Burst) {
	byDev := map[string][]netip.Addr{}
	var devs []string
	for _, v := range vips {
		if byDev[v.Dev] == nil {
			devs = append(devs, v.Dev)
		}
		byDev[v.Dev] = append(byDev[v.Dev], v.Prefix.Addr())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy == nil {
		p.busy = map[string]bool{}
	}
	for _, dev := range devs {
		if p.busy[dev] {
			continue
		}
		a, err := p.announcer(dev)
		if err != nil {
			p.log.Warn("gratuitous arp/na socket", zap.String("dev", dev), zap.Error(err))
			continue
		}
		addrs := byDev[dev]
		interval := b.ARPInterval
		if addrs[0].Is6() {
			interval = b.NAInterval
		}
		p.busy[dev] = true
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			err := a.Announce(p.ctx, addrs, b.Repeat, interval)
			p.mu.Lock()
			p.busy[dev] = false
			p.mu.Unlock()
			if err != nil && p.ctx.Err() == nil {
				p.log.Warn("send gratuitous arp/na", zap.String("dev", dev), zap.Error(err))
				// The device may have been recreated: open it again
				// next time.
				p.mu.Lock()
				if p.announcers[dev] == a {
					delete(p.announcers, dev)
					a.Close()
				}
				p.mu.Unlock()
			}
		}()
	}
}

// announcer returns the open announcer for dev; p.mu is held.
func (p *netPort) announcer(dev string) (*netio.Announcer, error) {
	if a := p.announcers[dev]; a != nil {
		return a, nil
	}
	ifi, err := netio.InterfaceByName(p.nl, dev)
	if err != nil {
		return nil, err
	}
	a, err := netio.Dial(ifi)
	if err != nil {
		return nil, err
	}
	// RFC 5798 §8.2: a router sets the Router flag in its NAs.
	if fwd, err := netio.IPv6Forwarding(dev); err == nil {
		a.SetRouter(fwd)
	}
	p.announcers[dev] = a
	return a, nil
}

func (p *netPort) Close() error {
	p.cancel()
	p.wg.Wait()
	var errs []error
	if p.sock != nil {
		errs = append(errs, p.pool.release(p.sock))
		p.sock = nil
	}
	for _, s := range p.senders {
		if err := s.s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.announcers {
		if err := a.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
