package netnstest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// BridgeName is the name of the Linux bridge inside a namespace made by Bridge.
const BridgeName = "br0"

// Bridge creates a namespace holding a Linux bridge named BridgeName, up,
// with STP off (ports forward at once) and multicast snooping off (every
// port sees every multicast group, as on a plain L2 segment).
func Bridge(t testing.TB) *NS {
	t.Helper()
	n := New(t, "br")
	off := false
	br := &netlink.Bridge{
		LinkAttrs:         netlink.LinkAttrs{Name: BridgeName},
		MulticastSnooping: &off,
	}
	if err := n.handle.LinkAdd(br); err != nil {
		t.Fatalf("add bridge in %s: %v", n.name, err)
	}
	if err := n.handle.LinkSetUp(br); err != nil {
		t.Fatalf("set bridge up in %s: %v", n.name, err)
	}
	return n
}

// Link describes an interface that ConnectTo created in a node namespace.
type Link struct {
	Name string
	// BridgePort is the veth peer enslaved to the bridge, in the bridge's
	// namespace: a packet socket there sees every frame the node is sent
	// before the node's own XDP program can consume it.
	BridgePort   string
	Index        int
	HardwareAddr net.HardwareAddr
	Addrs        []netip.Prefix // the addresses ConnectTo added
	LinkLocal    netip.Addr     // the IPv6 link-local address (fe80::/64)
}

// Interface returns the link as a *net.Interface. Its index is only
// meaningful inside the node namespace.
func (l Link) Interface() *net.Interface {
	return &net.Interface{Index: l.Index, Name: l.Name, HardwareAddr: l.HardwareAddr, MTU: 1500,
		Flags: net.FlagUp | net.FlagBroadcast | net.FlagMulticast | net.FlagRunning}
}

// ConnectTo creates a veth pair between n and bridge (a namespace made by
// Bridge): the end named ifname stays in n and gets addrs (IPv6 ones with
// IFA_F_NODAD), the other end is enslaved to the bridge. Both ends are up,
// and ConnectTo waits (a few seconds at most) until the IPv6 link-local
// address of ifname is usable.
func (n *NS) ConnectTo(t testing.TB, bridge *NS, ifname string, addrs ...netip.Prefix) Link {
	t.Helper()
	l, err := n.connectTo(bridge, ifname, addrs)
	if err != nil {
		t.Fatalf("connect %s/%s to %s: %v", n.name, ifname, bridge.name, err)
	}
	return l
}

func (n *NS) connectTo(bridge *NS, ifname string, addrs []netip.Prefix) (Link, error) {
	if len(ifname) > unix.IFNAMSIZ-1 {
		return Link{}, fmt.Errorf("interface name %q longer than %d bytes", ifname, unix.IFNAMSIZ-1)
	}
	br, err := bridge.handle.LinkByName(BridgeName)
	if err != nil {
		return Link{}, fmt.Errorf("find bridge: %w", err)
	}
	peer := bridge.uniqueIfname("p")
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: ifname},
		PeerName:      peer,
		PeerNamespace: netlink.NsFd(int(bridge.ns)),
	}
	if err := n.handle.LinkAdd(veth); err != nil {
		return Link{}, fmt.Errorf("add veth %s: %w", ifname, err)
	}
	pl, err := bridge.handle.LinkByName(peer)
	if err != nil {
		return Link{}, fmt.Errorf("find veth peer %s: %w", peer, err)
	}
	if err := bridge.handle.LinkSetMaster(pl, br); err != nil {
		return Link{}, fmt.Errorf("enslave %s: %w", peer, err)
	}
	if err := bridge.handle.LinkSetUp(pl); err != nil {
		return Link{}, fmt.Errorf("set %s up: %w", peer, err)
	}
	link, err := n.handle.LinkByName(ifname)
	if err != nil {
		return Link{}, fmt.Errorf("find %s: %w", ifname, err)
	}
	for _, p := range addrs {
		a := &netlink.Addr{IPNet: prefixToIPNet(p)}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := n.handle.AddrAdd(link, a); err != nil {
			return Link{}, fmt.Errorf("add %s to %s: %w", p, ifname, err)
		}
	}
	if err := n.handle.LinkSetUp(link); err != nil {
		return Link{}, fmt.Errorf("set %s up: %w", ifname, err)
	}
	ll, err := n.waitLinkLocal(link, 5*time.Second)
	if err != nil {
		return Link{}, err
	}
	return Link{
		Name:         ifname,
		BridgePort:   peer,
		Index:        link.Attrs().Index,
		HardwareAddr: link.Attrs().HardwareAddr,
		Addrs:        append([]netip.Prefix(nil), addrs...),
		LinkLocal:    ll,
	}, nil
}

