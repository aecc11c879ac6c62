package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

// reloadRequest asks the loop to apply a configuration.
type reloadRequest struct {
	cfg  *config.Config
	done chan error
}

// Reload applies cfg, a configuration that loaded without errors, to the
// running daemon (SIGHUP, `xvrrpctl reload`), and returns once the loop
// has applied it or refused it. Instances whose settings did not change
// keep their state, VIPs and timers; a priority change is applied as a
// priority change and a VIP list change as the difference; any other
// change restarts only that instance; added instances start, removed ones
// resign. On an error nothing has changed. Safe for concurrent use; it
// waits for Run.
func (d *Daemon) Reload(ctx context.Context, cfg *config.Config) error {
	req := reloadRequest{cfg: cfg, done: make(chan error, 1)}
	select {
	case d.reloads <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reload is Reload in the loop.
func (d *Daemon) reload(now time.Time, cfg *config.Config) error {
	began := time.Now() // real time, for the log: now may be a test's clock
	err := d.applyConfig(now, cfg)
	if err != nil {
		d.stats.reloadErrors.Add(1)
		d.log.Error("reload refused: the running configuration stays", zap.Error(err))
		return err
	}
	d.stats.reloads.Add(1)
	d.log.Info("reload applied", zap.Duration("took", time.Since(began)), zap.Int("instances", len(d.insts)))
	return nil
}

func (d *Daemon) applyConfig(now time.Time, cfg *config.Config) error {
	if len(cfg.Instances) == 0 {
		return errors.New("configuration has no vrrp_instance")
	}
	// Everything that can fail comes first: on an error nothing changed.
	// Only added and restarted instances are built anew.
	old := map[string]*instance{}
	for _, inst := range d.insts {
		old[inst.cfg.Name] = inst
	}
	fresh := make([]*instance, len(cfg.Instances))
	for i, in := range cfg.Instances {
		if o := old[in.Name]; o != nil && !restartNeeded(&d.cfg.Global, &cfg.Global, o.cfg, in) {
			continue
		}
		n, err := newInstance(d.log, &cfg.Global, in)
		if err != nil {
			return err
		}
		fresh[i] = n
	}
	keepTracker := sameTracking(d.cfg, cfg)
	var tr Tracker
	if !keepTracker {
		var err error
		if tr, err = d.parts.newTracker(cfg); err != nil {
			return fmt.Errorf("trackers: %w", err)
		}
	}

	var insts, started, kept []*instance
	var added, changed, restarted []string
	for i, in := range cfg.Instances {
		o, n := old[in.Name], fresh[i]
		switch {
		case o == nil:
			insts, started = append(insts, n), append(started, n)
			added = append(added, in.Name)
		case n != nil:
			d.retire(now, o, "restarted by a reload")
			insts, started = append(insts, n), append(started, n)
			restarted = append(restarted, in.Name)
			delete(old, in.Name)
		default:
			if !reflect.DeepEqual(stripPos(*o.cfg), stripPos(*in)) {
				changed = append(changed, in.Name)
			}
			d.update(now, o, in, &cfg.Global)
			insts, kept = append(insts, o), append(kept, o)
			delete(old, in.Name)
		}
	}
	var removed []string
	for _, inst := range d.insts {
		if old[inst.cfg.Name] == inst {
			d.retire(now, inst, "removed by a reload")
			removed = append(removed, inst.cfg.Name)
		}
	}
	d.runPending(now)

	ga, gb := d.cfg.Global, cfg.Global
	ga.Pos, gb.Pos = config.Pos{}, config.Pos{}
	if !reflect.DeepEqual(ga, gb) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		d.notifier.Close(ctx)
		cancel()
		d.notifier = d.parts.newNotifier(cfg)
	}
	d.cfg, d.insts = cfg, insts
	d.groups = buildGroups(cfg, insts, d.groups)
	if !keepTracker {
		d.trackerStop()
		d.tracker = tr
		d.startTracker()
	}
	for _, inst := range kept {
		if keepTracker {
			d.tracker.SetBase(inst.cfg.Name, inst.cfg.Priority)
		}
		if u, ok := d.tracker.State(inst.cfg.Name); ok {
			d.applyTrack(now, inst, u)
		}
		if inst.sync != nil {
			d.syncFaults(now, inst.sync)
		}
	}
	for _, inst := range started {
		d.removeLeftovers(inst)
		d.tryBind(now, inst)
	}
	d.applyBindings(now)
	for _, inst := range started {
		d.startInstance(now, inst)
	}
	d.dirty = true
	d.log.Info("configuration reloaded", zap.Strings("added", added), zap.Strings("removed", removed),
		zap.Strings("restarted", restarted), zap.Strings("changed", changed), zap.Bool("trackers_kept", keepTracker))
	return nil
}

// retire stops an instance for good: a master resigns (priority 0) and
// removes its VIPs.
func (d *Daemon) retire(now time.Time, inst *instance, why string) {
	inst.log.Info("instance stopping", zap.String("why", why))
	d.step(inst, now, vrrp.Shutdown{})
	inst.detach()
	inst.next = time.Time{}
	d.rebind = true
}

// update applies to a running instance what changed in place: the
// configuration it reads (notify scripts, GARP settings, priority through
// the tracker) and its VIP list, by difference.
func (d *Daemon) update(now time.Time, inst *instance, in *config.Instance, g *config.Global) {
	inst.cfg = in
	inst.status.ConfiguredPriority = in.Priority
	nvips, advAddrs := vipsOf(in)
	if slices.Equal(vipKeys(inst.vips), vipKeys(nvips)) {
		return
	}
	master := inst.router.State() == vrrp.Master
	// VIPs no longer configured go; new ones come (a master adds them).
	var vips []netio.VIP
	var held []bool
	for _, v := range nvips {
		i := slices.IndexFunc(inst.vips, func(o netio.VIP) bool { return vipKey(o) == vipKey(v) })
		if i >= 0 {
			vips, held = append(vips, inst.vips[i]), append(held, inst.held[i])
			continue
		}
		if inst.bound() && v.Dev == inst.cfg.Interface {
			v.Index = inst.key.ifindex
		}
		vips, held = append(vips, v), append(held, false)
	}
	for i, v := range inst.vips {
		if !slices.ContainsFunc(nvips, func(o netio.VIP) bool { return vipKey(o) == vipKey(v) }) && inst.held[i] {
			d.setVIP(inst, i, v, false)
		}
	}
	inst.vips, inst.held = vips, held
	inst.advert.Addrs = advAddrs
	inst.expect.VIPs = advAddrs
	d.rebind = true
	if master {
		d.restoreVIPs(now, inst)
	}
	inst.vipStatus()
	d.dirty = true
}

// vipKey identifies a VIP line for a reload diff.
func vipKey(v netio.VIP) string {
	return v.Prefix.String() + " " + v.Dev + " " + v.Label + " " + v.Scope
}

func vipKeys(vs []netio.VIP) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = vipKey(v)
	}
	return out
}

