package daemon

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/control"
)

// One v3 instance at 1 s, priority 150, VIP 192.0.2.100 on eth0.
const confMaster = `
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  version 3
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`

// masterRig starts confMaster on a host with eth0 and runs it to MASTER.
func masterRig(t *testing.T) *rig {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, confMaster)
	r.wantState("VI_1", vrrp.Backup)
	r.advance(4 * time.Second)
	r.wantState("VI_1", vrrp.Master)
	if !env.holds("eth0", "192.0.2.100") {
		t.Fatal("master does not hold its VIP")
	}
	return r
}

// Row 1: a VIP deleted behind the master's back is added again at once,
// announced, and the status shows what the kernel holds.
func TestVIPRemovedIsRestored(t *testing.T) {
	r := masterRig(t)
	eth0 := r.env.links["eth0"]
	port := r.env.ports[len(r.env.ports)-1]
	announced := port.announced
	delete(r.env.vips, "192.0.2.100@"+itoa(eth0.index))
	r.handle(hostAddr{Index: eth0.index, Addr: netip.MustParseAddr("192.0.2.100"), Deleted: true})
	if !r.env.holds("eth0", "192.0.2.100") {
		t.Fatal("VIP not restored")
	}
	if port.announced != announced+1 {
		t.Fatalf("gratuitous ARP bursts %d, want %d", port.announced, announced+1)
	}
	st := r.d.Status().Instances[0]
	if len(st.VIPs) != 1 || !st.VIPs[0].Held {
		t.Fatalf("status VIPs %+v, want held", st.VIPs)
	}
	// A backup does not take a removed VIP back (it should not hold one).
	r.wantState("VI_1", vrrp.Master)
}

// Status reports what the kernel holds: a VIP removed while the instance
// could not add it again shows as not held.
func TestStatusShowsKernelVIPs(t *testing.T) {
	r := masterRig(t)
	eth0 := r.env.links["eth0"]
	r.inst("VI_1").router.Step(r.now, vrrp.SetFault{Fault: true}) // leaves the VIP to the test
	r.inst("VI_1").held[0] = true
	delete(r.env.vips, "192.0.2.100@"+itoa(eth0.index))
	r.handle(hostAddr{Index: eth0.index, Addr: netip.MustParseAddr("192.0.2.100"), Deleted: true})
	if st := r.d.Status().Instances[0]; st.VIPs[0].Held {
		t.Fatalf("status says held after the kernel removed it: %+v", st.VIPs)
	}
}

// A stale removal event (ours, reported after the VIP was added again) is
// checked against the kernel: no re-add, no burst, still held.
func TestStaleVIPRemovalEvent(t *testing.T) {
	r := masterRig(t)
	eth0 := r.env.links["eth0"]
	port := r.env.ports[len(r.env.ports)-1]
	bursts, adds := port.announced, len(r.env.log)
	r.handle(hostAddr{Index: eth0.index, Addr: netip.MustParseAddr("192.0.2.100"), Deleted: true})
	if port.announced != bursts || len(r.env.log) != adds {
		t.Fatalf("a stale event made %d bursts and %v", port.announced-bursts, r.env.log[adds:])
	}
	if st := r.d.Status().Instances[0]; !st.VIPs[0].Held {
		t.Fatalf("status %+v, want held", st.VIPs)
	}
}

