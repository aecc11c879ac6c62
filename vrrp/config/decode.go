package config

import (
	"fmt"
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
	// ord is the instance's place among the top-level blocks: tracking
	// names a vrrp_script or track_file defined before it (keepalived
	// resolves the names as it reads them).
	ord int
	// fam is the family of the first address of the instance (source,
	// peer or virtual address, in file order; 0: none yet): keepalived
	// ignores the addresses of the other family.
	fam Family
	// statePos and prioritySet: keepalived derives an unset priority
	// from state MASTER (255).
	statePos    Pos
	prioritySet bool
	stateSet    bool
	// unicastKw is the position of a unicast keyword (unicast_src_ip,
	// unicast_peer), zero if none.
	unicastKw Pos
}

// syncExtra keeps what validation needs of a sync group.
type syncExtra struct {
	ord      int
	groupPos Pos // position of its group block, zero if none
}

type decoder struct {
	*diag
	c     *Config
	extra map[*Instance]*instExtra
	sync  map[*SyncGroup]*syncExtra
	// ord is the index of the top-level block being decoded; scriptOrd
	// and fileOrd the index of each vrrp_script and track_file's first
	// definition.
	ord                int
	scriptOrd, fileOrd map[string]int
	// lowerRepeat, lowerDelay: vrrp_garp_lower_prio_repeat / _delay were
	// given; otherwise they follow vrrp_garp_master_repeat / _delay.
	lowerRepeat, lowerDelay bool
}

func decode(tree []*node, d *diag) *decoder {
	dc := &decoder{diag: d, c: &Config{Global: defaultGlobal()}, extra: map[*Instance]*instExtra{},
		sync: map[*SyncGroup]*syncExtra{}, scriptOrd: map[string]int{}, fileOrd: map[string]int{}}
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
	for i, n := range tree {
		dc.ord = i
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
		default:
			dc.ignored(n, "")
		}
	}
	return dc
}

// ignored reports a keyword of block (a path) that keepalived knows and
// xvrrpd does not implement: one warning, for a whole block too.
// kaNormalize has already dropped the keywords keepalived does not know.
func (dc *decoder) ignored(n *node, block string) {
	path := n.keyword
	if block != "" {
		path = block + " " + n.keyword
	}
	k := kaByPath[path]
	if k == nil {
		msg, sug := unknownMsg(block, n.keyword)
		dc.finding(Warning{File: n.pos.File, Line: n.pos.Line, Keyword: n.keyword, Kind: KindUnknown, Message: msg + ": keepalived ignores it, and so does xvrrpd", Suggest: sug})
		return
	}
	msg := "not implemented by xvrrpd"
	if k.first > 0 {
		msg = fmt.Sprintf("a keyword of keepalived %s and later, not implemented by xvrrpd", k.since())
	}
	if n.block {
		msg += "; block ignored"
	} else {
		msg += "; ignored"
	}
	w := Warning{File: n.pos.File, Line: n.pos.Line, Keyword: n.keyword, Kind: KindUnsupported}
	switch why := kaBehaviour[path]; {
	case why != "":
		w.Behaviour = true
		msg += ": keepalived acts on it (" + why + ")"
	case kaUnused(path):
		w.Kind = KindUnused
		msg += " (no effect on VRRP)"
	}
	if instead, ok := kaDeprecated[path]; ok {
		// keepalived -t fails on it: a problem to report, as a value it
		// corrects.
		w.Kind = KindCorrected
		msg += fmt.Sprintf("; keepalived reports it as deprecated (use %s)", instead)
	}
	w.Message = msg
	dc.finding(w)
}

func set(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// ---- generic argument helpers. Each reports its own error and returns ok.

// leaf checks that n has between min and max arguments (max<0: no limit)
// and no block. Words beyond max are ignored with a warning, as
// keepalived reads the values it expects and ignores the rest of the line.
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
		dc.note(n.pos, KindNote, n.keyword, "keepalived ignores %q after the value, and so does xvrrpd", strings.Join(n.args[max:], " "))
		n.args = n.args[:max]
	}
	return ok
}

// noValue decodes a keyword that takes no value. keepalived ignores any
// word after it ("nopreempt 1" is nopreempt, "enable_script_security no"
// turns script security on), and so does xvrrpd, with a warning.
func (dc *decoder) noValue(n *node) {
	if n.block {
		dc.errorf(n.pos, "%s: does not take a block", n.keyword)
	}
	if len(n.args) == 0 {
		return
	}
	msg := fmt.Sprintf("takes no value: keepalived ignores %q and sets %s, and so does xvrrpd", strings.Join(n.args, " "), n.keyword)
	if isFalse(n.args[0]) {
		msg += fmt.Sprintf("; %q does not turn it off (remove the line for that)", n.args[0])
	}
	dc.note(n.pos, KindNote, n.keyword, "%s", msg)
}

