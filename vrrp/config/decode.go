package config

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// instExtra keeps what can only be checked once the whole file is read.
type instExtra struct {
	advertInt    string // as written; interpreted once the version is known
	advertPos    Pos
	authPos      Pos
	preemptDelay Pos // position of preempt_delay, zero if absent
	strict       *bool
	mcastGroup   Pos // position of mcast_dst_ip, zero if absent
	srcPos       Pos
	peersPos     Pos
	peersBlock   bool // an unicast_peer block was given (possibly empty)
	// Positions of garp_lower_prio_repeat, garp_lower_prio_delay and
	// lower_prio_no_advert, zero if absent: strict mode resets them.
	lowerRepeat, lowerDelay, noAdvert Pos
}

type decoder struct {
	*diag
	c     *Config
	extra map[*Instance]*instExtra
	// lowerRepeat, lowerDelay: vrrp_garp_lower_prio_repeat / _delay were
	// given; otherwise they follow vrrp_garp_master_repeat / _delay.
	lowerRepeat, lowerDelay bool
}

func decode(tree []*node, d *diag) *decoder {
	dc := &decoder{diag: d, c: &Config{Global: defaultGlobal()}, extra: map[*Instance]*instExtra{}}
	// global_defs first, wherever it is: instances take their defaults from it.
	for _, n := range tree {
		if n.keyword == "global_defs" {
			dc.global(n)
		}
	}
	g := &dc.c.Global.Garp
	if !dc.lowerRepeat {
		g.LowerPrioRepeat = g.MasterRepeat
	}
	if !dc.lowerDelay {
		g.LowerPrioDelay = g.MasterDelay
	}
	for _, n := range tree {
		switch n.keyword {
		case "global_defs":
		case "vrrp_instance":
			dc.instance(n)
		case "vrrp_script":
			dc.script(n)
		case "track_file", "vrrp_track_file":
			dc.trackFile(n)
		case "vrrp_sync_group":
			dc.syncGroup(n)
		case "virtual_server", "virtual_server_group", "real_server":
			dc.warn(n.pos, n.keyword, "not supported by xvrrpd (LVS); block ignored")
		default:
			if topUnsupported[n.keyword] {
				dc.warn(n.pos, n.keyword, "not supported by xvrrpd; ignored")
			} else {
				dc.warn(n.pos, n.keyword, "unknown keyword; ignored")
			}
		}
	}
	return dc
}

var topUnsupported = set("static_ipaddress", "static_routes", "static_rules", "static_track_group",
	"linkbeat_interfaces", "interface_up_down_delays", "garp_group", "vrrp_track_process",
	"bfd_instance", "net_namespace", "net_namespace_ipvs", "namespace_with_ipsets", "instance",
	"use_pid_dir", "linkbeat_use_polling", "child_wait_time", "vrrp_group", "vrrp_sync_group_process")

