package config

import (
	"fmt"
	"sort"
	"strings"
)

// keywords_keepalived.go is generated from keepalived's sources (a clone
// of github.com/acassen/keepalived):
//
//	go run keywords_gen.go -repo /path/to/keepalived.git

// kaKind is what a keyword is to keepalived's parser.
type kaKind uint8

const (
	// kaLine is a keyword with its values on its line.
	kaLine kaKind = iota
	// kaBlock opens a block of keywords (vrrp_instance, authentication).
	kaBlock
	// kaValues reads a block of values itself (virtual_ipaddress,
	// track_script): keepalived does not look for keywords inside it.
	kaValues
)

func (k kaKind) String() string {
	switch k {
	case kaBlock:
		return "block"
	case kaValues:
		return "values"
	}
	return "line"
}

// kaKeyword is one row of kaTable.
type kaKeyword struct {
	path        string // the enclosing blocks' keywords, then its name, space-separated
	kind        kaKind
	first, last int // indexes in kaReleases
}

func (k *kaKeyword) name() string {
	if i := strings.LastIndexByte(k.path, ' '); i >= 0 {
		return k.path[i+1:]
	}
	return k.path
}

func (k *kaKeyword) block() string {
	if i := strings.LastIndexByte(k.path, ' '); i >= 0 {
		return k.path[:i]
	}
	return ""
}

// since is the first release that knows the keyword; "2.2.7" means 2.2.7
// or earlier (the table starts there).
func (k *kaKeyword) since() string { return kaReleases[k.first] }

// until is the last release that knows it, or "" if the newest does.
func (k *kaKeyword) until() string {
	if k.last == len(kaReleases)-1 {
		return ""
	}
	return kaReleases[k.last]
}

var (
	kaByPath   = map[string]*kaKeyword{}
	kaChildren = map[string][]string{} // block path → its keywords' names, sorted
	kaByName   = map[string][]string{} // name → the blocks (paths) that know it
)

func init() {
	for i := range kaTable {
		k := &kaTable[i]
		kaByPath[k.path] = k
		b := k.block()
		kaChildren[b] = append(kaChildren[b], k.name())
		kaByName[k.name()] = append(kaByName[k.name()], b)
	}
	for _, v := range kaChildren {
		sort.Strings(v)
	}
}

// kaLookup returns the keyword name of block (a path; "" for the top
// level), or nil when keepalived does not know it there. keepalived
// compares keywords case-sensitively.
func kaLookup(block, name string) *kaKeyword {
	if block == "" {
		return kaByPath[name]
	}
	return kaByPath[block+" "+name]
}

// kaCheckerRoots are the top-level blocks of keepalived's checker process
// (LVS). keepalived's VRRP process skips them whole, counting braces; its
// checker process reads them, and "keepalived -t" reports the keywords it
// does not know inside them.
var kaCheckerRoots = set("virtual_server", "virtual_server_group", "SSL")

// blockName is how a finding names a block path: "vrrp_instance",
// "authentication (in vrrp_instance)", "the top level".
func blockName(path string) string {
	if path == "" {
		return "the top level"
	}
	f := strings.Fields(path)
	if len(f) == 1 {
		return f[0]
	}
	return f[len(f)-1] + " (in " + strings.Join(f[:len(f)-1], " ") + ")"
}

