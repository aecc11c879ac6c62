package daemon

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// reloadWith applies conf to the rig's daemon as SIGHUP does.
func (r *rig) reload(conf string) error {
	r.t.Helper()
	return r.d.reload(r.now, parse(r.t, conf))
}

// An unchanged instance keeps its state, VIPs, sockets and timers: no
// transition, no gratuitous burst, the next advert on time.
func TestReloadUnchanged(t *testing.T) {
	r := masterRig(t)
	inst := r.inst("VI_1")
	port := r.env.ports[len(r.env.ports)-1]
	sent, bursts, transitions := len(port.sent), port.announced, r.d.transitions.Load()
	next := inst.next
	// The same file, with lines moved.
	if err := r.reload("\n\n# comment\n" + confMaster); err != nil {
		t.Fatal(err)
	}
	if r.inst("VI_1") != inst || port.closed {
		t.Fatal("instance or sockets replaced")
	}
	if !inst.next.Equal(next) || len(port.sent) != sent || port.announced != bursts || r.d.transitions.Load() != transitions {
		t.Fatalf("reload disturbed the instance: next %v→%v sent %d→%d bursts %d→%d", next, inst.next, sent, len(port.sent), bursts, port.announced)
	}
	r.advance(1100 * time.Millisecond)
	if len(port.sent) != sent+1 {
		t.Fatalf("adverts after reload: %d, want %d", len(port.sent)-sent, 1)
	}
	r.wantState("VI_1", vrrp.Master)
	if r.d.stats.reloads.Load() != 1 {
		t.Fatal("reload not counted")
	}
}

// A priority change is a priority change: a Backup raised above the
// master discards its adverts from then on and takes over when its
// Master_Down_Timer fires (RFC 5798 §6.4.2), without a restart.
func TestReloadPriority(t *testing.T) {
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	conf := strings.Replace(confMaster, "priority 150", "priority 100", 1)
	r := newRig(t, env, conf)
	r.handle(r.peerAdvert("VI_1", 150, "192.0.2.2"))
	r.wantState("VI_1", vrrp.Backup)
	inst := r.inst("VI_1")
	if err := r.reload(strings.Replace(conf, "priority 100", "priority 200", 1)); err != nil {
		t.Fatal(err)
	}
	if r.inst("VI_1") != inst || inst.router.Priority() != 200 {
		t.Fatalf("after reload: same instance %v, priority %d", r.inst("VI_1") == inst, inst.router.Priority())
	}
	r.wantState("VI_1", vrrp.Backup)
	for range 4 {
		r.advance(time.Second)
		r.handle(r.peerAdvert("VI_1", 150, "192.0.2.2"))
	}
	r.wantState("VI_1", vrrp.Master)
	if st := r.d.Status().Instances[0]; st.ConfiguredPriority != 200 {
		t.Fatalf("status configured priority %d", st.ConfiguredPriority)
	}
}

// A VIP list change is applied as the difference, on a master, without a
// transition.
func TestReloadVIPs(t *testing.T) {
	r := masterRig(t)
	transitions := r.d.transitions.Load()
	conf := strings.Replace(confMaster, "192.0.2.100/24", "192.0.2.101/24\n    192.0.2.102/24", 1)
	if err := r.reload(conf); err != nil {
		t.Fatal(err)
	}
	if r.env.holds("eth0", "192.0.2.100") || !r.env.holds("eth0", "192.0.2.101") || !r.env.holds("eth0", "192.0.2.102") {
		t.Fatalf("VIPs after reload: %v", r.env.vips)
	}
	if r.d.transitions.Load() != transitions {
		t.Fatal("a VIP change made a transition")
	}
	b, _ := r.plane.bound(51)
	if len(b.Expect.VIPs) != 2 {
		t.Fatalf("dataplane expects %v", b.Expect.VIPs)
	}
	r.wantState("VI_1", vrrp.Master)
}

