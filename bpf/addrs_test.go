package bpf_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// kernelReason runs f through prog and returns the one drop reason whose
// counter moved.
func kernelReason(t *testing.T, l *loader.Loader, f frame) vrrp.DropReason {
	t.Helper()
	xdp, _ := l.Programs()
	before := stats(t, l)
	runProg(t, xdp, f.bytes())
	after := stats(t, l)
	got, moved := vrrp.DropReason(255), 0
	for r := range after.Drops {
		if after.Drops[r] != before.Drops[r] {
			got, moved = vrrp.DropReason(r), moved+1
		}
	}
	if moved != 1 {
		t.Fatalf("%d drop counters moved", moved)
	}
	return got
}

func addrs4(base string, n int) []netip.Addr {
	a := netip.MustParseAddr(base)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = a
		a = a.Next()
	}
	return out
}

// TestInlineAndMapAddrs: own addresses and VIPs are kept in the instance
// value when few (INLINE_OWN, INLINE_VIPS) and in the addrs map otherwise;
// both ways decide exactly as vrrp.Validate, at and around the boundary.
// Reference: RFC 5798 §7.1 (address list check), RFC 3768 §7.1.
func TestInlineAndMapAddrs(t *testing.T) {
	v6vip := netip.MustParseAddr("2001:db8::99") // never in an IPv4 advert
	for _, nOwn := range []int{1, 4, 5, 9} {
		for _, vips := range [][]netip.Addr{
			addrs4("192.0.2.200", 1),
			addrs4("192.0.2.200", 4),
			addrs4("192.0.2.200", 5),
			addrs4("192.0.2.200", 12),
			append(addrs4("192.0.2.200", 2), netip.MustParseAddr("192.0.2.200")), // duplicate
			append(addrs4("192.0.2.200", 2), v6vip),                              // unmatchable
		} {
			t.Run(fmt.Sprintf("own%d/vips%d", nOwn, len(vips)), func(t *testing.T) {
				own := addrs4("192.0.2.10", nOwn)
				r := router(vrrp.V3, 20, false, time.Second, vips...)
				r.inst.OwnAddrs, r.expect.OwnAddrs = own, own
				l := newLoader(t, loader.Options{}, r.inst)
				rs := []testRouter{r}

				n := len(vips)
				perm := make([]netip.Addr, n)
				for i := range vips {
					perm[i] = vips[n-1-i]
				}
				wrong := append([]netip.Addr{netip.MustParseAddr("198.51.100.7")}, vips[1:]...)
				dups := make([]netip.Addr, n)
				for i := range dups {
					dups[i] = vips[0]
				}
				lists := [][]netip.Addr{vips, perm, wrong, dups, append(vips, vips[0])}
				srcs := append([]netip.Addr{peer4}, own...)
				for _, src := range srcs {
					for li, list := range lists {
						var addrs []netip.Addr
						for _, a := range list {
							if a.Is4() {
								addrs = append(addrs, a)
							}
						}
						if len(addrs) == 0 {
							continue
						}
						f := frame{src: src, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, v3(20, 100, addrs...), src, vrrp.GroupIPv4)}
						want := goValidate(rs, f)
						if got := kernelReason(t, l, f); got != want {
							t.Errorf("src %v list %d (%v): kernel %v, go %v", src, li, addrs, got, want)
						}
					}
				}
			})
		}
	}
}

// TestRateLimitMasterSwitch: the recorded master's rate state lives in the
// adverts entry, other sources' in the rates map; two sources taking turns
// must not get a fresh burst at each switch.
func TestRateLimitMasterSwitch(t *testing.T) {
	r := router(vrrp.V3, 20, false, time.Second, vip4a)
	r.inst.RatePerInterval, r.inst.RateBurst = 4, 8
	l := newLoader(t, loader.Options{}, r.inst)
	a := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	b := frame{src: peer4b, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, v3(20, 100, vip4a), peer4b, vrrp.GroupIPv4)}
	acc := map[netip.Addr]int{}
	for range 40 {
		for _, f := range []frame{a, b} {
			if kernelReason(t, l, f) == vrrp.DropNone {
				acc[f.src]++
			}
		}
	}
	// Each source: its burst of 8, plus at most one more if 250 ms passed.
	for _, src := range []netip.Addr{peer4, peer4b} {
		if acc[src] < 8 || acc[src] > 9 {
			t.Errorf("%v: %d accepted of 40, want 8 (burst)", src, acc[src])
		}
	}
}
