package daemon

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// kernelHeartbeat is how often the kernel reports an unchanged master: a
// slow safety net; the master-down deadline reads the adverts map anyway.
const kernelHeartbeat = 5 * time.Second

// kernelWatch turns on the kernel's silence watch (loader
// Options.WatchSilence): a Backup whose master keeps advertising is not
// woken at its master-down deadline; the kernel reports the silence
// instead (docs/BENCHMARKS.md "Kernel path": the loop then sleeps through
// the steady state). XVRRP_KERNEL_WATCH=0 in the environment turns it off
// (Backups then read the adverts map at each deadline), for comparing the
// two in benchmarks.
var kernelWatch = os.Getenv("XVRRP_KERNEL_WATCH") != "0"

// kernelWatchSafety: a watched Backup's deadline is pushed at most this far
// ahead, so a lost silence report (ring buffer full) delays a takeover by
// at most this much.
const kernelWatchSafety = time.Second

// startKernel loads the BPF receive path, configures it with every
// instance's checks and attaches it to every instance interface in mode.
// The error wraps loader.ErrUnavailable when BPF cannot run here.
func (d *Daemon) startKernel(mode loader.Mode, id string) error {
	l, err := loader.Load(loader.Options{ID: id, Heartbeat: kernelHeartbeat, WatchSilence: kernelWatch, Log: d.log.Named("loader")})
	if err != nil {
		return err
	}
	var insts []loader.Instance
	for _, inst := range d.insts {
		e := &inst.expect
		insts = append(insts, loader.Instance{
			Ifindex:          inst.ifi.Index,
			VRID:             e.VRID,
			IPv6:             e.IPv6,
			Version:          uint8(e.Version),
			Interval:         e.Interval,
			AuthType:         uint8(e.AuthType),
			AuthData:         e.AuthData,
			VIPs:             e.VIPs,
			SkipCheckAdvAddr: e.SkipCheckAdvAddr,
			UnicastPeers:     e.UnicastPeers,
			CheckUnicastSrc:  e.CheckUnicastSrc,
			OwnAddrs:         e.OwnAddrs,
		})
	}
	if err := l.SetInstances(insts); err != nil {
		l.Close()
		return fmt.Errorf("configure bpf instances: %w", err)
	}
	attached := map[int]bool{}
	for _, inst := range d.insts {
		if attached[inst.ifi.Index] {
			continue
		}
		attached[inst.ifi.Index] = true
		got, err := l.Attach(inst.ifi.Index, mode)
		if err != nil {
			l.Close()
			return fmt.Errorf("attach to %s: %w", inst.ifi.Name, err)
		}
		d.log.Info("bpf program attached", zap.String("iface", inst.ifi.Name), zap.Stringer("mode", got))
		d.dataplane = got.String()
	}
	d.kernel = l
	return nil
}

// chooseDataplane sets up where adverts are received: the kernel path for
// auto, xdp and tc (auto falls back to the raw socket when BPF cannot run),
// the raw socket for socket.
func (d *Daemon) chooseDataplane(name, id string) error {
	var mode loader.Mode
	switch name {
	case "", DataplaneAuto:
		mode = loader.ModeAuto
	case DataplaneXDP:
		mode = loader.ModeXDP
	case DataplaneTC:
		mode = loader.ModeTC
	case DataplaneSocket:
		d.dataplane = DataplaneSocket
		d.log.Info("dataplane chosen", zap.String("dataplane", DataplaneSocket), zap.String("why", "asked for"))
		return d.openReceivers()
	}
	err := d.startKernel(mode, id)
	if err == nil {
		d.log.Info("dataplane chosen", zap.String("dataplane", d.dataplane), zap.String("pins", d.kernel.PinDir()))
		return nil
	}
	if mode != loader.ModeAuto || !errors.Is(err, loader.ErrUnavailable) {
		return fmt.Errorf("dataplane %s: %w", name, err)
	}
	d.dataplane = DataplaneSocket
	d.log.Warn("dataplane chosen", zap.String("dataplane", DataplaneSocket),
		zap.String("why", "the bpf dataplane cannot run here"), zap.Error(err))
	return d.openReceivers()
}

