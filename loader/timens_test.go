package loader_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// ipv4Frame wraps a VRRP payload from src to 224.0.0.18 (TTL 255) in IPv4
// and Ethernet, as BPF_PROG_TEST_RUN wants it.
func ipv4Frame(src netip.Addr, payload []byte) []byte {
	b := []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00}
	h := make([]byte, 20)
	h[0] = 0x45
	h[1] = 0xc0
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	h[8] = 255
	h[9] = vrrp.IPProtocol
	s, d := src.As4(), vrrp.GroupIPv4.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	var acc uint32
	for i := 0; i < 20; i += 2 {
		acc += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(acc))
	return append(append(b, h...), payload...)
}

const timensEnv = "XVRRP_LOADER_TIMENS"

// timensOffset is the monotonic offset unshare gives the helper.
const timensOffset = "86400"

// TestTimeNamespaceHelper is the child of TestEventTimeInTimeNamespace: it
// runs in a time namespace whose CLOCK_MONOTONIC is a day ahead of the
// kernel's (bpf_ktime_get_ns), and checks that converted arrival times
// are still the moments the adverts were run.
func TestTimeNamespaceHelper(t *testing.T) {
	if os.Getenv(timensEnv) == "" {
		t.Skip("helper process of TestEventTimeInTimeNamespace")
	}
	offsets, err := os.ReadFile("/proc/self/timens_offsets")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(offsets)); len(f) < 2 || f[0] != "monotonic" || f[1] != timensOffset {
		t.Fatalf("not in the expected time namespace: %q", offsets)
	}
	l, err := loader.Load(loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	vip := netip.MustParseAddr("192.0.2.200")
	src := netip.MustParseAddr("192.0.2.1")
	err = l.SetInstances([]loader.Instance{{Ifindex: 1, VRID: 7, Version: 3, Interval: time.Second,
		VIPs: []netip.Addr{vip}, RatePerInterval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	xdp, _ := l.Programs()
	// run sends one advert of priority prio and returns when it ran.
	run := func(prio uint8) (before, after time.Time) {
		a := vrrp.Advert{Version: vrrp.V3, VRID: 7, Priority: prio, Interval: time.Second, Addrs: []netip.Addr{vip}}
		p, err := a.Marshal(src, vrrp.GroupIPv4)
		if err != nil {
			t.Fatal(err)
		}
		before = time.Now()
		if _, err := xdp.Run(&ebpf.RunOptions{Data: ipv4Frame(src, p)}); err != nil {
			t.Fatal(err)
		}
		return before, time.Now()
	}
	const slack = 2 * time.Millisecond
	within := func(what string, got, before, after time.Time) {
		t.Helper()
		if got.Before(before.Add(-slack)) || got.After(after.Add(slack)) {
			t.Errorf("%s: %v from the run (time.Since %v)", what, got.Sub(before), time.Since(got))
		}
	}
	next := func() loader.Event {
		select {
		case e := <-l.Events():
			return e
		case <-time.After(2 * time.Second):
			t.Fatal("no event within 2s")
		}
		return loader.Event{}
	}

	b1, a1 := run(100)
	within("first event", next().Time, b1, a1)
	time.Sleep(10 * time.Millisecond)
	b2, a2 := run(90) // a priority change: a record carrying the first as Prev
	e := next()
	within("second event", e.Time, b2, a2)
	within("its previous advert", e.Prev.Time, b1, a1)
	st, ok := l.AdvertState(1, 7, false)
	if !ok {
		t.Fatal("no advert state")
	}
	within("adverts map last seen", st.LastSeen, b2, a2)
}

// TestEventTimeInTimeNamespace: inside a time namespace (CLOCK_MONOTONIC
// offset by a day from the kernel's clock) Event.Time, Event.Prev.Time and
// AdvertState.LastSeen are the real arrival moments, within a few ms of
// time.Now() at the run.
func TestEventTimeInTimeNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	unshare := testenv.RequireCommand(t, "unshare")
	if _, err := os.Stat("/proc/self/timens_offsets"); err != nil {
		testenv.Missing(t, "time namespaces (CONFIG_TIME_NS)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--time", "--monotonic="+timensOffset, "--fork",
		os.Args[0], "-test.run=^TestTimeNamespaceHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), timensEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestTimeNamespaceHelper") {
		t.Fatalf("helper in a time namespace: %v\n%s", err, out)
	}
}
