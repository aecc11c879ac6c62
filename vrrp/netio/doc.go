// Package netio is the host side of VRRP: everything the protocol core in
// package vrrp asks for but cannot do itself because it touches the machine.
//
//   - Virtual addresses (VIPs) are added and removed with netlink on a
//     caller-supplied *netlink.Handle, so the same code works in the host
//     namespace and in a test namespace (AddVIP, DelVIP, HasVIP,
//     RemoveLeftovers).
//   - Gratuitous ARP (IPv4) and unsolicited Neighbor Advertisements (IPv6)
//     are built here (GratuitousARP, UnsolicitedNA) and sent on an AF_PACKET
//     socket by an Announcer.
//   - Advertisements are sent on a raw IP socket of protocol 112 by a Sender
//     (TTL / hop limit 255, multicast loop off, bound to the interface) and
//     received by a Receiver, which reports TTL, destination and arrival
//     interface from control messages. The payload bytes come from and go to
//     the codec in package vrrp; netio never interprets them. Adverts of
//     auth_type AH instances are whole IPv4 packets of protocol 51 (the
//     AH ICV covers the IP header): an AHSender sends them with IP_HDRINCL,
//     an AHReceiver returns them header included.
//
// Sockets belong to the network namespace of the thread that creates them.
// Constructors that open sockets (Dial, NewSender, NewReceiver, NewAHSender,
// NewAHReceiver) therefore
// run in the caller's namespace: in tests, call them inside
// netnstest.NS.Do; the sockets keep working from any goroutine afterwards.
// Functions that take a *netlink.Handle work in the handle's namespace.
package netio