// since23Bool decodes vrrp_strict and vrrp_skip_check_adv_addr: keepalived
// 2.2.7 ignores any word after them (on), 2.3.0 and later read a <BOOL>.
// xvrrpd does as 2.2.7 and warns when the two would differ.
func (dc *decoder) since23Bool(n *node) {
	if n.block {
		dc.errorf(n.pos, "%s: does not take a block", n.keyword)
	}
	if len(n.args) == 0 || isTrue(n.args[0]) {
		return
	}
	dc.note(n.pos, KindNote, n.keyword, "keepalived 2.2.7 ignores %q and turns %s on, and so does xvrrpd; keepalived 2.3.0 and later read it as a boolean (%s): remove the line to turn it off everywhere",
		strings.Join(n.args, " "), n.keyword, map[bool]string{true: "off", false: "invalid, left off"}[isFalse(n.args[0])])
}

func isFalse(s string) bool { return s == "off" || s == "false" || s == "no" }
func isTrue(s string) bool  { return s == "on" || s == "true" || s == "yes" }

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
// keepalived compares the word case-sensitively, reports any other word
// and leaves the setting as it was; so does xvrrpd (ok is false).
func (dc *decoder) flag(n *node) (bool, bool) {
	if !dc.leaf(n, 0, 1) {
		return false, false
	}
	if len(n.args) == 0 {
		return true, true
	}
	switch {
	case isTrue(n.args[0]):
		return true, true
	case isFalse(n.args[0]):
		return false, true
	}
	dc.note(n.pos, KindCorrected, n.keyword, "%q is not one of on|off|true|false|yes|no: keepalived ignores the line, and so does xvrrpd", n.args[0])
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

// scriptLine reads the line of a script keyword (script, notify_master,
// ...) as keepalived 2.2.7 does (lib/notify.c, set_script_params_array):
// the whole line split again with quotes and escapes, its second word
// split once more into what runs (Command). words are the line's words
// after the keyword: words[0] is the command as keepalived takes it, the
// next ones what follows it. ok is false when keepalived ignores the line;
// the reason is reported, except a line without a command for a
// vrrp_script's script (the block's "has no script" says it).
func (dc *decoder) scriptLine(n *node) (words, argv []string, ok bool) {
	if n.block {
		dc.errorf(n.pos, "%s: does not take a block", n.keyword)
		return nil, nil, false
	}
	what := "the script"
	if n.keyword == "script" {
		what = "the line"
	}
	line, err := splitQuotedEscaped(n.raw)
	switch {
	case err != nil:
		// keepalived: "String '...': missing terminating '", a problem -t
		// reports.
		dc.note(n.pos, KindCorrected, n.keyword, "%v: keepalived ignores %s, and so does xvrrpd", err, what)
		return nil, nil, false
	case line == nil && n.raw != "":
		dc.note(n.pos, KindScript, n.keyword, "a backslash ends the line: keepalived ignores %s (\"Missing escape char at end\"), and so does xvrrpd", what)
		return nil, nil, false
	case len(line) < 2:
		if n.keyword != "script" {
			dc.note(n.pos, KindScript, n.keyword, "no command: keepalived ignores the line, and so does xvrrpd")
		}
		return nil, nil, false
	}
	words = line[1:]
	argv, err = splitQuotedEscaped(words[0])
	switch {
	case err != nil:
		dc.note(n.pos, KindCorrected, n.keyword, "the command %v: keepalived ignores %s, and so does xvrrpd", err, what)
		return nil, nil, false
	case len(argv) == 0:
		if n.keyword != "script" {
			dc.note(n.pos, KindScript, n.keyword, "the command %s has no word to run: keepalived ignores the line, and so does xvrrpd", quoteString(words[0]))
		}
		return nil, nil, false
	}
	return words, argv, true
}

// notifyCommand decodes "keyword COMMAND [user [group]]" as keepalived
// 2.2.7 does (see Command). A line keepalived ignores gives ok false.
func (dc *decoder) notifyCommand(n *node) (c Command, ok bool) {
	words, argv, ok := dc.scriptLine(n)
	if !ok {
		return Command{}, false
	}
	c = Command{Cmd: words[0], Argv: argv}
	if len(words) > 1 {
		c.User = words[1]
	}
	if len(words) > 2 {
		c.Group = words[2]
	}
	switch {
	case len(words) > 1 && c.User == "", len(words) > 2 && c.Group == "":
		// keepalived: "Script user '' does not exist".
		dc.note(n.pos, KindScript, n.keyword, "an empty user or group: keepalived finds no such user or group and ignores the script, and so does xvrrpd")
		return Command{}, false
	case len(words) > 3:
		dc.note(n.pos, KindScript, n.keyword, "keepalived 2.2.7 runs %s as user %s, group %s, and ignores the words after the group (%s); xvrrpd runs the same%s",
			showArgv(argv), c.User, c.Group, showArgv(words[3:]), quoteHint(n.keyword, words, c.User))
	}
	return c, true
}

// showArgv writes words for a message: each as written when it is plain,
// else quoted as in Go.
func showArgv(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.ContainsFunc(w, func(r rune) bool {
			return r <= ' ' || r == '"' || r == '\'' || r == '\\' || r >= 0x7f
		}) {
			w = strconv.Quote(w)
		}
		out[i] = w
	}
	return strings.Join(out, " ")
}

