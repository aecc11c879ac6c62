package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

// instance is one vrrp_instance at run time: its state machine and the I/O
// that carries out the machine's actions. Only the control loop touches it,
// except expect (read-only after setup) which receivers read concurrently.
type instance struct {
	cfg    *config.Instance
	log    *zap.Logger
	router *vrrp.Router
	expect vrrp.Expect
	ifi    *net.Interface
	src    netip.Addr // advert source: unicast_src_ip, primary IPv4 or IPv6 link-local
	group  netip.Addr // multicast destination (unused in unicast mode)
	vips   []netio.VIP
	// advert is the template of what we send: every field but Priority is
	// fixed at setup.
	advert  vrrp.Advert
	senders []sender
	// announcers sends gratuitous ARP/NA per device the VIPs live on.
	announcers map[string]*announceSet
	next       time.Time
	buf        []byte
	status     InstanceStatus
	shown      struct {
		state  vrrp.State
		prio   uint8
		master netip.Addr
	}
	health health
	// kernelSeen is the arrival of the last advert stepped from the kernel
	// dataplane (event or adverts map).
	kernelSeen time.Time
	sync       *syncGroup // nil when not in a vrrp_sync_group
}

// sender is one advert destination: v3 checksums cover the destination
// address, so each destination gets its own encoding.
type sender struct {
	dst netip.Addr
	s   *netio.Sender
}

// announceSet is what is announced on one device.
type announceSet struct {
	a     *netio.Announcer
	addrs []netip.Addr
}

