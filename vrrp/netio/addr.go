package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoAddress is returned by PrimaryAddr when the interface has no usable
// address of the family.
var ErrNoAddress = errors.New("no usable address")

// PrimaryAddr returns the address VRRP advertisements are sent from on
// ifname in h's namespace:
//   - family netlink.FAMILY_V4: the first primary (not IFA_F_SECONDARY)
//     IPv4 address that is not in exclude (pass the VIPs), else the first
//     secondary one not in exclude;
//   - family netlink.FAMILY_V6: the interface's link-local address
//     (RFC 5798 §5.1.2.1), skipping tentative and DAD-failed ones.
//
// It returns an error wrapping ErrNoAddress when there is none.
func PrimaryAddr(h *netlink.Handle, ifname string, family int, exclude ...netip.Addr) (netip.Addr, error) {
	link, err := h.LinkByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("find link %s: %w", ifname, err)
	}
	addrs, err := AddrList(h, link, family)
	if err != nil {
		return netip.Addr{}, err
	}
	var secondary netip.Addr
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if slices.Contains(exclude, ip) {
			continue
		}
		switch family {
		case netlink.FAMILY_V4:
			if !ip.Is4() {
				continue
			}
			if a.Flags&unix.IFA_F_SECONDARY == 0 {
				return ip, nil
			}
			if !secondary.IsValid() {
				secondary = ip
			}
		case netlink.FAMILY_V6:
			if ip.Is6() && ip.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
				return ip, nil
			}
		}
	}
	if secondary.IsValid() {
		return secondary, nil
	}
	return netip.Addr{}, fmt.Errorf("%s, family %d: %w", ifname, family, ErrNoAddress)
}

// InterfaceByName returns the interface named name in h's namespace, without
// switching the calling thread into it. Index and hardware address are those
// of that namespace.
func InterfaceByName(h *netlink.Handle, name string) (*net.Interface, error) {
	link, err := h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("find link %s: %w", name, err)
	}
	attrs := link.Attrs()
	return &net.Interface{
		Index:        attrs.Index,
		MTU:          attrs.MTU,
		Name:         attrs.Name,
		HardwareAddr: attrs.HardwareAddr,
		Flags:        attrs.Flags,
	}, nil
}

// IPv6Forwarding reports whether ifname forwards IPv6 (its
// net.ipv6.conf.IFNAME.forwarding sysctl) in the calling thread's network
// namespace. RFC 5798 §8.2 asks a router to set the Router flag of its
// Neighbor Advertisements: pass the result to Announcer.SetRouter.
func IPv6Forwarding(ifname string) (bool, error) {
	// Names may contain dots (eth0.100), which /proc/sys keeps as they are.
	if ifname == "" || ifname == "." || ifname == ".." || strings.Contains(ifname, "/") {
		return false, fmt.Errorf("ipv6 forwarding: bad interface name %q", ifname)
	}
	b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + ifname + "/forwarding")
	if err != nil {
		return false, fmt.Errorf("ipv6 forwarding of %s: %w", ifname, err)
	}
	return strings.TrimSpace(string(b)) != "0", nil
}
