package config

import (
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// Pos is where a keyword was read: the file name as it was opened (the path
// given to Load, or the include pattern's match) and the 1-based line.
type Pos struct {
	File string
	Line int
}

// at returns "file:line". (Pos has no String method: it is embedded in
// Instance and others, which would then print as their position only.)
func (p Pos) at() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Error is one configuration error at a position.
type Error struct {
	Pos
	Msg string
}

// Error returns "file:line: message".
func (e *Error) Error() string { return e.Pos.at() + ": " + e.Msg }

// Errors is every error found in a configuration, in the order found. Load
// and Parse return it (as error) when it is not empty.
type Errors []*Error

// Error returns one "file:line: message" per line.
func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Kind says what a Warning is about, and whether "xvrrpd -t" fails on it.
type Kind string

// Kinds of Warning. The ones keepalived reports too (KindUnknown,
// KindCorrected) fail "xvrrpd -t", as they fail "keepalived -t"; xvrrpd
// runs the configuration anyway, as keepalived does.
const (
	// KindUnknown is a keyword keepalived does not know where it is
	// written (a typo, or a keyword of another block). keepalived reports
	// it and ignores it; so does xvrrpd. Fails -t.
	KindUnknown Kind = "unknown"
	// KindCorrected is a value keepalived reports and replaces or drops
	// before it runs (state SLAVE, a track_script naming no vrrp_script):
	// xvrrpd does the same. Fails -t.
	KindCorrected Kind = "corrected"
	// KindUnsupported is a keyword keepalived acts on that xvrrpd ignores.
	KindUnsupported Kind = "unsupported"
	// KindUnused is a keyword without effect on VRRP that xvrrpd accepts
	// and ignores: e-mail, SNMP, D-Bus, process tuning.
	KindUnused Kind = "unused"
	// KindNote is anything else worth saying: a value keepalived (and
	// xvrrpd) silently reads differently than written, an adjustment.
	KindNote Kind = "note"
)

// Warning is a keyword that xvrrpd accepts but does not act on, does not
// know, or adjusts as keepalived does. Warnings never make a configuration
// invalid: xvrrpd runs it. FailsTest tells which ones fail "xvrrpd -t".
type Warning struct {
	File    string
	Line    int
	Keyword string
	Message string
	Kind    Kind // empty is KindNote
	// Suggest is, for KindUnknown, the keyword keepalived knows in that
	// block that is closest to the one written.
	Suggest string
	// Behaviour tells, for KindUnsupported, that keepalived would act on
	// the keyword in a way that changes VRRP or the host (LVS, VMACs,
	// routes, tracking, ...): "xvrrpd -t" lists these in its summary.
	Behaviour bool
}

// String returns "file:line: warning: keyword: message".
func (w Warning) String() string {
	return fmt.Sprintf("%s:%d: warning: %s: %s", w.File, w.Line, w.Keyword, w.Message)
}

// FailsTest tells whether "xvrrpd -t" fails on the warning: keepalived
// -t reports it as a problem of the file.
func (w Warning) FailsTest() bool { return w.Kind == KindUnknown || w.Kind == KindCorrected }

// Config is a decoded keepalived.conf.
type Config struct {
	Global     Global
	Instances  []*Instance  // in file order
	Scripts    []*Script    // vrrp_script blocks, in file order
	TrackFiles []*TrackFile // track_file (vrrp_track_file) blocks, in file order
	SyncGroups []*SyncGroup // vrrp_sync_group blocks, in file order
	Warnings   []Warning    // in the order found
	Files      []string     // every file read, the main file first
}

// Global holds global_defs. Values not set in the file have keepalived's
// defaults (see Defaults).
type Global struct {
	Pos                     // of the first global_defs block (zero if none)
	RouterID                string
	Version                 vrrp.Version // vrrp_version: default for IPv4 instances
	McastGroup4             netip.Addr   // vrrp_mcast_group4
	McastGroup6             netip.Addr   // vrrp_mcast_group6
	Garp                    Garp         // vrrp_garp_master_*: defaults for instances
	GarpInterval            time.Duration
	GnaInterval             time.Duration
	ScriptUser, ScriptGroup string
	EnableScriptSecurity    bool
	// UseSymlinkPaths (use_symlink_paths, keepalived 2.3): scripts run
	// by the path as written, symbolic links kept, instead of the path
	// with the links resolved.
	UseSymlinkPaths  bool
	Strict           bool // vrrp_strict
	SkipCheckAdvAddr bool // vrrp_skip_check_adv_addr
	NotifyFifo       string
	SMTPAlert        bool
	// Accepted for compatibility and reported as unused: xvrrpd sends no mail.
	NotificationEmail     []string
	NotificationEmailFrom string
	SMTPServer            string
	SMTPConnectTimeout    time.Duration

	// LowerPrioNoAdvert (vrrp_lower_prio_no_advert) is the instances'
	// default for lower_prio_no_advert.
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert (vrrp_higher_prio_send_advert) is the
	// instances' default for higher_prio_send_advert. xvrrpd's default is
	// true (keepalived's false): see Instance.HigherPrioSendAdvert.
	HigherPrioSendAdvert bool
	// CheckUnicastSrc (vrrp_check_unicast_src) is the instances' default
	// for check_unicast_src.
	CheckUnicastSrc bool
	// StartupDelay (vrrp_startup_delay) is how long after xvrrpd starts no
	// instance may become master: it reads no advert and sends nothing
	// until then, and a Backup waits a full Master_Down_Interval after it.
	StartupDelay time.Duration
	// DelayAfterBoot (vrrp_delay_after_boot, keepalived 2.4) is the same
	// delay counted from the boot of the system: none once it has been up
	// that long. The longer of the two applies.
	DelayAfterBoot time.Duration
}

// Garp holds the gratuitous ARP / unsolicited NA schedule after becoming
// master, and while master after hearing a router it outranks.
type Garp struct {
	MasterDelay         time.Duration // second burst this long after the transition; 0: none
	MasterRepeat        int           // messages per burst
	MasterRefresh       time.Duration // refresh period while master; 0: none
	MasterRefreshRepeat int           // messages per refresh
	// LowerPrioRepeat (garp_lower_prio_repeat) is the messages per burst
	// of a master that receives an advert from a router it outranks (a
	// split brain healing); 0: no such burst. Rate-limited by the router
	// (vrrp.Config.GarpLowerPrio).
	LowerPrioRepeat int
	// LowerPrioDelay (garp_lower_prio_delay): a second such burst this
	// long after each; 0: none.
	LowerPrioDelay time.Duration
}

// Family is an instance's address family.
type Family uint8

// Address families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// Instance is a vrrp_instance block.
type Instance struct {
	Pos
	Name      string
	State     vrrp.State // vrrp.Backup (default) or vrrp.Master: the initial state asked for
	Interface string
	VRID      uint8
	Priority  uint8
	AdvertInt time.Duration
	Version   vrrp.Version
	AuthType  vrrp.AuthType
	AuthPass  [8]byte // NUL-padded, truncated to 8 bytes
	VIPs      []VIP   // virtual_ipaddress: one family, carried in adverts
	// ExcludedVIPs (virtual_ipaddress_excluded) are added and removed with
	// the VIPs but not carried in adverts; any family.
	ExcludedVIPs []VIP
	// UnicastSrc and McastSrc are synonyms in keepalived (the source address
	// of adverts); when only one is given both hold it.
	UnicastSrc   netip.Addr
	UnicastPeers []netip.Addr // unicast mode when not empty
	McastSrc     netip.Addr
	McastGroup   netip.Addr // destination in multicast mode (mcast_dst_ip or the global group)
	Preempt      bool
	PreemptDelay time.Duration
	Garp         Garp
	// LowerPrioNoAdvert (lower_prio_no_advert): as master, do not answer
	// an advert from a router we outrank with one of ours (RFC 5798
	// §6.4.3's discard; forced on by strict mode, as keepalived).
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert (higher_prio_send_advert): a master that hears
	// a higher priority sends one advert of its own before it steps down,
	// so that the other master, which it may have been split from, hears
	// a lower priority and announces its VIPs again (garp_lower_prio_repeat)
	// for the hosts that followed us. On by default in xvrrpd (keepalived:
	// off): without it the hosts of a healed split brain wait seconds for
	// their ARP entries to fail. "higher_prio_send_advert false" turns it
	// off.
	HigherPrioSendAdvert bool
	// CheckUnicastSrc (check_unicast_src): in unicast, adverts whose
	// source is not one of UnicastPeers are dropped (a forged advert from
	// another host cannot move mastership).
	CheckUnicastSrc bool
	// DontTrackPrimary: a down Interface does not cause FAULT.
	DontTrackPrimary bool
	TrackInterfaces  []TrackInterface
	TrackScripts     []TrackRef
	TrackFiles       []TrackRef
	Notify           Notify
	SMTPAlert        bool
	SyncGroup        string // name of the vrrp_sync_group it belongs to, if any
	// VersionSet tells whether the instance had its own "version" keyword.
	VersionSet bool

	// fam is the family the decoder found (that of the first address
	// written); 0 for an Instance built otherwise.
	fam Family
}

// Family is the instance's address family. For a decoded instance it is
// that of the first address of the instance in the file (source address,
// unicast peer or virtual address), as keepalived decides it, or IPv4;
// addresses of the other family were dropped. Otherwise it is the family
// of the VIPs; with no VIP, that of the unicast peers; IPv4 otherwise.
func (in *Instance) Family() Family {
	if in.fam != 0 {
		return in.fam
	}
	if len(in.VIPs) > 0 {
		return familyOf(in.VIPs[0].Prefix.Addr())
	}
	if len(in.UnicastPeers) > 0 {
		return familyOf(in.UnicastPeers[0])
	}
	return IPv4
}

// Unicast reports whether adverts go to unicast peers rather than a group.
func (in *Instance) Unicast() bool { return len(in.UnicastPeers) > 0 }

func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// VIP is one line of virtual_ipaddress or virtual_ipaddress_excluded.
type VIP struct {
	Pos
	Prefix    netip.Prefix // address with its prefix length (/32 or /128 when not given); not masked
	Dev       string       // "dev": empty means the instance's interface
	Label     string       // "label"
	Scope     string       // "scope": global, site, link, host, nowhere or a number; empty: kernel default
	Broadcast string       // "brd": an address, "+" or "-"; empty: none
}

// TrackInterface is a line of track_interface.
type TrackInterface struct {
	Pos
	Name    string
	Weight  int // 0: the instance goes to FAULT while the interface is down
	Reverse bool
}

// TrackRef is a line of track_script or track_file naming a vrrp_script or
// track_file block.
type TrackRef struct {
	Pos
	Name string
	// Weight applies when WeightSet; otherwise the script's (or file's) own
	// weight applies.
	Weight    int
	WeightSet bool
	Reverse   bool
}

// Notify holds the notify scripts of an instance or sync group.
type Notify struct {
	Master, Backup, Fault, Stop Command
	// Generic ("notify") runs after the specific one with the arguments
	// INSTANCE|GROUP, name, state, priority appended.
	Generic Command
	// Fifo is a fifo of this instance only. keepalived has none (its
	// notify_fifo is global_defs's): the decoder never sets it.
	Fifo string
}

// Command is a script with the user and group to run it as (empty: the
// global script_user).
//
// A notify line is read as keepalived 2.2.7 reads it (lib/notify.c): the
// line is split again with quotes and backslash escapes (SplitCommand);
// its second word is the command, split once more into Argv; the third
// and fourth words are the user and group, and any further word is
// ignored. So `notify_master "/bin/x master" root` runs /bin/x with
// "master" as root, and `notify_master /bin/x master` runs /bin/x as the
// user "master".
type Command struct {
	// Cmd is the command as keepalived takes it from the line (its
	// second word, quotes and escapes resolved), e.g. "/bin/x master".
	Cmd string
	// Argv is what runs: Cmd split with SplitCommand. The decoder always
	// sets it; a Command built without it runs SplitCommand(Cmd).
	Argv        []string
	User, Group string
}

// Script is a vrrp_script block. Its script line is read as a notify
// line's (see Command), but keepalived ignores every word after the
// command: `script /usr/bin/killall -0 haproxy` runs killall alone, and
// so does xvrrpd (with a warning); the user is the user keyword's.
type Script struct {
	Pos
	Name     string
	Cmd      string   // as Command.Cmd
	Argv     []string // as Command.Argv
	Interval time.Duration
	Timeout  time.Duration // defaults to Interval
	Weight   int           // -253..253; 0: failure means FAULT
	Reverse  bool
	Rise     int
	Fall     int
	User     string
	Group    string
	InitFail bool
}

// Command returns the script line with the user and group it runs as.
func (s *Script) Command() Command {
	return Command{Cmd: s.Cmd, Argv: s.Argv, User: s.User, Group: s.Group}
}

// TrackFile is a track_file block: a file whose number, times Weight, is
// added to the priority.
type TrackFile struct {
	Pos
	Name      string
	File      string
	Weight    int // default 1
	Reverse   bool
	InitFile  bool // init_file: create (or with Overwrite, rewrite) the file at startup
	InitValue int
	Overwrite bool
}

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct {
	Pos
	Name            string
	Members         []string
	Notify          Notify
	SMTPAlert       bool
	TrackInterfaces []TrackInterface
	TrackScripts    []TrackRef
	TrackFiles      []TrackRef
}

// Defaults are keepalived's values for what a file leaves unset. The
// garp_lower_prio_repeat and garp_lower_prio_delay defaults are the
// global vrrp_garp_master_repeat and vrrp_garp_master_delay (0 in strict
// mode).
const (
	DefaultPriority                = 100
	DefaultAdvertInt               = time.Second
	DefaultGarpMasterDelay         = 5 * time.Second
	DefaultGarpMasterRepeat        = 5
	DefaultGarpMasterRefresh       = 0
	DefaultGarpMasterRefreshRepeat = 1
	DefaultScriptInterval          = time.Second
	DefaultScriptRise              = 1
	DefaultScriptFall              = 1
)

// Default multicast groups (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	DefaultMcastGroup4 = netip.MustParseAddr("224.0.0.18")
	DefaultMcastGroup6 = netip.MustParseAddr("ff02::12")
)

