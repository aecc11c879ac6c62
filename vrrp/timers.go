package vrrp

import "time"

// downTimerAdverts is the number of advertisement intervals in
// Master_Down_Interval before Skew_Time is added (RFC 3768 §6.1,
// RFC 9568 §6.1: "(3 * Master_Adver_Interval) + Skew_time").
const downTimerAdverts = 3

// SkewTime returns Skew_Time for a backup with the given priority.
//
// VRRPv2 (RFC 3768 §6.1): Skew_Time = (256 - Priority) / 256 seconds. It does
// not depend on the advertisement interval, and masterAdverInt is ignored.
// keepalived 2.2 computes the same for v2 (VRRP_TIMER_SKEW uses TIMER_HZ, not
// the interval), so a mixed xvrrp/keepalived v2 cluster elects consistently.
//
// VRRPv3 (RFC 5798 §6.1, RFC 9568 §6.1): Skew_Time =
// ((256 - Priority) * Master_Adver_Interval) / 256, where masterAdverInt is
// the interval learnt from the current master (or our own interval before
// any advertisement was received). The result is exact to the nanosecond;
// keepalived truncates the same value to the microsecond, which no timer can
// observe.
//
// Priority 0 is not a valid backup priority; it is treated like any other
// value ((256-0)/256 = one full interval for v3, one second for v2) so that the
// function is total.
func SkewTime(v Version, priority uint8, masterAdverInt time.Duration) time.Duration {
	n := time.Duration(256 - int(priority))
	if v == V2 {
		return n * time.Second / 256
	}
	return n * masterAdverInt / 256
}

// MasterDownInterval returns Master_Down_Interval, the time a backup waits
// without hearing an advertisement before it declares the master down:
// 3 * interval + Skew_Time (RFC 3768 §6.1 with Advertisement_Interval;
// RFC 5798 §6.1 and RFC 9568 §6.1 with Master_Adver_Interval).
//
// For VRRPv2, masterAdverInt is the configured Advertisement_Interval: v2
// routers must all use the same interval (RFC 3768 §7.1 drops adverts whose
// interval differs).
func MasterDownInterval(v Version, priority uint8, masterAdverInt time.Duration) time.Duration {
	return downTimerAdverts*masterAdverInt + SkewTime(v, priority, masterAdverInt)
}
