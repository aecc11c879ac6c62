package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

// fakeStatus is a daemon status with every kind of metric in it: a MASTER
// with two VIPs (a /32 and a /24 on another device) and trackers of each
// kind, a FAULT instance without VIPs sharing a script, drops, a kernel
// dataplane.
func fakeStatus() control.Status {
	return control.Status{
		Dataplane: "xdp",
		Instances: []control.InstanceStatus{{
			Name: "VI_1", VRID: 51, Interface: "eth0", Version: 2, State: "MASTER",
			Priority: 90, ConfiguredPriority: 110, MasterPriority: 90,
			Since:     time.Unix(1767225600, 500_000_000),
			AdvertInt: time.Second, MasterAdvertInt: time.Second,
			VIPs: []control.VIPStatus{
				{Addr: "192.0.2.100/32", Dev: "eth0", Held: true},
				{Addr: "198.51.100.7/24", Dev: "eth1", Held: false},
			},
			Trackers: []control.TrackerStatus{
				{Kind: "script", Name: "chk_haproxy", State: "ok", Weight: -20},
				{Kind: "interface", Name: "eth1", State: "failed", Weight: -20},
				{Kind: "file", Name: "prio_file", State: "5", Weight: 2},
			},
			Stats: control.InstanceStats{AdvertRcvd: 3, AdvertSent: 1000, BecomeMaster: 2, ReleaseMaster: 1, PriZeroRcvd: 4, PriZeroSent: 5},
		}, {
			Name: "VI_2", VRID: 52, Interface: "eth9", Version: 3, State: "FAULT",
			Priority: 100, ConfiguredPriority: 100,
			Trackers: []control.TrackerStatus{
				{Kind: "script", Name: "chk_haproxy", State: "ok"},
				{Kind: "script", Name: "chk_dns", State: "init"},
			},
		}},
		Received: 1200, Accepted: 1100, QueueFull: 6,
		Drops: map[string]uint64{
			"truncated": 1, "bad_length": 2, "bad_ttl": 3, "bad_type": 4, "interval_mismatch": 5, "bad_interval": 6,
			"addr_count_mismatch": 7, "addr_list_mismatch": 8, "auth_type_mismatch": 9, "auth_data_mismatch": 10,
			"bad_checksum": 11, "rate_limited": 12,
		},
		KernelEvents: 70, KernelEventsLost: 13, GarpBursts: 14,
		Transitions: 3, Reloads: 15, ReloadErrors: 16, HostEvents: 17, WatchDropped: 18,
	}
}

// startServer serves status on a loopback port; the returned channel feeds
// its transition counter. The server is closed at the end of the test.
func startServer(t *testing.T, status func() control.Status) (*Server, chan control.Event) {
	t.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan control.Event)
	s.Serve(status, events, nil)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, events
}

// scrape fetches /metrics as the Prometheus text format and parses it with
// the official parser.
func scrape(t *testing.T, addr net.Addr) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr.String()+Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse scrape: %v\n%s", err, body)
	}
	return fams
}