// An added instance starts; a removed one resigns (priority 0) and
// releases its VIPs; a changed one restarts alone.
func TestReloadAddRemoveRestart(t *testing.T) {
	r := masterRig(t)
	port := r.env.ports[len(r.env.ports)-1]
	other := strings.NewReplacer("VI_1", "VI_2", "virtual_router_id 51", "virtual_router_id 52", "192.0.2.100", "192.0.2.110").Replace(confMaster)
	if err := r.reload(other); err != nil {
		t.Fatal(err)
	}
	if got := port.sent[len(port.sent)-1]; got != 0 || !port.closed {
		t.Fatalf("removed master: last priority %d closed %v, want 0 and closed", got, port.closed)
	}
	if r.env.holds("eth0", "192.0.2.100") {
		t.Fatal("removed instance's VIP still held")
	}
	r.wantState("VI_2", vrrp.Backup)
	if _, ok := r.plane.bound(51); ok {
		t.Fatal("removed instance still in the dataplane")
	}
	if _, ok := r.plane.bound(52); !ok {
		t.Fatal("added instance not in the dataplane")
	}
	// advert_int changed: VI_2 restarts (a new instance).
	inst := r.inst("VI_2")
	if err := r.reload(strings.Replace(other, "advert_int 1", "advert_int 2", 1)); err != nil {
		t.Fatal(err)
	}
	if r.inst("VI_2") == inst {
		t.Fatal("an advert_int change did not restart the instance")
	}
}

// A configuration that cannot be applied is refused and nothing changes.
func TestReloadRefused(t *testing.T) {
	r := masterRig(t)
	inst := r.inst("VI_1")
	if err := r.reload("global_defs {\n router_id x\n}\n"); err == nil {
		t.Fatal("a configuration without instances was applied")
	}
	if r.inst("VI_1") != inst || r.state("VI_1") != vrrp.Master || !r.env.holds("eth0", "192.0.2.100") {
		t.Fatal("refused reload changed the running instance")
	}
	if r.d.stats.reloadErrors.Load() != 1 {
		t.Fatal("refused reload not counted")
	}
}

// Reload waits for the loop; with no loop it ends with its context.
func TestReloadContext(t *testing.T) {
	r := masterRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.d.Reload(ctx, parse(t, confMaster)); err == nil {
		t.Fatal("Reload without a running loop returned nil")
	}
}

// BenchmarkReloadUnchanged255 is the loop's share of an unchanged reload
// of 255 instances (the dataplane and host are fakes).
func BenchmarkReloadUnchanged255(b *testing.B) {
	var sb strings.Builder
	for vrid := 1; vrid <= 255; vrid++ {
		sb.WriteString(strings.NewReplacer("VI_1", "VI_"+strconv.Itoa(vrid), "virtual_router_id 51", "virtual_router_id "+strconv.Itoa(vrid),
			"192.0.2.100/24", "198.18.0."+strconv.Itoa(vrid)+"/32", "advert_int 1", "advert_int 0.01").Replace(confMaster))
	}
	conf := sb.String()
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	t := &testing.T{}
	r := newRig(t, env, conf)
	cfg := parse(t, conf)
	b.ResetTimer()
	for b.Loop() {
		if err := r.d.reload(r.now, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdvertBackup255 is the loop's cost of one advert for a Backup
// of 255 instances (the socket path hands every advert to the loop).
func BenchmarkAdvertBackup255(b *testing.B) {
	var sb strings.Builder
	for vrid := 1; vrid <= 255; vrid++ {
		sb.WriteString(strings.NewReplacer("VI_1", "VI_"+strconv.Itoa(vrid), "virtual_router_id 51", "virtual_router_id "+strconv.Itoa(vrid),
			"192.0.2.100/24", "198.18.0."+strconv.Itoa(vrid)+"/32", "priority 150", "priority 100").Replace(confMaster))
	}
	env := newFakeEnv()
	env.addLink("eth0", "192.0.2.1")
	r := newRig(&testing.T{}, env, sb.String())
	var evs []planeAdvert
	for _, inst := range r.d.insts {
		evs = append(evs, r.peerAdvert(inst.cfg.Name, 150, "192.0.2.2"))
	}
	i := 0
	for b.Loop() {
		r.now = r.now.Add(time.Millisecond)
		r.d.handle(r.now, evs[i%len(evs)])
		i++
	}
}
