package bpf_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// drain returns the events that arrive until none came for quiet.
func drain(l *loader.Loader, quiet time.Duration) []loader.Event {
	var out []loader.Event
	for {
		select {
		case e := <-l.Events():
			out = append(out, e)
		case <-time.After(quiet):
			return out
		}
	}
}

// flood runs prog n times on data in one BPF_PROG_TEST_RUN (back to back
// in the kernel) and returns when it started and ended.
func flood(t *testing.T, prog *ebpf.Program, data []byte, n int) (start, end time.Time) {
	t.Helper()
	start = time.Now()
	if _, err := prog.Run(&ebpf.RunOptions{Data: data, Repeat: uint32(n)}); err != nil {
		t.Fatalf("run %s: %v", prog, err)
	}
	return start, time.Now()
}

// TestDropSamplesFlood: a flood of adverts with another auth_pass (dropped
// in the kernel as auth_data) yields at most the token bucket's samples,
// each describing the dropped advert; a valid advert still gets its
// normal record.
func TestDropSamplesFlood(t *testing.T) {
	const perSecond, n = 4, 20000
	for _, prog := range []string{"xdp", "tc"} {
		t.Run(prog, func(t *testing.T) {
			l := newLoader(t, loader.Options{DropSamples: perSecond}, rV2.inst)
			xdp, tc := l.Programs()
			p := map[string]*ebpf.Program{"xdp": xdp, "tc": tc}[prog]
			bad := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255,
				payload: advert(t, v2(10, 120, "other", vip4a, vip4b), peer4, vrrp.GroupIPv4)}

			start, end := flood(t, p, bad.bytes(), n)
			samples := drain(l, 300*time.Millisecond)
			// The burst, plus one per 1/perSecond the flood lasted.
			limit := perSecond + int(end.Sub(start)/(time.Second/perSecond)) + 1
			if len(samples) == 0 || len(samples) > limit {
				t.Fatalf("%d drops gave %d samples, want 1..%d (flood took %v)", n, len(samples), limit, end.Sub(start))
			}
			t.Logf("%d drops in %v: %d samples", n, end.Sub(start), len(samples))
			for _, e := range samples {
				if e.Kinds != loader.EventDropped || vrrp.DropReason(e.Reason) != vrrp.DropAuthData ||
					e.Src != peer4 || e.VRID != 10 || e.Priority != 120 || e.Version != 2 || e.IPv6 ||
					e.Interval != time.Second || e.AddrCount != 2 || e.Ifindex != testIfindex ||
					!e.Prev.Time.IsZero() {
					t.Errorf("sample %+v, want a dropped v2 advert from %v (auth_data)", e, peer4)
				}
				if e.Time.Before(start.Add(-time.Millisecond)) || e.Time.After(end.Add(time.Millisecond)) {
					t.Errorf("sample time %v outside the flood (%v .. %v)", e.Time, start, end)
				}
			}
			s := stats(t, l)
			if s.Drops[vrrp.DropAuthData] != n || s.Events != uint64(len(samples)) || s.EventsLost != 0 {
				t.Errorf("stats: auth_data %d, events %d (lost %d); want %d, %d, 0",
					s.Drops[vrrp.DropAuthData], s.Events, s.EventsLost, n, len(samples))
			}

			good := frame{src: peer4b, dst: vrrp.GroupIPv4, ttl: 255,
				payload: advert(t, v2(10, 110, "secret", vip4a, vip4b), peer4b, vrrp.GroupIPv4)}
			runProg(t, p, good.bytes())
			e := nextEvent(t, l)
			if e.Kinds != loader.EventNewMaster|loader.EventAfterSilence || e.Reason != 0 || e.Src != peer4b {
				t.Errorf("valid advert after the flood: %+v", e)
			}
		})
	}
}

// TestDropSamplesOnlyVRRP: other traffic, packets the stack must judge and
// packets too short for a VRRP header are never sampled.
func TestDropSamplesOnlyVRRP(t *testing.T) {
	l := newLoader(t, loader.Options{DropSamples: 1000}, instances(routers)...)
	xdp, _ := l.Programs()
	valid := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	udp := valid
	udp.proto = 17
	frag := valid
	frag.fragOff = 0x2000
	short := valid
	short.payload = short.payload[:6]
	cut := valid.bytes()
	cut = cut[:len(cut)-2] // the frame ends inside the advert
	for name, data := range map[string][]byte{
		"udp": udp.bytes(), "fragment": frag.bytes(), "short header": short.bytes(), "cut frame": cut,
	} {
		flood(t, xdp, data, 100)
		if s := stats(t, l); s.Events != 0 {
			t.Fatalf("%s: %d records", name, s.Events)
		}
	}
	if s := stats(t, l); s.Drops[vrrp.DropTruncated] != 200 || s.NotVRRP != 100 || s.PassedIP != 100 {
		t.Errorf("stats %+v: want 200 truncated, 100 not vrrp, 100 passed", s)
	}
}

// TestDropSamplesOff: without Options.DropSamples nothing is sampled.
func TestDropSamplesOff(t *testing.T) {
	l := newLoader(t, loader.Options{}, rV2.inst)
	xdp, _ := l.Programs()
	bad := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255,
		payload: advert(t, v2(10, 120, "other", vip4a, vip4b), peer4, vrrp.GroupIPv4)}
	flood(t, xdp, bad.bytes(), 100)
	if s := stats(t, l); s.Events != 0 || s.Drops[vrrp.DropAuthData] != 100 {
		t.Errorf("stats %+v: want 100 auth_data drops, no record", s)
	}
}

// TestDropSampleSkip: a skipped reason is neither sampled nor takes a
// token; the others still are.
func TestDropSampleSkip(t *testing.T) {
	l := newLoader(t, loader.Options{DropSamples: 1, DropSampleSkip: []uint8{uint8(vrrp.DropUnknownVRID)}},
		instances(routers)...)
	xdp, _ := l.Programs()
	src := netip.MustParseAddr("198.51.100.1")
	other := frame{src: src, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, v3(99, 100, vip4a), src, vrrp.GroupIPv4)}
	flood(t, xdp, other.bytes(), 100)
	ttl := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 1, payload: advert(t, v3(20, 100, vip4a), peer4, vrrp.GroupIPv4)}
	runProg(t, xdp, ttl.bytes())
	e := nextEvent(t, l)
	if e.Kinds != loader.EventDropped || vrrp.DropReason(e.Reason) != vrrp.DropBadTTL || e.Src != peer4 || e.VRID != 20 {
		t.Errorf("sample %+v, want bad_ttl from %v", e, peer4)
	}
	if s := stats(t, l); s.Events != 1 || s.Drops[vrrp.DropUnknownVRID] != 100 {
		t.Errorf("stats %+v: want 1 record, 100 unknown_vrid", s)
	}
	if _, err := loader.Load(loader.Options{DropSamples: 1, DropSampleSkip: []uint8{vrrp.NumDropReasons}}); err == nil {
		t.Error("Load accepted a drop reason that does not exist")
	}
}
