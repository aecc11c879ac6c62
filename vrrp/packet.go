package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Wire constants shared by both versions.
const (
	// IPProtocol is the IP protocol number of VRRP (RFC 3768 §5.2.4,
	// RFC 5798 §5.1.1.4).
	IPProtocol = 112
	// TTL is the IPv4 TTL / IPv6 Hop Limit every advertisement is sent with
	// and must arrive with (RFC 3768 §5.2.3, RFC 5798 §5.1.1.3 and §5.1.2.3).
	TTL = 255
	// MaxAddrs is the largest number of addresses one advertisement carries
	// (an 8-bit Count field).
	MaxAddrs = 255
)

// Multicast destinations of advertisements (RFC 3768 §5.2.2, RFC 5798
// §5.1.1.2 and §5.1.2.2).
var (
	GroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	GroupIPv6 = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12})
)

// ErrInvalidAdvert is wrapped by every error Marshal and Append return for an
// Advert that cannot be encoded.
var ErrInvalidAdvert = errors.New("invalid advert")

// Layout of an advertisement, the IP payload (no IP header), offsets in bytes.
// Multi-byte fields are big-endian.
//
// VRRPv2 (RFC 3768 §5.1), IPv4 only:
//
//	0      version (high nibble, 2) | type (low nibble, 1 = ADVERTISEMENT)
//	1      Virtual Rtr ID (1-255)
//	2      Priority
//	3      Count IP Addrs (n)
//	4      Auth Type (0 none, 1 simple text password, 2 IPsec AH: see
//	       auth_ah.go for the IP and AH headers in front)
//	5      Adver Int, whole seconds
//	6:8    Checksum: over bytes 0:len, no pseudo-header (RFC 3768 §5.3.8)
//	8:8+4n IPv4 addresses
//	+0:8   Authentication Data: the password NUL-padded to 8 bytes (auth
//	       type 1), zero otherwise (AH: the password keys the ICV instead)
//
// VRRPv3 (RFC 5798 §5.1, RFC 9568 §5.1), IPv4 or IPv6:
//
//	0      version (high nibble, 3) | type (low nibble, 1)
//	1      Virtual Rtr ID
//	2      Priority
//	3      Count IPvX Addrs (n)
//	4:6    reserved (high 4 bits, sent as 0, ignored) | Max Adver Int in
//	       centiseconds (low 12 bits)
//	6:8    Checksum: over the IP pseudo-header and bytes 0:len. keepalived
//	       includes the IPv4 pseudo-header as RFC 5798 §5.2.8 says; RFC 9568
//	       §5.2.8 drops it for IPv4. We send the former and accept both.
//	8:     n IPv4 (4 bytes each) or IPv6 (16 bytes each) addresses
//
// There is no trailing authentication data in v3.
const (
	offVersionType = 0
	offVRID        = 1
	offPriority    = 2
	offCount       = 3
	offAuthType    = 4 // v2
	offAdverInt    = 5 // v2
	offMaxAdverInt = 4 // v3, 16 bits
	offChecksum    = 6
	headerLen      = 8
	authLen        = 8 // v2 trailer

	typeAdvertisement = 1
	intervalMask      = 0x0fff // v3: low 12 bits of bytes 4:6

	maxIntervalV2 = 255 * time.Second
	centisecond   = 10 * time.Millisecond
	maxIntervalV3 = intervalMask * centisecond
)

// Len returns the length in bytes of the advertisement's encoding, for the
// address family of its addresses (IPv4 when it has none). An IPv4-mapped
// IPv6 address counts as IPv6.
func (a *Advert) Len() int {
	n := headerLen + len(a.Addrs)*addrLen(len(a.Addrs) > 0 && a.Addrs[0].Is6())
	if a.Version == V2 {
		n += authLen
	}
	return n
}

func addrLen(is6 bool) int {
	if is6 {
		return 16
	}
	return 4
}

// Marshal encodes the advertisement as the payload of an IP packet from src
// to dst, with the checksum filled in. src and dst are the IP source and
// destination the packet will carry: the VRRPv3 checksum covers them
// (RFC 5798 §5.2.8); VRRPv2 ignores them except that they must be IPv4 when
// given. The bytes are those keepalived 2.2 sends for the same settings.
//
// The errors, all wrapping ErrInvalidAdvert, are: a version other than 2 or
// 3; VRID 0; more than MaxAddrs addresses; addresses of mixed families or of
// a family other than src/dst's; VRRPv2 over IPv6; a v2 interval that is not
// a whole number of seconds in 1-255 s, or a v3 interval that is not a
// multiple of 10 ms in 10 ms-40.95 s; a v2 Auth Type other than 0, 1 or 2,
// and v3 authentication fields that are not zero. With AuthAH the message
// carries 8 zero bytes of authentication data; AppendAH puts the IP and AH
// headers in front of it.
func (a *Advert) Marshal(src, dst netip.Addr) ([]byte, error) {
	return a.Append(make([]byte, 0, a.Len()), src, dst)
}

