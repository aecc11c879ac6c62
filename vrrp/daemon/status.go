package daemon

import (
	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/control"
)

// Status and InstanceStatus are the control protocol's types (package
// control owns them); the aliases keep this package's and the e2e tests'
// spelling.
type (
	Status         = control.Status
	InstanceStatus = control.InstanceStatus
)

// snapshot copies the loop's view into the status readers see.
func (d *Daemon) snapshot() {
	s := Status{
		Dataplane:   d.dataplane,
		Received:    d.stats.received.Load(),
		Accepted:    d.stats.accepted.Load(),
		QueueFull:   d.stats.queueFull.Load(),
		AdvertsSent: d.stats.advertsSent.Load(),
		GarpBursts:  d.stats.garpBursts.Load(),
		Transitions: d.transitions.Load(),
		Drops:       map[string]uint64{},
	}
	for _, inst := range d.insts {
		s.Instances = append(s.Instances, inst.status)
	}
	d.statusMu.Lock()
	d.status = s
	d.statusMu.Unlock()
	d.dirty = false
}

// Status returns the latest snapshot, with current counters. Safe for
// concurrent use.
func (d *Daemon) Status() control.Status {
	d.statusMu.Lock()
	s := d.status
	d.statusMu.Unlock()
	s.Instances = append([]InstanceStatus(nil), s.Instances...)
	s.Received, s.Accepted = d.stats.received.Load(), d.stats.accepted.Load()
	s.QueueFull, s.AdvertsSent = d.stats.queueFull.Load(), d.stats.advertsSent.Load()
	s.GarpBursts = d.stats.garpBursts.Load()
	s.Drops = map[string]uint64{}
	for r := range vrrp.NumDropReasons {
		if n := d.stats.drops[r].Load(); n > 0 {
			s.Drops[vrrp.DropReason(r).String()] = n
		}
	}
	d.kernelStats(&s)
	return s
}