func set(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// ---- generic argument helpers. Each reports its own error and returns ok.

// leaf checks that n has between min and max arguments (max<0: no limit)
// and no block.
func (dc *decoder) leaf(n *node, min, max int) bool {
	ok := true
	if n.block {
		dc.errorf(n.pos, "%s: does not take a block", n.keyword)
		ok = false
	}
	switch {
	case len(n.args) < min && min == 1 && max == 1:
		dc.errorf(n.pos, "%s: missing value", n.keyword)
		ok = false
	case len(n.args) < min:
		dc.errorf(n.pos, "%s: needs at least %d arguments, has %d", n.keyword, min, len(n.args))
		ok = false
	case max >= 0 && len(n.args) > max:
		if max == 0 {
			dc.errorf(n.pos, "%s: takes no argument, has %q", n.keyword, strings.Join(n.args, " "))
		} else {
			dc.errorf(n.pos, "%s: too many arguments (%q); at most %d", n.keyword, strings.Join(n.args, " "), max)
		}
		ok = false
	}
	return ok
}

// blockOf checks that n opens a block and takes no argument beyond want.
func (dc *decoder) blockOf(n *node, args int) bool {
	if !n.block {
		dc.errorf(n.pos, "%s: needs a { ... } block", n.keyword)
		return false
	}
	if len(n.args) != args {
		if args == 1 && len(n.args) == 0 {
			dc.errorf(n.pos, "%s: missing name", n.keyword)
		} else {
			dc.errorf(n.pos, "%s: expects %d argument(s) before '{', has %d", n.keyword, args, len(n.args))
		}
		return false
	}
	return true
}

func (dc *decoder) intVal(n *node, s string, lo, hi int) (int, bool) {
	v, err := strconv.Atoi(s)
	if err != nil {
		dc.errorf(n.pos, "%s: %q is not an integer", n.keyword, s)
		return 0, false
	}
	if v < lo || v > hi {
		dc.errorf(n.pos, "%s: %d out of range [%d, %d]", n.keyword, v, lo, hi)
		return 0, false
	}
	return v, true
}

// int1 decodes a leaf with one integer argument.
func (dc *decoder) int1(n *node, lo, hi int) (int, bool) {
	if !dc.leaf(n, 1, 1) {
		return 0, false
	}
	return dc.intVal(n, n.args[0], lo, hi)
}

// seconds parses a decimal number of seconds (microsecond resolution, as
// keepalived's <TIMER>).
func (dc *decoder) seconds(n *node, s string, lo, hi time.Duration) (time.Duration, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(s, "xXpP_") {
		dc.errorf(n.pos, "%s: %q is not a number of seconds", n.keyword, s)
		return 0, false
	}
	if f < lo.Seconds() || f > hi.Seconds() {
		dc.errorf(n.pos, "%s: %s out of range [%v, %v]", n.keyword, s, lo.Seconds(), hi.Seconds())
		return 0, false
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond, true
}

func (dc *decoder) seconds1(n *node, lo, hi time.Duration) (time.Duration, bool) {
	if !dc.leaf(n, 1, 1) {
		return 0, false
	}
	return dc.seconds(n, n.args[0], lo, hi)
}

// flag decodes a keyword with an optional <BOOL> (absent means true).
func (dc *decoder) flag(n *node) (bool, bool) {
	if !dc.leaf(n, 0, 1) {
		return false, false
	}
	if len(n.args) == 0 {
		return true, true
	}
	switch strings.ToLower(n.args[0]) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	dc.errorf(n.pos, "%s: %q is not one of on|off|true|false|yes|no", n.keyword, n.args[0])
	return false, false
}

func (dc *decoder) addrVal(n *node, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		dc.errorf(n.pos, "%s: %q is not an IPv4 or IPv6 address", n.keyword, s)
		return netip.Addr{}, false
	}
	return a, true
}

func (dc *decoder) addr1(n *node) (netip.Addr, bool) {
	if !dc.leaf(n, 1, 1) {
		return netip.Addr{}, false
	}
	return dc.addrVal(n, n.args[0])
}

// command decodes "keyword SCRIPT [user [group]]" as keepalived does for
// notify scripts: words after the (quoted) script are the user and group.
func (dc *decoder) command(n *node) (Command, bool) {
	if !dc.leaf(n, 1, 3) {
		return Command{}, false
	}
	c := Command{Cmd: n.args[0]}
	if c.Cmd == "" {
		dc.errorf(n.pos, "%s: empty script", n.keyword)
		return Command{}, false
	}
	if len(n.args) > 1 {
		c.User = n.args[1]
	}
	if len(n.args) > 2 {
		c.Group = n.args[2]
	}
	return c, true
}

// weight decodes "weight N [reverse|noreverse|no_reverse]" starting at
// args[i].
func (dc *decoder) weight(n *node, args []string, lo, hi int) (w int, reverse, set, ok bool) {
	ok = true
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "weight":
			if i+1 >= len(args) {
				dc.errorf(n.pos, "%s: weight needs a value", n.keyword)
				return 0, false, false, false
			}
			v, good := dc.intVal(&node{pos: n.pos, keyword: n.keyword + " weight"}, args[i+1], lo, hi)
			if !good {
				return 0, false, false, false
			}
			w, set = v, true
			i++
		case "reverse":
			reverse = true
		case "noreverse", "no_reverse":
			reverse = false
		default:
			dc.errorf(n.pos, "%s: unexpected %q (expected weight N [reverse])", n.keyword, args[i])
			ok = false
		}
	}
	return w, reverse, set, ok
}

// ---- global_defs

var mailKeywords = set("notification_email", "notification_email_from", "smtp_server",
	"smtp_connect_timeout", "smtp_helo_name", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker",
	"no_email_faults")

