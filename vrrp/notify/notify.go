package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// Kind says whether a notification is about an instance or a sync group.
type Kind uint8

// Kinds, named as keepalived passes them to the generic notify script.
const (
	Instance Kind = iota
	Group
)

func (k Kind) String() string {
	if k == Group {
		return "GROUP"
	}
	return "INSTANCE"
}

// Stop is the state word for notify_stop (the daemon stopping).
const Stop = "STOP"

// StateWord returns keepalived's word for a state: MASTER, BACKUP, FAULT
// (and INIT, which keepalived never notifies).
func StateWord(s vrrp.State) string { return s.String() }

// Defaults.
const (
	// DefaultTimeout bounds one notify script run (keepalived has none):
	// after it the script's process group gets SIGTERM, then SIGKILL
	// track.DefaultKillGrace later.
	DefaultTimeout = 60 * time.Second
	// DefaultOrderGrace is how long the next script of an instance or group
	// waits for the previous one to end before it starts anyway.
	DefaultOrderGrace = time.Second
	// DefaultQueue is the number of notifications per instance or group
	// waiting for their turn; beyond it the oldest is dropped and counted.
	DefaultQueue = 64
)

// pollMax is the longest pause between two checks whether a script ended.
const pollMax = 50 * time.Millisecond

// Options configure a Runner.
type Options struct {
	Global config.Global // script_user, enable_script_security, notify_fifo
	// Timeout per script run, after which its process group is killed;
	// 0: DefaultTimeout.
	Timeout time.Duration
	// OrderGrace: the next script of an instance or group starts when the
	// previous one ends or after this long, whichever comes first; 0:
	// DefaultOrderGrace.
	OrderGrace time.Duration
	// Queue per instance or group; 0: DefaultQueue.
	Queue int
	// SkipSecurity runs scripts without track.PrepareCommand's checks
	// (tests).
	SkipSecurity bool
}

type job struct {
	kind     Kind
	name     string
	n        config.Notify
	state    string
	priority uint8
}

type worker struct {
	mu      sync.Mutex
	queue   []job
	dropped int
	running bool // a goroutine works the queue (it ends when the queue is empty)
}

// proc is one started script.
type proc struct {
	where string // "INSTANCE VI_1 notify_master"
	cmd   string // the script line as configured
	pid   int    // also its process group
	done  chan struct{}
}

// Runner runs notify scripts and writes notify_fifo lines asynchronously,
// one queue per instance or group, worked by a goroutine while it is not
// empty (an idle Runner has no goroutine, whatever the number of
// instances); Notify never blocks. Safe for concurrent use.
//
// Order: the scripts of one instance or group start in the order of its
// notifications, and its notify_fifo lines are written in that order. The
// next script starts when the previous one has ended, or after
// Options.OrderGrace if it is still running: a slow or hung script delays
// the later ones by at most that long. It keeps running meanwhile, up to
// Options.Timeout, after which its whole process group is killed; each
// run is watched by a goroutine of its own. A failing, refused or
// timed-out script is logged, never fatal.
//
// When the queue of an instance or group is full (Options.Queue
// notifications waiting for their turn, a flood of transitions within a
// few OrderGraces), the oldest waiting one is dropped; the count is logged.
type Runner struct {
	log  *zap.Logger
	opts Options

	mu      sync.Mutex
	workers map[string]*worker
	closed  bool

	working sync.WaitGroup // the workers
	running sync.WaitGroup // one per started script, until it ends or is left running
	hurry   chan struct{}  // closed by Close: start what is queued, wait for nothing
	detach  chan struct{}  // closed when Close's ctx ends: stop watching scripts
	once    sync.Once      // closes hurry
	detOnce sync.Once      // closes detach
	left    atomic.Int64   // scripts left running by Close

	cmdMu sync.Mutex
	cmds  map[string]*track.Command // nil value: refused
	fifos map[string]*os.File
}

