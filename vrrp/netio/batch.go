package netio

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// BatchSocket sends VRRP adverts of any number of virtual routers that
// share an interface and a source address, on one raw IP socket of
// protocol 112 (options as a Sender's: bound to the interface and the
// source with IP_FREEBIND, TTL / hop limit 255, multicast loop off,
// multicast out of the interface, a filter that receives nothing): Queue
// adds an advert, Flush sends everything queued with sendmmsg(2), as
// few calls as the kernel takes, never blocking (MSG_DONTWAIT). Neither
// allocates once the batch has grown to its working size. Not safe for
// concurrent use.
type BatchSocket struct {
	fd     int
	v6     bool
	ifname string

	hdrs []mmsghdr
	iovs []unix.Iovec
	dsts []*Dest
}

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// Dest is a destination of a BatchSocket, in the kernel's form, made once.
type Dest struct {
	Addr netip.Addr
	sa4  unix.RawSockaddrInet4
	sa6  unix.RawSockaddrInet6
}

// NewDest returns the destination addr; ifindex is the zone of a
// link-local IPv6 address.
func NewDest(addr netip.Addr, ifindex int) *Dest {
	addr = addr.Unmap()
	d := &Dest{Addr: addr}
	if addr.Is4() {
		d.sa4.Family = unix.AF_INET
		d.sa4.Addr = addr.As4()
		return d
	}
	d.sa6.Family = unix.AF_INET6
	d.sa6.Addr = addr.As16()
	if addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() {
		d.sa6.Scope_id = uint32(ifindex)
	}
	return d
}

// NewBatchSocket opens the socket in the calling thread's network
// namespace: on the interface ifindex (named ifname), from src (its
// family is the socket's; an IPv6 link-local one is bound with the
// interface as its zone). src need not be configured yet.
func NewBatchSocket(ifindex int, ifname string, src netip.Addr) (*BatchSocket, error) {
	if !src.IsValid() {
		return nil, fmt.Errorf("advert socket on %s: no source address", ifname)
	}
	src = src.Unmap()
	s := &BatchSocket{v6: src.Is6(), ifname: ifname}
	fam := unix.AF_INET
	if s.v6 {
		fam = unix.AF_INET6
	}
	fd, err := unix.Socket(fam, unix.SOCK_RAW|unix.SOCK_CLOEXEC, ProtoVRRP)
	if err != nil {
		return nil, fmt.Errorf("open raw socket on %s: %w", ifname, err)
	}
	s.fd = fd
	if err := s.setup(ifindex, src); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("advert socket on %s: %w", ifname, err)
	}
	return s, nil
}

func (s *BatchSocket) setup(ifindex int, src netip.Addr) error {
	fd := s.fd
	// This socket only sends: a filter that accepts nothing keeps the
	// kernel from queueing every VRRP packet on it.
	dropAll, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(dropAll))
	for i, in := range dropAll {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		return fmt.Errorf("attach filter: %w", err)
	}
	if err := unix.BindToDevice(fd, s.ifname); err != nil {
		return fmt.Errorf("bind to device: %w", err)
	}
	if s.v6 {
		sa := &unix.SockaddrInet6{Addr: src.As16()}
		if src.IsLinkLocalUnicast() {
			sa.ZoneId = uint32(ifindex)
		}
		return errors.Join(
			unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_FREEBIND, 1),
			unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_UNICAST_HOPS, vrrpTTL),
			unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_MULTICAST_HOPS, vrrpTTL),
			unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_MULTICAST_LOOP, 0),
			unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_MULTICAST_IF, ifindex),
			unix.Bind(fd, sa),
		)
	}
	return errors.Join(
		unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_FREEBIND, 1),
		unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TTL, vrrpTTL),
		unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_MULTICAST_TTL, vrrpTTL),
		unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_MULTICAST_LOOP, 0),
		unix.SetsockoptIPMreqn(fd, unix.SOL_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifindex)}),
		unix.Bind(fd, &unix.SockaddrInet4{Addr: src.As4()}),
	)
}

// Queue adds payload (a complete VRRP message) for dst to the batch.
// payload and dst are not copied: they must not change until Flush.
// dst's family must be the socket's.
func (s *BatchSocket) Queue(payload []byte, dst *Dest) {
	if len(payload) == 0 {
		return
	}
	s.iovs = append(s.iovs, unix.Iovec{Base: &payload[0]})
	s.iovs[len(s.iovs)-1].SetLen(len(payload))
	s.dsts = append(s.dsts, dst)
}

// Queued returns how many adverts wait for Flush.
func (s *BatchSocket) Queued() int { return len(s.dsts) }

// Flush sends what Queue added and empties the batch. A message the
// kernel refuses (interface down, buffer full) is skipped and the others
// still go; failed gets its index in the order of Queue and its error
// (nil: none failed). It returns how many were sent.
func (s *BatchSocket) Flush(failed func(i int, err error)) int {
	n := len(s.dsts)
	if n == 0 {
		return 0
	}
	if cap(s.hdrs) < n {
		s.hdrs = make([]mmsghdr, n, 2*n)
	}
	hdrs := s.hdrs[:n]
	for i, d := range s.dsts {
		h := &hdrs[i].hdr
		*h = unix.Msghdr{Iov: &s.iovs[i]}
		h.SetIovlen(1)
		if s.v6 {
			h.Name = (*byte)(unsafe.Pointer(&d.sa6))
			h.Namelen = unix.SizeofSockaddrInet6
		} else {
			h.Name = (*byte)(unsafe.Pointer(&d.sa4))
			h.Namelen = unix.SizeofSockaddrInet4
		}
	}
	sent := 0
	for i := 0; i < n; {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&hdrs[i])),
			uintptr(n-i), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0 || r == 0:
			// The message at i failed before any other was sent.
			if errno == 0 {
				errno = syscall.EIO
			}
			if failed != nil {
				failed(i, fmt.Errorf("send advert on %s to %v: %w", s.ifname, s.dsts[i].Addr, errno))
			}
			i++
		default:
			sent += int(r)
			i += int(r)
		}
	}
	clear(s.dsts)
	s.dsts, s.iovs = s.dsts[:0], s.iovs[:0]
	return sent
}

// Close closes the socket; what is queued is dropped.
func (s *BatchSocket) Close() error {
	s.dsts, s.iovs = s.dsts[:0], s.iovs[:0]
	return unix.Close(s.fd)
}
