package netio

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// Ethernet and protocol numbers used by the frames below.
const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
	ethHeaderLen  = 14
	ethMinFrame   = 60 // ETH_ZLEN: shortest frame without FCS; shorter ones are zero-padded

	arpHWEthernet = 1
	arpOpRequest  = 1
	arpOpReply    = 2
	arpLen        = 28

	ipv6HeaderLen     = 40
	protoICMPv6       = 58
	icmpv6TypeNA      = 136
	naLen             = 24 // type, code, checksum, flags+reserved, target
	optTargetLLAddr   = 2
	optTargetLLAddrSz = 8 // one 8-octet unit for a 6-byte MAC
)

var (
	ethBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	// allNodes is ff02::1, the destination of unsolicited Neighbor
	// Advertisements (RFC 4861 §7.2.6).
	allNodes = netip.MustParseAddr("ff02::1")
)

// ARPForm selects which gratuitous ARP packets an Announcer sends.
type ARPForm uint8

// Gratuitous ARP forms (RFC 5944 §4.6). Some hosts only update their cache
// from one of them, so both are sent by default.
const (
	ARPRequest ARPForm = 1 << iota // ARP request, target hardware address zero
	ARPReply                       // ARP reply, target hardware address = sender's
)

// GratuitousARP returns an Ethernet frame carrying a gratuitous ARP for ip
// (which must be IPv4) owned by mac, broadcast on the link.
//
// Reference: RFC 5944 §4.6: sender and target protocol addresses are both ip,
// the sender hardware address is mac; in a reply the target hardware address
// is mac too, in a request it is unused (zero, as in RFC 5227 §2.3).
//
// Layout (60 bytes, zero-padded to the Ethernet minimum):
//
//	0  dst MAC ff:ff:ff:ff:ff:ff   6  src MAC   12 ethertype 0x0806
//	14 htype 1  16 ptype 0x0800  18 hlen 6  19 plen 4  20 op (1 request, 2 reply)
//	22 sha  28 spa  32 tha  38 tpa  42 padding
func GratuitousARP(mac net.HardwareAddr, ip netip.Addr, form ARPForm) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("gratuitous arp: hardware address %v is not 6 bytes", mac)
	}
	if !ip.Is4() {
		return nil, fmt.Errorf("gratuitous arp: %v is not an IPv4 address", ip)
	}
	var op uint16
	switch form {
	case ARPRequest:
		op = arpOpRequest
	case ARPReply:
		op = arpOpReply
	default:
		return nil, fmt.Errorf("gratuitous arp: form %d is not one of ARPRequest, ARPReply", form)
	}
	b := make([]byte, ethMinFrame)
	copy(b[0:6], ethBroadcast)
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:14], etherTypeARP)
	a := b[ethHeaderLen:]
	binary.BigEndian.PutUint16(a[0:2], arpHWEthernet)
	binary.BigEndian.PutUint16(a[2:4], 0x0800)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], op)
	ip4 := ip.As4()
	copy(a[8:14], mac)
	copy(a[14:18], ip4[:])
	if op == arpOpReply {
		copy(a[18:24], mac)
	}
	copy(a[24:28], ip4[:])
	return b, nil
}

// UnsolicitedNA returns an Ethernet frame carrying an unsolicited Neighbor
// Advertisement for target (IPv6) owned by mac, sent from src to the
// all-nodes group ff02::1.
//
// Reference: RFC 4861 §7.2.6 (unsolicited advertisement: Solicited flag 0,
// Override flag 1, destination all-nodes, Target Link-Layer Address option)
// and §7.1.2 (hop limit 255). RFC 5798 §8.2 asks a router to set the Router
// flag: pass router=true when the host forwards IPv6.
//
// Layout (86 bytes):
//
//	0  dst MAC 33:33:00:00:00:01  6 src MAC  12 ethertype 0x86dd
//	14 IPv6: version 6, payload length 32, next header 58, hop limit 255, src, dst ff02::1
//	54 ICMPv6: type 136, code 0, checksum, flags R|S|O, reserved, target
//	78 option: type 2, length 1, mac
func UnsolicitedNA(mac net.HardwareAddr, src, target netip.Addr, router bool) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("neighbor advertisement: hardware address %v is not 6 bytes", mac)
	}
	if !target.Is6() || target.Is4In6() || !src.Is6() || src.Is4In6() {
		return nil, fmt.Errorf("neighbor advertisement: %v from %v: not IPv6 addresses", target, src)
	}
	payloadLen := naLen + optTargetLLAddrSz
	b := make([]byte, ethHeaderLen+ipv6HeaderLen+payloadLen)
	dst := allNodes.As16()
	// RFC 2464 §7: IPv6 multicast maps to 33:33 + the low 32 bits of the group.
	b[0], b[1] = 0x33, 0x33
	copy(b[2:6], dst[12:16])
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:14], etherTypeIPv6)

	ip := b[ethHeaderLen:]
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], uint16(payloadLen))
	ip[6] = protoICMPv6
	ip[7] = 255
	s16 := src.As16()
	copy(ip[8:24], s16[:])
	copy(ip[24:40], dst[:])

	na := ip[ipv6HeaderLen:]
	na[0] = icmpv6TypeNA
	var flags byte = 0x20 // Override
	if router {
		flags |= 0x80
	}
	na[4] = flags
	t16 := target.As16()
	copy(na[8:24], t16[:])
	na[24] = optTargetLLAddr
	na[25] = 1
	copy(na[26:32], mac)
	binary.BigEndian.PutUint16(na[2:4], ICMPv6Checksum(src, allNodes, na))
	return b, nil
}

// ICMPv6Checksum returns the ICMPv6 checksum of msg (with its checksum field
// zero or, to verify, as received: a valid message then gives 0) over the
// IPv6 pseudo-header of src and dst (RFC 4443 §2.3, RFC 8200 §8.1).
func ICMPv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	s, d := src.As16(), dst.As16()
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(s[:])
	add(d[:])
	sum += uint32(len(msg)) >> 16
	sum += uint32(len(msg)) & 0xffff
	sum += protoICMPv6
	add(msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
