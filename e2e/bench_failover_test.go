package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// TestBenchFailover is the node-death scenario of the benchmark report
// (make bench, docs/BENCHMARKS.md): a master (priority 150) and a backup
// (100), both keepalived 2.2.7 or both xvrrpd, VRRPv2 at advert_int 1 and
// VRRPv3 at 0.1, one VIP, a client probing the VIP every millisecond. The
// master's daemon is killed (SIGKILL, keepalived's two processes) and its
// link set down at once: a node dying. Per run it prints
//
//	BENCH scenario=failover impl=… version=… run=… takeover_ms=… mdi_ms=… vip_ms=… outage_ms=… lost=…
//
// takeover_ms: from the master's last advert to the backup's first, both
// as the client's kernel received them (SO_TIMESTAMPNS), against
// Master_Down_Interval = 3 × interval + Skew_Time (mdi_ms); vip_ms: from
// the kill to the VIP on the backup (polled every 2 ms); outage_ms: the
// client's longest time without a reply, lost: its requests without one.
// It asserts nothing but that the backup took over.
// Reference: RFC 3768 §6.1, RFC 5798 §6.1 (Master_Down_Interval).
func TestBenchFailover(t *testing.T) {
	benchOnly(t)
	testenv.RequireCommand(t, "keepalived")
	impls := benchList("XVRRP_BENCH_IMPLS", []string{"keepalived", "xvrrpd"})
	versions := benchPick(zoVersions, zoVersions[1:])
	reps := benchReps(t, 5, 1)
	for _, v := range versions {
		for _, impl := range impls {
			for i := range reps {
				t.Run(fmt.Sprintf("%s/%s/%d", v, impl, i+1), func(t *testing.T) {
					benchFailoverRun(t, v, impl, i+1)
				})
			}
		}
	}
}

func benchFailoverRun(t *testing.T, v zoVersion, impl string, run int) {
	p := newZoPair(t, v, impl, impl)
	sn := sniffVRRP(t, p.l.Client.NS, ifName)
	mAddr, bAddr := p.master.node.Addr4(), p.backup.node.Addr4()
	if _, ok := sn.Await(time.Now(), func(s kaSeen) bool { return s.Src == mAddr }, 3*v.interval); !ok {
		t.Fatalf("the client hears no advert from the master")
	}
	g := startGap(t, p.l.Client.NS, p.vip)
	time.Sleep(zoBaseline)
	w := watchVIP(t, p.master.node.NS, p.backup.node.NS, p.vip)
	t0 := time.Now()
	p.master.crash()
	setLinkDown(t, p.master.node.NS, ifName)
	mdi := v.mdi(zoBackupPrio)
	waitFor(t, mdi+2*time.Second, "the backup holding the VIP after the master died", func() bool { return p.backup.hasVIP(p.vip) })
	time.Sleep(zoAfter)
	w.Stop()
	gap := g.Stop(t)
	first, ok := sn.Await(t0, func(s kaSeen) bool { return s.Src == bAddr && s.Prio > 0 }, 2*time.Second)
	if !ok {
		t.Fatalf("no advert from the backup after it took over")
	}
	last, ok := sn.Last(first.At, func(s kaSeen) bool { return s.Src == mAddr })
	if !ok {
		t.Fatalf("no advert from the master before the takeover")
	}
	// The backup is master alone now: stopped gracefully, it would wait
	// a Master_Down_Interval for a backup before exiting.
	p.backup.crash()
	m := w.moved(0, 1)
	vipAt := time.Duration(-1)
	if !m.at.IsZero() {
		vipAt = m.at.Sub(t0)
	}
	t.Log(benchLine("failover", "impl", impl, "version", v.version, "interval_ms", v.interval, "run", run,
		"takeover_ms", first.At.Sub(last.At), "mdi_ms", mdi, "vip_ms", vipAt,
		"outage_ms", gap.MaxGap.Len(), "lost", gap.Lost, "probe_jitter_ms", gap.MaxSendGap))
}
