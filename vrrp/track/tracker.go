package track

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// Update is the tracking verdict for one instance.
type Update struct {
	Instance string
	// Priority is the effective priority: the configured one plus every
	// weight that applies, clamped to 1..254; 255 (address owner) is
	// never changed.
	Priority uint8
	// Fault is set while a tracked object with weight 0 has failed (or a
	// track_file value times its weight is -254 or below).
	Fault bool
	// Waiting is set until every weight-0 vrrp_script of the instance has
	// reported once: keepalived keeps such an instance in INIT, neither
	// master nor backup nor faulty, until then.
	Waiting bool
	Reason  string // why Fault or Waiting is set; empty otherwise
}

func (u Update) same(v Update) bool {
	return u.Priority == v.Priority && u.Fault == v.Fault && u.Waiting == v.Waiting
}

// Options are the Tracker's settings that do not come from the
// configuration.
type Options struct {
	// Netlink reads the initial state of tracked interfaces; nil: a handle
	// in the current namespace.
	Netlink *netlink.Handle
	// Namespace is where link changes are subscribed to; nil: the
	// current namespace.
	Namespace *netns.NsHandle
	// FilePoll is how often track_file files are read; 0: one second.
	FilePoll time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL for a script that
	// timed out; 0: DefaultKillGrace.
	KillGrace time.Duration
	// SkipSecurity skips PrepareCommand's checks (tests of scripts that
	// live in world-writable temporary directories). The program must
	// still exist.
	SkipSecurity bool
}

type status uint8

const (
	statusInit status = iota
	statusOK
	statusFailed
)

type kind uint8

const (
	kindScript kind = iota
	kindLink
	kindFile
)

// object is one tracked thing shared by every instance that tracks it.
type object struct {
	kind   kind
	name   string
	status status // scripts and links
	value  int64  // files
	refs   []*ref

	// scripts
	script    *config.Script
	cmd       *Command
	result    int  // keepalived's rise/fall counter
	initState bool // no result yet and not init_fail
	// files
	path string
}

// ref is one instance's use of an object with its weight.
type ref struct {
	obj     *object
	inst    *instState
	weight  int
	reverse bool
}

type instState struct {
	name   string
	base   uint8
	refs   []*ref
	latest Update
	sent   Update
	dirty  bool
}

// Tracker runs the health trackers of a configuration (vrrp_script,
// track_interface, track_file, also when listed on a vrrp_sync_group) and
// turns them into an effective priority and a fault flag per instance, with
// keepalived's semantics (keepalived/vrrp/vrrp_track.c,
// vrrp_scheduler.c, trackers/track_file.c). Its methods are safe for
// concurrent use.
type Tracker struct {
	log  *zap.Logger
	opts Options

	mu      sync.Mutex
	insts   []*instState
	byName  map[string]*instState
	scripts []*object
	links   map[string]*object
	files   []*object

	wake chan struct{}
	out  chan Update
}