// series finds the sample of family name with exactly these labels.
func series(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (*dto.Metric, bool) {
	f := fams[name]
	if f == nil {
		return nil, false
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, lp := range m.GetLabel() {
			if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
				continue next
			}
		}
		return m, true
	}
	return nil, false
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// lbl builds a label set from name, value pairs.
func lbl(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

type sample struct {
	name   string
	typ    dto.MetricType
	labels map[string]string
	value  float64
}

func TestScrape(t *testing.T) {
	s, events := startServer(t, fakeStatus)
	for _, e := range []control.Event{
		{Instance: "VI_1", From: "INIT", To: "BACKUP", Reason: "startup"},
		{Instance: "VI_1", From: "BACKUP", To: "MASTER", Reason: "master down timer expired"},
		{Instance: "VI_2", From: "BACKUP", To: "FAULT", Reason: "fault: interface eth9 does not exist"},
		{Instance: "VI_2", From: "FAULT", To: "BACKUP", Reason: "fault recovered: recovered"},
		{Instance: "VI_2", From: "BACKUP", To: "FAULT", Reason: "fault: chk_dns failed"},
	} {
		events <- e
	}
	// The last send returns once the counter goroutine took it; wait for
	// it to be counted too.
	var fams map[string]*dto.MetricFamily
	for deadline := time.Now().Add(5 * time.Second); ; {
		fams = scrape(t, s.Addr())
		if m, ok := series(fams, "xvrrp_transitions_total", lbl("iname", "VI_2", "to", "FAULT", "reason", "fault")); ok && value(m) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("transitions not counted after 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	G, C := dto.MetricType_GAUGE, dto.MetricType_COUNTER
	inst1 := func(kv ...string) map[string]string {
		return lbl(append([]string{"iname", "VI_1", "intf", "eth0", "vrid", "51"}, kv...)...)
	}
	inst2 := func(kv ...string) map[string]string {
		return lbl(append([]string{"iname", "VI_2", "intf", "eth9", "vrid", "52"}, kv...)...)
	}
	daemonWide := lbl("iname", "", "intf", "", "vrid", "")
	want := []sample{
		{"keepalived_up", G, nil, 1},
		// One series per VIP, the VIP's device in intf, keepalived's
		// address format; an instance without VIPs: its interface, "".
		{"keepalived_vrrp_state", G, lbl("iname", "VI_1", "intf", "eth0", "vrid", "51", "ip_address", "192.0.2.100"), 2},
		{"keepalived_vrrp_state", G, lbl("iname", "VI_1", "intf", "eth1", "vrid", "51", "ip_address", "198.51.100.7/24"), 2},
		{"keepalived_vrrp_state", G, lbl("iname", "VI_2", "intf", "eth9", "vrid", "52", "ip_address", ""), 3},
		{"keepalived_advertisements_received_total", C, inst1(), 3},
		{"keepalived_advertisements_sent_total", C, inst1(), 1000},
		{"keepalived_become_master_total", C, inst1(), 2},
		{"keepalived_release_master_total", C, inst1(), 1},
		{"keepalived_priority_zero_received_total", C, inst1(), 4},
		{"keepalived_priority_zero_sent_total", C, inst1(), 5},
		{"keepalived_advertisements_sent_total", C, inst2(), 0},
		// Daemon-wide error counters: sums of drop reasons.
		{"keepalived_packet_length_errors_total", C, daemonWide, 1 + 2},
		{"keepalived_advertisements_interval_errors_total", C, daemonWide, 5 + 6},
		{"keepalived_ip_ttl_errors_total", C, daemonWide, 3},
		{"keepalived_invalid_type_received_total", C, daemonWide, 4},
		{"keepalived_address_list_errors_total", C, daemonWide, 7 + 8},
		{"keepalived_authentication_invalid_total", C, daemonWide, 0},
		{"keepalived_authentication_mismatch_total", C, daemonWide, 9},
		{"keepalived_authentication_failure_total", C, daemonWide, 10},
		// Once per script, GOOD 1, BAD or no result 0.
		{"keepalived_script_status", G, lbl("name", "chk_haproxy"), 1},
		{"keepalived_script_status", G, lbl("name", "chk_dns"), 0},

		{"xvrrp_instance_state", G, inst1("state", "MASTER"), 1},
		{"xvrrp_instance_state", G, inst1("state", "BACKUP"), 0},
		{"xvrrp_instance_state", G, inst1("state", "INIT"), 0},
		{"xvrrp_instance_state", G, inst1("state", "FAULT"), 0},
		{"xvrrp_instance_state", G, inst2("state", "FAULT"), 1},
		{"xvrrp_effective_priority", G, inst1(), 90},
		{"xvrrp_base_priority", G, inst1(), 110},
		{"xvrrp_master_priority", G, inst1(), 90},
		{"xvrrp_master_priority", G, inst2(), 0},
		{"xvrrp_last_transition_timestamp_seconds", G, inst1(), 1767225600.5},
		{"xvrrp_advert_interval_seconds", G, inst1(), 1},
		{"xvrrp_master_advert_interval_seconds", G, inst1(), 1},
		{"xvrrp_vip_held", G, lbl("iname", "VI_1", "address", "192.0.2.100", "dev", "eth0"), 1},
		{"xvrrp_vip_held", G, lbl("iname", "VI_1", "address", "198.51.100.7/24", "dev", "eth1"), 0},
		{"xvrrp_tracker_ok", G, lbl("iname", "VI_1", "kind", "script", "name", "chk_haproxy"), 1},
		{"xvrrp_tracker_ok", G, lbl("iname", "VI_1", "kind", "interface", "name", "eth1"), 0},
		{"xvrrp_tracker_ok", G, lbl("iname", "VI_2", "kind", "script", "name", "chk_dns"), 0},
		{"xvrrp_track_file_value", G, lbl("iname", "VI_1", "name", "prio_file"), 5},
		{"xvrrp_dataplane_info", G, lbl("dataplane", "xdp"), 1},
		{"xvrrp_drops_total", C, lbl("reason", "bad_checksum", "dataplane", "xdp"), 11},
		{"xvrrp_drops_total", C, lbl("reason", "rate_limited", "dataplane", "xdp"), 12},
		{"xvrrp_drops_total", C, lbl("reason", "auth_data_mismatch", "dataplane", "xdp"), 10},
		{"xvrrp_packets_received_total", C, lbl("dataplane", "xdp"), 1200},
		{"xvrrp_packets_accepted_total", C, lbl("dataplane", "xdp"), 1100},
		{"xvrrp_event_queue_full_total", C, nil, 6},
		{"xvrrp_ringbuf_events_total", C, nil, 70},
		{"xvrrp_ringbuf_lost_total", C, nil, 13},
		{"xvrrp_gratuitous_bursts_total", C, nil, 14},
		{"xvrrp_host_events_total", C, nil, 17},
		{"xvrrp_reloads_total", C, lbl("result", "ok"), 15},
		{"xvrrp_reloads_total", C, lbl("result", "failed"), 16},
		{"xvrrp_watch_dropped_total", C, nil, 18},
		{"xvrrp_transitions_total", C, lbl("iname", "VI_1", "to", "BACKUP", "reason", "startup"), 1},
		{"xvrrp_transitions_total", C, lbl("iname", "VI_1", "to", "MASTER", "reason", "master_down_timer_expired"), 1},
		{"xvrrp_transitions_total", C, lbl("iname", "VI_2", "to", "BACKUP", "reason", "fault_recovered"), 1},
		{"xvrrp_transitions_total", C, lbl("iname", "VI_2", "to", "FAULT", "reason", "fault"), 2},
	}
	for _, w := range want {
		f := fams[w.name]
		if f == nil {
			t.Errorf("%s: missing", w.name)
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s: type %v, want %v", w.name, f.GetType(), w.typ)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s: no HELP", w.name)
		}
		m, ok := series(fams, w.name, w.labels)
		if !ok {
			t.Errorf("%s%v: no such series; have:\n%v", w.name, w.labels, f.GetMetric())
			continue
		}
		if v := value(m); v != w.value {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, v, w.value)
		}
	}
	// Series counts: nothing extra per family checked above.
	for name, n := range map[string]int{
		"keepalived_vrrp_state":          3,
		"keepalived_script_status":       2,
		"xvrrp_instance_state":           8,
		"xvrrp_vip_held":                 2,
		"xvrrp_tracker_ok":               4,
		"xvrrp_drops_total":              len(fakeStatus().Drops),
		"xvrrp_dataplane_info":           1,
		"xvrrp_build_info":               1,
		"keepalived_ip_ttl_errors_total": 1,
	} {
		if got := len(fams[name].GetMetric()); got != n {
			t.Errorf("%s: %d series, want %d", name, got, n)
		}
	}
	// Build info: the Go version of this binary.
	if m, ok := series(fams, "xvrrp_build_info", nil); ok || fams["xvrrp_build_info"] == nil {
		t.Errorf("xvrrp_build_info without labels: %v", m)
	} else {
		got := map[string]string{}
		for _, lp := range fams["xvrrp_build_info"].GetMetric()[0].GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if got["goversion"] != runtime.Version() || got["version"] == "" {
			t.Errorf("xvrrp_build_info labels %v, want goversion %s and a version", got, runtime.Version())
		}
	}
	// Go runtime and process collectors are there.
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "promhttp_metric_handler_requests_total"} {
		if fams[name] == nil {
			t.Errorf("%s: missing", name)
		}
	}
}

// TestNamingConventions: every family of ours has a HELP text, counters end
// in _total and nothing else does, and a unit suffix is a base unit.
func TestNamingConventions(t *testing.T) {
	s, _ := startServer(t, fakeStatus)
	fams := scrape(t, s.Addr())
	for name, f := range fams {
		if !strings.HasPrefix(name, "keepalived_") && !strings.HasPrefix(name, "xvrrp_") {
			continue
		}
		if f.GetHelp() == "" {
			t.Errorf("%s: no HELP", name)
		}
		if total := strings.HasSuffix(name, "_total"); total != (f.GetType() == dto.MetricType_COUNTER) {
			t.Errorf("%s: type %v: _total goes with counters only", name, f.GetType())
		}
		for _, bad := range []string{"_ms", "_milliseconds", "_msec", "_usec", "_bytes_total_total"} {
			if strings.Contains(name, bad) {
				t.Errorf("%s: use base units", name)
			}
		}
	}
}

// keepalivedExporterMetrics are the metrics of the maintained keepalived
// exporter, github.com/mehdy/keepalived-exporter (formerly
// cafebazaar/keepalived-exporter), as declared in its
// internal/collector/collector.go, fillMetrics (commit 5aedbfb, 2026), with
// their types and label names. gen2brain/keepalived_exporter uses other
// names (keepalived_vrrp_advert_rcvd, ... with {name,intf,vrid,state}) and
// is not followed.
var keepalivedExporterMetrics = []struct {
	name   string
	typ    dto.MetricType
	labels []string
}{
	{"keepalived_up", dto.MetricType_GAUGE, nil},
	{"keepalived_vrrp_state", dto.MetricType_GAUGE, []string{"iname", "intf", "vrid", "ip_address"}},
	{"keepalived_vrrp_excluded_state", dto.MetricType_GAUGE, []string{"iname", "intf", "vrid", "ip_address"}},
	{"keepalived_exporter_check_script_status", dto.MetricType_GAUGE, []string{"iname", "intf", "vrid", "ip_address"}},
	{"keepalived_gratuitous_arp_delay_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_advertisements_received_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_advertisements_sent_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_become_master_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_release_master_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_packet_length_errors_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_advertisements_interval_errors_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_ip_ttl_errors_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_invalid_type_received_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_address_list_errors_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_authentication_invalid_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_authentication_mismatch_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_authentication_failure_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_priority_zero_received_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_priority_zero_sent_total", dto.MetricType_COUNTER, []string{"iname", "intf", "vrid"}},
	{"keepalived_script_status", dto.MetricType_GAUGE, []string{"name"}},
	{"keepalived_script_state", dto.MetricType_GAUGE, []string{"name"}},
}

// notExported are the exporter's metrics xvrrpd does not have, and why
// (doc.go and docs/monitoring/README.md say the same).
var notExported = map[string]string{
	"keepalived_vrrp_excluded_state":          "excluded VIPs are not told apart in the status: they are in keepalived_vrrp_state",
	"keepalived_exporter_check_script_status": "the exporter's own --check-script, not keepalived's",
	"keepalived_gratuitous_arp_delay_total":   "a configuration value, not in the status",
	"keepalived_script_state":                 "whether a script runs at this moment is not in the status",
}

func TestKeepalivedExporterNames(t *testing.T) {
	s, _ := startServer(t, fakeStatus)
	fams := scrape(t, s.Addr())
	listed := map[string]bool{}
	for _, w := range keepalivedExporterMetrics {
		listed[w.name] = true
		f := fams[w.name]
		if why, skip := notExported[w.name]; skip {
			if f != nil {
				t.Errorf("%s: exported, but listed as not exported (%s)", w.name, why)
			}
			continue
		}
		if f == nil {
			t.Errorf("%s: not exported", w.name)
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s: type %v, the exporter's is %v", w.name, f.GetType(), w.typ)
		}
		want := append([]string(nil), w.labels...)
		sort.Strings(want)
		for _, m := range f.GetMetric() {
			var got []string
			for _, lp := range m.GetLabel() {
				got = append(got, lp.GetName())
			}
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: labels %v, the exporter's are %v", w.name, got, want)
				break
			}
		}
	}
	for name := range fams {
		if strings.HasPrefix(name, "keepalived_") && !listed[name] {
			t.Errorf("%s: a keepalived_ name the exporter does not have: name it xvrrp_", name)
		}
	}
	for name := range KeepalivedErrorCounters {
		if !listed[name] {
			t.Errorf("KeepalivedErrorCounters: %s is not an exporter metric", name)
		}
	}
}