// newInstance resolves the interface and addresses of in and opens its
// sockets in the calling thread's network namespace.
func newInstance(d *Daemon, in *config.Instance) (inst *instance, err error) {
	h := d.nl
	log := d.log.With(zap.String("instance", in.Name), zap.Uint8("vrid", in.VRID), zap.String("iface", in.Interface))
	ifi, err := netio.InterfaceByName(h, in.Interface)
	if err != nil {
		return nil, fmt.Errorf("instance %s: interface %s: %w", in.Name, in.Interface, err)
	}
	inst = &instance{cfg: in, log: log, ifi: ifi, announcers: map[string]*announceSet{}}
	defer func() {
		if err != nil {
			inst.close()
		}
	}()

	fam := netlink.FAMILY_V4
	if in.Family() == config.IPv6 {
		fam = netlink.FAMILY_V6
	}
	for _, v := range append(append([]config.VIP(nil), in.VIPs...), in.ExcludedVIPs...) {
		dev := v.Dev
		if dev == "" {
			dev = in.Interface
		}
		inst.vips = append(inst.vips, netio.VIP{Prefix: v.Prefix, Dev: dev, Label: v.Label, Scope: v.Scope})
	}
	var advAddrs, vipAddrs []netip.Addr
	for _, v := range in.VIPs {
		advAddrs = append(advAddrs, v.Prefix.Addr())
	}
	for _, v := range inst.vips {
		vipAddrs = append(vipAddrs, v.Prefix.Addr())
	}

	inst.src = in.UnicastSrc
	if !inst.src.IsValid() {
		inst.src = in.McastSrc
	}
	if !inst.src.IsValid() {
		inst.src, err = netio.PrimaryAddr(h, in.Interface, fam, vipAddrs...)
		if err != nil {
			return nil, fmt.Errorf("instance %s: source address on %s: %w", in.Name, in.Interface, err)
		}
	}
	inst.group = in.McastGroup
	if !inst.group.IsValid() {
		inst.group = config.DefaultMcastGroup4
		if fam == netlink.FAMILY_V6 {
			inst.group = config.DefaultMcastGroup6
		}
	}

	rc := vrrp.Config{
		Version:           in.Version,
		VRID:              in.VRID,
		Priority:          in.Priority,
		AdvertInterval:    in.AdvertInt,
		InitialState:      in.State,
		Preempt:           in.Preempt,
		PreemptDelay:      in.PreemptDelay,
		PrimaryAddr:       inst.src,
		GarpMasterDelay:   in.Garp.MasterDelay,
		GarpMasterRefresh: in.Garp.MasterRefresh,
	}
	if inst.router, err = vrrp.NewRouter(rc); err != nil {
		return nil, fmt.Errorf("instance %s: %w", in.Name, err)
	}
	inst.advert = vrrp.Advert{
		Version:  in.Version,
		VRID:     in.VRID,
		Interval: in.AdvertInt,
		AuthType: in.AuthType,
		AuthData: in.AuthPass,
		Addrs:    advAddrs,
	}
	if in.Version == vrrp.V3 {
		inst.advert.AuthType, inst.advert.AuthData = vrrp.AuthNone, [8]byte{}
	}

	own, err := ownAddrs(h, ifi, vipAddrs)
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", in.Name, err)
	}
	if inst.src.IsValid() {
		own = append(own, inst.src)
	}
	inst.expect = vrrp.Expect{
		Version:          in.Version,
		VRID:             in.VRID,
		IPv6:             fam == netlink.FAMILY_V6,
		Interval:         in.AdvertInt,
		AuthType:         inst.advert.AuthType,
		AuthData:         inst.advert.AuthData,
		VIPs:             advAddrs,
		SkipCheckAdvAddr: d.cfg.Global.SkipCheckAdvAddr,
		UnicastPeers:     in.UnicastPeers,
		OwnAddrs:         own,
	}

	dsts := in.UnicastPeers
	if len(dsts) == 0 {
		dsts = []netip.Addr{inst.group}
	}
	for _, dst := range dsts {
		sc := netio.SenderConfig{Ifindex: ifi.Index, Ifname: ifi.Name, Src: inst.src}
		if in.Unicast() {
			sc.Peers = []netip.Addr{dst}
		} else {
			sc.Group = dst
		}
		s, err := netio.NewSender(sc)
		if err != nil {
			return nil, fmt.Errorf("instance %s: %w", in.Name, err)
		}
		inst.senders = append(inst.senders, sender{dst: dst, s: s})
	}

	for _, v := range inst.vips {
		set := inst.announcers[v.Dev]
		if set == nil {
			dev, err := netio.InterfaceByName(h, v.Dev)
			if err != nil {
				return nil, fmt.Errorf("instance %s: virtual address %v: %w", in.Name, v.Prefix, err)
			}
			a, err := netio.Dial(dev)
			if err != nil {
				return nil, fmt.Errorf("instance %s: gratuitous ARP socket on %s: %w", in.Name, v.Dev, err)
			}
			// RFC 5798 §8.2: a router sets the Router flag in its NAs.
			if fwd, err := netio.IPv6Forwarding(v.Dev); err == nil {
				a.SetRouter(fwd)
			}
			set = &announceSet{a: a}
			inst.announcers[v.Dev] = set
		}
		set.addrs = append(set.addrs, v.Prefix.Addr())
	}
	inst.status = InstanceStatus{
		Name: in.Name, VRID: in.VRID, Interface: in.Interface, Version: uint8(in.Version),
		State: vrrp.Initialize.String(), Priority: in.Priority, ConfiguredPriority: in.Priority,
		Source: inst.src.String(),
	}
	return inst, nil
}

// ownAddrs lists the addresses of ifi that are not VIPs: adverts from them
// are our own.
func ownAddrs(h *netlink.Handle, ifi *net.Interface, vips []netip.Addr) ([]netip.Addr, error) {
	link, err := h.LinkByIndex(ifi.Index)
	if err != nil {
		return nil, fmt.Errorf("link %s: %w", ifi.Name, err)
	}
	list, err := netio.AddrList(h, link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", ifi.Name, err)
	}
	var out []netip.Addr
next:
	for _, a := range list {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		for _, v := range vips {
			if v == ip {
				continue next
			}
		}
		out = append(out, ip)
	}
	return out, nil
}