// New returns a Runner.
func New(log *zap.Logger, opts Options) *Runner {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.OrderGrace <= 0 {
		opts.OrderGrace = DefaultOrderGrace
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	return &Runner{log: log, opts: opts, workers: map[string]*worker{},
		hurry: make(chan struct{}), detach: make(chan struct{}),
		cmds: map[string]*track.Command{}, fifos: map[string]*os.File{}}
}

// Notify queues the notifications of one state change, carried out in
// keepalived's order (send_instance_notifies in vrrp_notify.c): the
// state's own script (notify_master, notify_backup, notify_fault or
// notify_stop) as written, then the generic notify script with
// "INSTANCE|GROUP name state priority" appended, then a line
// `INSTANCE "name" STATE priority` on the notify_fifo (n.Fifo and the
// global one). keepalived passes priority 0 for groups. state is a
// StateWord or Stop. After Close, Notify does nothing.
func (r *Runner) Notify(kind Kind, name string, n config.Notify, state string, priority uint8) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	key := kind.String() + " " + name
	w := r.workers[key]
	if w == nil {
		w = &worker{}
		r.workers[key] = w
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) >= r.opts.Queue {
		w.queue = w.queue[1:]
		w.dropped++
	}
	w.queue = append(w.queue, job{kind: kind, name: name, n: n, state: state, priority: priority})
	if !w.running {
		w.running = true
		r.working.Add(1)
		go r.work(w)
	}
}

// work carries out the jobs of one instance or group, in order, until its
// queue is empty. After Close it starts whatever is still queued (without
// waiting long for a script before the next, see run).
func (r *Runner) work(w *worker) {
	defer r.working.Done()
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.queue = nil // an idle queue holds no memory
			w.running = false
			w.mu.Unlock()
			return
		}
		j := w.queue[0]
		w.queue = w.queue[1:]
		dropped := w.dropped
		w.dropped = 0
		w.mu.Unlock()
		if dropped > 0 {
			r.log.Warn("notifications dropped: queue full", zap.String("name", j.name), zap.Int("dropped", dropped))
		}
		r.run(j)
	}
}

func (r *Runner) run(j job) {
	var specific config.Command
	switch j.state {
	case "MASTER":
		specific = j.n.Master
	case "BACKUP":
		specific = j.n.Backup
	case "FAULT":
		specific = j.n.Fault
	case Stop:
		specific = j.n.Stop
	}
	prio := fmt.Sprint(j.priority)
	if j.kind == Group {
		prio = "0"
	}
	where := fmt.Sprintf("%s %s", j.kind, j.name)
	// Scripts likely to outlive the daemon write to /dev/null, as
	// keepalived's all do: once the daemon is gone, a pipe to it would
	// kill them with SIGPIPE at their first line of output.
	discard := j.state == Stop || r.closing()
	if specific.Cmd != "" {
		r.await(r.start(where+" notify_"+j.state, specific, discard))
	}
	if j.n.Generic.Cmd != "" {
		r.await(r.start(where+" notify", j.n.Generic, discard, j.kind.String(), j.name, j.state, prio))
	}
	line := fmt.Sprintf("%s %q %s %s\n", j.kind, j.name, j.state, prio)
	for _, f := range []string{r.opts.Global.NotifyFifo, j.n.Fifo} {
		if f != "" {
			r.writeFifo(f, line)
		}
	}
}

func (r *Runner) closing() bool {
	select {
	case <-r.hurry:
		return true
	default:
		return false
	}
}

// closeOrderGrace is how long, once Close has begun, the next script of an
// instance waits for the one before it (notify_stop, then the generic
// notify script): quick scripts keep their order, a hung one holds the
// next back this long at most.
const closeOrderGrace = 200 * time.Millisecond

// await waits for p to end, at most OrderGrace, and at most
// closeOrderGrace once Close has begun.
func (r *Runner) await(p *proc) {
	if p == nil {
		return
	}
	grace := r.opts.OrderGrace
	hurry := r.hurry
	if r.closing() {
		grace, hurry = min(grace, closeOrderGrace), nil
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-hurry:
			hurry = nil
			t.Reset(min(grace, closeOrderGrace))
		case <-t.C:
			r.log.Debug("notify script still running, next one not held back",
				zap.String("script", p.where), zap.Int("pid", p.pid), zap.Duration("waited", grace))
			return
		}
	}
}

