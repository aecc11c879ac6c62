package e2e

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

// TestSplitBrainHeals (issue 10, "re-announce on contention"): the VRRP
// adverts between an xvrrpd master (150) and its backup (100, xvrrpd or
// keepalived with higher_prio_send_advert, xvrrpd's default) are cut both ways on the backup's bridge port while the
// client keeps probing the VIP; the backup takes over too (two masters),
// and the client follows its gratuitous ARP. When the adverts flow again
// the backup yields and drops the VIP; the client, whose ARP entry still
// names the backup, recovers only when the master announces the VIP again.
// The backup sends one advert as it yields (higher_prio_send_advert) and
// the master, hearing the lower priority, announces the VIP at once
// (garp_lower_prio_repeat, on by default): the client's outage
// after the heal stays within one advert interval (plus the machine's
// stalls). It logs `SPLIT version=… peer=… recover_ms=…`.
func TestSplitBrainHeals(t *testing.T) {
	testenv.RequireRoot(t)
	onlyDefaultDataplane(t)
	for _, v := range zoVersions {
		for _, peer := range zoPeers {
			t.Run(fmt.Sprintf("%s/%s", v, peer), func(t *testing.T) {
				requirePeer(t, peer)
				// keepalived steps down silently unless told otherwise
				// (xvrrpd's default: docs/MIGRATING.md).
				p := newZoPairWith(t, v, "xvrrpd", peer, []string{"higher_prio_send_advert"})
				port := p.backup.node.Link.BridgePort
				g := startGap(t, p.l.Client.NS, p.vip)
				time.Sleep(zoBaseline)
				heal := cutVRRP(t, p.l.Bridge, port)
				waitFor(t, v.mdi(zoBackupPrio)+5*time.Second, "the cut-off backup taking the VIP too", func() bool {
					return p.backup.hasVIP(p.vip) && p.master.hasVIP(p.vip)
				})
				// Long enough for the client to follow the backup's
				// gratuitous ARP.
				time.Sleep(3*v.interval + 200*time.Millisecond)
				healed := time.Now()
				heal()
				waitFor(t, 3*v.interval+5*time.Second, "the backup yielding", func() bool {
					return p.master.hasVIP(p.vip) && !p.backup.hasVIP(p.vip)
				})
				time.Sleep(zoAfter + 2*v.interval)
				res := g.Stop(t)
				var recover time.Duration
				for _, gp := range res.Gaps {
					if gp.To.After(healed) {
						recover = max(recover, gp.To.Sub(maxTime(gp.From, healed)))
					}
				}
				t.Logf("SPLIT version=%d peer=%s recover_ms=%.1f", v.version, peer, ms(recover))
				t.Logf("  probe: %v", res)
				for _, gp := range res.Gaps {
					t.Logf("  gap %v", gp)
				}
				if limit := v.interval + zoGapBound; recover > limit {
					t.Errorf("the client was without answers for %v after the split healed, want ≤ one advert interval + %v = %v", recover, zoGapBound, limit)
				}
				if !p.master.stateOK("MASTER") || !p.backup.stateOK("BACKUP") {
					t.Errorf("after the heal: the master is not MASTER or the backup not BACKUP")
				}
			})
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// cutVRRP drops IP protocol 112 both ways on a bridge port, in the
// bridge's namespace: a tcx program of a few instructions on its ingress
// and egress (this kernel has no tc classifier modules). The returned
// function removes it (healing); cleanup does too.
func cutVRRP(t *testing.T, br *netnstest.NS, port string) (heal func()) {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:    ebpf.SchedCLS,
		License: "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Reg(asm.R6, asm.R1),
			asm.LoadAbs(12, asm.Half), // ethertype
			asm.JNE.Imm(asm.R0, 0x0800, "pass"),
			asm.LoadAbs(23, asm.Byte), // IPv4 protocol
			asm.JEq.Imm(asm.R0, 112, "drop"),
			asm.Mov.Imm(asm.R0, -1).WithSymbol("pass"), // TCX_NEXT
			asm.Return(),
			asm.Mov.Imm(asm.R0, 2).WithSymbol("drop"), // TCX_DROP
			asm.Return(),
		},
	})
	if err != nil {
		t.Fatalf("load the VRRP-cutting program: %v", err)
	}
	var links []link.Link
	heal = func() {
		for _, l := range links {
			l.Close()
		}
		links = nil
	}
	t.Cleanup(func() { heal(); prog.Close() })
	err = br.Do(func() error {
		ifc, err := net.InterfaceByName(port)
		if err != nil {
			return err
		}
		for _, at := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
			l, err := link.AttachTCX(link.TCXOptions{Program: prog, Interface: ifc.Index, Attach: at})
			if err != nil {
				return err
			}
			links = append(links, l)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("cut VRRP on %s: %v", port, err)
	}
	return heal
}
