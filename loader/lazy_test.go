package loader

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp"
)

// TestTCProgramLoadedAtFirstUse: Load verifies the XDP program only (the
// tc one costs as much again, and only ModeTC, or ModeAuto when XDP cannot
// attach, uses it); the tc program loaded later works on the same maps:
// an advert it accepts is in the adverts map Load made and the ring
// buffer Load reads.
func TestTCProgramLoadedAtFirstUse(t *testing.T) {
	testenv.RequireRoot(t)
	l, err := Load(Options{Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.objs.XdpVrrp == nil {
		t.Fatal("Load did not load the XDP program")
	}
	if l.objs.TcVrrp != nil {
		t.Fatal("Load loaded the tc program before its first use")
	}

	vip := netip.MustParseAddr("192.0.2.200")
	src := netip.MustParseAddr("192.0.2.1")
	const ifindex = 1 // BPF_PROG_TEST_RUN's ingress interface
	if err := l.SetInstances([]Instance{{Ifindex: ifindex, VRID: 9, Version: 3, Interval: time.Second, VIPs: []netip.Addr{vip}}}); err != nil {
		t.Fatal(err)
	}
	_, tc := l.Programs()
	if tc == nil || l.objs.TcVrrp != tc {
		t.Fatalf("Programs did not load the tc program: %v", tc)
	}
	if _, again := l.Programs(); again != tc {
		t.Error("the tc program was loaded twice")
	}
	a := vrrp.Advert{Version: vrrp.V3, VRID: 9, Priority: 150, Interval: time.Second, Addrs: []netip.Addr{vip}}
	payload, err := a.Marshal(src, vrrp.GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	ret, err := tc.Run(&ebpf.RunOptions{Data: testFrame(src, vrrp.GroupIPv4, payload)})
	if err != nil {
		t.Fatal(err)
	}
	if ret != 2 { // TCX_DROP: valid, recorded, dropped
		t.Errorf("tc verdict %d, want TCX_DROP (2)", ret)
	}
	st, ok := l.AdvertState(ifindex, 9, false)
	if !ok || st.Master != src || st.Priority != 150 {
		t.Fatalf("adverts map after the tc program's run: %+v %v, want master %v priority 150", st, ok, src)
	}
	select {
	case e := <-l.Events():
		if e.VRID != 9 || e.Src != src {
			t.Errorf("ring buffer record %+v, want VRID 9 from %v", e, src)
		}
	case <-time.After(3 * time.Second):
		t.Error("no ring buffer record from the tc program")
	}
}

// testFrame is an Ethernet + IPv4 frame carrying a VRRP payload, TTL 255.
func testFrame(src, dst netip.Addr, payload []byte) []byte {
	d, s := dst.As4(), src.As4()
	f := []byte{0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3], 2, 0, 0, 0, 0, 1, 0x08, 0x00}
	ip := make([]byte, 20)
	ip[0], ip[1] = 0x45, 0xc0
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	ip[8], ip[9] = 255, vrrp.IPProtocol
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	return append(append(f, ip...), payload...)
}

// AdvertState is read at every advert of a master (a peer that outranks
// it must be heard): a memory read, no allocation.
func TestAdvertStateDoesNotAllocate(t *testing.T) {
	testenv.RequireRoot(t)
	l, err := Load(Options{Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.adverts == nil {
		t.Skip("the adverts map is not mapped into the process here")
	}
	vip, src := netip.MustParseAddr("192.0.2.200"), netip.MustParseAddr("192.0.2.1")
	if err := l.SetInstances([]Instance{{Ifindex: 1, VRID: 9, Version: 3, Interval: time.Second, VIPs: []netip.Addr{vip}}}); err != nil {
		t.Fatal(err)
	}
	xdp, _ := l.Programs()
	a := vrrp.Advert{Version: vrrp.V3, VRID: 9, Priority: 150, Interval: time.Second, Addrs: []netip.Addr{vip}}
	payload, err := a.Marshal(src, vrrp.GroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xdp.Run(&ebpf.RunOptions{Data: testFrame(src, vrrp.GroupIPv4, payload)}); err != nil {
		t.Fatal(err)
	}
	var st AdvertState
	var ok bool
	allocs := testing.AllocsPerRun(100, func() { st, ok = l.AdvertState(1, 9, false) })
	if !ok || st.Master != src || st.Priority != 150 {
		t.Fatalf("AdvertState = %+v %v, want %v priority 150", st, ok, src)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per AdvertState, want 0", allocs)
	}
}