// start starts a script, in its own process group, with extra arguments
// appended, and a goroutine that watches it; nil if it was refused or did
// not start (logged). Its output is kept for the log (track.OutputCap
// bytes) unless discard, then it goes to /dev/null.
func (r *Runner) start(where string, c config.Command, discard bool, extra ...string) *proc {
	tc := r.prepare(where, c)
	if tc == nil {
		return nil
	}
	argv := append(append([]string(nil), tc.Argv...), extra...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: tc.Cred}
	var pr *os.File
	if !discard { // else exec's default: /dev/null
		var pw *os.File
		var err error
		if pr, pw, err = os.Pipe(); err != nil {
			r.failed(where, c, track.Result{ExitCode: -1, Err: fmt.Errorf("pipe: %w", err)})
			return nil
		}
		defer pw.Close()
		cmd.Stdout, cmd.Stderr = pw, pw
	}
	now := time.Now()
	if err := cmd.Start(); err != nil {
		if pr != nil {
			pr.Close()
		}
		r.failed(where, c, track.Result{ExitCode: -1, Err: err})
		return nil
	}
	p := &proc{where: where, cmd: c.Cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	r.running.Add(1)
	go r.watch(p, cmd.Process, pr, now)
	return p
}

// watch waits for p to end, kills its process group at the timeout, and
// logs a failure. cmd.Wait cannot be abandoned, so the exit is polled with
// WNOHANG: when Close's ctx ends, watch returns at once and leaves the
// script running (a timed-out one is killed instead).
func (r *Runner) watch(p *proc, osp *os.Process, pr *os.File, start time.Time) {
	defer r.running.Done()
	defer close(p.done)
	defer osp.Release()
	kept := make(chan string, 1)
	if pr != nil {
		// Read on a goroutine of its own; closing pr ends it, so a
		// grandchild holding the pipe open never delays the result.
		go func() { kept <- readCapped(pr) }()
	} else {
		kept <- ""
	}
	res := track.Result{ExitCode: -1}
	timeout := time.NewTimer(r.opts.Timeout)
	defer timeout.Stop()
	var kill <-chan time.Time
	step := time.Millisecond
	poll := time.NewTimer(step)
	defer poll.Stop()
	detach := r.detach
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(p.pid, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			res.Err = fmt.Errorf("wait: %w", err)
			break
		}
		if pid == p.pid {
			if ws.Signaled() {
				res.Signal = ws.Signal()
			} else {
				res.ExitCode = ws.ExitStatus()
			}
			break
		}
		select {
		case <-poll.C:
			step = min(2*step, pollMax)
			poll.Reset(step)
		case <-timeout.C:
			res.TimedOut = true
			_ = syscall.Kill(-p.pid, syscall.SIGTERM)
			k := time.NewTimer(track.DefaultKillGrace)
			defer k.Stop()
			kill = k.C
		case <-kill:
			kill = nil
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		case <-detach:
			detach = nil
			if res.TimedOut {
				// Past its timeout: finish it rather than leave it.
				kill = nil
				_ = syscall.Kill(-p.pid, syscall.SIGKILL)
				continue
			}
			r.left.Add(1)
			r.log.Debug("notify script left running", zap.String("script", p.where), zap.Int("pid", p.pid),
				zap.Duration("running", time.Since(start)))
			if pr != nil {
				pr.Close()
			}
			<-kept
			return
		}
	}
	if res.TimedOut {
		// The leader is gone; children it left in its group go too.
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	}
	if pr != nil {
		pr.Close()
	}
	res.Output = <-kept
	res.Duration = time.Since(start)
	if !res.OK() {
		r.failed(p.where, config.Command{Cmd: p.cmd}, res)
	}
}

// readCapped reads f until it fails (closed, or every writer gone) and
// returns the first track.OutputCap bytes.
func readCapped(f *os.File) string {
	var keep []byte
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		if room := track.OutputCap - len(keep); room > 0 {
			keep = append(keep, buf[:min(n, room)]...)
		}
		if err != nil {
			return string(keep)
		}
	}
}

