package vrrp

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// VRRPv2 with the IP Authentication Header (RFC 2338 §5.3.6.3, auth_type AH),
// as keepalived 2.2.7 sends and checks it. RFC 3768 removed it; OpenStack
// neutron's L3 agent still configures it. The advert is the VRRPv2 message
// with Auth Type 2 and 8 zero bytes of authentication data, behind an AH
// header (RFC 2402 §2) and in IP protocol 51. keepalived builds the IPv4
// header itself, so the whole packet is the unit here.
//
// Layout, offsets in bytes from the start of the IPv4 packet (keepalived
// sends no IP options; a received packet may carry some, and then the AH
// header starts at IHL×4):
//
//	0      0x45: version 4, IHL 5
//	1      TOS 0xc0 (network control)
//	2:4    total length
//	4:6    identification: keepalived counts it per instance from 1, skipping 0
//	6:8    flags and fragment offset: 0
//	8      TTL 255
//	9      protocol 51 (AH)
//	10:12  header checksum
//	12:16  source address
//	16:20  destination address (224.0.0.18, or the unicast peer)
//	20     AH next header: 112 (VRRP)
//	21     AH payload length: 4 (the 24-byte header in 32-bit words, minus 2)
//	22:24  reserved, 0
//	24:28  SPI: the source address again (keepalived's choice: no SA is
//	       negotiated in a multicast group, and the source is unique)
//	28:32  sequence number (see AHSequence)
//	32:44  ICV: HMAC-MD5 (RFC 2104, RFC 2403) truncated to 96 bits, keyed
//	       with auth_pass as 8 NUL-padded bytes, over the whole packet with
//	       TOS, flags/fragment offset, header checksum and the ICV itself
//	       zeroed, and the TTL too for a unicast instance (RFC 2402 §3.3.3.1:
//	       the fields that may change in transit; keepalived counts the TTL
//	       as one only when unicast)
//	44:    the VRRPv2 message (RFC 3768 §5.1; Auth Type 2)
const (
	// IPProtocolAH is the IP protocol number of the Authentication Header
	// (RFC 2402 §2, RFC 4302).
	IPProtocolAH = 51
	// AHLen is the length of keepalived's AH header: 12 fixed bytes and a
	// 96-bit ICV.
	AHLen = 24

	ahPayloadLen = AHLen/4 - 2 // RFC 2402 §2.2
	ahOffSPI     = 4
	ahOffSeq     = 8
	ahOffICV     = 12
	ahICVLen     = 12 // HMAC-MD5-96 (RFC 2403 §2)

	ipv4HeaderLen = 20
	ahTOS         = 0xc0 // keepalived: "internet network control"
)

// Errors Authenticate returns. Both say the advert is not authentic; the
// drop reason for either is DropAuthData.
var (
	ErrAHICV = errors.New("ipsec ah: icv does not verify (another auth_pass, or the packet was changed on the way)")
	ErrAHSPI = errors.New("ipsec ah: spi is not the source address")
)

// AHSend is what the IPv4 and AH headers of one sent advert carry besides
// the message.
type AHSend struct {
	Src, Dst netip.Addr // IPv4; the SPI is Src
	ID       uint16     // IP identification (the kernel would choose one if 0)
	TTL      uint8      // 255 (RFC 3768 §5.2.3)
	Seq      uint32     // from AHSequence.Next
	// Unicast leaves the TTL out of the ICV, as keepalived does for an
	// instance with unicast peers (a routed advert's TTL changes).
	Unicast bool
	Key     [8]byte // auth_pass, NUL-padded
}

// ahPacketLen returns the length of the IPv4 packet AppendAH builds around
// msg.
func ahPacketLen(msg []byte) int { return ipv4HeaderLen + AHLen + len(msg) }

