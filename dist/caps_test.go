package dist

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// unitCaps is the unit's CapabilityBoundingSet as setpriv names them
// ("net_admin").
func unitCaps(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("xvrrpd.service")
	if err != nil {
		t.Fatal(err)
	}
	var caps []string
	for _, c := range strings.Fields(unitSettings(t, string(b))["CapabilityBoundingSet"]) {
		caps = append(caps, strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	if len(caps) == 0 {
		t.Fatal("the unit has no CapabilityBoundingSet")
	}
	return caps
}

// TestUnitCapabilities runs the real xvrrpd, alone on a bridge, with the
// unit's capability bounding set (as root, as systemd runs it) and bpffs
// mounted beforehand (as the unit's ExecStartPre does): it must load and
// attach the XDP program, become MASTER with its VIP and stop cleanly.
// Then, without each of CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF and
// CAP_PERFMON in turn, it must not: the set is no larger than needed for
// those four. (CAP_SETUID, CAP_SETGID and CAP_KILL serve scripts run as
// script_user; docs/OPERATIONS.md has the measurement.)
func TestUnitCapabilities(t *testing.T) {
	testenv.RequireRoot(t)
	setpriv := testenv.RequireCommand(t, "setpriv")
	goBin := testenv.RequireCommand(t, "go")
	caps := unitCaps(t)

	dir := t.TempDir()
	xvrrpd := filepath.Join(dir, "xvrrpd")
	if out, err := exec.Command(goBin, "build", "-o", xvrrpd, "../cmd/xvrrpd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	topo := netnstest.Pair(t)
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(`vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 61
    priority 150
    version 3
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.61/24
    }
}
`), 0o644)

	// run starts xvrrpd in node A with the bounding set caps, waits until
	// its output has want (or it exits, or 5 s pass), stops it and returns
	// its output and whether want was seen.
	run := func(caps []string, want string) (string, bool) {
		t.Helper()
		set := "-all"
		for _, c := range caps {
			set += ",+" + c
		}
		// ip netns exec gives the command its own mount namespace with a
		// fresh /sys: bpffs is mounted there first, as on a systemd host.
		script := `mount -t bpf -o mode=0700 bpf /sys/fs/bpf && exec "$@"`
		p := topo.A.Start(t, "sh", "-c", script, "sh", setpriv, "--bounding-set="+set,
			xvrrpd, "-f", conf, "--dataplane", "xdp", "--run-dir", filepath.Join(dir, "run"))
		deadline := time.Now().Add(5 * time.Second)
		seen := false
		for time.Now().Before(deadline) && !seen {
			select {
			case <-p.Done():
				return p.Output(), strings.Contains(p.Output(), want)
			case <-time.After(50 * time.Millisecond):
			}
			seen = strings.Contains(p.Output(), want)
		}
		p.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("xvrrpd did not stop on SIGTERM:\n%s", p.Output())
		}
		return p.Output(), seen
	}

	const master = `"to": "MASTER"`
	out, ok := run(caps, master)
	if !ok {
		t.Fatalf("with the unit's capabilities %v xvrrpd did not become MASTER:\n%s", caps, out)
	}
	for _, want := range []string{`"dataplane": "bpf"`, `program attached`, `virtual address added`, `xvrrpd stopped`} {
		if !strings.Contains(out, want) {
			t.Errorf("with the unit's capabilities: no %q in the output:\n%s", want, out)
		}
	}
	for _, drop := range []string{"net_admin", "net_raw", "bpf", "perfmon"} {
		var fewer []string
		for _, c := range caps {
			if c != drop {
				fewer = append(fewer, c)
			}
		}
		if len(fewer) == len(caps) {
			t.Errorf("the unit lacks CAP_%s", strings.ToUpper(drop))
			continue
		}
		if out, ok := run(fewer, master); ok {
			t.Errorf("without CAP_%s xvrrpd still became MASTER on the XDP dataplane: the capability looks unneeded:\n%s", strings.ToUpper(drop), out)
		}
	}
}
