package control

import (
	"net/netip"
	"strconv"
)

// Keepalived's numbers for the VRRP states, as its JSON dump writes them
// in "state" and "wantstate" (keepalived's VRRP_STATE_* in vrrp.h).
const (
	KeepalivedInit   = 0
	KeepalivedBackup = 1
	KeepalivedMaster = 2
	KeepalivedFault  = 3
)

// KeepalivedState returns keepalived's number for one of our state names
// (InstanceStatus.State and WantState, Event.From and To); false for a
// name keepalived has no number for.
func KeepalivedState(name string) (int, bool) {
	switch name {
	case "INIT":
		return KeepalivedInit, true
	case "BACKUP":
		return KeepalivedBackup, true
	case "MASTER":
		return KeepalivedMaster, true
	case "FAULT":
		return KeepalivedFault, true
	}
	return 0, false
}

// KeepalivedInstance is one element of keepalived's JSON dump (the array
// `keepalived --json` writes to /tmp/keepalived.json on SIGJSON, 2.2.x
// format), so that tools reading that dump read ours unchanged, plus
// xvrrp's own view of the instance.
type KeepalivedInstance struct {
	Data  KeepalivedData  `json:"data"`
	Stats KeepalivedStats `json:"stats"`
	// Xvrrp is the instance as the daemon's Status has it (state names,
	// source, master, VIPs held or not, reason, fault, trackers).
	Xvrrp InstanceStatus `json:"xvrrp"`
}

// KeepalivedData is the "data" object of a KeepalivedInstance: keepalived's
// field names, types and order, for the fields a Status carries. Fields
// the Status does not carry (garp_*, nopreempt, preempt_delay, scripts,
// auth_type, strict_mode, ...) are left out rather than guessed.
type KeepalivedData struct {
	IName string `json:"iname"`
	// IfpIfname is the instance's interface (absent, as in keepalived,
	// when it has none).
	IfpIfname      string `json:"ifp_ifname,omitempty"`
	MasterPriority uint8  `json:"master_priority"`
	// LastTransition is when the instance entered its state, in seconds
	// since the epoch (0: no transition yet).
	LastTransition    EpochSeconds `json:"last_transition"`
	VRID              uint8        `json:"vrid"`
	BasePriority      uint8        `json:"base_priority"`
	EffectivePriority uint8        `json:"effective_priority"`
	// VIPSet: the instance has added its VIPs (it is MASTER).
	VIPSet bool `json:"vipset"`
	// AdverInt and MasterAdverInt are in seconds.
	AdverInt       float64 `json:"adver_int"`
	MasterAdverInt float64 `json:"master_adver_int"`
	State          int     `json:"state"`
	WantState      int     `json:"wantstate"`
	Version        uint8   `json:"version"`
	// VIPs are "ADDR dev IFACE", with " set" when the kernel holds the
	// address (keepalived's format, without the scope, which the Status
	// does not carry). virtual_ipaddress_excluded addresses are here too:
	// the Status does not tell them apart (keepalived lists them under
	// "evips").
	VIPs []string `json:"vips,omitempty"`
	// TrackIfp are the track_interface names.
	TrackIfp []string `json:"track_ifp,omitempty"`
}

// EpochSeconds is a time in seconds since the epoch, written as keepalived
// writes last_transition: a number with six decimals.
type EpochSeconds float64

// MarshalJSON writes the number with six decimals.
func (s EpochSeconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(s), 'f', 6, 64), nil
}

// KeepalivedStats is the "stats" object of a KeepalivedInstance:
// keepalived's counter names. The per-instance counters are the
// instance's; the error counters are zero (see KeepalivedErrorCounters).
type KeepalivedStats struct {
	InstanceStats
	KeepalivedErrorCounters
}

// KeepalivedErrorCounters are keepalived's counters of invalid adverts.
//
// xvrrp counts invalid adverts per drop reason for the whole daemon
// (Status.Drops), not per instance: the kernel drops one before it knows
// which instance it was for. KeepalivedErrors sums them into these names;
// Keepalived leaves them zero in each instance's stats, because a
// daemon-wide sum copied into every instance would be counted once per
// instance by whoever adds the instances up.
type KeepalivedErrorCounters struct {
	PacketLenErr      uint64 `json:"packet_len_err"`
	AdvertIntervalErr uint64 `json:"advert_interval_err"`
	IPTTLErr          uint64 `json:"ip_ttl_err"`
	InvalidTypeRcvd   uint64 `json:"invalid_type_rcvd"`
	AddrListErr       uint64 `json:"addr_list_err"`
	InvalidAuthtype   uint64 `json:"invalid_authtype"`
	AuthtypeMismatch  uint64 `json:"authtype_mismatch"`
	AuthFailure       uint64 `json:"auth_failure"`
}

