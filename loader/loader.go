package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/bpf"
)

// ErrUnavailable is wrapped by every error of Load: the kernel dataplane
// cannot run here (no CAP_BPF, an old kernel, a verifier rejection) and the
// caller should use the socket dataplane.
var ErrUnavailable = errors.New("bpf dataplane unavailable")

// DefaultPinRoot is where maps are pinned, one directory per Options.ID.
const DefaultPinRoot = "/sys/fs/bpf/xvrrp"

// Defaults of Options.
const (
	DefaultRingBufferSize = 256 << 10
	DefaultEventBuffer    = 1024
)

// DefaultDropSamples is a value for Options.DropSamples: enough to log
// every misconfigured peer within seconds, few enough that a flood of bad
// adverts costs the control loop nothing.
const DefaultDropSamples = 4

// Options configures Load. The zero value loads without pinning, drops
// invalid and recorded valid adverts, and never writes heartbeat records
// or drop samples.
type Options struct {
	// ID names the pin directory PinRoot/ID (for example the network
	// namespace's inode number). Empty: maps are not pinned.
	ID string
	// PinRoot is the parent of the pin directories (DefaultPinRoot when
	// empty). Its parent directory is mounted as bpffs if it is not one.
	PinRoot string
	// PassValid passes valid adverts on to the stack after recording them
	// (XDP_PASS / TCX_NEXT) instead of dropping them: for running the socket
	// dataplane next to the kernel one, or to see adverts in tcpdump in XDP
	// mode. PassInvalid does the same for invalid ones.
	PassValid, PassInvalid bool
	// Heartbeat, when positive, makes the kernel write a record for an
	// unchanged advert when this long passed since the last record of its
	// virtual router.
	Heartbeat time.Duration
	// WatchSilence makes the kernel report (EventSilent) a virtual router
	// from which no valid advert came for 3 advertised intervals after the
	// last one, with a timer per router: the part of Master_Down_Interval
	// that does not depend on the receiver's priority (RFC 5798 §6.1), so a
	// Backup's control loop can sleep through the master's adverts and
	// still wake before its Master_Down_Timer fires. AdvertState.Watched
	// tells whether the report is pending for the last advert.
	WatchSilence bool
	// DropSamples, when positive, makes the kernel report samples of
	// dropped VRRP adverts (EventDropped, with Event.Reason): only packets
	// whose 8-byte VRRP header was read (never other traffic, nor a packet
	// too short for the header), at most DropSamples records a second over
	// every interface and reason, in bursts of up to DropSamples (a token
	// bucket; racing CPUs can each exceed it by one sample per token, see
	// vrrp.c). 0: none. See DefaultDropSamples.
	DropSamples int
	// DropSampleSkip lists drop reasons (vrrp.DropReason numbers) that are
	// never sampled and take no token, for example unknown_vrid on a
	// segment shared with other virtual routers, whose adverts would
	// otherwise use up the samples.
	DropSampleSkip []uint8
	// RingBufferSize is the ring buffer's size in bytes, a power of two and
	// a multiple of the page size (DefaultRingBufferSize when 0).
	RingBufferSize int
	// EventBuffer is the capacity of the Events channel (DefaultEventBuffer
	// when 0).
	EventBuffer int
	// Log receives attach decisions and reader errors (zap.NewNop when nil).
	Log *zap.Logger
}

// Loader owns the loaded programs, their maps, attachments, pins and the
// ring-buffer reader goroutine. Close releases all of them.
type Loader struct {
	log  *zap.Logger
	objs bpf.VrrpObjects

	// adverts is the adverts array mapped into this process (nil when the
	// kernel cannot map it: then AdvertState reads it with a syscall).
	adverts *ebpf.Memory
	// clock converts the kernel's timestamps (calibrated once, at Load).
	clock kernelClock
	// readBuf is AdvertState's buffer, under mu.
	readBuf bpf.VrrpAdvertState
	// opts are the Options of Load: the tc program is loaded from them
	// at its first use (loadTC), into the maps of the first load.
	opts Options

	mu sync.Mutex
	// slots maps each configured virtual router to its adverts entry.
	slots  map[bpf.VrrpInstanceKey]uint32
	links  []attachment
	pinDir string
	closed bool
	// inherited are another process's attachments Attach takes over
	// (handoff.go); keepPins: Close leaves the pins (Release).
	inherited map[int]Attachment
	keepPins  bool
	pinRoot   string // Options.PinRoot, for Pin

	rd     *ringbuf.Reader
	events chan Event
	done   chan struct{}
	wg     sync.WaitGroup
}

