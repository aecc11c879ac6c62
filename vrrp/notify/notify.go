package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
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
	// DefaultTimeout bounds one notify script run. keepalived has none;
	// a script hanging forever would stall every later notification of
	// its instance here, so it is killed after this long.
	DefaultTimeout = 60 * time.Second
	// DefaultQueue is the number of pending notifications per instance or
	// group; beyond it the oldest is dropped and counted.
	DefaultQueue = 64
)

// Options configure a Runner.
type Options struct {
	Global config.Global // script_user, enable_script_security, notify_fifo
	// Timeout per script run; 0: DefaultTimeout.
	Timeout time.Duration
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
	busy    bool
	wake    chan struct{}
}

// Runner runs notify scripts and writes notify_fifo lines, asynchronously
// and strictly in order per instance or group: one queue and one worker
// goroutine each. Notify never blocks. A failing or hanging script is
// logged (and killed after the timeout), never fatal. Safe for concurrent
// use.
type Runner struct {
	log  *zap.Logger
	opts Options

	mu      sync.Mutex
	workers map[string]*worker
	closed  bool
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc

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
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{log: log, opts: opts, workers: map[string]*worker{}, ctx: ctx, cancel: cancel,
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
		w = &worker{wake: make(chan struct{}, 1)}
		r.workers[key] = w
		r.wg.Add(1)
		go r.work(w)
	}
	w.mu.Lock()
	if len(w.queue) >= r.opts.Queue {
		w.queue = w.queue[1:]
		w.dropped++
	}
	w.queue = append(w.queue, job{kind: kind, name: name, n: n, state: state, priority: priority})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (r *Runner) work(w *worker) {
	defer r.wg.Done()
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.mu.Unlock()
			select {
			case <-w.wake:
				continue
			case <-r.ctx.Done():
				return
			}
		}
		j := w.queue[0]
		w.queue = w.queue[1:]
		dropped := w.dropped
		w.dropped = 0
		w.busy = true
		w.mu.Unlock()
		if dropped > 0 {
			r.log.Warn("notifications dropped: queue full", zap.String("name", j.name), zap.Int("dropped", dropped))
		}
		if r.ctx.Err() != nil {
			return
		}
		r.run(j)
		w.mu.Lock()
		w.busy = false
		w.mu.Unlock()
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
	if specific.Cmd != "" {
		r.exec(where+" notify_"+j.state, specific)
	}
	if j.n.Generic.Cmd != "" {
		r.exec(where+" notify", j.n.Generic, j.kind.String(), j.name, j.state, prio)
	}
	line := fmt.Sprintf("%s %q %s %s\n", j.kind, j.name, j.state, prio)
	for _, f := range []string{r.opts.Global.NotifyFifo, j.n.Fifo} {
		if f != "" {
			r.writeFifo(f, line)
		}
	}
}

func (r *Runner) exec(where string, c config.Command, extra ...string) {
	cmd := r.prepare(where, c)
	if cmd == nil {
		return
	}
	res := cmd.Run(r.ctx, r.opts.Timeout, 0, extra...)
	if !res.OK() {
		r.log.Warn("notify script failed", zap.String("script", where), zap.String("cmd", c.Cmd),
			zap.Stringer("result", res), zap.String("output", res.Output))
	}
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

// Close stops accepting notifications, lets the workers finish what is
// queued until ctx ends, then kills running scripts and waits for the
// workers. It returns ctx's error when the deadline cut the queue short.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	ws := make([]*worker, 0, len(r.workers))
	for _, w := range r.workers {
		ws = append(ws, w)
	}
	r.mu.Unlock()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for _, w := range ws {
			for {
				w.mu.Lock()
				n := len(w.queue)
				if w.busy {
					n++
				}
				w.mu.Unlock()
				if n == 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	r.cancel()
	r.wg.Wait()
	r.cmdMu.Lock()
	for _, f := range r.fifos {
		f.Close()
	}
	r.cmdMu.Unlock()
	return err
}
