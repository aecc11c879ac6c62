package gapprobe

import (
	"encoding/binary"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const ms = time.Millisecond

// run builds send and reply times for n requests sent every ms, each
// answered rtt later unless lost says otherwise.
func run(n int, rtt time.Duration, lost func(seq int) bool) (sent, replied []time.Time) {
	sent, replied = make([]time.Time, n), make([]time.Time, n)
	for i := range n {
		sent[i] = t0.Add(time.Duration(i) * ms)
		if lost == nil || !lost(i) {
			replied[i] = sent[i].Add(rtt)
		}
	}
	return sent, replied
}

func between(lo, hi int) func(int) bool {
	return func(i int) bool { return i >= lo && i <= hi }
}

// analyzeCase is one run of TestAnalyze: its times and what analyze must
// find (gaps listed above 5 ms).
type analyzeCase struct {
	name           string
	sent, replied  []time.Time
	sentN, recvN   int
	lostN, lostRun int
	gap            time.Duration
	gapLost        int
	open           bool
	listed         int
	leading        time.Duration
}

func TestAnalyze(t *testing.T) {
	const rtt = 100 * time.Microsecond
	var tests []analyzeCase
	{
		s, r := run(100, rtt, nil)
		tests = append(tests, analyzeCase{name: "every request answered: the gap is the interval",
			sent: s, replied: r, sentN: 100, recvN: 100, gap: ms, leading: rtt})
	}
	{
		// seq 40..44 lost: from reply 39 to reply 45 is 6 intervals.
		s, r := run(100, rtt, between(40, 44))
		tests = append(tests, analyzeCase{name: "five lost in a row",
			sent: s, replied: r, sentN: 100, recvN: 95, lostN: 5, lostRun: 5,
			gap: 6 * ms, gapLost: 5, listed: 1, leading: rtt})
	}
	{
		// Two holes: 3 lost (gap 4 ms, listed for its losses) and 10
		// lost (11 ms).
		s, r := run(100, rtt, func(i int) bool { return between(10, 12)(i) || between(50, 59)(i) })
		tests = append(tests, analyzeCase{name: "the larger of two holes",
			sent: s, replied: r, sentN: 100, recvN: 87, lostN: 13, lostRun: 10,
			gap: 11 * ms, gapLost: 10, listed: 2, leading: rtt})
	}
	{
		// The run ends inside an outage: from reply 79 (at 79.1 ms) to
		// the last request (at 99 ms).
		s, r := run(100, rtt, between(80, 99))
		tests = append(tests, analyzeCase{name: "open at the end",
			sent: s, replied: r, sentN: 100, recvN: 80, lostN: 20, lostRun: 20,
			gap: 20*ms - rtt, gapLost: 20, open: true, listed: 1, leading: rtt})
	}
	{
		// Lost before the first reply (ARP resolution): only Leading.
		s, r := run(100, rtt, between(0, 9))
		tests = append(tests, analyzeCase{name: "lost before the first reply",
			sent: s, replied: r, sentN: 100, recvN: 90, lostN: 10, lostRun: 10,
			gap: ms, leading: 10*ms + rtt})
	}
	{
		s, r := run(50, rtt, func(int) bool { return true })
		tests = append(tests, analyzeCase{name: "no reply at all",
			sent: s, replied: r, sentN: 50, lostN: 50, lostRun: 50,
			gap: 49 * ms, gapLost: 50, open: true, listed: 1, leading: 49 * ms})
	}
	{
		// Requests 20..29 could not be sent: neither sent nor lost, and
		// the replies around them are 11 ms apart.
		s, r := run(100, rtt, between(20, 29))
		for i := 20; i <= 29; i++ {
			s[i] = time.Time{}
		}
		tests = append(tests, analyzeCase{name: "unsent requests are not lost",
			sent: s, replied: r, sentN: 90, recvN: 90, gap: 11 * ms, listed: 1, leading: rtt})
	}
	{
		// Replies 30..39 held back and delivered together 20 ms after
		// request 39, while 40 onwards come on time: arrival order
		// counts, so the gap runs from reply 29 (at 29.1 ms) to reply 40
		// (at 40.1 ms), as a client sees it; nothing was lost.
		s, r := run(100, rtt, nil)
		for i := 30; i <= 39; i++ {
			r[i] = s[39].Add(20*ms + rtt)
		}
		tests = append(tests, analyzeCase{name: "late burst",
			sent: s, replied: r, sentN: 100, recvN: 100, gap: 11 * ms, listed: 1, leading: rtt})
	}
	tests = append(tests, analyzeCase{name: "nothing sent"})

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := analyze(tc.sent, tc.replied, 5*ms)
			if r.Sent != tc.sentN || r.Received != tc.recvN || r.Lost != tc.lostN || r.MaxLostRun != tc.lostRun {
				t.Errorf("sent/received/lost/longest run = %d/%d/%d/%d, want %d/%d/%d/%d",
					r.Sent, r.Received, r.Lost, r.MaxLostRun, tc.sentN, tc.recvN, tc.lostN, tc.lostRun)
			}
			if r.MaxGap.Len() != tc.gap || r.MaxGap.Lost != tc.gapLost || r.MaxGap.Open != tc.open {
				t.Errorf("largest gap = %v (lost %d, open %v), want %v (lost %d, open %v)",
					r.MaxGap.Len(), r.MaxGap.Lost, r.MaxGap.Open, tc.gap, tc.gapLost, tc.open)
			}
			if len(r.Gaps) != tc.listed {
				t.Errorf("listed gaps = %v, want %d", r.Gaps, tc.listed)
			}
			if r.Leading != tc.leading {
				t.Errorf("leading = %v, want %v", r.Leading, tc.leading)
			}
			if tc.sentN > 1 && r.MaxSendGap < ms {
				t.Errorf("largest send gap = %v, want ≥ 1 ms", r.MaxSendGap)
			}
		})
	}
}