// Load reads the file at path and every file it includes. The returned
// Config is never nil: when err is not nil it holds what could be decoded,
// so that Report can still list the warnings. err, when not nil, is Errors.
func Load(path string) (*Config, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with the options of the command line.
func LoadWith(path string, o Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return &Config{Global: defaultGlobal()}, Errors{{Pos: Pos{File: path}, Msg: err.Error()}}
	}
	return ParseWith(path, data, o)
}

// Parse decodes data as if read from the file name; relative includes are
// resolved against the directory of name. Like Load, it returns a non-nil
// Config and, when anything is wrong, Errors.
func Parse(name string, data []byte) (*Config, error) { return ParseWith(name, data, Options{}) }

// ParseWith is Parse with the options of the command line.
func ParseWith(name string, data []byte, o Options) (*Config, error) {
	return parseLexer(name, data, &lexer{diag: &diag{}, opts: o})
}

// parseLexer is ParseWith reading with lx (the fuzz test gives one whose
// includes stay in a directory and whose generated lines are few).
func parseLexer(name string, data []byte, lx *lexer) (*Config, error) {
	d := lx.diag
	lx.lexFile(name, data)
	tree := kaNormalize(buildTree(lx.toks, d), d)
	dc := decode(tree, d)
	dc.validate()
	c := dc.c
	c.Files = lx.files
	sortByPos(c.Files, d)
	c.Warnings = d.warns
	if len(d.errs) > 0 {
		return c, d.errs
	}
	return c, nil
}

