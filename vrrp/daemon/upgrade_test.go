package daemon

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp"
)

// freezeNow freezes r's daemon with the answer to Finish given in
// advance (the loop would otherwise block the test) and returns the
// handoff, after a JSON round trip as between two processes.
func freezeNow(t *testing.T, r *rig, handedOff bool) (*Handoff, error) {
	t.Helper()
	f := &Frozen{finish: make(chan bool, 1)}
	f.finish <- handedOff
	req := freezeRequest{reply: make(chan freezeReply, 1), f: f}
	r.handle(req)
	rep := <-req.reply
	if rep.err != nil {
		return nil, rep.err
	}
	b, err := json.Marshal(rep.h)
	if err != nil {
		t.Fatal(err)
	}
	var h Handoff
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return &h, nil
}

// successor builds the upgraded daemon on the same host and clock as old,
// adopts h and starts it.
func successor(t *testing.T, old *rig, conf string, h *Handoff) *rig {
	t.Helper()
	n := buildRig(t, old.env, conf, Options{Log: zaptest.NewLogger(t).Named("new"), Upgrade: true})
	n.now = old.now
	if err := n.d.adopt(n.now, h); err != nil {
		t.Fatalf("adopt: %v", err)
	}
	n.d.start(n.now)
	return n
}

// An upgraded master goes on as master: no transition, no notification,
// its VIP never removed, and its next advert goes out when the old
// process's was due (the timers' phase is kept).
func TestUpgradeMasterKeepsStateAndPhase(t *testing.T) {
	r := masterRig(t)
	oldPort := r.env.ports[len(r.env.ports)-1]
	r.advance(300 * time.Millisecond)
	sentBefore := len(oldPort.sent)
	due := r.inst("VI_1").next
	r.env.log = nil
	h, err := freezeNow(t, r, true)
	if err != nil {
		t.Fatal(err)
	}
	if !r.d.handedOff {
		t.Fatal("old daemon not handed off after Finish(true)")
	}
	n := successor(t, r, confMaster, h)
	n.wantState("VI_1", vrrp.Master)
	if got := n.d.transitions.Load(); got != 0 {
		t.Errorf("%d transitions in the new process, want 0", got)
	}
	if len(n.notes.got) != 0 {
		t.Errorf("notifications %q, want none", n.notes.got)
	}
	if !n.env.holds("eth0", "192.0.2.100") {
		t.Fatal("VIP not held after the upgrade")
	}
	for _, l := range n.env.log {
		if strings.HasPrefix(l, "del ") {
			t.Errorf("a VIP was removed during the upgrade: %q", n.env.log)
		}
	}
	if !n.inst("VI_1").status.VIPs[0].Held || !n.inst("VI_1").status.HoldsVIPs {
		t.Errorf("status after upgrade: %+v", n.inst("VI_1").status)
	}
	newPort := n.inst("VI_1").bind.Port.(*fakePort)
	if newPort == oldPort {
		t.Fatal("the new daemon did not bind its own port")
	}
	n.advance(due.Sub(n.now) - time.Millisecond)
	if len(newPort.sent) != 0 {
		t.Fatalf("new process sent %v before the old one's advert was due", newPort.sent)
	}
	n.advance(2 * time.Millisecond)
	if len(newPort.sent) != 1 || newPort.sent[0] != 150 {
		t.Fatalf("at the due time the new process sent %v, want one advert at 150", newPort.sent)
	}
	if len(oldPort.sent) != sentBefore {
		t.Errorf("the old process sent after the freeze")
	}
}