func TestAnalyzeGapBounds(t *testing.T) {
	// A probe that woke up 7 ms late between requests 49 and 50: the
	// replies are 8 ms apart, and MaxSendGap says why.
	s, r := run(100, 0, nil)
	for i := 50; i < 100; i++ {
		s[i] = s[i].Add(7 * ms)
		r[i] = s[i]
	}
	res := analyze(s, r, 5*ms)
	if res.MaxGap.Len() != 8*ms || res.MaxSendGap != 8*ms || res.Lost != 0 {
		t.Fatalf("gap %v, send gap %v, lost %d; want 8 ms, 8 ms, 0", res.MaxGap.Len(), res.MaxSendGap, res.Lost)
	}
	if !res.Start.Equal(t0) || !res.End.Equal(t0.Add(106*ms)) {
		t.Errorf("start %v end %v", res.Start, res.End)
	}
}

func TestAnalyzeGapsListBounded(t *testing.T) {
	// Every other 10 requests lost: 500 gaps above 5 ms, 100 listed.
	s, r := run(10000, 0, func(i int) bool { return (i/10)%2 == 1 })
	res := analyze(s, r, 5*ms)
	if len(res.Gaps) != maxGaps {
		t.Fatalf("%d gaps listed, want %d", len(res.Gaps), maxGaps)
	}
	if res.MaxGap.Len() != 11*ms || res.MaxLostRun != 10 {
		t.Errorf("gap %v run %d", res.MaxGap.Len(), res.MaxLostRun)
	}
}

// Reference: RFC 1071 §3 (the example sums to 0xddf2, so the checksum is
// its complement).
func TestChecksum(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := checksum(b); got != ^uint16(0xddf2) {
		t.Errorf("checksum = %#04x, want %#04x", got, ^uint16(0xddf2))
	}
	// A message with its checksum in place sums to zero.
	p := &Probe{}
	req := make([]byte, 8+payloadLen)
	p.echo(req, 0x1234, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, 70000)
	if checksum(req) != 0 {
		t.Errorf("echo request checksum does not verify: % x", req)
	}
	if checksum([]byte{0xff}) != ^uint16(0xff00) {
		t.Error("odd length: the last byte is the high half of a word")
	}
}

func TestEchoRequestBytes(t *testing.T) {
	nonce := [8]byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}
	req := make([]byte, 8+payloadLen)
	(&Probe{v6: true}).echo(req, 0xbeef, nonce, 0x00012345)
	want := []byte{
		128, 0, 0, 0, // ICMPv6 echo request, code 0, checksum left to the kernel
		0xbe, 0xef, // identifier
		0x23, 0x45, // sequence: the low 16 bits
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, // nonce
		0x00, 0x01, 0x23, 0x45, // the whole sequence number
		0, 0, 0, 0, // padding
	}
	if string(req) != string(want) {
		t.Errorf("request\n got % x\nwant % x", req, want)
	}
}

func TestParseReply(t *testing.T) {
	nonce := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	reply := func(v6 bool, typ byte, id uint16, n [8]byte, seq uint32) []byte {
		b := make([]byte, 8+payloadLen)
		(&Probe{v6: v6}).echo(b, id, n, seq)
		b[0] = typ
		if v6 {
			return b
		}
		ip := make([]byte, 20, 20+len(b))
		ip[0] = 0x45
		ip[9] = unix.IPPROTO_ICMP
		return append(ip, b...)
	}
	tests := []struct {
		name string
		b    []byte
		v6   bool
		ok   bool
		seq  uint32
	}{
		{"v4 reply", reply(false, 0, 7, nonce, 65537), false, true, 65537},
		{"v6 reply", reply(true, 129, 7, nonce, 3), true, true, 3},
		{"v4 request (loopback sees its own)", reply(false, 8, 7, nonce, 3), false, false, 0},
		{"v6 request", reply(true, 128, 7, nonce, 3), true, false, 0},
		{"another identifier", reply(false, 0, 8, nonce, 3), false, false, 0},
		{"another run", reply(false, 0, 7, [8]byte{9}, 3), false, false, 0},
		{"short", reply(false, 0, 7, nonce, 3)[:30], false, false, 0},
		{"not IPv4", append([]byte{0x65}, reply(false, 0, 7, nonce, 3)[1:]...), false, false, 0},
		{"IPv4 options", func() []byte {
			b := reply(false, 0, 7, nonce, 9)
			b[0] = 0x46
			return append(append(append([]byte(nil), b[:20]...), 1, 1, 1, 0), b[20:]...)
		}(), false, true, 9},
		{"sequence fields disagree", func() []byte {
			b := reply(true, 129, 7, nonce, 3)
			binary.BigEndian.PutUint16(b[6:], 4)
			return b
		}(), true, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seq, ok := parseReply(tc.b, tc.v6, 7, nonce)
			if ok != tc.ok || seq != tc.seq {
				t.Errorf("parseReply = %d, %v; want %d, %v", seq, ok, tc.seq, tc.ok)
			}
		})
	}
}

func TestRxTime(t *testing.T) {
	oob := make([]byte, unix.CmsgSpace(16))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS
	h.SetLen(unix.CmsgLen(16))
	data := oob[unix.CmsgLen(0):]
	binary.NativeEndian.PutUint64(data[0:], 1700000000)
	binary.NativeEndian.PutUint64(data[8:], 123456789)
	got, ok := rxTime(oob)
	if !ok || got != 1700000000*1e9+123456789 {
		t.Errorf("rxTime = %d, %v", got, ok)
	}
	if _, ok := rxTime(nil); ok {
		t.Error("rxTime of no control message reported a time")
	}
}