// kernelEvent steps the instance a kernel record is about. The record
// passed every check of vrrp.Validate, the address list included, so the
// advert carries the instance's own VIPs.
func (d *Daemon) kernelEvent(now time.Time, e loader.Event) {
	inst := d.byKey[rxKey{ifindex: e.Ifindex, ipv6: e.IPv6, vrid: e.VRID}]
	if inst == nil {
		return
	}
	if e.Kinds == loader.EventSilent {
		// No advert for 3 advertised intervals: the master-down deadline
		// (that plus Skew_Time) is near. Step a last advert if one came
		// meanwhile; else restore the router's own deadline (the Tick
		// takes over at once if it already passed).
		if inst.router.State() == vrrp.Backup && !d.refreshOne(now, inst) {
			inst.step(d, now, vrrp.Tick{})
		}
		return
	}
	if e.Kinds == loader.EventHeartbeat && inst.router.State() != vrrp.Backup {
		// A heartbeat repeats an advert already reported. A master answers
		// a lower-priority advert at once (keepalived's default), and it
		// did so for the first report: answering each heartbeat of a
		// forger's unchanged advert would only add adverts to the wire.
		return
	}
	d.stats.accepted.Add(1)
	// A Backup first replays the last unchanged advert before the change
	// (not reported on its own): the Master_Down_Timer restarts from it,
	// so a master whose priority drops below ours is taken over one
	// Master_Down_Interval after its last higher-priority advert, not
	// after an older one (RFC 5798 §6.4.2).
	if p := e.Prev; !p.Time.IsZero() && p.Time.After(inst.kernelSeen) && inst.router.State() == vrrp.Backup {
		inst.kernelSeen = p.Time
		inst.step(d, now, vrrp.AdvertReceived{Advert: inst.kernelAdvert(p.Priority, p.Interval), Src: p.Src, At: p.Time})
	}
	if e.Time.After(inst.kernelSeen) {
		inst.kernelSeen = e.Time
	}
	inst.step(d, now, vrrp.AdvertReceived{Advert: inst.kernelAdvert(e.Priority, e.Interval), Src: e.Src, At: e.Time})
}

// refreshFromKernel runs before a Backup's deadline fires: adverts of an
// unchanged master are only recorded in the kernel's adverts map, so the
// last one is stepped now, with its arrival time, and the master-down timer
// moves on from there.
//
// The other Backups whose deadline comes within two of their advert
// intervals are refreshed in the same pass: masters advertising at the
// same rate then keep their Backups' deadlines together, and the loop
// wakes once per master-down period for all of them instead of once per
// instance (255 Backups at advert_int 0.01: ~40 wake-ups a second instead
// of thousands). Reading the map is a memory read (it is mapped), and a
// refresh that finds no newer advert steps nothing.
func (d *Daemon) refreshFromKernel(now time.Time, inst *instance) {
	d.refreshOne(now, inst)
	for _, o := range d.insts {
		if o == inst || o.next.IsZero() || o.router.State() != vrrp.Backup ||
			o.next.Sub(now) > 2*o.advert.Interval {
			continue
		}
		d.refreshOne(now, o)
	}
}

// refreshOne steps inst with the adverts map's last advert if it is newer
// than the last one stepped. With the kernel's silence watch running for
// that advert, and the router restarting its Master_Down_Timer from it (a
// Backup that accepted it), the deadline is pushed back by up to
// kernelWatchSafety: the kernel's EventSilent comes before the real one.
// It returns whether the deadline was pushed.
func (d *Daemon) refreshOne(now time.Time, inst *instance) bool {
	st, ok := d.kernel.AdvertState(inst.ifi.Index, inst.cfg.VRID, inst.expect.IPv6)
	if !ok || !st.LastSeen.After(inst.kernelSeen) {
		return false
	}
	inst.kernelSeen = st.LastSeen
	inst.step(d, now, vrrp.AdvertReceived{Advert: inst.kernelAdvert(st.Priority, st.Interval), Src: st.Master, At: st.LastSeen})
	if !kernelWatch || !st.Watched || inst.router.State() != vrrp.Backup {
		return false
	}
	// RFC 5798 §6.4.2: an accepted advert restarts the timer at
	// Master_Down_Interval; a discarded one (preemption) leaves it, and
	// then it must fire on time.
	mdi := vrrp.MasterDownInterval(inst.advert.Version, inst.router.Priority(), inst.router.MasterAdverInterval())
	if !inst.next.Equal(st.LastSeen.Add(mdi)) {
		return false
	}
	if later := now.Add(kernelWatchSafety); inst.next.Before(later) {
		inst.next = later
	}
	return true
}

// kernelAdvert rebuilds the advert a kernel record stands for.
func (inst *instance) kernelAdvert(prio uint8, interval time.Duration) vrrp.Advert {
	return vrrp.Advert{
		Version:  inst.advert.Version,
		VRID:     inst.advert.VRID,
		Priority: prio,
		Interval: interval,
		AuthType: inst.advert.AuthType,
		AuthData: inst.advert.AuthData,
		Addrs:    inst.advert.Addrs,
	}
}

// kernelStats copies the kernel's counters into the status.
func (d *Daemon) kernelStats(s *Status) {
	if d.kernel == nil {
		return
	}
	ks, err := d.kernel.Stats()
	if err != nil {
		return
	}
	s.Received, s.Accepted = 0, ks.Drops[0]
	for r, n := range ks.Drops {
		s.Received += n
		if r != 0 && n > 0 {
			s.Drops[vrrp.DropReason(r).String()] = n
		}
	}
	s.KernelEvents, s.KernelEventsLost = ks.Events, ks.EventsLost
}
