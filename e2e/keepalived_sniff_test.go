package e2e

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/internal/netnstest"
)

// kaSeen is one VRRP advert a kaSniffer saw arrive.
type kaSeen struct {
	At   time.Time // kernel receive time (SO_TIMESTAMPNS)
	Src  netip.Addr
	Prio uint8
}

// kaSniffer records the VRRP adverts (IPv4 and IPv6, protocol 112) that
// arrive on one interface, with the kernel's receive timestamps, so that
// takeover times can be measured from the advert that caused them rather
// than from when the test signalled a process.
type kaSniffer struct {
	mu   sync.Mutex
	seen []kaSeen
}

// kaSniffLimit bounds a capture: frames kept and how long it runs.
const (
	kaSniffMaxFrames = 100000
	kaSniffMaxTime   = 2 * time.Minute
)

// sniffVRRP starts recording the adverts arriving on dev in ns (not those
// the namespace sends); the capture stops at cleanup.
func sniffVRRP(t testing.TB, ns *netnstest.NS, dev string) *kaSniffer {
	t.Helper()
	return sniffVRRPDir(t, ns, dev, false)
}

// sniffToNode records the adverts the bridge forwards to node, on its
// bridge port: before node's own XDP program can consume them.
func sniffToNode(t testing.TB, l *lan, node *netnstest.Node) *kaSniffer {
	t.Helper()
	return sniffVRRPDir(t, l.Bridge, node.Link.BridgePort, true)
}

// sniffVRRPDir records the adverts dev in ns receives (outgoing false) or
// sends (outgoing true).
func sniffVRRPDir(t testing.TB, ns *netnstest.NS, dev string, outgoing bool) *kaSniffer {
	t.Helper()
	link, err := ns.Handle().LinkByName(dev)
	if err != nil {
		t.Fatalf("find %s in %s: %v", dev, ns.Name(), err)
	}
	ifindex := link.Attrs().Index
	all := htons(unix.ETH_P_ALL)
	fd := -1
	err = ns.Do(func() error {
		s, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(all))
		if err != nil {
			return err
		}
		if err := unix.Bind(s, &unix.SockaddrLinklayer{Protocol: all, Ifindex: ifindex}); err != nil {
			unix.Close(s)
			return err
		}
		if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			unix.Close(s)
			return err
		}
		tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(s, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(s)
			return err
		}
		fd = s
		return nil
	})
	if err != nil {
		t.Fatalf("packet socket on %s in %s: %v", dev, ns.Name(), err)
	}
	sn := &kaSniffer{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		oob := make([]byte, 128)
		end := time.Now().Add(kaSniffMaxTime)
		for n := 0; n < kaSniffMaxFrames && time.Now().Before(end); {
			select {
			case <-stop:
				return
			default:
			}
			nb, noob, _, from, err := unix.Recvmsg(fd, buf, oob, 0)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return
			}
			n++
			ll, ok := from.(*unix.SockaddrLinklayer)
			if !ok || (ll.Pkttype == unix.PACKET_OUTGOING) != outgoing {
				continue
			}
			src, prio, ok := parseVRRPPacket(ntohs(ll.Protocol), buf[:nb])
			if !ok {
				continue
			}
			at := time.Now()
			if ts, ok := kernelTimestamp(oob[:noob]); ok {
				at = ts
			}
			sn.mu.Lock()
			sn.seen = append(sn.seen, kaSeen{At: at, Src: src, Prio: prio})
			sn.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		unix.Close(fd)
	})
	return sn
}

// parseVRRPPacket returns the source address and priority of an IPv4 or
// IPv6 packet carrying a VRRP advert (IP protocol 112).
func parseVRRPPacket(ethertype uint16, p []byte) (netip.Addr, uint8, bool) {
	switch ethertype {
	case unix.ETH_P_IP:
		if len(p) < 20 || p[0]>>4 != 4 || p[9] != 112 {
			return netip.Addr{}, 0, false
		}
		ihl := int(p[0]&0x0f) * 4
		if len(p) < ihl+8 {
			return netip.Addr{}, 0, false
		}
		return netip.AddrFrom4([4]byte(p[12:16])), p[ihl+2], true
	case unix.ETH_P_IPV6:
		if len(p) < 40+8 || p[0]>>4 != 6 || p[6] != 112 {
			return netip.Addr{}, 0, false
		}
		return netip.AddrFrom16([16]byte(p[8:24])), p[40+2], true
	}
	return netip.Addr{}, 0, false
}

// kernelTimestamp extracts the SCM_TIMESTAMPNS control message.
func kernelTimestamp(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := *(*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Unix()), true
		}
	}
	return time.Time{}, false
}

// First returns the first advert seen at or after since that match says
// yes to.
func (sn *kaSniffer) First(since time.Time, match func(kaSeen) bool) (kaSeen, bool) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	for _, s := range sn.seen {
		if !s.At.Before(since) && match(s) {
			return s, true
		}
	}
	return kaSeen{}, false
}

// Await is First, waiting up to timeout for such an advert to be recorded:
// a daemon adds its VIP just before it sends, and the capture is read
// asynchronously, so a test that saw the VIP may ask before the advert is
// in.
func (sn *kaSniffer) Await(since time.Time, match func(kaSeen) bool, timeout time.Duration) (kaSeen, bool) {
	deadline := time.Now().Add(timeout)
	for {
		s, ok := sn.First(since, match)
		if ok || time.Now().After(deadline) {
			return s, ok
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// All returns the adverts seen at or after since that match says yes to.
func (sn *kaSniffer) All(since time.Time, match func(kaSeen) bool) []kaSeen {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	var out []kaSeen
	for _, s := range sn.seen {
		if !s.At.Before(since) && match(s) {
			out = append(out, s)
		}
	}
	return out
}

// Last returns the last advert seen before until that match says yes to.
func (sn *kaSniffer) Last(until time.Time, match func(kaSeen) bool) (kaSeen, bool) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	for i := len(sn.seen) - 1; i >= 0; i-- {
		if s := sn.seen[i]; s.At.Before(until) && match(s) {
			return s, true
		}
	}
	return kaSeen{}, false
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
func ntohs(v uint16) uint16 { return v<<8 | v>>8 }

// kaStallWatch notices when the machine stops running this process: a
// goroutine sleeps 5 ms at a time and records every wake-up that came much
// later. Timing bounds of 0.1 s adverts cannot hold on a machine that
// stalls for a second (CI shares 2 CPUs between packages); the tests use
// it to tell a slow daemon from a stalled machine.
type kaStallWatch struct {
	mu     sync.Mutex
	stalls []kaStall
}

type kaStall struct {
	start, end time.Time
}

// kaStallMin is the oversleep counted as a stall.
const kaStallMin = 50 * time.Millisecond

// watchStalls runs a kaStallWatch until cleanup (at most kaSniffMaxTime).
func watchStalls(t testing.TB) *kaStallWatch {
	w := &kaStallWatch{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		end := time.Now().Add(kaSniffMaxTime)
		prev := time.Now()
		for prev.Before(end) {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			now := time.Now()
			if now.Sub(prev) > 5*time.Millisecond+kaStallMin {
				w.mu.Lock()
				w.stalls = append(w.stalls, kaStall{start: prev, end: now})
				w.mu.Unlock()
			}
			prev = now
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return w
}

// Max returns the longest stall overlapping [from, to].
func (w *kaStallWatch) Max(from, to time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var m time.Duration
	for _, s := range w.stalls {
		if s.end.After(from) && s.start.Before(to) && s.end.Sub(s.start) > m {
			m = s.end.Sub(s.start)
		}
	}
	return m
}
