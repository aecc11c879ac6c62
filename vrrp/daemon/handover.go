package daemon

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
)

// loopCall runs fn in the loop and returns its error.
type loopCall struct {
	fn   func(now time.Time) error
	done chan error
}

// call runs fn in the loop (Run must be running) and waits for it or ctx.
func (d *Daemon) call(ctx context.Context, fn func(now time.Time) error) error {
	c := loopCall{fn: fn, done: make(chan error, 1)}
	select {
	case d.calls <- c:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Handover puts the named instance, or every member of the named sync
// group, or every instance when name is empty, in maintenance: a master
// resigns make-before-break (priority 0, VIPs kept until the backup that
// takes over advertises) and then stays BACKUP, never taking over, until
// Resume. A master that no backup relieves within the best backup's
// Master_Down_Interval stays MASTER and leaves maintenance (the VIPs are
// never left unserved); the status shows it. It returns once the
// handover has started. Safe for concurrent use; it waits for Run.
func (d *Daemon) Handover(ctx context.Context, name string) error {
	return d.call(ctx, func(now time.Time) error { return d.handover(now, name) })
}

func (d *Daemon) handover(now time.Time, name string) error {
	insts, err := d.named(name)
	if err != nil {
		return err
	}
	for _, inst := range insts {
		d.step(inst, now, vrrp.Hold{On: true})
		if inst.router.State() == vrrp.Master {
			inst.log.Info("handing over")
			inst.resignSince = now
			d.step(inst, now, vrrp.Resign{Timeout: resignTimeout(inst), Keep: true, Linger: resignLinger, Reason: "xvrrpctl handover"})
		}
	}
	return nil
}

// Resume takes the named instances (as Handover names them) out of
// maintenance: their Master_Down_Timer runs again, so an instance whose
// priority is the highest takes over again (preempt) one
// Master_Down_Interval later, make-before-break on the other side (the
// new master adds its VIPs before its advert makes the old one drop
// them). Safe for concurrent use; it waits for Run.
func (d *Daemon) Resume(ctx context.Context, name string) error {
	return d.call(ctx, func(now time.Time) error { return d.resume(now, name) })
}

func (d *Daemon) resume(now time.Time, name string) error {
	insts, err := d.named(name)
	if err != nil {
		return err
	}
	for _, inst := range insts {
		if inst.router.Held() {
			inst.log.Info("resuming")
		}
		d.step(inst, now, vrrp.Hold{On: false})
	}
	return nil
}

// named resolves an instance or sync group name ("" is every instance).
func (d *Daemon) named(name string) ([]*instance, error) {
	if name == "" {
		return d.insts, nil
	}
	if inst := d.instance(name); inst != nil {
		return []*instance{inst}, nil
	}
	for _, g := range d.groups {
		if g.cfg.Name == name {
			return g.members, nil
		}
	}
	d.log.Warn("no such instance or sync group", zap.String("name", name))
	return nil, fmt.Errorf("no vrrp_instance or vrrp_sync_group named %q", name)
}