// AppendAH appends to b the complete IPv4 packet that carries msg, a VRRPv2
// advert with Auth Type 2 (Advert.Append with AuthType AuthAH), under an AH
// header: the bytes keepalived 2.2.7 sends for the same settings, header
// checksum included (a raw socket with IP_HDRINCL recomputes it anyway).
// The errors wrap ErrInvalidAdvert: Src or Dst not IPv4, msg not a VRRPv2
// message with Auth Type 2, or a packet longer than 65535 bytes. On error b
// is returned unchanged.
func AppendAH(b []byte, h AHSend, msg []byte) ([]byte, error) {
	src, dst := h.Src.Unmap(), h.Dst.Unmap()
	if !src.Is4() || !dst.Is4() {
		return b, fmt.Errorf("%w: ipsec ah needs ipv4 addresses (src %s, dst %s)", ErrInvalidAdvert, h.Src, h.Dst)
	}
	if len(msg) < headerLen+authLen || msg[offVersionType]>>4 != byte(V2) || AuthType(msg[offAuthType]) != AuthAH {
		return b, fmt.Errorf("%w: ipsec ah carries a vrrp v2 message with auth type 2", ErrInvalidAdvert)
	}
	n := ahPacketLen(msg)
	if n > 0xffff {
		return b, fmt.Errorf("%w: %d bytes do not fit an ipv4 packet", ErrInvalidAdvert, n)
	}
	start := len(b)
	s4, d4 := src.As4(), dst.As4()
	b = append(b, 0x45, ahTOS)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = binary.BigEndian.AppendUint16(b, h.ID)
	b = append(b, 0, 0, h.TTL, IPProtocolAH, 0, 0)
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	b = append(b, IPProtocol, ahPayloadLen, 0, 0)
	b = append(b, s4[:]...) // SPI
	b = binary.BigEndian.AppendUint32(b, h.Seq)
	b = append(b, make([]byte, ahICVLen)...)
	b = append(b, msg...)
	pkt := b[start:]
	icv := ahICV(pkt, ipv4HeaderLen, h.Unicast, h.Key)
	copy(pkt[ipv4HeaderLen+ahOffICV:], icv[:ahICVLen])
	binary.BigEndian.PutUint16(pkt[10:], fold(sum(pkt[:ipv4HeaderLen], 0)))
	return b, nil
}

// ahICV computes the HMAC-MD5 of pkt (an IPv4 packet whose header is hl
// bytes long, followed by the AH header) with the mutable fields zeroed.
// pkt is not modified.
func ahICV(pkt []byte, hl int, unicast bool, key [8]byte) []byte {
	// The IP header (at most 60 bytes) and the AH header, with the mutable
	// fields zeroed in a copy.
	var head [60 + AHLen]byte
	h := head[:hl+AHLen]
	copy(h, pkt)
	h[1] = 0          // TOS
	h[6], h[7] = 0, 0 // flags, fragment offset
	h[10], h[11] = 0, 0
	if unicast {
		h[8] = 0 // TTL
	}
	clear(h[hl+ahOffICV : hl+AHLen])
	m := hmac.New(md5.New, key[:])
	m.Write(h)
	m.Write(pkt[hl+AHLen:])
	return m.Sum(nil)
}

// AHPacket is a received IPv4 packet of protocol 51 as ParseAH decodes it.
// Msg and the unexported fields alias the packet given to ParseAH.
type AHPacket struct {
	Src, Dst   netip.Addr
	TTL        uint8
	ID         uint16
	NextHeader uint8 // 112 for VRRP
	SPI        uint32
	Seq        uint32
	Msg        []byte // what follows the AH header: the VRRP message

	pkt []byte // the whole packet, for Authenticate
	hl  int    // IP header length
}