// Known keepalived global_defs keywords that xvrrpd does not implement; any
// other unknown keyword is reported as unknown (likely a typo).
var globalUnsupported = set("vrrp_iptables", "vrrp_ipsets", "nftables", "nftables_priority",
	"nftables_counters", "nftables_ifindex", "nftables_ipvs", "nftables_ipvs_priority",
	"nftables_ipvs_start_fwmark", "vrrp_check_unicast_src", "vrrp_down_timer_adverts",
	"vrrp_garp_extra_if", "vrrp_higher_prio_send_advert", "disable_local_igmp",
	"vrrp_notify_priority_changes", "max_auto_priority", "min_auto_priority_delay", "vrrp_priority",
	"checker_priority", "bfd_priority", "vrrp_no_swap", "checker_no_swap", "bfd_no_swap",
	"vrrp_cpu_affinity", "checker_cpu_affinity", "bfd_cpu_affinity", "vrrp_rt_priority",
	"checker_rt_priority", "bfd_rt_priority", "vrrp_rlimit_rttime", "checker_rlimit_rttime",
	"bfd_rlimit_rttime", "snmp_socket", "enable_snmp_vrrp", "enable_snmp_checker", "enable_snmp_rfc",
	"enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_traps", "enable_dbus", "dbus_service_name",
	"notify_fifo_script", "vrrp_notify_fifo_script", "lvs_notify_fifo", "lvs_notify_fifo_script",
	"fifo_write_vrrp_states_on_reload", "dynamic_interfaces", "default_interface", "lvs_sync_daemon",
	"lvs_timeouts", "lvs_flush", "lvs_flush_on_stop", "tmp_config_directory", "config_save_dir",
	"process_names", "process_name", "vrrp_process_name", "checker_process_name", "bfd_process_name",
	"startup_script", "startup_script_timeout", "shutdown_script", "shutdown_script_timeout",
	"checker_log_all_failures", "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force",
	"vrrp_netlink_monitor_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs_force", "vrrp_rx_bufs_policy",
	"vrrp_rx_bufs_multiplier", "vrrp_log_unknown_vrids", "umask",
	"random_seed", "reload_check_config", "reload_time_file", "reload_repeat", "reload_file",
	"data_use_instance", "include_check", "script_user_group", "net_namespace", "instance",
	"use_pid_dir", "linkbeat_use_polling", "child_wait_time", "vrrp_dont_send_advert_on_lower_prio",
	"vrrp_version_check", "vrrp_garp_extra_if_vmac", "checker_process_priority", "vrrp_min_garp_delay")

func (dc *decoder) global(b *node) {
	g := &dc.c.Global
	if g.Pos == (Pos{}) {
		g.Pos = b.pos
	}
	if !dc.blockOf(b, 0) {
		return
	}
	for _, n := range b.children {
		switch n.keyword {
		case "router_id":
			if dc.leaf(n, 1, 1) {
				g.RouterID = n.args[0]
			}
		case "vrrp_version":
			if v, ok := dc.int1(n, 2, 3); ok {
				g.Version = vrrp.Version(v)
			}
		case "vrrp_mcast_group4":
			if a, ok := dc.addr1(n); ok {
				if !a.Is4() || !a.IsMulticast() {
					dc.errorf(n.pos, "%s: %s is not an IPv4 multicast address", n.keyword, a)
				} else {
					g.McastGroup4 = a
				}
			}
		case "vrrp_mcast_group6":
			if a, ok := dc.addr1(n); ok {
				if !a.Is6() || !a.IsLinkLocalMulticast() {
					dc.errorf(n.pos, "%s: %s is not an IPv6 link-local multicast address (ffX2::)", n.keyword, a)
				} else {
					g.McastGroup6 = a
				}
			}
		case "vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat":
			dc.garp(n, strings.TrimPrefix(n.keyword, "vrrp_"), &g.Garp)
		case "vrrp_garp_lower_prio_repeat":
			if dc.garp(n, "garp_lower_prio_repeat", &g.Garp) {
				dc.lowerRepeat = true
			}
		case "vrrp_garp_lower_prio_delay":
			if dc.garp(n, "garp_lower_prio_delay", &g.Garp) {
				dc.lowerDelay = true
			}
		case "vrrp_lower_prio_no_advert":
			if v, ok := dc.flag(n); ok {
				g.LowerPrioNoAdvert = v
			}
		case "vrrp_startup_delay":
			if v, ok := dc.seconds1(n, 0, maxStartupDelay); ok {
				g.StartupDelay = v
			}
		case "vrrp_delay_after_boot":
			if v, ok := dc.seconds1(n, 0, maxStartupDelay); ok {
				g.DelayAfterBoot = v
			}
		case "vrrp_min_garp":
			// One message, no second burst (keepalived's shorthand).
			if on, ok := dc.flag(n); ok && on {
				g.Garp.MasterRepeat = 1
				g.Garp.MasterDelay = 0
			}
		case "vrrp_garp_interval":
			if v, ok := dc.seconds1(n, 0, 1000*time.Second); ok {
				g.GarpInterval = v
			}
		case "vrrp_gna_interval":
			if v, ok := dc.seconds1(n, 0, 1000*time.Second); ok {
				g.GnaInterval = v
			}
		case "script_user":
			if dc.leaf(n, 1, 2) {
				g.ScriptUser = n.args[0]
				if len(n.args) > 1 {
					g.ScriptGroup = n.args[1]
				}
			}
		case "enable_script_security":
			if v, ok := dc.flag(n); ok {
				g.EnableScriptSecurity = v
			}
		case "vrrp_strict":
			if v, ok := dc.flag(n); ok {
				g.Strict = v
			}
		case "vrrp_skip_check_adv_addr":
			if v, ok := dc.flag(n); ok {
				g.SkipCheckAdvAddr = v
			}
		case "notify_fifo", "vrrp_notify_fifo":
			if dc.leaf(n, 1, 3) {
				g.NotifyFifo = n.args[0]
				if len(n.args) > 1 {
					dc.warn(n.pos, n.keyword, "user/group apply to a fifo script, which xvrrpd does not run; ignored")
				}
			}
		case "notification_email":
			if dc.blockOf(n, 0) {
				for _, c := range n.children {
					g.NotificationEmail = append(g.NotificationEmail, c.keyword)
				}
			}
			dc.warn(n.pos, n.keyword, "accepted but unused: xvrrpd sends no email")
		case "notification_email_from":
			if dc.leaf(n, 1, 1) {
				g.NotificationEmailFrom = n.args[0]
			}
			dc.warn(n.pos, n.keyword, "accepted but unused: xvrrpd sends no email")
		case "smtp_server":
			if dc.leaf(n, 1, 2) {
				g.SMTPServer = strings.Join(n.args, " ")
			}
			dc.warn(n.pos, n.keyword, "accepted but unused: xvrrpd sends no email")
		case "smtp_connect_timeout":
			if v, ok := dc.int1(n, 1, 3600); ok {
				g.SMTPConnectTimeout = time.Duration(v) * time.Second
			}
			dc.warn(n.pos, n.keyword, "accepted but unused: xvrrpd sends no email")
		case "smtp_alert":
			if v, ok := dc.flag(n); ok {
				g.SMTPAlert = v
			}
			dc.warn(n.pos, n.keyword, "accepted but unused: xvrrpd sends no email")
		default:
			switch {
			case mailKeywords[n.keyword]:
				dc.warn(n.pos, n.keyword, "accepted but unused: xvrrpd sends no email")
			case globalUnsupported[n.keyword]:
				dc.warn(n.pos, n.keyword, "not supported by xvrrpd; ignored")
			default:
				dc.warn(n.pos, n.keyword, "unknown keyword in global_defs; ignored")
			}
		}
	}
}

