package daemon

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
)

// warmPlane is the auto dataplane of a daemon that starts: it receives on
// the socket dataplane from the first moment while the kernel dataplane
// loads in the background (the verifier takes 100-300 ms for the XDP
// program, most of the start-up time otherwise), then moves every binding
// to the kernel one and closes the sockets. The loop learns of the end of
// the load from a planeSwitch event and calls switchOver. When the kernel
// dataplane cannot load, or cannot receive on every bound interface, the
// socket one stays, as auto chooses when BPF cannot run.
//
// Both planes deliver on one channel, events, which warmPlane closes. A
// Backup whose master's adverts arrived on the socket sees the next one
// through the kernel (the first advert of a virtual router is a change
// record): the switch costs it no advert but those queued at that moment.
//
// Bind, Last, Check and switchOver run on the loop; Received, Counters
// and Name are safe for concurrent use.
type warmPlane struct {
	log    *zap.Logger
	events chan any
	first  Dataplane // receives until the switch (writes to events)
	// firstClosed: first was closed (at the switch or by Close).
	firstClosed bool
	stop        chan struct{}
	wg          sync.WaitGroup
	started     time.Time

	mu      sync.Mutex
	pending Dataplane // loaded and not yet taken by switchOver (Close closes it)

	binds []PlaneBinding // the last Bind (loop only)
	next  atomic.Pointer[warmNext]
}

// warmNext is the plane switched to and the adverts the socket plane had
// received for each virtual router by then (Received adds them, so the
// counters do not go back at the switch).
type warmNext struct {
	plane Dataplane
	base  map[rxKey]uint64
}

// planeSwitch tells the loop that the background load of a warmPlane
// ended (with err when it failed).
type planeSwitch struct {
	w    *warmPlane
	err  error
	took time.Duration
}

// newWarmPlane starts receiving on first and runs load in the background;
// the planes load returns must deliver to events, which first delivers
// to, and leave it open when they close.
func newWarmPlane(log *zap.Logger, events chan any, first Dataplane, load func() (Dataplane, error)) *warmPlane {
	w := &warmPlane{log: log, events: events, first: first, stop: make(chan struct{}), started: time.Now()}
	w.wg.Add(1)
	go w.load(load)
	return w
}

// load runs load and tells the loop.
func (w *warmPlane) load(load func() (Dataplane, error)) {
	defer w.wg.Done()
	p, err := load()
	if err == nil {
		w.mu.Lock()
		w.pending = p
		w.mu.Unlock()
	}
	select {
	case w.events <- planeSwitch{w: w, err: err, took: time.Since(w.started)}:
	case <-w.stop:
	}
}

// planeSwitched is the loop's side of a planeSwitch: the bound instances'
// advert counts so far go with the switch (the kernel dataplane counts
// from zero).
func (d *Daemon) planeSwitched(now time.Time, e planeSwitch) {
	counted := map[rxKey]uint64{}
	for _, inst := range d.insts {
		if inst.bound() {
			counted[inst.key] = inst.counters.advertRcvd.Load()
		}
	}
	e.w.switchOver(e, counted)
	d.dirty = true // the status names the dataplane
}

