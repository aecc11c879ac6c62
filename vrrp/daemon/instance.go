package daemon

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/control"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

// instance is one vrrp_instance at run time: its state machine, its
// binding to an interface (nil while the interface or its address is
// missing: the instance then waits in FAULT) and what the status shows.
// It holds no reference to the Daemon: the loop steps it and carries out
// the router's actions through Env and the binding's Port. Only the loop
// touches it.
type instance struct {
	cfg    *config.Instance
	log    *zap.Logger
	router *vrrp.Router
	// vips are virtual_ipaddress then virtual_ipaddress_excluded; held
	// says, per VIP, whether the kernel holds it, as last observed.
	vips []netio.VIP
	held []bool
	// advert is the template of what we send: every field but Priority
	// is fixed by the configuration.
	advert vrrp.Advert
	expect vrrp.Expect // Own filled in at bind
	group  netip.Addr  // multicast destination (unused in unicast mode)

	bind    *Binding // nil: unbound
	key     rxKey    // valid while bound
	bindErr string   // why the last Bind failed (logged once per change)
	goneWhy string   // why the instance was unbound (renamed, deleted), until bound again
	// planeErr is the dataplane's complaint about the bound interface.
	planeErr string

	next time.Time
	// armedAt is the time of next's entry in the loop's timer heap, order
	// the instance's place in the list, dueSeq the tick that last found
	// it due (timers.go).
	armedAt time.Time
	order   int
	dueSeq  uint64
	// lastStep is the time of the router's last step (adverTime).
	lastStep time.Time
	status   control.InstanceStatus
	shown    struct {
		state      vrrp.State
		prio       uint8
		master     netip.Addr
		masterPrio uint8
		want       bool
		masterInt  time.Duration
		held       bool
		resigning  bool
	}
	// masterPrio is the priority of the last advert stepped from the
	// current master.
	masterPrio uint8
	// counters are read by Status while the loop updates them.
	counters   *instCounters
	health     health
	kernelSeen time.Time  // arrival of the last advert stepped from the dataplane's record
	sync       *syncGroup // nil when not in a vrrp_sync_group
	// wantMaster: a sync-group member whose Master_Down_Timer fired while
	// the rest of its group still heard a master (keepalived's wantstate
	// MASTER); cleared by the next advert it accepts.
	wantMaster bool
	// resignSince is when the instance last began to resign: only an
	// advert recorded after it shows a new master.
	resignSince time.Time
	// adopted: the state was taken over from the process this one
	// upgraded (upgrade.go); Run does not start it from INIT.
	adopted bool
}

// newInstance builds the run-time instance of in. Nothing is opened: the
// loop binds it.
func newInstance(log *zap.Logger, g *config.Global, in *config.Instance) (*instance, error) {
	inst := &instance{
		cfg: in,
		log: log.With(zap.String("instance", in.Name), zap.Uint8("vrid", in.VRID), zap.String("iface", in.Interface)),
	}
	var advAddrs []netip.Addr
	inst.vips, advAddrs = vipsOf(in)
	inst.held = make([]bool, len(inst.vips))
	ipv6 := in.Family() == config.IPv6
	inst.group = in.McastGroup
	if !inst.group.IsValid() {
		inst.group = config.DefaultMcastGroup4
		if ipv6 {
			inst.group = config.DefaultMcastGroup6
		}
	}
	// The router needs an address of the right family before the
	// instance is bound; SetAddress gives it the real one at bind.
	placeholder := netip.IPv4Unspecified()
	if ipv6 {
		placeholder = netip.IPv6Unspecified()
	}
	rc := vrrp.Config{
		Version:           in.Version,
		VRID:              in.VRID,
		Priority:          in.Priority,
		AdvertInterval:    in.AdvertInt,
		InitialState:      in.State,
		Preempt:           in.Preempt,
		PreemptDelay:      in.PreemptDelay,
		PrimaryAddr:       placeholder,
		GarpMasterDelay:   in.Garp.MasterDelay,
		GarpMasterRefresh: in.Garp.MasterRefresh,

		LowerPrioNoAdvert:    in.LowerPrioNoAdvert,
		HigherPrioSendAdvert: in.HigherPrioSendAdvert,
		GarpLowerPrio:        in.Garp.LowerPrioRepeat > 0,
		GarpLowerPrioDelay:   in.Garp.LowerPrioDelay,
	}
	r, err := vrrp.NewRouter(rc)
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", in.Name, err)
	}
	inst.router = r
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
	inst.expect = vrrp.Expect{
		Version:          in.Version,
		VRID:             in.VRID,
		IPv6:             ipv6,
		Interval:         in.AdvertInt,
		AuthType:         inst.advert.AuthType,
		AuthData:         inst.advert.AuthData,
		VIPs:             advAddrs,
		SkipCheckAdvAddr: g.SkipCheckAdvAddr,
		UnicastPeers:     in.UnicastPeers,
		CheckUnicastSrc:  in.CheckUnicastSrc,
	}
	inst.status = control.InstanceStatus{
		Name: in.Name, VRID: in.VRID, Interface: in.Interface, Version: uint8(in.Version),
		State: vrrp.Initialize.String(), Priority: in.Priority, ConfiguredPriority: in.Priority,
		AdvertInt: in.AdvertInt, MasterAdvertInt: in.AdvertInt,
	}
	inst.counters = &instCounters{}
	return inst, nil
}

