package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cilium/ebpf/link"
	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// An in-place upgrade replaces the running daemon by a new process without
// a peer noticing. The old daemon Freezes: its loop stops (nothing is sent
// or received from then on) and hands over a Handoff: every instance's
// state machine with its timers as offsets, the VIPs it holds, the
// scripts' results, the sync groups' states and the kernel attachments.
// The new daemon, built with Options.Upgrade (no leftover VIPs removed, no
// pins touched), Adopts it before Run: Run then starts from those states
// instead of INIT — a master sends its next advert when it was due — and
// takes the attachments over (loader.Inherit: the program on each
// interface is swapped in place, never detached). The old daemon then
// Finishes with handedOff true: Run returns at once, without resigning,
// removing a VIP or unpinning. Finished with false (the new process
// failed), the old loop goes on from where it stopped.

// handoffVersion is the Handoff format; a new process refuses another one.
const handoffVersion = 1

// freezeMax bounds a freeze: an old daemon never stays silent longer,
// whatever happens to the new process (Finish(false) is implied).
const freezeMax = 5 * time.Second

// Handoff is what the old daemon hands the new one. It marshals to JSON.
type Handoff struct {
	Version     int                  `json:"version"`
	Instances   []InstanceHandoff    `json:"instances"`
	Groups      []GroupHandoff       `json:"groups,omitempty"`
	Scripts     []track.ScriptResult `json:"scripts,omitempty"`
	Attachments []AttachmentHandoff  `json:"attachments,omitempty"`
	AH          []AHHandoff          `json:"ah,omitempty"`
}

// AHHandoff is an auth_type AH instance's sequence number and IP
// identification (ah.go): a peer drops an advert whose number is not
// above the last it accepted.
type AHHandoff struct {
	Interface string `json:"interface"`
	VRID      uint8  `json:"vrid"`
	Seq       uint32 `json:"seq"`
	ID        uint16 `json:"id"`
}

// ahSeqMargin is added to a handed-over AH sequence number: the old
// process keeps advertising while frozen (at most freezeMax at 10 ms), and
// the new one must continue above every number it sent.
const ahSeqMargin = uint32(freezeMax/(10*time.Millisecond)) + 16

// InstanceHandoff is one vrrp_instance: what identifies it on the wire,
// its state machine and the VIPs the kernel held.
type InstanceHandoff struct {
	Name      string              `json:"name"`
	Interface string              `json:"interface"`
	VRID      uint8               `json:"vrid"`
	IPv6      bool                `json:"ipv6,omitempty"`
	Version   uint8               `json:"version"`
	Router    vrrp.RouterSnapshot `json:"router"`
	Held      []string            `json:"held,omitempty"` // vipKey of each VIP held
	Reason    string              `json:"reason,omitempty"`
}

// GroupHandoff is a sync group's last notified state.
type GroupHandoff struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// AttachmentHandoff is a kernel attachment (loader.Attachment).
type AttachmentHandoff struct {
	Ifindex int    `json:"ifindex"`
	Mode    string `json:"mode"`
	LinkID  uint32 `json:"link_id"`
}

// handoffPlane is what a dataplane with kernel state implements to be
// handed over (kernelPlane).
type handoffPlane interface {
	attachments() []AttachmentHandoff
	inherit(as []AttachmentHandoff) error
	release() error
	pin(id string) error
}

// Frozen is a daemon whose loop is stopped for an upgrade.
type Frozen struct {
	// Handoff is the state to hand over.
	Handoff *Handoff
	finish  chan bool

	mu      sync.Mutex
	done    bool // Finish was called
	resumed bool // the loop resumed on its own (freezeMax)
}

// Finish ends the freeze: handedOff true makes Run return without
// stopping anything (the new process runs the instances now); false
// resumes the loop. It reports false when the loop had already resumed
// on its own after freezeMax (then handedOff true is not honoured: the
// caller must stop the new process). Only the first call counts.
func (f *Frozen) Finish(handedOff bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.resumed {
		return false
	}
	if !f.done {
		f.done = true
		f.finish <- handedOff
	}
	return true
}

// expire marks a freeze that timed out, unless Finish came first: then
// its answer is returned.
func (f *Frozen) expire() (handedOff, finished bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case ok := <-f.finish:
		return ok, true
	default:
		f.resumed = true
		return false, false
	}
}

