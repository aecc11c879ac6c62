package vrrp

// DropReason says why a received advertisement was not accepted. DropNone (0)
// means it was accepted.
//
// The numeric values are part of the project's ABI: the BPF receive path
// counts drops in a per-reason array indexed by the same numbers, so values
// are explicit, only ever appended, and NumDropReasons is one past the last.
// The order of the constants is also the order in which ParseAdvert and
// Expect.Check test them, so the first failing check names the reason.
type DropReason uint8

// Drop reasons. Each names the RFC clause (or keepalived behaviour) that
// demands it.
const (
	// DropNone: the advertisement was accepted.
	DropNone DropReason = 0
	// DropTruncated: shorter than the fixed header, or than the header,
	// addresses and authentication data its own Count field announces.
	// RFC 3768 §7.1 / RFC 5798 §7.1: "MUST verify that the received packet
	// contains the complete VRRP packet".
	DropTruncated DropReason = 1
	// DropBadVersion: the version nibble is neither 2 nor 3.
	// RFC 3768 §7.1 / RFC 5798 §7.1: "MUST verify the VRRP version".
	DropBadVersion DropReason = 2
	// DropBadType: the type nibble is not 1 (ADVERTISEMENT), the only type
	// defined (RFC 3768 §5.3.2, RFC 5798 §5.2.2: "A packet with unknown type
	// MUST be discarded").
	DropBadType DropReason = 3
	// DropBadLength: longer than its Count field announces. The caller passes
	// exactly the IP payload, so extra bytes mean Count and length disagree
	// (keepalived: "packet length mismatch"; RFC 3768 §7.1 completeness).
	DropBadLength DropReason = 4
	// DropBadInterval: an advertisement interval of zero. Not an explicit RFC
	// check: a zero interval would make Master_Down_Interval collapse to
	// Skew_Time (RFC 5798 §6.1) and cannot come from a valid configuration
	// (RFC 3768 §5.3.7 default 1 s, RFC 5798 §5.2.7 a 12-bit count of
	// centiseconds).
	DropBadInterval DropReason = 5
	// DropBadChecksum: the checksum does not verify.
	// RFC 3768 §7.1 / RFC 5798 §7.1: "MUST verify the VRRP checksum".
	DropBadChecksum DropReason = 6
	// DropBadFamily: the IP addresses given with the packet are unusable
	// (invalid, mixed IPv4/IPv6, or VRRPv2 over IPv6, which RFC 3768 §5
	// does not define), or the packet's family is not the instance's.
	DropBadFamily DropReason = 7
	// DropUnknownVRID: no virtual router with this VRID is configured on the
	// receiving interface, or the VRID is 0 (RFC 3768 §5.3.3 / RFC 5798
	// §5.2.3: 1-255). RFC 3768 §7.1 / RFC 5798 §7.1: "MUST verify that the
	// VRID is configured on the receiving interface".
	DropUnknownVRID DropReason = 8
	// DropBadTTL: the IPv4 TTL or IPv6 Hop Limit is not 255.
	// RFC 3768 §7.1 / RFC 5798 §7.1: "MUST verify that the IP TTL is 255".
	// Like keepalived, not checked for an instance with unicast peers.
	DropBadTTL DropReason = 9
	// DropVersionMismatch: a valid advertisement of the other VRRP version
	// than the instance runs. RFC 3768 §7.1 / RFC 5798 §7.1 (version check;
	// the RFC 5798 §8.4 mixed-version mode is not supported).
	DropVersionMismatch DropReason = 10
	// DropOwnAddr: the source is one of our own addresses: our own
	// advertisement looped back (keepalived never processes its own).
	DropOwnAddr DropReason = 11
	// DropNotPeer: the instance has unicast peers, source checking is on
	// (keepalived's vrrp_check_unicast_src) and the source is not a peer.
	DropNotPeer DropReason = 12
	// DropSrcNotLinkLocal: a multicast VRRPv3 advertisement over IPv6 whose
	// source is not link-local. RFC 5798 §5.1.2.1 requires the sender to use
	// its link-local address; the receive check is our own, so that the
	// source-address tie-break (RFC 5798 §6.4.3) compares like with like.
	DropSrcNotLinkLocal DropReason = 13
	// DropAuthType: VRRPv2 Auth Type differs from the configured one, or is
	// neither 0 nor 1. RFC 3768 §7.1: "MUST verify that the Auth Type
	// matches the locally configured authentication method".
	DropAuthType DropReason = 14
	// DropAuthData: VRRPv2 simple password (auth_type PASS) differs in any of
	// the 8 bytes. RFC 2338 §5.3.6.1 / keepalived's auth_pass comparison;
	// RFC 3768 §7.1 "perform that authentication method".
	DropAuthData DropReason = 15
	// DropIntervalMismatch: VRRPv2 Adver Int differs from the configured
	// advert_int. RFC 3768 §7.1: "MUST verify that the Adver Interval in the
	// packet is the same as the locally configured for this virtual router".
	DropIntervalMismatch DropReason = 16
	// DropAddrCount: Count IP Addrs differs from the number of configured
	// virtual addresses. RFC 3768 §7.1 / RFC 5798 §7.1 "MAY verify"; keepalived
	// always drops it, and so do we.
	DropAddrCount DropReason = 17
	// DropAddrList: a configured virtual address is missing from the
	// advertisement. RFC 3768 §7.1 / RFC 5798 §7.1 "MAY verify"; keepalived
	// drops it unless vrrp_skip_check_adv_addr, and so do we (Expect.
	// SkipCheckAdvAddr).
	DropAddrList DropReason = 18
	// DropRateLimited: reserved for the kernel receive path, which drops
	// adverts over a per-source rate. Never returned by this package.
	DropRateLimited DropReason = 19

	// NumDropReasons is one past the largest DropReason: the size of a
	// per-reason counter array.
	NumDropReasons = 20
)

var dropReasonNames = [NumDropReasons]string{
	DropNone:             "none",
	DropTruncated:        "truncated",
	DropBadVersion:       "bad_version",
	DropBadType:          "bad_type",
	DropBadLength:        "bad_length",
	DropBadInterval:      "bad_interval",
	DropBadChecksum:      "bad_checksum",
	DropBadFamily:        "bad_family",
	DropUnknownVRID:      "unknown_vrid",
	DropBadTTL:           "bad_ttl",
	DropVersionMismatch:  "version_mismatch",
	DropOwnAddr:          "own_addr",
	DropNotPeer:          "not_peer",
	DropSrcNotLinkLocal:  "src_not_link_local",
	DropAuthType:         "auth_type_mismatch",
	DropAuthData:         "auth_data_mismatch",
	DropIntervalMismatch: "interval_mismatch",
	DropAddrCount:        "addr_count_mismatch",
	DropAddrList:         "addr_list_mismatch",
	DropRateLimited:      "rate_limited",
}

// String returns the reason's short snake_case name, as used in logs and
// metric labels, or "unknown" for a value past NumDropReasons.
func (r DropReason) String() string {
	if int(r) < len(dropReasonNames) {
		return dropReasonNames[r]
	}
	return "unknown"
}
