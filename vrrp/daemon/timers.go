package daemon

import (
	"slices"
	"time"
	"unsafe"
)

// The loop's single timer fires at the earliest deadline of every
// instance. The deadlines are kept in a min-heap so that a wake-up costs
// O(k log n) for k instances due among n, not a scan of all of them:
// 4 000 masters at 1 s whose phases are spread wake the loop 4 000 times a
// second (BenchmarkLoopWake: 43 µs a wake with scans, 17 % of a core).
//
// The heap is lazy: an entry is current while its time equals the
// instance's next. schedule pushes an entry when next has changed (step,
// refreshOne); an entry whose instance has moved on is dropped when it
// comes up. An instance whose next was set to zero (no timer) or that was
// removed by a reload leaves only stale entries. The heap is rebuilt
// whenever the instance list changes (reload, Adopt).

// timerEntry is one deadline of the heap.
type timerEntry struct {
	at   time.Time
	inst *instance
}

// timerHeap is a binary min-heap by at.
type timerHeap []timerEntry

func (h *timerHeap) push(e timerEntry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[i].at.Before(s[p].at) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *timerHeap) pop() timerEntry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = timerEntry{}
	s = s[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && s[l].at.Before(s[m].at) {
			m = l
		}
		if r := l + 1; r < n && s[r].at.Before(s[m].at) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// schedule records inst's deadline in the heap if it changed since its
// last entry.
func (d *Daemon) schedule(inst *instance) {
	if inst.next.IsZero() || inst.next.Equal(inst.armedAt) {
		return
	}
	inst.armedAt = inst.next
	d.timers.push(timerEntry{at: inst.next, inst: inst})
}

// syncTimers rebuilds the heap when the instance list is not the one it
// was built for, and recounts the resigning instances.
func (d *Daemon) syncTimers() {
	if len(d.insts) == d.timersLen && (len(d.insts) == 0 || unsafe.SliceData(d.insts) == d.timersOf) {
		return
	}
	d.timersLen, d.timersOf = len(d.insts), unsafe.SliceData(d.insts)
	clear(d.timers)
	d.timers = d.timers[:0]
	d.resigns = 0
	for i, inst := range d.insts {
		inst.order = i
		inst.armedAt = time.Time{}
		d.schedule(inst)
		if inst.router.Resigning() {
			d.resigns++
		}
	}
}

// earliest returns the earliest current deadline (ok false: none). Stale
// entries on top are dropped; an instance whose next changed without
// schedule is scheduled again on the way.
func (d *Daemon) earliest() (time.Time, bool) {
	d.syncTimers()
	for len(d.timers) > 0 {
		e := d.timers[0]
		if !e.at.IsZero() && e.at.Equal(e.inst.next) {
			return e.at, true
		}
		d.timers.pop()
		if e.at.Equal(e.inst.armedAt) {
			e.inst.armedAt = time.Time{}
			d.schedule(e.inst)
		}
	}
	return time.Time{}, false
}

// dueInstances pops the instances whose deadline is at or before now, in
// the order of the instance list (into d.dueBuf, reused).
func (d *Daemon) dueInstances(now time.Time) []*instance {
	due := d.dueBuf[:0]
	d.dueSeq++
	for {
		at, ok := d.earliest()
		if !ok || at.After(now) {
			break
		}
		e := d.timers.pop()
		e.inst.armedAt = time.Time{}
		if e.inst.dueSeq != d.dueSeq {
			e.inst.dueSeq = d.dueSeq
			due = append(due, e.inst)
		}
	}
	slices.SortFunc(due, func(a, b *instance) int { return a.order - b.order })
	d.dueBuf = due
	return due
}

// stepped keeps the resigning count and the heap up to date after inst
// stepped: wasResigning is the router's Resigning before the step.
func (d *Daemon) stepped(inst *instance, wasResigning bool) {
	if r := inst.router.Resigning(); r != wasResigning {
		if r {
			d.resigns++
		} else if d.resigns > 0 {
			d.resigns--
		}
	}
	d.schedule(inst)
}

// anyResigning tells whether an instance may resign (a scan is then
// worth it; it recounts).
func (d *Daemon) anyResigning() bool {
	d.syncTimers()
	return d.resigns > 0
}

// resigningNext is the resign poll's deadline when an instance resigns.
func (d *Daemon) resigningNext(now time.Time, next time.Time) time.Time {
	n := 0
	for _, inst := range d.insts {
		if inst.router.Resigning() {
			n++
			if now.Add(resignPoll).Before(next) {
				next = now.Add(resignPoll)
			}
		}
	}
	d.resigns = n
	return next
}