// quoteHint tells how to pass words as arguments of the command: the
// line with the command and its arguments quoted together, when none of
// the words needs quoting itself. user is the user the words stand for,
// or "" for a vrrp_script.
func quoteHint(keyword string, words []string, user string) string {
	for _, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\"'\\") {
			return ": to pass the words as arguments, quote the command with them"
		}
	}
	hint := fmt.Sprintf(": to pass the words as arguments, quote the command with them: %s \"%s\"", keyword, strings.Join(words, " "))
	if user != "" {
		hint = fmt.Sprintf(": if %s is not meant as the user, quote the command with its arguments: %s \"%s\"", user, keyword, strings.Join(words, " "))
	}
	return hint
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

// unusedMail is the warning of the e-mail keywords xvrrpd accepts.
const unusedMail = "accepted but unused: xvrrpd sends no email"

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
		case "vrrp_higher_prio_send_advert":
			if v, ok := dc.flag(n); ok {
				g.HigherPrioSendAdvert = v
			}
		case "vrrp_check_unicast_src":
			dc.noValue(n)
			g.CheckUnicastSrc = true
		case "vrrp_startup_delay":
			if v, ok := dc.seconds1(n, 0, maxStartupDelay); ok {
				g.StartupDelay = v
			}
		case "vrrp_delay_after_boot":
			if v, ok := dc.seconds1(n, 0, maxStartupDelay); ok {
				g.DelayAfterBoot = v
			}
		case "vrrp_min_garp":
			// One message, no second burst and no refresh (keepalived's
			// shorthand), for what is not set already.
			if on, ok := dc.flag(n); ok && on {
				if g.Garp.MasterRepeat == DefaultGarpMasterRepeat {
					g.Garp.MasterRepeat = 1
				}
				if g.Garp.MasterDelay == DefaultGarpMasterDelay {
					g.Garp.MasterDelay = 0
				}
			}
		case "vrrp_garp_interval", "vrrp_gna_interval":
			v, ok := dc.seconds1(n, 0, 1000*time.Second)
			switch {
			case !ok:
			case v == 0:
				// keepalived reads 0.000001 to 4294.967295 s: "vrrp_garp_interval
				// '0' is invalid", and keeps its default, no delay.
				dc.note(n.pos, KindCorrected, n.keyword, "0 is invalid in keepalived (0.000001 and up): it ignores the line and sends without delay, as xvrrpd does")
			case n.keyword == "vrrp_garp_interval":
				g.GarpInterval = v
			default:
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
			dc.noValue(n)
			g.EnableScriptSecurity = true
		case "use_symlink_paths":
			if v, ok := dc.flag(n); ok {
				g.UseSymlinkPaths = v
			}
		case "vrrp_strict":
			dc.since23Bool(n)
			g.Strict = true
		case "vrrp_skip_check_adv_addr":
			dc.since23Bool(n)
			g.SkipCheckAdvAddr = true
		case "notify_fifo", "vrrp_notify_fifo":
			if dc.leaf(n, 1, 3) {
				g.NotifyFifo = n.args[0]
				if len(n.args) > 1 {
					dc.note(n.pos, KindNote, n.keyword, "user/group apply to a fifo script, which xvrrpd does not run; ignored")
				}
			}
		case "notification_email":
			if dc.blockOf(n, 0) {
				for _, c := range n.children {
					g.NotificationEmail = append(g.NotificationEmail, c.keyword)
				}
			}
			dc.note(n.pos, KindUnused, n.keyword, unusedMail)
		case "notification_email_from":
			if dc.leaf(n, 1, 1) {
				g.NotificationEmailFrom = n.args[0]
			}
			dc.note(n.pos, KindUnused, n.keyword, unusedMail)
		case "smtp_server":
			if dc.leaf(n, 1, 2) {
				g.SMTPServer = strings.Join(n.args, " ")
			}
			dc.note(n.pos, KindUnused, n.keyword, unusedMail)
		case "smtp_connect_timeout":
			if v, ok := dc.int1(n, 1, 3600); ok {
				g.SMTPConnectTimeout = time.Duration(v) * time.Second
			}
			dc.note(n.pos, KindUnused, n.keyword, unusedMail)
		case "smtp_alert":
			if v, ok := dc.flag(n); ok {
				g.SMTPAlert = v
			}
			dc.note(n.pos, KindUnused, n.keyword, unusedMail)
		default:
			dc.ignored(n, "global_defs")
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

func (dc *decoder) instance(b *node) {
	g := &dc.c.Global
	in := &Instance{
		Pos:       b.pos,
		State:     vrrp.Backup,
		Priority:  DefaultPriority,
		Preempt:   true,
		Garp:      g.Garp,
		SMTPAlert: g.SMTPAlert,

		LowerPrioNoAdvert:    g.LowerPrioNoAdvert,
		HigherPrioSendAdvert: g.HigherPrioSendAdvert,
		CheckUnicastSrc:      g.CheckUnicastSrc,
	}
	x := &instExtra{ord: dc.ord}
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
				x.stateSet, x.statePos = true, n.pos
				switch n.args[0] {
				case "MASTER":
					in.State = vrrp.Master
				case "BACKUP":
					if in.State == vrrp.Master {
						dc.note(n.pos, KindCorrected, "state", "state MASTER was set before: keepalived ignores this BACKUP, and so does xvrrpd")
						break
					}
					in.State = vrrp.Backup
				default:
					// keepalived: "unknown state 'SLAVE', defaulting to BACKUP".
					dc.note(n.pos, KindCorrected, "state", "%q is not MASTER or BACKUP: keepalived starts the instance as BACKUP, and so does xvrrpd", n.args[0])
					in.State = vrrp.Backup
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
				in.Priority, x.prioritySet = uint8(v), true
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
				for _, v := range dc.vips(n) {
					if dc.sameFamily(x, v.Prefix.Addr(), v.Pos, in.Name, "virtual_ipaddress") {
						in.VIPs = append(in.VIPs, v)
					}
				}
			}
		case "virtual_ipaddress_excluded":
			if dc.blockOf(n, 0) {
				in.ExcludedVIPs = append(in.ExcludedVIPs, dc.vips(n)...)
			}
		case "unicast_src_ip", "mcast_src_ip":
			if n.keyword == "unicast_src_ip" {
				x.unicastKw = n.pos
			}
			if a, ok := dc.srcAddr(n); ok && dc.sameFamily(x, a, n.pos, in.Name, n.keyword) {
				// One source address in keepalived: the last one given.
				if prev := in.UnicastSrc; prev.IsValid() && prev != a {
					dc.note(n.pos, KindNote, n.keyword, "replaces the source address %s given at %s (unicast_src_ip and mcast_src_ip set the same address)", prev, x.srcPos.at())
				}
				in.UnicastSrc, in.McastSrc, x.srcPos = a, a, n.pos
			}
		case "mcast_dst_ip":
			if a, ok := dc.addr1(n); ok {
				in.McastGroup, x.mcastGroup = a, n.pos
			}
		case "unicast_peer":
			x.peersBlock, x.peersPos, x.unicastKw = true, n.pos, n.pos
			if dc.blockOf(n, 0) {
				for _, p := range dc.peers(n) {
					if dc.sameFamily(x, p.addr, p.pos, in.Name, "unicast_peer") {
						in.UnicastPeers = append(in.UnicastPeers, p.addr)
					}
				}
			}
		case "nopreempt":
			dc.noValue(n)
			in.Preempt = false
		case "preempt":
			dc.noValue(n)
			in.Preempt = true
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
		case "higher_prio_send_advert":
			if v, ok := dc.flag(n); ok {
				in.HigherPrioSendAdvert = v
			}
		case "check_unicast_src":
			dc.noValue(n)
			in.CheckUnicastSrc = true
		case "dont_track_primary":
			dc.noValue(n)
			in.DontTrackPrimary = true
		case "track_interface", "track_script", "track_file":
			dc.tracking(n, &in.TrackInterfaces, &in.TrackScripts, &in.TrackFiles)
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			dc.notify(n, &in.Notify)
		case "smtp_alert":
			if v, ok := dc.flag(n); ok {
				in.SMTPAlert = v
			}
			dc.note(n.pos, KindUnused, n.keyword, unusedMail)
		case "strict_mode":
			if v, ok := dc.flag(n); ok {
				x.strict = &v
			}
		default:
			dc.ignored(n, "vrrp_instance")
		}
	}
}

