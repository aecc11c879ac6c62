package netio

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"golang.org/x/sys/unix"
)

// findAddr returns the netlink address ip on dev, if present.
func findAddr(t *testing.T, h *netlink.Handle, dev string, ip netip.Addr) (netlink.Addr, bool) {
	t.Helper()
	link, err := h.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := AddrList(h, link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
			return a, true
		}
	}
	return netlink.Addr{}, false
}

func TestVIPAddDelete(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	h := topo.A.Handle()
	dev := topo.IfName

	v4 := VIP{Prefix: netip.MustParsePrefix("192.0.2.200/24"), Dev: dev, Label: dev + ":vip", Scope: "global"}
	v4link := VIP{Prefix: netip.MustParsePrefix("198.51.100.7/32"), Dev: dev, Scope: "link"}

	for _, v := range []VIP{v4, v4link} {
		if err := AddVIP(h, v); err != nil {
			t.Fatal(err)
		}
		// Adding again is not an error.
		if err := AddVIP(h, v); err != nil {
			t.Fatalf("second add of %v: %v", v, err)
		}
		if ok, err := HasVIP(h, v); err != nil || !ok {
			t.Fatalf("HasVIP(%v) = %v, %v after add", v, ok, err)
		}
	}
	a, ok := findAddr(t, h, dev, v4.Prefix.Addr())
	if !ok {
		t.Fatal("v4 vip not listed")
	}
	if ones, _ := a.Mask.Size(); ones != 24 || a.Label != dev+":vip" || a.Scope != unix.RT_SCOPE_UNIVERSE {
		t.Errorf("v4 vip: /%d label %q scope %d", ones, a.Label, a.Scope)
	}
	// Same subnet as the node's own 192.0.2.1/24: the VIP is secondary, and
	// the primary address stays what adverts are sent from.
	if a.Flags&unix.IFA_F_SECONDARY == 0 {
		t.Errorf("v4 vip in the node's subnet is not secondary (flags %#x)", a.Flags)
	}
	a, _ = findAddr(t, h, dev, v4link.Prefix.Addr())
	if a.Scope != unix.RT_SCOPE_LINK {
		t.Errorf("scope link vip has scope %d", a.Scope)
	}

	// InterfaceByName through the handle agrees with net.InterfaceByName
	// run inside the namespace.
	ifi, err := InterfaceByName(h, dev)
	if err != nil {
		t.Fatal(err)
	}
	var inside *net.Interface
	if err := topo.A.Do(func() error {
		var err error
		inside, err = net.InterfaceByName(dev)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ifi.Index != inside.Index || ifi.HardwareAddr.String() != inside.HardwareAddr.String() || ifi.MTU != inside.MTU || ifi.Flags&net.FlagUp == 0 {
		t.Errorf("InterfaceByName = %+v, inside the namespace %+v", ifi, inside)
	}
	if p, err := PrimaryAddr(h, dev, netlink.FAMILY_V4, v4.Prefix.Addr(), v4link.Prefix.Addr()); err != nil || p != topo.A.Addr4() {
		t.Errorf("PrimaryAddr v4 = %v, %v; want %v", p, err, topo.A.Addr4())
	}

	for _, v := range []VIP{v4, v4link} {
		if err := DelVIP(h, v); err != nil {
			t.Fatal(err)
		}
		if ok, err := HasVIP(h, v); err != nil || ok {
			t.Fatalf("HasVIP(%v) = %v, %v after delete", v, ok, err)
		}
		// Deleting again is not an error.
		if err := DelVIP(h, v); err != nil {
			t.Fatalf("second delete of %v: %v", v, err)
		}
	}
	// The node's own address was not touched.
	if _, ok := findAddr(t, h, dev, topo.A.Addr4()); !ok {
		t.Fatal("node address gone after deleting the vips")
	}
	// An interface that does not exist: delete and Has are quiet, add fails.
	gone := VIP{Prefix: v4.Prefix, Dev: "nosuch0"}
	if err := DelVIP(h, gone); err != nil {
		t.Errorf("delete on a missing interface: %v", err)
	}
	if ok, err := HasVIP(h, gone); ok || err != nil {
		t.Errorf("HasVIP on a missing interface = %v, %v", ok, err)
	}
	if err := AddVIP(h, gone); err == nil {
		t.Error("add on a missing interface succeeded")
	}
	// Labels must start with the interface name; IPv6 has none.
	if err := AddVIP(h, VIP{Prefix: v4.Prefix, Dev: dev, Label: "other:1"}); err == nil {
		t.Error("label not starting with the device accepted")
	}
	if err := AddVIP(h, VIP{Prefix: netip.MustParsePrefix("2001:db8::9/64"), Dev: dev, Label: dev + ":1"}); err == nil {
		t.Error("IPv6 label accepted")
	}
}

// With DAD on, an IPv6 address is tentative for about a second; a VIP must
// be usable at once, so it is added with IFA_F_NODAD.
func TestVIPv6NoDAD(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	h := topo.A.Handle()
	dev := topo.IfName
	if err := topo.A.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv6/conf/"+dev+"/accept_dad", []byte("1"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	link, err := h.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	// Control: without NODAD the kernel does make an address tentative here,
	// so the check below can fail.
	plain := netip.MustParsePrefix("2001:db8::77/64")
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: prefixToIPNet(plain)}); err != nil {
		t.Fatal(err)
	}
	if a, _ := findAddr(t, h, dev, plain.Addr()); a.Flags&unix.IFA_F_TENTATIVE == 0 {
		t.Fatalf("control address not tentative (flags %#x): DAD is not running, test proves nothing", a.Flags)
	}

	v6 := VIP{Prefix: netip.MustParsePrefix("2001:db8::200/64"), Dev: dev}
	if err := AddVIP(h, v6); err != nil {
		t.Fatal(err)
	}
	if err := AddVIP(h, v6); err != nil {
		t.Fatalf("second add: %v", err)
	}
	a, ok := findAddr(t, h, dev, v6.Prefix.Addr())
	if !ok {
		t.Fatal("v6 vip not listed")
	}
	if a.Flags&unix.IFA_F_NODAD == 0 || a.Flags&unix.IFA_F_TENTATIVE != 0 {
		t.Errorf("v6 vip flags %#x: want nodad and not tentative", a.Flags)
	}
	// Usable at once: the peer reaches it.
	if err := topo.B.Ping(v6.Prefix.Addr(), 3, time.Second); err != nil {
		t.Errorf("v6 vip unreachable right after add: %v", err)
	}
	if ll, err := PrimaryAddr(h, dev, netlink.FAMILY_V6); err != nil || ll != topo.A.Link.LinkLocal {
		t.Errorf("PrimaryAddr v6 = %v, %v; want %v", ll, err, topo.A.Link.LinkLocal)
	}
	if err := DelVIP(h, v6); err != nil {
		t.Fatal(err)
	}
	if ok, _ := HasVIP(h, v6); ok {
		t.Error("v6 vip present after delete")
	}
	if err := DelVIP(h, v6); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

// After a crash the VIPs stay on the interface; at start they are removed.
func TestRemoveLeftovers(t *testing.T) {
	testenv.RequireRoot(t)
	n := netnstest.New(t, "left")
	n.ConnectTo(t, netnstest.Bridge(t), "vip0")
	h := n.Handle()
	if _, err := PrimaryAddr(h, "vip0", netlink.FAMILY_V4); !errors.Is(err, ErrNoAddress) {
		t.Errorf("PrimaryAddr on a link without IPv4: %v, want ErrNoAddress", err)
	}
	vips := []VIP{
		{Prefix: netip.MustParsePrefix("203.0.113.1/32"), Dev: "vip0"},
		{Prefix: netip.MustParsePrefix("203.0.113.2/32"), Dev: "vip0"},
		{Prefix: netip.MustParsePrefix("2001:db8:1::1/128"), Dev: "vip0"},
		{Prefix: netip.MustParsePrefix("203.0.113.3/32"), Dev: "vip0"}, // never added
	}
	for _, v := range vips[:3] {
		if err := AddVIP(h, v); err != nil {
			t.Fatal(err)
		}
	}
	other := VIP{Prefix: netip.MustParsePrefix("203.0.113.9/32"), Dev: "vip0"}
	if err := AddVIP(h, other); err != nil {
		t.Fatal(err)
	}
	removed, err := RemoveLeftovers(h, vips)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 3 || removed[0] != vips[0] || removed[1] != vips[1] || removed[2] != vips[2] {
		t.Errorf("removed %v, want the three added ones", removed)
	}
	for _, v := range vips {
		if ok, err := HasVIP(h, v); err != nil || ok {
			t.Errorf("%v still present (%v)", v, err)
		}
	}
	if ok, _ := HasVIP(h, other); !ok {
		t.Error("an address not in the list was removed")
	}
	// Nothing left: a second pass removes nothing.
	if removed, err := RemoveLeftovers(h, vips); err != nil || len(removed) != 0 {
		t.Errorf("second pass removed %v, %v", removed, err)
	}
}

func TestIPv6Forwarding(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	for _, want := range []bool{false, true} {
		var got bool
		if err := topo.A.Do(func() error {
			v := "0"
			if want {
				v = "1"
			}
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+topo.IfName+"/forwarding", []byte(v), 0o644); err != nil {
				return err
			}
			var err error
			got, err = IPv6Forwarding(topo.IfName)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("IPv6Forwarding = %v after setting %v", got, want)
		}
	}
	if _, err := IPv6Forwarding("../x"); err == nil {
		t.Error("path in interface name accepted")
	}
}

// A VIP added on an interface that is then renamed is removed through its
// index: by name it would be "not found" and stay behind (issue 8, row 3).
func TestVIPDeleteAfterRename(t *testing.T) {
	testenv.RequireRoot(t)
	n := netnstest.New(t, "ren")
	n.ConnectTo(t, netnstest.Bridge(t), "vip0")
	h := n.Handle()
	link, err := h.LinkByName("vip0")
	if err != nil {
		t.Fatal(err)
	}
	v := VIP{Prefix: netip.MustParsePrefix("203.0.113.5/32"), Dev: "vip0", Index: link.Attrs().Index}
	if err := AddVIP(h, v); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetName(link, "renamed0"); err != nil {
		t.Fatal(err)
	}
	if err := DelVIP(h, v); err != nil {
		t.Fatal(err)
	}
	if ok, err := HasVIP(h, v); err != nil || ok {
		t.Fatalf("VIP still on the renamed link (%v)", err)
	}
	// The link gone altogether: removing is not an error.
	if err := h.LinkDel(link); err != nil {
		t.Fatal(err)
	}
	if err := DelVIP(h, v); err != nil {
		t.Fatalf("DelVIP on a deleted link: %v", err)
	}
}