type attachment struct {
	ifindex int
	mode    Mode
	l       link.Link
	id      link.ID        // the kernel's link ID
	prog    ebpf.ProgramID // the program the link was made with
}

// Load loads the XDP program and the maps into the kernel, pins the maps
// when opts.ID is set (replacing a stale pin directory of the same ID left
// by a crashed process) and starts the ring-buffer reader. Nothing is
// attached yet and no instance is configured: see SetInstances and Attach.
// The tc program, which only ModeTC uses (and ModeAuto when XDP cannot
// attach), is loaded at its first use, into the same maps: its
// verification costs as much as the XDP program's, most of Load's time.
//
// Every error wraps ErrUnavailable; a verifier rejection also carries the
// head and tail of the verifier log.
func Load(opts Options) (*Loader, error) {
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	l := &Loader{log: log.Named("loader"), done: make(chan struct{}), pinRoot: opts.PinRoot, opts: opts}
	l.opts.Log = nil
	start := time.Now()
	if err := l.load(opts); err != nil {
		l.objs.Close()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if opts.ID != "" {
		if err := l.pin(opts); err != nil {
			l.objs.Close()
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	rd, err := ringbuf.NewReader(l.objs.Events)
	if err != nil {
		l.unpin()
		l.objs.Close()
		return nil, fmt.Errorf("%w: ring buffer reader: %w", ErrUnavailable, err)
	}
	l.rd = rd
	n := opts.EventBuffer
	if n <= 0 {
		n = DefaultEventBuffer
	}
	l.events = make(chan Event, n)
	l.wg.Add(1)
	go l.readEvents()
	l.log.Debug("bpf loaded", zap.Duration("took", time.Since(start)))
	return l, nil
}

// load is spec → constants → map sizes → load (the XDP program, the
// clock probe and the maps) → clock calibration.
func (l *Loader) load(opts Options) error {
	if err := rlimit.RemoveMemlock(); err != nil {
		return fmt.Errorf("remove memlock limit: %w", err)
	}
	t0 := time.Now()
	spec, err := l.spec(opts)
	if err != nil {
		return err
	}
	var objs struct {
		XdpVrrp    *ebpf.Program `ebpf:"xdp_vrrp"`
		ClockProbe *ebpf.Program `ebpf:"clock_probe"`
		bpf.VrrpMaps
	}
	t1 := time.Now()
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		return loadError(err)
	}
	l.objs.XdpVrrp, l.objs.ClockProbe, l.objs.VrrpMaps = objs.XdpVrrp, objs.ClockProbe, objs.VrrpMaps
	t2 := time.Now()
	clock, err := calibrate(func() (time.Duration, error) { return probeClock(l.objs.ClockProbe) })
	if err != nil {
		return fmt.Errorf("calibrate against the kernel clock: %w", err)
	}
	l.clock = clock
	if mem, err := l.objs.Adverts.Memory(); err == nil && mem.Size() >= l.objs.Adverts.MaxEntries()*advertStateSize {
		l.adverts = mem
	} else if err != nil {
		l.log.Debug("adverts map not mapped: read per syscall", zap.Error(err))
	}
	l.log.Debug("bpf program loaded", zap.String("program", "xdp_vrrp"), zap.Duration("spec", t1.Sub(t0)),
		zap.Duration("load_and_verify", t2.Sub(t1)), zap.Duration("calibrate", time.Since(t2)))
	return nil
}

// spec reads the BPF object and sets the load-time constants and map
// sizes of opts.
func (l *Loader) spec(opts Options) (*ebpf.CollectionSpec, error) {
	spec, err := bpf.LoadVrrp()
	if err != nil {
		return nil, fmt.Errorf("read bpf object: %w", err)
	}
	interval, burst, skip, err := sampleConsts(opts.DropSamples, opts.DropSampleSkip)
	if err != nil {
		return nil, err
	}
	consts := map[string]any{
		bpf.VrrpVarPassValid:        boolByte(opts.PassValid),
		bpf.VrrpVarPassInvalid:      boolByte(opts.PassInvalid),
		bpf.VrrpVarHeartbeatNs:      uint64(max(opts.Heartbeat, 0)),
		bpf.VrrpVarWatchSilence:     boolByte(opts.WatchSilence),
		bpf.VrrpVarSampleIntervalNs: interval,
		bpf.VrrpVarSampleBurstNs:    burst,
		bpf.VrrpVarSampleSkip:       skip,
	}
	for name, v := range consts {
		vs, ok := spec.Variables[name]
		if !ok {
			return nil, fmt.Errorf("bpf object has no constant %s", name)
		}
		if err := vs.Set(v); err != nil {
			return nil, fmt.Errorf("set constant %s: %w", name, err)
		}
	}
	if opts.RingBufferSize != 0 {
		spec.Maps[bpf.VrrpMapEvents].MaxEntries = uint32(opts.RingBufferSize)
	}
	return spec, nil
}

// loadError describes an error of LoadAndAssign.
func loadError(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("verifier rejected the program: %s: %w", verifierSummary(ve), err)
	}
	return fmt.Errorf("load bpf objects: %w", err)
}

// loadTC loads the tc program into the maps of the first load, once.
// Called with l.mu held.
func (l *Loader) loadTC() (*ebpf.Program, error) {
	if l.objs.TcVrrp != nil {
		return l.objs.TcVrrp, nil
	}
	t0 := time.Now()
	spec, err := l.spec(l.opts)
	if err != nil {
		return nil, err
	}
	maps := map[string]*ebpf.Map{
		bpf.VrrpMapAddrs:        l.objs.Addrs,
		bpf.VrrpMapAdverts:      l.objs.Adverts,
		bpf.VrrpMapEvents:       l.objs.Events,
		bpf.VrrpMapInstances:    l.objs.Instances,
		bpf.VrrpMapRates:        l.objs.Rates,
		bpf.VrrpMapSampleBucket: l.objs.SampleBucket,
		bpf.VrrpMapScratch:      l.objs.Scratch,
		bpf.VrrpMapStats:        l.objs.Stats,
		bpf.VrrpMapWatches:      l.objs.Watches,
	}
	var objs struct {
		TcVrrp *ebpf.Program `ebpf:"tc_vrrp"`
	}
	if err := spec.LoadAndAssign(&objs, &ebpf.CollectionOptions{MapReplacements: maps}); err != nil {
		return nil, loadError(err)
	}
	l.objs.TcVrrp = objs.TcVrrp
	l.log.Debug("bpf program loaded", zap.String("program", "tc_vrrp"), zap.Duration("took", time.Since(t0)))
	return objs.TcVrrp, nil
}

// sampleConsts returns the drop-sample token bucket's constants for
// Options.DropSamples and DropSampleSkip: one sample per interval, burst
// the tolerance that lets perSecond of them through at once (interval 0:
// sampling off), skip the reasons' bits.
func sampleConsts(perSecond int, skipReasons []uint8) (interval, burst uint64, skip uint32, err error) {
	for _, r := range skipReasons {
		if int(r) >= NumDropReasons {
			return 0, 0, 0, fmt.Errorf("drop sample skip: no drop reason %d", r)
		}
		skip |= 1 << r
	}
	if perSecond <= 0 {
		return 0, 0, skip, nil
	}
	interval = uint64(max(time.Second/time.Duration(perSecond), 1))
	return interval, interval * uint64(perSecond-1), skip, nil
}

// verifierSummary returns the first and last lines of a verifier log (the
// program and the reason).
func verifierSummary(ve *ebpf.VerifierError) string {
	lines := ve.Log
	if len(lines) <= 4 {
		return strings.Join(lines, "; ")
	}
	return strings.Join(lines[:2], "; ") + "; ...; " + strings.Join(lines[len(lines)-2:], "; ")
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Mode is how the program is attached to an interface.
type Mode int

// Attach modes.
const (
	// ModeAuto tries native XDP, then generic XDP, then tcx ingress.
	ModeAuto Mode = iota
	// ModeXDP is native (driver) XDP.
	ModeXDP
	// ModeXDPGeneric is generic (skb) XDP: any interface, slower.
	ModeXDPGeneric
	// ModeTC is tcx ingress (Linux 6.6+). tcpdump still sees adverts.
	ModeTC
)

// String returns auto, xdp, xdpgeneric or tc.
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeXDP:
		return "xdp"
	case ModeXDPGeneric:
		return "xdpgeneric"
	case ModeTC:
		return "tc"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseMode parses the names String returns.
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{ModeAuto, ModeXDP, ModeXDPGeneric, ModeTC} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown attach mode %q (auto, xdp, xdpgeneric, tc)", s)
}

// Attach attaches the receive program to the interface with index ifindex in
// the calling thread's network namespace, and returns the mode used. With
// ModeAuto it tries native XDP, then generic XDP, then tcx ingress, logging
// why each step fell through. Close or Detach detaches.
//
// An interface has at most one attachment. If ifindex has one already and
// it still holds the interface (see CheckAttachments), Attach returns its
// mode and attaches nothing, or fails if mode asks for another one; a lost
// attachment (interface deleted, link detached by someone else) is
// released and replaced by a new one.
func (l *Loader) Attach(ifindex int, mode Mode) (Mode, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return mode, fmt.Errorf("attach to ifindex %d: loader closed", ifindex)
	}
	for i, a := range l.links {
		if a.ifindex != ifindex {
			continue
		}
		err := a.check()
		if err == nil {
			if mode != ModeAuto && mode != a.mode {
				return mode, fmt.Errorf("attach to ifindex %d as %s: attached as %s already", ifindex, mode, a.mode)
			}
			return a.mode, nil
		}
		l.log.Info("replacing a lost attachment", zap.Int("ifindex", ifindex), zap.Stringer("mode", a.mode), zap.Error(err))
		l.links = slices.Delete(l.links, i, i+1)
		if err := a.l.Close(); err != nil {
			return mode, fmt.Errorf("release lost %s attachment of ifindex %d: %w", a.mode, ifindex, err)
		}
		break
	}
	if a, ok := l.inherited[ifindex]; ok {
		delete(l.inherited, ifindex)
		if mode == ModeAuto || mode == a.Mode {
			got, err := l.takeOver(a)
			if err == nil {
				l.links = append(l.links, got)
				l.log.Info("program took over an inherited link", zap.Int("ifindex", ifindex), zap.Stringer("mode", a.Mode),
					zap.Uint32("link_id", uint32(got.id)))
				return a.Mode, nil
			}
			l.log.Warn("cannot take over the inherited link: attaching anew", zap.Int("ifindex", ifindex), zap.Error(err))
		}
	}
	try := []Mode{mode}
	if mode == ModeAuto {
		try = []Mode{ModeXDP, ModeXDPGeneric, ModeTC}
	}
	var errs []error
	for _, m := range try {
		a, err := l.attach(ifindex, m)
		if err == nil {
			l.links = append(l.links, a)
			l.log.Info("program attached", zap.Int("ifindex", ifindex), zap.Stringer("mode", m),
				zap.Uint32("link_id", uint32(a.id)))
			return m, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", m, err))
		if mode == ModeAuto {
			l.log.Warn("attach mode unavailable, trying the next", zap.Int("ifindex", ifindex),
				zap.Stringer("mode", m), zap.Error(err))
		}
	}
	return mode, fmt.Errorf("attach to ifindex %d: %w", ifindex, errors.Join(errs...))
}

// attach makes one attachment and reads back its link and program IDs.
func (l *Loader) attach(ifindex int, m Mode) (attachment, error) {
	lk, err := l.link(ifindex, m)
	if err != nil {
		return attachment{}, err
	}
	info, err := lk.Info()
	if err != nil {
		lk.Close()
		return attachment{}, fmt.Errorf("read link info: %w", err)
	}
	return attachment{ifindex: ifindex, mode: m, l: lk, id: info.ID, prog: info.Program}, nil
}

func (l *Loader) link(ifindex int, m Mode) (link.Link, error) {
	switch m {
	case ModeXDP, ModeXDPGeneric:
		flags := link.XDPDriverMode
		if m == ModeXDPGeneric {
			flags = link.XDPGenericMode
		}
		return link.AttachXDP(link.XDPOptions{Program: l.objs.XdpVrrp, Interface: ifindex, Flags: flags})
	case ModeTC:
		prog, err := l.loadTC()
		if err != nil {
			return nil, err
		}
		return link.AttachTCX(link.TCXOptions{Program: prog, Interface: ifindex, Attach: ebpf.AttachTCXIngress})
	}
	return nil, fmt.Errorf("unknown mode %d", int(m))
}

// ErrDetached is wrapped by AttachmentProblem.Err when a link no longer
// holds its interface: the interface was deleted (a new one with the same
// name has another ifindex), or the link was detached by another program
// (bpftool link detach, BPF_LINK_DETACH).
var ErrDetached = errors.New("link no longer attached")

// Attachment is one attachment of the receive program.
type Attachment struct {
	Ifindex int
	Mode    Mode    // ModeXDP, ModeXDPGeneric or ModeTC
	LinkID  link.ID // the kernel's bpf_link ID (bpftool link show id LinkID)
}

// AttachmentProblem is an attachment that no longer receives, and why.
type AttachmentProblem struct {
	Attachment
	// Err wraps ErrDetached when the link lost its interface; other
	// errors say that the link's state could not be read or that it runs
	// another program than ours (replaced with BPF_LINK_UPDATE).
	Err error
}

// Attachments returns the attachments made by Attach and not yet released
// by Detach, Close or a replacing Attach, lost ones included.
func (l *Loader) Attachments() []Attachment {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Attachment, 0, len(l.links))
	for _, a := range l.links {
		out = append(out, Attachment{Ifindex: a.ifindex, Mode: a.mode, LinkID: a.id})
	}
	return out
}

