package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// keepalived 2.2.7 reads most integer values with read_int_strvec and
// read_unsigned_strvec (lib/parser.c): C's strtol / strtoul in base 10,
// then checks. What it reports and what it runs with are not the same
// thing: it stores the converted value whatever it reports, and at run
// time (not under -t) it accepts a word that only starts with a number
// ("2.5" is 2, "abc" is 0) when that number is in range. The functions
// here give both, so that xvrrpd runs the value keepalived runs and says
// what keepalived reports.

// cStrtol10 reads s as C's strtol(s, &end, 10): leading white space, a
// sign, decimal digits; out of range saturates (erange). end is the
// offset after the number, 0 when s holds none.
func cStrtol10(s string) (v int64, end int, erange bool) {
	u, neg, end, over := cDigits(s)
	switch {
	case end == 0:
		return 0, 0, false
	case over || !neg && u > math.MaxInt64:
		if neg {
			return math.MinInt64, end, true
		}
		return math.MaxInt64, end, true
	case neg && u > 1<<63:
		return math.MinInt64, end, true
	case neg:
		return int64(-u), end, false
	}
	return int64(u), end, false
}

// cStrtoul10 reads s as C's strtoul(s, &end, 10) on a 64-bit system: as
// cStrtol10, but a '-' negates modulo 2^64 ("-1" is 2^64-1) and an
// overflow saturates at 2^64-1.
func cStrtoul10(s string) (v uint64, end int, erange bool) {
	u, neg, end, over := cDigits(s)
	switch {
	case end == 0:
		return 0, 0, false
	case over:
		return math.MaxUint64, end, true
	case neg:
		return -u, end, false
	}
	return u, end, false
}

// cDigits scans white space, a sign and decimal digits at the start of s:
// u is the digits' value (over: more than 64 bits), end the offset after
// the last digit, 0 when there is none.
func cDigits(s string) (u uint64, neg bool, end int, over bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start {
		return 0, false, 0, false
	}
	u, err := strconv.ParseUint(s[start:i], 10, 64)
	return u, neg, i, err != nil
}

// kaUnsigned reads word as keepalived 2.2.7's read_unsigned_strvec(...,
// lo, hi, true) does when it runs: v is the value it stores (the C
// unsigned cast), ok whether it then uses it, and why, when not empty,
// what it reports about the word ("invalid number", ...). A clean word
// has an empty why.
func kaUnsigned(word string, lo, hi uint64) (v uint64, ok bool, why string) {
	off := 0
	for off < len(word) && isSpace(word[off]) {
		off++
	}
	s := word[off:]
	val, end, erange := cStrtoul10(s)
	v = uint64(uint32(val))
	switch {
	case s != "" && s[0] == '-':
		why = "a negative number"
	case end < len(s):
		why = "not a whole number"
	case erange || val > math.MaxUint32:
		why = "outside the unsigned integer range"
	case val < lo || val > hi:
		why = fmt.Sprintf("outside [%d, %d]", lo, hi)
	default:
		return v, true, ""
	}
	// Not under -t (-t rejects every word with a problem).
	return v, val >= lo && val <= hi, why
}

// kaInt reads word as keepalived 2.2.7's read_int_strvec(..., lo, hi,
// ignoreError) does when it runs: v is the value it stores (the C int
// cast, whatever it reports), ok whether it accepts it, why as for
// kaUnsigned.
func kaInt(word string, lo, hi int64, ignoreError bool) (v int64, ok bool, why string) {
	val, end, erange := cStrtol10(word)
	v = int64(int32(val))
	switch {
	case end < len(word):
		why = "not a whole number"
	case erange || val < math.MinInt32 || val > math.MaxInt32:
		why = "outside the integer range"
	case val < lo || val > hi:
		why = fmt.Sprintf("outside [%d, %d]", lo, hi)
	default:
		return v, true, ""
	}
	return v, ignoreError && val >= lo && val <= hi, why
}

// decimalSeconds reads s ("0.05", "2.", ".5": digits with one '.') as
// keepalived 2.3.2 and later read a vrrp_script interval or timeout: to
// the millisecond, the fourth decimal rounding, 0 raised to 1 s. ok is
// false for any other word.
func decimalSeconds(s string) (d time.Duration, ok bool) {
	whole, frac, found := strings.Cut(s, ".")
	if !found || whole+frac == "" || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, false
	}
	ms := uint64(0)
	for i, c := range []byte(frac + "0000")[:4] {
		switch {
		case i < 3:
			ms = ms*10 + uint64(c-'0')
		case c >= '5':
			ms++
		}
	}
	if whole != "" {
		w, err := strconv.ParseUint(whole, 10, 64)
		if err != nil || w > math.MaxUint32 {
			return 0, false
		}
		ms += w * 1000
	}
	if ms == 0 {
		ms = 1000
	}
	return time.Duration(ms) * time.Millisecond, true
}