// maxStartupDelay is the longest vrrp_startup_delay and
// vrrp_delay_after_boot: keepalived keeps them as 32-bit microseconds.
const maxStartupDelay = math.MaxUint32 * time.Microsecond

// garp decodes one of garp_master_{delay,repeat,refresh,refresh_repeat}
// or garp_lower_prio_{delay,repeat} and tells whether it is valid.
func (dc *decoder) garp(n *node, kw string, g *Garp) bool {
	switch kw {
	case "garp_lower_prio_delay":
		if v, ok := dc.int1(n, 0, 86400); ok {
			g.LowerPrioDelay = time.Duration(v) * time.Second
			return true
		}
	case "garp_lower_prio_repeat":
		if v, ok := dc.int1(n, 0, 1000); ok {
			g.LowerPrioRepeat = v
			return true
		}
	case "garp_master_delay":
		if v, ok := dc.int1(n, 0, 86400); ok {
			g.MasterDelay = time.Duration(v) * time.Second
			return true
		}
	case "garp_master_repeat":
		if v, ok := dc.int1(n, 1, 1000); ok {
			g.MasterRepeat = v
			return true
		}
	case "garp_master_refresh":
		if v, ok := dc.int1(n, 0, 86400); ok {
			g.MasterRefresh = time.Duration(v) * time.Second
			return true
		}
	case "garp_master_refresh_repeat":
		if v, ok := dc.int1(n, 1, 1000); ok {
			g.MasterRefreshRepeat = v
			return true
		}
	}
	return false
}

// ---- vrrp_instance

var instanceUnsupported = set("use_vmac", "use_vmac_addr", "vmac_xmit_base", "use_ipvlan",
	"native_ipv6", "vrf", "track_process", "track_bfd", "track_src_ip", "check_unicast_src",
	"unicast_fault_no_peer", "unicast_ttl", "old_unicast_checksum", "garp_extra_if",
	"garp_extra_if_vmac", "down_timer_adverts", "higher_prio_send_advert", "virtual_routes", "virtual_rules",
	"promote_secondaries", "accept", "no_accept", "skip_check_adv_addr", "debug",
	"notify_master_rx_lower_pri", "notify_priority_changes", "notify_deleted", "kernel_rx_buf_size",
	"linkbeat_use_polling", "track_group")