// CheckAttachments asks the kernel whether every attachment still holds
// its interface with our program, and returns those that do not (nil when
// all do). One bpf(BPF_OBJ_GET_INFO_BY_FD) per attachment: cheap enough
// to call every second. A lost attachment stays listed until Detach, or
// until Attach on the same ifindex replaces it.
func (l *Loader) CheckAttachments() []AttachmentProblem {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []AttachmentProblem
	for _, a := range l.links {
		if err := a.check(); err != nil {
			out = append(out, AttachmentProblem{Attachment{Ifindex: a.ifindex, Mode: a.mode, LinkID: a.id}, err})
		}
	}
	return out
}

// check returns nil if the link still holds a.ifindex with our program.
// The kernel reports ifindex 0 for an XDP or tcx link whose interface went
// away or that was detached.
func (a *attachment) check() error {
	info, err := a.l.Info()
	if err != nil {
		return fmt.Errorf("read link %d info: %w", a.id, err)
	}
	var ifindex uint32
	switch {
	case info.XDP() != nil:
		ifindex = info.XDP().Ifindex
	case info.TCX() != nil:
		ifindex = info.TCX().Ifindex
	default:
		return fmt.Errorf("link %d info has no interface", a.id)
	}
	switch {
	case ifindex == 0:
		return fmt.Errorf("%s link %d: %w", a.mode, a.id, ErrDetached)
	case int(ifindex) != a.ifindex:
		return fmt.Errorf("%s link %d holds ifindex %d", a.mode, a.id, ifindex)
	case info.Program != a.prog:
		return fmt.Errorf("%s link %d runs program %d, not ours (%d)", a.mode, a.id, info.Program, a.prog)
	}
	return nil
}

