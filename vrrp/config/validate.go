package config

import (
	"math"
	"net/netip"
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
	scripts := map[string]*Script{}
	for _, s := range c.Scripts {
		if prev, ok := scripts[s.Name]; ok {
			d.errorf(s.Pos, "vrrp_script %s: already defined at %s", s.Name, prev.Pos.at())
			continue
		}
		scripts[s.Name] = s
	}
	files := map[string]*TrackFile{}
	for _, f := range c.TrackFiles {
		if prev, ok := files[f.Name]; ok {
			d.errorf(f.Pos, "track_file %s: already defined at %s", f.Name, prev.Pos.at())
			continue
		}
		files[f.Name] = f
	}
	checkRefs := func(owner string, refs []TrackRef, kind string, exists func(string) bool) {
		for _, r := range refs {
			if !exists(r.Name) {
				d.errorf(r.Pos, "%s: %s %q is not defined", owner, kind, r.Name)
			}
		}
	}
	hasScript := func(n string) bool { return scripts[n] != nil }
	hasFile := func(n string) bool { return files[n] != nil }
	for _, in := range c.Instances {
		checkRefs("vrrp_instance "+in.Name, in.TrackScripts, "track_script: vrrp_script", hasScript)
		checkRefs("vrrp_instance "+in.Name, in.TrackFiles, "track_file: track_file", hasFile)
		if in.Priority == vrrp.PriorityOwner && weighted(in, scripts, files) {
			d.warn(in.Pos, "priority", "vrrp_instance %s: priority 255 (address owner) is never changed by tracking weights", in.Name)
		}
	}
	inGroup := map[string]*SyncGroup{}
	for _, g := range c.SyncGroups {
		checkRefs("vrrp_sync_group "+g.Name, g.TrackScripts, "track_script: vrrp_script", hasScript)
		checkRefs("vrrp_sync_group "+g.Name, g.TrackFiles, "track_file: track_file", hasFile)
		if len(g.Members) == 0 {
			d.errorf(g.Pos, "vrrp_sync_group %s: no group { ... } of instances", g.Name)
		} else if len(g.Members) == 1 {
			d.warn(g.Pos, "vrrp_sync_group", "%s has a single instance; a sync group needs two to mean anything", g.Name)
		}
		for _, m := range g.Members {
			in := byName[m]
			if in == nil {
				d.errorf(g.Pos, "vrrp_sync_group %s: vrrp_instance %q is not defined", g.Name, m)
				continue
			}
			if prev, ok := inGroup[m]; ok {
				d.errorf(g.Pos, "vrrp_sync_group %s: vrrp_instance %s is already in vrrp_sync_group %s", g.Name, m, prev.Name)
				continue
			}
			inGroup[m] = g
			in.SyncGroup = g.Name
		}
	}
}

func weighted(in *Instance, scripts map[string]*Script, files map[string]*TrackFile) bool {
	for _, t := range in.TrackInterfaces {
		if t.Weight != 0 {
			return true
		}
	}
	for _, t := range in.TrackScripts {
		w := t.Weight
		if s := scripts[t.Name]; !t.WeightSet && s != nil {
			w = s.Weight
		}
		if w != 0 {
			return true
		}
	}
	for _, t := range in.TrackFiles {
		w := t.Weight
		if f := files[t.Name]; !t.WeightSet && f != nil {
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

	// Addresses.
	if len(in.VIPs) == 0 {
		dc.warn(in.Pos, "virtual_ipaddress", "%s: no virtual address; at least one is sensible", what)
	}
	checkFam := func(a netip.Addr, kw string, pos Pos) {
		if a.IsValid() && familyOf(a) != fam {
			dc.errorf(pos, "%s: %s %s is %s but the instance is %s", what, kw, a, familyOf(a), fam)
		}
	}
	if in.UnicastSrc.IsValid() && in.McastSrc.IsValid() && in.UnicastSrc != in.McastSrc {
		dc.errorf(x.srcPos, "%s: unicast_src_ip %s and mcast_src_ip %s differ; they name the same source address", what, in.UnicastSrc, in.McastSrc)
	}
	if !in.UnicastSrc.IsValid() {
		in.UnicastSrc = in.McastSrc
	}
	if !in.McastSrc.IsValid() {
		in.McastSrc = in.UnicastSrc
	}
	checkFam(in.UnicastSrc, "source address", x.srcPos)
	if in.Unicast() {
		checkFam(in.UnicastPeers[0], "unicast_peer", x.peersPos)
		for _, p := range in.UnicastPeers {
			if p == in.UnicastSrc {
				dc.errorf(x.peersPos, "%s: unicast_peer %s is the instance's own source address", what, p)
			}
		}
	} else if x.peersBlock {
		dc.errorf(x.peersPos, "%s: unicast_peer block has no peer address", what)
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
		dc.warn(x.authPos, "authentication", "%s: VRRPv3 has no authentication; ignored", what)
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
			dc.warn(v.Pos, "label", "%q does not start with the device name %q; the kernel may refuse it", v.Label, dev)
		}
	}

	if !in.Preempt && in.State == vrrp.Master {
		dc.warn(in.Pos, "nopreempt", "%s: nopreempt has no effect with state MASTER (keepalived documents the same)", what)
	}

	// vrrp_strict / strict_mode, as keepalived 2.2.7 applies them: its peers
	// on the wire behave so, and so must xvrrpd.
	strict := g.Strict
	if x.strict != nil {
		strict = *x.strict
	}
	if strict {
		if in.AuthType != vrrp.AuthNone {
			dc.warn(x.authPos, "authentication", "%s: strict mode does not allow authentication; sent without, as keepalived", what)
			in.AuthType, in.AuthPass = vrrp.AuthNone, [8]byte{}
		}
		if in.State == vrrp.Master && in.Priority != vrrp.PriorityOwner {
			dc.warn(in.Pos, "state", "%s: strict mode allows state MASTER only with priority 255; starting as BACKUP, as keepalived", what)
			in.State = vrrp.Backup
		}
		if in.PreemptDelay != 0 {
			dc.warn(x.preemptDelay, "preempt_delay", "%s: strict mode does not allow preempt_delay; reset to 0, as keepalived", what)
			in.PreemptDelay = 0
		}
		// keepalived's strict mode: no gratuitous ARP repeats, and
		// RFC 5798's discard of a lower-priority advert.
		if x.lowerRepeat != (Pos{}) && in.Garp.LowerPrioRepeat != 0 {
			dc.warn(x.lowerRepeat, "garp_lower_prio_repeat", "%s: strict mode does not allow gratuitous ARP repeats; reset to 0, as keepalived", what)
		}
		if x.lowerDelay != (Pos{}) && in.Garp.LowerPrioDelay != 0 {
			dc.warn(x.lowerDelay, "garp_lower_prio_delay", "%s: strict mode does not allow gratuitous ARP repeats; reset to 0, as keepalived", what)
		}
		in.Garp.LowerPrioRepeat, in.Garp.LowerPrioDelay = 0, 0
		if x.noAdvert != (Pos{}) && !in.LowerPrioNoAdvert {
			dc.warn(x.noAdvert, "lower_prio_no_advert", "%s: strict mode requires lower_prio_no_advert; set, as keepalived", what)
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