// Append is Marshal appending to b. On error b is returned unchanged.
func (a *Advert) Append(b []byte, src, dst netip.Addr) ([]byte, error) {
	is6, err := a.check(src, dst)
	if err != nil {
		return b, err
	}
	start := len(b)
	b = append(b, byte(a.Version)<<4|typeAdvertisement, a.VRID, a.Priority, byte(len(a.Addrs)))
	if a.Version == V2 {
		b = append(b, byte(a.AuthType), byte(a.Interval/time.Second), 0, 0)
	} else {
		b = binary.BigEndian.AppendUint16(b, uint16(a.Interval/centisecond))
		b = append(b, 0, 0)
	}
	for _, ip := range a.Addrs {
		if is6 {
			v6 := ip.As16()
			b = append(b, v6[:]...)
		} else {
			v4 := ip.As4()
			b = append(b, v4[:]...)
		}
	}
	msg := b[start:]
	var c uint16
	if a.Version == V2 {
		if a.AuthType == AuthAH {
			// RFC 2338 §5.3.6.3, keepalived: the key stays out of the
			// message; the AH header in front authenticates it.
			b = append(b, make([]byte, authLen)...)
		} else {
			b = append(b, a.AuthData[:]...)
		}
		msg = b[start:]
		c = Checksum(msg, netip.Addr{}, netip.Addr{})
	} else {
		c = Checksum(msg, src, dst)
	}
	binary.BigEndian.PutUint16(msg[offChecksum:], c)
	return b, nil
}

// check validates a for encoding and reports whether it is IPv6.
func (a *Advert) check(src, dst netip.Addr) (is6 bool, err error) {
	invalid := func(format string, args ...any) (bool, error) {
		return false, fmt.Errorf("%w: "+format, append([]any{ErrInvalidAdvert}, args...)...)
	}
	src, dst = src.Unmap(), dst.Unmap()
	switch a.Version {
	case V2:
		// RFC 3768 §5: VRRPv2 is defined for IPv4 only.
		if (src.IsValid() && !src.Is4()) || (dst.IsValid() && !dst.Is4()) {
			return invalid("vrrp v2 over ipv6 (src %s, dst %s)", src, dst)
		}
		// RFC 3768 §5.3.7: Adver Int in whole seconds, 8 bits.
		if a.Interval < time.Second || a.Interval > maxIntervalV2 || a.Interval%time.Second != 0 {
			return invalid("v2 interval %s not a whole number of seconds in 1s-255s", a.Interval)
		}
		// RFC 3768 §5.3.6; RFC 2338 §5.3.6.3 for AH.
		if a.AuthType != AuthNone && a.AuthType != AuthPass && a.AuthType != AuthAH {
			return invalid("v2 auth type %d not 0, 1 or 2", a.AuthType)
		}
	case V3:
		switch {
		case src.Is4() && dst.Is4():
		case src.Is6() && dst.Is6():
			is6 = true
		default:
			return invalid("v3 needs src and dst of one family (src %s, dst %s)", src, dst)
		}
		// RFC 5798 §5.2.7: 12 bits of centiseconds.
		if a.Interval < centisecond || a.Interval > maxIntervalV3 || a.Interval%centisecond != 0 {
			return invalid("v3 interval %s not a multiple of 10ms in 10ms-40.95s", a.Interval)
		}
		if a.AuthType != AuthNone || a.AuthData != [8]byte{} {
			return invalid("v3 has no authentication (auth type %d)", a.AuthType)
		}
	default:
		return invalid("version %d", a.Version)
	}
	// RFC 3768 §5.3.3, RFC 5798 §5.2.3: VRID 1-255.
	if a.VRID == 0 {
		return invalid("vrid 0")
	}
	if len(a.Addrs) > MaxAddrs {
		return invalid("%d addresses, at most %d fit", len(a.Addrs), MaxAddrs)
	}
	// Addresses are taken as they are: an IPv4-mapped IPv6 address is an
	// IPv6 address here (an IPv6 advert may carry one), unlike src and dst,
	// which come from sockets and are unmapped.
	for _, ip := range a.Addrs {
		if !ip.IsValid() || ip.Is6() != is6 {
			return invalid("address %s not of the advert's family (ipv6=%t)", ip, is6)
		}
	}
	return is6, nil
}

