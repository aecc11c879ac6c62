package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/control"
)

// snapshot copies the loop's view into the status readers see.
func (d *Daemon) snapshot() {
	s := control.Status{
		Dataplane:  d.parts.plane.Name(),
		ConfigFile: d.opts.ConfigFile,
	}
	refs := make([]statusRef, 0, len(d.insts))
	for _, inst := range d.insts {
		s.Instances = append(s.Instances, inst.status)
		refs = append(refs, statusRef{counters: inst.counters, key: inst.key, bound: inst.bound(), name: inst.cfg.Name, tracker: d.tracker})
	}
	d.statusMu.Lock()
	d.status, d.statusRefs = s, refs
	d.statusMu.Unlock()
	d.dirty = false
}

// statusRef is what Status reads live for one instance of the snapshot:
// its counters, the dataplane's count of its adverts, its trackers.
type statusRef struct {
	counters *instCounters
	key      rxKey
	bound    bool
	name     string
	tracker  Tracker
}

// Status returns the latest snapshot, with current counters. Safe for
// concurrent use.
func (d *Daemon) Status() control.Status {
	d.statusMu.Lock()
	s := d.status
	refs := d.statusRefs
	d.statusMu.Unlock()
	s.Instances = append([]control.InstanceStatus(nil), s.Instances...)
	for i := range s.Instances {
		r := refs[i]
		s.Instances[i].Stats = r.counters.stats()
		if n, ok := d.parts.plane.Received(r.key); ok && r.bound {
			s.Instances[i].Stats.AdvertRcvd = n
		}
		for _, o := range r.tracker.Tracked(r.name) {
			s.Instances[i].Trackers = append(s.Instances[i].Trackers, control.TrackerStatus(o))
		}
	}
	var c planeCounters
	d.parts.plane.Counters(&c)
	s.Received, s.Accepted, s.QueueFull = c.Received, c.Accepted, c.QueueFull
	s.KernelEvents, s.KernelEventsLost = c.Events, c.EventsLost
	s.Drops = map[string]uint64{}
	for r, n := range c.Drops {
		if r != int(vrrp.DropNone) && n > 0 {
			s.Drops[vrrp.DropReason(r).String()] = n
		}
	}
	s.AdvertsSent = d.stats.advertsSent.Load()
	s.GarpBursts = d.stats.garpBursts.Load()
	s.Transitions = d.transitions.Load()
	s.Reloads, s.ReloadErrors = d.stats.reloads.Load(), d.stats.reloadErrors.Load()
	s.HostEvents, s.WatchDropped = d.stats.hostEvents.Load(), d.watchers.dropped.Load()
	return s
}

// WriteData writes the data dump (keepalived's /tmp/keepalived.data,
// SIGUSR1): every instance's state and settings as the loop sees them, as
// indented JSON. Safe for concurrent use.
func (d *Daemon) WriteData(w io.Writer) error {
	st := d.Status()
	dump := struct {
		Time      time.Time                `json:"time"`
		Dataplane string                   `json:"dataplane"`
		Instances []control.InstanceStatus `json:"instances"`
	}{time.Now(), st.Dataplane, st.Instances}
	return writeJSON(w, dump)
}

// WriteStats writes the stats dump (keepalived's /tmp/keepalived.stats,
// SIGUSR2): counters, as indented JSON. Safe for concurrent use.
func (d *Daemon) WriteStats(w io.Writer) error {
	st := d.Status()
	st.Instances = nil
	return writeJSON(w, struct {
		Time time.Time `json:"time"`
		control.Status
	}{time.Now(), st})
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write dump: %w", err)
	}
	return nil
}