// New builds a Tracker for cfg. It checks and prepares the scripts (a
// script refused by PrepareCommand is logged and not tracked, as keepalived
// drops it), creates track_file files asked for with init_file, and reads
// the initial state of tracked interfaces and files, so that State is
// meaningful before Run. It returns an error when a tracked interface's
// initial state cannot be read for another reason than its absence.
func New(cfg *config.Config, log *zap.Logger, opts Options) (*Tracker, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.FilePoll <= 0 {
		opts.FilePoll = time.Second
	}
	t := &Tracker{
		log:    log,
		opts:   opts,
		byName: map[string]*instState{},
		links:  map[string]*object{},
		wake:   make(chan struct{}, 1),
		out:    make(chan Update),
	}
	scripts := map[string]*object{}
	files := map[string]*object{}
	script := func(name string) *object {
		if o, ok := scripts[name]; ok {
			return o
		}
		s := cfg.Script(name)
		if s == nil {
			scripts[name] = nil
			return nil
		}
		c := s.Command()
		cmd, err := PrepareCommand("vrrp_script "+s.Name, c, cfg.Global)
		if err != nil && opts.SkipSecurity && cmd == nil {
			if argv, e := commandWords(c); e == nil {
				cmd, err = &Command{Argv: argv}, nil
			}
		}
		if err != nil {
			if cmd == nil {
				log.Error("vrrp_script not tracked", zap.String("script", name), zap.Error(err))
				scripts[name] = nil
				return nil
			}
			log.Warn("vrrp_script insecure", zap.String("script", name), zap.Error(err))
		}
		o := &object{kind: kindScript, name: name, script: s, cmd: cmd, initState: !s.InitFail}
		// keepalived (vrrp_init_script): one success decides when not
		// init_fail; init_fail starts failed and needs rise successes.
		if s.InitFail {
			o.status, o.result = statusFailed, 0
		} else {
			o.status, o.result = statusInit, s.Rise-1
		}
		scripts[name] = o
		t.scripts = append(t.scripts, o)
		return o
	}
	file := func(name string) *object {
		if o, ok := files[name]; ok {
			return o
		}
		f := cfg.TrackFile(name)
		if f == nil {
			files[name] = nil
			return nil
		}
		if f.InitFile {
			if _, err := os.Stat(f.File); err != nil || f.Overwrite {
				if err := os.WriteFile(f.File, fmt.Appendf(nil, "%d\n", f.InitValue), 0o644); err != nil {
					log.Warn("track_file not initialised", zap.String("file", f.File), zap.Error(err))
				}
			}
		}
		o := &object{kind: kindFile, name: name, path: f.File}
		if v, ok := readTrackFile(f.File); ok {
			o.value = v
		}
		files[name] = o
		t.files = append(t.files, o)
		return o
	}
	link := func(name string) *object {
		if o := t.links[name]; o != nil {
			return o
		}
		o := &object{kind: kindLink, name: name, status: statusFailed}
		t.links[name] = o
		return o
	}

	groups := map[string]*config.SyncGroup{}
	for _, g := range cfg.SyncGroups {
		groups[g.Name] = g
	}
	for _, in := range cfg.Instances {
		is := &instState{name: in.Name, base: in.Priority}
		t.insts = append(t.insts, is)
		t.byName[in.Name] = is
		owner := in.Priority == 255
		g := groups[in.SyncGroup]
		add := func(o *object, weight int, reverse bool, what string) {
			if o == nil {
				return
			}
			// keepalived (vrrp_complete_instance): an address owner and a
			// sync-group member run no floating priority: weighted
			// interfaces and files are tracked with weight 0 in a sync
			// group, dropped for the owner; weighted scripts are dropped.
			if weight != 0 && (owner || g != nil) {
				why := "address owner"
				if g != nil {
					why = "sync group " + g.Name
				}
				if owner || o.kind == kindScript {
					log.Warn("tracked object with weight ignored", zap.String("instance", in.Name),
						zap.String("object", what+" "+o.name), zap.String("why", why))
					return
				}
				log.Warn("tracked object weight set to 0", zap.String("instance", in.Name),
					zap.String("object", what+" "+o.name), zap.String("why", why))
				weight = 0
			}
			r := &ref{obj: o, inst: is, weight: weight, reverse: reverse}
			o.refs = append(o.refs, r)
			is.refs = append(is.refs, r)
		}
		if !in.DontTrackPrimary && in.Interface != "" {
			add(link(in.Interface), 0, false, "interface")
		}
		addAll := func(tis []config.TrackInterface, scs, tfs []config.TrackRef) {
			for _, ti := range tis {
				add(link(ti.Name), ti.Weight, ti.Reverse, "interface")
			}
			for _, tr := range scs {
				o := script(tr.Name)
				w, rev := 0, tr.Reverse
				if o != nil {
					w, rev = o.script.Weight, o.script.Reverse || tr.Reverse
					if tr.WeightSet {
						w, rev = tr.Weight, tr.Reverse
					}
				}
				add(o, w, rev, "vrrp_script")
			}
			for _, tr := range tfs {
				o := file(tr.Name)
				w, rev := 1, tr.Reverse
				if f := cfg.TrackFile(tr.Name); f != nil {
					w, rev = f.Weight, f.Reverse || tr.Reverse
				}
				if tr.WeightSet {
					w, rev = tr.Weight, tr.Reverse
				}
				add(o, w, rev, "track_file")
			}
		}
		addAll(in.TrackInterfaces, in.TrackScripts, in.TrackFiles)
		if g != nil {
			// Objects tracked by the group apply to every member with
			// weight 0: one failure takes the whole group to FAULT.
			zeroed := func(rs []config.TrackRef) []config.TrackRef {
				out := make([]config.TrackRef, len(rs))
				for i, r := range rs {
					out[i] = r
					out[i].Weight, out[i].WeightSet = 0, true
				}
				return out
			}
			tis := make([]config.TrackInterface, len(g.TrackInterfaces))
			for i, ti := range g.TrackInterfaces {
				tis[i] = ti
				tis[i].Weight = 0
			}
			addAll(tis, zeroed(g.TrackScripts), zeroed(g.TrackFiles))
		}
	}

	if len(t.links) > 0 {
		h := opts.Netlink
		if h == nil {
			var err error
			if h, err = netlink.NewHandle(); err != nil {
				return nil, fmt.Errorf("netlink: %w", err)
			}
			defer h.Close()
		}
		for name, o := range t.links {
			l, err := h.LinkByName(name)
			if err != nil {
				if _, ok := err.(netlink.LinkNotFoundError); ok {
					log.Warn("tracked interface not found", zap.String("interface", name))
					continue
				}
				return nil, fmt.Errorf("read tracked interface %s: %w", name, err)
			}
			o.status = linkStatus(l.Attrs())
		}
	}
	for _, is := range t.insts {
		is.latest = t.compute(is)
		is.sent = is.latest
	}
	return t, nil
}

