package vrrp

import (
	"net/netip"
	"time"
)

// Version is the VRRP protocol version carried in the top nibble of the first
// byte of an advertisement.
type Version uint8

// Protocol versions.
const (
	V2 Version = 2 // RFC 3768
	V3 Version = 3 // RFC 5798, RFC 9568
)

// AuthType is the VRRPv2 authentication type (RFC 3768 §5.3.6). VRRPv3 has no
// authentication.
type AuthType uint8

// Authentication types. Type 2 (IP Authentication Header, RFC 2338
// §5.3.6.3) was removed by RFC 3768; keepalived still implements it, and so
// does this package (auth_ah.go): the advert then travels in IP protocol 51.
const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1 // "simple text password", as keepalived sends auth_type PASS
	AuthAH   AuthType = 2 // IPsec AH with HMAC-MD5-96, as keepalived sends auth_type AH
)

// Advert is one decoded VRRP advertisement, independent of the wire version.
type Advert struct {
	Version  Version
	VRID     uint8
	Priority uint8
	// Interval is the advertisement interval: whole seconds on the wire for v2
	// (Adver Int), centiseconds for v3 (Max Adver Int, 12 bits).
	Interval time.Duration
	AuthType AuthType // v2 only
	AuthData [8]byte  // v2 only; PASS data NUL-padded to 8 bytes
	Addrs    []netip.Addr
}

// Priorities with a meaning of their own (RFC 5798 §5.2.4).
const (
	PriorityStop  uint8 = 0   // the master is leaving: backups take over after Skew_Time
	PriorityOwner uint8 = 255 // the address owner
)
