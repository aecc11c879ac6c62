package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/packet"
)

// Announcer sends gratuitous ARPs and unsolicited Neighbor Advertisements on
// one interface. It is safe for concurrent use; sends are serialised.
type Announcer struct {
	ifi  *net.Interface
	conn net.PacketConn

	mu     sync.Mutex
	forms  ARPForm
	router bool
}

// Dial opens an AF_PACKET socket on ifi (in the calling thread's network
// namespace) that only sends: it is bound to protocol 0, so the kernel
// queues no received frames on it.
func Dial(ifi *net.Interface) (*Announcer, error) {
	c, err := packet.Listen(ifi, packet.Raw, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("open packet socket on %s: %w", ifi.Name, err)
	}
	return New(ifi, c), nil
}

// New returns an Announcer writing whole Ethernet frames to conn, addressed
// with *packet.Addr. Tests pass a fake conn.
func New(ifi *net.Interface, conn net.PacketConn) *Announcer {
	return &Announcer{ifi: ifi, conn: conn, forms: ARPRequest | ARPReply}
}

// SetARPForms chooses the gratuitous ARP forms sent for each IPv4 address
// (default: ARPRequest|ARPReply, a request then a reply).
func (a *Announcer) SetARPForms(f ARPForm) {
	a.mu.Lock()
	a.forms = f
	a.mu.Unlock()
}

// SetRouter sets the Router flag of the Neighbor Advertisements (RFC 5798
// §8.2: set when the host is an IPv6 router; default false).
func (a *Announcer) SetRouter(router bool) {
	a.mu.Lock()
	a.router = router
	a.mu.Unlock()
}

// Frames returns the frames one round of Announce sends for addrs: per IPv4
// address the gratuitous ARP forms in order (request, reply), per IPv6
// address one Neighbor Advertisement whose IPv6 source is the address itself.
func (a *Announcer) Frames(addrs []netip.Addr) ([][]byte, error) {
	a.mu.Lock()
	forms, router := a.forms, a.router
	a.mu.Unlock()
	var frames [][]byte
	for _, ip := range addrs {
		ip = ip.Unmap()
		if ip.Is4() {
			for _, f := range []ARPForm{ARPRequest, ARPReply} {
				if forms&f == 0 {
					continue
				}
				b, err := GratuitousARP(a.ifi.HardwareAddr, ip, f)
				if err != nil {
					return nil, err
				}
				frames = append(frames, b)
			}
			continue
		}
		b, err := UnsolicitedNA(a.ifi.HardwareAddr, ip.WithZone(""), ip.WithZone(""), router)
		if err != nil {
			return nil, err
		}
		frames = append(frames, b)
	}
	return frames, nil
}

// Announce sends repeat rounds of gratuitous ARPs / Neighbor Advertisements
// for addrs, waiting interval between consecutive packets (keepalived's
// vrrp_garp_interval / vrrp_gna_interval; 0 sends back to back). keepalived
// sends 5 rounds per burst (vrrp_garp_master_repeat).
//
// It returns early with ctx's error when ctx ends, and with the first send
// error otherwise.
func (a *Announcer) Announce(ctx context.Context, addrs []netip.Addr, repeat int, interval time.Duration) error {
	frames, err := a.Frames(addrs)
	if err != nil {
		return err
	}
	var timer *time.Timer
	first := true
	for range repeat {
		for _, f := range frames {
			if !first && interval > 0 {
				if timer == nil {
					timer = time.NewTimer(interval)
					defer timer.Stop()
				} else {
					timer.Reset(interval)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-timer.C:
				}
			} else if err := ctx.Err(); err != nil {
				return err
			}
			first = false
			if err := a.send(f); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *Announcer) send(frame []byte) error {
	dst := net.HardwareAddr(frame[0:6])
	if _, err := a.conn.WriteTo(frame, &packet.Addr{HardwareAddr: dst}); err != nil {
		return fmt.Errorf("send announcement on %s: %w", a.ifi.Name, err)
	}
	return nil
}

// Close closes the socket.
func (a *Announcer) Close() error {
	if err := a.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close packet socket on %s: %w", a.ifi.Name, err)
	}
	return nil
}
