package vrrp_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// A master encodes its advert; a backup receiving it (payload, IP source and
// destination, TTL from the IP header) gets the advert and a drop reason.
func ExampleExpect_Receive() {
	src := netip.MustParseAddr("192.0.2.1")
	a := vrrp.Advert{
		Version: vrrp.V3, VRID: 52, Priority: 200, Interval: 100 * time.Millisecond,
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.110")},
	}
	b, err := a.Marshal(src, vrrp.GroupIPv4)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)

	backup := vrrp.Expect{
		Version:  vrrp.V3,
		VRID:     52,
		VIPs:     []netip.Addr{netip.MustParseAddr("192.0.2.110")},
		OwnAddrs: []netip.Addr{netip.MustParseAddr("192.0.2.2")},
	}
	got, reason := backup.Receive(b, src, vrrp.GroupIPv4, vrrp.TTL)
	fmt.Println(reason, got.Priority, got.Interval)
	_, reason = backup.Receive(b, src, vrrp.GroupIPv4, 64)
	fmt.Println(reason)
	// Output:
	// 31 34 c8 01 00 0a a1 c0 c0 00 02 6e
	// none 200 100ms
	// bad_ttl
}
