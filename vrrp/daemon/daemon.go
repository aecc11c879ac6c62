package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/control"
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

// checkEvery is how often the loop verifies the dataplane's attachments.
const checkEvery = time.Second

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
	// loop; 0: 1024, or 64 per instance when that is more (a burst of
	// transitions must not cost the adverts that arrive meanwhile).
	EventQueue int
	// SkipScriptSecurity runs vrrp_script and notify scripts without
	// keepalived's ownership checks (tests with scripts in temporary
	// directories).
	SkipScriptSecurity bool
	// ConfigFile is shown in the status.
	ConfigFile string
	// Upgrade builds the daemon that replaces a running one (upgrade.go):
	// VIPs present are not removed as leftovers and the kernel dataplane
	// is loaded without pins (Pin, once it has taken over); Adopt gives
	// it the state before Run.
	Upgrade bool
}

// Tracker is what the loop needs of track.Tracker.
type Tracker interface {
	State(instance string) (track.Update, bool)
	Tracked(instance string) []track.Tracked
	Updates() <-chan track.Update
	SetBase(instance string, priority uint8) bool
	Run(ctx context.Context) error
}

// Notifier is what the loop needs of notify.Runner.
type Notifier interface {
	Notify(kind notify.Kind, name string, n config.Notify, state string, priority uint8)
	Close(ctx context.Context) error
}

// parts builds what a configuration needs besides the instances: New
// gives the real ones, the unit tests fakes.
type parts struct {
	env         Env
	plane       Dataplane
	newTracker  func(cfg *config.Config) (Tracker, error)
	newNotifier func(cfg *config.Config) Notifier
	limited     *limiter    // shared with the socket dataplane; nil: a new one
	ah          *ahSessions // the AH instances' sequence numbers; nil: none
}

// Daemon runs every vrrp_instance of a configuration. One goroutine, the
// control loop of Run, owns every instance; the dataplane, the host
// watch, the trackers and the control socket hand it events.
type Daemon struct {
	log   *zap.Logger
	opts  Options
	parts parts
	cfg   *config.Config

	insts  []*instance
	byKey  map[rxKey]*instance
	groups []*syncGroup

	tracker     Tracker
	trackerStop func() // stops the running tracker and waits for it
	notifier    Notifier

	// pending holds steps of other instances that a transition asked for
	// (sync groups); the loop runs them after the step that queued them.
	pending []func(now time.Time)
	// rebind: the set of bound instances changed; the dataplane must be
	// told before the loop waits again.
	rebind bool
	// planeBinds and planeFailed are the dataplane's last Bind and its
	// answer.
	planeBinds  []PlaneBinding
	planeFailed map[int]error
	stopping    bool
	started     bool
	// batching: SendAdvert actions are queued and sent together when the
	// turn ends (tick); otherwise each goes at once.
	batching bool
	// The deadlines of the instances (timers.go): a heap built for the
	// instance list timersOf/timersLen, the number of resigning
	// instances, the due ones of a tick.
	timers    timerHeap
	timersOf  **instance
	timersLen int
	resigns   int
	dueBuf    []*instance
	dueSeq    uint64
	bootUntil time.Time // end of the boot delay (boot.go); zero: none

	host    chan any
	reloads chan reloadRequest
	calls   chan loopCall
	freezes chan freezeRequest
	ready   chan struct{}
	// adopted: Adopt took over a running daemon's state; handedOff: this
	// daemon handed its state to a new process and Run returns.
	adopted, handedOff bool

	stats       stats
	transitions atomic.Uint64
	limited     *limiter
	watchers    watchers
	mismatches  map[mismatchKey]time.Time

	statusMu   sync.Mutex
	status     control.Status
	statusRefs []statusRef
	dirty      bool
}

// stats are counters readers and the loop update concurrently.
type stats struct {
	advertsSent  atomic.Uint64
	garpBursts   atomic.Uint64
	reloads      atomic.Uint64
	reloadErrors atomic.Uint64
	hostEvents   atomic.Uint64
}

