package gapprobe

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Bounds of a run.
const (
	// MaxDuration is the longest a run sends.
	MaxDuration = 10 * time.Minute
	// MaxRequests is the most requests a run sends.
	MaxRequests = 1 << 20
	// MinInterval is the shortest interval between requests.
	MinInterval = 100 * time.Microsecond
)

// Config describes a run.
type Config struct {
	// Interval between requests; 0 means 1 ms.
	Interval time.Duration
	// Duration is the longest the run sends (it stops earlier when its
	// context is done); required, at most MaxDuration.
	Duration time.Duration
	// Wait is how long to wait for late replies after the last request;
	// 0 means 100 ms.
	Wait time.Duration
	// ReportAbove: gaps longer than this (and any with a request lost)
	// are listed in Result.Gaps; 0 means 5 × Interval.
	ReportAbove time.Duration
}

// Probe is a raw ICMP socket aimed at one target. One run at a time.
type Probe struct {
	target netip.Addr
	v6     bool
	f      *os.File // the socket, non-blocking, in Go's poller
	mu     sync.Mutex
}

// Listen opens a raw ICMP (ICMPv6 for an IPv6 target) socket in the
// calling thread's network namespace, for probing target. It needs root or
// CAP_NET_RAW. The socket stays in that namespace whichever thread uses it
// afterwards.
func Listen(target netip.Addr) (*Probe, error) {
	target = target.Unmap()
	if !target.IsValid() || target.IsUnspecified() {
		return nil, fmt.Errorf("probe target %v: not an address", target)
	}
	if target.Zone() != "" {
		return nil, fmt.Errorf("probe target %v: scoped addresses are not supported", target)
	}
	p := &Probe{target: target, v6: target.Is6()}
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if p.v6 {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("open raw icmp socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("enable receive timestamps: %w", err)
	}
	// 1 MiB: a few seconds of replies even if the reader falls behind.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	p.f = os.NewFile(uintptr(fd), "gapprobe-icmp")
	return p, nil
}

// Target is the address the probe sends to.
func (p *Probe) Target() netip.Addr { return p.target }

// Close closes the socket.
func (p *Probe) Close() error { return p.f.Close() }

// payloadLen is the echo payload: 8 bytes of per-run nonce, the 32-bit
// sequence number, 4 bytes of padding.
const payloadLen = 16

// Run sends an echo request every cfg.Interval until ctx is done or
// cfg.Duration has passed (ctx ending is the normal way to stop; it is not
// an error), then waits cfg.Wait for late replies and returns what it
// measured. An error means the run could not take place (bad
// configuration, a socket error).
func (p *Probe) Run(ctx context.Context, cfg Config) (Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cfg.Interval == 0 {
		cfg.Interval = time.Millisecond
	}
	if cfg.Wait == 0 {
		cfg.Wait = 100 * time.Millisecond
	}
	if cfg.ReportAbove == 0 {
		cfg.ReportAbove = 5 * cfg.Interval
	}
	switch {
	case cfg.Interval < MinInterval:
		return Result{}, fmt.Errorf("probe interval %v below %v", cfg.Interval, MinInterval)
	case cfg.Duration <= 0 || cfg.Duration > MaxDuration:
		return Result{}, fmt.Errorf("probe duration %v not in (0, %v]", cfg.Duration, MaxDuration)
	case cfg.Wait < 0 || cfg.Wait > time.Minute:
		return Result{}, fmt.Errorf("probe wait %v not in [0, 1m]", cfg.Wait)
	}
	count := min(int(cfg.Duration/cfg.Interval)+1, MaxRequests)

	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return Result{}, err
	}
	id := binary.BigEndian.Uint16(nonce[:2])
	sent := make([]int64, count)    // unix ns; written by this goroutine only
	replied := make([]int64, count) // unix ns; written by the reader only
	rc, err := p.f.SyscallConn()
	if err != nil {
		return Result{}, err
	}
	if err := p.f.SetReadDeadline(time.Time{}); err != nil {
		return Result{}, fmt.Errorf("clear read deadline: %w", err)
	}

	// The reader runs until the read deadline set after the last request.
	var dups int
	readErr := make(chan error, 1)
	go func() {
		readErr <- p.read(rc, id, nonce, replied, &dups)
	}()

	sendErrs, sendErr := p.send(ctx, rc, cfg, id, nonce, sent)
	if err := p.f.SetReadDeadline(time.Now().Add(cfg.Wait)); err != nil {
		return Result{}, fmt.Errorf("set read deadline: %w", err)
	}
	if err := <-readErr; err != nil {
		return Result{}, err
	}

	st, rt := make([]time.Time, count), make([]time.Time, count)
	for i := range count {
		if sent[i] != 0 {
			st[i] = time.Unix(0, sent[i])
		}
		if replied[i] != 0 {
			rt[i] = time.Unix(0, replied[i])
		}
	}
	r := analyze(st, rt, cfg.ReportAbove)
	r.Target, r.Interval = p.target, cfg.Interval
	r.Duplicates, r.SendErrors = dups, sendErrs
	if r.Sent == 0 && sendErr != nil {
		return r, fmt.Errorf("send echo to %s: %w", p.target, sendErr)
	}
	return r, nil
}

