package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/gapprobe"
	"github.com/xvrrp/xvrrp/internal/netnstest"
)

// Helpers of the zero-outage tests and benchmark (issue 10): a client
// probing the VIP every millisecond (internal/gapprobe) while mastership
// moves between a priority-150 master and a priority-100 backup.

// zoInstance is the vrrp_instance name of every zero-outage configuration:
// the interop tests' name, which kaRouter.stateOK looks up.
const zoInstance = kaInstanceName

// Priorities of the table.
const (
	zoMasterPrio = 150
	zoBackupPrio = 100
)

// Measurement windows: the probe runs zoBaseline before an event and
// zoAfter after the last router changed, so that a client left pointing
// at a router without the VIP shows as an open gap.
const (
	zoBaseline = 200 * time.Millisecond
	zoAfter    = 300 * time.Millisecond
)

// zoVersion is one row group of the table: VRRPv2 at 1 s, VRRPv3
// at 0.1 s.
type zoVersion struct {
	version   int
	interval  time.Duration
	advertInt string
}

var zoVersions = []zoVersion{
	{version: 2, interval: time.Second, advertInt: "1"},
	{version: 3, interval: 100 * time.Millisecond, advertInt: "0.1"},
}

func (v zoVersion) String() string { return fmt.Sprintf("v%d", v.version) }

// mdi is the Master_Down_Interval of a backup of priority prio.
func (v zoVersion) mdi(prio int) time.Duration { return masterDownInterval(v.interval, prio) }

// skew is the Skew_Time of a backup of priority prio: how long it waits
// after a priority-0 advert.
func (v zoVersion) skew(prio int) time.Duration {
	return time.Duration(256-prio) * v.interval / 256
}

// zoPair is a master (priority 150) and a backup (100) of one VRRP
// instance with one IPv4 VIP, each xvrrpd or keepalived, and the client
// of the lan, converged: the master holds the VIP, the backup has heard
// it, and the client has resolved the VIP.
type zoPair struct {
	t              *testing.T
	l              *lan
	v              zoVersion
	vip            netip.Addr
	master, backup *kaRouter
	// moveFile is the keepalived master's track_file (weight -100): "1"
	// lowers its priority to 50, "0" restores 150 (keepalived has no
	// handover command; this is its planned move).
	moveFile string
	stalls   *kaStallWatch
}

// newZoPair starts the pair: the master first, alone, then the backup.
func newZoPair(t *testing.T, v zoVersion, masterKind, backupKind string) *zoPair {
	t.Helper()
	return newZoPairWith(t, v, masterKind, backupKind, nil)
}

