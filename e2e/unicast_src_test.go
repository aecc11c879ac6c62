package e2e

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp"
)

// TestCheckUnicastSrc: a unicast pair; a host that is not a peer sends
// the master valid adverts (the right password) at priority 254. With
// vrrp_check_unicast_src the master drops them (on every dataplane: the
// kernel path and the socket check the source) and stays MASTER; without
// it, as keepalived, it steps down for them — which shows the forged
// adverts are valid and reach it.
func TestCheckUnicastSrc(t *testing.T) {
	testenv.RequireRoot(t)
	for _, check := range []bool{true, false} {
		name := map[bool]string{true: "checked", false: "unchecked"}[check]
		t.Run(name, func(t *testing.T) {
			if !check {
				onlyDefaultDataplane(t)
			}
			l := newLAN(t, "r1", "r2")
			n1, n2 := l.Node(t, "r1"), l.Node(t, "r2")
			gen := l.AddNode(t, "gen", 77)
			m, b := pairV2(l, 61)
			m.UnicastSrc, m.UnicastPeers = n1.Addr4().String(), []string{n2.Addr4().String()}
			b.UnicastSrc, b.UnicastPeers = n2.Addr4().String(), []string{n1.Addr4().String()}
			var globals []string
			if check {
				globals = []string{"vrrp_check_unicast_src"}
			}
			x1 := startXvrrpd(t, n1.NS, "r1", keepalivedConf("r1", globals, m))
			x2 := startXvrrpd(t, n2.NS, "r2", keepalivedConf("r2", globals, b))
			inst := instanceName(m)
			waitFor(t, 15*time.Second, "r1 MASTER, r2 BACKUP", func() bool {
				return x1.State(inst) == "MASTER" && x2.State(inst) == "BACKUP"
			})
			before := len(x1.logLines("state transition"))

			// 20 forged adverts over a second, to r1's MAC.
			src := l.host4(66) // nobody's address
			a := vrrp.Advert{Version: vrrp.V2, VRID: 61, Priority: 254, Interval: time.Second,
				AuthType: vrrp.AuthPass, Addrs: []netip.Addr{l.VIP4(1)}}
			copy(a.AuthData[:], "e2e-pass")
			pay, err := a.Marshal(src, n1.Addr4())
			if err != nil {
				t.Fatal(err)
			}
			f := frameV4(gen.Link.HardwareAddr, src, n1.Addr4(), 255, pay)
			copy(f[0:6], n1.Link.HardwareAddr)
			pc := openPacket(t, gen.NS, ifName, unix.ETH_P_ALL)
			for range 20 {
				if err := pc.Send(f); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond)
			moved := len(x1.logLines("state transition")) - before
			if check {
				if moved != 0 || x1.State(inst) != "MASTER" || !hasVIP(t, n1.NS, ifName, l.VIP4(1)) {
					t.Errorf("with vrrp_check_unicast_src: %d transitions, state %s; want the forged adverts dropped", moved, x1.State(inst))
				}
				if d := x1.Status(t).Drops; len(d) == 0 {
					t.Errorf("no drop counted for the forged adverts: %v", d)
				} else {
					t.Logf("drops: %v", d)
				}
			} else if moved == 0 {
				t.Errorf("without vrrp_check_unicast_src the master ignored valid higher-priority adverts (state %s)", x1.State(inst))
			}
		})
	}
}
