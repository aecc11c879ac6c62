package gapprobe

import (
	"fmt"
	"net/netip"
	"sort"
	"time"
)

// Gap is a period without replies: from one reply to the next, or from the
// last reply to the last request of the run when the requests after that
// reply went unanswered.
type Gap struct {
	From, To time.Time
	// Lost is how many requests sent after the reply at From got no reply
	// (by sequence number, up to the reply at To).
	Lost int
	// Open: no reply ended the gap (the run ended first).
	Open bool
}

// Len is the gap's length.
func (g Gap) Len() time.Duration { return g.To.Sub(g.From) }

func (g Gap) String() string {
	s := fmt.Sprintf("%v at %s, %d lost", g.Len().Round(10*time.Microsecond), g.From.Format("15:04:05.000"), g.Lost)
	if g.Open {
		s += ", open at the end"
	}
	return s
}

// maxGaps bounds Result.Gaps.
const maxGaps = 100

// Result is what one run measured.
type Result struct {
	Target   netip.Addr
	Interval time.Duration
	// Start and End: the first and the last request sent.
	Start, End time.Time
	// Sent requests (SendErrors more could not be sent); Received of them
	// got a reply, Lost did not; Duplicates: further replies to a request
	// already answered.
	Sent, Received, Lost, Duplicates, SendErrors int
	// MaxGap is the longest time without a reply once replies had started:
	// between consecutive replies (in arrival order), or from the last
	// reply to the last request when the requests after it were lost.
	// Without any reply it spans the whole run (Open).
	MaxGap Gap
	// MaxLostRun is the longest run of consecutive sequence numbers
	// without a reply.
	MaxLostRun int
	// MaxSendGap is the longest time between two consecutive requests: the
	// probe's own scheduling jitter, a floor under what MaxGap can resolve.
	MaxSendGap time.Duration
	// Leading is the time from the first request to the first reply.
	Leading time.Duration
	// Gaps lists, in order, every gap longer than the run's ReportAbove
	// or with a request lost in it (the first 100).
	Gaps []Gap
}

func (r Result) String() string {
	return fmt.Sprintf("%s every %v: sent %d, received %d, lost %d (longest run %d), dup %d, send errors %d; largest gap %s; probe jitter %v",
		r.Target, r.Interval, r.Sent, r.Received, r.Lost, r.MaxLostRun, r.Duplicates, r.SendErrors,
		r.MaxGap, r.MaxSendGap.Round(10*time.Microsecond))
}

// analyze computes a Result from the send and reply times of one run,
// indexed by sequence number: sent[i] is when request i was sent (zero: it
// was not), replied[i] when its first reply arrived (zero: none). Gaps
// longer than reportAbove, or with a request lost, are listed.
func analyze(sent, replied []time.Time, reportAbove time.Duration) Result {
	var r Result
	type reply struct {
		at  time.Time
		seq int
	}
	var replies []reply
	var lastSent time.Time
	run := 0
	for i, s := range sent {
		if s.IsZero() {
			continue
		}
		if r.Sent == 0 {
			r.Start = s
		} else {
			r.MaxSendGap = max(r.MaxSendGap, s.Sub(lastSent))
		}
		lastSent = s
		r.Sent++
		if i < len(replied) && !replied[i].IsZero() {
			r.Received++
			replies = append(replies, reply{replied[i], i})
			run = 0
			continue
		}
		r.Lost++
		run++
		r.MaxLostRun = max(r.MaxLostRun, run)
	}
	r.End = lastSent
	if r.Sent == 0 {
		return r
	}
	if len(replies) == 0 {
		r.MaxGap = Gap{From: r.Start, To: r.End, Lost: r.Lost, Open: true}
		r.Leading = r.End.Sub(r.Start)
		if r.MaxGap.Len() > reportAbove {
			r.Gaps = []Gap{r.MaxGap}
		}
		return r
	}
	sort.SliceStable(replies, func(a, b int) bool { return replies[a].at.Before(replies[b].at) })
	r.Leading = replies[0].at.Sub(r.Start)
	if r.Leading < 0 {
		r.Leading = 0
	}
	// lostBetween counts the sent, unanswered requests with sequence
	// numbers in (from, to).
	lostBetween := func(from, to int) int {
		n := 0
		for i := from + 1; i < to && i < len(sent); i++ {
			if !sent[i].IsZero() && (i >= len(replied) || replied[i].IsZero()) {
				n++
			}
		}
		return n
	}
	consider := func(g Gap) {
		if g.Len() > r.MaxGap.Len() {
			r.MaxGap = g
		}
		if (g.Len() > reportAbove || g.Lost > 0) && len(r.Gaps) < maxGaps {
			r.Gaps = append(r.Gaps, g)
		}
	}
	for k := 1; k < len(replies); k++ {
		prev, cur := replies[k-1], replies[k]
		consider(Gap{From: prev.at, To: cur.at, Lost: lostBetween(prev.seq, cur.seq)})
	}
	// The requests after the highest answered sequence number all went
	// unanswered: the run ended inside a gap.
	last := replies[len(replies)-1]
	highest := 0
	for _, rp := range replies {
		highest = max(highest, rp.seq)
	}
	if tail := lostBetween(highest, len(sent)); tail > 0 && r.End.After(last.at) {
		consider(Gap{From: last.at, To: r.End, Lost: tail, Open: true})
	}
	return r
}