// vipsOf returns the VIPs of in (virtual_ipaddress then
// virtual_ipaddress_excluded, on the instance's interface unless a dev is
// given) and the advertised addresses.
func vipsOf(in *config.Instance) (vips []netio.VIP, advertised []netip.Addr) {
	for _, v := range append(append([]config.VIP(nil), in.VIPs...), in.ExcludedVIPs...) {
		dev := v.Dev
		if dev == "" {
			dev = in.Interface
		}
		vips = append(vips, netio.VIP{Prefix: v.Prefix, Dev: dev, Label: v.Label, Scope: v.Scope})
	}
	for _, v := range in.VIPs {
		advertised = append(advertised, v.Prefix.Addr())
	}
	return vips, advertised
}

// bound tells whether the instance has an interface to work on.
func (inst *instance) bound() bool { return inst.bind != nil }

// attach records a successful Bind.
func (inst *instance) attach(b Binding) {
	inst.bind = &b
	inst.key = rxKey{ifindex: b.Ifindex, ipv6: inst.expect.IPv6, vrid: inst.cfg.VRID}
	inst.expect.OwnAddrs = b.Own
	for i := range inst.vips {
		// VIPs on the instance's own interface are found by index, so
		// they can be removed after a rename.
		if inst.vips[i].Dev == inst.cfg.Interface {
			inst.vips[i].Index = b.Ifindex
		}
	}
	inst.status.Source = b.Src.String()
}

// detach forgets the binding and closes its sockets.
func (inst *instance) detach() {
	if inst.bind == nil {
		return
	}
	if err := inst.bind.Port.Close(); err != nil {
		inst.log.Debug("close sockets", zap.Error(err))
	}
	inst.bind = nil
	inst.key = rxKey{}
	inst.kernelSeen = time.Time{}
}

// binding is the dataplane's view of the bound instance.
func (inst *instance) binding() PlaneBinding {
	return PlaneBinding{Key: inst.key, Ifname: inst.bind.Ifname, Group: inst.group, Expect: inst.expect}
}

// outranks tells whether an advert with prio from src wins against us as
// master (RFC 5798 §6.4.3: higher priority, or equal and a higher address).
func (inst *instance) outranks(prio uint8, src netip.Addr) bool {
	ours := inst.router.Priority()
	if prio != ours {
		return prio > ours
	}
	return inst.bind != nil && src.Unmap().Compare(inst.bind.Src.Unmap()) > 0
}

// vipStatus copies held into the status (a new slice: snapshots share
// the old one).
func (inst *instance) vipStatus() {
	vs := make([]control.VIPStatus, 0, len(inst.vips))
	for i, v := range inst.vips {
		vs = append(vs, control.VIPStatus{Addr: v.Prefix.String(), Dev: v.Dev, Held: inst.held[i]})
	}
	inst.status.VIPs = vs
}

// instCounters are an instance's counters (keepalived's names). The loop
// adds; Status reads.
type instCounters struct {
	advertRcvd, advertSent      atomic.Uint64
	becomeMaster, releaseMaster atomic.Uint64
	priZeroRcvd, priZeroSent    atomic.Uint64
}

func (c *instCounters) stats() control.InstanceStats {
	return control.InstanceStats{
		AdvertRcvd: c.advertRcvd.Load(), AdvertSent: c.advertSent.Load(),
		BecomeMaster: c.becomeMaster.Load(), ReleaseMaster: c.releaseMaster.Load(),
		PriZeroRcvd: c.priZeroRcvd.Load(), PriZeroSent: c.priZeroSent.Load(),
	}
}