// New prepares every instance of cfg in the calling thread's network
// namespace: it chooses and loads the dataplane and removes VIPs a crashed
// run left behind. An instance whose interface or address is missing is
// not an error: it waits in FAULT until they appear. cfg must have loaded
// without errors. Nothing is sent before Run.
func New(cfg *config.Config, opts Options) (*Daemon, error) {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.EventQueue <= 0 {
		opts.EventQueue = max(1024, 64*len(cfg.Instances))
	}
	nl := opts.Netlink
	if nl == nil {
		var err error
		if nl, err = netlink.NewHandle(); err != nil {
			return nil, fmt.Errorf("netlink: %w", err)
		}
	}
	limited := &limiter{}
	pinID := opts.ID
	if opts.Upgrade {
		pinID = "" // the old process's pins stay until it has handed over
	}
	plane, err := chooseDataplane(opts.Log, opts.Dataplane, pinID, opts.EventQueue, limited, !opts.Upgrade)
	if err != nil {
		return nil, err
	}
	ah := newAHSessions()
	plane = withAH(opts.Log.Named("ah"), plane, ah, limited, opts.EventQueue)
	p := parts{
		env:   &netEnv{log: opts.Log.Named("net"), nl: nl, ah: ah, pool: newSendPool()},
		plane: plane,
		ah:    ah,
		newTracker: func(cfg *config.Config) (Tracker, error) {
			return track.New(cfg, opts.Log.Named("track"), track.Options{Netlink: nl, SkipSecurity: opts.SkipScriptSecurity})
		},
		newNotifier: func(cfg *config.Config) Notifier {
			return notify.New(opts.Log.Named("notify"), notify.Options{Global: cfg.Global, SkipSecurity: opts.SkipScriptSecurity})
		},
	}
	p.limited = limited
	d, err := newDaemon(cfg, opts, p)
	if err != nil {
		plane.Close()
		return nil, err
	}
	return d, nil
}

// newDaemon builds the instances of cfg with the given parts.
func newDaemon(cfg *config.Config, opts Options, p parts) (*Daemon, error) {
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
	d := &Daemon{
		log:        opts.Log,
		opts:       opts,
		parts:      p,
		host:       make(chan any, 256),
		reloads:    make(chan reloadRequest),
		calls:      make(chan loopCall),
		freezes:    make(chan freezeRequest),
		ready:      make(chan struct{}),
		mismatches: map[mismatchKey]time.Time{},
		limited:    p.limited,
	}
	if d.limited == nil {
		d.limited = &limiter{}
	}
	insts, err := buildInstances(d.log, cfg)
	if err != nil {
		return nil, err
	}
	tr, err := p.newTracker(cfg)
	if err != nil {
		return nil, fmt.Errorf("trackers: %w", err)
	}
	d.cfg, d.insts, d.tracker = cfg, insts, tr
	d.notifier = p.newNotifier(cfg)
	d.groups = buildGroups(cfg, insts, nil)

	// keepalived removes the VIPs of its instances at start: a crash may
	// have left them behind, and a backup must not hold them. Not in an
	// upgrade: they are the running master's.
	for _, inst := range d.insts {
		if !opts.Upgrade {
			d.removeLeftovers(inst)
		}
	}
	d.snapshot()
	return d, nil
}

// buildInstances builds the run-time instances of cfg.
func buildInstances(log *zap.Logger, cfg *config.Config) ([]*instance, error) {
	var insts []*instance
	for _, in := range cfg.Instances {
		inst, err := newInstance(log, &cfg.Global, in)
		if err != nil {
			return nil, err
		}
		insts = append(insts, inst)
	}
	return insts, nil
}

// removeLeftovers deletes the instance's VIPs that are present.
func (d *Daemon) removeLeftovers(inst *instance) {
	for i, v := range inst.vips {
		ok, err := d.parts.env.HasVIP(v)
		if err != nil {
			inst.log.Warn("check leftover virtual address", zap.Stringer("vip", v.Prefix), zap.Error(err))
			continue
		}
		if !ok {
			continue
		}
		if err := d.parts.env.DelVIP(v); err != nil {
			inst.log.Error("remove leftover virtual address", zap.Stringer("vip", v.Prefix), zap.String("dev", v.Dev), zap.Error(err))
			inst.held[i] = true
			continue
		}
		inst.log.Warn("removed leftover virtual address", zap.Stringer("vip", v.Prefix), zap.String("dev", v.Dev))
	}
	inst.vipStatus()
}