// ParseAdvert decodes the advertisement b, the complete payload of an IP
// packet from src to dst (exactly as long as the IP header says, without
// link-layer padding). It makes the structural checks of RFC 3768 §7.1 and
// RFC 5798 §7.1 that need no configuration: length, version, type, count
// against length, a non-zero interval, the checksum, VRID and (v2) Auth Type
// 0 or 1. It returns DropNone and the advert, or the first failing reason
// and a partially filled Advert that must not be used.
//
// The family comes from src: VRRPv2 requires IPv4 (dst may be left zero);
// VRRPv3 requires dst of the same family (the pseudo-header covers both). A VRRPv3 over IPv4 checksum is
// accepted computed with the pseudo-header for (src, dst), with the
// pseudo-header for (src, 224.0.0.18) (older keepalived unicast) or without a
// pseudo-header (RFC 9568 §5.2.8).
//
// ParseAdvert never panics, whatever b holds. It allocates the Addrs slice;
// Advert.Parse reuses one.
func ParseAdvert(b []byte, src, dst netip.Addr) (Advert, DropReason) {
	var a Advert
	r := a.Parse(b, src, dst)
	return a, r
}

// Parse is ParseAdvert decoding into a, reusing a.Addrs' storage. Every
// field of a is overwritten on success.
func (a *Advert) Parse(b []byte, src, dst netip.Addr) DropReason {
	return a.parse(b, src, dst, false)
}

// parse is Parse; inAH says the message came out of an AH packet
// (ParseAHAdvert), where Auth Type 2 is valid too. In protocol 112 it is
// not (DropAuthType, as the kernel path decides).
func (a *Advert) parse(b []byte, src, dst netip.Addr, inAH bool) DropReason {
	if len(b) < headerLen {
		return DropTruncated
	}
	v := Version(b[offVersionType] >> 4)
	if v != V2 && v != V3 {
		return DropBadVersion
	}
	if b[offVersionType]&0x0f != typeAdvertisement {
		return DropBadType
	}
	src, dst = src.Unmap(), dst.Unmap()
	var is6 bool
	switch {
	case v == V2 && src.Is4() && (!dst.IsValid() || dst.Is4()):
	case v == V3 && src.Is4() && dst.Is4():
	case v == V3 && src.Is6() && dst.Is6():
		is6 = true
	default:
		return DropBadFamily
	}
	n := int(b[offCount])
	want := headerLen + n*addrLen(is6)
	if v == V2 {
		want += authLen
	}
	if len(b) < want {
		return DropTruncated
	}
	if len(b) > want {
		return DropBadLength
	}
	var interval time.Duration
	if v == V2 {
		interval = time.Duration(b[offAdverInt]) * time.Second
	} else {
		interval = time.Duration(binary.BigEndian.Uint16(b[offMaxAdverInt:])&intervalMask) * centisecond
	}
	if interval == 0 {
		return DropBadInterval
	}
	if !checksumOK(b, v, src, dst) {
		return DropBadChecksum
	}
	if b[offVRID] == 0 {
		return DropUnknownVRID
	}
	auth := AuthNone
	if v == V2 {
		auth = AuthType(b[offAuthType])
		if auth != AuthNone && auth != AuthPass && !(inAH && auth == AuthAH) {
			return DropAuthType
		}
	}

	a.Version = v
	a.VRID = b[offVRID]
	a.Priority = b[offPriority]
	a.Interval = interval
	a.AuthType = auth
	a.AuthData = [8]byte{}
	if v == V2 {
		copy(a.AuthData[:], b[want-authLen:])
	}
	if cap(a.Addrs) < n {
		a.Addrs = make([]netip.Addr, n)
	}
	a.Addrs = a.Addrs[:n]
	p := b[headerLen:]
	for i := range a.Addrs {
		if is6 {
			a.Addrs[i] = netip.AddrFrom16([16]byte(p[:16]))
			p = p[16:]
		} else {
			a.Addrs[i] = netip.AddrFrom4([4]byte(p[:4]))
			p = p[4:]
		}
	}
	return DropNone
}

// checksumOK verifies the checksum of the complete message b.
func checksumOK(b []byte, v Version, src, dst netip.Addr) bool {
	if v == V2 {
		// RFC 3768 §5.3.8: the VRRP message only.
		return fold(sum(b, 0)) == 0
	}
	if src.Is6() {
		// RFC 5798 §5.2.8: with the IPv6 pseudo-header.
		return Checksum(b, src, dst) == 0
	}
	// IPv4: keepalived's (and RFC 5798's) pseudo-header form, the same with
	// the multicast group as destination (keepalived's unicast checksum
	// compatibility), then RFC 9568's message-only form.
	acc := sum(b, 0)
	if fold(acc+pseudoSum(src, dst, len(b))) == 0 {
		return true
	}
	if dst != GroupIPv4 && fold(acc+pseudoSum(src, GroupIPv4, len(b))) == 0 {
		return true
	}
	return fold(acc) == 0
}
