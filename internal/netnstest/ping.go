package netnstest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Ping sends up to count ICMP echo requests from inside the namespace to dst,
// one at a time, each waiting at most timeout for its reply. It returns nil
// at the first reply, or an error when none came.
func (n *NS) Ping(dst netip.Addr, count int, timeout time.Duration) error {
	network, proto := "ip4:icmp", 1
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() && !dst.Is4In6() {
		network, proto = "ip6:ipv6-icmp", 58
		reqType, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	var c *icmp.PacketConn
	if err := n.Do(func() error {
		var err error
		// Zone names resolve in the calling thread's namespace: turn a
		// name into this namespace's index while inside it.
		if z := dst.Zone(); z != "" {
			if _, err := strconv.Atoi(z); err != nil {
				ifi, err := net.InterfaceByName(z)
				if err != nil {
					return err
				}
				dst = dst.WithZone(strconv.Itoa(ifi.Index))
			}
		}
		c, err = icmp.ListenPacket(network, "")
		return err
	}); err != nil {
		return fmt.Errorf("open icmp socket in %s: %w", n.name, err)
	}
	defer c.Close()

	id := os.Getpid() & 0xffff
	buf := make([]byte, 1500)
	for seq := 1; seq <= count; seq++ {
		msg := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("xvrrp-netnstest")}}
		b, err := msg.Marshal(nil) // the kernel fills the ICMPv6 checksum
		if err != nil {
			return fmt.Errorf("marshal echo: %w", err)
		}
		if _, err := c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}); err != nil {
			return fmt.Errorf("send echo to %s: %w", dst, err)
		}
		deadline := time.Now().Add(timeout)
		if err := c.SetReadDeadline(deadline); err != nil {
			return err
		}
		for {
			nr, from, err := c.ReadFrom(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return fmt.Errorf("read echo reply: %w", err)
			}
			m, err := icmp.ParseMessage(proto, buf[:nr])
			if err != nil || m.Type != replyType {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && e.Seq == seq {
				if a, ok := from.(*net.IPAddr); ok && a.IP.Equal(dst.AsSlice()) {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("no echo reply from %s in %s after %d requests", dst, n.name, count)
}
