package benchreport

import (
	"fmt"
	"math"
	"strings"
)

// failWhy says where and why a failed run stopped.
func failWhy(r Record) string {
	st, why := r.Get("stage"), r.Get("reason")
	switch {
	case st == "":
		return why
	case why == "" || strings.HasPrefix(why, "timed out waiting for"):
		return "stopped at " + st
	}
	return "stopped at " + st + "; last logged: " + logText(why)
}

// logText makes a daemon's log line fit a table cell: whitespace
// collapsed, a leading timestamp dropped, "|" escaped, at most 120
// characters.
func logText(s string) string {
	f := strings.Fields(s)
	if len(f) > 0 && len(f[0]) >= 19 && f[0][4] == '-' && strings.Contains(f[0], "T") {
		f = f[1:]
	}
	s = strings.ReplaceAll(strings.Join(f, " "), "|", `\|`)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return s
}

// worseMargin is how far above keepalived's median xvrrpd's must be for a
// headline row to count as not better.
const worseMargin = 0.05

// headRow is one row of the headline table.
type headRow struct {
	what, goal     string
	ka, xv         Stat // compared; lower is better
	kaCell, xvCell string
	ratio          string
	// xvrrpdOnly: no keepalived figure to compare with.
	xvrrpdOnly bool
	// failed: why xvrrpd's runs failed (none succeeded).
	failed string
}

func unitCell(s Stat, unit string) string {
	if !s.OK() {
		return "–"
	}
	return Num(s.Med) + unit
}

// cmp builds a row comparing one field's medians.
func cmp(what, goal string, ka, xv Stat, unit string) headRow {
	return headRow{what: what, goal: goal, ka: ka, xv: xv, kaCell: unitCell(ka, unit), xvCell: unitCell(xv, unit), ratio: Ratio(xv, ka)}
}