// Row 2: the interface deleted puts the master in FAULT, priority 0 first
// when still possible; recreated with a new index, the instance is bound
// again (the dataplane gets the new ifindex) and leaves FAULT.
func TestLinkDeletedAndRecreated(t *testing.T) {
	r := masterRig(t)
	old := r.env.links["eth0"]
	port := r.env.ports[len(r.env.ports)-1]
	// Deleted: the kernel removed the VIP with the link.
	delete(r.env.links, "eth0")
	r.handle(hostLink{Index: old.index, Name: "eth0", Deleted: true})
	r.wantState("VI_1", vrrp.Fault)
	if !port.closed {
		t.Fatal("sockets of the deleted interface not closed")
	}
	if _, ok := r.plane.bound(51); ok {
		t.Fatal("dataplane still bound to the deleted interface")
	}
	if f := r.d.Status().Instances[0].Fault; !strings.Contains(f, "deleted") {
		t.Fatalf("status fault %q, want it to say deleted", f)
	}
	// Recreated.
	nl := r.env.addLink("eth0", "192.0.2.1")
	r.handle(hostLink{Index: nl.index, Name: "eth0"})
	r.wantState("VI_1", vrrp.Backup)
	b, ok := r.plane.bound(51)
	if !ok || b.Key.ifindex != nl.index {
		t.Fatalf("dataplane binding %+v, want ifindex %d", b, nl.index)
	}
	r.advance(4 * time.Second)
	r.wantState("VI_1", vrrp.Master)
	if !r.env.holds("eth0", "192.0.2.100") {
		t.Fatal("VIP not on the recreated interface")
	}
}

// Row 3: renamed while up: FAULT, priority 0 sent, and the VIP removed
// from the renamed link (by index: by name it is not found).
func TestLinkRenamed(t *testing.T) {
	r := masterRig(t)
	l := r.env.links["eth0"]
	port := r.env.ports[len(r.env.ports)-1]
	delete(r.env.links, "eth0")
	r.env.links["eth9"] = l
	r.handle(hostLink{Index: l.index, Name: "eth9"})
	r.wantState("VI_1", vrrp.Fault)
	if got := port.sent[len(port.sent)-1]; got != 0 {
		t.Fatalf("last advert priority %d, want 0 (resign)", got)
	}
	// A later event that tries to bind again (and fails: no eth0) keeps
	// the rename in the reason.
	r.handle(hostAddr{Index: l.index, Addr: netip.MustParseAddr("192.0.2.7")})
	if f := r.d.Status().Instances[0].Fault; !strings.Contains(f, "renamed to eth9") {
		t.Fatalf("fault %q lost the rename", f)
	}
	if r.env.holds("eth9", "192.0.2.100") {
		t.Fatal("VIP left on the renamed link")
	}
}

// Row 7: an interface missing at start is not fatal: the instance waits
// in FAULT and starts when the interface (and its address) appears.
func TestMissingInterfaceAtStart(t *testing.T) {
	env := newFakeEnv()
	r := newRig(t, env, confMaster)
	r.wantState("VI_1", vrrp.Fault)
	r.advance(10 * time.Second)
	r.wantState("VI_1", vrrp.Fault)
	// The link without an address: still waiting.
	l := env.addLink("eth0")
	r.handle(hostLink{Index: l.index, Name: "eth0"})
	r.wantState("VI_1", vrrp.Fault)
	// The address arrives (DHCP).
	l.addrs = []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	r.handle(hostAddr{Index: l.index, Addr: l.addrs[0]})
	r.wantState("VI_1", vrrp.Backup)
	r.advance(4 * time.Second)
	r.wantState("VI_1", vrrp.Master)
	if src := r.inst("VI_1").router.MasterAddr(); src != l.addrs[0] {
		t.Fatalf("master address %v, want the bound %v", src, l.addrs[0])
	}
}

// Row 7: a VIP on a device that does not exist is logged, not fatal.
func TestVIPOnMissingDevice(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, strings.Replace(confMaster, "192.0.2.100/24", "192.0.2.100/24 dev nosuch0", 1))
	r.advance(4 * time.Second)
	r.wantState("VI_1", vrrp.Master)
	// The device appears: the master adds its VIP there.
	l := env.addLink("nosuch0")
	r.handle(hostLink{Index: l.index, Name: "nosuch0"})
	if !env.holds("nosuch0", "192.0.2.100") {
		t.Fatal("VIP not added when its device appeared")
	}
}