// An upgraded backup that hears nothing waits a whole
// Master_Down_Interval from the upgrade (the kernel's record of the last
// advert stays with the old process) and then takes over; an advert
// meanwhile keeps it backup.
func TestUpgradeBackupWaitsAFullInterval(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, confMaster)
	r.advance(time.Second)
	r.handle(r.peerAdvert("VI_1", 200, "192.0.2.2"))
	r.advance(2500 * time.Millisecond) // 0.5 s before its master-down deadline
	r.wantState("VI_1", vrrp.Backup)
	h, err := freezeNow(t, r, true)
	if err != nil {
		t.Fatal(err)
	}
	n := successor(t, r, confMaster, h)
	n.wantState("VI_1", vrrp.Backup)
	if m := n.inst("VI_1").router.MasterAddr().String(); m != "192.0.2.2" {
		t.Errorf("master learnt %s, want 192.0.2.2 carried over", m)
	}
	mdi := vrrp.MasterDownInterval(vrrp.V3, 150, time.Second)
	n.advance(mdi - 10*time.Millisecond)
	n.wantState("VI_1", vrrp.Backup)
	n.advance(20 * time.Millisecond)
	n.wantState("VI_1", vrrp.Master)
}

// Finish(false) (the new process failed) resumes the old loop: overdue
// timers fire, the attachments are checked at once.
func TestUpgradeFailedResumes(t *testing.T) {
	r := masterRig(t)
	port := r.env.ports[len(r.env.ports)-1]
	checks := r.plane.checks
	if _, err := freezeNow(t, r, false); err != nil {
		t.Fatal(err)
	}
	if r.d.handedOff {
		t.Fatal("handed off after Finish(false)")
	}
	if r.plane.checks != checks+1 {
		t.Errorf("attachments checked %d times on resume, want once", r.plane.checks-checks)
	}
	sent := len(port.sent)
	r.advance(time.Second)
	if len(port.sent) != sent+1 {
		t.Errorf("resumed master sent %d adverts in a second, want 1", len(port.sent)-sent)
	}
	r.wantState("VI_1", vrrp.Master)
}

// Nothing is handed over while a master resigns or the daemon stops;
// a new process refuses a handoff that does not match its configuration
// and is left untouched.
func TestUpgradeRefusals(t *testing.T) {
	r := masterRig(t)
	if err := r.call(func(now time.Time) error { return r.d.handover(now, "VI_1") }); err != nil {
		t.Fatal(err)
	}
	if _, err := freezeNow(t, r, true); err == nil || r.d.handedOff {
		t.Fatalf("freeze while resigning: err %v, handed off %v; want an error and no hand-off", err, r.d.handedOff)
	}

	r2 := masterRig(t)
	h, err := freezeNow(t, r2, false)
	if err != nil {
		t.Fatal(err)
	}
	for name, conf := range map[string]string{
		"other vrid":    strings.Replace(confMaster, "virtual_router_id 51", "virtual_router_id 52", 1),
		"other name":    strings.Replace(confMaster, "VI_1", "VI_2", 1),
		"other version": strings.Replace(confMaster, "version 3", "version 2", 1),
	} {
		n := buildRig(t, r2.env, conf, Options{Log: zaptest.NewLogger(t), Upgrade: true})
		if err := n.d.adopt(r2.now, h); err == nil {
			t.Errorf("%s: adopted", name)
		}
		if n.d.adopted || n.d.insts[0].router.State() != vrrp.Initialize {
			t.Errorf("%s: a refused handoff changed the new daemon", name)
		}
	}
	bad := *h
	bad.Version = 99
	n := buildRig(t, r2.env, confMaster, Options{Log: zaptest.NewLogger(t), Upgrade: true})
	if err := n.d.adopt(r2.now, &bad); err == nil || !strings.Contains(err.Error(), "format") {
		t.Errorf("handoff format 99: %v", err)
	}
	// Upgrade mode never removes the VIPs present at start.
	if !r2.env.holds("eth0", "192.0.2.100") {
		t.Error("building an upgrade daemon removed the master's VIP")
	}
}

// A sync group hands over together, with its notified state.
func TestUpgradeSyncGroup(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	env.addLink("eth1", "198.51.100.1")
	r := newRig(t, env, confGroup)
	r.advance(5 * time.Second)
	r.wantState("VI_1", vrrp.Master)
	r.wantState("VI_2", vrrp.Master)
	h, err := freezeNow(t, r, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Groups) != 1 || h.Groups[0].State != "MASTER" {
		t.Fatalf("groups handed over: %+v", h.Groups)
	}
	n := successor(t, r, confGroup, h)
	n.wantState("VI_1", vrrp.Master)
	n.wantState("VI_2", vrrp.Master)
	if n.d.groups[0].state != vrrp.Master {
		t.Errorf("group state %v, want MASTER carried over", n.d.groups[0].state)
	}
	n.advance(10 * time.Second)
	if len(n.notes.got) != 0 || n.d.transitions.Load() != 0 {
		t.Errorf("after the upgrade: notifications %q, %d transitions", n.notes.got, n.d.transitions.Load())
	}
}