// chooseDataplane sets up where adverts are received: the kernel path for
// auto, xdp and tc (auto falls back to the raw socket when BPF cannot
// run), the raw socket for socket. With warm, auto receives on the raw
// socket while the kernel path loads in the background (warmPlane).
func chooseDataplane(log *zap.Logger, name, id string, queue int, limited *limiter, warm bool) (Dataplane, error) {
	var mode loader.Mode
	switch name {
	case "", DataplaneAuto:
		mode = loader.ModeAuto
	case DataplaneXDP:
		mode = loader.ModeXDP
	case DataplaneTC:
		mode = loader.ModeTC
	case DataplaneSocket:
		log.Info("dataplane chosen", zap.String("dataplane", DataplaneSocket), zap.String("why", "asked for"))
		return newSocketPlane(log.Named("socket"), queue, limited), nil
	default:
		return nil, fmt.Errorf("dataplane %q: not one of auto, xdp, tc, socket", name)
	}
	if warm && mode == loader.ModeAuto {
		events := make(chan any, queue)
		sock := &socketPlane{log: log.Named("socket"), events: events, limited: limited}
		log.Info("dataplane chosen", zap.String("dataplane", DataplaneSocket), zap.String("why", "until the bpf program is loaded"))
		return newWarmPlane(log, events, sock, func() (Dataplane, error) {
			p, err := loadKernel(log.Named("loader"), mode, id, events, true)
			if err != nil {
				return nil, err
			}
			log.Info("bpf dataplane loaded", zap.String("pins", p.l.PinDir()))
			return p, nil
		}), nil
	}
	p, err := startKernel(log.Named("loader"), mode, id, queue)
	if err == nil {
		log.Info("dataplane chosen", zap.String("dataplane", "bpf"), zap.Stringer("attach", mode), zap.String("pins", p.l.PinDir()))
		return p, nil
	}
	if mode != loader.ModeAuto || !errors.Is(err, loader.ErrUnavailable) {
		return nil, fmt.Errorf("dataplane %s: %w", name, err)
	}
	log.Warn("dataplane chosen", zap.String("dataplane", DataplaneSocket),
		zap.String("why", "the bpf dataplane cannot run here"), zap.Error(err))
	return newSocketPlane(log.Named("socket"), queue, limited), nil
}

// Run starts every instance and runs the control loop until ctx ends; then
// it shuts every instance down (a master sends a priority-0 advert and
// removes its VIPs), closes everything and returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	defer func() {
		if d.handedOff {
			d.handedOffClose()
		} else {
			d.close()
		}
	}()
	watchCtx, watchStop := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		if err := d.parts.env.Watch(watchCtx, d.host); err != nil {
			d.log.Error("host watch stopped", zap.Error(err))
		}
	}()
	defer func() {
		watchStop()
		<-watchDone
	}()
	d.startTracker()
	defer func() { d.trackerStop() }()

	d.start(time.Now())
	done := ctx.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	check := time.NewTicker(checkEvery)
	defer check.Stop()
	for {
		if d.handedOff {
			return nil
		}
		if d.stopping && d.stopped(time.Now()) {
			d.shutdown(time.Now())
			return nil
		}
		timer.Reset(time.Until(d.deadline(time.Now())))
		var ev any
		select {
		case <-done:
			// Make-before-break: masters resign but keep their VIPs
			// until the backup that takes over advertises; the loop
			// runs on until every instance has stopped.
			done = nil
			d.beginStop(time.Now())
			continue
		case e, ok := <-d.parts.plane.Events():
			if !ok {
				d.log.Error("dataplane event channel closed")
				return errors.New("dataplane stopped")
			}
			ev = e
		case e := <-d.host:
			ev = e
		case u := <-d.tracker.Updates():
			ev = u
		case r := <-d.reloads:
			ev = r
		case c := <-d.calls:
			ev = c
		case f := <-d.freezes:
			ev = f
		case <-check.C:
			ev = planeTime{}
		case <-timer.C:
			// Adverts already queued come first: a Backup must not take
			// over from a master whose advert waits in the queue because
			// the loop was busy (a burst of transitions).
			d.drainPlane(time.Now())
			ev = tick{}
		}
		d.handle(time.Now(), ev)
	}
}

// drainPlane handles the dataplane events already queued, without waiting.
func (d *Daemon) drainPlane(now time.Time) {
	events := d.parts.plane.Events()
	for range cap(events) {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			d.handle(now, e)
		default:
			return
		}
	}
}

// Loop events besides those of the dataplane and the host watch.
type (
	tick      struct{} // the earliest deadline passed
	planeTime struct{} // time to verify the dataplane's attachments
)

// startTracker runs d.tracker until trackerStop.
func (d *Daemon) startTracker() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	tr := d.tracker
	go func() {
		defer close(done)
		if err := tr.Run(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("trackers stopped", zap.Error(err))
		}
	}()
	d.trackerStop = func() {
		cancel()
		<-done
	}
}

