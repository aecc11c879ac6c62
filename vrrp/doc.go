// Package vrrp implements the Virtual Router Redundancy Protocol without any
// I/O: the advertisement codec for VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798,
// RFC 9568) over IPv4 and IPv6, VRRPv2's IPsec Authentication Header as
// keepalived sends it (AppendAH, ParseAH, AHSequence), the protocol timers,
// and the per-virtual-router state machine as a value that is stepped with
// Step(now, event) and answers with actions and its next deadline.
//
// The package imports the standard library only. It starts no goroutines,
// reads no clock and performs no I/O: the caller owns sockets, timers and
// addresses and carries out the returned actions. A Router is not safe for
// concurrent use; the codec functions are.
package vrrp
