package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ProtoVRRP is the IP protocol number of VRRP (RFC 5798 §5.1.1.4).
const ProtoVRRP = 112

// The multicast groups adverts go to when no other is configured
// (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	GroupV4 = netip.MustParseAddr("224.0.0.18")
	GroupV6 = netip.MustParseAddr("ff02::12")
)

// vrrpTTL is the TTL / hop limit of every advert; receivers drop adverts
// with any other value (RFC 5798 §5.1.1.3, §5.1.2.3).
const vrrpTTL = 255

// SenderConfig says where a Sender sends from and to.
type SenderConfig struct {
	Ifindex int    // interface the adverts leave by (index in the caller's namespace)
	Ifname  string // same interface, for SO_BINDTODEVICE and errors
	// Src is the source address. IPv4: the instance's primary address or
	// unicast_src_ip. IPv6: the interface's link-local address
	// (RFC 5798 §5.1.2.1) or unicast_src_ip. Its family chooses the socket's.
	// It may not be configured yet (the socket is bound with IP_FREEBIND).
	Src netip.Addr
	// Group is the multicast destination; zero means GroupV4 / GroupV6.
	Group netip.Addr
	// Peers, when not empty, replaces the group: each advert is sent to every
	// peer by unicast (keepalived's unicast_peer).
	Peers []netip.Addr
}

// Sender sends VRRP advertisements on a raw IP socket of protocol 112 bound
// to one interface, with TTL / hop limit 255 and multicast loopback off. The
// payload is sent as given: for IPv6 the kernel does not touch the checksum
// (IPV6_CHECKSUM stays off), so the codec must fill it. Send is safe for
// concurrent use.
type Sender struct {
	cfg  SenderConfig
	v4   *ipv4.PacketConn
	v6   *ipv6.PacketConn
	conn net.PacketConn
	dsts []net.Addr
}

// NewSender opens the socket in the calling thread's network namespace.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if !cfg.Src.IsValid() {
		return nil, fmt.Errorf("advert sender on %s: no source address", cfg.Ifname)
	}
	src := cfg.Src.Unmap()
	is6 := src.Is6()
	group := cfg.Group
	if !group.IsValid() {
		group = GroupV4
		if is6 {
			group = GroupV6
		}
	}
	s := &Sender{cfg: cfg}
	zone := strconv.Itoa(cfg.Ifindex)
	targets := cfg.Peers
	if len(targets) == 0 {
		targets = []netip.Addr{group}
	}
	for _, d := range targets {
		d = d.Unmap()
		if d.Is6() != is6 {
			return nil, fmt.Errorf("advert sender on %s: destination %v and source %v differ in family", cfg.Ifname, d, src)
		}
		a := &net.IPAddr{IP: d.AsSlice()}
		if is6 && (d.IsLinkLocalUnicast() || d.IsLinkLocalMulticast() || d.IsInterfaceLocalMulticast()) {
			a.Zone = zone
		}
		s.dsts = append(s.dsts, a)
	}

	network, laddr := "ip4:112", src.String()
	if is6 {
		network = "ip6:112"
		if src.IsLinkLocalUnicast() {
			laddr = src.WithZone(zone).String()
		}
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return control(rc, func(fd int) error {
			if err := unix.BindToDevice(fd, cfg.Ifname); err != nil {
				return fmt.Errorf("bind to device: %w", err)
			}
			if is6 {
				return unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
			}
			return unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_FREEBIND, 1)
		})
	}}
	c, err := lc.ListenPacket(context.Background(), network, laddr)
	if err != nil {
		return nil, fmt.Errorf("open raw socket on %s: %w", cfg.Ifname, err)
	}
	s.conn = c
	ifi := &net.Interface{Index: cfg.Ifindex, Name: cfg.Ifname}
	// This socket only sends: a filter that accepts nothing keeps the kernel
	// from queueing every VRRP packet on it.
	dropAll, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		c.Close()
		return nil, err
	}
	if is6 {
		p := ipv6.NewPacketConn(c)
		err = errors.Join(
			p.SetHopLimit(vrrpTTL),
			p.SetMulticastHopLimit(vrrpTTL),
			p.SetMulticastLoopback(false),
			p.SetMulticastInterface(ifi),
			p.SetBPF(dropAll),
		)
		s.v6 = p
	} else {
		p := ipv4.NewPacketConn(c)
		err = errors.Join(
			p.SetTTL(vrrpTTL),
			p.SetMulticastTTL(vrrpTTL),
			p.SetMulticastLoopback(false),
			p.SetMulticastInterface(ifi),
			p.SetBPF(dropAll),
		)
		s.v4 = p
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("set options of raw socket on %s: %w", cfg.Ifname, err)
	}
	return s, nil
}

// control runs fn on the socket's descriptor.
func control(rc syscall.RawConn, fn func(fd int) error) error {
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// Destinations returns where Send sends: the group, or every peer.
func (s *Sender) Destinations() []netip.Addr {
	out := make([]netip.Addr, 0, len(s.dsts))
	for _, d := range s.dsts {
		a, _ := netip.AddrFromSlice(d.(*net.IPAddr).IP)
		out = append(out, a.Unmap())
	}
	return out
}

// Send sends payload (a complete VRRP message) to every destination. It
// tries all of them and returns the errors joined.
func (s *Sender) Send(payload []byte) error {
	var errs []error
	for _, d := range s.dsts {
		var err error
		if s.v6 != nil {
			_, err = s.v6.WriteTo(payload, nil, d)
		} else {
			_, err = s.v4.WriteTo(payload, nil, d)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("send advert on %s to %v: %w", s.cfg.Ifname, d, err))
		}
	}
	return errors.Join(errs...)
}

// Close closes the socket.
func (s *Sender) Close() error { return s.conn.Close() }
