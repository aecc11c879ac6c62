package daemon

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// scanDeadline is the loop's deadline computed by scanning every
// instance: what the timer heap must always agree with (rig.advance
// checks it at every step of every test on the rig).
func scanDeadline(d *Daemon, now time.Time) time.Time {
	next := now.Add(time.Hour)
	for _, inst := range d.insts {
		if !inst.next.IsZero() && inst.next.Before(next) {
			next = inst.next
		}
		if inst.router.Resigning() && now.Add(resignPoll).Before(next) {
			next = now.Add(resignPoll)
		}
	}
	return next
}

// The heap pops in time order, whatever the order of the pushes.
func TestTimerHeapOrder(t *testing.T) {
	var h timerHeap
	base := time.Unix(1000, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		h.push(timerEntry{at: base.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)})
	}
	last := time.Time{}
	for len(h) > 0 {
		e := h.pop()
		if e.at.Before(last) {
			t.Fatalf("popped %v after %v", e.at, last)
		}
		last = e.at
	}
}

// Masters with spread phases: each wake-up steps exactly the instance
// that is due, and every instance keeps its cadence (RFC 5798 §6.4.3: the
// Adver_Timer fires every Advertisement_Interval).
func TestSpreadMastersEachOnItsDeadline(t *testing.T) {
	const n = 40
	env := newFakeEnv()
	env.addLink("eth0", "192.0.0.1")
	r := newRig(t, env, mastersConf(n))
	first := r.now.Add(time.Second)
	for i, inst := range r.d.insts {
		if inst.router.State() != vrrp.Master {
			t.Fatalf("%s is %v", inst.cfg.Name, inst.router.State())
		}
		r.d.step(inst, first.Add(time.Duration(i)*time.Second/n), vrrp.Tick{})
	}
	r.now = first.Add(time.Second - time.Millisecond)
	sent := func() []int {
		var out []int
		for _, p := range env.ports {
			out = append(out, len(p.sent))
		}
		return out
	}
	before := sent()
	wakes := 0
	end := r.now.Add(3 * time.Second)
	for {
		next := r.d.deadline(r.now)
		if next.After(end) {
			break
		}
		r.now = next
		r.d.handle(r.now, tick{})
		wakes++
	}
	if wakes != 3*n {
		t.Errorf("%d wake-ups in 3 s for %d masters at 1 s with spread phases, want %d", wakes, n, 3*n)
	}
	for i, c := range sent() {
		if c-before[i] != 3 {
			t.Errorf("port %d sent %d adverts in 3 s, want 3", i, c-before[i])
		}
	}
	if len(r.d.timers) > 2*n {
		t.Errorf("%d heap entries for %d instances: stale entries pile up", len(r.d.timers), n)
	}
}

// A master woken a little late (the loop's wake-up latency) keeps its
// cadence: each Adver_Timer runs from when the last one was due, so the
// latency does not add up from advert to advert; woken very late (a
// stall), it starts again from then, without a burst of catch-up adverts.
// Reference: RFC 5798 §6.4.3.
func TestMasterCadenceIgnoresWakeLatency(t *testing.T) {
	r := masterRig(t)
	inst := r.inst("VI_1")
	port := r.env.ports[len(r.env.ports)-1]
	due := inst.next
	for i := range 10 {
		r.now = due.Add(300 * time.Microsecond) // woken 0.3 ms late
		r.handle(tick{})
		if want := due.Add(time.Second); !inst.next.Equal(want) {
			t.Fatalf("round %d: next advert at %v, want %v (1 s after the last deadline)", i, inst.next, want)
		}
		due = inst.next
	}
	sent := len(port.sent)
	r.now = due.Add(2500 * time.Millisecond) // a stall of 2.5 intervals
	r.handle(tick{})
	if got := len(port.sent) - sent; got != 1 {
		t.Errorf("%d adverts after a stall, want 1", got)
	}
	if want := r.now.Add(time.Second); !inst.next.Equal(want) {
		t.Errorf("after a stall the next advert is at %v, want %v (1 s from now)", inst.next, want)
	}
}
