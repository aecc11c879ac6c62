package daemon

import (
	"errors"
	"fmt"
	"net/netip"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

// The send path. Every instance bound to the same interface with the same
// source address sends on one raw socket (a netio.BatchSocket, shared and
// counted by sendPool); Port.SendAdvert queues the instance's advert,
// encoded once per destination and kept (encoded again only when the
// advert changes: priority, VIPs), and the loop sends everything queued
// during a turn with one sendmmsg per socket (Env.Flush) before it waits
// again. So 255 masters at the same interval cost one system call a
// tick, and no allocation an advert.

// SendFailure is an advert Env.Flush could not send.
type SendFailure struct {
	Port Port
	Err  error
}

// sendPool holds the shared advert sockets of an Env and the batch of the
// current loop turn. Used by the loop only.
type sendPool struct {
	socks map[sockKey]*pooledSocket
	dirty []*pooledSocket // sockets with queued adverts
	fails []SendFailure   // Flush's answer, reused
	// open opens a socket (netio.NewBatchSocket; tests replace it).
	open func(ifindex int, ifname string, src netip.Addr) (batchSocket, error)
}

// batchSocket is what sendPool needs of a netio.BatchSocket.
type batchSocket interface {
	Queue(payload []byte, dst *netio.Dest)
	Flush(failed func(i int, err error)) int
	Close() error
}

// sockKey identifies a shared socket: the interface (by index: a
// recreated interface gets new sockets) and the source address.
type sockKey struct {
	ifindex int
	src     netip.Addr
}

// pooledSocket is one shared socket, the ports using it, and the port of
// each queued advert.
type pooledSocket struct {
	key    sockKey
	s      batchSocket
	refs   int
	owners []*netPort
	dirty  bool
	// onFail collects what Flush refuses, into sink (or errs when nil):
	// made once, so that a flush allocates nothing.
	onFail func(i int, err error)
	sink   *[]SendFailure
	errs   []error
}

func newSendPool() *sendPool {
	return &sendPool{socks: map[sockKey]*pooledSocket{}, open: func(ifindex int, ifname string, src netip.Addr) (batchSocket, error) {
		return netio.NewBatchSocket(ifindex, ifname, src)
	}}
}

// acquire returns the socket of (ifindex, src), opened in the calling
// thread's network namespace if it is not open yet.
func (sp *sendPool) acquire(ifindex int, ifname string, src netip.Addr) (*pooledSocket, error) {
	k := sockKey{ifindex: ifindex, src: src}
	if ps := sp.socks[k]; ps != nil {
		ps.refs++
		return ps, nil
	}
	s, err := sp.open(ifindex, ifname, src)
	if err != nil {
		return nil, err
	}
	ps := &pooledSocket{key: k, s: s, refs: 1}
	ps.onFail = func(i int, err error) {
		if ps.sink != nil {
			*ps.sink = append(*ps.sink, SendFailure{Port: ps.owners[i], Err: err})
		} else {
			ps.errs = append(ps.errs, err)
		}
	}
	sp.socks[k] = ps
	return ps, nil
}

// release gives back a socket acquire returned: what is queued on it is
// sent first; the last release closes it.
func (sp *sendPool) release(ps *pooledSocket) error {
	var err error
	if ps.dirty {
		err = sp.flushOne(ps, nil)
	}
	ps.refs--
	if ps.refs > 0 {
		return err
	}
	delete(sp.socks, ps.key)
	return errors.Join(err, ps.s.Close())
}

// queue adds one advert of p to its socket's batch.
func (sp *sendPool) queue(ps *pooledSocket, p *netPort, payload []byte, dst *netio.Dest) {
	ps.s.Queue(payload, dst)
	ps.owners = append(ps.owners, p)
	p.queued = true
	if !ps.dirty {
		ps.dirty = true
		sp.dirty = append(sp.dirty, ps)
	}
}

// flush sends every batch and returns the adverts that failed (valid
// until the next flush).
func (sp *sendPool) flush() []SendFailure {
	sp.fails = sp.fails[:0]
	for _, ps := range sp.dirty {
		if ps.dirty {
			sp.flushOne(ps, &sp.fails)
		}
	}
	clear(sp.dirty)
	sp.dirty = sp.dirty[:0]
	return sp.fails
}

// flushOne sends the batch of one socket; failures go to fails, or are
// returned joined when fails is nil.
func (sp *sendPool) flushOne(ps *pooledSocket, fails *[]SendFailure) error {
	ps.sink, ps.errs = fails, ps.errs[:0]
	ps.s.Flush(ps.onFail)
	ps.sink = nil
	for _, p := range ps.owners {
		p.queued = false
	}
	clear(ps.owners)
	ps.owners = ps.owners[:0]
	ps.dirty = false
	err := errors.Join(ps.errs...)
	clear(ps.errs)
	return err
}

// flushSends sends the adverts queued on the shared sockets; one that
// fails is logged (at most once a second) and not counted as sent.
func (d *Daemon) flushSends() {
	for _, f := range d.parts.env.Flush() {
		for _, inst := range d.insts {
			if inst.bind != nil && inst.bind.Port == f.Port {
				d.limited.warn(inst.log, "send advert", zap.Error(f.Err))
				inst.counters.advertSent.Add(^uint64(0))
				d.stats.advertsSent.Add(^uint64(0))
				break
			}
		}
	}
}

// Flush sends the adverts queued since the last Flush.
func (e *netEnv) Flush() []SendFailure { return e.pool.flush() }

// encoded is an instance's advert encoded for one destination, and the
// advert it encodes.
type encoded struct {
	dst   *netio.Dest
	bytes []byte
	of    vrrp.Advert // Addrs is a copy
	ok    bool
}

// sameAdvert tells whether a and b encode to the same message.
func sameAdvert(a, b *vrrp.Advert) bool {
	if a.Version != b.Version || a.VRID != b.VRID || a.Priority != b.Priority || a.Interval != b.Interval ||
		a.AuthType != b.AuthType || a.AuthData != b.AuthData || len(a.Addrs) != len(b.Addrs) {
		return false
	}
	for i := range a.Addrs {
		if a.Addrs[i] != b.Addrs[i] {
			return false
		}
	}
	return true
}

// queueAdvert queues a for every destination of p, encoding it for those
// whose last encoding differs.
func (p *netPort) queueAdvert(a *vrrp.Advert) error {
	for i := range p.encs {
		e := &p.encs[i]
		if e.ok && sameAdvert(&e.of, a) {
			continue
		}
		if p.queued {
			// The old encoding waits in the batch: send it first.
			if err := p.pool.flushOne(p.sock, nil); err != nil {
				p.log.Debug("send advert", zap.Error(err))
			}
		}
		b, err := a.Append(e.bytes[:0], p.src, e.dst.Addr)
		if err != nil {
			e.ok = false
			return fmt.Errorf("encode advert: %w", err)
		}
		addrs := append(e.of.Addrs[:0], a.Addrs...)
		e.bytes, e.of, e.ok = b, *a, true
		e.of.Addrs = addrs
	}
	for i := range p.encs {
		p.pool.queue(p.sock, p, p.encs[i].bytes, p.encs[i].dst)
	}
	return nil
}
