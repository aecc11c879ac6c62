package vrrp

import (
	"encoding/binary"
	"net/netip"
)

// Checksum returns the Internet checksum (RFC 1071) of msg, preceded by the
// IP pseudo-header for src and dst with protocol 112 and length len(msg):
//
//   - IPv4 (RFC 5798 §5.2.8 as keepalived sends it): src(4) dst(4) zero(1)
//     protocol(1) length(2);
//   - IPv6 (RFC 8200 §8.1): src(16) dst(16) length(4) zero(3) next header(1).
//
// When src and dst are not both valid addresses of the same family (for
// example two zero netip.Addr values), no pseudo-header is included: that is
// the VRRPv2 checksum (RFC 3768 §5.3.8) and RFC 9568's IPv4 form. IPv4-mapped
// IPv6 addresses count as IPv4.
//
// To fill in a checksum, compute it with the checksum field set to zero. To
// verify one, compute it over the message as received: the result is 0 when
// it is correct.
func Checksum(msg []byte, src, dst netip.Addr) uint16 {
	return fold(sum(msg, pseudoSum(src, dst, len(msg))))
}

// sum adds b as big-endian 16-bit words (a trailing odd byte padded with
// zero) to acc. A uint64 cannot overflow for any slice Go can hold.
func sum(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint16(b)) + uint64(binary.BigEndian.Uint16(b[2:])) +
			uint64(binary.BigEndian.Uint16(b[4:])) + uint64(binary.BigEndian.Uint16(b[6:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold reduces acc to 16 bits with end-around carry and complements it.
func fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// pseudoSum returns the one's-complement partial sum of the pseudo-header
// for src, dst and a message of n bytes, or 0 when there is none.
func pseudoSum(src, dst netip.Addr, n int) uint64 {
	src, dst = src.Unmap(), dst.Unmap()
	switch {
	case src.Is4() && dst.Is4():
		s, d := src.As4(), dst.As4()
		acc := sum(s[:], 0)
		acc = sum(d[:], acc)
		return acc + IPProtocol + uint64(n&0xffff)
	case src.Is6() && dst.Is6():
		s, d := src.As16(), dst.As16()
		acc := sum(s[:], 0)
		acc = sum(d[:], acc)
		return acc + uint64(uint32(n)>>16) + uint64(n&0xffff) + IPProtocol
	}
	return 0
}
