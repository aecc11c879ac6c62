package config

import (
	"math"
	"strconv"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// validate completes each instance with values that depend on the whole
// file (version, advert_int, multicast group) and checks what no single
// keyword can: references, duplicates, families.
func (dc *decoder) validate() {
	c, d := dc.c, dc.diag
	byName := map[string]*Instance{}
	for _, in := range c.Instances {
		if in.Name != "" {
			if prev, ok := byName[in.Name]; ok {
				d.errorf(in.Pos, "vrrp_instance %s: already defined at %s", in.Name, prev.Pos.at())
			} else {
				byName[in.Name] = in
			}
		}
	}
	for _, in := range c.Instances {
		dc.complete(in)
	}
	dupVRIDs(c, d)
	for _, in := range c.Instances {
		x := dc.extraFor(in)
		what := "vrrp_instance " + in.Name
		in.TrackScripts = dc.resolve(what, x.ord, in.TrackScripts, "vrrp_script", dc.scriptOrd, func(n string) Pos { return c.Script(n).Pos })
		in.TrackFiles = dc.resolve(what, x.ord, in.TrackFiles, "track_file", dc.fileOrd, func(n string) Pos { return c.TrackFile(n).Pos })
		if in.Priority == vrrp.PriorityOwner && weighted(in, c) {
			d.note(in.Pos, KindNote, "priority", "vrrp_instance %s: priority 255 (address owner) is never changed by tracking weights", in.Name)
		}
	}
	// Sync groups, as keepalived's vrrp_sync_set_group: members are
	// looked up once the whole file is read; unknown members and members
	// of an earlier group are ignored, and a group left without member
	// removed.
	inGroup := map[string]*SyncGroup{}
	var groups []*SyncGroup
	for _, g := range c.SyncGroups {
		x := dc.sync[g]
		if x == nil {
			x = &syncExtra{}
		}
		what := "vrrp_sync_group " + g.Name
		g.TrackScripts = dc.resolve(what, x.ord, g.TrackScripts, "vrrp_script", dc.scriptOrd, func(n string) Pos { return c.Script(n).Pos })
		g.TrackFiles = dc.resolve(what, x.ord, g.TrackFiles, "track_file", dc.fileOrd, func(n string) Pos { return c.TrackFile(n).Pos })
		if x.groupPos == (Pos{}) || len(g.Members) == 0 {
			d.note(g.Pos, KindCorrected, "vrrp_sync_group", "%s: no group { ... } of instances: keepalived removes the sync group, and so does xvrrpd", what)
			continue
		}
		var members []string
		for _, m := range g.Members {
			switch in, prev := byName[m], inGroup[m]; {
			case in == nil:
				d.note(x.groupPos, KindCorrected, "group", "%s: vrrp_instance %q is not defined: keepalived ignores it, and so does xvrrpd", what, m)
			case prev != nil:
				d.note(x.groupPos, KindCorrected, "group", "%s: vrrp_instance %s is already in vrrp_sync_group %s: keepalived ignores it here, and so does xvrrpd", what, m, prev.Name)
			default:
				inGroup[m] = g
				members = append(members, m)
			}
		}
		g.Members = members
		switch len(members) {
		case 0:
			d.note(g.Pos, KindCorrected, "vrrp_sync_group", "%s: no instance left: keepalived removes the sync group, and so does xvrrpd", what)
			continue
		case 1:
			d.note(g.Pos, KindCorrected, "vrrp_sync_group", "%s has a single instance; a sync group needs two to mean anything (keepalived says so too)", what)
		}
		for _, m := range members {
			byName[m].SyncGroup = g.Name
		}
		groups = append(groups, g)
	}
	c.SyncGroups = groups
}

// resolve keeps the references of owner (the top-level block at index
// ord) to a vrrp_script or track_file (kind) defined before it. keepalived
// resolves these names as it reads the file: a name not defined yet, or
// not at all, is reported ("track script ... not found, ignoring...") and
// the instance never reacts to it. xvrrpd does the same, and says that it
// runs without the health check the file asks for.
func (dc *decoder) resolve(owner string, ord int, refs []TrackRef, kind string, defined map[string]int, at func(string) Pos) []TrackRef {
	var keep []TrackRef
	for _, r := range refs {
		def, ok := defined[r.Name]
		switch {
		case !ok:
			dc.note(r.Pos, KindCorrected, r.Name, "%s: %s %q is not defined: keepalived ignores this tracking, and so does xvrrpd: it runs without this check", owner, kind, r.Name)
		case def > ord:
			dc.note(r.Pos, KindCorrected, r.Name, "%s: %s %s is defined at %s, after %s: keepalived resolves the name when it reads it and ignores this tracking, and so does xvrrpd: it runs without this check (define the %s first)",
				owner, kind, r.Name, at(r.Name).at(), owner, kind)
		default:
			keep = append(keep, r)
		}
	}
	return keep
}

func weighted(in *Instance, c *Config) bool {
	for _, t := range in.TrackInterfaces {
		if t.Weight != 0 {
			return true
		}
	}
	for _, t := range in.TrackScripts {
		w := t.Weight
		if s := c.Script(t.Name); !t.WeightSet && s != nil {
			w = s.Weight
		}
		if w != 0 {
			return true
		}
	}
	for _, t := range in.TrackFiles {
		w := t.Weight
		if f := c.TrackFile(t.Name); !t.WeightSet && f != nil {
			w = f.Weight
		}
		if w != 0 {
			return true
		}
	}
	return false
}

// complete resolves the instance's version, advert interval and addresses
// and applies keepalived's strict-mode adjustments.
func (dc *decoder) complete(in *Instance) {
	x := dc.extraFor(in)
	g := &dc.c.Global
	what := "vrrp_instance " + in.Name
	in.fam = x.fam
	fam := in.Family()

	if in.VRID == 0 {
		dc.errorf(in.Pos, "%s: missing virtual_router_id", what)
	}

	// Version: the instance's own, else 3 for IPv6 (keepalived does so even
	// with vrrp_version 2), else the global one.
	switch {
	case in.VersionSet:
		if in.Version == vrrp.V2 && fam == IPv6 {
			// RFC 3768 is IPv4 only. keepalived 2.2.7 sends non-standard
			// VRRPv2 over IPv6 here; xvrrpd refuses.
			dc.errorf(in.Pos, "%s: version 2 with IPv6 addresses: VRRPv2 is IPv4 only (RFC 3768); use version 3", what)
		}
	case fam == IPv6:
		in.Version = vrrp.V3
	default:
		in.Version = g.Version
	}

	in.AdvertInt = DefaultAdvertInt
	if x.advertInt != "" {
		if v, ok := dc.advertInt(x, in.Version); ok {
			in.AdvertInt = v
		}
	}

	// keepalived: "Ignoring track_interface eth0 since own interface";
	// the instance's interface is tracked anyway (unless
	// dont_track_primary).
	var tracked []TrackInterface
	for _, ti := range in.TrackInterfaces {
		if ti.Name == in.Interface && in.Interface != "" {
			dc.note(ti.Pos, KindCorrected, "track_interface", "%s: %s is the instance's own interface: keepalived ignores this tracking, and so does xvrrpd", what, ti.Name)
			continue
		}
		tracked = append(tracked, ti)
	}
	in.TrackInterfaces = tracked

	// Priority and state, as keepalived's vrrp_complete_instance: an
	// unset priority follows state MASTER (255, the address owner), an
	// unset state follows priority 255.
	switch {
	case !x.prioritySet && in.State == vrrp.Master:
		in.Priority = vrrp.PriorityOwner
		dc.note(x.statePos, KindNote, "state", "%s: state MASTER without priority: keepalived gives it priority 255 (the address owner), and so does xvrrpd", what)
	case !x.stateSet && in.Priority == vrrp.PriorityOwner:
		in.State = vrrp.Master
	}
	// vrrp_strict / strict_mode, as keepalived 2.2.7 applies them: its peers
	// on the wire behave so, and so must xvrrpd.
	strict := g.Strict
	if x.strict != nil {
		strict = *x.strict
	}
	if strict && in.State == vrrp.Master && in.Priority != vrrp.PriorityOwner {
		dc.note(in.Pos, KindCorrected, "state", "%s: strict mode allows state MASTER only with priority 255; starting as BACKUP, as keepalived", what)
		in.State = vrrp.Backup
	}

	// Addresses. Those of the other family were dropped as read.
	if len(in.VIPs) == 0 {
		if in.Version == vrrp.V3 {
			// keepalived: "No VIP specified; at least one is required".
			dc.errorf(in.Pos, "%s: no virtual address: VRRPv3 needs at least one (keepalived refuses it too)", what)
		} else {
			dc.note(in.Pos, KindCorrected, "virtual_ipaddress", "%s: no virtual address; at least one is sensible (keepalived says so too)", what)
		}
	}
	if in.Unicast() {
		for _, p := range in.UnicastPeers {
			if p == in.UnicastSrc {
				dc.errorf(x.peersPos, "%s: unicast_peer %s is the instance's own source address", what, p)
			}
		}
	} else if x.unicastKw != (Pos{}) {
		// keepalived: "A unicast keyword has been specified without any
		// unicast peers. Defaulting to multicast."
		dc.note(x.unicastKw, KindCorrected, "unicast_peer", "%s: a unicast keyword without any unicast peer: keepalived sends multicast adverts, and so does xvrrpd", what)
	}
	if in.McastGroup.IsValid() {
		switch {
		case familyOf(in.McastGroup) != fam:
			dc.errorf(x.mcastGroup, "%s: mcast_dst_ip %s is %s but the instance is %s", what, in.McastGroup, familyOf(in.McastGroup), fam)
		case in.McastGroup.Is4() && !in.McastGroup.IsMulticast():
			dc.errorf(x.mcastGroup, "%s: mcast_dst_ip %s is not a multicast address", what, in.McastGroup)
		case in.McastGroup.Is6() && !in.McastGroup.IsLinkLocalMulticast():
			dc.errorf(x.mcastGroup, "%s: mcast_dst_ip %s is not a link-local multicast address (ffX2::)", what, in.McastGroup)
		}
	} else if fam == IPv6 {
		in.McastGroup = g.McastGroup6
	} else {
		in.McastGroup = g.McastGroup4
	}

	// Interface: keepalived lets unicast instances omit it when the source
	// address is given and every address names its device.
	if in.Interface == "" {
		switch {
		case !in.Unicast():
			dc.errorf(in.Pos, "%s: missing interface", what)
		case !in.UnicastSrc.IsValid():
			dc.errorf(x.peersPos, "%s: unicast_peer without interface or unicast_src_ip: no usable source address", what)
		default:
			for _, v := range append(append([]VIP{}, in.VIPs...), in.ExcludedVIPs...) {
				if v.Dev == "" {
					dc.errorf(v.Pos, "%s: without an interface every address needs dev", what)
				}
			}
		}
	}
	if in.Unicast() && in.UnicastSrc.IsValid() && in.UnicastSrc.IsLinkLocalUnicast() && in.Interface == "" {
		dc.errorf(x.srcPos, "%s: link-local unicast_src_ip needs an interface", what)
	}

	if in.Version == vrrp.V3 && in.AuthType != vrrp.AuthNone {
		// RFC 5798 §9: VRRPv3 has no authentication field.
		dc.note(x.authPos, KindCorrected, "authentication", "%s: VRRPv3 has no authentication; ignored, as keepalived", what)
		in.AuthType, in.AuthPass = vrrp.AuthNone, [8]byte{}
	}

	for _, v := range append(append([]VIP{}, in.VIPs...), in.ExcludedVIPs...) {
		if v.Label == "" {
			continue
		}
		dev := v.Dev
		if dev == "" {
			dev = in.Interface
		}
		if dev != "" && (len(v.Label) < len(dev) || v.Label[:len(dev)] != dev) {
			dc.note(v.Pos, KindNote, "label", "%q does not start with the device name %q; the kernel may refuse it", v.Label, dev)
		}
	}

	// nopreempt and preempt_delay, as keepalived clears them.
	switch {
	case !in.Preempt && in.Priority == vrrp.PriorityOwner:
		dc.note(in.Pos, KindCorrected, "nopreempt", "%s: nopreempt does not apply to priority 255: keepalived clears it, and so does xvrrpd", what)
		in.Preempt = true
	case !in.Preempt && in.State == vrrp.Master:
		dc.note(in.Pos, KindCorrected, "nopreempt", "%s: nopreempt does not work with state MASTER: keepalived clears it, and so does xvrrpd", what)
		in.Preempt = true
	}
	if in.PreemptDelay != 0 {
		switch {
		case in.State == vrrp.Master:
			dc.note(x.preemptDelay, KindCorrected, "preempt_delay", "%s: preempt_delay does not work with state MASTER: keepalived clears it, and so does xvrrpd", what)
			in.PreemptDelay = 0
		case !in.Preempt:
			dc.note(x.preemptDelay, KindCorrected, "preempt_delay", "%s: preempt_delay does not apply with nopreempt: keepalived clears it, and so does xvrrpd", what)
			in.PreemptDelay = 0
		}
	}

	if strict {
		if in.AuthType != vrrp.AuthNone {
			dc.note(x.authPos, KindCorrected, "authentication", "%s: strict mode does not allow authentication; sent without, as keepalived", what)
			in.AuthType, in.AuthPass = vrrp.AuthNone, [8]byte{}
		}
		if in.PreemptDelay != 0 {
			dc.note(x.preemptDelay, KindCorrected, "preempt_delay", "%s: strict mode does not allow preempt_delay; reset to 0, as keepalived", what)
			in.PreemptDelay = 0
		}
		// keepalived's strict mode: no gratuitous ARP repeats, and
		// RFC 5798's discard of a lower-priority advert.
		if x.lowerRepeat != (Pos{}) && in.Garp.LowerPrioRepeat != 0 {
			dc.note(x.lowerRepeat, KindCorrected, "garp_lower_prio_repeat", "%s: strict mode does not allow gratuitous ARP repeats; reset to 0, as keepalived", what)
		}
		if x.lowerDelay != (Pos{}) && in.Garp.LowerPrioDelay != 0 {
			dc.note(x.lowerDelay, KindCorrected, "garp_lower_prio_delay", "%s: strict mode does not allow gratuitous ARP repeats; reset to 0, as keepalived", what)
		}
		in.Garp.LowerPrioRepeat, in.Garp.LowerPrioDelay = 0, 0
		if x.noAdvert != (Pos{}) && !in.LowerPrioNoAdvert {
			dc.note(x.noAdvert, KindCorrected, "lower_prio_no_advert", "%s: strict mode requires lower_prio_no_advert; set, as keepalived", what)
		}
		in.LowerPrioNoAdvert = true
		if in.Unicast() {
			dc.errorf(x.peersPos, "%s: strict mode does not allow unicast_peer", what)
		}
		if len(in.VIPs) == 0 {
			dc.errorf(in.Pos, "%s: strict mode needs at least one virtual address", what)
		}
	}
}

func (dc *decoder) extraFor(in *Instance) *instExtra {
	if x := dc.extra[in]; x != nil {
		return x
	}
	return &instExtra{}
}

// advertInt interprets advert_int for the version: VRRPv2 carries whole
// seconds in 8 bits (RFC 3768 §5.3.7), VRRPv3 centiseconds in 12 bits
// (RFC 5798 §5.2.7).
func (dc *decoder) advertInt(x *instExtra, v vrrp.Version) (time.Duration, bool) {
	f, err := strconv.ParseFloat(x.advertInt, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		dc.errorf(x.advertPos, "advert_int: %q is not a number of seconds", x.advertInt)
		return 0, false
	}
	if v == vrrp.V3 {
		cs := math.Round(f * 100)
		if math.Abs(cs-f*100) > 1e-6 || cs < 1 || cs > 4095 {
			dc.errorf(x.advertPos, "advert_int: %s invalid for VRRPv3: must be 0.01 to 40.95 seconds in steps of 0.01", x.advertInt)
			return 0, false
		}
		return time.Duration(cs) * 10 * time.Millisecond, true
	}
	if f != math.Trunc(f) || f < 1 || f > 255 {
		dc.errorf(x.advertPos, "advert_int: %s invalid for VRRPv2: must be whole seconds 1 to 255 (keepalived would round; use version 3 for sub-second)", x.advertInt)
		return 0, false
	}
	return time.Duration(f) * time.Second, true
}

// dupVRIDs reports instances sharing interface, family and VRID: they would
// share one advert stream (RFC 5798 §5.2.3) and one kernel map entry.
func dupVRIDs(c *Config, d *diag) {
	type key struct {
		ifname string
		fam    Family
		vrid   uint8
	}
	seen := map[key]*Instance{}
	for _, in := range c.Instances {
		if in.VRID == 0 {
			continue
		}
		k := key{in.Interface, in.Family(), in.VRID}
		if prev, ok := seen[k]; ok {
			ifn := in.Interface
			if ifn == "" {
				ifn = "(no interface)"
			}
			d.errorf(in.Pos, "vrrp_instance %s: virtual_router_id %d already used for %s on %s by vrrp_instance %s at %s",
				in.Name, in.VRID, k.fam, ifn, prev.Name, prev.Pos.at())
			continue
		}
		seen[k] = in
	}
}