// DroppedForeign tells whether err is the netlink library's report of a
// message on a subscription socket that did not come from the kernel
// (another process's): the library dropped it and the subscription goes
// on, so nothing was missed. Seen once in a process started by an
// upgrade.
func DroppedForeign(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "Wrong sender portid")
}

// linkStatus is keepalived's IF_FLAGS_UP: administratively up and running
// (carrier, or operationally up).
func linkStatus(a *netlink.LinkAttrs) status {
	if a.RawFlags&unix.IFF_UP != 0 && a.RawFlags&unix.IFF_RUNNING != 0 {
		return statusOK
	}
	return statusFailed
}

// compute returns the verdict for one instance from its objects' states.
// Called with t.mu held.
func (t *Tracker) compute(is *instState) Update {
	u := Update{Instance: is.name}
	total := int(is.base)
	var faults, waits []string
	for _, r := range is.refs {
		o := r.obj
		mult := 1
		if r.reverse {
			mult = -1
		}
		if o.kind == kindFile {
			// keepalived (track_file.c): weight 0 means a non-zero value
			// is a failure (reverse: zero is); otherwise value × weight,
			// and a result of -254 or below is a fault.
			if r.weight == 0 {
				if (o.value != 0) == !r.reverse {
					faults = append(faults, fmt.Sprintf("track_file %s value %d", o.name, o.value))
				}
				continue
			}
			s := o.value * int64(r.weight) * int64(mult)
			if s <= -254 {
				faults = append(faults, fmt.Sprintf("track_file %s value %d", o.name, o.value))
				continue
			}
			total += int(min(s, 253))
			continue
		}
		what := "vrrp_script " + o.name
		if o.kind == kindLink {
			what = "interface " + o.name
		}
		if o.status == statusInit {
			if r.weight == 0 {
				waits = append(waits, what+" has not reported yet")
			}
			continue
		}
		ok := o.status == statusOK
		if r.weight == 0 {
			// keepalived: down when ok != (multiplier == 1).
			if ok == r.reverse {
				if ok {
					faults = append(faults, what+" up (reverse)")
				} else if o.kind == kindLink {
					faults = append(faults, what+" down")
				} else {
					faults = append(faults, what+" failed")
				}
			}
			continue
		}
		// A positive weight is added while OK, a negative one while
		// failed; reverse inverts the direction (vrrp_track.c).
		if ok && r.weight > 0 || !ok && r.weight < 0 {
			total += r.weight * mult
		}
	}
	switch {
	case is.base == 255:
		u.Priority = 255
	case total < 1:
		u.Priority = 1
	case total > 254:
		u.Priority = 254
	default:
		u.Priority = uint8(total)
	}
	if len(faults) > 0 {
		u.Fault, u.Reason = true, strings.Join(faults, ", ")
	} else if len(waits) > 0 {
		u.Waiting, u.Reason = true, strings.Join(waits, ", ")
	}
	return u
}

