package floodgen

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// TestPaceBounds: a flood stops at its packet bound, at its time bound, and
// keeps a target rate (to within a chunk).
func TestPaceBounds(t *testing.T) {
	frame := make([]byte, 60)
	var got uint64
	send := func(_ []byte, n uint64) error { got += n; return nil }

	res, err := pace(context.Background(), Options{Frames: [][]byte{frame}, Duration: time.Minute, MaxPackets: 250_001}, send)
	if err != nil || res.Sent != 250_001 || got != 250_001 {
		t.Errorf("packet bound: sent %d (counted %d), err %v; want 250001", res.Sent, got, err)
	}

	got = 0
	res, err = pace(context.Background(), Options{Frames: [][]byte{frame}, PPS: 10_000, Duration: 300 * time.Millisecond}, send)
	if err != nil {
		t.Fatal(err)
	}
	if res.Elapsed < 300*time.Millisecond || res.Elapsed > 2*time.Second {
		t.Errorf("time bound: flood lasted %v, want about 300ms", res.Elapsed)
	}
	// 10 kpps for 0.3 s is 3000 frames, in chunks of 1000.
	if res.Sent < 2000 || res.Sent > 4000 {
		t.Errorf("paced flood sent %d frames at 10 kpps in %v, want about 3000", res.Sent, res.Elapsed)
	}

	if _, err := pace(context.Background(), Options{Frames: [][]byte{{1, 2}}, Duration: time.Second}, send); err == nil {
		t.Error("a 2-byte frame was accepted")
	}
	if _, err := pace(context.Background(), Options{Frames: [][]byte{frame}}, send); err == nil {
		t.Error("a flood without a duration was accepted")
	}
}

// flood sends a bounded flood from a node across a bridge with the XDP
// generator or the AF_PACKET sender and returns what was sent and what the
// counter on the node's bridge port saw.
func flood(t *testing.T, useXDP bool, o Options) (Result, uint64) {
	t.Helper()
	br := netnstest.Bridge(t)
	node := netnstest.New(t, "gen")
	l := node.ConnectTo(t, br, "eth0", netip.MustParsePrefix("10.250.0.1/24"))
	port, err := br.Handle().LinkByName(l.BridgePort)
	if err != nil {
		t.Fatal(err)
	}
	var c *Counter
	if err := br.Do(func() (err error) { c, err = AttachCounter(port.Attrs().Index); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var res Result
	err = node.Do(func() error {
		if useXDP {
			x, err := NewXDP(l.Index)
			if err != nil {
				return err
			}
			defer x.Close()
			res, err = x.Flood(context.Background(), o)
			return err
		}
		s, err := NewSender(l.Index)
		if err != nil {
			return err
		}
		defer s.Close()
		res, err = s.Flood(context.Background(), o)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Count()
	if err != nil {
		t.Fatal(err)
	}
	return res, n
}

// testFrame is a broadcast frame of an unused ethertype.
func testFrame() []byte {
	f := make([]byte, 60)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5})
	return f
}

// TestXDPFlood: the live-frames generator delivers its frames to the peer
// (counted there), stops at its packet bound, and is fast.
func TestXDPFlood(t *testing.T) {
	testenv.RequireRoot(t)
	res, got := flood(t, true, Options{Frames: [][]byte{testFrame()}, Duration: 5 * time.Second, MaxPackets: 300_000})
	t.Logf("xdp flood: sent %d in %v (%.0f pps), peer counted %d", res.Sent, res.Elapsed, res.PPS(), got)
	if res.Sent != 300_000 {
		t.Errorf("sent %d, want the packet bound 300000", res.Sent)
	}
	// The peer's queue may overflow; most frames must still arrive.
	if got < res.Sent/2 {
		t.Errorf("peer counted %d of %d frames", got, res.Sent)
	}
}

// TestXDPPaced: a paced live-frames flood keeps a 100 kpps target.
func TestXDPPaced(t *testing.T) {
	testenv.RequireRoot(t)
	res, got := flood(t, true, Options{Frames: [][]byte{testFrame()}, PPS: 100_000, Duration: time.Second})
	t.Logf("paced xdp flood: sent %d in %v (%.0f pps), peer counted %d", res.Sent, res.Elapsed, res.PPS(), got)
	if res.PPS() < 60_000 || res.PPS() > 120_000 {
		t.Errorf("paced at 100 kpps, sent %.0f pps", res.PPS())
	}
}

// TestSenderFlood: the AF_PACKET sender keeps a target rate and its frames
// arrive.
func TestSenderFlood(t *testing.T) {
	testenv.RequireRoot(t)
	res, got := flood(t, false, Options{Frames: [][]byte{testFrame()}, PPS: 5000, Duration: 400 * time.Millisecond})
	t.Logf("packet flood: sent %d in %v (%.0f pps), peer counted %d", res.Sent, res.Elapsed, res.PPS(), got)
	if res.Sent < 1000 || res.Sent > 2100 {
		t.Errorf("sent %d at 5 kpps for 0.4 s, want about 2000", res.Sent)
	}
	// The node's own IPv6 chatter (router solicitations, MLD) is counted too.
	if got < res.Sent*9/10 || got > res.Sent+50 {
		t.Errorf("peer counted %d of %d frames", got, res.Sent)
	}
}