// step feeds one event to the state machine and carries out its actions.
func (inst *instance) step(d *Daemon, now time.Time, ev vrrp.Event) {
	actions, next := inst.router.Step(now, ev)
	inst.next = next
	for _, a := range actions {
		inst.do(d, now, a)
	}
	// The status changes rarely; the steady state (adverts, ticks) must
	// not pay for formatting it.
	st, prio, m := inst.router.State(), inst.router.Priority(), inst.router.MasterAddr()
	if st == inst.shown.state && prio == inst.shown.prio && m == inst.shown.master {
		return
	}
	inst.shown.state, inst.shown.prio, inst.shown.master = st, prio, m
	inst.status.State = st.String()
	inst.status.Priority = prio
	inst.status.Master = ""
	if m.IsValid() {
		inst.status.Master = m.String()
	}
	d.dirty = true
}

// do carries out one action. Failures are logged: the daemon goes on, and a
// VIP that could not be added or removed is always logged at error level.
func (inst *instance) do(d *Daemon, now time.Time, a vrrp.Action) {
	switch a := a.(type) {
	case vrrp.SendAdvert:
		inst.advert.Priority = a.Priority
		for _, s := range inst.senders {
			b, err := inst.advert.Append(inst.buf[:0], inst.src, s.dst)
			if err != nil {
				inst.log.Error("encode advert", zap.Error(err))
				return
			}
			inst.buf = b
			if err := s.s.Send(b); err != nil {
				d.limited.warn(inst.log, "send advert", zap.Error(err))
				continue
			}
			d.stats.advertsSent.Add(1)
		}
	case vrrp.AddVIPs:
		inst.setVIPs(d, true)
	case vrrp.RemoveVIPs:
		inst.setVIPs(d, false)
	case vrrp.SendGratuitous:
		repeat := inst.cfg.Garp.MasterRepeat
		if a.Refresh {
			repeat = inst.cfg.Garp.MasterRefreshRepeat
		}
		inst.announce(d, repeat)
	case vrrp.Transition:
		fields := []zap.Field{zap.Stringer("from", a.From), zap.Stringer("to", a.To),
			zap.String("reason", a.Reason), zap.Uint8("priority", a.Priority)}
		if a.Master.IsValid() {
			fields = append(fields, zap.Stringer("master", a.Master))
		}
		inst.log.Info("state transition", fields...)
		inst.status.Since = now
		d.transitions.Add(1)
		d.onTransition(inst, a)
	}
}

// setVIPs adds (or removes) every VIP of the instance. A VIP that cannot be
// changed is logged at error level and the others are still tried.
func (inst *instance) setVIPs(d *Daemon, add bool) {
	change, verb, done := netio.DelVIP, "remove virtual address", "virtual address removed"
	if add {
		change, verb, done = netio.AddVIP, "add virtual address", "virtual address added"
	}
	for _, v := range inst.vips {
		if err := change(d.nl, v); err != nil {
			inst.log.Error(verb, zap.Stringer("vip", v.Prefix), zap.String("dev", v.Dev), zap.Error(err))
			continue
		}
		inst.log.Info(done, zap.Stringer("vip", v.Prefix), zap.String("dev", v.Dev))
	}
	inst.status.HoldsVIPs = add
	d.dirty = true
}

// announce sends a burst of gratuitous ARPs / NAs in the background, so that
// a slow burst (vrrp_garp_interval) never delays an advert. A burst still
// running when the next is due is not doubled.
func (inst *instance) announce(d *Daemon, repeat int) {
	g := d.cfg.Global
	for dev, set := range inst.announcers {
		interval := g.GarpInterval
		if len(set.addrs) > 0 && set.addrs[0].Is6() {
			interval = g.GnaInterval
		}
		d.background(func(ctx context.Context) {
			if err := set.a.Announce(ctx, set.addrs, repeat, interval); err != nil && ctx.Err() == nil {
				d.limited.warn(inst.log, "send gratuitous arp/na", zap.String("dev", dev), zap.Error(err))
				return
			}
			d.stats.garpBursts.Add(1)
		})
	}
}

func (inst *instance) close() {
	for _, s := range inst.senders {
		s.s.Close()
	}
	for _, set := range inst.announcers {
		set.a.Close()
	}
}