// start binds and starts every instance: those whose tracked objects
// allow it; the others start when their weight-0 scripts first report
// (keepalived's INIT wait).
func (d *Daemon) start(now time.Time) {
	d.started = true
	if !d.adopted {
		d.bootUntil = d.bootDelayEnd(now)
	}
	for _, inst := range d.insts {
		d.tryBind(now, inst)
	}
	d.applyBindings(now)
	for _, inst := range d.insts {
		d.startInstance(now, inst)
	}
	if d.adopted {
		// What the old process held is checked against the kernel: a
		// master's missing VIP is added, and the held flags are true.
		d.resync(now)
	}
	d.finish(now)
	close(d.ready)
}

// Ready is closed once Run has started every instance: each has left INIT
// (BACKUP, MASTER, or FAULT while its interface is missing) or waits for
// a tracked object (a weight-0 vrrp_script that has not reported yet).
// For sd_notify's READY=1. Safe for concurrent use.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// startInstance feeds the tracker's verdict to a new instance, which
// starts it unless a weight-0 script has not reported yet.
func (d *Daemon) startInstance(now time.Time, inst *instance) {
	u, ok := d.tracker.State(inst.cfg.Name)
	if !ok {
		u = track.Update{Instance: inst.cfg.Name, Priority: inst.cfg.Priority}
	}
	d.applyTrack(now, inst, u)
	d.runPending(now)
}

// deadline is when the loop must step a Tick next (an hour ahead when no
// timer runs).
func (d *Daemon) deadline(now time.Time) time.Time {
	next := now.Add(time.Hour)
	if at, ok := d.earliest(); ok && at.Before(next) {
		next = at
	}
	if d.anyResigning() {
		next = d.resigningNext(now, next)
	}
	return next
}

// resignPoll is how often a resigning master reads the dataplane's record
// of its virtual router: the kernel reports only changes, and the backup
// taking over may advertise exactly what it advertised before (same
// source and priority), so the record is the only news of it.
const resignPoll = 10 * time.Millisecond

// handle is one turn of the loop: ev at now. Every input of the loop
// goes through here, so the unit tests drive the daemon by calling it.
func (d *Daemon) handle(now time.Time, ev any) {
	switch e := ev.(type) {
	case planeAdvert:
		d.advert(now, e)
	case planeDrop:
		d.dropped(now, e)
	case planeLost:
		d.lost(now, e)
	case hostLink:
		d.stats.hostEvents.Add(1)
		d.linkChanged(now, e)
	case hostAddr:
		d.stats.hostEvents.Add(1)
		d.addrChanged(now, e)
	case hostSubscribed:
		// Changes between the start and the subscription were not
		// seen: what waits for an interface tries again.
		for _, inst := range d.insts {
			d.tryBind(now, inst)
		}
	case hostResync:
		d.stats.hostEvents.Add(1)
		d.log.Warn("host changes may have been missed: checking everything again", zap.Error(e.Err))
		d.resync(now)
	case track.Update:
		if inst := d.instance(e.Instance); inst != nil {
			d.applyTrack(now, inst, e)
		}
	case reloadRequest:
		e.done <- d.reload(now, e.cfg)
	case loopCall:
		e.done <- e.fn(now)
	case freezeRequest:
		d.freeze(now, e)
	case planeTime:
		d.checkPlane(now)
	case planeSwitch:
		d.planeSwitched(now, e)
	case tick:
		d.tick(now)
	}
	d.finish(now)
}

// finish runs what a turn queued: sync-group steps, a dataplane rebind,
// the status snapshot.
func (d *Daemon) finish(now time.Time) {
	d.runPending(now)
	if d.rebind {
		d.applyBindings(now)
		d.runPending(now)
	}
	if d.dirty {
		d.snapshot()
	}
}

// tick steps every instance whose deadline passed. The adverts they send
// go out together at the end (one sendmmsg per shared socket).
func (d *Daemon) tick(now time.Time) {
	d.batching = true
	defer func() {
		d.batching = false
		d.flushSends()
	}()
	if d.anyResigning() {
		for _, inst := range d.insts {
			if inst.router.Resigning() {
				d.refreshResigning(now, inst)
			}
		}
	}
	for _, inst := range d.dueInstances(now) {
		d.tickOne(now, inst)
		d.schedule(inst) // its entry was taken: back in the heap
	}
}

