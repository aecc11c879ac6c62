package vrrp

import (
	"net/netip"
	"time"
)

// Expect is what one virtual router instance accepts: the receive-side checks
// of RFC 3768 §7.1 and RFC 5798 §7.1 that need its configuration, plus
// keepalived's own. Build one per instance from the configuration; the zero
// value accepts nothing useful. An Expect is read-only during Check, so one
// value may be shared by concurrent receivers.
type Expect struct {
	Version Version // the instance's version; adverts of the other are dropped
	VRID    uint8
	IPv6    bool // the instance's address family

	// Interval is the configured advert_int. VRRPv2 drops adverts with another
	// interval (RFC 3768 §7.1); VRRPv3 learns the master's instead and
	// ignores this field.
	Interval time.Duration

	// AuthType and AuthData are the VRRPv2 authentication settings: with
	// AuthPass all 8 bytes of AuthData (the password NUL-padded) must match.
	// VRRPv3 ignores both.
	AuthType AuthType
	AuthData [8]byte

	// VIPs are the configured virtual addresses (keepalived's
	// virtual_ipaddress, not virtual_ipaddress_excluded, which are not
	// advertised). The advert must carry as many and, unless
	// SkipCheckAdvAddr, every one of them, in any order.
	VIPs []netip.Addr
	// SkipCheckAdvAddr skips the comparison of the address list (not of the
	// count). keepalived's vrrp_skip_check_adv_addr skips it only for
	// adverts from the master it already follows: the caller gets that by
	// setting this field on a copy of the Expect when src is that master.
	SkipCheckAdvAddr bool

	// UnicastPeers, when not empty, puts the instance in unicast mode: the
	// TTL is not checked (a unicast advert may be routed, as keepalived
	// allows), nor is an IPv6 source required to be link-local.
	UnicastPeers []netip.Addr
	// CheckUnicastSrc drops adverts whose source is not in UnicastPeers
	// (keepalived's vrrp_check_unicast_src). It has no effect without peers.
	CheckUnicastSrc bool

	// OwnAddrs are this host's addresses on the interface: an advert from one
	// of them is our own, looped back.
	OwnAddrs []netip.Addr
}

// Check applies the instance's checks to a, an advert ParseAdvert accepted,
// received from src with the given IPv4 TTL or IPv6 Hop Limit. It returns
// DropNone when the advert is for this instance and acceptable, or the first
// failing reason, in this order: VRID, TTL, version, family, own address,
// unicast peer, IPv6 link-local source, (v2) auth type, auth data, interval,
// then address count and list. Check does not allocate.
//
// Not checked, by design: the RFC 3768/5798 §7.1 clause that an address
// owner (priority 255) drops every advert (RFC 9568 erratum 8298 makes it a
// log, and keepalived does not drop either), and RFC 3768's exception that
// accepts a mismatched address list from an owner (keepalived drops it, and a
// mixed cluster must agree). The state machine handles priorities.
func (e *Expect) Check(a *Advert, src netip.Addr, ttl uint8) DropReason {
	src = src.Unmap().WithZone("")
	unicast := len(e.UnicastPeers) > 0
	switch {
	case a.VRID != e.VRID:
		// RFC 3768 §7.1, RFC 5798 §7.1: the VRID is configured here.
		return DropUnknownVRID
	case !unicast && ttl != TTL:
		// RFC 3768 §7.1, RFC 5798 §7.1: TTL / Hop Limit 255.
		return DropBadTTL
	case a.Version != e.Version:
		// RFC 3768 §7.1, RFC 5798 §7.1: the version is ours.
		return DropVersionMismatch
	case !src.IsValid() || src.Is6() != e.IPv6 || (len(a.Addrs) > 0 && a.Addrs[0].Is6() != e.IPv6):
		return DropBadFamily
	case containsAddr(e.OwnAddrs, src):
		return DropOwnAddr
	case unicast && e.CheckUnicastSrc && !containsAddr(e.UnicastPeers, src):
		// keepalived vrrp_check_unicast_src.
		return DropNotPeer
	case e.IPv6 && !unicast && !src.IsLinkLocalUnicast():
		// RFC 5798 §5.1.2.1: the source is the sender's link-local address.
		return DropSrcNotLinkLocal
	}
	if e.Version == V2 {
		// RFC 3768 §7.1: Auth Type matches and the method authenticates.
		if a.AuthType != e.AuthType {
			return DropAuthType
		}
		if e.AuthType == AuthPass && a.AuthData != e.AuthData {
			return DropAuthData
		}
		// RFC 3768 §7.1: Adver Interval equals ours.
		if a.Interval != e.Interval {
			return DropIntervalMismatch
		}
	}
	// RFC 3768 §7.1, RFC 5798 §7.1 (MAY; keepalived does): Count and list
	// match the configured addresses.
	if len(a.Addrs) != len(e.VIPs) {
		return DropAddrCount
	}
	if !e.SkipCheckAdvAddr {
		for _, vip := range e.VIPs {
			if !containsVIP(a.Addrs, vip.WithZone("")) {
				return DropAddrList
			}
		}
	}
	return DropNone
}

// containsVIP reports whether vip is in the advert's addresses, compared
// exactly (an IPv4-mapped address is not the IPv4 address).
func containsVIP(addrs []netip.Addr, vip netip.Addr) bool {
	for _, x := range addrs {
		if x == vip {
			return true
		}
	}
	return false
}

// containsAddr reports whether ip (unmapped, without zone) is in list,
// comparing unmapped addresses without zones.
func containsAddr(list []netip.Addr, ip netip.Addr) bool {
	for _, x := range list {
		if x.Unmap().WithZone("") == ip {
			return true
		}
	}
	return false
}

// Receive parses b, the IP payload of a packet from src to dst that arrived
// with the given TTL / Hop Limit, and checks it against e: ParseAdvert then
// Check. It is Validate for a single instance.
func (e *Expect) Receive(b []byte, src, dst netip.Addr, ttl uint8) (Advert, DropReason) {
	return Validate(b, src, dst, ttl, func(vrid uint8) *Expect {
		if vrid == e.VRID {
			return e
		}
		return nil
	})
}

// Validate parses b, the IP payload of a packet from src to dst that arrived
// with the given TTL / Hop Limit, looks up the instance for its VRID with
// lookup (nil: DropUnknownVRID) and checks the advert against it. This is
// the whole receive decision of the socket path; the BPF path makes the same
// decisions in the same order.
func Validate(b []byte, src, dst netip.Addr, ttl uint8, lookup func(vrid uint8) *Expect) (Advert, DropReason) {
	a, r := ParseAdvert(b, src, dst)
	if r != DropNone {
		return a, r
	}
	e := lookup(a.VRID)
	if e == nil {
		return a, DropUnknownVRID
	}
	return a, e.Check(&a, src, ttl)
}