// waitLinkLocal waits until link has a non-tentative IPv6 link-local address.
func (n *NS) waitLinkLocal(link netlink.Link, timeout time.Duration) (netip.Addr, error) {
	deadline := time.Now().Add(timeout)
	for {
		as, err := n.handle.AddrList(link, netlink.FAMILY_V6)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return netip.Addr{}, fmt.Errorf("list addresses of %s: %w", link.Attrs().Name, err)
		}
		for _, a := range as {
			ip, ok := netip.AddrFromSlice(a.IP)
			if ok && ip.Is6() && ip.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
				return ip, nil
			}
		}
		if time.Now().After(deadline) {
			return netip.Addr{}, fmt.Errorf("no usable link-local address on %s after %v", link.Attrs().Name, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

// Node is a namespace attached to a bridge by one interface.
type Node struct {
	*NS
	Link Link
	IPv4 netip.Prefix // the node's IPv4 address and subnet
	IPv6 netip.Prefix // the node's global IPv6 address and subnet
}

// Addr4 returns the node's IPv4 address.
func (n *Node) Addr4() netip.Addr { return n.IPv4.Addr() }

// Addr6 returns the node's global IPv6 address.
func (n *Node) Addr6() netip.Addr { return n.IPv6.Addr() }

// Topology is a bridge with two router nodes and a client, each attached by
// an interface named IfName. Addresses are from the documentation ranges:
// 192.0.2.0/24 and 2001:db8::/64 (A .1/::1, B .2/::2, Client .100/::100).
// VIPs for tests: 192.0.2.200–.250 and 2001:db8::200–::250 are left free.
type Topology struct {
	Bridge   *NS
	A, B     *Node
	Client   *Node
	IfName   string
	Subnet4  netip.Prefix
	Subnet6  netip.Prefix
	nextNode byte
}

// IfName is the interface name every node of a Topology uses.
const IfName = "eth0"

// Pair builds a Topology: a bridge, two nodes A and B (routers) and a client.
func Pair(t testing.TB) *Topology {
	t.Helper()
	topo := &Topology{
		Bridge:   Bridge(t),
		IfName:   IfName,
		Subnet4:  netip.MustParsePrefix("192.0.2.0/24"),
		Subnet6:  netip.MustParsePrefix("2001:db8::/64"),
		nextNode: 3,
	}
	topo.A = topo.node(t, "a", 1)
	topo.B = topo.node(t, "b", 2)
	topo.Client = topo.node(t, "client", 100)
	return topo
}

// AddNode attaches one more node (host numbers 3, 4, … up to 99).
func (topo *Topology) AddNode(t testing.TB, name string) *Node {
	t.Helper()
	if topo.nextNode >= 100 {
		t.Fatalf("too many nodes in topology")
	}
	host := topo.nextNode
	topo.nextNode++
	return topo.node(t, name, host)
}

func (topo *Topology) node(t testing.TB, name string, host byte) *Node {
	t.Helper()
	v4 := topo.Subnet4.Addr().As4()
	v4[3] = host
	v6 := topo.Subnet6.Addr().As16()
	// ::1, ::2, ::100 read like the IPv4 host numbers.
	v6[14], v6[15] = byte(hexLike(host)>>8), byte(hexLike(host))
	node := &Node{
		NS:   New(t, name),
		IPv4: netip.PrefixFrom(netip.AddrFrom4(v4), topo.Subnet4.Bits()),
		IPv6: netip.PrefixFrom(netip.AddrFrom16(v6), topo.Subnet6.Bits()),
	}
	node.Link = node.ConnectTo(t, topo.Bridge, topo.IfName, node.IPv4, node.IPv6)
	return node
}

// hexLike maps decimal 100 to 0x100, 12 to 0x12: the IPv6 host part written
// with the same digits as the IPv4 one.
func hexLike(d byte) uint16 {
	return uint16(d/100)<<8 | uint16(d/10%10)<<4 | uint16(d%10)
}