// ParseAH decodes pkt, a complete IPv4 packet as a raw socket of protocol 51
// receives it (header included), without authenticating it. It checks the
// IPv4 header (version 4, a header length of at least 20 bytes, a total
// length equal to len(pkt), not a fragment, protocol 51) and the AH header
// (complete, payload length 4: the 96-bit ICV keepalived sends). It returns
// DropTruncated for a packet shorter than its total length or than its IP
// and AH headers, DropBadLength for one longer than its total length, for an
// IHL under 5 or another AH payload length,
// DropBadFamily for what is not IPv4 protocol 51, and DropBadType for an AH
// packet whose next header is not VRRP (keepalived ignores those: p.
// NextHeader tells the caller). ParseAH never panics.
func ParseAH(pkt []byte) (p AHPacket, r DropReason) {
	if len(pkt) < ipv4HeaderLen {
		return p, DropTruncated
	}
	if pkt[0]>>4 != 4 {
		return p, DropBadFamily
	}
	hl := int(pkt[0]&0x0f) * 4
	if hl < ipv4HeaderLen {
		return p, DropBadLength
	}
	tot := int(binary.BigEndian.Uint16(pkt[2:]))
	switch {
	case len(pkt) < tot:
		return p, DropTruncated
	case len(pkt) > tot:
		return p, DropBadLength
	case tot < hl+AHLen:
		// No room for the AH header after the IP header.
		return p, DropTruncated
	}
	if pkt[9] != IPProtocolAH || binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0 {
		return p, DropBadFamily
	}
	ah := pkt[hl:]
	p = AHPacket{
		Src:        netip.AddrFrom4([4]byte(pkt[12:16])),
		Dst:        netip.AddrFrom4([4]byte(pkt[16:20])),
		TTL:        pkt[8],
		ID:         binary.BigEndian.Uint16(pkt[4:]),
		NextHeader: ah[0],
		SPI:        binary.BigEndian.Uint32(ah[ahOffSPI:]),
		Seq:        binary.BigEndian.Uint32(ah[ahOffSeq:]),
		Msg:        pkt[hl+AHLen:],
		pkt:        pkt,
		hl:         hl,
	}
	if p.NextHeader != IPProtocol {
		return p, DropBadType
	}
	if ah[1] != ahPayloadLen {
		return p, DropBadLength
	}
	return p, DropNone
}

// Authenticate verifies the packet's ICV with key (the instance's
// auth_pass, NUL-padded), leaving the TTL out when the instance is unicast,
// then keepalived's rule that the SPI is the source address. It returns nil,
// ErrAHICV or ErrAHSPI. The comparison takes constant time.
func (p *AHPacket) Authenticate(key [8]byte, unicast bool) error {
	if len(p.pkt) < p.hl+AHLen {
		return ErrAHICV
	}
	icv := ahICV(p.pkt, p.hl, unicast, key)
	if !hmac.Equal(icv[:ahICVLen], p.pkt[p.hl+ahOffICV:p.hl+AHLen]) {
		return ErrAHICV
	}
	if s := p.Src.As4(); p.SPI != binary.BigEndian.Uint32(s[:]) {
		return ErrAHSPI
	}
	return nil
}

// Advert decodes the VRRP message the packet carries, like Advert.Parse
// with the packet's source and destination, Auth Type 2 allowed. Check it
// with Expect.Check as any advert.
func (p *AHPacket) Advert(a *Advert) DropReason {
	return a.parse(p.Msg, p.Src, p.Dst, true)
}

// AHSequence is the AH sequence number of one instance as keepalived 2.2.7
// keeps it: a single counter for the adverts it sends and those it accepts
// (RFC 2402 §3.3.2 counts the two apart; keepalived does not, so that a
// backup that takes over continues above the master it heard). The zero
// value is a new instance: its first advert carries 1. Not safe for
// concurrent use.
type AHSequence struct {
	n uint32
}

// ahSeqMax is where keepalived stops counting: it then sends this number
// again and again (and receivers drop it as a replay). At one advert a
// second that takes 136 years.
const ahSeqMax = 0xfffffffe

// Next returns the sequence number of the next advert to send: one more
// than the last sent or accepted, at most 0xfffffffe.
func (s *AHSequence) Next() uint32 {
	if s.n < ahSeqMax {
		s.n++
	}
	return s.n
}

// Accept reports whether an authenticated advert with sequence number seq
// is new: greater than every number sent or accepted so far. If so, seq
// becomes the counter, and this instance's next advert continues above it.
// A replayed or old advert is not accepted and changes nothing.
func (s *AHSequence) Accept(seq uint32) bool {
	if seq <= s.n {
		return false
	}
	s.n = seq
	return true
}

// Last returns the last sequence number sent or accepted (0: none yet).
func (s *AHSequence) Last() uint32 { return s.n }