// restartNeeded tells whether a changed instance must be restarted: any
// change but those applied in place (priority other than to or from 255,
// VIPs, notify scripts, tracking, GARP repeats) — and global settings
// that shape its adverts.
func restartNeeded(ga, gb *config.Global, a, b *config.Instance) bool {
	if (a.Priority == vrrp.PriorityOwner) != (b.Priority == vrrp.PriorityOwner) {
		return true
	}
	if ga.SkipCheckAdvAddr != gb.SkipCheckAdvAddr {
		return true
	}
	x, y := inPlace(*a), inPlace(*b)
	return !reflect.DeepEqual(x, y)
}

// inPlace clears the fields of an instance that a reload applies in
// place, and source positions.
func inPlace(in config.Instance) config.Instance {
	in = stripPos(in)
	in.Priority = 0
	in.VIPs, in.ExcludedVIPs = nil, nil
	in.Notify = config.Notify{}
	in.TrackInterfaces, in.TrackScripts, in.TrackFiles = nil, nil, nil
	in.Garp.MasterRepeat, in.Garp.MasterRefreshRepeat = 0, 0
	in.SMTPAlert = false
	in.SyncGroup = ""
	return in
}

// stripPos clears where an instance was written, which a reload may move.
func stripPos(in config.Instance) config.Instance {
	in.Pos = config.Pos{}
	in.VIPs = stripVIPPos(in.VIPs)
	in.ExcludedVIPs = stripVIPPos(in.ExcludedVIPs)
	return in
}

func stripVIPPos(vs []config.VIP) []config.VIP {
	out := make([]config.VIP, len(vs))
	for i, v := range vs {
		v.Pos = config.Pos{}
		out[i] = v
	}
	return out
}

var posRE = regexp.MustCompile(`Pos:\{File:[^ }]* Line:\d+\}`)

// sameTracking tells whether two configurations track the same objects
// the same way (priorities aside): the running trackers, with their
// rise/fall counts, can then stay.
func sameTracking(a, b *config.Config) bool {
	type tracking struct {
		Scripts, Files any
		Insts          []any
		Groups         []any
	}
	view := func(c *config.Config) string {
		t := tracking{Scripts: c.Scripts, Files: c.TrackFiles}
		for _, in := range c.Instances {
			t.Insts = append(t.Insts, []any{in.Name, in.Interface, in.DontTrackPrimary, in.TrackInterfaces, in.TrackScripts, in.TrackFiles, in.Priority == vrrp.PriorityOwner})
		}
		for _, g := range c.SyncGroups {
			t.Groups = append(t.Groups, g)
		}
		// Source positions move with any edit of the file: not a change.
		return posRE.ReplaceAllString(fmt.Sprintf("%+v", t), "")
	}
	return view(a) == view(b)
}
