package loader_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// TestInheritTakesOverTheLink: a second Loader (the upgraded process)
// inherits the first one's attachments, takes the link over with its own
// program (the same link: the interface never goes without a program),
// and keeps receiving once the first one Releases; the pins survive the
// Release and the second Loader pins its maps over them.
func TestInheritTakesOverTheLink(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	ifindex := topo.B.Link.Index
	for _, mode := range attachModes {
		t.Run(mode.String(), func(t *testing.T) {
			root := mountBPFFS(t)
			old, err := loader.Load(loader.Options{ID: "up", PinRoot: root, Log: zaptest.NewLogger(t).Named("old")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { old.Close() })
			f := &rebindFixture{topo: topo, l: old, adv: newRebindFixtureAdvert(t, topo)}
			f.configure(t, ifindex)
			f.attach(t, ifindex, mode)
			first := healthy(t, old, ifindex, mode)
			f.receives(t, ifindex)

			nl, err := loader.Load(loader.Options{PinRoot: root, Log: zaptest.NewLogger(t).Named("new")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { nl.Close() })
			nl.Inherit(old.Attachments())
			g := &rebindFixture{topo: topo, l: nl, adv: f.adv}
			g.configure(t, ifindex)
			g.attach(t, ifindex, mode)
			took := healthy(t, nl, ifindex, mode)
			if took.LinkID != first.LinkID {
				t.Fatalf("new loader made link %d, want the inherited link %d", took.LinkID, first.LinkID)
			}
			// The old loader's attachment now runs another program.
			if p := old.CheckAttachments(); len(p) != 1 {
				t.Errorf("old loader: problems %+v, want its link reported as running another program", p)
			}
			if err := old.Release(); err != nil {
				t.Fatalf("release: %v", err)
			}
			if _, err := os.Stat(filepath.Join(root, "up")); err != nil {
				t.Fatalf("pins gone after Release: %v", err)
			}
			healthy(t, nl, ifindex, mode)
			g.receives(t, ifindex)
			if err := nl.Pin("up"); err != nil {
				t.Fatalf("pin over the old pins: %v", err)
			}
			if nl.PinDir() != filepath.Join(root, "up") {
				t.Fatalf("pin dir %q", nl.PinDir())
			}
		})
	}
}

func newRebindFixtureAdvert(t *testing.T, topo *netnstest.Topology) []byte {
	return marshal(t, vrrp.Advert{Version: vrrp.V3, VRID: 5, Priority: 150, Interval: 1e9,
		Addrs: []netip.Addr{vip4}}, topo.A.Addr4(), vrrp.GroupIPv4)
}