// TestStateCodes pins the keepalived_vrrp_state numbering of States
// (keepalived's VRRP_STATE_INIT/BACK/MAST/FAULT, the exporter's
// VRRPStates: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT).
func TestStateCodes(t *testing.T) {
	for want, s := range States {
		if got, ok := control.KeepalivedState(s); !ok || got != want {
			t.Errorf("%s: %d, %v; want %d", s, got, ok, want)
		}
	}
	if States != [...]string{"INIT", "BACKUP", "MASTER", "FAULT"} {
		t.Errorf("States %v", States)
	}
}

func TestReasonLabel(t *testing.T) {
	for in, want := range map[string]string{
		"startup":                       "startup",
		"startup as address owner":      "startup_as_address_owner",
		"master down timer expired":     "master_down_timer_expired",
		"higher priority advertisement": "higher_priority_advertisement",
		"equal priority advertisement from a greater address": "equal_priority_advertisement_from_a_greater_address",
		"fault: interface eth9 does not exist":                "fault",
		"fault recovered: recovered":                          "fault_recovered",
		"sync group: VI_2 MASTER":                             "sync_group",
		"shutdown":                                            "shutdown",
		"":                                                    "unknown",
		"  ":                                                  "unknown",
	} {
		if got := ReasonLabel(in); got != want {
			t.Errorf("ReasonLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeepalivedAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":           "192.0.2.1",
		"192.0.2.1/32":        "192.0.2.1",
		"10.1.0.1/24":         "10.1.0.1/24",
		"2001:db8::1":         "2001:db8::1",
		"2001:db8::1/128":     "2001:db8::1",
		"2001:db8:0::1/64":    "2001:db8::1/64",
		"fe80::1%eth0":        "fe80::1%eth0",
		"not an address/x":    "not an address/x",
		"2001:DB8::A/128":     "2001:db8::a",
		"198.51.100.255/31":   "198.51.100.255/31",
		"0.0.0.0/0":           "0.0.0.0/0",
		"192.0.2.1/33":        "192.0.2.1/33",
		"192.0.2.1 dev eth0":  "192.0.2.1 dev eth0",
		"192.0.2.001/32":      "192.0.2.001/32",
		"::ffff:192.0.2.1/96": "::ffff:192.0.2.1/96",
	} {
		if got := KeepalivedAddr(in); got != want {
			t.Errorf("KeepalivedAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPedantic: what Collect sends agrees with Describe, types and label
// sets are consistent (the pedantic registry checks every metric).
func TestPedantic(t *testing.T) {
	c := NewCollector(fakeStatus)
	c.Observe(control.Event{Instance: "VI_1", To: "MASTER", Reason: "startup as address owner"})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("pedantic gather: %v", err)
	}
	// An empty status (before the daemon's first snapshot) is fine too.
	reg = prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(func() control.Status { return control.Status{} }))
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("pedantic gather of an empty status: %v", err)
	}
}

// TestBadLabelValue: a name that is not UTF-8 spoils its own series only;
// the scrape serves the rest, and nothing panics.
func TestBadLabelValue(t *testing.T) {
	st := fakeStatus()
	st.Instances[1].Name = "VI_\xff"
	s, _ := startServer(t, func() control.Status { return st })
	fams := scrape(t, s.Addr())
	if _, ok := series(fams, "xvrrp_effective_priority", lbl("iname", "VI_1", "intf", "eth0", "vrid", "51")); !ok {
		t.Error("VI_1's series missing when VI_2's name is not UTF-8")
	}
}

// TestScrapeReadsStatusEachTime: nothing is cached between scrapes.
func TestScrapeReadsStatusEachTime(t *testing.T) {
	var mu sync.Mutex
	st := fakeStatus()
	s, _ := startServer(t, func() control.Status { mu.Lock(); defer mu.Unlock(); return st })
	fams := scrape(t, s.Addr())
	if m, _ := series(fams, "xvrrp_host_events_total", nil); value(m) != 17 {
		t.Fatalf("host events %v, want 17", value(m))
	}
	mu.Lock()
	st.HostEvents = 42
	st.Dataplane = "socket"
	mu.Unlock()
	fams = scrape(t, s.Addr())
	if m, _ := series(fams, "xvrrp_host_events_total", nil); value(m) != 42 {
		t.Errorf("host events %v after a change, want 42", value(m))
	}
	if _, ok := series(fams, "xvrrp_dataplane_info", lbl("dataplane", "socket")); !ok {
		t.Error("dataplane_info did not follow the status")
	}
}

func TestListenError(t *testing.T) {
	s, _ := startServer(t, fakeStatus)
	_, err := Listen(s.Addr().String())
	if err == nil || !strings.Contains(err.Error(), s.Addr().String()) {
		t.Errorf("Listen on a busy address: %v, want an error naming it", err)
	}
	if _, err := Listen("no-such-host.invalid:99999"); err == nil {
		t.Error("Listen on an invalid address: no error")
	}
}

// TestClose: Close stops serving, ends the watch goroutine (a channel
// nobody closes included) and waits; a second Close and a Close without
// Serve are fine.
func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan control.Event)
	s.Serve(fakeStatus, events, nil)
	// An idle keep-alive connection must not hold Close up.
	resp, err := http.Get("http://" + s.Addr().String() + Path)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(ShutdownTimeout + 5*time.Second):
		t.Fatal("Close did not return")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get("http://" + s.Addr().String() + Path); err == nil {
		t.Error("still answering after Close")
	}
	http.DefaultClient.CloseIdleConnections()
	// Serve after Close does nothing.
	s.Serve(fakeStatus, events, nil)

	s2, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := s2.Addr().String()
	if err := s2.Close(); err != nil {
		t.Errorf("Close without Serve: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("listener still open after Close without Serve")
	}

	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left (before: %d):\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEventsClosed: the watch goroutine ends when the daemon closes the
// channel (its context ended), and the server keeps serving.
func TestEventsClosed(t *testing.T) {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan control.Event, 1)
	events <- control.Event{Instance: "VI_1", To: "BACKUP", Reason: "startup"}
	close(events)
	s.Serve(fakeStatus, events, nil)
	defer s.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		fams := scrape(t, s.Addr())
		if _, ok := series(fams, "xvrrp_transitions_total", lbl("iname", "VI_1", "to", "BACKUP", "reason", "startup")); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("event before the close not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := waitClosed(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// waitClosed closes s within ctx.
func waitClosed(ctx context.Context, s *Server) error {
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errors.New("Close did not return")
	}
}

// TestNotFound: only Path is served.
func TestNotFound(t *testing.T) {
	s, _ := startServer(t, fakeStatus)
	resp, err := http.Get("http://" + s.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /: %s, want 404", resp.Status)
	}
}
