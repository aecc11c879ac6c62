package track

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp/config"
)

func TestTrackInterface(t *testing.T) {
	testenv.RequireRoot(t)
	ns := netnstest.New(t, "track")
	h := ns.Handle()
	// veth pairs (no dummy module here); both ends up for carrier.
	for _, name := range []string{"dum0", "dum1"} {
		if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{name, name + "p"} {
			l, _ := h.LinkByName(n)
			if err := h.LinkSetUp(l); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(200 * time.Millisecond) // carrier
	conf := `
vrrp_instance VI_1 {
  interface dum0
  virtual_router_id 1
  priority 100
  virtual_ipaddress { 192.0.2.1 }
  track_interface {
    dum1 weight -10
  }
}
`
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "k.conf"), []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	nsh := ns.NsHandle()
	tr, err := New(cfg, zaptest.NewLogger(t), Options{Netlink: h, Namespace: &nsh})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := tr.State("VI_1"); u.Fault || u.Priority != 100 {
		t.Fatalf("initial: %+v", u)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tr.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond) // subscription in place

	set := func(name string, up bool) {
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if up {
			err = h.LinkSetUp(l)
		} else {
			err = h.LinkSetDown(l)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	set("dum1", false)
	if u := next(t, tr, "VI_1", 3*time.Second); u.Priority != 90 || u.Fault {
		t.Fatalf("dum1 down: %+v, want priority 90", u)
	}
	set("dum0", false)
	if u := next(t, tr, "VI_1", 3*time.Second); !u.Fault {
		t.Fatalf("primary down: %+v, want fault", u)
	}
	set("dum0", true)
	set("dum1", true)
	deadline := time.Now().Add(3 * time.Second)
	for {
		u := next(t, tr, "VI_1", 3*time.Second)
		if !u.Fault && u.Priority == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %+v", u)
		}
	}
}
