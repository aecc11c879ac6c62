package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/netio"
	"github.com/xvrrp/xvrrp/vrrp/notify"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// Dataplanes: where adverts are received.
const (
	DataplaneAuto   = "auto"   // the kernel path if BPF can run here, else the socket
	DataplaneXDP    = "xdp"    // XDP, native or generic
	DataplaneTC     = "tc"     // tcx ingress: coexists with another XDP program
	DataplaneSocket = "socket" // a raw socket per address family
)

// Options are the daemon's settings that do not come from keepalived.conf.
type Options struct {
	Log       *zap.Logger
	Dataplane string // auto, xdp, tc or socket
	// ID names this daemon's BPF pin directory /sys/fs/bpf/xvrrp/ID (one
	// per network namespace); empty: maps are not pinned.
	ID string
	// Netlink is the handle VIPs are managed with; nil: the current namespace.
	Netlink *netlink.Handle
	// EventQueue is the size of the queue between receivers and the control
	// loop; 0: 1024.
	EventQueue int
	// SkipScriptSecurity runs vrrp_script and notify scripts without
	// keepalived's ownership checks (tests with scripts in temporary
	// directories).
	SkipScriptSecurity bool
}

// Daemon runs every vrrp_instance of a configuration: one control loop
// goroutine owns all state machines; one receiver goroutine per address
// family validates adverts and hands the valid ones to the loop.
type Daemon struct {
	log       *zap.Logger
	cfg       *config.Config
	nl        *netlink.Handle
	insts     []*instance
	dataplane string

	// byKey finds the instances for a received advert. Read-only after New.
	byKey     map[rxKey]*instance
	receivers []*netio.Receiver
	events    chan rxEvent
	kernel    *loader.Loader // nil on the socket dataplane

	tracker  *track.Tracker
	notifier *notify.Runner
	groups   []*syncGroup
	// pending holds steps of other instances that a transition asked for
	// (sync groups); the loop runs them after the step that queued them.
	pending  []func(now time.Time)
	stopping bool

	stats       stats
	transitions atomic.Uint64
	limited     limiter

	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup

	statusMu sync.Mutex
	status   Status
	dirty    bool // an instance status changed since the last snapshot
}

type rxKey struct {
	ifindex int
	ipv6    bool
	vrid    uint8
}

type rxEvent struct {
	inst *instance
	ev   vrrp.AdvertReceived
}

// stats are counters readers and the loop update concurrently.
type stats struct {
	received     atomic.Uint64
	accepted     atomic.Uint64
	queueFull    atomic.Uint64
	advertsSent  atomic.Uint64
	garpBursts   atomic.Uint64
	drops        [vrrp.NumDropReasons]atomic.Uint64
	receiveError atomic.Uint64
}

// New prepares every instance of cfg: it resolves interfaces and source
// addresses, opens the advert and gratuitous ARP sockets in the calling
// thread's network namespace and removes VIPs a crashed run left behind.
// cfg must have loaded without errors. Nothing is sent before Run.
func New(cfg *config.Config, opts Options) (d *Daemon, err error) {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	switch opts.Dataplane {
	case "", DataplaneAuto, DataplaneXDP, DataplaneTC, DataplaneSocket:
	default:
		return nil, fmt.Errorf("dataplane %q: not one of auto, xdp, tc, socket", opts.Dataplane)
	}
	if len(cfg.Instances) == 0 {
		return nil, errors.New("configuration has no vrrp_instance")
	}
	d = &Daemon{
		log:       opts.Log,
		cfg:       cfg,
		nl:        opts.Netlink,
		byKey:     map[rxKey]*instance{},
		dataplane: DataplaneSocket,
	}
	if d.nl == nil {
		if d.nl, err = netlink.NewHandle(); err != nil {
			return nil, fmt.Errorf("netlink: %w", err)
		}
	}
	q := opts.EventQueue
	if q <= 0 {
		q = 1024
	}
	d.events = make(chan rxEvent, q)
	defer func() {
		if err != nil {
			d.close()
		}
	}()

	for _, in := range cfg.Instances {
		inst, err := newInstance(d, in)
		if err != nil {
			return nil, err
		}
		d.insts = append(d.insts, inst)
		k := rxKey{ifindex: inst.ifi.Index, ipv6: inst.expect.IPv6, vrid: in.VRID}
		if other := d.byKey[k]; other != nil {
			return nil, fmt.Errorf("instances %s and %s: same virtual_router_id %d on %s", other.cfg.Name, in.Name, in.VRID, in.Interface)
		}
		d.byKey[k] = inst
	}

	// keepalived removes the VIPs of its instances at start: a crash may have
	// left them behind, and a backup must not hold them.
	for _, inst := range d.insts {
		removed, err := netio.RemoveLeftovers(d.nl, inst.vips)
		if err != nil {
			return nil, fmt.Errorf("instance %s: remove leftover virtual addresses: %w", inst.cfg.Name, err)
		}
		for _, v := range removed {
			inst.log.Warn("removed leftover virtual address", zap.Stringer("vip", v.Prefix), zap.String("dev", v.Dev))
		}
	}

	if err := d.chooseDataplane(opts.Dataplane, opts.ID); err != nil {
		return nil, err
	}

	byName := map[string]*instance{}
	for _, inst := range d.insts {
		byName[inst.cfg.Name] = inst
	}
	for _, gc := range cfg.SyncGroups {
		g := &syncGroup{cfg: gc, state: vrrp.Initialize}
		for _, name := range gc.Members {
			if m := byName[name]; m != nil {
				m.sync = g
				g.members = append(g.members, m)
			}
		}
		d.groups = append(d.groups, g)
	}
	d.tracker, err = track.New(cfg, d.log.Named("track"), track.Options{Netlink: d.nl, SkipSecurity: opts.SkipScriptSecurity})
	if err != nil {
		return nil, fmt.Errorf("trackers: %w", err)
	}
	d.notifier = notify.New(d.log.Named("notify"), notify.Options{Global: cfg.Global, SkipSecurity: opts.SkipScriptSecurity})
	d.snapshot()
	return d, nil
}

