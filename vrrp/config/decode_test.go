package config

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal+"}\n")
	in := c.Instances[0]
	want := Instance{
		Pos: Pos{"t.conf", 1}, Name: "VI_1", State: vrrp.Backup, Interface: "eth0", VRID: 51,
		Priority: 100, AdvertInt: time.Second, Version: vrrp.V2,
		VIPs:       []VIP{{Pos: Pos{"t.conf", 5}, Prefix: netip.MustParsePrefix("10.0.0.10/24")}},
		McastGroup: netip.MustParseAddr("224.0.0.18"), Preempt: true, HigherPrioSendAdvert: true,
		Garp: Garp{MasterDelay: 5 * time.Second, MasterRepeat: 5, MasterRefresh: 0, MasterRefreshRepeat: 1,
			LowerPrioRepeat: 5, LowerPrioDelay: 5 * time.Second},
		fam: IPv4,
	}
	if !reflect.DeepEqual(*in, want) {
		t.Errorf("\n got %+v\nwant %+v", *in, want)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %+v", c.Warnings)
	}
}

func TestInstanceKeywords(t *testing.T) {
	c := mustParse(t, `global_defs {
  vrrp_garp_master_delay 3
  vrrp_garp_master_repeat 2
  vrrp_garp_master_refresh 60
  vrrp_garp_master_refresh_repeat 4
  vrrp_gna_interval 0.000001
  vrrp_garp_interval 0.25
  notify_fifo /run/g.fifo
}
vrrp_script s1 {
  script "/bin/s1 a"
  interval 2
  timeout 3
  weight 10 reverse
  rise 4
  fall 5
  user nobody nogroup
  init_fail
}
track_file f1 {
  file "/run/f1"
  weight -3
  init_file 7 overwrite
}
vrrp_instance VI_9 {
  state BACKUP
  interface eth0
  virtual_router_id 9
  priority 150
  advert_int 3
  unicast_src_ip 10.0.0.1
  unicast_peer {
    10.0.0.2
    10.0.0.3
  }
  nopreempt
  garp_master_delay 0
  garp_master_refresh 10
  dont_track_primary
  track_interface {
    eth1
    eth2 weight -20 reverse
  }
  track_script {
    s1
    s1 weight 30
  }
  track_file {
    f1 weight 2
  }
  notify_master "/bin/n master" root wheel
  notify_backup /bin/nb
  notify_fault "/bin/n fault"
  notify_stop "/bin/n stop"
  notify "/bin/notify"
  virtual_ipaddress {
    10.0.0.100/24 dev eth0 label eth0:vip scope global brd 10.0.0.255
    10.0.0.101
  }
  virtual_ipaddress_excluded {
    fd00::1/64 dev eth0
    10.9.9.9/16
  }
}
`)
	g := c.Global
	// garp_lower_prio_* follow the global garp_master_repeat and _delay.
	if g.Garp != (Garp{3 * time.Second, 2, 60 * time.Second, 4, 2, 3 * time.Second}) || g.GnaInterval != time.Microsecond ||
		g.GarpInterval != 250*time.Millisecond || g.NotifyFifo != "/run/g.fifo" {
		t.Errorf("global %+v", g)
	}
	s := c.Script("s1")
	wantS := &Script{Pos: Pos{"t.conf", 10}, Name: "s1", Cmd: "/bin/s1 a", Argv: []string{"/bin/s1", "a"}, Interval: 2 * time.Second,
		Timeout: 3 * time.Second, Weight: 10, Reverse: true, Rise: 4, Fall: 5, User: "nobody", Group: "nogroup", InitFail: true}
	if !reflect.DeepEqual(s, wantS) {
		t.Errorf("script\n got %+v\nwant %+v", s, wantS)
	}
	wantF := &TrackFile{Pos: Pos{"t.conf", 20}, Name: "f1", File: "/run/f1", Weight: -3, InitFile: true, InitValue: 7, Overwrite: true}
	if f := c.TrackFile("f1"); !reflect.DeepEqual(f, wantF) {
		t.Errorf("track_file\n got %+v\nwant %+v", f, wantF)
	}
	in := c.Instance("VI_9")
	if in.State != vrrp.Backup || in.Priority != 150 || in.AdvertInt != 3*time.Second || in.Preempt ||
		in.PreemptDelay != 0 || !in.DontTrackPrimary || !in.Unicast() {
		t.Errorf("instance %+v", *in)
	}
	if in.UnicastSrc != netip.MustParseAddr("10.0.0.1") || in.McastSrc != in.UnicastSrc ||
		!reflect.DeepEqual(in.UnicastPeers, []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")}) {
		t.Errorf("unicast %s %v", in.UnicastSrc, in.UnicastPeers)
	}
	// Instance garp values override the global ones, the rest inherit.
	if in.Garp != (Garp{0, 2, 10 * time.Second, 4, 2, 3 * time.Second}) {
		t.Errorf("garp %+v", in.Garp)
	}
	wantTI := []TrackInterface{{Pos: Pos{"t.conf", 41}, Name: "eth1"}, {Pos: Pos{"t.conf", 42}, Name: "eth2", Weight: -20, Reverse: true}}
	if !reflect.DeepEqual(in.TrackInterfaces, wantTI) {
		t.Errorf("track_interface %+v", in.TrackInterfaces)
	}
	wantTS := []TrackRef{{Pos: Pos{"t.conf", 45}, Name: "s1"}, {Pos: Pos{"t.conf", 46}, Name: "s1", Weight: 30, WeightSet: true}}
	if !reflect.DeepEqual(in.TrackScripts, wantTS) {
		t.Errorf("track_script %+v", in.TrackScripts)
	}
	if len(in.TrackFiles) != 1 || in.TrackFiles[0].Weight != 2 || !in.TrackFiles[0].WeightSet {
		t.Errorf("track_file %+v", in.TrackFiles)
	}
	wantN := Notify{
		Master: Command{Cmd: "/bin/n master", Argv: []string{"/bin/n", "master"}, User: "root", Group: "wheel"}, Backup: Command{Cmd: "/bin/nb", Argv: []string{"/bin/nb"}},
		Fault: Command{Cmd: "/bin/n fault", Argv: []string{"/bin/n", "fault"}}, Stop: Command{Cmd: "/bin/n stop", Argv: []string{"/bin/n", "stop"}}, Generic: Command{Cmd: "/bin/notify", Argv: []string{"/bin/notify"}},
	}
	if !reflect.DeepEqual(in.Notify, wantN) {
		t.Errorf("notify\n got %+v\nwant %+v", in.Notify, wantN)
	}
	wantV := VIP{Pos: Pos{"t.conf", 57}, Prefix: netip.MustParsePrefix("10.0.0.100/24"), Dev: "eth0", Label: "eth0:vip", Scope: "global", Broadcast: "10.0.0.255"}
	if len(in.VIPs) != 2 || in.VIPs[0] != wantV || in.VIPs[1].Prefix != netip.MustParsePrefix("10.0.0.101/32") {
		t.Errorf("VIPs %+v", in.VIPs)
	}
	// Excluded addresses may mix families; the instance stays IPv4.
	if len(in.ExcludedVIPs) != 2 || in.ExcludedVIPs[0].Prefix != netip.MustParsePrefix("fd00::1/64") || in.Family() != IPv4 {
		t.Errorf("excluded %+v", in.ExcludedVIPs)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %+v", c.Warnings)
	}
}