// Detach releases the attachment on ifindex, if there is one: the program
// no longer receives there (Attach can attach it again). It does not fail
// when the interface no longer exists or the link was detached already:
// the kernel dropped the attachment then, and only our handle goes.
func (l *Loader) Detach(ifindex int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	kept := l.links[:0]
	for _, a := range l.links {
		if a.ifindex != ifindex {
			kept = append(kept, a)
			continue
		}
		if err := a.l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach %s from ifindex %d: %w", a.mode, ifindex, err))
		}
		l.log.Info("program detached", zap.Int("ifindex", ifindex), zap.Stringer("mode", a.mode))
	}
	clear(l.links[len(kept):])
	l.links = kept
	return errors.Join(errs...)
}

// Programs returns the XDP and the tc program, for tests and benchmarks
// (BPF_PROG_TEST_RUN); the tc program is loaded now if it was not yet (nil
// if that fails, logged). They stay owned by the Loader.
func (l *Loader) Programs() (xdp, tc *ebpf.Program) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tc, err := l.loadTC()
	if err != nil {
		l.log.Error("load the tc program", zap.Error(err))
	}
	return l.objs.XdpVrrp, tc
}

// PinDir returns the directory the maps are pinned in, or "" when they are
// not pinned.
func (l *Loader) PinDir() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pinDir
}