func (r *Runner) failed(where string, c config.Command, res track.Result) {
	r.log.Warn("notify script failed", zap.String("script", where), zap.String("cmd", c.Cmd),
		zap.Stringer("result", res), zap.String("output", res.Output))
}

func (r *Runner) prepare(where string, c config.Command) *track.Command {
	r.cmdMu.Lock()
	defer r.cmdMu.Unlock()
	key := c.Cmd + "\x00" + c.User + "\x00" + c.Group
	if cmd, ok := r.cmds[key]; ok {
		return cmd
	}
	cmd, err := track.PrepareCommand(where, c, r.opts.Global)
	if err != nil && r.opts.SkipSecurity && cmd == nil {
		if argv, e := track.SplitCommand(c.Cmd); e == nil {
			cmd, err = &track.Command{Argv: argv}, nil
		}
	}
	if err != nil {
		if cmd == nil {
			r.log.Error("notify script refused", zap.String("script", where), zap.Error(err))
		} else {
			r.log.Warn("notify script insecure", zap.String("script", where), zap.Error(err))
		}
	}
	r.cmds[key] = cmd
	return cmd
}

// writeFifo writes one line to a FIFO, created if missing, opened
// read-write and non-blocking as keepalived does, so that an absent reader
// never blocks: a full pipe drops the line.
func (r *Runner) writeFifo(path, line string) {
	r.cmdMu.Lock()
	f := r.fifos[path]
	if f == nil {
		if err := syscall.Mkfifo(path, 0o644); err != nil && !errors.Is(err, syscall.EEXIST) {
			r.cmdMu.Unlock()
			r.log.Warn("notify fifo not created", zap.String("fifo", path), zap.Error(err))
			return
		}
		fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err != nil {
			r.cmdMu.Unlock()
			r.log.Warn("notify fifo not opened", zap.String("fifo", path), zap.Error(err))
			return
		}
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
			syscall.Close(fd)
			r.cmdMu.Unlock()
			r.log.Warn("notify fifo is not a fifo", zap.String("fifo", path))
			return
		}
		f = os.NewFile(uintptr(fd), path)
		r.fifos[path] = f
	}
	r.cmdMu.Unlock()
	if _, err := syscall.Write(int(f.Fd()), []byte(line)); err != nil {
		r.log.Warn("notify fifo write", zap.String("fifo", path), zap.Error(err))
	}
}

// Close stops accepting notifications and starts, in order, every queued
// one, each waiting at most closeOrderGrace for the script before it (a
// hung one included): notify_stop and the generic notify's STOP call start
// before Close returns, in that order. Then it waits until the scripts have ended or ctx ends.
// Scripts still running then are left running, as keepalived leaves
// notify_stop running when it exits: no longer watched, nor killed at
// their timeout (those already past it are killed). Each is in a process
// group of its own, so the daemon's exit does not end it (a service
// manager killing the daemon's whole cgroup does: keepalived's unit has
// KillMode=process); scripts started for STOP or during Close write to
// /dev/null, so that they survive their output too. Every goroutine of
// the Runner has ended when Close returns. Close returns an error
// wrapping ctx's when it left scripts running.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.once.Do(func() { close(r.hurry) })
	// The workers wait at most closeOrderGrace per script now. Every
	// script is started once this returns.
	r.working.Wait()
	ended := make(chan struct{})
	go func() {
		r.running.Wait()
		close(ended)
	}()
	var err error
	select {
	case <-ended:
	case <-ctx.Done():
		r.detOnce.Do(func() { close(r.detach) })
		<-ended
		if n := r.left.Load(); n > 0 {
			err = fmt.Errorf("%d notify scripts left running: %w", n, ctx.Err())
		}
	}
	r.cmdMu.Lock()
	for p, f := range r.fifos {
		f.Close()
		delete(r.fifos, p)
	}
	r.cmdMu.Unlock()
	return err
}