func TestIPv6Instance(t *testing.T) {
	c := mustParse(t, `global_defs {
  vrrp_version 2
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 7
  advert_int 0.05
  virtual_ipaddress {
    fe80::7/64
    2001:db8::7/64
  }
}`)
	in := c.Instances[0]
	// keepalived uses VRRPv3 for IPv6 even when vrrp_version is 2.
	if in.Family() != IPv6 || in.Version != vrrp.V3 || in.AdvertInt != 50*time.Millisecond || in.McastGroup != DefaultMcastGroup6 {
		t.Errorf("%+v", *in)
	}
}

func TestVersion3Global(t *testing.T) {
	c := mustParse(t, "global_defs {\n vrrp_version 3\n vrrp_mcast_group6 ff02::99\n}\n"+minimal+" advert_int 0.3\n}\n")
	in := c.Instances[0]
	if in.Version != vrrp.V3 || in.AdvertInt != 300*time.Millisecond || c.Global.McastGroup6 != netip.MustParseAddr("ff02::99") {
		t.Errorf("%+v", *in)
	}
}

func TestAuthentication(t *testing.T) {
	c := mustParse(t, minimal+" authentication {\n  auth_type PASS\n  auth_pass 12345678\n }\n}\n")
	if in := c.Instances[0]; in.AuthType != vrrp.AuthPass || in.AuthPass != [8]byte{'1', '2', '3', '4', '5', '6', '7', '8'} {
		t.Errorf("%v %q", in.AuthType, in.AuthPass)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("8 bytes is not truncated: %+v", c.Warnings)
	}
	// VRRPv3 has no authentication (RFC 5798 §9).
	c = mustParse(t, minimal+" version 3\n authentication {\n  auth_type PASS\n  auth_pass x\n }\n}\n")
	if c.Instances[0].AuthType != vrrp.AuthNone {
		t.Error("v3 kept authentication")
	}
	wantWarn(t, c, "t.conf", 8, "authentication", "VRRPv3")
}