func (dc *decoder) notify(n *node, nt *Notify) {
	c, ok := dc.notifyCommand(n)
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
					dc.note(n.pos, KindCorrected, n.keyword, "longer than 8 characters; truncated to %q as keepalived does", pass[:8])
				}
			}
		default:
			dc.ignored(n, "vrrp_instance authentication")
		}
	}
	switch typ {
	case "":
		if passSet {
			dc.note(b.pos, KindNote, "authentication", "auth_pass without auth_type: keepalived sends adverts without authentication, and so does xvrrpd")
		}
	case "PASS", "AH":
		if pass == "" {
			// keepalived: "Authentication specified but no password
			// given. Ignoring".
			dc.note(typPos, KindCorrected, "auth_type", "auth_type %s without auth_pass: keepalived sends adverts without authentication, and so does xvrrpd", typ)
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
		// keepalived: "unknown authentication type 'PASS;'", and no
		// authentication. A peer configured with PASS refuses these
		// adverts, and the two routers both become master.
		dc.note(typPos, KindCorrected, "auth_type", "%q is not PASS or AH: keepalived sends adverts without authentication, and so does xvrrpd; a peer that expects authentication drops them", typ)
	}
}

var scopes = set("global", "site", "link", "host", "nowhere", "universe")

// vips decodes the lines of virtual_ipaddress or
// virtual_ipaddress_excluded:
// ADDR[/LEN] [dev IF] [label L] [scope S] [brd B] [other ip-address options].
// As keepalived (alloc_ipaddress), a line it cannot read is reported and
// dropped, and a bad option is reported and ignored.
func (dc *decoder) vips(b *node) []VIP {
	var out []VIP
	for _, n := range b.children {
		if n.block {
			dc.errorf(n.pos, "%s: an address line does not take a block", b.keyword)
			continue
		}
		v := VIP{Pos: n.pos}
		p, ok := parsePrefix(n.keyword)
		if !ok {
			a, badLen := parsePrefix(strings.SplitN(n.keyword, "/", 2)[0])
			if !badLen || !strings.Contains(n.keyword, "/") {
				dc.note(n.pos, KindCorrected, b.keyword, "%q is not an address or address/prefix: keepalived ignores the line, and so does xvrrpd", n.keyword)
				continue
			}
			dc.note(n.pos, KindCorrected, b.keyword, "%q: invalid prefix length: keepalived uses /%d, and so does xvrrpd", n.keyword, a.Bits())
			p = a
		}
		v.Prefix = p
		drop := false
		for i := 0; i < len(n.args); i++ {
			opt := n.args[i]
			val := func() (string, bool) {
				if i+1 >= len(n.args) {
					dc.note(n.pos, KindCorrected, opt, "%s %s: missing value: keepalived ignores %s, and so does xvrrpd", n.keyword, opt, opt)
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
						dc.note(n.pos, KindCorrected, opt, "%q is longer than 15 characters: keepalived ignores the address %s, and so does xvrrpd", s, n.keyword)
						drop = true
					}
					v.Label = s
				}
			case "scope":
				if s, ok := val(); ok {
					if _, err := strconv.ParseUint(s, 10, 8); err != nil && !scopes[s] {
						dc.note(n.pos, KindCorrected, opt, "%q is not global|site|link|host|nowhere or 0-255: keepalived ignores it, and so does xvrrpd", s)
					} else {
						v.Scope = s
					}
				}
			case "brd", "broadcast":
				if s, ok := val(); ok {
					if s != "+" && s != "-" {
						a, err := netip.ParseAddr(s)
						if err != nil || !a.Is4() || !p.Addr().Is4() {
							dc.note(n.pos, KindCorrected, opt, "%q is not an IPv4 address, + or -: keepalived ignores it, and so does xvrrpd", s)
							break
						}
					}
					v.Broadcast = s
				}
			case "peer", "preferred_lft":
				if s, ok := val(); ok {
					dc.finding(Warning{File: n.pos.File, Line: n.pos.Line, Keyword: opt, Kind: KindUnsupported, Behaviour: opt == "peer",
						Message: fmt.Sprintf("address option %s %s not implemented by xvrrpd; ignored", opt, s)})
				}
			case "use_vmac":
				dc.finding(Warning{File: n.pos.File, Line: n.pos.Line, Keyword: opt, Kind: KindUnsupported, Behaviour: true,
					Message: "address option not implemented by xvrrpd; ignored: keepalived adds the address on a VMAC interface"})
			case "home", "-nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track":
				dc.note(n.pos, KindUnsupported, opt, "address option not implemented by xvrrpd; ignored")
			default:
				// keepalived: "Unknown configuration entry '...' for ip
				// address - ignoring".
				dc.note(n.pos, KindUnknown, opt, "unknown address option: keepalived ignores it, and so does xvrrpd")
			}
		}
		if p.Addr().Is6() && (v.Scope != "" || v.Label != "") {
			dc.note(n.pos, KindCorrected, b.keyword, "%s: keepalived ignores scope and label on an IPv6 address, and so does xvrrpd", n.keyword)
			v.Scope, v.Label = "", ""
		}
		if !drop {
			out = append(out, v)
		}
	}
	return out
}

