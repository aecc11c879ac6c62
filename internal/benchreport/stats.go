package benchreport

import (
	"math"
	"slices"
	"strconv"
)

// Stat summarizes the repetitions of one measurement.
type Stat struct {
	Med, Min, Max float64
	N             int
}

// Summarize returns the median (the mean of the middle two for an even
// count), minimum and maximum of vals; N is 0 for no values.
func Summarize(vals []float64) Stat {
	if len(vals) == 0 {
		return Stat{Med: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{Med: med, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// OK reports whether there was at least one value.
func (s Stat) OK() bool { return s.N > 0 }

// Cell is the median and, with more than one value, the range:
// "611 (609–612)"; "–" without values.
func (s Stat) Cell() string {
	if !s.OK() {
		return "–"
	}
	if s.N == 1 || s.Min == s.Max {
		return Num(s.Med)
	}
	return Num(s.Med) + " (" + Num(s.Min) + "–" + Num(s.Max) + ")"
}

// Num formats v with a precision fitting its size: whole numbers and
// anything from 100 without decimals, 1 from 10, 2 from 1, else 3 (0.168,
// 0.01).
func Num(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "–"
	case v == math.Trunc(v) && a < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// Ratio is a ÷ b of two medians as "0.46×"; "–" when either is missing
// or b is 0.
func Ratio(a, b Stat) string {
	r, ok := ratio(a, b)
	if !ok {
		return "–"
	}
	if r >= 100 {
		return strconv.FormatFloat(r, 'f', 0, 64) + "×"
	}
	if r >= 0.01 || r == 0 {
		return strconv.FormatFloat(r, 'f', 2, 64) + "×"
	}
	return strconv.FormatFloat(r, 'g', 2, 64) + "×"
}

func ratio(a, b Stat) (float64, bool) {
	if !a.OK() || !b.OK() || b.Med == 0 {
		return 0, false
	}
	return a.Med / b.Med, true
}