func TestSyncGroup(t *testing.T) {
	c := mustParse(t, minimal+"}\n"+strings.NewReplacer("VI_1", "VI_2", "51", "52").Replace(minimal)+`}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
  notify_master "/bin/g master"
  notify "/bin/g"
  track_interface {
    eth3
  }
}`)
	g := c.SyncGroups[0]
	if g.Name != "G1" || !reflect.DeepEqual(g.Members, []string{"VI_1", "VI_2"}) || g.Notify.Master.Cmd != "/bin/g master" ||
		g.Notify.Generic.Cmd != "/bin/g" || len(g.TrackInterfaces) != 1 {
		t.Errorf("%+v", g)
	}
	if c.Instance("VI_1").SyncGroup != "G1" || c.Instance("VI_2").SyncGroup != "G1" {
		t.Error("members not marked")
	}
}

func TestWarnings(t *testing.T) {
	c := mustParse(t, `global_defs {
  vrrp_iptables
  bogus_global 1
}
virtual_server_group VSG {
  10.0.0.1 80
}
virtual_server 10.0.0.1 80 {
  real_server 10.0.0.2 80 {
    weight 1
  }
}
static_routes {
  10.1.0.0/16 via 10.0.0.1
}
something_else
`+minimal+`  use_vmac
  frobnicate 3
  smtp_alert
  10.0.0.1
  virtual_ipaddress_excluded {
    10.0.0.99 dev eth0 noprefixroute wibble
  }
}
`)
	for _, w := range []struct {
		line      int
		kw, text  string
		kind      Kind
		behaviour bool
	}{
		{2, "vrrp_iptables", "not implemented by xvrrpd; ignored: keepalived acts on it", KindUnsupported, true},
		{3, "bogus_global", "unknown keyword in global_defs", KindUnknown, false},
		{5, "virtual_server_group", "block ignored: keepalived acts on it (LVS", KindUnsupported, true},
		{8, "virtual_server", "block ignored: keepalived acts on it (LVS", KindUnsupported, true},
		{13, "static_routes", "not implemented", KindUnsupported, true},
		{16, "something_else", "unknown keyword at the top level", KindUnknown, false},
		{23, "use_vmac", "not implemented", KindUnsupported, true},
		{24, "frobnicate", "unknown keyword in vrrp_instance", KindUnknown, false},
		{25, "smtp_alert", "accepted but unused", KindUnused, false},
		{26, "10.0.0.1", "unknown keyword", KindUnknown, false},
		{28, "noprefixroute", "not implemented", KindUnsupported, false},
		{28, "wibble", "unknown address option", KindUnknown, false},
	} {
		wantWarn(t, c, "t.conf", w.line, w.kw, w.text)
		for _, got := range c.Warnings {
			if got.Line == w.line && got.Keyword == w.kw && (got.Kind != w.kind || got.Behaviour != w.behaviour) {
				t.Errorf("%s: kind %s behaviour %v, want %s %v", got, got.Kind, got.Behaviour, w.kind, w.behaviour)
			}
		}
	}
	// One warning per ignored block: none from inside virtual_server.
	if len(c.Warnings) != 12 {
		t.Errorf("%d warnings, want 12: %+v", len(c.Warnings), c.Warnings)
	}
}