// sameFamily tells whether a, an address of instance name given by
// keyword at pos, has the instance's family: that of its first address
// (source, unicast peer or virtual address, in file order, as keepalived
// decides it). keepalived ignores an address of the other family, with a
// message; so does xvrrpd.
func (dc *decoder) sameFamily(x *instExtra, a netip.Addr, pos Pos, name, keyword string) bool {
	f := familyOf(a)
	if x.fam == 0 {
		x.fam = f
		return true
	}
	if f == x.fam {
		return true
	}
	dc.note(pos, KindCorrected, keyword, "vrrp_instance %s: %s is %s but the instance is %s (from its first address): keepalived ignores it, and so does xvrrpd",
		name, a, f, x.fam)
	return false
}

// srcAddr decodes unicast_src_ip and mcast_src_ip. keepalived reads the
// address up to a '/' or '-' (192.168.0.91/24 is 192.168.0.91).
func (dc *decoder) srcAddr(n *node) (netip.Addr, bool) {
	if !dc.leaf(n, 1, 1) {
		return netip.Addr{}, false
	}
	return dc.addrVal(n, stripMask(n.args[0]))
}

// stripMask removes what follows a '/' or a '-' in an address, as
// keepalived's inet_stosockaddr does.
func stripMask(s string) string {
	if i := strings.IndexAny(s, "/-"); i >= 0 {
		return s[:i]
	}
	return s
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

// peer is an address of unicast_peer and its line.
type peer struct {
	addr netip.Addr
	pos  Pos
}

// peers decodes the lines of unicast_peer: ADDR[/LEN] [min_ttl N]
// [max_ttl N]; as keepalived, the address is read up to a '/' or a '-',
// and a line it cannot read is reported and ignored.
func (dc *decoder) peers(b *node) []peer {
	var out []peer
	for _, n := range b.children {
		if n.block {
			dc.errorf(n.pos, "unicast_peer: an address line does not take a block")
			continue
		}
		a, err := netip.ParseAddr(stripMask(n.keyword))
		if err != nil || a.Zone() != "" || a.Is4In6() {
			dc.note(n.pos, KindCorrected, "unicast_peer", "%q is not an IPv4 or IPv6 address: keepalived ignores the line, and so does xvrrpd", n.keyword)
			continue
		}
		for i := 0; i < len(n.args); i++ {
			switch n.args[i] {
			case "min_ttl", "max_ttl":
				dc.finding(Warning{File: n.pos.File, Line: n.pos.Line, Keyword: n.args[i], Kind: KindUnsupported, Behaviour: true,
					Message: "not implemented by xvrrpd; ignored: keepalived drops adverts from this peer outside the TTL range"})
				i++
			default:
				dc.note(n.pos, KindUnknown, n.args[i], "unknown unicast_peer option: keepalived ignores it, and so does xvrrpd")
			}
		}
		out = append(out, peer{a, n.pos})
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

// kaMaxScriptSeconds is the largest vrrp_script interval and timeout
// keepalived 2.2.7 takes (UINT_MAX / TIMER_HZ: its timers count
// microseconds in an unsigned int).
const kaMaxScriptSeconds = math.MaxUint32 / 1000000

func (dc *decoder) script(b *node) {
	if !dc.blockOf(b, 1) {
		return
	}
	s := &Script{Pos: b.pos, Name: b.args[0], Interval: DefaultScriptInterval, Rise: DefaultScriptRise, Fall: DefaultScriptFall}
	timeoutSet := false
	for _, n := range b.children {
		switch n.keyword {
		case "script":
			// keepalived takes the second word only, split again; a line
			// it ignores leaves an earlier script line in place.
			words, argv, ok := dc.scriptLine(n)
			if !ok {
				continue
			}
			s.Cmd, s.Argv = words[0], argv
			if len(words) > 1 {
				dc.note(n.pos, KindScript, n.keyword, "keepalived 2.2.7 runs %s and ignores the words after the command (%s); xvrrpd runs the same%s",
					showArgv(argv), showArgv(words[1:]), quoteHint(n.keyword, words, ""))
			}
		case "interval":
			if v, ok := dc.scriptSeconds(s, n, "runs the script every %s", s.Interval.String()); ok {
				s.Interval = v
			}
		case "timeout":
			was := "the interval"
			if timeoutSet {
				was = s.Timeout.String()
			}
			if v, ok := dc.scriptSeconds(s, n, "lets each run take %s", was); ok {
				s.Timeout, timeoutSet = v, true
			}
		case "weight":
			dc.scriptWeight(s, n)
		case "rise":
			if v, ok := dc.scriptCount(s, n); ok {
				s.Rise = v
			}
		case "fall":
			if v, ok := dc.scriptCount(s, n); ok {
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
			dc.noValue(n)
			s.InitFail = true
		default:
			dc.ignored(n, "vrrp_script")
		}
	}
	if !timeoutSet {
		s.Timeout = s.Interval
	}
	switch _, dup := dc.scriptOrd[s.Name]; {
	case s.Cmd == "":
		// keepalived: "No script set for vrrp_script ... - removing".
		dc.note(b.pos, KindCorrected, "vrrp_script", "vrrp_script %s has no script: keepalived removes it, and so does xvrrpd (tracking it is ignored)", s.Name)
	case dup:
		dc.note(b.pos, KindCorrected, "vrrp_script", "vrrp_script %s is already defined at %s: keepalived tracks the first one, and so does xvrrpd", s.Name, dc.c.Script(s.Name).Pos.at())
	default:
		dc.scriptOrd[s.Name] = dc.ord
		dc.c.Scripts = append(dc.c.Scripts, s)
	}
}

// scriptSeconds decodes a vrrp_script interval or timeout as keepalived
// 2.2.7 runs it: whole seconds, 1 to 4294. A word that starts with digits
// is that number ("0.05" is 0, "2.5" is 2: keepalived -t reports such a
// line as ignored, but keepalived runs with the number), 0 is 1 s, and a
// negative number, one above 4294 or beyond the integer range leaves the
// value as it was (ok false). does says what the value is for, with a %s
// for the duration; was is the value kept.
func (dc *decoder) scriptSeconds(s *Script, n *node, does, was string) (time.Duration, bool) {
	if !dc.leaf(n, 1, 1) {
		return 0, false
	}
	word := n.args[0]
	v, ok, why := kaUnsigned(word, 0, kaMaxScriptSeconds)
	if !ok {
		dc.note(n.pos, KindCorrected, n.keyword, "vrrp_script %s: %s %q is %s: keepalived 2.2.7 reads whole seconds from 1 to %d, ignores the line and "+does+"; so does xvrrpd",
			s.Name, n.keyword, word, why, kaMaxScriptSeconds, was)
		return 0, false
	}
	runs := v
	if runs == 0 {
		runs = 1
	}
	d := time.Duration(runs) * time.Second
	switch {
	case why != "":
		raised, later := "", ""
		if v == 0 {
			raised = ", which it raises to 1,"
		}
		if d232, ok := decimalSeconds(word); ok {
			later = fmt.Sprintf("; keepalived 2.3.2 and later read %v", d232)
		}
		dc.note(n.pos, KindCorrected, n.keyword, "vrrp_script %s: %s %q is %s: keepalived 2.2.7 reads whole seconds, here %d (the digits it starts with)%s and "+does+"; so does xvrrpd (keepalived -t reports the line as ignored%s)",
			s.Name, n.keyword, word, why, v, raised, d, later)
	case v == 0:
		dc.note(n.pos, KindCorrected, n.keyword, "vrrp_script %s: %s 0: keepalived raises it to 1 and "+does+"; so does xvrrpd", s.Name, n.keyword, d)
	}
	return d, true
}

// scriptWeight decodes a vrrp_script weight as keepalived 2.2.7 runs it:
// the number the word starts with, even out of [-253, 253] (reported);
// "reverse" after it sets reverse, any other word is reported and leaves
// reverse as it was.
func (dc *decoder) scriptWeight(s *Script, n *node) {
	if !dc.leaf(n, 1, 2) {
		return
	}
	v, _, why := kaInt(n.args[0], -253, 253, true)
	s.Weight = int(v)
	if why != "" {
		zero := ""
		if v == 0 {
			zero = " (weight 0: a failure puts the instance in FAULT)"
		}
		dc.note(n.pos, KindCorrected, n.keyword, "vrrp_script %s: weight %q is %s: keepalived 2.2.7 reports it and runs with weight %d%s; so does xvrrpd",
			s.Name, n.args[0], why, v, zero)
	}
	if len(n.args) > 1 {
		if n.args[1] == "reverse" {
			s.Reverse = true
		} else {
			dc.note(n.pos, KindCorrected, n.keyword, "vrrp_script %s: %q after the weight is not reverse: keepalived 2.2.7 ignores it and leaves reverse %s; so does xvrrpd",
				s.Name, n.args[1], onOff(s.Reverse))
		}
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// scriptCount decodes a vrrp_script rise or fall as keepalived 2.2.7 runs
// it: the number the word starts with ("2.5" is 2), 1 when that is not
// from 1 to 2147483647.
func (dc *decoder) scriptCount(s *Script, n *node) (int, bool) {
	if !dc.leaf(n, 1, 1) {
		return 0, false
	}
	word := n.args[0]
	v, ok, why := kaUnsigned(word, 1, math.MaxInt32)
	switch {
	case !ok:
		dc.note(n.pos, KindCorrected, n.keyword, "vrrp_script %s: %s %q is %s: keepalived 2.2.7 reads a number from 1 to %d and sets %s 1 instead; so does xvrrpd",
			s.Name, n.keyword, word, why, math.MaxInt32, n.keyword)
		return 1, true
	case why != "":
		dc.note(n.pos, KindCorrected, n.keyword, "vrrp_script %s: %s %q is %s: keepalived 2.2.7 reads %d (the digits it starts with) and runs with %s %d; so does xvrrpd (keepalived -t reports it sets 1)",
			s.Name, n.keyword, word, why, v, n.keyword, v)
	}
	return int(v), true
}

func (dc *decoder) trackFile(b *node) {
	if !dc.blockOf(b, 1) {
		return
	}
	f := &TrackFile{Pos: b.pos, Name: b.args[0], Weight: 1}
	var filePos, initPos Pos
	for _, n := range b.children {
		switch n.keyword {
		case "file":
			switch {
			case !dc.leaf(n, 0, 1):
			case len(n.args) == 0:
				// keepalived: "track file file name missing".
				dc.note(n.pos, KindCorrected, n.keyword, "%s %s: file without a name: keepalived ignores the line, and so does xvrrpd", b.keyword, f.Name)
			case f.File != "":
				// keepalived: "File already set for track file ... - ignoring ...".
				dc.note(n.pos, KindCorrected, n.keyword, "%s %s: the file is already set at %s (%s): keepalived keeps that one and ignores %s, and so does xvrrpd",
					b.keyword, f.Name, filePos.at(), f.File, n.args[0])
			default:
				f.File, filePos = n.args[0], n.pos
			}
		case "weight":
			dc.fileWeight(b.keyword, f, n)
		case "init_file":
			if !dc.leaf(n, 0, -1) {
				continue
			}
			if initPos != (Pos{}) {
				dc.note(n.pos, KindNote, n.keyword, "%s %s: init_file is already given at %s: keepalived reads this line alone (its value and overwrite are dropped), and so does xvrrpd",
					b.keyword, f.Name, initPos.at())
			}
			initPos = n.pos
			dc.initFile(b.keyword, f, n)
		default:
			dc.ignored(n, b.keyword)
		}
	}
	switch _, dup := dc.fileOrd[f.Name]; {
	case f.File == "":
		// keepalived: "No file set for track_file ... - ignoring".
		dc.note(b.pos, KindCorrected, b.keyword, "%s %s has no file: keepalived ignores it, and so does xvrrpd (tracking it is ignored)", b.keyword, f.Name)
	case dup:
		dc.note(b.pos, KindCorrected, b.keyword, "%s %s is already defined at %s: keepalived tracks the first one, and so does xvrrpd", b.keyword, f.Name, dc.c.TrackFile(f.Name).Pos.at())
	default:
		dc.fileOrd[f.Name] = dc.ord
		dc.c.TrackFiles = append(dc.c.TrackFiles, f)
	}
}

// fileWeight decodes a track_file block's weight as keepalived 2.2.7 runs
// it: a line without a value, or after a weight other than 1, is ignored;
// the number the word starts with ("10.5" is 10) if it is in [-254, 254],
// else 1; "reverse" after it sets reverse, any other word is reported and
// leaves reverse as it was.
func (dc *decoder) fileWeight(block string, f *TrackFile, n *node) {
	if !dc.leaf(n, 0, 2) {
		return
	}
	switch {
	case len(n.args) == 0:
		// keepalived: "No weight specified for track file ... - ignoring".
		dc.note(n.pos, KindCorrected, n.keyword, "%s %s: weight without a value: keepalived ignores the line, and so does xvrrpd", block, f.Name)
		return
	case f.Weight != 1:
		// keepalived: "Weight already set for track file ... - ignoring ...".
		dc.note(n.pos, KindCorrected, n.keyword, "%s %s: weight %d is already set: keepalived ignores this line (it takes a second weight only after weight 1), and so does xvrrpd",
			block, f.Name, f.Weight)
		return
	}
	v, ok, why := kaInt(n.args[0], -254, 254, true)
	switch {
	case !ok:
		v = 1
		dc.note(n.pos, KindCorrected, n.keyword, "%s %s: weight %q is %s: keepalived 2.2.7 reads a number from -254 to 254 and uses weight 1 instead; so does xvrrpd", block, f.Name, n.args[0], why)
	case why != "":
		zero := ""
		if v == 0 {
			zero = " (weight 0: a value other than 0 in the file puts the instance in FAULT)"
		}
		dc.note(n.pos, KindCorrected, n.keyword, "%s %s: weight %q is %s: keepalived 2.2.7 reads %d (the digits it starts with) and runs with weight %d%s; so does xvrrpd (keepalived -t reports it uses 1)",
			block, f.Name, n.args[0], why, v, v, zero)
	}
	f.Weight = int(v)
	if len(n.args) > 1 {
		if n.args[1] == "reverse" {
			f.Reverse = true
		} else {
			dc.note(n.pos, KindCorrected, n.keyword, "%s %s: %q after the weight is not reverse: keepalived 2.2.7 ignores it and leaves reverse %s; so does xvrrpd",
				block, f.Name, n.args[1], onOff(f.Reverse))
		}
	}
}

// initFile decodes an init_file line as keepalived 2.2.7 reads it: each
// line starts again (create the file if missing, value 0); a word that
// starts with a digit or '-' is the value (0 if it is not an integer,
// reported but kept outside [-254, 254]), "overwrite" rewrites an existing
// file, any other word is reported and ignored.
func (dc *decoder) initFile(block string, f *TrackFile, n *node) {
	f.InitFile, f.Overwrite, f.InitValue = true, false, 0
	for _, a := range n.args {
		w := strings.TrimLeft(a, whiteSpace)
		switch {
		case w != "" && (isDigit(w[0]) || w[0] == '-'):
			v, ok, why := kaInt(a, math.MinInt32, math.MaxInt32, false)
			switch {
			case !ok:
				v = 0
				dc.note(n.pos, KindCorrected, n.keyword, "%s %s: init value %q is %s: keepalived 2.2.7 writes 0; so does xvrrpd", block, f.Name, a, why)
			case v < -254 || v > 254:
				dc.note(n.pos, KindCorrected, n.keyword, "%s %s: init value %d is outside [-254, 254]: keepalived 2.2.7 reports it and writes it; so does xvrrpd", block, f.Name, v)
			}
			f.InitValue = int(v)
		case w == "overwrite":
			f.Overwrite = true
		default:
			dc.note(n.pos, KindCorrected, n.keyword, "%s %s: %q is not an init_file option (a number or overwrite): keepalived ignores it, and so does xvrrpd", block, f.Name, a)
		}
	}
}

func (dc *decoder) syncGroup(b *node) {
	if !dc.blockOf(b, 1) {
		return
	}
	for _, o := range dc.c.SyncGroups {
		if o.Name == b.args[0] {
			dc.note(b.pos, KindCorrected, b.keyword, "vrrp_sync_group %s is already defined at %s: keepalived ignores this one, and so does xvrrpd", o.Name, o.Pos.at())
			return
		}
	}
	g := &SyncGroup{Pos: b.pos, Name: b.args[0], SMTPAlert: dc.c.Global.SMTPAlert}
	x := &syncExtra{ord: dc.ord}
	for _, n := range b.children {
		switch n.keyword {
		case "group":
			if x.groupPos != (Pos{}) {
				dc.note(n.pos, KindCorrected, "group", "vrrp_sync_group %s: a group list was given at %s: keepalived ignores this one, and so does xvrrpd", g.Name, x.groupPos.at())
				continue
			}
			if dc.blockOf(n, 0) {
				x.groupPos = n.pos
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
			dc.note(n.pos, KindUnused, n.keyword, unusedMail)
		case "track_interface", "track_script", "track_file":
			dc.tracking(n, &g.TrackInterfaces, &g.TrackScripts, &g.TrackFiles)
		default:
			dc.ignored(n, "vrrp_sync_group")
		}
	}
	dc.sync[g] = x
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