// changed recomputes every instance tracking o. Called with t.mu held.
func (t *Tracker) changed(o *object) {
	for _, r := range o.refs {
		is := r.inst
		u := t.compute(is)
		if u.same(is.latest) && u.Reason == is.latest.Reason {
			continue
		}
		is.latest = u
		is.dirty = true
	}
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Tracked is one object an instance tracks, as a status shows it.
type Tracked struct {
	Kind    string // "script", "interface" or "file"
	Name    string
	State   string // "ok", "failed" or "init" (no result yet); a file: its value
	Weight  int
	Reverse bool
}

var kindNames = [...]string{kindScript: "script", kindLink: "interface", kindFile: "file"}
var statusNames = [...]string{statusInit: "init", statusOK: "ok", statusFailed: "failed"}

// Tracked returns the objects instance tracks with their state now, in
// configuration order (nil for an unknown instance).
func (t *Tracker) Tracked(instance string) []Tracked {
	t.mu.Lock()
	defer t.mu.Unlock()
	is := t.byName[instance]
	if is == nil {
		return nil
	}
	out := make([]Tracked, 0, len(is.refs))
	for _, r := range is.refs {
		o := r.obj
		st := statusNames[o.status]
		if o.kind == kindFile {
			st = strconv.FormatInt(o.value, 10)
		}
		out = append(out, Tracked{Kind: kindNames[o.kind], Name: o.name, State: st, Weight: r.weight, Reverse: r.reverse})
	}
	return out
}

// SetBase changes the configured priority of an instance (a reload that
// changed only priorities keeps the trackers and their rise/fall
// counts). It reports false for an unknown instance. The new verdict is
// delivered on Updates and returned by State.
func (t *Tracker) SetBase(instance string, priority uint8) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	is := t.byName[instance]
	if is == nil {
		return false
	}
	is.base = priority
	is.latest = t.compute(is)
	is.dirty = true
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return true
}

// State returns the current verdict for an instance (false if unknown).
func (t *Tracker) State(instance string) (Update, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	is := t.byName[instance]
	if is == nil {
		return Update{}, false
	}
	return is.latest, true
}

// Updates returns the channel on which Run delivers verdicts that differ
// from the last one delivered (or, at first, from State at New). Changes
// are coalesced per instance: a slow reader gets the latest verdict, never
// a backlog, and never slows the trackers.
func (t *Tracker) Updates() <-chan Update { return t.out }

// Run runs every tracker until ctx ends, then stops them (killing running
// scripts) and returns when all its goroutines have.
func (t *Tracker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, o := range t.scripts {
		wg.Go(func() { t.runScript(ctx, o) })
	}
	if len(t.files) > 0 {
		wg.Go(func() { t.pollFiles(ctx) })
	}
	if len(t.links) > 0 {
		if err := t.watchLinks(ctx, &wg); err != nil {
			wg.Wait()
			return err
		}
	}
	t.forward(ctx)
	wg.Wait()
	return nil
}

// forward delivers dirty verdicts to the Updates channel.
func (t *Tracker) forward(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		}
		for {
			var next *Update
			t.mu.Lock()
			for _, is := range t.insts {
				if is.dirty {
					is.dirty = false
					if !is.latest.same(is.sent) {
						u := is.latest
						is.sent = u
						next = &u
						break
					}
				}
			}
			t.mu.Unlock()
			if next == nil {
				break
			}
			select {
			case t.out <- *next:
			case <-ctx.Done():
				return
			}
		}
	}
}

