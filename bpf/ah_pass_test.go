package bpf_test

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

// TestAHPassesToTheStack: an auth_type AH advert (IP protocol 51, RFC 2338
// §5.3.6.3) is not the program's business: it passes, counted as not VRRP,
// and records nothing, even with a protocol-112 instance of the same VRID
// configured. The daemon reads AH adverts on a raw socket of protocol 51
// (vrrp/daemon/ah.go), which only sees what the program passes. The frames
// are keepalived 2.2.7's, as captured in vrrp/testdata/v2-ah*.pcap.
func TestAHPassesToTheStack(t *testing.T) {
	frames := ahFrames(t, "../vrrp/testdata/v2-ah.pcap")
	frames = append(frames, ahFrames(t, "../vrrp/testdata/v2-ah-unicast.pcap")...)
	// VRID 54 and 55 as protocol-112 instances, on the test's ifindex.
	l := newLoader(t, loader.Options{}, instances([]testRouter{
		router(vrrp.V2, 54, false, time.Second, vip4a).withAuth("s3cr3t"),
		router(vrrp.V2, 55, false, 2*time.Second, vip4b),
	})...)
	xdp, tc := l.Programs()
	for i, f := range frames {
		for _, p := range []struct {
			prog *ebpf.Program
			pass uint32
		}{{xdp, xdpPass}, {tc, tcxNext}} {
			before := stats(t, l)
			if v := runProg(t, p.prog, f); v != p.pass {
				t.Errorf("frame %d %s: verdict %d, want pass", i, p.prog, v)
			}
			after := stats(t, l)
			if after.NotVRRP != before.NotVRRP+1 || after.PassedIP != before.PassedIP || after.Drops != before.Drops {
				t.Errorf("frame %d %s: stats %+v → %+v, want not_vrrp +1 only", i, p.prog, before, after)
			}
		}
	}
	for _, vrid := range []uint8{54, 55} {
		if st, ok := l.AdvertState(testIfindex, vrid, false); ok && st.Count != 0 {
			t.Errorf("vrid %d: the adverts map recorded an AH advert: %+v", vrid, st)
		}
	}
}

// ahFrames returns the Ethernet frames of a little-endian pcap file.
func ahFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian pcap", path)
	}
	var out [][]byte
	for p := b[24:]; len(p) >= 16; {
		n := int(binary.LittleEndian.Uint32(p[8:]))
		if len(p) < 16+n {
			t.Fatalf("%s: truncated", path)
		}
		if n < 14+20 || p[16+14+9] != vrrp.IPProtocolAH {
			t.Fatalf("%s: a frame that is not IPv4 protocol 51", path)
		}
		out = append(out, append([]byte(nil), p[16:16+n]...))
		p = p[16+n:]
	}
	if len(out) == 0 {
		t.Fatalf("%s: no frame", path)
	}
	return out
}
