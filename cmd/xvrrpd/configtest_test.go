package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/user"
	"strings"
	"testing"

	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// runT runs `xvrrpd -t -f FILE [args]` on text and returns stdout and the
// error run returned.
func runT(t *testing.T, text string, args ...string) (string, string, error) {
	t.Helper()
	path := writeConfig(t, text)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"-t", "-f", path}, args...), &stdout, &stderr)
	return path, stdout.String(), err
}

const loInstance = `vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.10/24
    }
`

// -t as a gate: the exit status of `xvrrpd -t` against `keepalived -t`'s
// (2.2.7, recorded: 0 ok, 5 problems, 6 script security). xvrrpd fails
// where keepalived fails on the file itself, and passes where only xvrrpd
// ignores something (a keepalived keyword it does not implement) or the
// host lacks an interface.
func TestConfigTestGate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		kaRC  int
		fails bool
		says  []string
	}{
		{"clean", loInstance + "}\n", 0, false, []string{"configuration ok: 1 vrrp_instance(s), 0 warning(s)"}},
		{"typo", loInstance + "    priorty 150\n}\n", 5, true,
			[]string{":7: error: priorty: unknown keyword in vrrp_instance (did you mean priority?)", "configuration check failed: 1 problem(s)"}},
		{"typo in a block xvrrpd ignores", loInstance + "}\nvirtual_server 192.0.2.10 80 {\n    real_server 192.0.2.2 80 {\n        wieght 1\n    }\n}\n", 5, true,
			[]string{":10: error: wieght: unknown keyword in real_server (in virtual_server) (did you mean weight?)"}},
		{"value keepalived corrects", loInstance + "    state SLAVE\n}\n", 5, true,
			[]string{`:7: error: state: "SLAVE" is not MASTER or BACKUP: keepalived starts the instance as BACKUP`}},
		{"keyword xvrrpd ignores", loInstance + "    use_vmac\n}\n", 0, false,
			[]string{":7: warning: use_vmac: not implemented by xvrrpd", "ignored by xvrrpd, acted on by keepalived (1):", ":7: use_vmac: the instance runs on a macvlan", "configuration ok"}},
		{"mail", "global_defs {\n    notification_email {\n        a@example.com\n    }\n    smtp_server 192.0.2.1\n}\n" + loInstance + "}\n", 0, false,
			[]string{"accepted without effect on VRRP (e-mail, SNMP, process tuning): notification_email (", "smtp_server ("}},
		{"missing interface", strings.Replace(loInstance, "interface lo", "interface xvrrp-nonexistent0", 1) + "}\n", 5, false,
			[]string{":1: warning: interface: vrrp_instance VI_1: interface xvrrp-nonexistent0 does not exist"}},
		{"scripts without enable_script_security", "vrrp_script chk {\n    script /bin/true\n}\n" + loInstance + "    track_script {\n        chk\n    }\n}\n", 6, true,
			[]string{"error: global_defs: global_defs: scripts are executed but enable_script_security is not set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out, err := runT(t, tc.text)
			if fails := errors.Is(err, errReported); fails != tc.fails || err != nil && !fails {
				t.Errorf("-t: %v, want failing %v (keepalived -t exits %d):\n%s", err, tc.fails, tc.kaRC, out)
			}
			for _, s := range tc.says {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

// `xvrrpd -t --json` prints one config.Verdict object.
func TestConfigTestJSON(t *testing.T) {
	path, out, err := runT(t, "global_defs {\n    smtp_server 192.0.2.1\n}\n"+loInstance+"    priorty 150\n    use_vmac\n}\n"+
		"virtual_server 192.0.2.10 80 {\n    delay_loop 6\n}\n", "--json")
	if !errors.Is(err, errReported) {
		t.Errorf("-t --json: %v, want errReported", err)
	}
	var v config.Verdict
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if dec.More() {
		t.Errorf("more than one JSON value:\n%s", out)
	}
	if v.Schema != config.VerdictSchema || v.File != path || v.OK || !v.Valid || v.Instances != 1 || len(v.Files) != 1 {
		t.Errorf("verdict %+v", v)
	}
	want := map[string]config.Finding{
		"priorty":        {File: path, Line: 10, Severity: config.SevError, Kind: config.KindUnknown, Keyword: "priorty", Suggest: "priority"},
		"use_vmac":       {File: path, Line: 11, Severity: config.SevWarning, Kind: config.KindUnsupported, Keyword: "use_vmac", Behaviour: true},
		"smtp_server":    {File: path, Line: 2, Severity: config.SevWarning, Kind: config.KindUnused, Keyword: "smtp_server"},
		"virtual_server": {File: path, Line: 13, Severity: config.SevWarning, Kind: config.KindUnsupported, Keyword: "virtual_server", Behaviour: true},
	}
	for _, f := range v.Findings {
		w, ok := want[f.Keyword]
		if !ok {
			t.Errorf("unexpected finding %+v", f)
			continue
		}
		delete(want, f.Keyword)
		f.Message = ""
		if f != w {
			t.Errorf("finding\n got %+v\nwant %+v", f, w)
		}
	}
	for k := range want {
		t.Errorf("no finding for %s:\n%s", k, out)
	}
	if len(v.Ignored) != 2 || v.Ignored[0].Keyword != "use_vmac" || v.Ignored[1].Keyword != "virtual_server" {
		t.Errorf("ignored %+v", v.Ignored)
	}

	// An error xvrrpd refuses: valid false.
	_, out, _ = runT(t, "vrrp_instance VI_1 {\n    interface lo\n}\n", "--json")
	v = config.Verdict{}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Valid || v.OK || v.Findings[0].Kind != config.KindInvalid {
		t.Errorf("%v %+v", err, v)
	}
}

// enable_script_security with no script_user and no keepalived_script
// user: keepalived 2.2.7 removes the scripts ("Unable to set default user
// for vrrp script chk - removing") and the instance runs without its
// health check, exit status 5; xvrrpd does the same and says so.
func TestConfigTestScriptsRemoved(t *testing.T) {
	if _, err := user.Lookup(track.DefaultScriptUser); err == nil {
		t.Skip("user keepalived_script exists here")
	}
	_, out, err := runT(t, "global_defs {\n    enable_script_security\n}\nvrrp_script chk {\n    script /bin/true\n    weight -20\n}\n"+
		loInstance+"    track_script {\n        chk\n    }\n    notify_master \"/bin/true master\"\n}\n")
	if !errors.Is(err, errReported) {
		t.Errorf("-t: %v, want errReported", err)
	}
	for _, s := range []string{
		"error: vrrp_script chk: vrrp_script chk (/bin/true): enable_script_security is set, no script_user is given and user keepalived_script does not exist: script disabled, as keepalived does: the instances and sync groups that track it run without this health check",
		"error: vrrp_instance VI_1 notify_master: vrrp_instance VI_1 notify_master (/bin/true master): enable_script_security is set, no script_user is given and user keepalived_script does not exist: script disabled, as keepalived does: it is not run",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks\n%s\nin\n%s", s, out)
		}
	}
}
