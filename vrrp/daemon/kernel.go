package daemon

import (
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// kernelHeartbeat is how often the kernel reports an unchanged master: a
// slow safety net; deadlines read the adverts map anyway.
const kernelHeartbeat = 5 * time.Second

// kernelWatch turns on the kernel's silence watch (loader
// Options.WatchSilence): a Backup whose master keeps advertising is not
// woken at its master-down deadline; the kernel reports the silence
// instead (docs/BENCHMARKS.md "Kernel path"). XVRRP_KERNEL_WATCH=0 in the
// environment turns it off (Backups then read the adverts map at each
// deadline), for comparing the two in benchmarks.
var kernelWatch = os.Getenv("XVRRP_KERNEL_WATCH") != "0"

// kernelWatchSafety: a watched Backup's deadline is pushed at most this far
// ahead, so a lost silence report (ring buffer full) delays a takeover by
// at most this much.
const kernelWatchSafety = time.Second

// kernelPlane is the BPF receive path: the program validates adverts in
// the kernel and reports changes through the ring buffer; the adverts map
// holds the last advert of every virtual router.
type kernelPlane struct {
	log    *zap.Logger
	l      *loader.Loader
	mode   loader.Mode // asked for
	binds  bindings
	events chan any
	// sharedEvents: events belongs to another plane (warmPlane), which
	// closes it; translate does not.
	sharedEvents bool
	done         chan struct{}
	wg           sync.WaitGroup

	// Changed by Bind and Check (the loop) only.
	name     string
	attached map[int]string // ifindex → name
}

// startKernel loads the BPF receive path. The error wraps
// loader.ErrUnavailable when BPF cannot run here.
func startKernel(log *zap.Logger, mode loader.Mode, id string, queue int) (*kernelPlane, error) {
	return loadKernel(log, mode, id, make(chan any, queue), false)
}

// loadKernel is startKernel delivering its events to events; shared: the
// channel is another plane's, and stays open when this one closes.
func loadKernel(log *zap.Logger, mode loader.Mode, id string, events chan any, shared bool) (*kernelPlane, error) {
	l, err := loader.Load(loader.Options{
		ID: id, Heartbeat: kernelHeartbeat, WatchSilence: kernelWatch, Log: log,
		DropSamples: dropSamplesPerSecond, DropSampleSkip: []uint8{uint8(vrrp.DropOwnAddr), uint8(vrrp.DropRateLimited)},
	})
	if err != nil {
		return nil, err
	}
	p := &kernelPlane{log: log, l: l, mode: mode, events: events, sharedEvents: shared, done: make(chan struct{}),
		attached: map[int]string{}, name: mode.String()}
	p.wg.Add(1)
	go p.translate()
	return p, nil
}

func (p *kernelPlane) Name() string       { return p.name }
func (p *kernelPlane) Events() <-chan any { return p.events }

// Bind configures the program's instances, attaches to interfaces new to
// the set and detaches from those no longer in it.
func (p *kernelPlane) Bind(bs []PlaneBinding) map[int]error {
	insts := make([]loader.Instance, 0, len(bs))
	want := map[int]string{}
	for _, b := range bs {
		insts = append(insts, loaderInstance(b))
		want[b.Key.ifindex] = b.Ifname
	}
	// The table first: events of a new binding then find it.
	p.binds.set(bs)
	failed := map[int]error{}
	if err := p.l.SetInstances(insts); err != nil {
		for ifindex := range want {
			failed[ifindex] = fmt.Errorf("configure bpf instances: %w", err)
		}
		return failed
	}
	for ifindex, name := range p.attached {
		if _, ok := want[ifindex]; !ok {
			if err := p.l.Detach(ifindex); err != nil {
				p.log.Warn("detach bpf program", zap.String("iface", name), zap.Error(err))
			}
			delete(p.attached, ifindex)
		}
	}
	for ifindex, name := range want {
		if _, ok := p.attached[ifindex]; ok {
			continue
		}
		if err := p.attach(ifindex, name); err != nil {
			failed[ifindex] = err
		}
	}
	return failed
}

func (p *kernelPlane) attach(ifindex int, name string) error {
	got, err := p.l.Attach(ifindex, p.mode)
	if err != nil {
		return fmt.Errorf("attach to %s: %w", name, err)
	}
	p.log.Info("bpf program attached", zap.String("iface", name), zap.Int("ifindex", ifindex), zap.Stringer("mode", got))
	p.attached[ifindex] = name
	p.name = got.String()
	return nil
}

// Check finds attachments that are gone (a `bpftool link detach`, another
// program replacing ours) and attaches again.
func (p *kernelPlane) Check() []planeLost {
	var out []planeLost
	for _, lost := range p.l.CheckAttachments() {
		name := p.attached[lost.Ifindex]
		l := planeLost{Ifindex: lost.Ifindex, Err: fmt.Errorf("bpf program on %s: %w", name, lost.Err)}
		p.l.Detach(lost.Ifindex)
		delete(p.attached, lost.Ifindex)
		if err := p.attach(lost.Ifindex, name); err != nil {
			l.Err = fmt.Errorf("%w; attaching again: %w", l.Err, err)
		} else {
			l.Fixed = true
		}
		out = append(out, l)
	}
	return out
}

// translate turns ring-buffer records into loop events until the loader
// closes its channel.
func (p *kernelPlane) translate() {
	defer p.wg.Done()
	if !p.sharedEvents {
		defer close(p.events)
	}
	for e := range p.l.Events() {
		k := rxKey{ifindex: e.Ifindex, ipv6: e.IPv6, vrid: e.VRID}
		b := p.binds.get(k)
		var ev any
		switch {
		case e.Kinds&loader.EventDropped != 0:
			ev = planeDrop{Ifindex: e.Ifindex, VRID: e.VRID, Src: e.Src, Reason: vrrp.DropReason(e.Reason)}
		case b == nil:
			continue
		default:
			a := planeAdvert{
				Key:       k,
				Recv:      vrrp.AdvertReceived{Advert: kernelAdvert(b, e.Priority, e.Interval), Src: e.Src, At: e.Time},
				Heartbeat: e.Kinds == loader.EventHeartbeat,
				Silent:    e.Kinds == loader.EventSilent,
			}
			if pr := e.Prev; !pr.Time.IsZero() {
				a.Prev = vrrp.AdvertReceived{Advert: kernelAdvert(b, pr.Priority, pr.Interval), Src: pr.Src, At: pr.Time}
			}
			ev = a
		}
		select {
		case p.events <- ev:
		case <-p.done:
			return
		}
	}
}

// Last reads the adverts map: a memory read, no syscall.
func (p *kernelPlane) Last(k rxKey) (vrrp.AdvertReceived, bool, bool) {
	b := p.binds.get(k)
	if b == nil {
		return vrrp.AdvertReceived{}, false, false
	}
	st, ok := p.l.AdvertState(k.ifindex, k.vrid, k.ipv6)
	if !ok {
		return vrrp.AdvertReceived{}, false, false
	}
	return vrrp.AdvertReceived{Advert: kernelAdvert(b, st.Priority, st.Interval), Src: st.Master, At: st.LastSeen}, st.Watched, true
}

// Received is the adverts map's count of valid adverts for k.
func (p *kernelPlane) Received(k rxKey) (uint64, bool) {
	st, ok := p.l.AdvertState(k.ifindex, k.vrid, k.ipv6)
	if !ok {
		return 0, true
	}
	return st.Count, true
}

// kernelAdvert rebuilds the advert a kernel record stands for: it passed
// every check of vrrp.Validate, the address list included, so it carries
// the instance's own VIPs.
func kernelAdvert(b *PlaneBinding, prio uint8, interval time.Duration) vrrp.Advert {
	e := &b.Expect
	return vrrp.Advert{
		Version:  e.Version,
		VRID:     e.VRID,
		Priority: prio,
		Interval: interval,
		AuthType: e.AuthType,
		AuthData: e.AuthData,
		Addrs:    e.VIPs,
	}
}

// loaderInstance is the kernel's view of a binding.
func loaderInstance(b PlaneBinding) loader.Instance {
	e := &b.Expect
	return loader.Instance{
		Ifindex:          b.Key.ifindex,
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
	}
}

func (p *kernelPlane) Counters(c *planeCounters) {
	ks, err := p.l.Stats()
	if err != nil {
		return
	}
	for r, n := range ks.Drops {
		c.Received += n
		c.Drops[r] += n
	}
	c.Accepted += ks.Drops[0]
	c.Drops[0] = 0
	c.Events, c.EventsLost = ks.Events, ks.EventsLost
}

func (p *kernelPlane) Close() error {
	close(p.done)
	err := p.l.Close()
	p.wg.Wait()
	return err
}
