package loader_test

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/internal/netnstest"
	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/netio"
)

var vip4, vip6 = netip.MustParseAddr("192.0.2.200"), netip.MustParseAddr("2001:db8::200")

// sendAdverts sends n copies of payload from node over IPv4 or IPv6
// multicast, from src.
func sendAdverts(t *testing.T, node *netnstest.Node, src netip.Addr, payload []byte, n int) {
	t.Helper()
	err := node.Do(func() error {
		s, err := netio.NewSender(netio.SenderConfig{Ifindex: node.Link.Index, Ifname: node.Link.Name, Src: src})
		if err != nil {
			return err
		}
		defer s.Close()
		for range n {
			if err := s.Send(payload); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("send adverts from %s: %v", node.Name(), err)
	}
}

func marshal(t *testing.T, a vrrp.Advert, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := a.Marshal(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitEvent waits for an event of vrid (bounded).
func waitEvent(t *testing.T, l *loader.Loader, vrid uint8, ipv6 bool) loader.Event {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case e := <-l.Events():
			if e.VRID == vrid && e.IPv6 == ipv6 {
				return e
			}
		case <-deadline:
			t.Fatalf("no event for vrid %d ipv6=%v within 3s", vrid, ipv6)
		}
	}
}

// waitStat polls the counters until cond holds (bounded).
func waitStat(t *testing.T, l *loader.Loader, what string, cond func(loader.Stats) bool) loader.Stats {
	t.Helper()
	for i := 0; ; i++ {
		s, err := l.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if cond(s) {
			return s
		}
		if i == 300 {
			t.Fatalf("%s: stats %+v", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAttachModes attaches to a veth in a test namespace in every mode and
// receives real adverts (IPv4 and IPv6, valid and invalid) from a peer.
//
// Reference: RFC 5798 §7.1 (receive checks), §5.1.2.1 (IPv6 link-local source).
func TestAttachModes(t *testing.T) {
	testenv.RequireRoot(t)
	topo := netnstest.Pair(t)
	a, b := topo.A, topo.B
	insts := []loader.Instance{
		{Ifindex: b.Link.Index, VRID: 5, Version: 3, Interval: time.Second, VIPs: []netip.Addr{vip4},
			OwnAddrs: []netip.Addr{b.Addr4()}},
		{Ifindex: b.Link.Index, VRID: 5, IPv6: true, Version: 3, Interval: time.Second, VIPs: []netip.Addr{vip6},
			OwnAddrs: []netip.Addr{b.Addr6(), b.Link.LinkLocal}},
	}
	adv4 := marshal(t, vrrp.Advert{Version: vrrp.V3, VRID: 5, Priority: 150, Interval: time.Second, Addrs: []netip.Addr{vip4}},
		a.Addr4(), vrrp.GroupIPv4)
	adv6 := marshal(t, vrrp.Advert{Version: vrrp.V3, VRID: 5, Priority: 120, Interval: time.Second, Addrs: []netip.Addr{vip6}},
		a.Link.LinkLocal, vrrp.GroupIPv6)
	bad := append([]byte(nil), adv4...)
	bad[7] ^= 0xff

	for _, mode := range []loader.Mode{loader.ModeXDP, loader.ModeXDPGeneric, loader.ModeTC, loader.ModeAuto} {
		t.Run(mode.String(), func(t *testing.T) {
			l, err := loader.Load(loader.Options{Log: zaptest.NewLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := l.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			if err := l.SetInstances(insts); err != nil {
				t.Fatal(err)
			}
			var used loader.Mode
			if err := b.Do(func() (err error) { used, err = l.Attach(b.Link.Index, mode); return err }); err != nil {
				t.Fatal(err)
			}
			if mode != loader.ModeAuto && used != mode {
				t.Fatalf("attached as %v, asked %v", used, mode)
			}
			if mode == loader.ModeAuto && used != loader.ModeXDP {
				t.Errorf("auto picked %v, want native xdp on a veth", used)
			}

			sendAdverts(t, a, a.Addr4(), adv4, 3)
			e := waitEvent(t, l, 5, false)
			if e.Src != a.Addr4() || e.Priority != 150 || e.Ifindex != b.Link.Index ||
				e.Kinds != loader.EventNewMaster|loader.EventAfterSilence {
				t.Errorf("ipv4 event %+v", e)
			}
			sendAdverts(t, a, a.Link.LinkLocal, adv6, 2)
			e = waitEvent(t, l, 5, true)
			if e.Src != a.Link.LinkLocal || e.Priority != 120 {
				t.Errorf("ipv6 event %+v", e)
			}
			sendAdverts(t, a, a.Addr4(), bad, 1)
			s := waitStat(t, l, "3+2 accepted, 1 bad checksum", func(s loader.Stats) bool {
				return s.Drops[vrrp.DropNone] == 5 && s.Drops[vrrp.DropBadChecksum] == 1
			})
			if s.Events != 2 {
				t.Errorf("%d records, want 2 (one per virtual router)", s.Events)
			}
			st, ok := l.AdvertState(b.Link.Index, 5, false)
			if !ok || st.Count != 3 || st.Master != a.Addr4() || st.Priority != 150 {
				t.Errorf("advert state %+v ok=%v", st, ok)
			}
		})
	}
}

// mountBPFFS gives the test a private pin root: the loader mounts bpffs on
// its parent, the cleanup unmounts it.
func mountBPFFS(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "bpffs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return filepath.Join(dir, "xvrrp")
}

// TestPinsAndBpftool: maps are pinned under <root>/<id>/ with BTF (bpftool
// prints field names) and Close removes them.
func TestPinsAndBpftool(t *testing.T) {
	testenv.RequireRoot(t)
	bpftool := testenv.RequireCommand(t, "bpftool")
	root := mountBPFFS(t)
	l, err := loader.Load(loader.Options{ID: "4026531840", PinRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "4026531840")
	if l.PinDir() != dir {
		t.Errorf("pin dir %q, want %q", l.PinDir(), dir)
	}
	err = l.SetInstances([]loader.Instance{{Ifindex: 1, VRID: 9, Version: 3, Interval: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"instances", "addrs", "adverts", "rates", "stats", "events"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("pin %s: %v", name, err)
		}
	}
	out, err := exec.Command(bpftool, "map", "dump", "pinned", filepath.Join(dir, "instances")).CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool: %v: %s", err, out)
	}
	for _, field := range []string{"interval_ns", "vrid", "rate_per_interval"} {
		if !strings.Contains(string(out), field) {
			t.Errorf("bpftool output lacks field %q (no BTF?):\n%s", field, out)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin directory after Close: %v", err)
	}
}

const crashEnv = "XVRRP_LOADER_CRASH_ROOT"

// TestCrashHelper is the child of TestStalePinsReplaced: it loads with pins
// and waits to be killed.
func TestCrashHelper(t *testing.T) {
	root := os.Getenv(crashEnv)
	if root == "" {
		t.Skip("helper process of TestStalePinsReplaced")
	}
	if _, err := loader.Load(loader.Options{ID: "crash", PinRoot: root}); err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("ready\n")
	time.Sleep(30 * time.Second)
	os.Exit(2)
}

// TestStalePinsReplaced: a process that loaded with an ID and was killed
// leaves its pins; the next Load with the same ID replaces them.
func TestStalePinsReplaced(t *testing.T) {
	testenv.RequireRoot(t)
	root := mountBPFFS(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+root)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if line != "ready\n" {
		t.Fatalf("helper: %q", line)
	}
	stalePath := filepath.Join(root, "crash", "instances")
	stale, err := ebpf.LoadPinnedMap(stalePath, nil)
	if err != nil {
		t.Fatalf("the crashed process left no pins: %v", err)
	}
	staleInfo, _ := stale.Info()
	staleID, _ := staleInfo.ID()
	stale.Close()

	l, err := loader.Load(loader.Options{ID: "crash", PinRoot: root, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("load over stale pins: %v", err)
	}
	defer l.Close()
	m, err := ebpf.LoadPinnedMap(stalePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	info, _ := m.Info()
	if id, _ := info.ID(); id == staleID {
		t.Errorf("pin still holds the crashed process's map (id %d)", id)
	}
}

// TestLoadErrorsWrapUnavailable: a bad pin ID comes back as ErrUnavailable.
func TestLoadErrorsWrapUnavailable(t *testing.T) {
	testenv.RequireRoot(t)
	_, err := loader.Load(loader.Options{ID: "../x", PinRoot: mountBPFFS(t)})
	if !errors.Is(err, loader.ErrUnavailable) {
		t.Fatalf("err %v, want ErrUnavailable", err)
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []loader.Mode{loader.ModeAuto, loader.ModeXDP, loader.ModeXDPGeneric, loader.ModeTC} {
		got, err := loader.ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := loader.ParseMode("ebpf"); err == nil {
		t.Error("ParseMode accepted an unknown mode")
	}
}