// headline is the table the README quotes: the rows with the
// measured keepalived and xvrrpd medians side by side, and the rows where
// xvrrpd is not better.
func headline(res *Results) (Table, []string) {
	var rows []headRow
	// A scale run that failed part-way still measured what came before:
	// its figures count, and the failure is shown with them.
	scaleRecs := func(impl, n string) []Record {
		return res.sel("bench", map[string]string{"scenario": "scale", "impl": impl, "n": n})
	}
	scale := func(impl, n, f string) Stat { return stat(scaleRecs(impl, n), f) }
	scaleFailed := func(n string) string {
		for _, r := range scaleRecs(implXV, n) {
			if r.Get("status") == "failed" {
				return failWhy(r)
			}
		}
		return ""
	}
	failShown := map[string]bool{}
	scaleRow := func(what, goal, n, f, unit string) {
		ka, xv := scale(implKA, n, f), scale(implXV, n, f)
		reason := scaleFailed(n)
		if !ka.OK() && !xv.OK() && reason == "" {
			return
		}
		row := cmp(what, goal, ka, xv, unit)
		if reason != "" {
			switch {
			case !failShown[n]:
				// The reason once, in the size's first row.
				failShown[n] = true
				row.failed = reason
				if xv.OK() {
					row.xvCell += " (a run failed: " + reason + ")"
				} else {
					row.xvCell = "failed: " + reason
				}
			case !xv.OK():
				row.xvCell = "failed (above)"
			}
		}
		rows = append(rows, row)
	}
	for _, n := range []string{"1", "50", "255"} {
		goalM, goalB := "", ""
		if n == "255" {
			goalM, goalB = "≤ 5 %", "≤ 0.2 %"
		}
		scaleRow("master CPU, "+n+" instance"+plural(n)+", VRRPv3 advert_int 0.01", goalM, n, "cpu_master", " %")
		scaleRow("backup CPU, "+n+" instance"+plural(n)+", VRRPv3 advert_int 0.01", goalB, n, "cpu_backup", " %")
	}
	for _, n := range []string{"1", "50", "255"} {
		rss := [2]Stat{scale(implKA, n, "rss_master_kb"), scale(implXV, n, "rss_master_kb")}
		pss := [2]Stat{scale(implKA, n, "pss_master_kb"), scale(implXV, n, "pss_master_kb")}
		if !rss[0].OK() && !rss[1].OK() {
			continue
		}
		mem := func(i int) string {
			if !rss[i].OK() {
				return "–"
			}
			return fmt.Sprintf("%s MiB (%s)", Num(rss[i].Med/1024), Num(pss[i].Med/1024))
		}
		rows = append(rows, headRow{what: "master RSS (PSS), " + n + " instance" + plural(n), goal: "≤ keepalived's RSS and PSS",
			ka: pss[0], xv: pss[1], kaCell: mem(0), xvCell: mem(1),
			ratio: "RSS " + Ratio(rss[1], rss[0]) + ", PSS " + Ratio(pss[1], pss[0])})
		// Worse when either is worse: compare the larger ratio.
		if r1, ok1 := ratio(rss[1], rss[0]); ok1 {
			if r2, ok2 := ratio(pss[1], pss[0]); ok2 && r1 > r2 {
				rows[len(rows)-1].ka, rows[len(rows)-1].xv = rss[0], rss[1]
			}
		}
	}
	su := func(impl, f string) Stat {
		var recs []Record
		for _, r := range res.sel("startup", map[string]string{"daemon": impl}) {
			if _, ok := r.Fields["run"]; ok {
				recs = append(recs, r)
			}
		}
		return stat(recs, f)
	}
	for _, s := range []struct{ what, goal, f string }{
		{"cold start, 1 instance: launch → ready (TestStartupMeasure)", "≤ 50 ms", "ready_ms"},
		{"cold start, 1 instance: launch → first advert sent", "≤ 50 ms", "sent_ms"},
	} {
		if ka, xv := su(implKA, s.f), su(implXV, s.f); ka.OK() || xv.OK() {
			rows = append(rows, cmp(s.what, s.goal, ka, xv, " ms"))
		}
	}
	scaleRow("restarted master, 1 instance: launch → first advert", "≤ 50 ms", "1", "restart_first_advert_ms", " ms")
	scaleRow("restarted master, 1 instance: launch → VIP on it (MASTER)", "", "1", "restart_master_ms", " ms")
	scaleRow("restarted master, 255 instances: launch → all VIPs on it", "", "255", "restart_master_ms", " ms")
	scaleRow("4 000 instances (16 interfaces × 250), advert_int 1: restarted master, launch → all VIPs", "≤ 2 s", "4000", "restart_master_ms", " ms")
	scaleRow("4 000 instances: master CPU", "≤ 2 %", "4000", "cpu_master", " %")
	scaleRow("4 000 instances: backup CPU", "≤ 0.5 %", "4000", "cpu_backup", " %")
	scaleRow("4 000 instances: netlink overruns logged", "none", "4000", "netlink_errors", "")

	fo := func(impl, f string) Stat {
		return stat(res.bench("failover", map[string]string{"impl": impl, "version": "3"}), f)
	}
	if ka, xv := fo(implKA, "takeover_ms"), fo(implXV, "takeover_ms"); ka.OK() || xv.OK() {
		mdi := fo(implXV, "mdi_ms")
		rows = append(rows, cmp(fmt.Sprintf("node death, VRRPv3 0.1 s: takeover after the master's last advert (Master_Down_Interval %s ms)", Num(mdi.Med)),
			"Master_Down_Interval", ka, xv, " ms"))
		rows = append(rows, cmp("node death, VRRPv3 0.1 s: client outage", "", fo(implKA, "outage_ms"), fo(implXV, "outage_ms"), " ms"))
	}
	zo := func(col, v, row string) Stat {
		return stat(res.sel("zo", map[string]string{"column": col, "version": v}), row)
	}
	for _, z := range []struct{ what, goal, v, row string }{
		{"SIGTERM of the master, VRRPv2 1 s: client gap", "≤ 5 ms", "2", "SIGTERM of the master: gap"},
		{"SIGTERM of the master, VRRPv3 0.1 s: client gap", "≤ 5 ms", "3", "SIGTERM of the master: gap"},
		{"planned move, VRRPv3 0.1 s: started after", "within one advert interval", "3", "planned move: started after"},
		{"upgrade, VRRPv2 1 s: client gap", "0 ms", "2", "upgrade: gap"},
		{"upgrade, VRRPv3 0.1 s: client gap", "0 ms", "3", "upgrade: gap"},
	} {
		ka, xv := zo(zoKA, z.v, z.row), zo(zoXV, z.v, z.row)
		if ka.OK() || xv.OK() {
			rows = append(rows, cmp(z.what, z.goal, ka, xv, " ms"))
		}
	}
	hk := stat(res.sel("health", map[string]string{"impl": implKA + "-master", "backup": implKA}), "ms")
	hx := stat(res.sel("health", map[string]string{"impl": implXV + "-master", "backup": implXV}), "ms")
	if hk.OK() || hx.OK() {
		rows = append(rows, cmp("failing check (weight -20, fall 2, interval 1 s) → backup holds the VIP", "", hk, hx, " ms"))
	}
	fl := func(impl, kind, target, f string) Stat {
		return stat(res.bench("flood", map[string]string{"impl": impl, "kind": kind, "target": target}), f)
	}
	for _, f := range []struct{ what, goal, kind, target, field, unit string }{
		{"forged lower-priority flood at the master (full rate): master CPU", "≤ 2 %", "forged-lower", "master", "cpu", " %"},
		{"same: packets the pair sent per second", "as without the flood (~1/s)", "forged-lower", "master", "sent_pps", ""},
		{"junk flood at the backup (full rate): backup CPU", "≤ 2 %", "junk", "backup", "cpu", " %"},
		{"forged higher priority from a non-peer at the master: transitions", "0", "forged-higher", "master", "transitions", ""},
		{"same: log lines written during the flood", "", "forged-higher", "master", "log_lines", ""},
	} {
		ka, xv := fl(implKA, f.kind, f.target, f.field), fl("xvrrpd-xdp", f.kind, f.target, f.field)
		if ka.OK() || xv.OK() {
			rows = append(rows, cmp(f.what, f.goal, ka, xv, f.unit))
		}
	}
	if s := stat(res.sel("gobench", map[string]string{"name": "XDPValidAdvertWatched"}), "ns/op"); s.OK() {
		nv := stat(res.sel("gobench", map[string]string{"name": "XDPNonVRRP"}), "ns/op")
		bad := stat(res.sel("gobench", map[string]string{"name": "XDPBadChecksum"}), "ns/op")
		rows = append(rows, headRow{what: "kernel program per packet: valid advert / non-VRRP / invalid advert",
			kaCell: "– (no kernel path)", xvCell: fmt.Sprintf("%s / %s / %s ns", Num(med(s)), Num(med(nv)), Num(med(bad))),
			ratio: "–", xvrrpdOnly: true})
	}

	t := Table{Header: []string{"what", "keepalived 2.2.7", "xvrrpd now", "xvrrpd ÷ keepalived", "goal (issue 12)"}, Right: []bool{false, true, true, true, false}}
	var worse []string
	for _, r := range rows {
		goal := r.goal
		if goal == "" {
			goal = "–"
		}
		t.Rows = append(t.Rows, []string{r.what, r.kaCell, r.xvCell, r.ratio, goal})
		if r.failed != "" {
			worse = append(worse, fmt.Sprintf("%s: keepalived %s, xvrrpd %s", r.what, r.kaCell, r.xvCell))
			continue
		}
		if r.xvCell == "failed (above)" {
			continue
		}
		if r.xvrrpdOnly || !r.ka.OK() || !r.xv.OK() {
			continue
		}
		// More than worseMargin above keepalived's median: run-to-run
		// noise of a shared VM is not a finding.
		if r.xv.Med > r.ka.Med*(1+worseMargin) && math.Abs(r.xv.Med-r.ka.Med) > 1e-9 {
			worse = append(worse, fmt.Sprintf("%s: keepalived %s, xvrrpd %s (%s)", r.what, r.kaCell, r.xvCell, r.ratio))
		}
	}
	return t, worse
}

func plural(n string) string {
	if n == "1" {
		return ""
	}
	return "s"
}