// A freeze that timed out does not honour a late Finish(true): the old
// loop already runs again, and the caller learns it must stop the new
// process; a Finish that came first wins over the timeout.
func TestFrozenFinishAfterExpiry(t *testing.T) {
	f := &Frozen{finish: make(chan bool, 1)}
	if ok, finished := f.expire(); ok || finished {
		t.Fatalf("expire with no Finish: %v %v", ok, finished)
	}
	if f.Finish(true) {
		t.Fatal("Finish(true) after expiry accepted")
	}
	g := &Frozen{finish: make(chan bool, 1)}
	if !g.Finish(true) {
		t.Fatal("Finish(true) before expiry refused")
	}
	if ok, finished := g.expire(); !ok || !finished {
		t.Fatalf("expire after Finish(true): %v %v, want the hand-off honoured", ok, finished)
	}
}

// While frozen a master keeps advertising on its schedule, so a slow
// hand-over never leaves a gap on the wire; after Finish(true) it stops.
func TestFreezeKeepsCadence(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, strings.Replace(confMaster, "advert_int 1", "advert_int 0.05", 1))
	r.advance(time.Second)
	r.wantState("VI_1", vrrp.Master)
	port := r.inst("VI_1").bind.Port.(*fakePort)
	sent := len(port.sent)
	f := &Frozen{finish: make(chan bool, 1)}
	req := freezeRequest{reply: make(chan freezeReply, 1), f: f}
	go func() {
		rep := <-req.reply
		if rep.err != nil {
			t.Error(rep.err)
		}
		time.Sleep(230 * time.Millisecond)
		f.Finish(true)
	}()
	start := time.Now()
	r.handle(req) // returns at Finish
	frozen := time.Since(start)
	got := len(port.sent) - sent
	// One advert per 50 ms of the freeze, never more (a stalled machine
	// may send fewer: a late one is not repeated).
	if most := int(frozen/(50*time.Millisecond)) + 1; got < 2 || got > most {
		t.Errorf("frozen %v: the master sent %d adverts, want 2 to %d", frozen, got, most)
	}
	for _, p := range port.sent[sent:] {
		if p != 150 {
			t.Errorf("advert at priority %d while frozen, want 150", p)
		}
	}
	if !r.d.handedOff {
		t.Fatal("not handed off")
	}
}

// AH sequence numbers continue in the new process above every number the
// old one may have sent while frozen; the IP identification follows.
func TestAHSessionsHandoff(t *testing.T) {
	old := newAHSessions()
	s := old.get(ahKey{ifname: "eth0", vrid: 81})
	for range 100 {
		s.nextSend()
	}
	old.get(ahKey{ifname: "eth1", vrid: 7}).accept(5000)
	hs := old.handoff()
	if len(hs) != 2 {
		t.Fatalf("handoff %+v, want 2 sessions", hs)
	}
	// The old process sends on while frozen.
	for range 300 {
		s.nextSend()
	}
	nw := newAHSessions()
	nw.adopt(hs)
	if seq, _ := nw.get(ahKey{ifname: "eth0", vrid: 81}).nextSend(); seq <= 400 {
		t.Errorf("new process's next sequence number %d, want above the 400 the old one sent", seq)
	}
	if ok, _ := nw.get(ahKey{ifname: "eth1", vrid: 7}).accept(5000); ok {
		t.Error("a replay of the last accepted number accepted after the hand-over")
	}
	var none *ahSessions
	if none.handoff() != nil {
		t.Error("nil sessions handed something over")
	}
	none.adopt(hs) // no panic
}