// Each validation error names the file and line of the offending keyword.
func TestValidationErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, at, msg string
	}{
		{"missing interface", "vrrp_instance A {\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n}\n", "t.conf:1: ", "missing interface"},
		{"missing vrid", "vrrp_instance A {\n interface eth0\n virtual_ipaddress { 10.0.0.1 }\n}\n", "t.conf:1: ", "missing virtual_router_id"},
		{"vrid range", minimal + " virtual_router_id 256\n}\n", "t.conf:7: ", "virtual_router_id: 256 out of range [1, 255]"},
		{"vrid zero", minimal + " virtual_router_id 0\n}\n", "t.conf:7: ", "out of range"},
		{"priority range", minimal + " priority 0\n}\n", "t.conf:7: ", "priority: 0 out of range [1, 255]"},
		{"priority text", minimal + " priority high\n}\n", "t.conf:7: ", `priority: "high" is not an integer`},
		{"version", minimal + " version 4\n}\n", "t.conf:7: ", "version: 4 out of range [2, 3]"},
		{"bad src", minimal + " unicast_src_ip nope\n}\n", "t.conf:7: ", `unicast_src_ip: "nope" is not`},
		{"peer is self", minimal + " unicast_src_ip 10.0.0.1\n unicast_peer {\n  10.0.0.1\n }\n}\n", "t.conf:8: ", "is the instance's own source address"},
		{"unicast without source", "vrrp_instance A {\n virtual_router_id 1\n unicast_peer {\n  10.0.0.2\n }\n virtual_ipaddress { 10.0.0.1 dev eth0 }\n}\n", "t.conf:3: ", "no usable source address"},
		{"unicast no iface no dev", "vrrp_instance A {\n virtual_router_id 1\n unicast_src_ip 10.0.0.1\n unicast_peer {\n  10.0.0.2\n }\n virtual_ipaddress {\n 10.0.0.9\n }\n}\n", "t.conf:8: ", "every address needs dev"},
		{"track weight range", minimal + " track_interface {\n  eth1 weight 254\n }\n}\n", "t.conf:8: ", "weight: 254 out of range [-253, 253]"},
		{"track junk", minimal + " track_interface {\n  eth1 wieght 2\n }\n}\n", "t.conf:8: ", `unexpected "wieght"`},
		{"v2 subsecond", minimal + " advert_int 0.5\n}\n", "t.conf:7: ", "advert_int: 0.5 invalid for VRRPv2"},
		{"v2 too long", minimal + " advert_int 256\n}\n", "t.conf:7: ", "invalid for VRRPv2"},
		{"v3 too long", minimal + " version 3\n advert_int 41\n}\n", "t.conf:8: ", "advert_int: 41 invalid for VRRPv3"},
		{"v3 step", minimal + " version 3\n advert_int 0.005\n}\n", "t.conf:8: ", "invalid for VRRPv3"},
		{"advert text", minimal + " advert_int fast\n}\n", "t.conf:7: ", `"fast" is not a number`},
		{"v2 ipv6", "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n version 2\n virtual_ipaddress { fd00::1 }\n}\n", "t.conf:1: ", "VRRPv2 is IPv4 only"},
		{"dup vrid", minimal + "}\n" + strings.Replace(minimal, "VI_1", "VI_2", 1) + "}\n", "t.conf:8: ", "virtual_router_id 51 already used for IPv4 on eth0 by vrrp_instance VI_1 at t.conf:1"},
		{"dup name", minimal + "}\n" + strings.Replace(minimal, "51", "52", 1) + "}\n", "t.conf:8: ", "vrrp_instance VI_1: already defined at t.conf:1"},
		{"no name", "vrrp_instance {\n interface eth0\n}\n", "t.conf:1: ", "vrrp_instance: missing name"},
		{"no block", "vrrp_instance VI_1\n", "t.conf:1: ", "needs a { ... } block"},
		{"missing value", minimal + " interface\n}\n", "t.conf:7: ", "interface: missing value"},
		{"preempt delay", minimal + " preempt_delay 1001\n}\n", "t.conf:7: ", "preempt_delay: 1001 out of range"},
		{"mcast group", "global_defs {\n vrrp_mcast_group4 10.0.0.1\n}\n", "t.conf:2: ", "not an IPv4 multicast address"},
		{"mcast group6", "global_defs {\n vrrp_mcast_group6 ff05::12\n}\n", "t.conf:2: ", "not an IPv6 link-local multicast"},
		{"mcast dst family", minimal + " mcast_dst_ip ff02::12\n}\n", "t.conf:7: ", "mcast_dst_ip ff02::12 is IPv6"},
		{"strict unicast", "global_defs {\n vrrp_strict\n}\n" + minimal + " unicast_peer {\n  10.0.0.2\n }\n}\n", "t.conf:10: ", "strict mode does not allow unicast_peer"},
		{"lower prio repeat", minimal + " garp_lower_prio_repeat -1\n}\n", "t.conf:7: ", "garp_lower_prio_repeat: -1 out of range [0, 1000]"},
		{"lower prio delay", minimal + " garp_lower_prio_delay 1.5\n}\n", "t.conf:7: ", `garp_lower_prio_delay: "1.5" is not an integer`},
		{"global lower prio repeat", "global_defs {\n vrrp_garp_lower_prio_repeat x\n}\n", "t.conf:2: ", `vrrp_garp_lower_prio_repeat: "x" is not an integer`},
		{"startup delay", "global_defs {\n vrrp_startup_delay soon\n}\n", "t.conf:2: ", `vrrp_startup_delay: "soon" is not a number of seconds`},
		{"startup delay range", "global_defs {\n vrrp_startup_delay 5000\n}\n", "t.conf:2: ", "vrrp_startup_delay: 5000 out of range"},
		{"delay after boot", "global_defs {\n vrrp_delay_after_boot -3\n}\n", "t.conf:2: ", "vrrp_delay_after_boot: -3 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parse(t, tc.text)
			wantErr(t, errs, tc.at, tc.msg)
		})
	}
}

