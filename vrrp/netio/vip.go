package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VIP is one virtual address as keepalived's virtual_ipaddress lists it:
// "192.0.2.10/24 dev eth0 label eth0:1 scope link".
type VIP struct {
	Prefix netip.Prefix // address and prefix length (/32 or /128 when none was given)
	Dev    string       // interface name
	Label  string       // IPv4 only; must start with Dev (kernel rule); empty for none
	Scope  string       // "global" (default when empty), "site", "link", "host", "nowhere" or a number 0-255
	// Index, when not zero, is the interface index the address lives on:
	// the link is found by it rather than by Dev, so that a VIP can be
	// removed from an interface that was renamed since it was added.
	Index int
}

// link finds v's interface: by Index when set, else by Dev.
func (v VIP) link(h *netlink.Handle) (netlink.Link, error) {
	if v.Index != 0 {
		return h.LinkByIndex(v.Index)
	}
	return h.LinkByName(v.Dev)
}

func (v VIP) String() string {
	s := v.Prefix.String() + " dev " + v.Dev
	if v.Label != "" {
		s += " label " + v.Label
	}
	if v.Scope != "" {
		s += " scope " + v.Scope
	}
	return s
}

// ParseScope turns an iproute2 scope name or number into a netlink scope.
func ParseScope(s string) (netlink.Scope, error) {
	switch s {
	case "", "global", "universe":
		return netlink.SCOPE_UNIVERSE, nil
	case "site":
		return netlink.SCOPE_SITE, nil
	case "link":
		return netlink.SCOPE_LINK, nil
	case "host":
		return netlink.SCOPE_HOST, nil
	case "nowhere":
		return netlink.SCOPE_NOWHERE, nil
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("scope %q: not a name or a number 0-255", s)
	}
	return netlink.Scope(n), nil
}

// addr builds the netlink address for v. IPv6 addresses get IFA_F_NODAD so
// they are usable at once: duplicate address detection would delay the VIP
// by a second and, for a VIP that moves between routers, would only find
// the previous master (RFC 5798 §8.2 leaves DAD to the implementation).
func (v VIP) addr(link netlink.Link) (*netlink.Addr, error) {
	if !v.Prefix.IsValid() {
		return nil, fmt.Errorf("vip %v: invalid prefix", v)
	}
	scope, err := ParseScope(v.Scope)
	if err != nil {
		return nil, err
	}
	a := &netlink.Addr{IPNet: prefixToIPNet(v.Prefix), Scope: int(scope)}
	if v.Prefix.Addr().Is6() {
		if v.Label != "" {
			return nil, fmt.Errorf("vip %v: labels exist for IPv4 only", v)
		}
		a.Flags = unix.IFA_F_NODAD
	} else {
		if v.Label != "" && !strings.HasPrefix(v.Label, link.Attrs().Name) {
			return nil, fmt.Errorf("vip %v: label must start with the interface name", v)
		}
		a.Label = v.Label
	}
	return a, nil
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// AddVIP adds v in h's namespace. An address that is already present is not
// an error.
func AddVIP(h *netlink.Handle, v VIP) error {
	link, err := v.link(h)
	if err != nil {
		return fmt.Errorf("add vip %v: find link: %w", v, err)
	}
	a, err := v.addr(link)
	if err != nil {
		return err
	}
	if err := h.AddrAdd(link, a); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add vip %v: %w", v, err)
	}
	return nil
}

// DelVIP removes v from h's namespace. An address that is absent (or whose
// interface is gone) is not an error.
func DelVIP(h *netlink.Handle, v VIP) error {
	link, err := v.link(h)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("delete vip %v: find link: %w", v, err)
	}
	a, err := v.addr(link)
	if err != nil {
		return err
	}
	// The kernel matches the address and prefix length; label and scope are
	// not part of the identity, so leave them out.
	a.Label, a.Scope, a.Flags = "", 0, 0
	if err := h.AddrDel(link, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete vip %v: %w", v, err)
	}
	return nil
}

// HasVIP reports whether v's address is configured on its interface in
// h's namespace (any prefix length).
func HasVIP(h *netlink.Handle, v VIP) (bool, error) {
	link, err := v.link(h)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return false, nil
		}
		return false, fmt.Errorf("find link %s: %w", v.Dev, err)
	}
	addrs, err := AddrList(h, link, family(v.Prefix.Addr()))
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == v.Prefix.Addr() {
			return true, nil
		}
	}
	return false, nil
}

// RemoveLeftovers deletes those of vips that are present, as left behind by
// a daemon that crashed while master. It returns the ones it removed and
// keeps going after an error, returning all errors joined.
func RemoveLeftovers(h *netlink.Handle, vips []VIP) ([]VIP, error) {
	var removed []VIP
	var errs []error
	for _, v := range vips {
		ok, err := HasVIP(h, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		if err := DelVIP(h, v); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, v)
	}
	return removed, errors.Join(errs...)
}

// dumpRetries bounds how often a netlink dump is repeated when the kernel
// reports that it was interrupted by a concurrent change.
const dumpRetries = 5

// AddrList lists link's addresses of family (netlink.FAMILY_V4, _V6 or
// _ALL), repeating the dump up to a bounded number of times while it comes
// back interrupted (netlink.ErrDumpInterrupted).
func AddrList(h *netlink.Handle, link netlink.Link, family int) ([]netlink.Addr, error) {
	var err error
	for range dumpRetries {
		var addrs []netlink.Addr
		addrs, err = h.AddrList(link, family)
		if err == nil {
			return addrs, nil
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return nil, fmt.Errorf("list addresses of %s: %w", link.Attrs().Name, err)
}