// DropCounter returns the keepalived error counter that counts the same
// failure as a drop reason of ours (vrrp.DropReason's name, as Status.Drops
// has it), or "" when keepalived counts it in none: keepalived's
// vrrp_check_packet counts a wrong version, a bad checksum or an unknown
// VRID only for SNMP, and its own adverts, a non-peer source or a rate
// limit not at all.
//
// Our auth_type_mismatch covers both keepalived's invalid_authtype (a type
// that is not 0, 1 or 2) and authtype_mismatch (a type other than the
// configured one): it is counted as authtype_mismatch. keepalived 2.2
// drops a VRRPv2 advert with another interval without counting it; we
// count it, and a zero interval, as advert_interval_err, the counter
// RFC 2787 (vrrpStatsAdvertiseIntervalErrors) defines for it.
func DropCounter(reason string) string {
	switch reason {
	case "truncated", "bad_length":
		return "packet_len_err"
	case "bad_interval", "interval_mismatch":
		return "advert_interval_err"
	case "bad_ttl":
		return "ip_ttl_err"
	case "bad_type":
		return "invalid_type_rcvd"
	case "addr_count_mismatch", "addr_list_mismatch":
		return "addr_list_err"
	case "auth_type_mismatch":
		return "authtype_mismatch"
	case "auth_data_mismatch":
		return "auth_failure"
	}
	return ""
}

// KeepalivedErrors sums daemon-wide drops by reason (Status.Drops) into
// keepalived's error counters, as DropCounter maps them.
func KeepalivedErrors(drops map[string]uint64) KeepalivedErrorCounters {
	var c KeepalivedErrorCounters
	for reason, n := range drops {
		switch DropCounter(reason) {
		case "packet_len_err":
			c.PacketLenErr += n
		case "advert_interval_err":
			c.AdvertIntervalErr += n
		case "ip_ttl_err":
			c.IPTTLErr += n
		case "invalid_type_rcvd":
			c.InvalidTypeRcvd += n
		case "addr_list_err":
			c.AddrListErr += n
		case "authtype_mismatch":
			c.AuthtypeMismatch += n
		case "auth_failure":
			c.AuthFailure += n
		}
	}
	return c
}

// Keepalived returns the instances of st in keepalived's JSON dump shape,
// in st's order. A state name keepalived has no number for is written as
// INIT (0); an empty WantState as the State.
func Keepalived(st Status) []KeepalivedInstance {
	out := make([]KeepalivedInstance, len(st.Instances))
	for i, in := range st.Instances {
		state, _ := KeepalivedState(in.State)
		want := state
		if in.WantState != "" {
			want, _ = KeepalivedState(in.WantState)
		}
		var last EpochSeconds
		if !in.Since.IsZero() {
			last = EpochSeconds(float64(in.Since.UnixMicro()) / 1e6)
		}
		masterInt := in.MasterAdvertInt
		if masterInt == 0 {
			// keepalived starts master_adver_int at adver_int.
			masterInt = in.AdvertInt
		}
		d := KeepalivedData{
			IName: in.Name, IfpIfname: in.Interface, MasterPriority: in.MasterPriority, LastTransition: last,
			VRID: in.VRID, BasePriority: in.ConfiguredPriority, EffectivePriority: in.Priority, VIPSet: in.HoldsVIPs,
			AdverInt: in.AdvertInt.Seconds(), MasterAdverInt: masterInt.Seconds(),
			State: state, WantState: want, Version: in.Version,
		}
		for _, v := range in.VIPs {
			d.VIPs = append(d.VIPs, keepalivedVIP(v, in.Interface))
		}
		for _, t := range in.Trackers {
			if t.Kind == "interface" {
				d.TrackIfp = append(d.TrackIfp, t.Name)
			}
		}
		out[i] = KeepalivedInstance{Data: d, Stats: KeepalivedStats{InstanceStats: in.Stats}, Xvrrp: in}
	}
	return out
}

// keepalivedVIP writes a VIP as keepalived's dump does: the address, its
// prefix length unless the address is a host route (/32, /128), the
// device (the instance's interface when the VIP names none), " set" when
// it is held.
func keepalivedVIP(v VIPStatus, iface string) string {
	addr := v.Addr
	if p, err := netip.ParsePrefix(addr); err == nil && p.IsSingleIP() {
		addr = p.Addr().String()
	}
	dev := v.Dev
	if dev == "" {
		dev = iface
	}
	s := addr + " dev " + dev
	if v.Held {
		s += " set"
	}
	return s
}
