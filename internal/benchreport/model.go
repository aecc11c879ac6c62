package benchreport

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Table is a Markdown table; Right marks right-aligned columns.
type Table struct {
	Caption string
	Header  []string
	Right   []bool
	Rows    [][]string
}

// Series is one set of bars of a panel, one value per group (NaN: none).
type Series struct {
	Name   string
	Values []float64
}

// Panel is one plot of a chart: bars of each series over the groups.
type Panel struct {
	Title, YLabel string
	Groups        []string
	Series        []Series
}

// Chart is one PNG file of panels side by side.
type Chart struct {
	File   string // base name, e.g. "failover.png"
	Title  string
	Panels []Panel
}

// Section is one scenario of the report.
type Section struct {
	Title  string
	Method string // how it was measured, one paragraph
	Tables []Table
	Notes  []string
	Chart  *Chart
}

// Report is everything the generated part of docs/BENCHMARKS.md shows.
type Report struct {
	Env      map[string]string
	Headline Table
	// Worse lists the headline rows where xvrrpd's median is not better
	// than keepalived's.
	Worse    []string
	Sections []Section
	Failures []Failure
}

// Impl names as the bench lines write them.
const (
	implKA = "keepalived"
	implXV = "xvrrpd"
)

// sel filters records: kind, and every field of match equal.
func (res *Results) sel(kind string, match map[string]string) []Record {
	var out []Record
	for _, r := range res.Records {
		if r.Kind != kind {
			continue
		}
		ok := true
		for k, v := range match {
			if r.Fields[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// bench selects the bench records of a scenario that did not fail.
func (res *Results) bench(scenario string, match map[string]string) []Record {
	m := map[string]string{"scenario": scenario}
	for k, v := range match {
		m[k] = v
	}
	var out []Record
	for _, r := range res.sel("bench", m) {
		if r.Get("status") != "failed" {
			out = append(out, r)
		}
	}
	return out
}

// stat summarizes field over recs; negative values (not measured) are
// left out.
func stat(recs []Record, field string) Stat {
	var vals []float64
	for _, r := range recs {
		if v, ok := r.Float(field); ok && v >= 0 {
			vals = append(vals, v)
		}
	}
	return Summarize(vals)
}

// distinct returns the values of field in recs in order of appearance.
func distinct(recs []Record, field string) []string {
	var out []string
	for _, r := range recs {
		if v, ok := r.Fields[field]; ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// med is a Stat's median for a chart (NaN without values).
func med(s Stat) float64 {
	if !s.OK() {
		return math.NaN()
	}
	return s.Med
}

// runs describes the repetition counts of stats: "5" or "3–5".
func runs(ss ...Stat) string {
	lo, hi := 0, 0
	for _, s := range ss {
		if !s.OK() {
			continue
		}
		if lo == 0 || s.N < lo {
			lo = s.N
		}
		hi = max(hi, s.N)
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

// Markdown renders a table.
func (t Table) Markdown() string {
	var b strings.Builder
	if t.Caption != "" {
		b.WriteString(t.Caption + "\n\n")
	}
	b.WriteString("| " + strings.Join(t.Header, " | ") + " |\n|")
	for i := range t.Header {
		if i < len(t.Right) && t.Right[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// right is a Right slice: the first left columns left-aligned, the rest
// right-aligned, n columns in all.
func right(left, n int) []bool {
	r := make([]bool, n)
	for i := left; i < n; i++ {
		r[i] = true
	}
	return r
}
