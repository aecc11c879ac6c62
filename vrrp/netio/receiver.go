package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Packet is one received VRRP message with what the IP layer said about it.
type Packet struct {
	Ifindex int        // arrival interface (in the receiver's namespace)
	Src     netip.Addr // IP source (IPv6 link-local sources carry no zone)
	Dst     netip.Addr // IP destination: the group or our unicast address
	TTL     uint8      // TTL (IPv4) or hop limit (IPv6); RFC 5798 §7.1 wants 255
	Payload []byte     // the VRRP message, IP header removed; owned by the caller
}

// Receiver reads VRRP messages of one family from a raw socket of protocol
// 112 that has joined the group on the given interfaces. Read and Run must
// not be called concurrently with each other; Close may be called at any
// time and unblocks them.
type Receiver struct {
	conn    net.PacketConn
	v4      *ipv4.PacketConn
	v6      *ipv6.PacketConn
	group   netip.Addr
	buf     []byte
	mu      sync.Mutex
	ifaces  map[int]bool // accepted arrival interfaces; empty accepts all
	closeMu sync.Once
}

// receiveBuffer is the receive queue size asked for on advert sockets.
const receiveBuffer = 8 << 20

// NewReceiver opens a raw socket for family (IPv4 when group is IPv4, IPv6
// when group is IPv6; pass GroupV4 or GroupV6 for the defaults) in the
// calling thread's namespace, joins group on every interface of ifaces (by
// index) and accepts packets arriving on those interfaces only (from any
// interface when ifaces is empty). Unicast adverts are received as well.
func NewReceiver(group netip.Addr, ifaces []*net.Interface) (*Receiver, error) {
	group = group.Unmap()
	if !group.IsMulticast() {
		return nil, fmt.Errorf("advert receiver: %v is not a multicast group", group)
	}
	r := &Receiver{group: group, buf: make([]byte, 65535), ifaces: map[int]bool{}}
	network, laddr := "ip4:112", "0.0.0.0"
	if group.Is6() {
		network, laddr = "ip6:112", "::"
	}
	c, err := net.ListenPacket(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("open raw socket %s: %w", network, err)
	}
	r.conn = c
	// A deep receive queue, so that a burst of junk does not push the
	// master's adverts out before they are read (the kernel dataplane is
	// the defence against real floods). FORCE works as root past
	// net.core.rmem_max; the plain option is the fallback.
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			_ = control(rc, func(fd int) error {
				if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, receiveBuffer); err != nil {
					return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, receiveBuffer)
				}
				return nil
			})
		}
	}
	if group.Is6() {
		r.v6 = ipv6.NewPacketConn(c)
		err = r.v6.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true)
	} else {
		r.v4 = ipv4.NewPacketConn(c)
		err = r.v4.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("ask for control messages: %w", err)
	}
	for _, ifi := range ifaces {
		if err := r.Join(ifi); err != nil {
			c.Close()
			return nil, err
		}
	}
	return r, nil
}

// Join joins the group on ifi and accepts packets arriving on it.
func (r *Receiver) Join(ifi *net.Interface) error {
	g := &net.IPAddr{IP: r.group.AsSlice()}
	var err error
	if r.v6 != nil {
		err = r.v6.JoinGroup(ifi, g)
	} else {
		err = r.v4.JoinGroup(ifi, g)
	}
	if err != nil {
		return fmt.Errorf("join %v on %s: %w", r.group, ifi.Name, err)
	}
	r.mu.Lock()
	r.ifaces[ifi.Index] = true
	r.mu.Unlock()
	return nil
}

// Leave leaves the group on ifi and stops accepting packets from it.
func (r *Receiver) Leave(ifi *net.Interface) error {
	g := &net.IPAddr{IP: r.group.AsSlice()}
	r.mu.Lock()
	delete(r.ifaces, ifi.Index)
	r.mu.Unlock()
	var err error
	if r.v6 != nil {
		err = r.v6.LeaveGroup(ifi, g)
	} else {
		err = r.v4.LeaveGroup(ifi, g)
	}
	if err != nil {
		return fmt.Errorf("leave %v on %s: %w", r.group, ifi.Name, err)
	}
	return nil
}

func (r *Receiver) accepts(ifindex int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ifaces) == 0 || r.ifaces[ifindex]
}

// Read blocks until a packet arrives on an accepted interface, ctx ends
// (ctx.Err() is returned) or the receiver is closed (net.ErrClosed).
func (r *Receiver) Read(ctx context.Context) (Packet, error) {
	if err := r.conn.SetReadDeadline(time.Time{}); err != nil {
		return Packet{}, err
	}
	stop := context.AfterFunc(ctx, func() { r.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		p, err := r.read()
		if err != nil {
			if ctx.Err() != nil {
				return Packet{}, ctx.Err()
			}
			return Packet{}, err
		}
		if r.accepts(p.Ifindex) {
			return p, nil
		}
	}
}

func (r *Receiver) read() (Packet, error) {
	var p Packet
	var n int
	var src net.Addr
	var err error
	if r.v6 != nil {
		var cm *ipv6.ControlMessage
		n, cm, src, err = r.v6.ReadFrom(r.buf)
		if err != nil {
			return p, err
		}
		if cm != nil {
			p.Ifindex, p.TTL = cm.IfIndex, uint8(cm.HopLimit)
			p.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	} else {
		var cm *ipv4.ControlMessage
		n, cm, src, err = r.v4.ReadFrom(r.buf)
		if err != nil {
			return p, err
		}
		if cm != nil {
			p.Ifindex, p.TTL = cm.IfIndex, uint8(cm.TTL)
			p.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	}
	if a, ok := src.(*net.IPAddr); ok {
		p.Src, _ = netip.AddrFromSlice(a.IP)
	}
	p.Src, p.Dst = p.Src.Unmap(), p.Dst.Unmap()
	p.Payload = append([]byte(nil), r.buf[:n]...)
	return p, nil
}

// Run calls fn for every packet until ctx ends or the receiver is closed,
// which both return nil; any other read error is returned.
func (r *Receiver) Run(ctx context.Context, fn func(Packet)) error {
	for {
		p, err := r.Read(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		fn(p)
	}
}

// Close closes the socket; a blocked Read returns net.ErrClosed.
func (r *Receiver) Close() error {
	var err error
	r.closeMu.Do(func() { err = r.conn.Close() })
	return err
}
