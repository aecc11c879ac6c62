package netio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ProtoAH is the IP protocol number of the IP Authentication Header
// (RFC 4302): adverts of auth_type AH instances travel in it (RFC 2338
// §5.3.6.3), with the VRRP message behind the AH header.
const ProtoAH = 51

// AHSender sends complete IPv4 packets of protocol 51 out of one interface:
// the caller builds the IP header (vrrp.AppendAH), because the AH ICV
// covers it; the socket has IP_HDRINCL, so the kernel keeps the TOS, TTL
// and identification given and only fills in the header checksum (and the
// identification when it is 0). Multicast loopback is off. SendTo is safe
// for concurrent use.
type AHSender struct {
	f      *os.File
	rc     syscall.RawConn
	ifname string
	dsts   []netip.Addr
}

// NewAHSender opens the socket in the calling thread's network namespace,
// bound to cfg's interface. cfg.Src must be IPv4 (AH exists for VRRPv2 over
// IPv4 only); the destinations are cfg.Peers, or the group.
func NewAHSender(cfg SenderConfig) (*AHSender, error) {
	src := cfg.Src.Unmap()
	if !src.Is4() {
		return nil, fmt.Errorf("ah advert sender on %s: source %v is not ipv4", cfg.Ifname, cfg.Src)
	}
	s := &AHSender{ifname: cfg.Ifname}
	if len(cfg.Peers) > 0 {
		for _, p := range cfg.Peers {
			if p = p.Unmap(); !p.Is4() {
				return nil, fmt.Errorf("ah advert sender on %s: peer %v is not ipv4", cfg.Ifname, p)
			}
			s.dsts = append(s.dsts, p.Unmap())
		}
	} else {
		g := cfg.Group.Unmap()
		if !g.IsValid() {
			g = GroupV4
		}
		if !g.Is4() {
			return nil, fmt.Errorf("ah advert sender on %s: group %v is not ipv4", cfg.Ifname, g)
		}
		s.dsts = []netip.Addr{g}
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, ProtoAH)
	if err != nil {
		return nil, fmt.Errorf("open raw socket ip4:%d on %s: %w", ProtoAH, cfg.Ifname, err)
	}
	// This socket only sends: a filter that accepts nothing keeps the
	// kernel from queueing every AH packet on it.
	dropAll, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err == nil {
		err = errors.Join(
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1),
			unix.BindToDevice(fd, cfg.Ifname),
			unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(cfg.Ifindex)}),
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0),
			attachFilter(fd, dropAll),
		)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("set options of raw socket ip4:%d on %s: %w", ProtoAH, cfg.Ifname, err)
	}
	s.f = os.NewFile(uintptr(fd), "ah-sender-"+cfg.Ifname)
	if s.rc, err = s.f.SyscallConn(); err != nil {
		s.f.Close()
		return nil, err
	}
	return s, nil
}

// attachFilter attaches a classic BPF program to the socket fd.
func attachFilter(fd int, prog []bpf.RawInstruction) error {
	fs := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		fs[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(fs)), Filter: &fs[0]})
}

// Destinations returns where adverts go: the group, or every peer.
func (s *AHSender) Destinations() []netip.Addr { return append([]netip.Addr(nil), s.dsts...) }

// SendTo sends pkt, a complete IPv4 packet whose destination is dst. A full
// socket buffer is an error, not a wait.
func (s *AHSender) SendTo(pkt []byte, dst netip.Addr) error {
	sa := &unix.SockaddrInet4{Addr: dst.Unmap().As4()}
	var serr error
	err := s.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), pkt, 0, sa)
		return true
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("send ah advert on %s to %v: %w", s.ifname, dst, err)
	}
	return nil
}

// Close closes the socket.
func (s *AHSender) Close() error { return s.f.Close() }

// RawPacket is one received IPv4 packet, header included.
type RawPacket struct {
	Ifindex int    // arrival interface (in the receiver's namespace)
	Data    []byte // the IPv4 packet as received; owned by the caller
}

// AHReceiver reads IPv4 packets of protocol 51, IP header included (the AH
// ICV covers it), from a raw socket that has joined the group on the given
// interfaces, and returns those that arrived on one of them. Unicast
// packets are received as well. Read and Run must not be called
// concurrently with each other; Close may be called at any time and
// unblocks them.
type AHReceiver struct {
	f      *os.File
	rc     syscall.RawConn
	buf    []byte
	oob    []byte
	ifaces map[int]bool
	close  sync.Once
	closed atomic.Bool
}

// NewAHReceiver opens the socket in the calling thread's namespace and
// joins group (IPv4) on every interface of ifaces (by index).
func NewAHReceiver(group netip.Addr, ifaces []*net.Interface) (*AHReceiver, error) {
	group = group.Unmap()
	if !group.Is4() || !group.IsMulticast() {
		return nil, fmt.Errorf("ah advert receiver: %v is not an ipv4 multicast group", group)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, ProtoAH)
	if err != nil {
		return nil, fmt.Errorf("open raw socket ip4:%d: %w", ProtoAH, err)
	}
	r := &AHReceiver{buf: make([]byte, 65535), oob: make([]byte, 128), ifaces: map[int]bool{}}
	// The same deep queue as the advert receiver of protocol 112.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, receiveBuffer); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, receiveBuffer)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ask for the arrival interface: %w", err)
	}
	for _, ifi := range ifaces {
		mreq := &unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(ifi.Index)}
		if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("join %v on %s: %w", group, ifi.Name, err)
		}
		r.ifaces[ifi.Index] = true
	}
	r.f = os.NewFile(uintptr(fd), "ah-receiver")
	if r.rc, err = r.f.SyscallConn(); err != nil {
		r.f.Close()
		return nil, err
	}
	return r, nil
}

// Read blocks until a packet arrives on a joined interface, ctx ends
// (ctx.Err() is returned) or the receiver is closed (os.ErrClosed).
func (r *AHReceiver) Read(ctx context.Context) (RawPacket, error) {
	if err := r.f.SetReadDeadline(time.Time{}); err != nil {
		if r.closed.Load() {
			return RawPacket{}, os.ErrClosed
		}
		return RawPacket{}, err
	}
	stop := context.AfterFunc(ctx, func() { r.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		p, err := r.read()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return RawPacket{}, ctx.Err()
			case r.closed.Load():
				return RawPacket{}, os.ErrClosed
			}
			return RawPacket{}, err
		}
		if r.ifaces[p.Ifindex] {
			return p, nil
		}
	}
}

func (r *AHReceiver) read() (RawPacket, error) {
	var n, oobn int
	var rerr error
	err := r.rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), r.buf, r.oob, 0)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return RawPacket{}, err
	}
	p := RawPacket{Ifindex: pktinfoIfindex(r.oob[:oobn]), Data: append([]byte(nil), r.buf[:n]...)}
	return p, nil
}

// pktinfoIfindex returns the interface index of an IP_PKTINFO control
// message (struct in_pktinfo: ipi_ifindex first), or 0.
func pktinfoIfindex(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= 4 {
			return int(int32(binary.NativeEndian.Uint32(m.Data)))
		}
	}
	return 0
}

// Run calls fn for every packet until ctx ends or the receiver is closed,
// which both return nil; any other read error is returned.
func (r *AHReceiver) Run(ctx context.Context, fn func(RawPacket)) error {
	for {
		p, err := r.Read(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
		fn(p)
	}
}

// Close closes the socket; a blocked Read returns os.ErrClosed.
func (r *AHReceiver) Close() error {
	var err error
	r.close.Do(func() {
		r.closed.Store(true)
		err = r.f.Close()
	})
	return err
}
