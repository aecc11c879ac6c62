// Package gapprobe measures how long a client goes without answers from an
// address, e.g. a VRRP virtual IP while mastership moves between routers.
//
// A Probe sends ICMP echo requests (IPv4 or IPv6) at a fixed interval,
// 1 ms by default, without waiting for replies: iputils `ping -i 0.001`
// keeps at most one request outstanding for up to 10 ms, so it cannot see
// a gap of a few milliseconds. Replies are matched to requests by sequence
// number (carried, with a per-run nonce, in the echo payload, so the 16-bit
// ICMP sequence may wrap) and timed by the kernel (SO_TIMESTAMPNS). The
// Result holds the largest gap between consecutive replies (or from the last
// reply to the end of the run, when the last requests went unanswered), the
// requests lost, the longest run of lost sequence numbers, and the probe's
// own sending jitter (a gap shorter than that says nothing).
//
// A run is bounded in time (Config.Duration, at most MaxDuration) and in
// requests (MaxRequests). Listen opens a raw ICMP socket (root or
// CAP_NET_RAW) in the calling thread's network namespace: tests open it
// inside the client's namespace (netnstest.NS.Do) and run the probe from
// any goroutine afterwards.
package gapprobe