func (dc *decoder) instance(b *node) {
	g := &dc.c.Global
	in := &Instance{
		Pos:       b.pos,
		State:     vrrp.Backup,
		Priority:  DefaultPriority,
		Preempt:   true,
		Garp:      g.Garp,
		SMTPAlert: g.SMTPAlert,

		LowerPrioNoAdvert: g.LowerPrioNoAdvert,
	}
	x := &instExtra{}
	if len(b.args) > 0 {
		in.Name = b.args[0]
	}
	if !dc.blockOf(b, 1) {
		if !b.block {
			return
		}
	}
	dc.c.Instances = append(dc.c.Instances, in)
	dc.extra[in] = x
	for _, n := range b.children {
		switch n.keyword {
		case "state":
			if dc.leaf(n, 1, 1) {
				switch n.args[0] {
				case "MASTER":
					in.State = vrrp.Master
				case "BACKUP":
					in.State = vrrp.Backup
				default:
					dc.errorf(n.pos, "state: %q is not MASTER or BACKUP", n.args[0])
				}
			}
		case "interface":
			if dc.leaf(n, 1, 1) {
				in.Interface = n.args[0]
			}
		case "virtual_router_id":
			// RFC 5798 §5.2.3: VRID is 1-255.
			if v, ok := dc.int1(n, 1, 255); ok {
				in.VRID = uint8(v)
			}
		case "priority":
			// RFC 5798 §5.2.4: 1-254 backups, 255 the address owner; 0 is
			// reserved for resigning and not configurable.
			if v, ok := dc.int1(n, 1, 255); ok {
				in.Priority = uint8(v)
			}
		case "advert_int":
			if dc.leaf(n, 1, 1) {
				x.advertInt, x.advertPos = n.args[0], n.pos
			}
		case "version":
			if v, ok := dc.int1(n, 2, 3); ok {
				in.Version, in.VersionSet = vrrp.Version(v), true
			}
		case "authentication":
			dc.auth(n, in, x)
		case "virtual_ipaddress":
			if dc.blockOf(n, 0) {
				in.VIPs = append(in.VIPs, dc.vips(n, true, in.VIPs)...)
			}
		case "virtual_ipaddress_excluded":
			if dc.blockOf(n, 0) {
				in.ExcludedVIPs = append(in.ExcludedVIPs, dc.vips(n, false, nil)...)
			}
		case "unicast_src_ip":
			if a, ok := dc.addr1(n); ok {
				in.UnicastSrc, x.srcPos = a, n.pos
			}
		case "mcast_src_ip":
			if a, ok := dc.addr1(n); ok {
				in.McastSrc, x.srcPos = a, n.pos
			}
		case "mcast_dst_ip":
			if a, ok := dc.addr1(n); ok {
				in.McastGroup, x.mcastGroup = a, n.pos
			}
		case "unicast_peer":
			x.peersBlock, x.peersPos = true, n.pos
			if dc.blockOf(n, 0) {
				in.UnicastPeers = append(in.UnicastPeers, dc.peers(n)...)
			}
		case "nopreempt", "no_preempt":
			if dc.leaf(n, 0, 0) {
				in.Preempt = false
			}
		case "preempt":
			if dc.leaf(n, 0, 0) {
				in.Preempt = true
			}
		case "preempt_delay":
			if v, ok := dc.seconds1(n, 0, 1000*time.Second); ok {
				in.PreemptDelay, x.preemptDelay = v, n.pos
			}
		case "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat":
			dc.garp(n, n.keyword, &in.Garp)
		case "garp_lower_prio_repeat":
			if dc.garp(n, n.keyword, &in.Garp) {
				x.lowerRepeat = n.pos
			}
		case "garp_lower_prio_delay":
			if dc.garp(n, n.keyword, &in.Garp) {
				x.lowerDelay = n.pos
			}
		case "lower_prio_no_advert":
			if v, ok := dc.flag(n); ok {
				in.LowerPrioNoAdvert, x.noAdvert = v, n.pos
			}
		case "dont_track_primary":
			if dc.leaf(n, 0, 0) {
				in.DontTrackPrimary = true
			}
		case "track_interface", "track_script", "track_file":
			dc.tracking(n, &in.TrackInterfaces, &in.TrackScripts, &in.TrackFiles)
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify", "notify_fifo":
			dc.notify(n, &in.Notify)
		case "smtp_alert":
			if v, ok := dc.flag(n); ok {
				in.SMTPAlert = v
			}
			dc.warn(n.pos, n.keyword, "accepted but unused: xvrrpd sends no email")
		case "strict_mode":
			if v, ok := dc.flag(n); ok {
				x.strict = &v
			}
		default:
			if instanceUnsupported[n.keyword] {
				dc.warn(n.pos, n.keyword, "not supported by xvrrpd; ignored")
			} else {
				dc.warn(n.pos, n.keyword, "unknown keyword in vrrp_instance; ignored")
			}
		}
	}
}

