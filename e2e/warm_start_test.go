package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// Dataplane returns the dataplane the daemon receives on once its start
// is over. Under --dataplane auto an xvrrpd receives on the raw socket
// while its BPF program loads in the background (the warm start,
// vrrp/daemon/warm.go), then switches to the kernel path: this waits (at
// most 10 s) until the daemon has switched, or has logged that the
// socket stays.
func (x *xvrrpd) Dataplane(t testing.TB) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		dp := x.Status(t).Dataplane
		if dp != "socket" || time.Now().After(deadline) {
			return dp
		}
		log := x.LogText()
		if !strings.Contains(log, `"why": "until the bpf program is loaded"`) || strings.Contains(log, `"why": "the bpf dataplane`) {
			return dp // the socket by choice, or for good
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWarmStart: an xvrrpd Backup started with --dataplane auto beside a
// running master receives on the raw socket before its BPF program is
// loaded, then switches to the kernel path: it knows the master from its
// first adverts, never takes over during the switch, its count of
// received adverts never goes back, and it ends on XDP with the program
// attached. The launch → listening time this buys is measured by
// TestStartupMeasure.
func TestWarmStart(t *testing.T) {
	testenv.RequireRoot(t)
	if dp := e2eDataplane(); dp != "auto" {
		t.Skipf("the warm start is --dataplane auto's (this run: %s)", dp)
	}
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := fastPair(l, 71)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	r1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", nil, m))
	waitFor(t, 10*time.Second, "r1 MASTER", func() bool { return r1.State("VI_71") == "MASTER" })
	r1.Dataplane(t)

	r2 := startXvrrpd(t, n2.NS, "r2", keepalivedConf("r2", nil, b))
	var last uint64
	var sawMaster, sawSocket bool
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := r2.QueryStatus()
		if err == nil && time.Now().After(deadline) {
			t.Fatalf("r2 did not switch to the kernel path within 15 s (dataplane %s):\n%s", st.Dataplane, r2.LogText())
		}
		if err == nil && len(st.Instances) == 1 {
			in := st.Instances[0]
			if in.State == "MASTER" {
				t.Fatalf("r2 took over during its start (dataplane %s)", st.Dataplane)
			}
			if in.Stats.AdvertRcvd < last {
				t.Fatalf("r2's adverts received went back from %d to %d (dataplane %s)", last, in.Stats.AdvertRcvd, st.Dataplane)
			}
			last = in.Stats.AdvertRcvd
			sawMaster = sawMaster || in.Master == n1.Addr4().String()
			sawSocket = sawSocket || (st.Dataplane == "socket" && in.Master != "")
			if st.Dataplane != "socket" && sawMaster {
				break
			}
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatalf("r2 does not answer: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("r2 heard the master on the socket before the switch: %v", sawSocket)
	if dp := r2.Dataplane(t); !strings.HasPrefix(dp, "xdp") {
		t.Errorf("r2 ends on dataplane %q, want xdp on a veth", dp)
	}
	if _, ok := receiveAttachment(t, n2.NS, ifName); !ok {
		t.Error("no receive program attached to r2's eth0 after the switch")
	}
	if lines := r2.logLines("dataplane switched"); len(lines) != 1 {
		t.Errorf("r2 logged %d switches, want 1:\n%s", len(lines), r2.LogText())
	}
	// On the kernel path now: the count goes on from the socket's.
	holdFor(t, time.Second, "r2 BACKUP hearing r1", func() bool {
		in := r2.Instance(t, "VI_71")
		ok := in.State == "BACKUP" && in.Stats.AdvertRcvd >= last
		last = in.Stats.AdvertRcvd
		return ok
	})
}