// openReceivers opens one raw socket per family, joined to the group on
// every interface that has an instance of that family.
func (d *Daemon) openReceivers() error {
	for _, v6 := range []bool{false, true} {
		var group netip.Addr
		var ifaces []*net.Interface
		seen := map[int]bool{}
		for _, inst := range d.insts {
			if inst.expect.IPv6 != v6 {
				continue
			}
			if !inst.cfg.Unicast() {
				if group.IsValid() && group != inst.group {
					return fmt.Errorf("instance %s: multicast group %v differs from %v: one group per address family is supported", inst.cfg.Name, inst.group, group)
				}
				group = inst.group
			}
			if !seen[inst.ifi.Index] {
				seen[inst.ifi.Index] = true
				ifaces = append(ifaces, inst.ifi)
			}
		}
		if len(ifaces) == 0 {
			continue
		}
		if !group.IsValid() {
			group = netio.GroupV4
			if v6 {
				group = netio.GroupV6
			}
		}
		r, err := netio.NewReceiver(group, ifaces)
		if err != nil {
			return fmt.Errorf("advert receiver for %v: %w", group, err)
		}
		d.receivers = append(d.receivers, r)
	}
	return nil
}

// receive validates one packet and queues the valid advert for the loop.
// It runs on a receiver goroutine: it only reads instance fields that are
// fixed after New.
func (d *Daemon) receive(p netio.Packet) {
	d.stats.received.Add(1)
	v6 := p.Src.Is6() && !p.Src.Is4In6()
	var inst *instance
	lookup := func(vrid uint8) *vrrp.Expect {
		inst = d.byKey[rxKey{ifindex: p.Ifindex, ipv6: v6, vrid: vrid}]
		if inst == nil {
			return nil
		}
		return &inst.expect
	}
	adv, reason := vrrp.Validate(p.Payload, p.Src, p.Dst, p.TTL, lookup)
	if reason != vrrp.DropNone {
		d.stats.drops[reason].Add(1)
		d.limited.debug(d.log, "advert dropped", zap.Stringer("reason", reason),
			zap.Stringer("src", p.Src), zap.Int("ifindex", p.Ifindex))
		return
	}
	d.stats.accepted.Add(1)
	select {
	case d.events <- rxEvent{inst: inst, ev: vrrp.AdvertReceived{Advert: adv, Src: p.Src}}:
	default:
		d.stats.queueFull.Add(1)
		d.limited.warn(d.log, "event queue full: advert dropped", zap.Stringer("src", p.Src))
	}
}

