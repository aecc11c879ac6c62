package daemon

import (
	"net/netip"
	"testing"
)

// The address events of a master's own VIPs (a takeover of N instances
// makes N of them) cost no kernel query: each would list every address of
// the interface, N × N address parses for N instances. A removal is still
// checked against the kernel (a stale one must not count as a loss).
func TestOwnVIPAddedEventNotQueried(t *testing.T) {
	r := masterRig(t)
	eth0 := r.env.links["eth0"]
	vip := netip.MustParseAddr("192.0.2.100")
	calls := r.env.hasCalls
	r.handle(hostAddr{Index: eth0.index, Addr: vip})
	if got := r.env.hasCalls - calls; got != 0 {
		t.Errorf("%d kernel queries for an add of a VIP the master holds, want 0", got)
	}
	if !r.inst("VI_1").held[0] {
		t.Error("the VIP is no longer shown held")
	}
	r.handle(hostAddr{Index: eth0.index, Addr: vip, Deleted: true})
	if got := r.env.hasCalls - calls; got != 1 {
		t.Errorf("%d kernel queries for a removal, want 1", got)
	}
}
