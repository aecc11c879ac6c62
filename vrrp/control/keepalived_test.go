package control

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/vrrp"
)

// TestDropCounter: every drop reason is either mapped to a keepalived
// counter or known to have none, so a new reason forces a decision here.
func TestDropCounter(t *testing.T) {
	none := map[string]bool{
		"bad_version": true, "bad_checksum": true, "bad_family": true, "unknown_vrid": true,
		"version_mismatch": true, "own_addr": true, "not_peer": true, "src_not_link_local": true,
		"rate_limited": true,
	}
	counters := map[string]bool{
		"packet_len_err": true, "advert_interval_err": true, "ip_ttl_err": true, "invalid_type_rcvd": true,
		"addr_list_err": true, "invalid_authtype": true, "authtype_mismatch": true, "auth_failure": true,
	}
	for r := vrrp.DropReason(1); r < vrrp.NumDropReasons; r++ {
		name := r.String()
		c := DropCounter(name)
		switch {
		case c == "" && !none[name]:
			t.Errorf("drop reason %s: no keepalived counter and not listed as having none", name)
		case c != "" && none[name]:
			t.Errorf("drop reason %s: listed as having no counter, maps to %s", name, c)
		case c != "" && !counters[c]:
			t.Errorf("drop reason %s maps to %q, not a keepalived error counter", name, c)
		}
		// Every mapped name is summed into its field.
		if c != "" {
			b, _ := json.Marshal(KeepalivedErrors(map[string]uint64{name: 7}))
			if !strings.Contains(string(b), `"`+c+`":7`) {
				t.Errorf("KeepalivedErrors{%s: 7} = %s, want %s 7", name, b, c)
			}
		}
	}
	if DropCounter("none") != "" || DropCounter("no_such_reason") != "" {
		t.Error("DropCounter maps a name that is not a drop reason")
	}
	got := KeepalivedErrors(map[string]uint64{"truncated": 1, "bad_length": 2, "bad_ttl": 4, "unknown_vrid": 100})
	if want := (KeepalivedErrorCounters{PacketLenErr: 3, IPTTLErr: 4}); got != want {
		t.Errorf("KeepalivedErrors = %+v, want %+v", got, want)
	}
}

func TestKeepalivedState(t *testing.T) {
	for name, want := range map[string]int{"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3} {
		if got, ok := KeepalivedState(name); !ok || got != want {
			t.Errorf("KeepalivedState(%s) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if _, ok := KeepalivedState("UNKNOWN"); ok {
		t.Error("KeepalivedState(UNKNOWN) ok")
	}
}

func TestKeepalived(t *testing.T) {
	st := sampleStatus()
	in := &st.Instances[0]
	in.ConfiguredPriority, in.Priority, in.MasterPriority = 100, 90, 90
	in.AdvertInt, in.WantState = time.Second, "MASTER"
	in.Since = time.Date(2026, 1, 2, 3, 4, 5, 250000000, time.UTC)
	in.Stats = InstanceStats{AdvertRcvd: 3, AdvertSent: 40, BecomeMaster: 1, PriZeroSent: 1}
	in.Trackers = []TrackerStatus{{Kind: "script", Name: "chk", State: "ok", Weight: 10}, {Kind: "interface", Name: "eth1", State: "ok"}}
	in.VIPs = append(in.VIPs, VIPStatus{Addr: "2001:db8::1/128", Held: true}, VIPStatus{Addr: "192.0.2.9"})
	k := Keepalived(st)
	if len(k) != 2 {
		t.Fatalf("%d instances, want 2", len(k))
	}
	d := k[0].Data
	want := KeepalivedData{
		IName: "VI_1", IfpIfname: "eth0", MasterPriority: 90, LastTransition: 1767323045.25, VRID: 51,
		BasePriority: 100, EffectivePriority: 90, VIPSet: true, AdverInt: 1, MasterAdverInt: 1,
		State: KeepalivedMaster, WantState: KeepalivedMaster, Version: 3,
		VIPs:     []string{"192.0.2.100/24 dev eth0 set", "198.51.100.7 dev eth1", "2001:db8::1 dev eth0 set", "192.0.2.9 dev eth0"},
		TrackIfp: []string{"eth1"},
	}
	if !jsonEqual(t, d, want) {
		t.Errorf("data:\n got %+v\nwant %+v", d, want)
	}
	if s := k[0].Stats; s.InstanceStats != in.Stats || s.KeepalivedErrorCounters != (KeepalivedErrorCounters{}) {
		t.Errorf("stats %+v: want the instance's counters and zero errors", s)
	}
	if k[0].Xvrrp.Name != "VI_1" || len(k[0].Xvrrp.Trackers) != 2 {
		t.Errorf("xvrrp object %+v, want the instance status", k[0].Xvrrp)
	}
	// FAULT with no want state and no transition yet.
	if d := k[1].Data; d.State != KeepalivedFault || d.WantState != KeepalivedFault || d.LastTransition != 0 || d.VIPs != nil {
		t.Errorf("second instance: %+v", d)
	}
	b, _ := json.Marshal(k[0].Data)
	if !strings.Contains(string(b), `"last_transition":1767323045.250000,`) {
		t.Errorf("last_transition not written with six decimals: %s", b)
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
