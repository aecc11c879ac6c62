package daemon

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

// watcherBuffer is how many events a slow watcher may lag behind before
// events are dropped for it (counted, never blocking the loop).
const watcherBuffer = 256

// watchers fans state changes out to `xvrrpctl watch` clients.
type watchers struct {
	mu      sync.Mutex
	subs    map[chan control.Event]struct{}
	dropped atomic.Uint64
}

// Watch returns a channel of state changes from now on, closed when ctx
// ends. A watcher more than watcherBuffer events behind loses events (the
// loop never waits for it). Safe for concurrent use.
func (d *Daemon) Watch(ctx context.Context) <-chan control.Event {
	w := &d.watchers
	ch := make(chan control.Event, watcherBuffer)
	w.mu.Lock()
	if w.subs == nil {
		w.subs = map[chan control.Event]struct{}{}
	}
	w.subs[ch] = struct{}{}
	w.mu.Unlock()
	go func() {
		<-ctx.Done()
		w.mu.Lock()
		delete(w.subs, ch)
		close(ch)
		w.mu.Unlock()
	}()
	return ch
}

// publish sends e to every watcher that has room.
func (w *watchers) publish(e control.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs {
		select {
		case ch <- e:
		default:
			w.dropped.Add(1)
		}
	}
}
