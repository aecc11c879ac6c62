package config

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// The files in testdata/seed are the project's reference configurations
// (tutorial keepalived.conf files users bring unchanged). Each must load
// with no error.
func TestSeedConfigsLoad(t *testing.T) {
	files, err := filepath.Glob("testdata/seed/*.conf")
	if err != nil || len(files) != 9 {
		t.Fatalf("seed fixtures: %v %q", err, files)
	}
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(c.Instances) != 1 {
			t.Errorf("%s: %d instances", f, len(c.Instances))
			continue
		}
		in := c.Instances[0]
		if in.Name != "VI_1" || in.VRID != 51 || in.AdvertInt != time.Second || in.Version != vrrp.V2 ||
			!in.Preempt || in.Family() != IPv4 || in.McastGroup.String() == "" {
			t.Errorf("%s: %+v", f, *in)
		}
	}
}

func seed(t *testing.T, name string) *Config {
	t.Helper()
	c, err := Load(filepath.Join("testdata/seed", name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSeedHAProxy(t *testing.T) {
	c := seed(t, "000-haproxy1.conf")
	in := c.Instances[0]
	f := "testdata/seed/000-haproxy1.conf"
	if in.State != vrrp.Backup || in.Interface != "eth0" || in.Priority != 100 || in.File != f || in.Line != 8 {
		t.Errorf("instance %+v", *in)
	}
	if in.AuthType != vrrp.AuthPass || string(in.AuthPass[:]) != "mysecret" {
		t.Errorf("auth %v %q", in.AuthType, in.AuthPass)
	}
	wantWarn(t, c, f, 16, "auth_pass", `truncated to "mysecret"`)
	if len(in.VIPs) != 1 || in.VIPs[0].Prefix != netip.MustParsePrefix("192.168.1.100/24") || in.VIPs[0].Dev != "eth0" {
		t.Errorf("VIPs %+v", in.VIPs)
	}
	s := c.Script("chk_haproxy")
	if s == nil || s.Cmd != "/usr/local/bin/check_haproxy.sh" || s.Interval != 2*time.Second || s.Timeout != 2*time.Second ||
		s.Weight != -20 || s.Fall != 2 || s.Rise != 2 {
		t.Errorf("script %+v", s)
	}
	if len(in.TrackScripts) != 1 || in.TrackScripts[0].Name != "chk_haproxy" || in.TrackScripts[0].WeightSet {
		t.Errorf("track_script %+v", in.TrackScripts)
	}
	if got := seed(t, "000-haproxy2.conf").Instances[0]; got.State != vrrp.Master || got.Priority != 90 {
		t.Errorf("haproxy2: %v %d", got.State, got.Priority)
	}
}

func TestSeedClassicPair(t *testing.T) {
	m := seed(t, "001-master.conf")
	b := seed(t, "001-backup.conf")
	if m.Instances[0].State != vrrp.Master || m.Instances[0].Priority != 101 ||
		b.Instances[0].State != vrrp.Backup || b.Instances[0].Priority != 100 {
		t.Errorf("pair: %+v / %+v", *m.Instances[0], *b.Instances[0])
	}
	g := m.Global
	if g.RouterID != "LVS_DEVEL" || !reflect.DeepEqual(g.NotificationEmail, []string{"admin@example.com"}) ||
		g.SMTPServer != "10.1.1.100" || g.SMTPConnectTimeout != 30*time.Second {
		t.Errorf("global %+v", g)
	}
	f := "testdata/seed/001-master.conf"
	for _, w := range []struct {
		line int
		kw   string
	}{{4, "notification_email"}, {7, "notification_email_from"}, {8, "smtp_server"}, {9, "smtp_connect_timeout"}} {
		wantWarn(t, m, f, w.line, w.kw, "accepted but unused")
	}
	in := m.Instances[0]
	if string(in.AuthPass[:4]) != "1111" || in.AuthPass[4] != 0 || len(in.VIPs) != 1 || in.VIPs[0].Prefix != netip.MustParsePrefix("10.1.1.30/32") {
		t.Errorf("auth/VIP %q %+v", in.AuthPass, in.VIPs)
	}
	if in.McastGroup != DefaultMcastGroup4 || in.Garp != (Garp{5 * time.Second, 5, 0, 1, 5, 5 * time.Second}) {
		t.Errorf("defaults: group %s garp %+v", in.McastGroup, in.Garp)
	}

	// A track_script with no weight: the script's weight 0 (failure = FAULT).
	mc := seed(t, "001-master-check.conf")
	s := mc.Script("check_haproxy")
	if s == nil || s.Cmd != "/sbin/service haproxy status" || s.Weight != 0 || s.Interval != 2*time.Second {
		t.Errorf("script %+v", s)
	}
}

func TestSeedNotify(t *testing.T) {
	c := seed(t, "003-lb-master.conf")
	g := c.Global
	if g.ScriptUser != "root" || !g.EnableScriptSecurity || g.RouterID != "LB_MASTER" {
		t.Errorf("global %+v", g)
	}
	n := c.Instances[0].Notify
	if n.Master.Cmd != "/etc/keepalived/notify.sh master" || n.Backup.Cmd != "/etc/keepalived/notify.sh backup" ||
		n.Fault.Cmd != "/etc/keepalived/notify.sh fault" || n.Stop.Cmd != "" || n.Master.User != "" {
		t.Errorf("notify %+v", n)
	}
	if s := c.Script("chk_haproxy"); s == nil || s.Weight != -2 || s.Fall != 3 || s.Rise != 2 {
		t.Errorf("script %+v", s)
	}
	if len(c.Warnings) != 1 {
		t.Errorf("warnings %+v", c.Warnings)
	}
}

func TestSeedLVS(t *testing.T) {
	c := seed(t, "004-lvs-master.conf")
	f := "testdata/seed/004-lvs-master.conf"
	g := c.Global
	if !g.Strict || !g.SkipCheckAdvAddr || g.McastGroup4 != netip.MustParseAddr("225.0.0.18") || g.GarpInterval != 0 || g.RouterID != "LVS01" {
		t.Errorf("global %+v", g)
	}
	wantWarn(t, c, f, 14, "vrrp_iptables", "not implemented by xvrrpd")
	wantWarn(t, c, f, 53, "virtual_server", "block ignored: keepalived acts on it (LVS")
	// keepalived -t reports these too (recorded in testdata/corpus).
	wantWarn(t, c, f, 11, "vrrp_garp_interval", "0 is invalid")
	wantWarn(t, c, f, 64, "nb_get_retry", "unknown keyword in TCP_CHECK")
	in := c.Instances[0]
	if in.Interface != "ens33" || in.McastGroup != netip.MustParseAddr("225.0.0.18") {
		t.Errorf("instance %+v", *in)
	}
	// vrrp_strict, as keepalived 2.2.7 applies it (checked on the wire):
	// no authentication, and state MASTER below 255 starts as BACKUP.
	if in.AuthType != vrrp.AuthNone || in.State != vrrp.Backup || in.Priority != 100 {
		t.Errorf("strict adjustments: auth %v state %v", in.AuthType, in.State)
	}
	wantWarn(t, c, f, 31, "authentication", "strict mode")
	wantWarn(t, c, f, 25, "state", "strict mode")
	want := []VIP{
		{Pos: Pos{f, 36}, Prefix: netip.MustParsePrefix("192.168.200.100/32")},
		{Pos: Pos{f, 37}, Prefix: netip.MustParsePrefix("192.168.200.101/24"), Dev: "eth1"},
		{Pos: Pos{f, 38}, Prefix: netip.MustParsePrefix("192.168.200.102/24"), Dev: "eth2", Label: "eth2:1"},
	}
	if !reflect.DeepEqual(in.VIPs, want) {
		t.Errorf("VIPs\n got %+v\nwant %+v", in.VIPs, want)
	}
	if len(in.TrackInterfaces) != 2 || in.TrackInterfaces[0].Name != "eth0" || in.TrackInterfaces[1].Name != "eth1" || in.TrackInterfaces[1].Weight != 0 {
		t.Errorf("track_interface %+v", in.TrackInterfaces)
	}
	if s := c.Script("check_nginx"); s == nil || s.Interval != 5*time.Second || s.Weight != -30 {
		t.Errorf("script %+v", s)
	}
	if in.Notify.Stop.Cmd != "/opt/keepalive.sh stop" {
		t.Errorf("notify_stop %+v", in.Notify.Stop)
	}
	for _, w := range c.Warnings {
		if w.File != f || w.Line == 0 || w.Keyword == "" {
			t.Errorf("warning without position or keyword: %+v", w)
		}
		// One warning for the block, none from inside it but the
		// keywords keepalived's checker does not know.
		if strings.Contains(w.Keyword, "real_server") || w.Line > 53 && w.Kind != KindUnknown {
			t.Errorf("warning from inside the LVS block: %+v", w)
		}
	}
	if got := c.InterfaceNames(); !reflect.DeepEqual(got, []string{"ens33", "eth0", "eth1", "eth2"}) {
		t.Errorf("InterfaceNames %q", got)
	}
	c.RenameInterfaces(map[string]string{"ens33": "xv0", "eth2": "xv2", "eth0": "xv9"})
	if in.Interface != "xv0" || in.VIPs[2].Dev != "xv2" || in.VIPs[2].Label != "xv2:1" || in.VIPs[1].Dev != "eth1" ||
		in.TrackInterfaces[0].Name != "xv9" {
		t.Errorf("renamed %+v", *in)
	}
	if got := c.InterfaceNames(); !reflect.DeepEqual(got, []string{"eth1", "xv0", "xv2", "xv9"}) {
		t.Errorf("InterfaceNames after rename %q", got)
	}
}