func (dc *decoder) notify(n *node, nt *Notify) {
	if n.keyword == "notify_fifo" {
		if dc.leaf(n, 1, 3) {
			nt.Fifo = n.args[0]
			if len(n.args) > 1 {
				dc.warn(n.pos, n.keyword, "user/group apply to a fifo script, which xvrrpd does not run; ignored")
			}
		}
		return
	}
	c, ok := dc.command(n)
	if !ok {
		return
	}
	switch n.keyword {
	case "notify_master":
		nt.Master = c
	case "notify_backup":
		nt.Backup = c
	case "notify_fault":
		nt.Fault = c
	case "notify_stop":
		nt.Stop = c
	case "notify":
		nt.Generic = c
	}
}

func (dc *decoder) auth(b *node, in *Instance, x *instExtra) {
	if !dc.blockOf(b, 0) {
		return
	}
	x.authPos = b.pos
	var typ string
	var typPos Pos
	pass, passSet := "", false
	for _, n := range b.children {
		switch n.keyword {
		case "auth_type":
			if dc.leaf(n, 1, 1) {
				typ, typPos = n.args[0], n.pos
			}
		case "auth_pass":
			if dc.leaf(n, 1, 1) {
				pass, passSet = n.args[0], true
				if len(pass) > 8 {
					// RFC 3768 §5.3.10: 8 octets of authentication data.
					dc.warn(n.pos, n.keyword, "longer than 8 characters; truncated to %q as keepalived does", pass[:8])
				}
			}
		default:
			dc.warn(n.pos, n.keyword, "unknown keyword in authentication; ignored")
		}
	}
	switch typ {
	case "":
		if passSet {
			dc.errorf(b.pos, "authentication: auth_pass without auth_type")
		}
	case "PASS", "AH":
		if !passSet {
			dc.errorf(typPos, "auth_type %s: missing auth_pass", typ)
			return
		}
		// AH: RFC 2338 §5.3.6.3, keepalived's IPsec AH (HMAC-MD5-96 keyed
		// with the same 8 NUL-padded bytes PASS would send).
		in.AuthType = vrrp.AuthPass
		if typ == "AH" {
			in.AuthType = vrrp.AuthAH
		}
		in.AuthPass = [8]byte{}
		copy(in.AuthPass[:], pass)
	default:
		dc.errorf(typPos, "auth_type: %q is not PASS or AH", typ)
	}
}

var scopes = set("global", "site", "link", "host", "nowhere", "universe")

// vips decodes the lines of virtual_ipaddress (sameFamily) or
// virtual_ipaddress_excluded:
// ADDR[/LEN] [dev IF] [label L] [scope S] [brd B] [other ip-address options].
func (dc *decoder) vips(b *node, sameFamily bool, before []VIP) []VIP {
	var out []VIP
	for _, n := range b.children {
		if n.block {
			dc.errorf(n.pos, "%s: an address line does not take a block", b.keyword)
			continue
		}
		v := VIP{Pos: n.pos}
		p, ok := parsePrefix(n.keyword)
		if !ok {
			dc.errorf(n.pos, "%s: %q is not an address or address/prefix", b.keyword, n.keyword)
			continue
		}
		v.Prefix = p
		good := true
		for i := 0; i < len(n.args); i++ {
			opt := n.args[i]
			val := func() (string, bool) {
				if i+1 >= len(n.args) {
					dc.errorf(n.pos, "%s: %s %s: missing value", b.keyword, n.keyword, opt)
					good = false
					return "", false
				}
				i++
				return n.args[i], true
			}
			switch opt {
			case "dev":
				if s, ok := val(); ok {
					v.Dev = s
				}
			case "label":
				if s, ok := val(); ok {
					if len(s) > 15 {
						dc.errorf(n.pos, "%s: label %q longer than 15 characters", b.keyword, s)
						good = false
					}
					v.Label = s
				}
			case "scope":
				if s, ok := val(); ok {
					if _, err := strconv.ParseUint(s, 10, 8); err != nil && !scopes[s] {
						dc.errorf(n.pos, "%s: scope %q is not global|site|link|host|nowhere or 0-255", b.keyword, s)
						good = false
					}
					v.Scope = s
				}
			case "brd", "broadcast":
				if s, ok := val(); ok {
					if s != "+" && s != "-" {
						a, err := netip.ParseAddr(s)
						if err != nil || !a.Is4() || !p.Addr().Is4() {
							dc.errorf(n.pos, "%s: brd %q is not an IPv4 address, + or -", b.keyword, s)
							good = false
						}
					}
					v.Broadcast = s
				}
			case "peer", "preferred_lft", "track_group":
				if s, ok := val(); ok {
					dc.warn(n.pos, opt, "address option %s %s not supported by xvrrpd; ignored", opt, s)
				}
			case "home", "-nodad", "nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track", "use_vmac":
				dc.warn(n.pos, opt, "address option not supported by xvrrpd; ignored")
			default:
				dc.warn(n.pos, opt, "unknown address option; ignored")
			}
		}
		if !good {
			continue
		}
		all := append(before[:len(before):len(before)], out...)
		if sameFamily && len(all) > 0 && p.Addr().Is4() != all[0].Prefix.Addr().Is4() {
			// All addresses carried in one advert share the instance's family
			// (RFC 5798 §5.2.9); keepalived drops the odd ones.
			dc.errorf(n.pos, "%s: %s is %s but the instance's first address %s is %s; use virtual_ipaddress_excluded or another instance",
				b.keyword, p.Addr(), familyOf(p.Addr()), all[0].Prefix.Addr(), familyOf(all[0].Prefix.Addr()))
			continue
		}
		out = append(out, v)
	}
	return out
}

