package bpf_test

import (
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// TestSetInstancesReload: SetInstances called again with a changed set (a
// reload, or an interface back with a new ifindex) keeps the recorded
// advert of every router that stays, even with changed settings, so a
// reload does not forget the last advert; removed routers' adverts become
// unknown; an added router starts empty even in a slot a removed one used.
func TestSetInstancesReload(t *testing.T) {
	rA := router(vrrp.V3, 20, false, time.Second, vip4a)
	rB := router(vrrp.V3, 21, false, time.Second, vip4a)
	rC := router(vrrp.V3, 22, false, time.Second, vip4a)
	l := newLoader(t, loader.Options{}, rA.inst, rB.inst)
	xdp, _ := l.Programs()
	send := func(vrid, prio uint8) {
		t.Helper()
		runProg(t, xdp, frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255,
			payload: advert(t, v3(vrid, prio, vip4a), peer4, vrrp.GroupIPv4)}.bytes())
	}
	send(20, 100)
	send(21, 100)
	send(20, 100)
	nextEvent(t, l)
	nextEvent(t, l)
	before, ok := l.AdvertState(testIfindex, 20, false)
	if !ok || before.Count != 2 {
		t.Fatalf("advert state before the reload %+v ok=%v", before, ok)
	}

	rA2 := rA
	rA2.inst.VIPs = append(rA2.inst.VIPs, vip4b) // a changed router, same key
	rA2.inst.Silence = -1
	if err := l.SetInstances([]loader.Instance{rC.inst, rA2.inst}); err != nil {
		t.Fatal(err)
	}
	if after, ok := l.AdvertState(testIfindex, 20, false); !ok || after != before {
		t.Errorf("advert state after the reload %+v ok=%v, want %+v", after, ok, before)
	}
	if st, ok := l.AdvertState(testIfindex, 21, false); ok {
		t.Errorf("removed router has advert state %+v", st)
	}
	if st, ok := l.AdvertState(testIfindex, 22, false); ok {
		t.Errorf("added router has advert state %+v", st)
	}

	s0 := stats(t, l)
	send(21, 100)
	if d := stats(t, l).Drops[vrrp.DropUnknownVRID] - s0.Drops[vrrp.DropUnknownVRID]; d != 1 {
		t.Errorf("advert of a removed router: unknown_vrid +%d, want +1", d)
	}
	send(22, 100)
	if e := nextEvent(t, l); e.VRID != 22 || e.Kinds != loader.EventNewMaster|loader.EventAfterSilence || !e.Prev.Time.IsZero() {
		t.Errorf("first advert of the added router: %+v", e)
	}
	// The kernel, too, still knows router 20's master: its next advert
	// (now with both VIPs) is no change, so no record.
	runProg(t, xdp, frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255,
		payload: advert(t, v3(20, 100, vip4a, vip4b), peer4, vrrp.GroupIPv4)}.bytes())
	if s := stats(t, l); s.Events != s0.Events+1 || s.Drops[vrrp.DropNone] != s0.Drops[vrrp.DropNone]+2 {
		t.Errorf("stats %+v: want 2 more accepted, 1 more record (router 22's)", s)
	}
	if st, _ := l.AdvertState(testIfindex, 20, false); st.Count != 3 {
		t.Errorf("router 20 count %d, want 3", st.Count)
	}
}
