package e2e

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp"
)

// badConf has three errors on known lines and a VIP that must never appear.
const badConf = `vrrp_instance VI_1 {
    state FOO
    interface eth0
    virtual_router_id 500
    priority 100
    virtual_ipaddress {
        %VIP%/24
    }
}
`

// TestConfigErrors: xvrrpd -t exits non-zero printing file:line messages
// for a configuration with errors, and the daemon refuses to start with it
// (non-zero exit, no VIP added); a configuration with only warnings passes
// -t, listing them.
func TestConfigErrors(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	bin := xvrrpdPath(t)
	dir := t.TempDir()
	l := newLAN(t, "r1")
	n1 := l.Node(t, "r1")
	vip := l.VIP4(1)
	conf := strings.ReplaceAll(badConf, "%VIP%", vip.String())
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command(bin, "-t", "-f", bad).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("xvrrpd -t on errors: %v, want a non-zero exit; output:\n%s", err, out)
	}
	for _, want := range []string{bad + ":2:", bad + ":4:", "state", "virtual_router_id"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("xvrrpd -t output lacks %q:\n%s", want, out)
		}
	}

	x := startXvrrpd(t, n1.NS, "bad", conf)
	err = x.Wait(10 * time.Second)
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("xvrrpd with errors exited with %v, want a non-zero exit", err)
	}
	if !strings.Contains(x.LogText(), x.Conf+":2:") {
		t.Errorf("log lacks the file:line errors:\n%s", x.LogText())
	}
	if hasVIP(t, n1.NS, ifName, vip) {
		t.Errorf("xvrrpd with a bad configuration added %v", vip)
	}

	warn := filepath.Join(dir, "warn.conf")
	wconf := keepalivedConf("w", nil, vrrpInstance{State: "BACKUP", VRID: 5, Priority: 100,
		VIPs: []string{vip.String() + "/24"}, Extra: []string{"use_vmac"}})
	if err := os.WriteFile(warn, []byte(wconf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "-t", "-f", warn).CombinedOutput()
	if err != nil {
		t.Errorf("xvrrpd -t on warnings only: %v, want exit 0; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), warn+":") || !strings.Contains(string(out), "warning: use_vmac") {
		t.Errorf("xvrrpd -t does not list the use_vmac warning with file:line:\n%s", out)
	}
}

// frameV4 builds an Ethernet + IPv4 frame carrying payload as protocol 112
// from src (MAC smac) to dst (multicast MAC derived from dst).
func frameV4(smac net.HardwareAddr, src, dst netip.Addr, ttl uint8, payload []byte) []byte {
	d := dst.As4()
	f := []byte{0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3]}
	f = append(f, smac...)
	f = append(f, 0x08, 0x00)
	ip := make([]byte, 20)
	ip[0], ip[1] = 0x45, 0xc0
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	ip[8], ip[9] = ttl, vrrp.IPProtocol
	s := src.As4()
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

// TestMalformedAdverts sends, from a third namespace, 200 each of truncated,
// bad checksum, wrong TTL, wrong password, unknown VRID and garbage adverts
// (the plausible ones with priority 254): both daemons count them by reason
// and nothing changes (master stays master, backup stays backup, both run).
// Reference: RFC 3768 §7.1 (receiver MUST verify length, checksum, TTL 255,
// VRID configured, authentication, and discard otherwise).
func TestMalformedAdverts(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1", "r2")
	m, b := pairV2(l, 51)
	r1, r2 := startPair(t, l, m, b)
	n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
	gen := l.AddNode(t, "gen", 50)
	vip := l.VIP4(1)
	pc := openPacket(t, gen.NS, ifName, unix.ETH_P_ALL)
	src, dst := gen.Addr4(), vrrp.GroupIPv4

	good := vrrp.Advert{Version: vrrp.V2, VRID: 51, Priority: 254, Interval: time.Second,
		AuthType: vrrp.AuthPass, Addrs: []netip.Addr{vip}}
	copy(good.AuthData[:], "e2e-pass")
	marshal := func(a vrrp.Advert) []byte {
		p, err := a.Marshal(src, dst)
		if err != nil {
			t.Fatalf("marshal advert: %v", err)
		}
		return p
	}
	wrongAuth := good
	copy(wrongAuth.AuthData[:], "intruder")
	unknown := good
	unknown.VRID = 99
	badSum := marshal(good)
	badSum[6] ^= 0x5a
	rng := rand.New(rand.NewPCG(1, 2))

	cases := []struct {
		reason string // "" for garbage: any reason
		ttl    uint8
		pay    func(i int) []byte
	}{
		{"truncated", 255, func(int) []byte { return marshal(good)[:6] }},
		{"bad_checksum", 255, func(int) []byte { return badSum }},
		{"bad_ttl", 64, func(int) []byte { return marshal(good) }},
		{"auth_data_mismatch", 255, func(int) []byte { return marshal(wrongAuth) }},
		{"unknown_vrid", 255, func(int) []byte { return marshal(unknown) }},
		{"", 255, func(i int) []byte {
			p := make([]byte, 1+rng.IntN(64))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			return p
		}},
	}
	const count = 200
	transitions := r1.Status(t).Transitions + r2.Status(t).Transitions
	total := func(st map[string]uint64) (n uint64) {
		for _, v := range st {
			n += v
		}
		return n
	}
	for _, c := range cases {
		name := c.reason
		if name == "" {
			name = "garbage"
		}
		before := []map[string]uint64{r1.Status(t).Drops, r2.Status(t).Drops}
		for i := range count {
			if err := pc.Send(frameV4(gen.Link.HardwareAddr, src, dst, c.ttl, c.pay(i))); err != nil {
				t.Fatalf("send %s frame: %v", name, err)
			}
			time.Sleep(500 * time.Microsecond)
		}
		for i, x := range []*xvrrpd{r1, r2} {
			waitFor(t, 3*time.Second, x.Name+" to count "+name+" drops", func() bool {
				st, err := x.QueryStatus()
				if err != nil {
					return false
				}
				if c.reason == "" {
					return total(st.Drops)-total(before[i]) >= count
				}
				return st.Drops[c.reason]-before[i][c.reason] >= count
			})
		}
		t.Logf("%s: counted; r2 drops now %v", name, r2.Status(t).Drops)
	}

	if r1.Exited() || r2.Exited() {
		t.Fatalf("a daemon exited: r1 %v r2 %v", r1.Exited(), r2.Exited())
	}
	if s1, s2 := r1.State("VI_51"), r2.State("VI_51"); s1 != "MASTER" || s2 != "BACKUP" {
		t.Errorf("states after malformed adverts: r1 %s r2 %s, want MASTER BACKUP", s1, s2)
	}
	if !hasVIP(t, n1.NS, ifName, vip) || hasVIP(t, n2.NS, ifName, vip) {
		t.Errorf("VIP moved: r1 %v r2 %v", hasVIP(t, n1.NS, ifName, vip), hasVIP(t, n2.NS, ifName, vip))
	}
	if got := r2.Instance(t, "VI_51").Master; got != n1.Addr4().String() {
		t.Errorf("r2 sees master %q, want %v", got, n1.Addr4())
	}
	if tr := r1.Status(t).Transitions + r2.Status(t).Transitions; tr != transitions {
		t.Errorf("state transitions during the malformed adverts: %d, want none", tr-transitions)
	}
}