// kaSuggest returns the keyword of block closest to a name keepalived does
// not know there (a typo), or "" when none is close. elsewhere is the
// block (path) where keepalived knows the name as it is, if any: a keyword
// written in the wrong block.
func kaSuggest(block, name string) (suggest, elsewhere string) {
	best, bestD := "", 1<<30
	for _, c := range kaChildren[block] {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if d == 0 && c != name {
			d = 1 // only the case differs
		}
		if d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	// Two edits, or one in four characters for long names.
	if limit := max(2, len(name)/4); bestD <= limit {
		suggest = best
	}
	if bs := kaByName[name]; len(bs) > 0 {
		elsewhere = bs[0]
		// Prefer a block named like the one written in: a sync group's
		// track_script rather than a real_server's.
		for _, b := range bs {
			if b != "" && !strings.HasPrefix(b, "virtual_server") {
				elsewhere = b
				break
			}
		}
	}
	return suggest, elsewhere
}

// editDistance is the optimal string alignment distance (Levenshtein with
// transpositions of adjacent characters) between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// finding records w (a Warning with its kind) on d.
func (d *diag) finding(w Warning) {
	if w.Kind == "" {
		w.Kind = KindNote
	}
	d.warns = append(d.warns, w)
}

// note records a warning of kind k.
func (d *diag) note(pos Pos, k Kind, keyword, format string, args ...any) {
	d.finding(Warning{File: pos.File, Line: pos.Line, Keyword: keyword, Kind: k, Message: fmt.Sprintf(format, args...)})
}

// kaBehaviour are the keepalived keywords (paths) xvrrpd does not
// implement whose absence changes what happens on the network or the host:
// "xvrrpd -t" names them in its summary, apart from the e-mail and SNMP
// noise. The text says what keepalived would do.
var kaBehaviour = map[string]string{
	"virtual_server":                             "LVS virtual server: keepalived configures IPVS and health-checks the real servers",
	"virtual_server_group":                       "LVS virtual server group",
	"SSL":                                        "TLS settings of the LVS health checks",
	"static_ipaddress":                           "addresses keepalived adds at start whatever the VRRP state",
	"static_routes":                              "routes keepalived adds at start whatever the VRRP state",
	"static_rules":                               "policy rules keepalived adds at start whatever the VRRP state",
	"track_group":                                "a group of instances tracked together",
	"garp_group":                                 "gratuitous ARP intervals per interface",
	"linkbeat_interfaces":                        "interfaces polled for link state",
	"interface_up_down_delays":                   "delays before acting on an interface going down or up",
	"vrrp_track_process":                         "a process whose presence changes priorities",
	"bfd_instance":                               "a BFD session tracked by instances",
	"net_namespace":                              "keepalived runs in that network namespace",
	"vrrp_instance use_vmac":                     "the instance runs on a macvlan with the virtual MAC 00:00:5e:00:01:VRID",
	"vrrp_instance use_vmac_addr":                "the virtual MAC as the interface's address",
	"vrrp_instance vmac_xmit_base":               "adverts sent from the base interface of the VMAC",
	"vrrp_instance use_ipvlan":                   "the instance runs on an ipvlan interface",
	"vrrp_instance virtual_routes":               "routes added and removed with the VIPs",
	"vrrp_instance virtual_rules":                "policy rules added and removed with the VIPs",
	"vrrp_instance track_process":                "process tracking changes the priority",
	"vrrp_instance track_bfd":                    "BFD tracking changes the priority",
	"vrrp_instance unicast_ttl":                  "the TTL of unicast adverts",
	"vrrp_instance unicast_fault_no_peer":        "an instance without unicast peer goes to FAULT",
	"vrrp_instance track_src_ip":                 "the instance goes to FAULT when its source address is removed",
	"vrrp_instance accept":                       "the master accepts packets for its VIPs (strict mode drops them)",
	"vrrp_instance no_accept":                    "the master drops packets for its VIPs",
	"vrrp_instance promote_secondaries":          "secondary addresses are promoted when the primary is removed",
	"vrrp_instance skip_check_adv_addr":          "adverts whose address list differs are accepted",
	"vrrp_instance garp_extra_if":                "gratuitous ARPs on the base interface of a VMAC",
	"vrrp_instance vmac_garp_intvl":              "gratuitous ARPs on the base interface of a VMAC",
	"vrrp_instance down_timer_adverts":           "the number of adverts a backup waits for",
	"vrrp_instance native_ipv6":                  "IPv6 VRRP for an instance without address",
	"vrrp_instance vrf":                          "the instance runs in a VRF",
	"vrrp_instance old_unicast_checksum":         "the checksum of unicast VRRPv3 adverts as keepalived before 1.3.8",
	"vrrp_instance v3_checksum_as_v2":            "the VRRPv3 checksum computed as for VRRPv2",
	"vrrp_instance owner_ignore_adverts":         "an address owner ignores adverts",
	"vrrp_instance auth_hmac":                    "HMAC authentication of adverts (keepalived 2.4)",
	"vrrp_instance notify_master_rx_lower_pri":   "a script run when a master hears a lower priority",
	"vrrp_instance notify_priority_changes":      "notify scripts also run on priority changes",
	"vrrp_instance notify_deleted":               "a notify script run when the instance is deleted",
	"vrrp_instance no_virtual_ipaddress":         "an instance without virtual address",
	"vrrp_sync_group track_process":              "process tracking of the group",
	"vrrp_sync_group track_bfd":                  "BFD tracking of the group",
	"vrrp_sync_group global_tracking":            "the group's members share their tracking",
	"vrrp_sync_group sync_group_tracking_weight": "tracking weights applied to the whole group",
	"vrrp_sync_group notify_priority_changes":    "notify scripts also run on priority changes",
	"global_defs vrrp_iptables":                  "firewall rules for the VIPs (strict mode)",
	"global_defs vrrp_ipsets":                    "firewall sets for the VIPs (strict mode)",
	"global_defs nftables":                       "nftables rules for the VIPs (strict mode)",
	"global_defs vrrp_garp_extra_if":             "gratuitous ARPs on the base interface of a VMAC",
	"global_defs vrrp_down_timer_adverts":        "the number of adverts a backup waits for",
	"global_defs vrrp_owner_ignore_adverts":      "an address owner ignores adverts",
	"global_defs dynamic_interfaces":             "instances on interfaces that come and go",
	"global_defs vrrp_notify_priority_changes":   "notify scripts also run on priority changes",
	"global_defs startup_script":                 "a script run when keepalived starts",
	"global_defs shutdown_script":                "a script run when keepalived stops",
	"global_defs lvs_sync_daemon":                "the IPVS connection synchronisation daemon",
	"global_defs lvs_flush":                      "IPVS tables flushed at start",
	"global_defs lvs_flush_on_stop":              "IPVS tables flushed at stop",
	"global_defs vmac_prefix":                    "the name prefix of VMAC interfaces",
	"global_defs vmac_addr_prefix":               "the name prefix of VMAC address interfaces",
	"global_defs v3_checksum_as_v2":              "the VRRPv3 checksum computed as for VRRPv2",
}

// kaDeprecated are keepalived 2.2.7 keywords it reports as deprecated (so
// keepalived -t fails on them), with the keyword it wants instead.
var kaDeprecated = map[string]string{
	"vrrp_instance lvs_sync_daemon_interface":          "global_defs lvs_sync_daemon",
	"vrrp_instance vmac_garp_intvl":                    "garp_extra_if",
	"vrrp_instance linkbeat_use_polling":               "a linkbeat_interfaces block",
	"vrrp_sync_group global_tracking":                  "track_interface, track_script and track_file on the sync group",
	"global_defs vrrp_vmac_garp_intvl":                 "vrrp_garp_extra_if",
	"virtual_server real_server HTTP_GET nb_get_retry": "retry",
	"virtual_server real_server SSL_GET nb_get_retry":  "retry",
}

// kaUnused tells keywords without effect on VRRP: e-mail, SNMP, D-Bus,
// process names and scheduling, buffer sizes, dumps. "xvrrpd -t" lists
// them on one line.
func kaUnused(path string) bool {
	if kaBehaviour[path] != "" {
		return false
	}
	name := path
	if i := strings.LastIndexByte(path, ' '); i >= 0 {
		name = path[i+1:]
	}
	for _, p := range []string{"smtp_", "notification_email", "enable_snmp", "snmp_", "dbus_", "json_",
		"reload_", "lvs_netlink", "lvs_notify_fifo", "iproute_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, p := range []string{"process_name", "_priority", "_cpu_affinity", "_no_swap", "_rlimit_",
		"_rcv_bufs", "_rx_bufs", "notify_fifo_script", "dump_file"} {
		if strings.Contains(name, p) {
			return true
		}
	}
	return kaUnusedNames[name]
}

var kaUnusedNames = set("no_email_faults", "no_checker_emails", "enable_traps", "enable_dbus",
	"kernel_rx_buf_size", "tmp_config_directory", "config_save_dir", "include_check", "data_use_instance",
	"umask", "random_seed", "child_wait_time", "use_pid_dir", "instance", "log_unknown_vrids",
	"checker_log_all_failures", "debug", "fifo_write_vrrp_states_on_reload", "rs_init_notifies",
	"set_supplementary_groups", "linkbeat_use_polling", "thread_timer_expired", "timer_expired_backup",
	"lvs_timeouts", "default_interface", "smtp_alert", "process_names")

// KeepalivedKeyword is a keyword of keepalived's configuration parser, as
// read from its sources (keywords_gen.go).
type KeepalivedKeyword struct {
	// Block is where it is written: the keywords of the enclosing blocks,
	// space-separated ("vrrp_instance authentication"); "" is the top
	// level.
	Block string
	Name  string
	// Kind is "block" (opens a block of keywords), "values" (reads a
	// block of values itself, as virtual_ipaddress) or "line".
	Kind string
	// Since is the first release that knows it; the oldest release read
	// is KeepalivedReleases()[0], so that one means "that or earlier".
	Since string
	// Until is the last release that knows it; "" when the newest does.
	Until string
}

// KeepalivedKeywords returns every keyword of keepalived's parser from
// the oldest release of KeepalivedReleases to the newest, sorted by block
// and name.
func KeepalivedKeywords() []KeepalivedKeyword {
	out := make([]KeepalivedKeyword, len(kaTable))
	for i := range kaTable {
		k := &kaTable[i]
		out[i] = KeepalivedKeyword{Block: k.block(), Name: k.name(), Kind: k.kind.String(), Since: k.since(), Until: k.until()}
	}
	return out
}

// KeepalivedReleases returns the keepalived releases the keyword table
// was read from, oldest first; the last is the development branch.
func KeepalivedReleases() []string { return append([]string(nil), kaReleases...) }