// All errors are reported, not just the first.
func TestAllErrorsCollected(t *testing.T) {
	_, errs := parse(t, `vrrp_instance A {
  priority 0
  virtual_router_id 300
  advert_int x
  version 5
}
vrrp_instance B {
`)
	for _, want := range []string{"t.conf:1: ", "t.conf:2: ", "t.conf:3: ", "t.conf:4: ", "t.conf:5: ", "t.conf:7: "} {
		wantErr(t, errs, want, "")
	}
	if len(errs) < 6 {
		t.Errorf("%d errors: %q", len(errs), errs)
	}
}

func TestStrictMode(t *testing.T) {
	c := mustParse(t, minimal+` state MASTER
 priority 100
 preempt_delay 3
 strict_mode
 authentication {
  auth_type PASS
  auth_pass x
 }
}
vrrp_instance OWNER {
 state MASTER
 priority 255
 interface eth0
 virtual_router_id 52
 strict_mode on
 virtual_ipaddress { 10.0.0.11 }
}`)
	in := c.Instances[0]
	if in.State != vrrp.Backup || in.PreemptDelay != 0 || in.AuthType != vrrp.AuthNone {
		t.Errorf("strict not applied: %+v", *in)
	}
	wantWarn(t, c, "t.conf", 9, "preempt_delay", "strict mode")
	wantWarn(t, c, "t.conf", 1, "state", "strict mode")
	if o := c.Instance("OWNER"); o.State != vrrp.Master {
		t.Errorf("owner state %v", o.State)
	}
}

// garp_lower_prio_repeat, garp_lower_prio_delay and lower_prio_no_advert,
// global and per instance, with keepalived's defaults: the global
// vrrp_garp_master_repeat and vrrp_garp_master_delay (not the instance's),
// answering adverts; vrrp_startup_delay and vrrp_delay_after_boot.
func TestLowerPrioAndStartupDelay(t *testing.T) {
	c := mustParse(t, `global_defs {
  vrrp_garp_master_repeat 3
  vrrp_garp_master_delay 7
  vrrp_startup_delay 5.5
  vrrp_delay_after_boot 120
}
`+minimal+`  garp_master_repeat 9
  garp_master_delay 1
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  virtual_ipaddress { 10.0.0.11 }
  garp_lower_prio_repeat 0
  garp_lower_prio_delay 0
  lower_prio_no_advert
}
`)
	g := c.Global
	if g.Garp.LowerPrioRepeat != 3 || g.Garp.LowerPrioDelay != 7*time.Second || g.LowerPrioNoAdvert ||
		g.StartupDelay != 5500*time.Millisecond || g.DelayAfterBoot != 120*time.Second {
		t.Errorf("global %+v", g)
	}
	if in := c.Instance("VI_1"); in.Garp.LowerPrioRepeat != 3 || in.Garp.LowerPrioDelay != 7*time.Second || in.LowerPrioNoAdvert {
		t.Errorf("VI_1 garp %+v no advert %v, want the global lower-priority values", in.Garp, in.LowerPrioNoAdvert)
	}
	if in := c.Instance("VI_2"); in.Garp.LowerPrioRepeat != 0 || in.Garp.LowerPrioDelay != 0 || !in.LowerPrioNoAdvert {
		t.Errorf("VI_2 garp %+v no advert %v", in.Garp, in.LowerPrioNoAdvert)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %+v", c.Warnings)
	}

	c = mustParse(t, `global_defs {
  vrrp_garp_lower_prio_repeat 2
  vrrp_garp_lower_prio_delay 10
  vrrp_lower_prio_no_advert
  vrrp_garp_master_repeat 4
}
`+minimal+`}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  virtual_ipaddress { 10.0.0.11 }
  garp_lower_prio_repeat 6
  lower_prio_no_advert off
}
`)
	if in := c.Instance("VI_1"); in.Garp.LowerPrioRepeat != 2 || in.Garp.LowerPrioDelay != 10*time.Second || !in.LowerPrioNoAdvert {
		t.Errorf("VI_1 garp %+v no advert %v, want the global ones", in.Garp, in.LowerPrioNoAdvert)
	}
	if in := c.Instance("VI_2"); in.Garp.LowerPrioRepeat != 6 || in.Garp.LowerPrioDelay != 10*time.Second || in.LowerPrioNoAdvert {
		t.Errorf("VI_2 garp %+v no advert %v", in.Garp, in.LowerPrioNoAdvert)
	}

	// vrrp_min_garp: one message, no delayed burst, for these too.
	c = mustParse(t, "global_defs {\n vrrp_min_garp\n}\n"+minimal+"}\n")
	if in := c.Instances[0]; in.Garp.LowerPrioRepeat != 1 || in.Garp.LowerPrioDelay != 0 {
		t.Errorf("vrrp_min_garp: garp %+v", in.Garp)
	}
}