// parsePrefix accepts "ADDR" (full-length prefix) or "ADDR/LEN".
func parsePrefix(s string) (netip.Prefix, bool) {
	addrS, lenS, hasLen := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addrS)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return netip.Prefix{}, false
	}
	bits := a.BitLen()
	if hasLen {
		n, err := strconv.Atoi(lenS)
		if err != nil || n < 0 || n > a.BitLen() || strings.HasPrefix(lenS, "+") {
			return netip.Prefix{}, false
		}
		bits = n
	}
	return netip.PrefixFrom(a, bits), true
}

func (dc *decoder) peers(b *node) []netip.Addr {
	var out []netip.Addr
	for _, n := range b.children {
		if n.block {
			dc.errorf(n.pos, "unicast_peer: an address line does not take a block")
			continue
		}
		a, ok := dc.addrVal(&node{pos: n.pos, keyword: "unicast_peer"}, n.keyword)
		if !ok {
			continue
		}
		for i := 0; i < len(n.args); i++ {
			switch n.args[i] {
			case "min_ttl", "max_ttl":
				dc.warn(n.pos, n.args[i], "not supported by xvrrpd; ignored")
				i++
			default:
				dc.warn(n.pos, n.args[i], "unknown unicast_peer option; ignored")
			}
		}
		if len(out) > 0 && a.Is4() != out[0].Is4() {
			dc.errorf(n.pos, "unicast_peer: %s is %s but %s is %s; peers must share one family", a, familyOf(a), out[0], familyOf(out[0]))
			continue
		}
		out = append(out, a)
	}
	return out
}

func (dc *decoder) trackIfs(b *node) []TrackInterface {
	var out []TrackInterface
	for _, n := range b.children {
		if n.block {
			dc.errorf(n.pos, "track_interface: a line does not take a block")
			continue
		}
		w, rev, _, ok := dc.weight(&node{pos: n.pos, keyword: "track_interface " + n.keyword}, n.args, -253, 253)
		if !ok {
			continue
		}
		out = append(out, TrackInterface{Pos: n.pos, Name: n.keyword, Weight: w, Reverse: rev})
	}
	return out
}

func (dc *decoder) trackRefs(b *node, lim int) []TrackRef {
	var out []TrackRef
	for _, n := range b.children {
		if n.block {
			dc.errorf(n.pos, "%s: a line does not take a block", b.keyword)
			continue
		}
		w, rev, set, ok := dc.weight(&node{pos: n.pos, keyword: b.keyword + " " + n.keyword}, n.args, -lim, lim)
		if !ok {
			continue
		}
		out = append(out, TrackRef{Pos: n.pos, Name: n.keyword, Weight: w, WeightSet: set, Reverse: rev})
	}
	return out
}

// ---- vrrp_script, track_file, vrrp_sync_group