// send sends up to len(sent) requests, one every cfg.Interval, until ctx is
// done or cfg.Duration has passed, and records when each was sent. It runs
// on a locked OS thread that sleeps with clock_nanosleep to absolute times:
// Go's timers wake up a millisecond or more late on a busy machine, which
// would show as gaps. A late wake-up does not catch up (no bursts).
func (p *Probe) send(ctx context.Context, rc interface {
	Write(func(fd uintptr) bool) error
}, cfg Config, id uint16, nonce [8]byte, sent []int64) (errs int, lastErr error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	req := make([]byte, 8+payloadLen)
	dst := p.sockaddr()
	start := monotonic()
	next, stop := start, start+cfg.Duration.Nanoseconds()
	for seq := range sent {
		if d := next - monotonic(); d > 0 {
			ts := unix.NsecToTimespec(next)
			for {
				err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil)
				if !errors.Is(err, unix.EINTR) {
					break
				}
			}
		}
		now := monotonic()
		if ctx.Err() != nil || now > stop {
			break
		}
		p.echo(req, id, nonce, uint32(seq))
		var serr error
		werr := rc.Write(func(fd uintptr) bool {
			serr = unix.Sendto(int(fd), req, 0, dst)
			return !errors.Is(serr, unix.EAGAIN)
		})
		if werr == nil && serr == nil {
			sent[seq] = time.Now().UnixNano()
		} else {
			errs++
			lastErr = errors.Join(werr, serr)
		}
		next += cfg.Interval.Nanoseconds()
		if now := monotonic(); next < now {
			next = now
		}
	}
	return errs, lastErr
}

// monotonic reads CLOCK_MONOTONIC in nanoseconds.
func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func (p *Probe) sockaddr() unix.Sockaddr {
	if p.v6 {
		return &unix.SockaddrInet6{Addr: p.target.As16()}
	}
	return &unix.SockaddrInet4{Addr: p.target.As4()}
}

// echo writes an echo request with sequence number seq into b (8-byte
// ICMP header and the payload). The kernel fills the ICMPv6 checksum.
func (p *Probe) echo(b []byte, id uint16, nonce [8]byte, seq uint32) {
	b[0] = 8 // ICMP echo request
	if p.v6 {
		b[0] = 128 // ICMPv6 echo request
	}
	b[1] = 0
	b[2], b[3] = 0, 0
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], uint16(seq))
	copy(b[8:], nonce[:])
	binary.BigEndian.PutUint32(b[16:], seq)
	clear(b[20:])
	if !p.v6 {
		binary.BigEndian.PutUint16(b[2:], checksum(b))
	}
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// read records the arrival of the first reply to each request in replied
// until the socket's read deadline passes.
func (p *Probe) read(rc interface {
	Read(func(fd uintptr) bool) error
}, id uint16, nonce [8]byte, replied []int64, dups *int) error {
	buf := make([]byte, 1500)
	oob := make([]byte, unix.CmsgSpace(16))
	for {
		var n, oobn int
		var from unix.Sockaddr
		var err error
		rerr := rc.Read(func(fd uintptr) bool {
			n, oobn, _, from, err = unix.Recvmsg(int(fd), buf, oob, 0)
			return !errors.Is(err, unix.EAGAIN)
		})
		if errors.Is(rerr, os.ErrDeadlineExceeded) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read echo replies: %w", rerr)
		}
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("read echo replies: %w", err)
		}
		at := time.Now().UnixNano()
		if ts, ok := rxTime(oob[:oobn]); ok {
			at = ts
		}
		seq, ok := p.match(buf[:n], from, id, nonce)
		if !ok || int(seq) >= len(replied) {
			continue
		}
		if replied[seq] != 0 {
			*dups++
			continue
		}
		replied[seq] = at
	}
}

// rxTime returns the kernel receive time from an SCM_TIMESTAMPNS message.
func rxTime(oob []byte) (int64, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			return sec*1e9 + nsec, true
		}
	}
	return 0, false
}

// match returns the sequence number of an echo reply to this run from the
// target; b is what the raw socket read (an IPv4 socket includes the IP
// header).
func (p *Probe) match(b []byte, from unix.Sockaddr, id uint16, nonce [8]byte) (uint32, bool) {
	var src netip.Addr
	switch sa := from.(type) {
	case *unix.SockaddrInet4:
		src = netip.AddrFrom4(sa.Addr)
	case *unix.SockaddrInet6:
		src = netip.AddrFrom16(sa.Addr)
	}
	if src.Unmap() != p.target {
		return 0, false
	}
	return parseReply(b, p.v6, id, nonce)
}

// parseReply checks that b is an echo reply (after the IPv4 header unless
// v6) with the run's id and nonce and returns its sequence number.
func parseReply(b []byte, v6 bool, id uint16, nonce [8]byte) (uint32, bool) {
	replyType := byte(0)
	if v6 {
		replyType = 129
	} else {
		if len(b) < 20 || b[0]>>4 != 4 {
			return 0, false
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return 0, false
		}
		b = b[ihl:]
	}
	if len(b) < 8+payloadLen || b[0] != replyType || b[1] != 0 {
		return 0, false
	}
	if binary.BigEndian.Uint16(b[4:]) != id || [8]byte(b[8:16]) != nonce {
		return 0, false
	}
	seq := binary.BigEndian.Uint32(b[16:])
	if uint16(seq) != binary.BigEndian.Uint16(b[6:]) {
		return 0, false
	}
	return seq, true
}