// Strict mode, as keepalived: no lower-priority gratuitous repeats and
// lower_prio_no_advert, silently by default, with a warning when the
// instance asked otherwise.
func TestStrictModeLowerPrio(t *testing.T) {
	c := mustParse(t, "global_defs {\n vrrp_strict\n vrrp_garp_lower_prio_repeat 3\n}\n"+minimal+`}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  virtual_ipaddress { 10.0.0.11 }
  garp_lower_prio_repeat 2
  garp_lower_prio_delay 4
  lower_prio_no_advert false
}
`)
	for _, in := range c.Instances {
		if in.Garp.LowerPrioRepeat != 0 || in.Garp.LowerPrioDelay != 0 || !in.LowerPrioNoAdvert {
			t.Errorf("%s: garp %+v no advert %v, want 0, 0, true", in.Name, in.Garp, in.LowerPrioNoAdvert)
		}
	}
	wantWarn(t, c, "t.conf", 16, "garp_lower_prio_repeat", "strict mode")
	wantWarn(t, c, "t.conf", 17, "garp_lower_prio_delay", "strict mode")
	wantWarn(t, c, "t.conf", 18, "lower_prio_no_advert", "strict mode")
	if len(c.Warnings) != 3 {
		t.Errorf("%d warnings, want 3: %+v", len(c.Warnings), c.Warnings)
	}
}

func TestReport(t *testing.T) {
	c, err := Parse("r.conf", []byte("global_defs {\n vrrp_iptables\n smtp_server 10.0.0.1\n}\nvrrp_instance A {\n priority 300\n priorty 5\n}\n"))
	var b bytes.Buffer
	if werr := Report(&b, c, err); werr != nil {
		t.Fatal(werr)
	}
	want := "r.conf:5: vrrp_instance A: missing virtual_router_id\n" +
		"r.conf:5: vrrp_instance A: missing interface\n" +
		"r.conf:6: priority: 300 out of range [1, 255]\n" +
		"r.conf:5: error: virtual_ipaddress: vrrp_instance A: no virtual address; at least one is sensible (keepalived says so too)\n" +
		"r.conf:7: error: priorty: unknown keyword in vrrp_instance (did you mean priority?): keepalived ignores it, and so does xvrrpd\n" +
		"r.conf:2: warning: vrrp_iptables: not implemented by xvrrpd; ignored: keepalived acts on it (firewall rules for the VIPs (strict mode))\n" +
		"accepted without effect on VRRP (e-mail, SNMP, process tuning): smtp_server (r.conf:3)\n" +
		"ignored by xvrrpd, acted on by keepalived (1):\n" +
		"  r.conf:2: vrrp_iptables: firewall rules for the VIPs (strict mode)\n" +
		"configuration invalid: 3 error(s), 2 problem(s), 2 warning(s)\n"
	if b.String() != want {
		t.Errorf("report\n got:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	c, err = Parse("ok.conf", []byte(minimal+"}\n"))
	_ = Report(&b, c, err)
	if b.String() != "configuration ok: 1 vrrp_instance(s), 0 warning(s)\n" {
		t.Errorf("ok report %q", b.String())
	}

	b.Reset()
	c, err = Parse("typo.conf", []byte(minimal+" nopreemt\n}\n"))
	_ = Report(&b, c, err)
	if b.String() != "typo.conf:7: error: nopreemt: unknown keyword in vrrp_instance (did you mean nopreempt?): keepalived ignores it, and so does xvrrpd\n"+
		"configuration check failed: 1 problem(s) (keepalived -t fails on these too; both would run the file), 0 warning(s)\n" {
		t.Errorf("typo report %q", b.String())
	}

	b.Reset()
	c, err = Load("/nonexistent/xvrrp.conf")
	_ = Report(&b, c, err)
	if !strings.HasPrefix(b.String(), "/nonexistent/xvrrp.conf:0: open ") {
		t.Errorf("missing file report %q", b.String())
	}
}

// higher_prio_send_advert: on unless turned off, per instance or for all
// (vrrp_higher_prio_send_advert); keepalived's optional true/false word.
func TestHigherPrioSendAdvert(t *testing.T) {
	inst := func(extra string) string {
		return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n " + extra + "\n virtual_ipaddress { 10.0.0.10/24 }\n}\n"
	}
	for _, c := range []struct {
		conf string
		want bool
	}{
		{inst(""), true},
		{inst("higher_prio_send_advert"), true},
		{inst("higher_prio_send_advert false"), false},
		{"global_defs {\n vrrp_higher_prio_send_advert false\n}\n" + inst(""), false},
		{"global_defs {\n vrrp_higher_prio_send_advert false\n}\n" + inst("higher_prio_send_advert true"), true},
	} {
		cfg, err := Parse("t.conf", []byte(c.conf))
		if err != nil {
			t.Fatalf("%q: %v", c.conf, err)
		}
		if got := cfg.Instances[0].HigherPrioSendAdvert; got != c.want {
			t.Errorf("%q: HigherPrioSendAdvert %v, want %v", c.conf, got, c.want)
		}
	}
}