// InterfaceNames returns every interface name the configuration refers to
// (instance interfaces, VIP devices, tracked interfaces), sorted, once each.
func (c *Config) InterfaceNames() []string {
	set := map[string]bool{}
	add := func(s string) {
		if s != "" {
			set[s] = true
		}
	}
	for _, in := range c.Instances {
		add(in.Interface)
		for _, v := range in.VIPs {
			add(v.Dev)
		}
		for _, v := range in.ExcludedVIPs {
			add(v.Dev)
		}
		for _, t := range in.TrackInterfaces {
			add(t.Name)
		}
	}
	for _, g := range c.SyncGroups {
		for _, t := range g.TrackInterfaces {
			add(t.Name)
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// RenameInterfaces replaces interface names by their value in m wherever the
// configuration refers to them, including the "dev:" prefix of VIP labels.
// Names not in m are left as they are. Tests use it to move a configuration
// into their own network namespace.
func (c *Config) RenameInterfaces(m map[string]string) {
	ren := func(s *string) {
		if n, ok := m[*s]; ok {
			*s = n
		}
	}
	renVIPs := func(vs []VIP, inst string) {
		for i := range vs {
			v := &vs[i]
			dev := v.Dev
			if dev == "" {
				dev = inst
			}
			if pre, rest, ok := strings.Cut(v.Label, ":"); ok && pre == dev {
				if n, ok := m[pre]; ok {
					v.Label = n + ":" + rest
				}
			}
			ren(&v.Dev)
		}
	}
	for _, in := range c.Instances {
		renVIPs(in.VIPs, in.Interface)
		renVIPs(in.ExcludedVIPs, in.Interface)
		ren(&in.Interface)
		for i := range in.TrackInterfaces {
			ren(&in.TrackInterfaces[i].Name)
		}
	}
	for _, g := range c.SyncGroups {
		for i := range g.TrackInterfaces {
			ren(&g.TrackInterfaces[i].Name)
		}
	}
}

// Instance returns the instance with the given name, or nil.
func (c *Config) Instance(name string) *Instance {
	for _, in := range c.Instances {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// Script returns the vrrp_script with the given name, or nil.
func (c *Config) Script(name string) *Script {
	for _, s := range c.Scripts {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// TrackFile returns the track_file with the given name, or nil.
func (c *Config) TrackFile(name string) *TrackFile {
	for _, f := range c.TrackFiles {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func defaultGlobal() Global {
	return Global{
		Version:              vrrp.V2,
		McastGroup4:          DefaultMcastGroup4,
		McastGroup6:          DefaultMcastGroup6,
		HigherPrioSendAdvert: true,
		Garp: Garp{
			MasterDelay:         DefaultGarpMasterDelay,
			MasterRepeat:        DefaultGarpMasterRepeat,
			MasterRefresh:       DefaultGarpMasterRefresh,
			MasterRefreshRepeat: DefaultGarpMasterRefreshRepeat,
			LowerPrioRepeat:     DefaultGarpMasterRepeat,
			LowerPrioDelay:      DefaultGarpMasterDelay,
		},
	}
}

// sortByPos orders errors and warnings by file (in reading order) and line,
// keeping the order found for the same line.
func sortByPos(files []string, d *diag) {
	rank := map[string]int{}
	for i, f := range files {
		if _, ok := rank[f]; !ok {
			rank[f] = i
		}
	}
	less := func(f1 string, l1 int, f2 string, l2 int) bool {
		if r1, r2 := rank[f1], rank[f2]; r1 != r2 {
			return r1 < r2
		}
		return l1 < l2
	}
	sort.SliceStable(d.errs, func(i, j int) bool {
		return less(d.errs[i].File, d.errs[i].Line, d.errs[j].File, d.errs[j].Line)
	})
	sort.SliceStable(d.warns, func(i, j int) bool {
		return less(d.warns[i].File, d.warns[i].Line, d.warns[j].File, d.warns[j].Line)
	})
}