// newZoPairWith is newZoPair with extra lines in the backup's instance.
func newZoPairWith(t *testing.T, v zoVersion, masterKind, backupKind string, backupExtra []string) *zoPair {
	t.Helper()
	l := newLAN(t, "r1", "r2")
	p := &zoPair{t: t, l: l, v: v, vip: l.VIP4(1), stalls: watchStalls(t)}
	inst := func(state string, prio int) vrrpInstance {
		return vrrpInstance{Name: zoInstance, State: state, VRID: 70 + v.version, Priority: prio,
			AdvertInt: v.advertInt, Version: v.version, VIPs: []string{p.vip.String() + "/24"}}
	}
	mi := inst("MASTER", zoMasterPrio)
	mconf := keepalivedConf("zo_m", nil)
	if masterKind == "keepalived" {
		// The track_file block comes before the instance naming it.
		p.moveFile = filepath.Join(t.TempDir(), "zo-move")
		if err := os.WriteFile(p.moveFile, []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		mi.Extra = []string{"track_file {", "    zo_move", "}"}
		mconf += fmt.Sprintf("track_file zo_move {\n    file %s\n    weight -100\n}\n", p.moveFile)
	}
	mconf += instanceConf(mi)
	p.master = &kaRouter{t: t, kind: masterKind, node: l.Nodes[0], conf: mconf}
	bi := inst("BACKUP", zoBackupPrio)
	bi.Extra = append(bi.Extra, backupExtra...)
	p.backup = &kaRouter{t: t, kind: backupKind, node: l.Nodes[1],
		conf: keepalivedConf("zo_b", nil, bi)}

	p.master.start()
	waitFor(t, 10*time.Second, masterKind+" master alone taking the VIP", func() bool {
		return p.master.hasVIP(p.vip) && p.master.stateOK("MASTER")
	})
	p.backup.start()
	waitFor(t, 10*time.Second, backupKind+" backup in BACKUP", func() bool {
		if p.backup.x != nil {
			in, err := p.backup.x.QueryStatus()
			if err != nil || len(in.Instances) == 0 {
				return false
			}
			return in.Instances[0].State == "BACKUP" && in.Instances[0].Master != ""
		}
		return strings.Contains(p.backup.k.Log(), "("+zoInstance+") Entering BACKUP STATE")
	})
	// Two of the master's adverts reach the backup; then one master.
	time.Sleep(2*v.interval + 50*time.Millisecond)
	if !p.master.hasVIP(p.vip) || p.backup.hasVIP(p.vip) || !p.master.stateOK("MASTER") {
		t.Fatalf("pair did not converge: VIP on master %v, on backup %v", p.master.hasVIP(p.vip), p.backup.hasVIP(p.vip))
	}
	if err := l.Client.NS.Ping(p.vip, 20, 200*time.Millisecond); err != nil {
		t.Fatalf("client cannot reach the VIP: %v", err)
	}
	return p
}

// gapRun is a gapprobe run in the background.
type gapRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	res    gapprobe.Result
	err    error
}

// gapMax bounds one probe run.
const gapMax = 30 * time.Second

