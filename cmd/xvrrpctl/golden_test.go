package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// manyInstances is a status of n instances, as a busy edge pair has.
func manyInstances(n int) control.Status {
	st := control.Status{Dataplane: "xdp", Drops: map[string]uint64{}, ConfigFile: "/etc/keepalived/keepalived.conf"}
	for i := range n {
		in := control.InstanceStatus{
			Name: fmt.Sprintf("VI_%d", 100+i), VRID: uint8(100 + i), Interface: fmt.Sprintf("vlan%d", 100+i%5), Version: 3,
			State: "BACKUP", WantState: "BACKUP", Priority: 100, ConfiguredPriority: 100,
			Master: fmt.Sprintf("10.0.%d.2", i), MasterPriority: 150, AdvertInt: time.Second, MasterAdvertInt: time.Second,
			Since:  testNow.Add(-time.Duration(i) * 7 * time.Minute),
			Reason: "higher priority advert",
			VIPs:   []control.VIPStatus{{Addr: fmt.Sprintf("10.0.%d.1/24", i), Dev: fmt.Sprintf("vlan%d", 100+i%5)}},
		}
		if i%2 == 0 {
			in.State, in.WantState, in.Priority, in.Master, in.MasterPriority = "MASTER", "MASTER", 200, fmt.Sprintf("10.0.%d.3", i), 200
			in.ConfiguredPriority, in.HoldsVIPs, in.VIPs[0].Held, in.Reason = 200, true, true, "preempting a lower priority master"
		}
		st.Instances = append(st.Instances, in)
	}
	return st
}

func TestStatusGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		st   control.Status
		args []string
	}{
		{"status.golden", sampleStatus(), []string{"status"}},
		{"status-one.golden", control.Status{Dataplane: "socket", Instances: sampleStatus().Instances[:1]}, []string{"status"}},
		{"status-50.golden", manyInstances(50), []string{"status"}},
		{"status-json.golden", sampleStatus(), []string{"status", "--json"}},
		{"stats.golden", sampleStatus(), []string{"stats"}},
		{"stats-none.golden", manyInstances(2), []string{"stats"}},
		{"stats-json.golden", sampleStatus(), []string{"stats", "--json"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := serve(t, &fakeDaemon{status: tc.st})
			code, out, errOut := ctl(append([]string{"--run-dir", dir}, tc.args...)...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			golden(t, tc.file, out)
		})
	}
}

// TestStatusTrailingSpace: no line of the tables ends in padding.
func TestStatusTrailingSpace(t *testing.T) {
	dir := serve(t, &fakeDaemon{status: sampleStatus()})
	for _, cmd := range []string{"status", "stats"} {
		_, out, _ := ctl("--run-dir", dir, cmd)
		for i, l := range strings.Split(out, "\n") {
			if strings.TrimRight(l, " ") != l {
				t.Errorf("%s line %d ends in spaces: %q", cmd, i+1, l)
			}
		}
	}
}

// TestStatusRaw: --raw prints the daemon's status as the socket answers
// it, one line (the e2e tests and scripts decode it into control.Status).
func TestStatusRaw(t *testing.T) {
	want := sampleStatus()
	dir := serve(t, &fakeDaemon{status: want})
	code, out, errOut := ctl("--run-dir", dir, "status", "--raw")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var got control.Status
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not a status: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status --raw:\n got %+v\nwant %+v", got, want)
	}
	if !strings.HasSuffix(out, "}\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("want one JSON line, got %q", out)
	}
}

// TestGlobalJSON: `xvrrpctl --json CMD` is `xvrrpctl CMD --json`.
func TestGlobalJSON(t *testing.T) {
	dir := serve(t, &fakeDaemon{status: sampleStatus()})
	for _, cmd := range []string{"status", "stats"} {
		_, a, _ := ctl("--run-dir", dir, "--json", cmd)
		_, b, _ := ctl("--run-dir", dir, cmd, "--json")
		if a != b || !strings.HasPrefix(a, "[") && !strings.HasPrefix(a, "{") {
			t.Errorf("%s: --json before and after the command differ:\n%s\n%s", cmd, a, b)
		}
	}
}

