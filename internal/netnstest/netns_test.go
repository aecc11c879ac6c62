package netnstest

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/xvrrp/xvrrp/internal/testenv"
)

func TestNamespaceLifecycle(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip")

	var names []string
	var sleeper, orphan int
	t.Run("create", func(t *testing.T) {
		a := New(t, "life")
		names = append(names, a.Name())
		if !strings.HasPrefix(a.Name(), "xv") {
			t.Errorf("name %q lacks the xv prefix", a.Name())
		}
		if !Exists(a.Name()) {
			t.Fatalf("namespace %s not under /run/netns", a.Name())
		}
		out, err := runHost(t, "ip", "netns", "list")
		if err != nil || !strings.Contains(out, a.Name()) {
			t.Fatalf("ip netns list does not show %s: %v\n%s", a.Name(), err, out)
		}

		// lo is up and is the only link.
		links, err := a.Handle().LinkList()
		if err != nil {
			t.Fatal(err)
		}
		if len(links) != 1 || links[0].Attrs().Name != "lo" || links[0].Attrs().Flags&net.FlagUp == 0 {
			t.Fatalf("links in a new namespace: %v", links)
		}

		// Do really switches: the interfaces seen inside are the namespace's.
		var ifs []net.Interface
		if err := a.Do(func() error {
			var err error
			ifs, err = net.Interfaces()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(ifs) != 1 || ifs[0].Name != "lo" {
			t.Fatalf("interfaces inside Do: %v", ifs)
		}
		// DAD is off inside, and the host's setting is untouched.
		var dad []byte
		if err := a.Do(func() error {
			var err error
			dad, err = os.ReadFile("/proc/sys/net/ipv6/conf/default/accept_dad")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(dad)) != "0" {
			t.Errorf("accept_dad inside = %q, want 0", dad)
		}

		// A process started inside runs in the namespace and is stopped at cleanup.
		out, err = a.Run(5*time.Second, "ip", "-o", "link", "show")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "lo:") {
			t.Fatalf("ip link inside the namespace shows:\n%s", out)
		}
		p := a.Start(t, "sleep", "60")
		sleeper = p.Pid()
		// A second process that nobody registered: cleanup must kill it too.
		cmd := a.Exec(context.Background(), "sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		orphan = cmd.Process.Pid
		go cmd.Wait() // reaped once cleanup kills it
		// "ip netns exec" enters the namespace and then execs sleep: wait
		// for that, or cleanup could look before the process is inside.
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if exe, _ := os.Readlink("/proc/" + itoa(orphan) + "/exe"); strings.HasSuffix(exe, "/sleep") {
				break
			}
		}
	})
	for _, n := range names {
		if Exists(n) {
			t.Errorf("namespace %s still exists after cleanup", n)
		}
	}
	if orphan != 0 && !gone(orphan, 2*time.Second) {
		t.Errorf("unregistered process %d in the namespace survived cleanup", orphan)
	}
	if sleeper != 0 {
		if _, err := os.Stat("/proc/" + itoa(sleeper)); err == nil {
			t.Errorf("process %d started in the namespace survived cleanup", sleeper)
		}
	}
}

func TestBridgeAndPing(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip")

	var names []string
	t.Run("topology", func(t *testing.T) {
		topo := Pair(t)
		for _, n := range []*NS{topo.Bridge, topo.A.NS, topo.B.NS, topo.Client.NS} {
			names = append(names, n.Name())
		}
		// Bridge ports: three veth ends enslaved to br0.
		br, err := topo.Bridge.Handle().LinkByName(BridgeName)
		if err != nil {
			t.Fatal(err)
		}
		links, err := topo.Bridge.Handle().LinkList()
		if err != nil {
			t.Fatal(err)
		}
		ports := 0
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				ports++
			}
		}
		if ports != 3 {
			t.Errorf("bridge has %d ports, want 3", ports)
		}

		// Node links: the address is there, IPv6 without DAD, link-local known.
		if !topo.A.Link.LinkLocal.IsLinkLocalUnicast() {
			t.Errorf("A link-local = %v", topo.A.Link.LinkLocal)
		}
		l, err := topo.A.Handle().LinkByName(IfName)
		if err != nil {
			t.Fatal(err)
		}
		if l.Attrs().Index != topo.A.Link.Index {
			t.Errorf("index %d, Link says %d", l.Attrs().Index, topo.A.Link.Index)
		}
		addrs, err := topo.A.Handle().AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, a := range addrs {
			found[a.IPNet.String()] = true
		}
		for _, want := range []string{"192.0.2.1/24", "2001:db8::1/64"} {
			if !found[want] {
				t.Errorf("A lacks %s: %v", want, addrs)
			}
		}
		if got := topo.Client.Addr4().String(); got != "192.0.2.100" {
			t.Errorf("client IPv4 %s", got)
		}
		if got := topo.Client.Addr6().String(); got != "2001:db8::100" {
			t.Errorf("client IPv6 %s", got)
		}

		for _, dst := range []struct {
			name string
			from *Node
			to   string
		}{
			{"a-to-b-v4", topo.A, topo.B.Addr4().String()},
			{"b-to-a-v6", topo.B, topo.A.Addr6().String()},
			{"client-to-a-v4", topo.Client, topo.A.Addr4().String()},
			{"a-to-b-linklocal", topo.A, topo.B.Link.LinkLocal.WithZone(IfName).String()},
		} {
			t.Run(dst.name, func(t *testing.T) {
				if err := dst.from.Ping(mustAddr(t, dst.to), 3, time.Second); err != nil {
					t.Fatal(err)
				}
			})
		}
		// An address nobody has: no reply, bounded.
		if err := topo.A.Ping(mustAddr(t, "192.0.2.77"), 1, 200*time.Millisecond); err == nil {
			t.Errorf("ping to an absent address succeeded")
		}
	})
	for _, n := range names {
		if Exists(n) {
			t.Errorf("namespace %s still exists after cleanup", n)
		}
	}
}

// gone waits until pid has no /proc entry (killed and reaped).
func gone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat("/proc/" + itoa(pid)); err != nil {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
