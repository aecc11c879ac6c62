package gapprobe_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/xvrrp/xvrrp/internal/gapprobe"
	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// listen opens a probe inside ns and closes it at cleanup.
func listen(t *testing.T, ns *netnstest.NS, target netip.Addr) *gapprobe.Probe {
	t.Helper()
	var p *gapprobe.Probe
	if err := ns.Do(func() error {
		var err error
		p, err = gapprobe.Listen(target)
		return err
	}); err != nil {
		t.Fatalf("listen in %s: %v", ns.Name(), err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestProbeLoopback probes the loopback addresses of a throw-away namespace:
// every request is answered, none twice.
func TestProbeLoopback(t *testing.T) {
	testenv.RequireRoot(t)
	ns := netnstest.New(t, "gp")
	for _, target := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")} {
		t.Run(target.String(), func(t *testing.T) {
			p := listen(t, ns, target)
			r, err := p.Run(context.Background(), gapprobe.Config{Duration: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			// 300 requests at 1 ms if the probe keeps time; a loaded
			// machine may send fewer, never none.
			if r.Sent < 30 || r.Sent > 301 || r.Received != r.Sent || r.Lost != 0 || r.Duplicates != 0 || r.SendErrors != 0 {
				t.Errorf("want every request answered once: %v", r)
			}
			if r.MaxGap.Open || r.MaxGap.Len() <= 0 {
				t.Errorf("largest gap %v", r.MaxGap)
			}
			// The context ends a run early and is not an error.
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			r, err = p.Run(ctx, gapprobe.Config{Duration: time.Minute, Wait: 20 * time.Millisecond})
			if err != nil || time.Since(start) > 10*time.Second || r.Received == 0 {
				t.Errorf("run stopped by its context after %v: %v, %v", time.Since(start), r, err)
			}
		})
	}
}

// TestProbeSeesOutage probes a node across a bridge and takes the target
// address away for 200 ms: the probe reports a gap at least that long,
// with the requests sent meanwhile lost, and replies before and after.
func TestProbeSeesOutage(t *testing.T) {
	testenv.RequireRoot(t)
	br := netnstest.Bridge(t)
	client := netnstest.New(t, "gpc")
	target := netnstest.New(t, "gpt")
	client.ConnectTo(t, br, "eth0", netip.MustParsePrefix("10.77.0.1/24"))
	tl := target.ConnectTo(t, br, "eth0", netip.MustParsePrefix("10.77.0.2/24"))
	dst := netip.MustParseAddr("10.77.0.2")
	if err := client.Ping(dst, 20, 200*time.Millisecond); err != nil {
		t.Fatal(err) // also resolves the neighbour before the probe starts
	}
	p := listen(t, client, dst)

	link, err := target.Handle().LinkByName(tl.Name)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := netlink.ParseAddr("10.77.0.2/24")
	if err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	var r gapprobe.Result
	var runErr error
	go func() {
		defer close(done)
		r, runErr = p.Run(context.Background(), gapprobe.Config{Duration: time.Second})
	}()
	time.Sleep(300 * time.Millisecond)
	if err := target.Handle().AddrDel(link, addr); err != nil {
		t.Fatalf("remove %s: %v", dst, err)
	}
	removed := time.Now()
	time.Sleep(200 * time.Millisecond)
	if err := target.Handle().AddrAdd(link, addr); err != nil {
		t.Fatalf("add %s back: %v", dst, err)
	}
	away := time.Since(removed)
	<-done
	if runErr != nil {
		t.Fatal(runErr)
	}
	t.Log(r)
	for _, g := range r.Gaps {
		t.Logf("gap %v", g)
	}
	// No reply can come while the address is gone; one request interval
	// of slack on either side.
	if r.MaxGap.Len() < away-2*time.Millisecond || r.MaxGap.Len() > away+time.Second || r.MaxGap.Open {
		t.Errorf("largest gap %v; the address was away %v", r.MaxGap, away)
	}
	if r.MaxGap.Lost < 100 || r.Lost < r.MaxGap.Lost || r.Received < 100 {
		t.Errorf("want ≥ 100 lost in the gap and replies around it: %v", r)
	}
}