// Row 4: a lost attachment found by the periodic check: attached again,
// the Backup's Master_Down_Timer restarts (it was deaf); not attached
// again, the instance waits in FAULT until it is.
func TestAttachmentLost(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, confMaster)
	r.advance(time.Second)
	r.handle(r.peerAdvert("VI_1", 200, "192.0.2.2"))
	r.wantState("VI_1", vrrp.Backup)
	ifindex := env.links["eth0"].index
	before := r.inst("VI_1").next
	r.now = r.now.Add(500 * time.Millisecond)
	r.plane.lost = []planeLost{{Ifindex: ifindex, Err: errors.New("detached"), Fixed: true}}
	r.handle(planeTime{})
	r.wantState("VI_1", vrrp.Backup)
	if !r.inst("VI_1").next.After(before) {
		t.Fatal("master-down timer not restarted after the receive path came back")
	}
	r.plane.lost = []planeLost{{Ifindex: ifindex, Err: errors.New("detached")}}
	r.plane.fail = map[int]error{ifindex: errors.New("attach: busy")}
	r.handle(planeTime{})
	r.wantState("VI_1", vrrp.Fault)
	r.plane.fail = nil
	r.handle(planeTime{})
	r.wantState("VI_1", vrrp.Backup)
}

// A Backup about to take over checks the receive path first: deaf for a
// while, it waits a full Master_Down_Interval more instead of becoming a
// second master.
func TestTakeoverChecksReceivePath(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, confMaster)
	r.plane.lost = []planeLost{{Ifindex: env.links["eth0"].index, Err: errors.New("detached"), Fixed: true}}
	r.advance(4 * time.Second)
	r.wantState("VI_1", vrrp.Backup)
	r.advance(4 * time.Second)
	r.wantState("VI_1", vrrp.Master)
}

// Row 8: a master whose better peer's adverts do not change learns of it
// from the dataplane's record at its next advert, not never.
func TestMasterSeesRecordedBetterPeer(t *testing.T) {
	r := masterRig(t)
	inst := r.inst("VI_1")
	a := r.peerAdvert("VI_1", 200, "192.0.2.2")
	a.Recv.At = r.now.Add(-100 * time.Millisecond)
	r.plane.last[inst.key] = a.Recv
	r.advance(1100 * time.Millisecond)
	r.wantState("VI_1", vrrp.Backup)
	// A better one recorded long ago (a master that has gone since, or
	// an instance bound again) does not move it either.
	r3 := masterRig(t)
	old := r3.peerAdvert("VI_1", 200, "192.0.2.2")
	old.Recv.At = r3.now.Add(-10 * time.Second)
	r3.plane.last[r3.inst("VI_1").key] = old.Recv
	before := r3.d.transitions.Load()
	r3.advance(1100 * time.Millisecond)
	r3.wantState("VI_1", vrrp.Master)
	if n := r3.d.transitions.Load() - before; n != 0 {
		t.Fatalf("%d transitions for an advert 10 s old", n)
	}
	// A lower one recorded does not move it.
	r2 := masterRig(t)
	low := r2.peerAdvert("VI_1", 100, "192.0.2.2")
	low.Recv.At = r2.now
	r2.plane.last[r2.inst("VI_1").key] = low.Recv
	r2.advance(1100 * time.Millisecond)
	r2.wantState("VI_1", vrrp.Master)
}

// A heartbeat that outranks a master reaches it (it was dropped unless
// BACKUP); one that does not is still ignored.
func TestHeartbeatOutranksMaster(t *testing.T) {
	r := masterRig(t)
	hb := r.peerAdvert("VI_1", 100, "192.0.2.2")
	hb.Heartbeat = true
	port := r.env.ports[len(r.env.ports)-1]
	n := len(port.sent)
	r.handle(hb)
	if len(port.sent) != n {
		t.Fatal("a master answered a lower heartbeat")
	}
	hb = r.peerAdvert("VI_1", 200, "192.0.2.2")
	hb.Heartbeat = true
	r.handle(hb)
	r.wantState("VI_1", vrrp.Backup)
}