// runScript runs one vrrp_script every interval; a run still going when
// the next interval comes is not started twice (the ticker drops ticks).
func (t *Tracker) runScript(ctx context.Context, o *object) {
	s := o.script
	log := t.log.With(zap.String("script", o.name))
	tick := time.NewTicker(s.Interval)
	defer tick.Stop()
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = s.Interval
	}
	last := -2
	for {
		res := o.cmd.Run(ctx, timeout, t.opts.KillGrace)
		if ctx.Err() != nil {
			return
		}
		code := res.ExitCode
		if res.TimedOut {
			code = -3
		}
		if code != last {
			log.Info("vrrp_script result", zap.Stringer("result", res), zap.String("output", res.Output))
			last = code
		}
		t.mu.Lock()
		if o.record(res.OK()) {
			log.Info("vrrp_script state", zap.Bool("ok", o.status == statusOK))
			t.changed(o)
		}
		t.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// record counts one result with keepalived's rise/fall counter
// (vrrp_script_child_thread in vrrp_scheduler.c): result runs from 0 to
// rise+fall-1; the script is OK from rise up. It reports whether the
// script's status changed.
func (o *object) record(success bool) bool {
	rise, fall := max(o.script.Rise, 1), max(o.script.Fall, 1)
	was := o.status
	if success {
		if o.result < rise-1 {
			o.result++
		} else if o.result != rise+fall-1 {
			if o.result < rise {
				o.status = statusOK
			}
			o.result = rise + fall - 1
		}
	} else {
		if o.result > rise {
			o.result--
		} else {
			if o.result == rise || o.initState {
				o.status = statusFailed
			}
			o.result = 0
		}
	}
	o.initState = false
	return o.status != was
}

// pollFiles rereads every track_file each FilePoll.
func (t *Tracker) pollFiles(ctx context.Context) {
	tick := time.NewTicker(t.opts.FilePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, o := range t.files {
			v, ok := readTrackFile(o.path)
			if !ok {
				continue
			}
			t.mu.Lock()
			if v != o.value {
				t.log.Info("track_file value", zap.String("track_file", o.name), zap.Int64("value", v))
				o.value = v
				t.changed(o)
			}
			t.mu.Unlock()
		}
	}
}

// readTrackFile reads a track_file as keepalived does: a missing,
// unreadable or empty file counts as 0; the number is parsed like
// strtol(s, NULL, 0) (leading blanks, sign, 0x hex, 0 octal, stops at the
// first other character, no digits gives 0); a value outside the 32-bit
// range is ignored (ok false: keep the previous value).
func readTrackFile(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, true
	}
	defer f.Close()
	buf := make([]byte, 127)
	n, _ := f.Read(buf)
	return parseStrtol(string(buf[:n]))
}

func parseStrtol(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := int64(10)
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digit(s[2], 16) >= 0:
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	var v int64
	for i := 0; i < len(s); i++ {
		d := digit(s[i], base)
		if d < 0 {
			break
		}
		v = v*base + d
		if v > 1<<33 {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v < -(1<<31) || v > 1<<31 {
		return 0, false
	}
	return v, true
}

func digit(c byte, base int64) int64 {
	var d int64
	switch {
	case c >= '0' && c <= '9':
		d = int64(c - '0')
	case c >= 'a' && c <= 'f':
		d = int64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = int64(c-'A') + 10
	default:
		return -1
	}
	if d >= base {
		return -1
	}
	return d
}

// watchLinks subscribes to link changes in the configured namespace.
func (t *Tracker) watchLinks(ctx context.Context, wg *sync.WaitGroup) error {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	errc := make(chan error, 1)
	err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
		Namespace:    t.opts.Namespace,
		ListExisting: true,
		ErrorCallback: func(err error) {
			select {
			case errc <- err:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("subscribe to link changes: %w", err)
	}
	wg.Go(func() {
		defer func() {
			close(done)
			// Drain until the subscription closes ch, for a bounded time.
			limit := time.After(2 * time.Second)
			for {
				select {
				case _, ok := <-ch:
					if ok {
						continue
					}
				case <-limit:
				}
				return
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-errc:
				if DroppedForeign(err) {
					t.log.Debug("link subscription: a message not from the kernel was dropped", zap.Error(err))
					continue
				}
				t.log.Error("link subscription error", zap.Error(err))
			case u, ok := <-ch:
				if !ok {
					t.log.Error("link subscription ended")
					return
				}
				a := u.Attrs()
				if a == nil {
					continue
				}
				t.mu.Lock()
				if o := t.links[a.Name]; o != nil {
					st := linkStatus(a)
					if u.Header.Type == unix.RTM_DELLINK {
						st = statusFailed
					}
					if st != o.status {
						t.log.Info("tracked interface", zap.String("interface", a.Name), zap.Bool("up", st == statusOK))
						o.status = st
						t.changed(o)
					}
				}
				t.mu.Unlock()
			}
		}
	})
	return nil
}
