package e2e

import (
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// TestUnicastPeers runs two xvrrpd with unicast_src_ip / unicast_peer: the
// higher priority is elected, no advert goes to the multicast group (the
// client, on the same bridge, sees none), and the backup takes over after the
// master is killed.
// Reference: RFC 3768 §6.4.2 / §6.1 Master_Down_Interval; unicast peers are
// keepalived's extension (adverts sent to each peer instead of 224.0.0.18).
func TestUnicastPeers(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	m, b := pairV2(l, 71)
	m.UnicastSrc, m.UnicastPeers = n1.Addr4().String(), []string{n2.Addr4().String()}
	b.UnicastSrc, b.UnicastPeers = n2.Addr4().String(), []string{n1.Addr4().String()}
	r1, r2 := startPair(t, l, m, b)
	vip := l.VIP4(1)

	if got := r2.Instance(t, "VI_71").Master; got != n1.Addr4().String() {
		t.Errorf("r2 sees master %q, want %v", got, n1.Addr4())
	}
	// Watch the client's link for 2.5 s (2 adverts at least): VRRP packets to
	// the multicast group would mean the peers were ignored.
	pc := openPacket(t, l.Client.NS, ifName, unix.ETH_P_IP)
	deadline := time.Now().Add(2500 * time.Millisecond)
	for i := 0; i < 10000; i++ {
		f, err := pc.Recv(deadline)
		if err != nil {
			t.Fatalf("capture on client: %v", err)
		}
		if f == nil {
			break
		}
		if len(f) >= 34 && f[14+9] == 112 && binary.BigEndian.Uint32(f[30:34]) == 0xe0000012 {
			t.Fatalf("client saw a VRRP advert to 224.0.0.18 in unicast mode")
		}
	}
	st := r2.Status(t)
	if st.Accepted == 0 {
		t.Errorf("r2 accepted no advert: %+v", st)
	}

	mdi := masterDownInterval(time.Second, 100)
	start := time.Now()
	r1.Kill()
	setLinkDown(t, n1.NS, ifName)
	waitFor(t, mdi+500*time.Millisecond, "r2 to take the VIP", func() bool {
		return hasVIP(t, n2.NS, ifName, vip)
	})
	t.Logf("unicast takeover after SIGKILL: %v (Master_Down_Interval %v)", time.Since(start).Round(time.Millisecond), mdi)
	if s := r2.State("VI_71"); s != "MASTER" {
		t.Errorf("r2 state %q, want MASTER", s)
	}
	if err := l.Client.Ping(vip, 5, time.Second); err != nil {
		t.Errorf("client ping %v after failover: %v", vip, err)
	}
}