// Row 10: mismatched adverts are logged once per peer, reason and minute.
func TestMismatchLoggedOncePerMinute(t *testing.T) {
	r := masterRig(t)
	d := planeDrop{Src: netip.MustParseAddr("192.0.2.9"), Reason: vrrp.DropAuthData, VRID: 51}
	for range 5 {
		r.handle(d)
	}
	if len(r.d.mismatches) != 1 {
		t.Fatalf("%d mismatch entries", len(r.d.mismatches))
	}
	first := r.d.mismatches[mismatchKey{d.Src, d.Reason}]
	r.now = r.now.Add(30 * time.Second)
	r.handle(d)
	if got := r.d.mismatches[mismatchKey{d.Src, d.Reason}]; !got.Equal(first) {
		t.Fatal("logged again within the minute")
	}
	r.now = r.now.Add(31 * time.Second)
	r.handle(d)
	if got := r.d.mismatches[mismatchKey{d.Src, d.Reason}]; got.Equal(first) {
		t.Fatal("not logged again after the minute")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// Run drives the same loop on real time: a reload goes through it, Status
// is safe meanwhile, and at the end a master resigns (priority 0) and
// removes its VIPs before Run returns.
func TestRunReloadAndStop(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	// priority 255: master at once, no need to wait a Master_Down_Interval;
	// advert_int 0.1: the stop, with no backup to take over, waits 0.3 s.
	conf := strings.NewReplacer("priority 150", "priority 255", "advert_int 1", "advert_int 0.1").Replace(confMaster)
	r := &rig{t: t, env: env, plane: newFakePlane(), notes: &fakeNotifier{}}
	p := parts{env: env, plane: r.plane,
		newTracker:  func(cfg *config.Config) (Tracker, error) { return newFakeTracker(cfg), nil },
		newNotifier: func(*config.Config) Notifier { return r.notes },
	}
	d, err := newDaemon(parse(t, conf), Options{Log: zaptest.NewLogger(t)}, p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for d.Status().Instances[0].State != "MASTER" {
		if time.Now().After(deadline) {
			t.Fatal("not MASTER after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	if err := d.Reload(rctx, parse(t, conf)); err != nil {
		t.Fatal(err)
	}
	if st := d.Status(); st.Reloads != 1 || st.Instances[0].State != "MASTER" {
		t.Fatalf("after reload: %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	port := env.ports[0]
	if len(port.sent) == 0 || port.sent[len(port.sent)-1] != 0 {
		t.Fatalf("adverts sent %v: want the last with priority 0", port.sent)
	}
	if env.holds("eth0", "192.0.2.100") {
		t.Fatal("VIP still held after Run returned")
	}
	if !slices.Contains(r.notes.got, "VI_1 STOP") {
		t.Fatalf("notifications %v: no STOP", r.notes.got)
	}
}

// Two instances in a vrrp_sync_group, both backups of a peer at 200.
const confGroup = `
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  version 3
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
  version 3
  virtual_ipaddress {
    192.0.2.101/24
  }
}
`

// Row 8: the adverts of one member's VRID are lost while the other still
// hears the master: the group must not take over (keepalived prefers
// BACKUP: a group goes master only when every member wants to), or the
// lost member pulls the other over a live master again and again.
func TestSyncGroupOneVRIDLost(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, confGroup)
	for range 3 {
		r.handle(r.peerAdvert("VI_1", 200, "192.0.2.2"))
		r.handle(r.peerAdvert("VI_2", 200, "192.0.2.2"))
		r.advance(time.Second)
	}
	transitions := r.d.transitions.Load()
	// VI_2's adverts stop; VI_1's keep coming, for 20 s.
	for range 20 {
		r.handle(r.peerAdvert("VI_1", 200, "192.0.2.2"))
		r.advance(time.Second)
	}
	r.wantState("VI_1", vrrp.Backup)
	r.wantState("VI_2", vrrp.Backup)
	if got := r.d.transitions.Load() - transitions; got != 0 {
		t.Fatalf("%d transitions while one VRID's adverts were lost", got)
	}
	if env.holds("eth0", "192.0.2.100") || env.holds("eth0", "192.0.2.101") {
		t.Fatal("a VIP was taken from a live master")
	}
	// The master dies: the group takes over once both timers fired.
	r.advance(5 * time.Second)
	r.wantState("VI_1", vrrp.Master)
	r.wantState("VI_2", vrrp.Master)
}

// The status carries keepalived's per-instance counters, the master's
// priority and interval, the wanted state and the trackers.
func TestStatusCountersAndMaster(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, confMaster)
	r.handle(r.peerAdvert("VI_1", 200, "192.0.2.2"))
	st := r.d.Status().Instances[0]
	if st.State != "BACKUP" || st.MasterPriority != 200 || st.Master != "192.0.2.2" || st.Stats.AdvertRcvd != 1 {
		t.Fatalf("backup status %+v", st)
	}
	if len(st.Trackers) != 1 || st.Trackers[0].Name != "chk_VI_1" {
		t.Fatalf("trackers %+v", st.Trackers)
	}
	r.handle(r.peerAdvert("VI_1", 0, "192.0.2.2")) // the master resigns
	r.advance(time.Second)
	st = r.d.Status().Instances[0]
	if st.State != "MASTER" || st.MasterPriority != 150 || st.WantState != "MASTER" {
		t.Fatalf("master status %+v", st)
	}
	want := control.InstanceStats{AdvertRcvd: 2, PriZeroRcvd: 1, BecomeMaster: 1, AdvertSent: st.Stats.AdvertSent}
	if st.Stats != want || st.Stats.AdvertSent == 0 {
		t.Fatalf("stats %+v, want %+v with adverts sent", st.Stats, want)
	}
	r.handle(r.peerAdvert("VI_1", 250, "192.0.2.3"))
	st = r.d.Status().Instances[0]
	if st.State != "BACKUP" || st.Stats.ReleaseMaster != 1 || st.MasterPriority != 250 {
		t.Fatalf("after a better master: %+v", st)
	}
}

// Watch delivers transitions as they happen, and stops at its context.
func TestWatchTransitions(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, confMaster)
	ctx, cancel := context.WithCancel(context.Background())
	ch := r.d.Watch(ctx)
	r.advance(4 * time.Second)
	select {
	case e := <-ch:
		if e.Instance != "VI_1" || e.From != "BACKUP" || e.To != "MASTER" || e.Priority != 150 {
			t.Fatalf("event %+v", e)
		}
	default:
		t.Fatal("no event for the takeover")
	}
	cancel()
	for range ch {
	}
}

// An advert waiting in the dataplane's queue when a Backup's timer fires
// (the loop was busy) is stepped first: no takeover from a live master.
func TestQueuedAdvertBeforeTakeover(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(t, env, strings.Replace(confMaster, "priority 150", "priority 100", 1))
	r.handle(r.peerAdvert("VI_1", 200, "192.0.2.2"))
	r.now = r.inst("VI_1").next.Add(-time.Millisecond)
	r.plane.events <- r.peerAdvert("VI_1", 200, "192.0.2.2")
	r.now = r.now.Add(2 * time.Millisecond) // past the deadline
	r.d.drainPlane(r.now)
	r.d.handle(r.now, tick{})
	r.wantState("VI_1", vrrp.Backup)
}

// Make-before-break stop: a master sends priority 0 but keeps its VIPs
// until the backup that takes over advertises; then it removes them and
// stops. Without a backup, it gives them up after the best backup's
// Master_Down_Interval.
func TestStopMakeBeforeBreak(t *testing.T) {
	r := masterRig(t)
	port := r.env.ports[len(r.env.ports)-1]
	r.d.beginStop(r.now)
	if got := port.sent[len(port.sent)-1]; got != 0 {
		t.Fatalf("last advert priority %d, want 0", got)
	}
	if !r.env.holds("eth0", "192.0.2.100") || r.d.stopped(r.now) {
		t.Fatal("VIP released (or stop done) before a backup took over")
	}
	r.advance(300 * time.Millisecond) // the backup's Skew_Time
	r.handle(r.peerAdvert("VI_1", 100, "192.0.2.2"))
	// Kept for the linger (the new master's gratuitous ARP is on its way),
	// then released.
	if !r.env.holds("eth0", "192.0.2.100") {
		t.Fatal("VIP released without the linger")
	}
	r.advance(resignLinger)
	if r.env.holds("eth0", "192.0.2.100") {
		t.Fatal("VIP still held after the new master advertised")
	}
	if !r.d.stopped(r.now) || r.state("VI_1") != vrrp.Initialize {
		t.Fatalf("not stopped: %v", r.state("VI_1"))
	}

	// No backup: released at the timeout.
	r2 := masterRig(t)
	r2.d.beginStop(r2.now)
	r2.advance(2900 * time.Millisecond)
	if !r2.env.holds("eth0", "192.0.2.100") {
		t.Fatal("VIP released before the timeout")
	}
	r2.advance(200 * time.Millisecond)
	if r2.env.holds("eth0", "192.0.2.100") || !r2.d.stopped(r2.now) {
		t.Fatal("VIP still held after the timeout")
	}
}

// Handover: the master resigns make-before-break and stays BACKUP in
// maintenance, deaf to its Master_Down_Timer, until resume; then it
// preempts back. An unknown name is an error.
func TestHandoverResume(t *testing.T) {
	r := masterRig(t)
	if err := r.call(func(now time.Time) error { return r.d.handover(now, "nope") }); err == nil {
		t.Fatal("handover of an unknown name accepted")
	}
	if err := r.call(func(now time.Time) error { return r.d.handover(now, "VI_1") }); err != nil {
		t.Fatal(err)
	}
	st := r.d.Status().Instances[0]
	if !st.Resigning || !st.Maintenance || !r.env.holds("eth0", "192.0.2.100") {
		t.Fatalf("resigning %v maintenance %v, VIP held %v", st.Resigning, st.Maintenance, r.env.holds("eth0", "192.0.2.100"))
	}
	r.advance(300 * time.Millisecond)
	r.handle(r.peerAdvert("VI_1", 100, "192.0.2.2"))
	r.advance(resignLinger)
	r.wantState("VI_1", vrrp.Backup)
	if r.env.holds("eth0", "192.0.2.100") {
		t.Fatal("VIP kept after the handover")
	}
	// The new master dies: in maintenance we do not take over.
	r.advance(10 * time.Second)
	r.wantState("VI_1", vrrp.Backup)
	if err := r.call(func(now time.Time) error { return r.d.resume(now, "") }); err != nil {
		t.Fatal(err)
	}
	r.advance(4 * time.Second)
	r.wantState("VI_1", vrrp.Master)
	if st := r.d.Status().Instances[0]; st.Maintenance {
		t.Fatal("still in maintenance after resume")
	}

	// Nobody to take over: it stays master and leaves maintenance.
	r2 := masterRig(t)
	r2.call(func(now time.Time) error { return r2.d.handover(now, "") })
	r2.advance(3100 * time.Millisecond)
	r2.wantState("VI_1", vrrp.Master)
	if st := r2.d.Status().Instances[0]; st.Maintenance || st.Resigning || !r2.env.holds("eth0", "192.0.2.100") {
		t.Fatalf("after an unanswered handover: %+v", st)
	}
}

// On the kernel path the backup that takes over may advertise just what
// the record already says (same source and priority): no report comes.
// A resigning master reads the record every few milliseconds; a record
// from before the resign is no news.
func TestResigningReadsRecord(t *testing.T) {
	r := masterRig(t)
	key := r.inst("VI_1").key
	before := r.peerAdvert("VI_1", 100, "192.0.2.2")
	before.Recv.At = r.now.Add(-time.Second)
	r.plane.last[key] = before.Recv
	r.d.beginStop(r.now)
	r.advance(50 * time.Millisecond)
	if !r.env.holds("eth0", "192.0.2.100") {
		t.Fatal("an advert recorded before the resign released the VIP")
	}
	after := r.peerAdvert("VI_1", 100, "192.0.2.2")
	after.Recv.At = r.now.Add(-time.Millisecond)
	r.plane.last[key] = after.Recv
	r.advance(15*time.Millisecond + resignLinger)
	if r.env.holds("eth0", "192.0.2.100") || !r.d.stopped(r.now) {
		t.Fatal("the recorded advert of the new master was not seen")
	}
	if got := r.notes.got[len(r.notes.got)-1]; got != "VI_1 STOP" {
		t.Fatalf("last notification %q, want STOP (no BACKUP on the way out)", got)
	}
}