// pinnedMaps are the maps pinned for bpftool and for a later process; the
// scratch buffer is not.
func (l *Loader) pinnedMaps() map[string]*ebpf.Map {
	return map[string]*ebpf.Map{
		bpf.VrrpMapInstances: l.objs.Instances,
		bpf.VrrpMapAddrs:     l.objs.Addrs,
		bpf.VrrpMapAdverts:   l.objs.Adverts,
		bpf.VrrpMapRates:     l.objs.Rates,
		bpf.VrrpMapStats:     l.objs.Stats,
		bpf.VrrpMapEvents:    l.objs.Events,
	}
}

// pin mounts bpffs if needed, removes a stale pin directory of the same ID
// and pins the maps there.
func (l *Loader) pin(opts Options) error {
	root := opts.PinRoot
	if root == "" {
		root = DefaultPinRoot
	}
	if strings.ContainsAny(opts.ID, "/") || opts.ID == "." || opts.ID == ".." {
		return fmt.Errorf("pin id %q is not a plain name", opts.ID)
	}
	if err := ensureBPFFS(filepath.Dir(root)); err != nil {
		return err
	}
	dir := filepath.Join(root, opts.ID)
	if _, err := os.Stat(dir); err == nil {
		// A previous process with this ID did not Close (crash): its pins
		// only keep its maps alive. Its links died with it.
		l.log.Warn("replacing stale pins", zap.String("dir", dir))
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove stale pins %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create pin directory: %w", err)
	}
	l.pinDir = dir
	for name, m := range l.pinnedMaps() {
		if err := m.Pin(filepath.Join(dir, name)); err != nil {
			l.unpin()
			return fmt.Errorf("pin map %s: %w", name, err)
		}
	}
	return nil
}