func (dc *decoder) script(b *node) {
	if !dc.blockOf(b, 1) {
		return
	}
	s := &Script{Pos: b.pos, Name: b.args[0], Interval: DefaultScriptInterval, Rise: DefaultScriptRise, Fall: DefaultScriptFall}
	timeoutSet := false
	for _, n := range b.children {
		switch n.keyword {
		case "script":
			// Unquoted words are the command and its arguments.
			if dc.leaf(n, 1, -1) {
				s.Cmd = strings.Join(n.args, " ")
			}
		case "interval":
			if v, ok := dc.seconds1(n, time.Millisecond, 86400*time.Second); ok {
				s.Interval = v
			}
		case "timeout":
			if v, ok := dc.seconds1(n, time.Millisecond, 86400*time.Second); ok {
				s.Timeout, timeoutSet = v, true
			}
		case "weight":
			if !dc.leaf(n, 1, 2) {
				continue
			}
			w, rev, _, ok := dc.weight(n, append([]string{"weight"}, n.args...), -253, 253)
			if ok {
				s.Weight, s.Reverse = w, rev
			}
		case "rise":
			if v, ok := dc.int1(n, 1, 1<<20); ok {
				s.Rise = v
			}
		case "fall":
			if v, ok := dc.int1(n, 1, 1<<20); ok {
				s.Fall = v
			}
		case "user":
			if dc.leaf(n, 1, 2) {
				s.User = n.args[0]
				if len(n.args) > 1 {
					s.Group = n.args[1]
				}
			}
		case "init_fail":
			if dc.leaf(n, 0, 0) {
				s.InitFail = true
			}
		default:
			dc.warn(n.pos, n.keyword, "unknown keyword in vrrp_script; ignored")
		}
	}
	if s.Cmd == "" {
		dc.errorf(b.pos, "vrrp_script %s: missing script", s.Name)
	}
	if !timeoutSet {
		s.Timeout = s.Interval
	}
	dc.c.Scripts = append(dc.c.Scripts, s)
}

func (dc *decoder) trackFile(b *node) {
	if !dc.blockOf(b, 1) {
		return
	}
	f := &TrackFile{Pos: b.pos, Name: b.args[0], Weight: 1}
	for _, n := range b.children {
		switch n.keyword {
		case "file":
			if dc.leaf(n, 1, 1) {
				f.File = n.args[0]
			}
		case "weight":
			if !dc.leaf(n, 1, 2) {
				continue
			}
			w, rev, _, ok := dc.weight(n, append([]string{"weight"}, n.args...), -math.MaxInt32, math.MaxInt32)
			if ok {
				f.Weight, f.Reverse = w, rev
			}
		case "init_file":
			if !dc.leaf(n, 0, 2) {
				continue
			}
			f.InitFile = true
			for _, a := range n.args {
				if a == "overwrite" {
					f.Overwrite = true
				} else if v, ok := dc.intVal(n, a, math.MinInt32, math.MaxInt32); ok {
					f.InitValue = v
				}
			}
		default:
			dc.warn(n.pos, n.keyword, "unknown keyword in track_file; ignored")
		}
	}
	if f.File == "" {
		dc.errorf(b.pos, "%s %s: missing file", b.keyword, f.Name)
	}
	dc.c.TrackFiles = append(dc.c.TrackFiles, f)
}

func (dc *decoder) syncGroup(b *node) {
	if !dc.blockOf(b, 1) {
		return
	}
	g := &SyncGroup{Pos: b.pos, Name: b.args[0], SMTPAlert: dc.c.Global.SMTPAlert}
	for _, n := range b.children {
		switch n.keyword {
		case "group":
			if dc.blockOf(n, 0) {
				for _, m := range n.children {
					// Names may also sit several to a line.
					g.Members = append(g.Members, m.keyword)
					g.Members = append(g.Members, m.args...)
				}
			}
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			dc.notify(n, &g.Notify)
		case "smtp_alert":
			if v, ok := dc.flag(n); ok {
				g.SMTPAlert = v
			}
			dc.warn(n.pos, n.keyword, "accepted but unused: xvrrpd sends no email")
		case "track_interface", "track_script", "track_file":
			dc.tracking(n, &g.TrackInterfaces, &g.TrackScripts, &g.TrackFiles)
		case "global_tracking", "sync_group_tracking_weight", "track_process", "track_bfd", "notify_deleted", "notify_priority_changes":
			dc.warn(n.pos, n.keyword, "not supported by xvrrpd; ignored")
		default:
			dc.warn(n.pos, n.keyword, "unknown keyword in vrrp_sync_group; ignored")
		}
	}
	dc.c.SyncGroups = append(dc.c.SyncGroups, g)
}

// tracking decodes a track_interface, track_script or track_file block of
// an instance or a sync group into the matching list.
func (dc *decoder) tracking(n *node, ifs *[]TrackInterface, scripts, files *[]TrackRef) {
	if !dc.blockOf(n, 0) {
		return
	}
	switch n.keyword {
	case "track_interface":
		*ifs = append(*ifs, dc.trackIfs(n)...)
	case "track_script":
		*scripts = append(*scripts, dc.trackRefs(n, 253)...)
	case "track_file":
		*files = append(*files, dc.trackRefs(n, 254)...)
	}
}
