package loader_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

var attachModes = []loader.Mode{loader.ModeXDP, loader.ModeXDPGeneric, loader.ModeTC}

// rebindFixture is a loader with one virtual router (VRID 5, IPv4) on B's
// interface of a Pair topology, and the advert A sends for it.
type rebindFixture struct {
	topo *netnstest.Topology
	l    *loader.Loader
	adv  []byte
}

func newRebindFixture(t *testing.T, topo *netnstest.Topology) *rebindFixture {
	t.Helper()
	l, err := loader.Load(loader.Options{Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	f := &rebindFixture{topo: topo, l: l,
		adv: marshal(t, vrrp.Advert{Version: vrrp.V3, VRID: 5, Priority: 150, Interval: time.Second,
			Addrs: []netip.Addr{vip4}}, topo.A.Addr4(), vrrp.GroupIPv4)}
	f.configure(t, topo.B.Link.Index)
	return f
}

// configure points the virtual router at ifindex.
func (f *rebindFixture) configure(t *testing.T, ifindex int) {
	t.Helper()
	err := f.l.SetInstances([]loader.Instance{{Ifindex: ifindex, VRID: 5, Version: 3, Interval: time.Second,
		VIPs: []netip.Addr{vip4}, OwnAddrs: []netip.Addr{f.topo.B.Addr4()}}})
	if err != nil {
		t.Fatal(err)
	}
}

// attach attaches in B's namespace.
func (f *rebindFixture) attach(t *testing.T, ifindex int, mode loader.Mode) {
	t.Helper()
	var got loader.Mode
	if err := f.topo.B.Do(func() (err error) { got, err = f.l.Attach(ifindex, mode); return err }); err != nil {
		t.Fatalf("attach %v to ifindex %d: %v", mode, ifindex, err)
	}
	if got != mode {
		t.Fatalf("attached as %v, asked %v", got, mode)
	}
}

// receives checks that an advert from A reaches the program on ifindex
// and is recorded for the virtual router there.
func (f *rebindFixture) receives(t *testing.T, ifindex int) {
	t.Helper()
	before, _ := f.l.AdvertState(ifindex, 5, false)
	sendAdverts(t, f.topo.A, f.topo.A.Addr4(), f.adv, 1)
	for i := 0; ; i++ {
		st, ok := f.l.AdvertState(ifindex, 5, false)
		if ok && st.Count > before.Count && st.Master == f.topo.A.Addr4() {
			return
		}
		if i == 300 {
			t.Fatalf("no advert recorded on ifindex %d within 3s (state %+v)", ifindex, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// healthy fails unless the loader has exactly one attachment, on ifindex
// in mode, that CheckAttachments finds attached; it returns it.
func healthy(t *testing.T, l *loader.Loader, ifindex int, mode loader.Mode) loader.Attachment {
	t.Helper()
	if p := l.CheckAttachments(); len(p) != 0 {
		t.Fatalf("problems %+v, want none", p)
	}
	as := l.Attachments()
	if len(as) != 1 || as[0].Ifindex != ifindex || as[0].Mode != mode || as[0].LinkID == 0 {
		t.Fatalf("attachments %+v, want one %v on ifindex %d", as, mode, ifindex)
	}
	return as[0]
}

// lost fails unless CheckAttachments reports exactly the attachment a as
// detached.
func lost(t *testing.T, l *loader.Loader, a loader.Attachment) {
	t.Helper()
	p := l.CheckAttachments()
	if len(p) != 1 || p[0].Attachment != a || !errors.Is(p[0].Err, loader.ErrDetached) {
		t.Fatalf("problems %+v, want %+v detached", p, a)
	}
	t.Logf("reported: %v", p[0].Err)
}

// TestAttachmentDetachedBehindOurBack: a link detached by another program
// (BPF_LINK_DETACH, as `bpftool link detach` does) is reported by
// CheckAttachments, and Attach on the same interface replaces it.
func TestAttachmentDetachedBehindOurBack(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	ifindex := topo.B.Link.Index
	for _, mode := range attachModes {
		t.Run(mode.String(), func(t *testing.T) {
			f := newRebindFixture(t, topo)
			f.attach(t, ifindex, mode)
			first := healthy(t, f.l, ifindex, mode)
			// Attaching again while attached changes nothing: the same
			// mode or auto return the attachment's mode, another fails.
			f.attach(t, ifindex, mode)
			var auto loader.Mode
			if err := topo.B.Do(func() (err error) { auto, err = f.l.Attach(ifindex, loader.ModeAuto); return err }); err != nil || auto != mode {
				t.Errorf("Attach auto while attached as %v: %v, %v", mode, auto, err)
			}
			wrong := map[bool]loader.Mode{true: loader.ModeXDP, false: loader.ModeTC}[mode == loader.ModeTC]
			if err := topo.B.Do(func() error { _, err := f.l.Attach(ifindex, wrong); return err }); err == nil {
				t.Errorf("Attach %v while attached as %v succeeded", wrong, mode)
			}
			if again := healthy(t, f.l, ifindex, mode); again != first {
				t.Fatalf("second Attach made %+v, want %+v kept", again, first)
			}
			f.receives(t, ifindex)

			other, err := link.NewFromID(first.LinkID)
			if err != nil {
				t.Fatal(err)
			}
			err = other.Detach()
			other.Close()
			if err != nil {
				t.Fatalf("BPF_LINK_DETACH: %v", err)
			}
			lost(t, f.l, first)

			f.attach(t, ifindex, mode)
			if a := healthy(t, f.l, ifindex, mode); a.LinkID == first.LinkID {
				t.Errorf("re-attached with the lost link %d", a.LinkID)
			}
			f.receives(t, ifindex)
		})
	}
}

// TestAttachmentInterfaceRecreated: the interface is deleted and created
// again (a new ifindex). CheckAttachments reports the attachment, Detach of
// the vanished ifindex succeeds, and the program attaches to the new one
// and receives there. Also: Detach of a live attachment, then Attach.
func TestAttachmentInterfaceRecreated(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	b := topo.B
	for _, mode := range attachModes {
		t.Run(mode.String(), func(t *testing.T) {
			f := newRebindFixture(t, topo)
			old := b.Link.Index
			f.configure(t, old)
			f.attach(t, old, mode)
			a := healthy(t, f.l, old, mode)
			if err := f.l.Detach(old); err != nil {
				t.Fatalf("detach a live attachment: %v", err)
			}
			if as := f.l.Attachments(); len(as) != 0 {
				t.Fatalf("attachments after Detach: %+v", as)
			}
			if lk, err := link.NewFromID(a.LinkID); err == nil {
				lk.Close()
				t.Fatalf("link %d still exists after Detach", a.LinkID)
			}
			f.attach(t, old, mode)
			a = healthy(t, f.l, old, mode)

			nl, err := b.Handle().LinkByIndex(old)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Handle().LinkDel(nl); err != nil {
				t.Fatal(err)
			}
			lost(t, f.l, a)
			if err := f.l.Detach(old); err != nil {
				t.Errorf("detach from a deleted interface: %v", err)
			}
			if err := f.l.Detach(old); err != nil {
				t.Errorf("second detach: %v", err)
			}
			if as, p := f.l.Attachments(), f.l.CheckAttachments(); len(as) != 0 || len(p) != 0 {
				t.Fatalf("after Detach: attachments %+v, problems %+v", as, p)
			}

			b.Link = b.ConnectTo(t, topo.Bridge, netnstest.IfName, b.IPv4, b.IPv6)
			if b.Link.Index == old {
				t.Fatalf("recreated interface kept ifindex %d", old)
			}
			f.configure(t, b.Link.Index)
			f.attach(t, b.Link.Index, mode)
			healthy(t, f.l, b.Link.Index, mode)
			f.receives(t, b.Link.Index)
		})
	}
}