// unpin removes the pins and the pin directory.
func (l *Loader) unpin() error {
	if l.pinDir == "" {
		return nil
	}
	var errs []error
	for name, m := range l.pinnedMaps() {
		if m == nil || !m.IsPinned() {
			continue
		}
		if err := m.Unpin(); err != nil {
			errs = append(errs, fmt.Errorf("unpin %s: %w", name, err))
		}
	}
	if err := os.Remove(l.pinDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove pin directory: %w", err))
	}
	l.pinDir = ""
	return errors.Join(errs...)
}

// ensureBPFFS mounts bpffs on dir unless it already is one.
func ensureBPFFS(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	if st.Type == unix.BPF_FS_MAGIC {
		return nil
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount bpffs on %s: %w", dir, err)
	}
	return nil
}

// Close stops the event reader (closing the Events channel), detaches every
// attachment, unpins and releases the maps and programs. It is safe to call
// more than once.
func (l *Loader) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()

	close(l.done)
	var errs []error
	if err := l.rd.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close ring buffer reader: %w", err))
	}
	l.wg.Wait()

	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.links {
		if err := a.l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach %s from ifindex %d: %w", a.mode, a.ifindex, err))
		}
	}
	l.links = nil
	if !l.keepPins {
		if err := l.unpin(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := l.objs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close bpf objects: %w", err))
	}
	return errors.Join(errs...)
}
