package benchreport

import (
	"fmt"
	"slices"
	"strings"
)

// probeSection shows the STARTUP or MEMORY lines of the start-up, memory
// and send-path measurements (e2e/*_measure_test.go): per daemon (and
// dataplane), the median of each numeric field over the per-run lines
// (those with a run field; a summary line without one is used only when
// a group has no per-run line), and xvrrpd ÷ keepalived.
func probeSection(res *Results, kind, title, method, chart string) (Section, bool) {
	recs := res.sel(kind, nil)
	if len(recs) == 0 {
		return Section{}, false
	}
	type group struct {
		daemon, dataplane string
		recs              []Record
	}
	var groups []*group
	find := func(d, dp string) *group {
		for _, g := range groups {
			if g.daemon == d && g.dataplane == dp {
				return g
			}
		}
		g := &group{daemon: d, dataplane: dp}
		groups = append(groups, g)
		return g
	}
	var fields []string
	for _, r := range recs {
		g := find(r.Get("daemon"), r.Get("dataplane"))
		g.recs = append(g.recs, r)
		for _, k := range r.Keys {
			if _, ok := r.Float(k); ok && k != "run" && k != "runs" && !slices.Contains(fields, k) {
				fields = append(fields, k)
			}
		}
	}
	stats := func(g *group) map[string]Stat {
		use := g.recs
		var perRun []Record
		for _, r := range g.recs {
			if _, ok := r.Fields["run"]; ok {
				perRun = append(perRun, r)
			}
		}
		if len(perRun) > 0 {
			use = perRun
		}
		m := map[string]Stat{}
		for _, f := range fields {
			m[f] = stat(use, f)
		}
		return m
	}
	hdr := append([]string{"daemon", "dataplane"}, fields...)
	t := Table{Header: hdr, Right: right(2, len(hdr))}
	p := Panel{YLabel: "", Groups: fields}
	var ka, xv map[string]Stat
	for _, g := range groups {
		st := stats(g)
		row := []string{g.daemon, dash(g.dataplane)}
		s := Series{Name: strings.TrimSpace(g.daemon + " " + g.dataplane)}
		for _, f := range fields {
			row = append(row, st[f].Cell())
			s.Values = append(s.Values, med(st[f]))
		}
		t.Rows = append(t.Rows, row)
		p.Series = append(p.Series, s)
		switch {
		case g.daemon == implKA && ka == nil:
			ka = st
		case g.daemon == implXV && xv == nil:
			xv = st
		}
	}
	if ka != nil && xv != nil {
		row := []string{"xvrrpd ÷ keepalived", ""}
		for _, f := range fields {
			row = append(row, Ratio(xv[f], ka[f]))
		}
		t.Rows = append(t.Rows, row)
	}
	t.Caption = fmt.Sprintf("Medians of the per-run %s lines (min–max).", strings.ToUpper(kind))
	sec := Section{Title: title, Method: method, Tables: []Table{t}}
	if len(p.Series) > 0 && len(fields) > 0 {
		sec.Chart = &Chart{File: chart, Title: title + " (medians)", Panels: []Panel{p}}
	}
	return sec, true
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func startupSection(res *Results) (Section, bool) {
	return probeSection(res, "startup", "Start-up of one instance",
		"The STARTUP lines of TestStartupMeasure (e2e/startup_measure_test.go): one instance, the daemon forked "+
			"from a thread in its namespace (no ip netns exec). ready_ms: launch → xvrrpd's READY=1, keepalived's "+
			"\"Startup complete\" log line; sent_ms: launch → the first advert of an address owner on the wire; "+
			"rx_ms: launch → the first advert it received (see the test's comment).", "startup.png")
}

func memorySection(res *Results) (Section, bool) {
	return probeSection(res, "memory", "Memory probes",
		"The MEMORY lines of the memory measurement (e2e/*_measure_test.go), as printed.", "memory.png")
}