// freezeRequest asks the loop to freeze.
type freezeRequest struct {
	reply chan freezeReply
	f     *Frozen
}

type freezeReply struct {
	h   *Handoff
	err error
}

// Freeze stops the loop and returns the state to hand over. The loop
// stays stopped until Finish, or freezeMax. It fails (and nothing stops)
// while the daemon stops or an instance resigns. Safe for concurrent use;
// it waits for Run.
func (d *Daemon) Freeze(ctx context.Context) (*Frozen, error) {
	f := &Frozen{finish: make(chan bool, 1)}
	req := freezeRequest{reply: make(chan freezeReply, 1), f: f}
	select {
	case d.freezes <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// The loop answers at once; it cannot be abandoned half-frozen.
	r := <-req.reply
	if r.err != nil {
		return nil, r.err
	}
	f.Handoff = r.h
	return f, nil
}

// freeze is the loop's side of Freeze: it blocks the loop until Finish.
func (d *Daemon) freeze(now time.Time, req freezeRequest) {
	h, err := d.handoff(now)
	req.reply <- freezeReply{h: h, err: err}
	if err != nil {
		return
	}
	d.log.Info("frozen for an upgrade: the loop waits for the new process", zap.Int("instances", len(h.Instances)))
	// Masters keep their cadence while frozen: each advert that falls due
	// goes out from here until the new process has taken over (it sends
	// the same adverts from the same schedule: one may go out twice, none
	// is missed however long the hand-over takes).
	type beat struct {
		inst  *instance
		at    time.Time
		every time.Duration
		prio  uint8
	}
	var beats []*beat
	start := time.Now()
	for i, inst := range d.insts {
		rs := h.Instances[i].Router
		if inst.bound() && inst.router.State() == vrrp.Master && rs.AdverIn != 0 {
			beats = append(beats, &beat{inst: inst, at: start.Add(rs.AdverIn), every: inst.cfg.AdvertInt, prio: inst.router.Priority()})
		}
	}
	limit := time.NewTimer(freezeMax)
	defer limit.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	var ok bool
wait:
	for {
		next := start.Add(time.Hour)
		for _, b := range beats {
			if b.at.Before(next) {
				next = b.at
			}
		}
		wake.Reset(time.Until(next))
		select {
		case ok = <-req.f.finish:
			break wait
		case <-limit.C:
			var finished bool
			if ok, finished = req.f.expire(); !finished {
				d.log.Error("upgrade: the new process did not finish in time: resuming", zap.Duration("after", freezeMax))
			}
			break wait
		case <-wake.C:
			now := time.Now()
			for _, b := range beats {
				if b.at.After(now) {
					continue
				}
				d.do(b.inst, now, vrrp.SendAdvert{Priority: b.prio})
				for !b.at.After(now) {
					b.at = b.at.Add(b.every)
				}
			}
		}
	}
	if ok {
		d.handedOff = true
		d.log.Info("handed over to the new process")
		return
	}
	d.log.Warn("upgrade did not happen: resuming")
	// The new process may have swapped the attachments' program already:
	// check them now, not at the next periodic check.
	d.checkPlane(time.Now())
}

// handoff builds the Handoff at now.
func (d *Daemon) handoff(now time.Time) (*Handoff, error) {
	switch {
	case d.stopping:
		return nil, errors.New("the daemon is stopping")
	case !d.started:
		return nil, errors.New("the daemon has not started")
	}
	h := &Handoff{Version: handoffVersion}
	for _, inst := range d.insts {
		ih := InstanceHandoff{Name: inst.cfg.Name, Interface: inst.cfg.Interface, VRID: inst.cfg.VRID,
			IPv6: inst.expect.IPv6, Version: uint8(inst.cfg.Version), Reason: inst.status.Reason}
		if !inst.health.started {
			return nil, fmt.Errorf("instance %s has not started (waiting for a tracked script)", inst.cfg.Name)
		}
		s, err := inst.router.Snapshot(now)
		if err != nil {
			return nil, fmt.Errorf("instance %s: %w", inst.cfg.Name, err)
		}
		ih.Router = s
		for i, v := range inst.vips {
			if inst.held[i] {
				ih.Held = append(ih.Held, vipKey(v))
			}
		}
		h.Instances = append(h.Instances, ih)
	}
	for _, g := range d.groups {
		h.Groups = append(h.Groups, GroupHandoff{Name: g.cfg.Name, State: g.state.String()})
	}
	if t, ok := d.tracker.(interface{ ScriptResults() []track.ScriptResult }); ok {
		h.Scripts = t.ScriptResults()
	}
	if p, ok := d.parts.plane.(handoffPlane); ok {
		h.Attachments = p.attachments()
	}
	h.AH = d.parts.ah.handoff()
	return h, nil
}

// Adopt takes over the state of the daemon this one replaces: call it
// after New with Options.Upgrade and before Run. Every instance of the
// Handoff must exist in this configuration with the same interface,
// virtual_router_id, family and version (an instance that is new here
// starts from INIT as usual); otherwise nothing is adopted and the error
// says which: the old daemon then keeps running.
func (d *Daemon) Adopt(h *Handoff) error { return d.adopt(time.Now(), h) }

func (d *Daemon) adopt(now time.Time, h *Handoff) error {
	if h == nil || h.Version != handoffVersion {
		v := 0
		if h != nil {
			v = h.Version
		}
		return fmt.Errorf("handoff format %d: this binary reads format %d", v, handoffVersion)
	}
	if d.started {
		return errors.New("adopt after Run")
	}
	type pair struct {
		inst *instance
		ih   *InstanceHandoff
	}
	var pairs []pair
	for i := range h.Instances {
		ih := &h.Instances[i]
		inst := d.instance(ih.Name)
		if inst == nil {
			return fmt.Errorf("instance %s runs now but is not in the configuration file: reload the running daemon first", ih.Name)
		}
		if inst.cfg.Interface != ih.Interface || inst.cfg.VRID != ih.VRID || inst.expect.IPv6 != ih.IPv6 || uint8(inst.cfg.Version) != ih.Version {
			return fmt.Errorf("instance %s: interface, virtual_router_id, family or version differ from the running daemon's: reload the running daemon first", ih.Name)
		}
		pairs = append(pairs, pair{inst, ih})
	}
	// Restore into fresh routers first: a bad snapshot leaves nothing half
	// adopted.
	routers := make([]*vrrp.Router, len(pairs))
	for i, p := range pairs {
		s := p.ih.Router
		if s.State == vrrp.Backup.String() && s.DownIn != 0 {
			// The kernel's record of the master's last advert stays
			// with the old process: wait a whole Master_Down_Interval
			// for the next one rather than take over early.
			mdi := vrrp.MasterDownInterval(p.inst.cfg.Version, s.Priority, s.MasterAdverInt)
			s.DownIn = max(s.DownIn, mdi)
		}
		r, err := newInstanceRouter(p.inst)
		if err == nil {
			err = r.Restore(now, s)
		}
		if err != nil {
			return fmt.Errorf("instance %s: %w", p.ih.Name, err)
		}
		routers[i] = r
	}
	for i, p := range pairs {
		inst := p.inst
		inst.router = routers[i]
		inst.next = inst.router.Next(now)
		inst.adopted = true
		inst.health.started = true
		inst.health.faulted = p.ih.Router.Fault
		held := map[string]bool{}
		for _, k := range p.ih.Held {
			held[k] = true
		}
		for j, v := range inst.vips {
			inst.held[j] = held[vipKey(v)]
		}
		inst.status.HoldsVIPs = inst.router.State() == vrrp.Master
		inst.status.Reason = p.ih.Reason
		inst.status.Since = now
		inst.vipStatus()
		d.showStatus(inst)
	}
	// VIPs held by the old daemon that this configuration no longer has
	// are removed by the first resync (every held VIP is checked); those
	// of a removed VIP line are left: say so.
	for _, p := range pairs {
		known := map[string]bool{}
		for _, v := range p.inst.vips {
			known[vipKey(v)] = true
		}
		for _, k := range p.ih.Held {
			if !known[k] {
				p.inst.log.Warn("a VIP the old process held is not in the configuration any more: left on the interface", zap.String("vip", k))
			}
		}
	}
	byGroup := map[string]string{}
	for _, g := range h.Groups {
		byGroup[g.Name] = g.State
	}
	for _, g := range d.groups {
		for _, st := range []vrrp.State{vrrp.Backup, vrrp.Master, vrrp.Fault} {
			if byGroup[g.cfg.Name] == st.String() {
				g.state = st
			}
		}
	}
	if t, ok := d.tracker.(interface {
		SeedScripts([]track.ScriptResult) int
	}); ok && len(h.Scripts) > 0 {
		t.SeedScripts(h.Scripts)
	}
	if p, ok := d.parts.plane.(handoffPlane); ok {
		if err := p.inherit(h.Attachments); err != nil {
			return err
		}
	}
	d.parts.ah.adopt(h.AH)
	d.adopted = true
	d.log.Info("adopted the running daemon's state", zap.Int("instances", len(pairs)), zap.Int("attachments", len(h.Attachments)))
	return nil
}

// newInstanceRouter is a fresh router of the instance's configuration
// with the instance's primary address.
func newInstanceRouter(inst *instance) (*vrrp.Router, error) {
	return vrrp.NewRouter(inst.router.Config())
}

// Pin pins the kernel dataplane's maps under the daemon's ID once an
// upgraded daemon has taken over (Options.Upgrade loads without pins so
// as not to take the old process's away while it may still resume).
func (d *Daemon) Pin() error {
	p, ok := d.parts.plane.(handoffPlane)
	if !ok || d.opts.ID == "" {
		return nil
	}
	return p.pin(d.opts.ID)
}

// The kernel dataplane's side.

func (p *kernelPlane) attachments() []AttachmentHandoff {
	var out []AttachmentHandoff
	for _, a := range p.l.Attachments() {
		out = append(out, AttachmentHandoff{Ifindex: a.Ifindex, Mode: a.Mode.String(), LinkID: uint32(a.LinkID)})
	}
	return out
}

func (p *kernelPlane) inherit(as []AttachmentHandoff) error {
	var las []loader.Attachment
	for _, a := range as {
		m, err := loader.ParseMode(a.Mode)
		if err != nil {
			return fmt.Errorf("inherited attachment on ifindex %d: %w", a.Ifindex, err)
		}
		if p.mode != loader.ModeAuto && p.mode != m {
			continue // attached anew in the mode asked for
		}
		las = append(las, loader.Attachment{Ifindex: a.Ifindex, Mode: m, LinkID: link.ID(a.LinkID)})
	}
	p.l.Inherit(las)
	return nil
}

func (p *kernelPlane) release() error {
	close(p.done)
	err := p.l.Release()
	p.wg.Wait()
	return err
}

func (p *kernelPlane) pin(id string) error { return p.l.Pin(id) }

// handedOffClose releases what close would tear down, for a daemon that
// handed its instances to a new process: sockets close, the kernel
// attachments and pins stay.
func (d *Daemon) handedOffClose() {
	for _, inst := range d.insts {
		inst.detach()
	}
	if p, ok := d.parts.plane.(handoffPlane); ok {
		if err := p.release(); err != nil {
			d.log.Warn("release dataplane", zap.Error(err))
		}
		return
	}
	if err := d.parts.plane.Close(); err != nil {
		d.log.Warn("close dataplane", zap.Error(err))
	}
}

// handoff lists the sessions' counters (none for a nil a).
func (a *ahSessions) handoff() []AHHandoff {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []AHHandoff
	for k, s := range a.m {
		s.mu.Lock()
		out = append(out, AHHandoff{Interface: k.ifname, VRID: k.vrid, Seq: s.seq.Last(), ID: s.id})
		s.mu.Unlock()
	}
	return out
}

// adopt continues the old process's counters, above every number it may
// have sent while frozen.
func (a *ahSessions) adopt(hs []AHHandoff) {
	if a == nil {
		return
	}
	for _, h := range hs {
		s := a.get(ahKey{ifname: h.Interface, vrid: h.VRID})
		s.mu.Lock()
		s.seq.Accept(min(h.Seq, 0xfffffffe-ahSeqMargin) + ahSeqMargin)
		s.id = h.ID + uint16(ahSeqMargin)
		s.mu.Unlock()
	}
}