// tickOne steps inst if its deadline passed (another instance's step may
// have moved it since the tick began).
func (d *Daemon) tickOne(now time.Time, inst *instance) {
	if inst.next.IsZero() || inst.next.After(now) {
		return
	}
	switch inst.router.State() {
	case vrrp.Backup:
		d.refreshBackups(now, inst)
		if !inst.next.IsZero() && !inst.next.After(now) {
			d.beforeTakeover(now, inst)
		}
		if inst.router.State() == vrrp.Backup && !inst.next.IsZero() && !inst.next.After(now) && !d.groupWantsMaster(now, inst) {
			// keepalived's rule: a group goes master only when every
			// member wants to, or one member whose adverts are lost
			// would pull the group over a live master, again and
			// again.
			inst.wantMaster = true
			d.step(inst, now, vrrp.SyncTo{State: vrrp.Backup, Reason: "sync group still hears a master"})
			return
		}
	case vrrp.Master:
		d.refreshMaster(now, inst)
		if inst.router.State() == vrrp.Master && !inst.router.Resigning() && !inst.next.IsZero() && !inst.next.After(now) {
			d.step(inst, adverTime(inst, now), vrrp.Tick{})
			return
		}
	}
	if !inst.next.IsZero() && !inst.next.After(now) {
		d.step(inst, now, vrrp.Tick{})
	}
}

// adverTime is the time a master's advert deadline is stepped at: the
// deadline itself when the loop wakes a little late (less than half an
// interval, and never before the router's last step), so that the next
// Adver_Timer runs from when this one was due and the wake-up latency
// (0.1-0.7 ms on a busy host) does not add up: 10 ms adverts stay 10 ms
// apart on the wire, not 10.6 ms. Woken later than that (the host
// stalled), the advert goes now and the cadence starts again from here,
// without a catch-up burst. Reference: RFC 5798 §6.4.3 (reset the
// Adver_Timer to Advertisement_Interval).
func adverTime(inst *instance, now time.Time) time.Time {
	at := inst.next
	if now.Sub(at) >= inst.advert.Interval/2 {
		return now
	}
	if at.Before(inst.lastStep) {
		at = inst.lastStep
	}
	return at
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

// beginStop starts the stop: a bound master resigns (vrrp.Resign:
// priority 0, VIPs kept until a backup advertises, or released after the
// Master_Down_Interval the best possible backup would wait); every other
// instance stops at once.
func (d *Daemon) beginStop(now time.Time) {
	d.stopping = true
	resigning := 0
	for _, inst := range d.insts {
		if inst.bound() && inst.router.State() == vrrp.Master {
			inst.resignSince = now
			d.step(inst, now, vrrp.Resign{Timeout: resignTimeout(inst), Stop: true, Linger: resignLinger, Reason: "stopping"})
			resigning++
		}
	}
	d.log.Info("stopping", zap.Int("masters_resigning", resigning))
	d.finish(now)
}

// resignLinger: a relieved master keeps its VIPs this much longer, while
// the new master's gratuitous ARP/NA (sent just after its advert) reaches
// the clients that still send to us (measured: 1.7 ms after the advert;
// without the linger one request in ten switches was lost).
const resignLinger = 20 * time.Millisecond

// resignTimeout bounds a resign: the Master_Down_Interval of the best
// possible backup (priority 254), longer than the Skew_Time after which
// any backup takes over from a priority-0 advert.
func resignTimeout(inst *instance) time.Duration {
	return vrrp.MasterDownInterval(inst.advert.Version, vrrp.PriorityOwner-1, inst.advert.Interval)
}

// stopped tells whether every instance has stopped; during a stop it
// stops those that are done resigning.
func (d *Daemon) stopped(now time.Time) bool {
	all := true
	for _, inst := range d.insts {
		if inst.router.Resigning() {
			all = false
			continue
		}
		if inst.router.State() != vrrp.Initialize {
			d.step(inst, now, vrrp.Shutdown{})
		}
	}
	return all
}

// shutdown stops what is left (every instance is stopped or stops now: a
// master that still holds its VIPs sends priority 0 and removes them);
// notify_stop scripts start.
func (d *Daemon) shutdown(now time.Time) {
	d.stopping = true
	for _, inst := range d.insts {
		d.step(inst, now, vrrp.Shutdown{})
	}
	d.snapshot()
	// notify_stop scripts get a short grace: the daemon must exit within a
	// second of SIGTERM.
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if err := d.notifier.Close(ctx); err != nil {
		// notify_stop scripts are left running, as keepalived does.
		d.log.Info("notify scripts still running at exit", zap.Error(err))
	}
	d.log.Info("all instances stopped")
}

// close releases the instances' sockets and the dataplane.
func (d *Daemon) close() {
	for _, inst := range d.insts {
		inst.detach()
	}
	if err := d.parts.plane.Close(); err != nil {
		d.log.Warn("close dataplane", zap.Error(err))
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