// keepalived 2.2's JSON dump, vrrp_json.c: the names and JSON types of
// the "data" fields (all it may write) and of the "stats" fields.
var (
	keepalivedData = map[string]string{
		"iname": "string", "dont_track_primary": "uint", "skip_check_adv_addr": "uint", "strict_mode": "uint",
		"vmac_ifname": "string", "ifp_ifname": "string", "master_priority": "uint", "last_transition": "number",
		"garp_delay": "number", "garp_refresh": "uint", "garp_rep": "uint", "garp_refresh_rep": "uint",
		"garp_lower_prio_delay": "uint", "garp_lower_prio_rep": "uint", "lower_prio_no_advert": "uint",
		"higher_prio_send_advert": "uint", "vrid": "uint", "base_priority": "uint", "effective_priority": "uint",
		"vipset": "bool", "promote_secondaries": "bool", "adver_int": "number", "master_adver_int": "number",
		"accept": "uint", "nopreempt": "bool", "preempt_delay": "uint", "state": "uint", "wantstate": "uint",
		"version": "uint", "smtp_alert": "bool", "notify_deleted": "bool",
		"script_backup": "string", "script_master": "string", "script_fault": "string", "script_stop": "string",
		"script_deleted": "string", "script": "string", "script_master_rx_lower_pri": "string",
		"vips": "strings", "evips": "strings", "vroutes": "strings", "vrules": "strings",
		"track_ifp": "strings", "track_script": "strings", "track_process": "strings",
		"auth_type": "uint", "auth_data": "string",
	}
	// What tools read (the exporters, VyOS's op-mode): always written.
	keepalivedDataRequired = []string{"iname", "ifp_ifname", "master_priority", "last_transition", "vrid",
		"base_priority", "effective_priority", "vipset", "adver_int", "master_adver_int", "state", "wantstate", "version"}
	keepalivedStats = []string{"advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err",
		"advert_interval_err", "ip_ttl_err", "invalid_type_rcvd", "addr_list_err", "invalid_authtype",
		"authtype_mismatch", "auth_failure", "pri_zero_rcvd", "pri_zero_sent"}
)