// startGap starts probing vip every millisecond from ns; Stop ends the run.
// Cleanup ends it too.
func startGap(t testing.TB, ns *netnstest.NS, vip netip.Addr) *gapRun {
	t.Helper()
	var p *gapprobe.Probe
	if err := ns.Do(func() error {
		var err error
		p, err = gapprobe.Listen(vip)
		return err
	}); err != nil {
		t.Fatalf("probe socket in %s: %v", ns.Name(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &gapRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(g.done)
		defer p.Close()
		g.res, g.err = p.Run(ctx, gapprobe.Config{Interval: time.Millisecond, Duration: gapMax})
	}()
	t.Cleanup(func() {
		cancel()
		<-g.done
	})
	return g
}

// Stop ends the run and returns its result.
func (g *gapRun) Stop(t testing.TB) gapprobe.Result {
	t.Helper()
	g.cancel()
	<-g.done
	if g.err != nil {
		t.Fatalf("gap probe: %v", g.err)
	}
	if g.res.Received == 0 {
		t.Fatalf("gap probe: no reply at all: %v", g.res)
	}
	return g.res
}

// vipWatch polls, every 2 ms in the background, which of two nodes holds
// the VIP, from its start until Stop (at most gapMax), and records when
// each first gained and first lost it.
type vipWatch struct {
	start  time.Time
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	gained [2]time.Time
	lost   [2]time.Time
}

func watchVIP(t testing.TB, a, b *netnstest.NS, vip netip.Addr) *vipWatch {
	t.Helper()
	w := &vipWatch{start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	nss := [2]*netnstest.NS{a, b}
	var was [2]bool
	for i, ns := range nss {
		was[i] = vipHeld(ns, ifName, vip)
	}
	go func() {
		defer close(w.done)
		end := w.start.Add(gapMax)
		for time.Now().Before(end) {
			// One time per poll: a move seen within one poll is neither
			// a period of both nor of neither.
			now := time.Now()
			for i, ns := range nss {
				held := vipHeld(ns, ifName, vip)
				w.mu.Lock()
				if held && !was[i] && w.gained[i].IsZero() {
					w.gained[i] = now
				}
				if !held && was[i] && w.lost[i].IsZero() {
					w.lost[i] = now
				}
				w.mu.Unlock()
				was[i] = held
			}
			select {
			case <-w.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(w.Stop)
	return w
}

// Stop ends the watch (idempotent).
func (w *vipWatch) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// moved describes a move of the VIP from node from to node to (indexes
// of watchVIP's nodes): when to gained it and from lost it, after the
// watch's start (-1 when it did not happen), and how long both or
// neither held it (to the polls' resolution: a move within one poll is
// neither).
type moved struct {
	gained, lost  time.Duration
	both, neither time.Duration
	at            time.Time // when to gained it (zero: it did not)
}

func (w *vipWatch) moved(from, to int) moved {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := moved{gained: -1, lost: -1}
	g, l := w.gained[to], w.lost[from]
	if !g.IsZero() {
		m.gained, m.at = g.Sub(w.start), g
	}
	if !l.IsZero() {
		m.lost = l.Sub(w.start)
	}
	if !g.IsZero() && !l.IsZero() {
		if l.After(g) {
			m.both = l.Sub(g)
		} else {
			m.neither = g.Sub(l)
		}
	}
	return m
}

func (m moved) String() string {
	return fmt.Sprintf("new holder after %v (at %s), old one dropped it after %v (both held it %v, neither %v)",
		m.gained.Round(time.Millisecond), m.at.Format("15:04:05.000"), m.lost.Round(time.Millisecond),
		m.both.Round(time.Millisecond), m.neither.Round(time.Millisecond))
}

// zoEvent is what one event measured: the client's largest gap and the
// VIP's move between the routers.
type zoEvent struct {
	gap  gapprobe.Result
	move moved
	// exit: how long the stopped master took to exit (SIGTERM only).
	exit time.Duration
	// cmd: how long the xvrrpctl command took (handover, resume).
	cmd time.Duration
}

// waitMoved waits (bounded by timeout) until node to holds the VIP and
// node from does not, then zoAfter more.
func (p *zoPair) waitMoved(from, to *kaRouter, timeout time.Duration, what string) {
	p.t.Helper()
	waitFor(p.t, timeout, what, func() bool { return to.hasVIP(p.vip) && !from.hasVIP(p.vip) })
	time.Sleep(zoAfter)
}

// sigterm stops the master with SIGTERM and measures the move to the
// backup until the master has exited (bounded: its Master_Down_Interval
// as the backup sees it, plus 2 s).
func (p *zoPair) sigterm() zoEvent {
	p.t.Helper()
	g := startGap(p.t, p.l.Client.NS, p.vip)
	time.Sleep(zoBaseline)
	w := watchVIP(p.t, p.master.node.NS, p.backup.node.NS, p.vip)
	t0 := time.Now()
	p.master.terminate()
	var ev zoEvent
	limit := p.v.mdi(zoBackupPrio) + 2*time.Second
	if p.master.x != nil {
		select {
		case <-p.master.x.Done():
			ev.exit = time.Since(t0)
		case <-time.After(limit):
			p.t.Fatalf("xvrrpd master still running %v after SIGTERM", limit)
		}
		if err := p.master.x.Wait(time.Second); err != nil {
			p.t.Errorf("xvrrpd master exit after SIGTERM: %v (want status 0)", err)
		}
	} else {
		p.master.waitExit()
		ev.exit = time.Since(t0)
	}
	p.waitMoved(p.master, p.backup, limit, "the backup alone holding the VIP after SIGTERM")
	w.Stop()
	ev.move = w.moved(0, 1)
	ev.gap = g.Stop(p.t)
	return ev
}

// xvrrpctl runs xvrrpctl with args against the daemon x, inside the
// daemon's namespace, bounded by 30 s; it returns the output, how long it
// took and its error.
func (p *zoPair) xvrrpctl(x *xvrrpd, ns *netnstest.NS, args ...string) (string, time.Duration, error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	out, err := ns.Exec(ctx, xvrrpctlPath(p.t), append([]string{"--run-dir", x.RunDir}, args...)...).CombinedOutput()
	return string(out), time.Since(start), err
}

// handover moves mastership to the backup: xvrrpctl handover on an
// xvrrpd master, a track_file lowering a keepalived master's priority to
// 50. It measures until the backup alone holds the VIP.
func (p *zoPair) handover() zoEvent {
	p.t.Helper()
	if p.master.x != nil {
		xvrrpctlPath(p.t) // built before the clock starts
	}
	g := startGap(p.t, p.l.Client.NS, p.vip)
	time.Sleep(zoBaseline)
	w := watchVIP(p.t, p.master.node.NS, p.backup.node.NS, p.vip)
	var ev zoEvent
	if p.master.x != nil {
		out, took, err := p.xvrrpctl(p.master.x, p.master.node.NS, "handover", zoInstance)
		if err != nil {
			p.t.Fatalf("xvrrpctl handover: %v: %s", err, out)
		}
		ev.cmd = took
		p.t.Logf("xvrrpctl handover took %v: %s", took.Round(time.Millisecond), strings.TrimSpace(out))
	} else {
		if err := os.WriteFile(p.moveFile, []byte("1\n"), 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	p.waitMoved(p.master, p.backup, p.v.mdi(zoBackupPrio)+2*time.Second, "the backup alone holding the VIP after the handover")
	w.Stop()
	ev.move = w.moved(0, 1)
	ev.gap = g.Stop(p.t)
	return ev
}

// resume undoes handover (xvrrpctl resume; the track_file back to 0): the
// master preempts after its Master_Down_Interval. It measures until the
// master alone holds the VIP again.
func (p *zoPair) resume() zoEvent {
	p.t.Helper()
	g := startGap(p.t, p.l.Client.NS, p.vip)
	time.Sleep(zoBaseline)
	w := watchVIP(p.t, p.backup.node.NS, p.master.node.NS, p.vip)
	var ev zoEvent
	if p.master.x != nil {
		out, took, err := p.xvrrpctl(p.master.x, p.master.node.NS, "resume", zoInstance)
		if err != nil {
			p.t.Fatalf("xvrrpctl resume: %v: %s", err, out)
		}
		ev.cmd = took
	} else {
		if err := os.WriteFile(p.moveFile, []byte("0\n"), 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	p.waitMoved(p.backup, p.master, p.v.mdi(zoMasterPrio)+2*time.Second, "the master alone holding the VIP again after resume")
	w.Stop()
	ev.move = w.moved(0, 1)
	ev.gap = g.Stop(p.t)
	return ev
}

// logGap logs the client's largest gap of an event as one greppable line,
// GAP event=<e> peer=<p> version=<v> ms=<n>, and the details.
func logGap(t testing.TB, event, peer string, v zoVersion, ev zoEvent) {
	t.Helper()
	t.Logf("GAP event=%s peer=%s version=%d ms=%.1f", event, peer, v.version, ms(ev.gap.MaxGap.Len()))
	t.Logf("  probe: %v", ev.gap)
	for _, g := range ev.gap.Gaps {
		t.Logf("  gap %v", g)
	}
	t.Logf("  routers: %v", ev.move)
}

// checkGap fails the test when the event's largest gap exceeds bound,
// unless the machine stalled (this process, or the probe's own sending)
// for most of the excess meanwhile: then it only logs.
func (p *zoPair) checkGap(what string, ev zoEvent, bound time.Duration) {
	p.t.Helper()
	g := ev.gap.MaxGap
	if g.Len() <= bound {
		return
	}
	excess := g.Len() - bound
	stall := max(p.stalls.Max(g.From, g.To), ev.gap.MaxSendGap)
	if stall >= excess {
		p.t.Logf("not counted (the machine stalled for %v meanwhile): %s: largest gap %v, want ≤ %v", stall.Round(time.Millisecond), what, g, bound)
		return
	}
	p.t.Errorf("%s: the client went %v without replies (%v), want ≤ %v", what, g.Len().Round(100*time.Microsecond), g, bound)
}