// switchOver binds the loaded plane to the current bindings and, if it
// receives on every interface, makes it the one in use.
func (w *warmPlane) switchOver(e planeSwitch, counted map[rxKey]uint64) {
	w.mu.Lock()
	p := w.pending
	w.pending = nil
	w.mu.Unlock()
	if e.err != nil || p == nil || w.firstClosed {
		if p != nil {
			p.Close()
		}
		w.log.Warn("dataplane chosen", zap.String("dataplane", DataplaneSocket),
			zap.String("why", "the bpf dataplane cannot run here"), zap.Error(e.err))
		return
	}
	if failed := p.Bind(w.binds); len(failed) > 0 {
		var errs []error
		for ifindex, err := range failed {
			errs = append(errs, fmt.Errorf("ifindex %d: %w", ifindex, err))
		}
		if err := p.Close(); err != nil {
			w.log.Warn("close the bpf dataplane", zap.Error(err))
		}
		w.log.Warn("dataplane chosen", zap.String("dataplane", DataplaneSocket),
			zap.String("why", "the bpf dataplane cannot receive on every interface"), zap.Error(errors.Join(errs...)))
		return
	}
	w.next.Store(&warmNext{plane: p, base: counted})
	w.firstClosed = true
	if err := w.first.Close(); err != nil {
		w.log.Warn("close the socket dataplane", zap.Error(err))
	}
	w.log.Info("dataplane switched", zap.String("dataplane", p.Name()), zap.Duration("load_took", e.took),
		zap.Int("bindings", len(w.binds)))
}

// cur is the plane in use.
func (w *warmPlane) cur() Dataplane {
	if n := w.next.Load(); n != nil {
		return n.plane
	}
	return w.first
}

func (w *warmPlane) Name() string       { return w.cur().Name() }
func (w *warmPlane) Events() <-chan any { return w.events }
func (w *warmPlane) Check() []planeLost { return w.cur().Check() }
func (w *warmPlane) Last(k rxKey) (vrrp.AdvertReceived, bool, bool) {
	return w.cur().Last(k)
}

func (w *warmPlane) Bind(bs []PlaneBinding) map[int]error {
	w.binds = bs
	return w.cur().Bind(bs)
}

func (w *warmPlane) Received(k rxKey) (uint64, bool) {
	n := w.next.Load()
	if n == nil {
		return w.first.Received(k)
	}
	v, ok := n.plane.Received(k)
	if !ok {
		return v, ok
	}
	return n.base[k] + v, true
}

func (w *warmPlane) Counters(c *planeCounters) {
	w.first.Counters(c)
	if n := w.next.Load(); n != nil {
		n.plane.Counters(c)
	}
}

// halt stops the background load (waiting for it) and closes a plane it
// loaded that was not switched to.
func (w *warmPlane) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
	w.mu.Lock()
	p := w.pending
	w.pending = nil
	w.mu.Unlock()
	if p != nil {
		p.Close()
	}
}

// Close stops the load, closes both planes and the events channel.
func (w *warmPlane) Close() error {
	w.halt()
	var errs []error
	if !w.firstClosed {
		w.firstClosed = true
		errs = append(errs, w.first.Close())
	}
	if n := w.next.Load(); n != nil {
		errs = append(errs, n.plane.Close())
	}
	close(w.events)
	return errors.Join(errs...)
}

// The handoffPlane side (upgrade.go): once switched, the kernel
// dataplane's attachments and pins are handed over; before, there is
// nothing to hand over (the new process attaches anew). A warmPlane is
// never built for the process that adopts (Options.Upgrade loads the
// kernel dataplane before Adopt).

func (w *warmPlane) handoff() handoffPlane {
	if n := w.next.Load(); n != nil {
		if h, ok := n.plane.(handoffPlane); ok {
			return h
		}
	}
	return nil
}

func (w *warmPlane) attachments() []AttachmentHandoff {
	if h := w.handoff(); h != nil {
		return h.attachments()
	}
	return nil
}

func (w *warmPlane) inherit(as []AttachmentHandoff) error {
	if len(as) == 0 {
		return nil
	}
	if h := w.handoff(); h != nil {
		return h.inherit(as)
	}
	return errors.New("inherit attachments: the bpf dataplane is not loaded yet")
}

func (w *warmPlane) release() error {
	w.halt()
	var err error
	if h := w.handoff(); h != nil {
		err = h.release()
	} else if !w.firstClosed {
		w.firstClosed = true
		err = w.first.Close()
	}
	close(w.events)
	return err
}

func (w *warmPlane) pin(id string) error {
	if h := w.handoff(); h != nil {
		return h.pin(id)
	}
	return nil
}