// TestStatusJSONSchema checks `status --json` against keepalived's dump:
// an array of objects with "data" and "stats" holding only keepalived's
// names with keepalived's JSON types, state codes 0 INIT, 1 BACKUP,
// 2 MASTER, 3 FAULT, VIPs as "ADDR dev IFACE", last_transition with six
// decimals; xvrrp's own fields only under "xvrrp".
func TestStatusJSONSchema(t *testing.T) {
	st := sampleStatus()
	st.Instances = append(st.Instances, control.InstanceStatus{Name: "VI_4", VRID: 54, Interface: "eth0", State: "INIT"})
	dir := serve(t, &fakeDaemon{status: st})
	code, out, errOut := ctl("--run-dir", dir, "status", "--json")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	d := json.NewDecoder(strings.NewReader(out))
	d.UseNumber()
	var dump []map[string]any
	if err := d.Decode(&dump); err != nil {
		t.Fatalf("not an array of objects: %v\n%s", err, out)
	}
	if len(dump) != len(st.Instances) {
		t.Fatalf("%d elements, want %d", len(dump), len(st.Instances))
	}
	wantState := map[string]int64{"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}
	for i, el := range dump {
		in := st.Instances[i]
		for k := range el {
			if k != "data" && k != "stats" && k != "xvrrp" {
				t.Errorf("%s: key %q beside data, stats and xvrrp", in.Name, k)
			}
		}
		data, _ := el["data"].(map[string]any)
		stats, _ := el["stats"].(map[string]any)
		if data == nil || stats == nil {
			t.Fatalf("%s: data or stats missing or not objects: %v", in.Name, el)
		}
		if x, ok := el["xvrrp"].(map[string]any); !ok || x["name"] != in.Name {
			t.Errorf("%s: xvrrp object %v, want the instance's status", in.Name, el["xvrrp"])
		}
		for k, v := range data {
			typ, ok := keepalivedData[k]
			if !ok {
				t.Errorf("%s: data.%s is not one of keepalived's fields", in.Name, k)
				continue
			}
			if !jsonType(v, typ) {
				t.Errorf("%s: data.%s = %v (%T), want keepalived's type %s", in.Name, k, v, v, typ)
			}
		}
		for _, k := range keepalivedDataRequired {
			if _, ok := data[k]; !ok {
				t.Errorf("%s: data.%s missing", in.Name, k)
			}
		}
		if len(stats) != len(keepalivedStats) {
			t.Errorf("%s: stats has %d fields, want keepalived's %d: %v", in.Name, len(stats), len(keepalivedStats), stats)
		}
		for _, k := range keepalivedStats {
			if !jsonType(stats[k], "uint") {
				t.Errorf("%s: stats.%s = %v, want an unsigned integer", in.Name, k, stats[k])
			}
		}
		if got := num(data["state"]); got != wantState[in.State] {
			t.Errorf("%s: state %d, want %d (%s)", in.Name, got, wantState[in.State], in.State)
		}
		want := in.WantState
		if want == "" {
			want = in.State
		}
		if got := num(data["wantstate"]); got != wantState[want] {
			t.Errorf("%s: wantstate %d, want %d (%s)", in.Name, got, wantState[want], want)
		}
		if data["iname"] != in.Name || num(data["vrid"]) != int64(in.VRID) || data["ifp_ifname"] != in.Interface ||
			num(data["effective_priority"]) != int64(in.Priority) || num(data["base_priority"]) != int64(in.ConfiguredPriority) {
			t.Errorf("%s: data %v does not match the status %+v", in.Name, data, in)
		}
		vips, _ := data["vips"].([]any)
		if len(vips) != len(in.VIPs) {
			t.Errorf("%s: %d vips, want %d", in.Name, len(vips), len(in.VIPs))
		}
		for _, v := range vips {
			// The exporters split on spaces: address, "dev", interface.
			if f := strings.Fields(v.(string)); len(f) < 3 || f[1] != "dev" {
				t.Errorf("%s: vip %q, want ADDR dev IFACE ...", in.Name, v)
			}
		}
		if num(stats["advert_sent"]) != int64(in.Stats.AdvertSent) || num(stats["ip_ttl_err"]) != 0 {
			t.Errorf("%s: stats %v, want the instance's counters and zero errors", in.Name, stats)
		}
	}
	if !regexp.MustCompile(`"last_transition": 1767323045\.000000,`).MatchString(out) {
		t.Errorf("last_transition not written as keepalived does (six decimals):\n%s", out)
	}
	if !strings.Contains(out, `"adver_int": 0.1,`) || !strings.Contains(out, `"master_adver_int": 0.2,`) {
		t.Errorf("adver_int or master_adver_int not in seconds:\n%s", out)
	}
}

// jsonType reports whether v (decoded with UseNumber) has the JSON type
// keepalived writes for typ.
func jsonType(v any, typ string) bool {
	switch typ {
	case "string":
		_, ok := v.(string)
		return ok
	case "bool":
		_, ok := v.(bool)
		return ok
	case "uint":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		i, err := n.Int64()
		return err == nil && i >= 0
	case "number":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Float64()
		return err == nil
	case "strings":
		a, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range a {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}

func num(v any) int64 {
	n, _ := v.(json.Number)
	i, _ := n.Int64()
	return i
}

// TestStatsJSON: the counters of `stats --json` under their names.
func TestStatsJSON(t *testing.T) {
	dir := serve(t, &fakeDaemon{status: sampleStatus()})
	_, out, _ := ctl("--run-dir", dir, "stats", "--json")
	var got struct {
		Instances []struct {
			Name  string                `json:"name"`
			Stats control.InstanceStats `json:"stats"`
		} `json:"instances"`
		Drops            map[string]uint64               `json:"drops"`
		KernelEventsLost uint64                          `json:"kernel_events_lost"`
		QueueFull        *uint64                         `json:"queue_full"`
		Errors           control.KeepalivedErrorCounters `json:"keepalived_errors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Instances) != 3 || got.Instances[0].Name != "VI_1" || got.Instances[0].Stats.AdvertSent != 3301 {
		t.Errorf("instances %+v", got.Instances)
	}
	if got.Drops["bad_ttl"] != 2 || got.KernelEventsLost != 3 || got.QueueFull == nil {
		t.Errorf("daemon-wide counters: %s", out)
	}
	if want := (control.KeepalivedErrorCounters{IPTTLErr: 2, AuthtypeMismatch: 1}); got.Errors != want {
		t.Errorf("keepalived_errors %+v, want %+v", got.Errors, want)
	}
	// Per instance, counters only: no state in the stats.
	if strings.Contains(out, `"state"`) || strings.Contains(out, `"vips"`) {
		t.Errorf("stats --json carries instance state:\n%s", out)
	}
}

// TestStatsErrorNames: the text output names keepalived's error counters
// as the JSON does, all of them, in its order.
func TestStatsErrorNames(t *testing.T) {
	dir := serve(t, &fakeDaemon{status: sampleStatus()})
	_, out, _ := ctl("--run-dir", dir, "stats")
	_, section, _ := strings.Cut(out, "keepalived error counters")
	var names []string
	for _, l := range strings.Split(section, "\n")[1:] {
		if f := strings.Fields(l); len(f) == 2 {
			names = append(names, f[0])
		}
	}
	var want []string
	typ := reflect.TypeFor[control.KeepalivedErrorCounters]()
	for i := range typ.NumField() {
		want = append(want, typ.Field(i).Tag.Get("json"))
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("stats names %v, want %v", names, want)
	}
}
