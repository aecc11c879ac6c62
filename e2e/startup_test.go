package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp/control"
)

// TestLeftoverVIPRemoved: a VIP left on the interface by a crashed run is
// removed when the backup starts (keepalived does the same), while the
// master keeps it.
func TestLeftoverVIPRemoved(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	m, b := pairV2(l, 81)
	vip := l.VIP4(1)

	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, m))
	waitFor(t, 10*time.Second, "r1 MASTER with the VIP", func() bool {
		return r1.State("VI_81") == "MASTER" && hasVIP(t, n1.NS, ifName, vip)
	})
	link, err := n2.Handle().LinkByName(ifName)
	if err != nil {
		t.Fatal(err)
	}
	left := &netlink.Addr{IPNet: netlink.NewIPNet(vip.AsSlice())}
	left.IPNet.Mask = []byte{255, 255, 255, 0}
	if err := n2.Handle().AddrAdd(link, left); err != nil {
		t.Fatalf("add leftover %v to r2: %v", vip, err)
	}
	if !hasVIP(t, n2.NS, ifName, vip) {
		t.Fatalf("leftover %v not on r2 after adding it", vip)
	}
	r2 := startXvrrpd(t, n2.NS, "r2", keepalivedConf("r2", nil, b))
	waitFor(t, 5*time.Second, "r2 BACKUP without the leftover VIP", func() bool {
		return r2.State("VI_81") == "BACKUP" && !hasVIP(t, n2.NS, ifName, vip)
	})
	if !strings.Contains(r2.LogText(), "removed leftover virtual address") {
		t.Errorf("r2 did not log the leftover's removal:\n%s", r2.LogText())
	}
	holdFor(t, 1500*time.Millisecond, "VIP on r1 only", func() bool {
		return hasVIP(t, n1.NS, ifName, vip) && !hasVIP(t, n2.NS, ifName, vip)
	})
}

// TestDefaultRunDirPerNamespace: two daemons in different namespaces without
// --run-dir each get their own pid file and control socket
// (/run/xvrrp/net-<inode>): both run and answer, and they elect a master.
func TestDefaultRunDirPerNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	m, b := pairV2(l, 91)
	vip := l.VIP4(1)
	dir1, dir2 := defaultRunDir(t, n1.NS), defaultRunDir(t, n2.NS)
	if dir1 == dir2 {
		t.Fatalf("namespaces share the run directory %s", dir1)
	}
	// Registered first, so it runs after the daemons stopped: they remove
	// their pid file and socket, the directories are left.
	t.Cleanup(func() {
		for _, d := range []string{dir1, dir2} {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
				t.Errorf("remove run directory: %v", err)
			}
		}
	})

	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, m), "--default-run-dir")
	r2 := startXvrrpd(t, n2.NS, "r2", keepalivedConf("r2", nil, b), "--default-run-dir")
	waitFor(t, 10*time.Second, "r1 MASTER with the VIP, r2 BACKUP", func() bool {
		return r1.State("VI_91") == "MASTER" && r2.State("VI_91") == "BACKUP" && hasVIP(t, n1.NS, ifName, vip)
	})
	if r1.Exited() || r2.Exited() {
		t.Fatalf("a daemon exited: r1 %v r2 %v", r1.Exited(), r2.Exited())
	}
	for _, x := range []*xvrrpd{r1, r2} {
		pid, err := os.ReadFile(x.RunDir + "/xvrrpd.pid")
		if err != nil {
			t.Errorf("pid file of %s: %v", x.Name, err)
			continue
		}
		if got := strings.TrimSpace(string(pid)); got != strconv.Itoa(x.Pid()) {
			t.Errorf("pid file of %s holds %s, want %d", x.Name, got, x.Pid())
		}
	}
	// xvrrpctl run in a namespace without --run-dir finds that namespace's
	// daemon.
	ctl := xvrrpctlPath(t)
	for _, c := range []struct {
		n     *netnstest.Node
		state string
	}{{n1, "MASTER"}, {n2, "BACKUP"}} {
		out, err := c.n.Run(5*time.Second, ctl, "status")
		if err != nil {
			t.Errorf("xvrrpctl status in %s: %v", c.n.Name(), err)
			continue
		}
		if !strings.Contains(out, "VI_91") || !strings.Contains(out, c.state) {
			t.Errorf("xvrrpctl status in %s does not show VI_91 %s:\n%s", c.n.Name(), c.state, out)
		}
	}
	// The master first, while its backup can relieve it (a master alone
	// waits a Master_Down_Interval before it gives its VIPs up): both exit
	// cleanly and remove their pid file and socket.
	for _, x := range []*xvrrpd{r1, r2} {
		if err := x.Term(); err != nil {
			t.Errorf("xvrrpd %s exit: %v", x.Name, err)
		}
	}
}

// TestXvrrpctlJSON: xvrrpctl --run-dir DIR status --raw prints the
// daemon's status as JSON, the same the control socket answers.
func TestXvrrpctlJSON(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 51)
	r1, _ := startPair(t, l, m, b)
	out, err := exec.Command(xvrrpctlPath(t), "--run-dir", r1.RunDir, "status", "--raw").CombinedOutput()
	if err != nil {
		t.Fatalf("xvrrpctl status --raw: %v: %s", err, out)
	}
	var st control.Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("decode xvrrpctl output %q: %v", out, err)
	}
	if len(st.Instances) != 1 || st.Instances[0].Name != "VI_51" || st.Instances[0].State != "MASTER" ||
		!st.Instances[0].HoldsVIPs || st.Instances[0].Priority != 101 {
		t.Errorf("xvrrpctl status instances = %+v, want VI_51 MASTER priority 101 holding the VIPs", st.Instances)
	}
	if st.AdvertsSent == 0 {
		t.Errorf("xvrrpctl status: no advert sent: %+v", st)
	}
}