// TestScriptLines reads script and notify lines as keepalived 2.2.7 does:
// what runs, the user and group, and a warning where that is not what the
// line seems to say. The keepalived column is what it ran or logged for
// the same line (vrrp/track/testdata/scriptlines, where
// TestScriptLinesAsKeepalived runs both).
func TestScriptLines(t *testing.T) {
	for _, tc := range []struct {
		line string // inside vrrp_script chk (script) or VI_1 (notify*)
		ka   string // keepalived 2.2.7's run or message
		// argv, user, group: the command read (argv nil: none);
		// warn: "kind substring" of the line's warning ("" none).
		argv        []string
		user, group string
		warn        string
	}{
		{line: `script /usr/bin/killall -0 haproxy`, ka: "runs killall alone (unquoted-args)",
			argv: []string{"/usr/bin/killall"}, warn: `script runs /usr/bin/killall and ignores the words after the command (-0 haproxy); xvrrpd runs the same: to pass the words as arguments, quote the command with them: script "/usr/bin/killall -0 haproxy"`},
		{line: `script "/usr/bin/killall -0 haproxy"`, ka: "[-0] [haproxy] (quoted-args)",
			argv: []string{"/usr/bin/killall", "-0", "haproxy"}},
		{line: `script '/bin/x a b'`, ka: "[a] [b] (single-quotes)", argv: []string{"/bin/x", "a", "b"}},
		{line: `script "/bin/x 'a b' \"c d\" e"`, ka: "[a b] [c d] [e] (nested-quotes)", argv: []string{"/bin/x", "a b", "c d", "e"}},
		{line: `script /bin/x\ a\ b`, ka: "[a] [b] (escapes)", argv: []string{"/bin/x", "a", "b"}},
		{line: `script /bin/x" a b"`, ka: "[a] [b] (quote-mid-word)", argv: []string{"/bin/x", "a", "b"}},
		{line: `script "/bin/x a" root`, ka: "[a], the user is the user keyword's (user-words)",
			argv: []string{"/bin/x", "a"}, warn: `script runs /bin/x a and ignores the words after the command (root)`},
		{line: `script "/bin/x 'a"`, ka: "missing terminating ', No script set for vrrp_script chk - removing (bad-quote)",
			warn: `corrected missing terminating ' in '/bin/x 'a': keepalived ignores the line`},
		{line: `script ""`, ka: "No script set for vrrp_script chk - removing"},
		{line: `script /bin/x\`, ka: "Missing escape char at end",
			warn: `script a backslash ends the line: keepalived ignores the line`},

		{line: `notify_master /etc/keepalived/notify.sh master`, ka: "Script user 'master' does not exist (unquoted-args)",
			argv: []string{"/etc/keepalived/notify.sh"}, user: "master"},
		{line: `notify_master "/bin/x master"`, ka: "[master] (quoted-args)", argv: []string{"/bin/x", "master"}},
		{line: `notify_master '/bin/x a b' root`, ka: "[a] [b] as root (single-quotes)", argv: []string{"/bin/x", "a", "b"}, user: "root"},
		{line: `notify_master "/bin/x \"a  b\"" root root`, ka: "[a  b] (nested-quotes)", argv: []string{"/bin/x", "a  b"}, user: "root", group: "root"},
		{line: `notify_master "/bin/x a" root root extra words`, ka: "[a]: the words after the group ignored (user-words)",
			argv: []string{"/bin/x", "a"}, user: "root", group: "root",
			warn: `script runs /bin/x a as user root, group root, and ignores the words after the group (extra words)`},
		{line: `notify_master "/bin/x a" ""`, ka: "Script user '' does not exist (empty-user)",
			warn: `script an empty user or group: keepalived finds no such user or group and ignores the script`},
		{line: `notify "/bin/x \x41\102\tc"`, ka: "[AB] [c] (escapes)", argv: []string{"/bin/x", "AB", "c"}},
		{line: `notify_backup /bin/x#y`, ka: "a comment (hash-in-quotes)", argv: []string{"/bin/x"}},
		{line: `notify_fault "/bin/x #y"`, ka: "[#y] (hash-in-quotes)", argv: []string{"/bin/x", "#y"}},
		{line: `notify_stop "/bin/x \"a"`, ka: `String '/bin/x "a': missing terminating " (bad-quote)`,
			warn: `corrected the command missing terminating " in '/bin/x "a': keepalived ignores the script`},
		{line: `notify_master`, ka: "Unable to parse script", warn: `script no command: keepalived ignores the line`},
	} {
		t.Run(tc.line, func(t *testing.T) {
			var conf string
			notify := !strings.HasPrefix(tc.line, "script")
			if notify {
				conf = minimal + "    " + tc.line + "\n}\n"
			} else {
				conf = "vrrp_script chk {\n    " + tc.line + "\n}\n" + minimal + "}\n"
			}
			c, _ := parse(t, conf)
			var got Command
			line := 2
			if notify {
				line = 7
				n := c.Instances[0].Notify
				for _, x := range []Command{n.Master, n.Backup, n.Fault, n.Stop, n.Generic} {
					if x.Cmd != "" {
						got = x
					}
				}
			} else if s := c.Script("chk"); s != nil {
				got = s.Command()
			}
			if !reflect.DeepEqual(got.Argv, tc.argv) || got.User != tc.user || got.Group != tc.group {
				t.Errorf("runs %q as %q:%q, want %q as %q:%q (keepalived 2.2.7: %s)", got.Argv, got.User, got.Group, tc.argv, tc.user, tc.group, tc.ka)
			}
			if tc.argv != nil && got.Cmd == "" {
				t.Errorf("Cmd empty with argv %q", got.Argv)
			}
			var warns []string
			for _, w := range c.Warnings {
				if w.Line == line {
					warns = append(warns, string(w.Kind)+" "+w.Message)
				}
			}
			kw := strings.Fields(tc.line)[0]
			switch {
			case tc.warn == "" && len(warns) > 0:
				t.Errorf("warnings on the line: %q", warns)
			case tc.warn != "":
				kind, sub, _ := strings.Cut(tc.warn, " ")
				found := false
				for _, w := range c.Warnings {
					found = found || w.Line == line && w.Keyword == kw && string(w.Kind) == kind && strings.Contains(w.Message, sub)
				}
				if !found {
					t.Errorf("no warning %q among %q", tc.warn, warns)
				}
			}
		})
	}
}

// check_unicast_src, per instance or for all (vrrp_check_unicast_src).
func TestCheckUnicastSrc(t *testing.T) {
	inst := func(extra string) string {
		return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n unicast_peer { 10.0.0.2 }\n " + extra + "\n virtual_ipaddress { 10.0.0.10/24 }\n}\n"
	}
	for _, c := range []struct {
		conf string
		want bool
	}{
		{inst(""), false},
		{inst("check_unicast_src"), true},
		{"global_defs {\n vrrp_check_unicast_src\n}\n" + inst(""), true},
	} {
		cfg, err := Parse("t.conf", []byte(c.conf))
		if err != nil {
			t.Fatalf("%q: %v", c.conf, err)
		}
		if got := cfg.Instances[0].CheckUnicastSrc; got != c.want {
			t.Errorf("%q: CheckUnicastSrc %v, want %v", c.conf, got, c.want)
		}
		for _, w := range cfg.Warnings {
			if strings.Contains(w.String(), "check_unicast_src") {
				t.Errorf("%q: warning %s", c.conf, w)
			}
		}
	}
}