// Run starts every instance and runs the control loop until ctx ends; then
// it shuts every instance down (a master sends a priority-0 advert and
// removes its VIPs), closes the sockets and returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	d.bgCtx, d.bgCancel = context.WithCancel(context.Background())
	defer d.close()

	var rx sync.WaitGroup
	rxCtx, rxStop := context.WithCancel(context.Background())
	for _, r := range d.receivers {
		rx.Add(1)
		go func() {
			defer rx.Done()
			if err := r.Run(rxCtx, d.receive); err != nil && rxCtx.Err() == nil {
				d.stats.receiveError.Add(1)
				d.log.Error("advert receiver stopped", zap.Error(err))
			}
		}()
	}
	defer func() {
		rxStop()
		for _, r := range d.receivers {
			r.Close()
		}
		rx.Wait()
	}()

	trackCtx, trackStop := context.WithCancel(context.Background())
	trackDone := make(chan struct{})
	go func() {
		defer close(trackDone)
		if err := d.tracker.Run(trackCtx); err != nil && trackCtx.Err() == nil {
			d.log.Error("trackers stopped", zap.Error(err))
		}
	}()
	defer func() {
		trackStop()
		<-trackDone
	}()

	// Start every instance whose tracked objects allow it; the others start
	// when their weight-0 scripts first report (keepalived's INIT wait).
	now := time.Now()
	for _, inst := range d.insts {
		u, ok := d.tracker.State(inst.cfg.Name)
		if !ok {
			u = track.Update{Instance: inst.cfg.Name, Priority: inst.cfg.Priority}
		}
		d.applyTrack(now, inst, u)
		d.runPending(now)
	}
	d.snapshot()
	var kernelEvents <-chan loader.Event
	if d.kernel != nil {
		kernelEvents = d.kernel.Events()
	}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.armTimer(timer)
		var now time.Time
		select {
		case <-ctx.Done():
			d.shutdown()
			return nil
		case e := <-d.events:
			now = time.Now()
			e.inst.step(d, now, e.ev)
		case e, ok := <-kernelEvents:
			now = time.Now()
			if !ok {
				kernelEvents = nil
				d.log.Error("bpf event reader stopped")
				break
			}
			d.kernelEvent(now, e)
		case u := <-d.tracker.Updates():
			now = time.Now()
			if inst := d.instance(u.Instance); inst != nil {
				d.applyTrack(now, inst, u)
			}
		case <-timer.C:
			now = time.Now()
			for _, inst := range d.insts {
				if inst.next.IsZero() || inst.next.After(now) {
					continue
				}
				if d.kernel != nil && inst.router.State() == vrrp.Backup {
					d.refreshFromKernel(now, inst)
				}
				if !inst.next.IsZero() && !inst.next.After(now) {
					inst.step(d, now, vrrp.Tick{})
				}
			}
		}
		d.runPending(now)
		if d.dirty {
			d.snapshot()
		}
	}
}

// armTimer sets timer to the earliest instance deadline.
func (d *Daemon) armTimer(timer *time.Timer) {
	var next time.Time
	for _, inst := range d.insts {
		if !inst.next.IsZero() && (next.IsZero() || inst.next.Before(next)) {
			next = inst.next
		}
	}
	wait := time.Hour
	if !next.IsZero() {
		wait = time.Until(next)
	}
	timer.Reset(wait)
}

// shutdown stops every instance: masters resign with a priority-0 advert and
// remove their VIPs.
func (d *Daemon) shutdown() {
	d.stopping = true
	now := time.Now()
	for _, inst := range d.insts {
		inst.step(d, now, vrrp.Shutdown{})
	}
	d.snapshot()
	// notify_stop scripts get a short grace: the daemon must exit within a
	// second of SIGTERM.
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if err := d.notifier.Close(ctx); err != nil {
		d.log.Warn("notify scripts still running at exit", zap.Error(err))
	}
	d.log.Info("all instances stopped")
}

// instance returns the instance named name, or nil.
func (d *Daemon) instance(name string) *instance {
	for _, inst := range d.insts {
		if inst.cfg.Name == name {
			return inst
		}
	}
	return nil
}

// background runs fn on a goroutine that Run waits for; ctx ends when Run
// returns.
func (d *Daemon) background(fn func(ctx context.Context)) {
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		fn(d.bgCtx)
	}()
}

func (d *Daemon) close() {
	if d.bgCancel != nil {
		d.bgCancel()
	}
	d.bg.Wait()
	for _, inst := range d.insts {
		inst.close()
	}
	for _, r := range d.receivers {
		r.Close()
	}
	if d.kernel != nil {
		if err := d.kernel.Close(); err != nil {
			d.log.Warn("close bpf dataplane", zap.Error(err))
		}
	}
}

// limiter keeps per-packet logs to at most one a second per call site
// message, counting what it suppressed.
type limiter struct {
	mu   sync.Mutex
	last map[string]time.Time
	supp map[string]int
}

func (l *limiter) allow(msg string) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.supp = map[string]time.Time{}, map[string]int{}
	}
	now := time.Now()
	if now.Sub(l.last[msg]) < time.Second {
		l.supp[msg]++
		return false, 0
	}
	l.last[msg] = now
	suppressed = l.supp[msg]
	l.supp[msg] = 0
	return true, suppressed
}

func (l *limiter) warn(log *zap.Logger, msg string, fields ...zap.Field) {
	if ok, n := l.allow(msg); ok {
		log.Warn(msg, append(fields, zap.Int("suppressed", n))...)
	}
}

func (l *limiter) debug(log *zap.Logger, msg string, fields ...zap.Field) {
	if !log.Core().Enabled(zap.DebugLevel) {
		return
	}
	if ok, n := l.allow(msg); ok {
		log.Debug(msg, append(fields, zap.Int("suppressed", n))...)
	}
}
