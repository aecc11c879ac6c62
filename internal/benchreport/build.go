package benchreport

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Build groups the records into the report's sections.
func Build(res *Results) *Report {
	r := &Report{Env: map[string]string{}, Failures: res.Failures}
	for _, rec := range res.sel("env", nil) {
		for k, v := range rec.Fields {
			r.Env[k] = v
		}
	}
	r.Headline, r.Worse = headline(res)
	for _, s := range []func(*Results) (Section, bool){
		failoverSection, zeroOutageSection, healthSection, floodSection, scaleSection, startupSection,
		memorySection, kernelSection,
	} {
		if sec, ok := s(res); ok {
			r.Sections = append(r.Sections, sec)
		}
	}
	return r
}

// ---------------------------------------------------------------------------
// Failover on node death.

func failoverSection(res *Results) (Section, bool) {
	all := res.bench("failover", nil)
	if len(all) == 0 {
		return Section{}, false
	}
	sec := Section{
		Title: "Failover on node death",
		Method: "A master (priority 150) and a backup (100), both keepalived or both xvrrpd, one VIP, a client " +
			"pinging the VIP every 1 ms. The master's daemon is killed (SIGKILL) and its link set down at once. " +
			"\"takeover\" runs from the master's last advert to the backup's first, as the client's kernel received " +
			"them; RFC 5798's Master_Down_Interval (3 × interval + Skew_Time) is what it should be. \"VIP on the " +
			"backup\" runs from the kill; \"outage\" is the client's longest time without a reply.",
	}
	t := Table{Header: []string{"measure", "version", implKA, implXV, "xvrrpd ÷ keepalived"}, Right: right(2, 5)}
	ch := &Chart{File: "failover.png", Title: "Failover on node death (medians)"}
	metrics := []struct{ field, name string }{
		{"takeover_ms", "takeover after the master's last advert, ms"},
		{"mdi_ms", "Master_Down_Interval, ms"},
		{"vip_ms", "VIP on the backup after the kill, ms"},
		{"outage_ms", "client outage, ms"},
		{"lost", "client requests lost"},
	}
	for _, v := range distinct(all, "version") {
		iv := stat(res.bench("failover", map[string]string{"version": v}), "interval_ms")
		vname := fmt.Sprintf("v%s %s s", v, strconv.FormatFloat(iv.Med/1000, 'g', -1, 64))
		p := Panel{Title: vname, YLabel: "ms", Groups: []string{"takeover", "MDI", "VIP on backup", "client outage"}}
		for _, impl := range []string{implKA, implXV} {
			recs := res.bench("failover", map[string]string{"version": v, "impl": impl})
			s := Series{Name: impl}
			for _, m := range metrics[:4] {
				s.Values = append(s.Values, med(stat(recs, m.field)))
			}
			p.Series = append(p.Series, s)
		}
		ch.Panels = append(ch.Panels, p)
		for _, m := range metrics {
			ka := stat(res.bench("failover", map[string]string{"version": v, "impl": implKA}), m.field)
			xv := stat(res.bench("failover", map[string]string{"version": v, "impl": implXV}), m.field)
			t.Rows = append(t.Rows, []string{m.name, vname, ka.Cell(), xv.Cell(), Ratio(xv, ka)})
		}
	}
	t.Caption = fmt.Sprintf("Medians of %s runs (min–max).", runs(statsOf(all, "takeover_ms")...))
	sec.Tables = []Table{t}
	sec.Chart = ch
	return sec, true
}

// statsOf summarizes field per distinct (impl, version, kind, target, n)
// group of recs: for counting repetitions.
func statsOf(recs []Record, field string) []Stat {
	groups := map[string][]Record{}
	var order []string
	for _, r := range recs {
		k := r.Get("name") + "/" + r.Get("impl") + "/" + r.Get("version") + "/" + r.Get("kind") + "/" + r.Get("target") + "/" + r.Get("n") + "/" + r.Get("column")
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []Stat
	for _, k := range order {
		out = append(out, stat(groups[k], field))
	}
	return out
}

// ---------------------------------------------------------------------------
// Zero outage: TestZeroOutageCompare's ZO lines.

// zoKA and zoXV are the keepalived and the xvrrpd pair columns.
const (
	zoKA = "keepalived pair"
	zoXV = "xvrrpd pair"
)

func zeroOutageSection(res *Results) (Section, bool) {
	all := res.sel("zo", nil)
	if len(all) == 0 {
		return Section{}, false
	}
	sec := Section{
		Title: "Graceful stop, upgrade and planned handover",
		Method: "TestZeroOutageCompare: master priority 150, backup 100, one VIP, VRRPv2 at 1 s and VRRPv3 at 0.1 s, " +
			"a client pinging the VIP every 1 ms (internal/gapprobe). Per run: a planned move (xvrrpctl handover; " +
			"keepalived has no command, a track_file with weight -100 lowers its priority), the move back " +
			"(xvrrpctl resume; the track file back to 0), SIGTERM of the master, and on a fresh pair an upgrade " +
			"(xvrrpctl upgrade; for keepalived its restart). \"gap\" is the client's longest time without a reply; " +
			"a gap of a few ms with nothing lost is the probe's own scheduling jitter.",
	}
	cols := distinct(all, "column")
	var rows []string
	for _, r := range all {
		for _, k := range r.Keys {
			if k != "column" && k != "version" && k != "run" && k != "probe_jitter_ms" && !slices.Contains(rows, k) {
				rows = append(rows, k)
			}
		}
	}
	hdr := append([]string{"event", "version"}, cols...)
	hdr = append(hdr, "xvrrpd pair ÷ keepalived pair")
	t := Table{Header: hdr, Right: right(2, len(hdr))}
	ch := &Chart{File: "zero-outage.png", Title: "Client gap when mastership moves (medians)"}
	versions := distinct(all, "version")
	var gapRows []string
	for _, row := range rows {
		if strings.HasSuffix(row, ": gap") || strings.HasSuffix(row, "master: gap") {
			gapRows = append(gapRows, row)
		}
	}
	for _, v := range versions {
		p := Panel{Title: "v" + v, YLabel: "ms", Groups: shortEvents(gapRows)}
		for _, c := range cols {
			s := Series{Name: c}
			for _, row := range gapRows {
				s.Values = append(s.Values, med(stat(res.sel("zo", map[string]string{"version": v, "column": c}), row)))
			}
			p.Series = append(p.Series, s)
		}
		ch.Panels = append(ch.Panels, p)
	}
	for _, row := range rows {
		for _, v := range versions {
			cells := []string{row, "v" + v}
			var ka, xv Stat
			for _, c := range cols {
				s := stat(res.sel("zo", map[string]string{"version": v, "column": c}), row)
				cells = append(cells, s.Cell())
				switch c {
				case zoKA:
					ka = s
				case zoXV:
					xv = s
				}
			}
			t.Rows = append(t.Rows, append(cells, Ratio(xv, ka)))
		}
	}
	t.Caption = fmt.Sprintf("Medians of %s runs (min–max); ms, or requests, or transitions.", runs(statsOf(all, rows[0])...))
	sec.Tables = []Table{t}
	sec.Chart = ch
	return sec, true
}

// shortEvents names gap rows for a chart axis: "SIGTERM of the master:
// gap" → "SIGTERM".
func shortEvents(rows []string) []string {
	var out []string
	for _, r := range rows {
		s := strings.TrimSuffix(r, ": gap")
		s = strings.TrimSuffix(s, " of the master")
		out = append(out, s)
	}
	return out
}

// ---------------------------------------------------------------------------
// Failing health check.

func healthSection(res *Results) (Section, bool) {
	if len(res.sel("health", nil)) == 0 {
		return Section{}, false
	}
	sec := Section{
		Title: "Failing health check",
		Method: "TestHealthFailoverKeepalived's pair as a keepalived pair and as an xvrrpd pair: a vrrp_script with " +
			"weight -20, fall 2, rise 2, interval 1 s on a master of priority 110 (backup 100), VRRPv2 at 1 s. " +
			"From the check starting to fail to the backup holding the VIP (and to the master's first advert at " +
			"the lowered priority, seen by a third node), then from the check healing to the master holding it again.",
	}
	t := Table{Header: []string{"measure", implKA, implXV, "xvrrpd ÷ keepalived"}, Right: right(1, 4)}
	ch := &Chart{File: "health.png", Title: "Failing health check (medians)"}
	p := Panel{Title: "", YLabel: "ms", Groups: []string{"backup holds VIP", "lowered prio on wire", "master back", "master's advert back"}}
	rows := []struct{ kind, field, name string }{
		{"health", "ms", "check fails → backup holds the VIP, ms"},
		{"health", "detect_ms", "check fails → master advertises the lowered priority, ms"},
		{"failback", "ms", "check heals → master holds the VIP again, ms"},
		{"failback", "wire_ms", "check heals → master's first advert at its priority, ms"},
	}
	series := map[string]*Series{implKA: {Name: implKA}, implXV: {Name: implXV}}
	var all []Stat
	for _, row := range rows {
		var ss [2]Stat
		for i, impl := range []string{implKA, implXV} {
			ss[i] = stat(res.sel(row.kind, map[string]string{"impl": impl + "-master", "backup": impl}), row.field)
			series[impl].Values = append(series[impl].Values, med(ss[i]))
			all = append(all, ss[i])
		}
		t.Rows = append(t.Rows, []string{row.name, ss[0].Cell(), ss[1].Cell(), Ratio(ss[1], ss[0])})
	}
	p.Series = []Series{*series[implKA], *series[implXV]}
	ch.Panels = []Panel{p}
	t.Caption = fmt.Sprintf("Medians of %s runs (min–max).", runs(all...))
	sec.Tables = []Table{t}
	sec.Chart = ch
	return sec, true
}

// ---------------------------------------------------------------------------
// Floods.

func floodSection(res *Results) (Section, bool) {
	all := res.bench("flood", nil)
	if len(all) == 0 {
		return Section{}, false
	}
	sec := Section{
		Title: "Floods",
		Method: "TestBenchFlood: a pair (priorities 101/100, VRRPv2, PASS, advert_int 1) and a generator sending as " +
			"fast as the machine goes (XDP live frames) at one router's MAC: junk (malformed protocol-112 packets), " +
			"forged-lower (valid adverts at priority 50 from a spoofed source) and forged-higher (valid adverts at " +
			"priority 254 from a spoofed source that is not a unicast peer, on a unicast pair with " +
			"vrrp_check_unicast_src). CPU: the flooded daemon's and the other's, all processes and threads " +
			"(schedstat), % of one core; the XDP program's own cost runs in softirq, charged to whoever runs on " +
			"that CPU (see Kernel program). \"sent\": packets both routers sent per second (the quiet rate before " +
			"the flood in brackets). dual master / VIP lost: VIP on both nodes / missing on the master, sampled every " +
			"10 ms. log lines: what both daemons wrote during the flood (keepalived logs every packet it rejects at " +
			"LOG_INFO whatever its log options).",
	}
	impls := distinct(all, "impl")
	type kt struct{ kind, target string }
	var cases []kt
	for _, r := range all {
		c := kt{r.Get("kind"), r.Get("target")}
		if !slices.Contains(cases, c) {
			cases = append(cases, c)
		}
	}
	t := Table{Header: []string{"flood", "at", "daemon", "offered pps", "CPU %", "other CPU %", "sent pkts/s (before)",
		"dual master ms", "VIP lost ms", "transitions", "log lines"}, Right: right(3, 11)}
	rt := Table{Caption: "Ratios, xvrrpd (XDP) ÷ keepalived (medians):",
		Header: []string{"flood", "at", "CPU", "packets sent", "log lines"}, Right: right(2, 5)}
	ch := &Chart{File: "flood.png", Title: "Floods at the generator's full rate (medians)"}
	pc := Panel{Title: "CPU of the flooded daemon", YLabel: "% of one core"}
	ps := Panel{Title: "packets sent by the pair", YLabel: "pkts/s"}
	pl := Panel{Title: "log lines during the flood", YLabel: "lines"}
	for _, c := range cases {
		g := c.kind + "@" + c.target
		pc.Groups, ps.Groups, pl.Groups = append(pc.Groups, g), append(ps.Groups, g), append(pl.Groups, g)
	}
	for _, impl := range impls {
		sc, ss, sl := Series{Name: impl}, Series{Name: impl}, Series{Name: impl}
		for _, c := range cases {
			recs := res.bench("flood", map[string]string{"impl": impl, "kind": c.kind, "target": c.target})
			if len(recs) == 0 {
				sc.Values, ss.Values, sl.Values = append(sc.Values, math.NaN()), append(ss.Values, math.NaN()), append(sl.Values, math.NaN())
				continue
			}
			sent := stat(recs, "sent_pps")
			t.Rows = append(t.Rows, []string{c.kind, c.target, impl, stat(recs, "pps").Cell(), stat(recs, "cpu").Cell(),
				stat(recs, "cpu_other").Cell(), sent.Cell() + " (" + Num(stat(recs, "sent_pps_before").Med) + ")",
				stat(recs, "dual_ms").Cell(), stat(recs, "vip_lost_ms").Cell(), stat(recs, "transitions").Cell(),
				stat(recs, "log_lines").Cell()})
			sc.Values = append(sc.Values, med(stat(recs, "cpu")))
			ss.Values = append(ss.Values, med(sent))
			sl.Values = append(sl.Values, med(stat(recs, "log_lines")))
		}
		pc.Series, ps.Series, pl.Series = append(pc.Series, sc), append(ps.Series, ss), append(pl.Series, sl)
	}
	for _, c := range cases {
		ka := res.bench("flood", map[string]string{"impl": implKA, "kind": c.kind, "target": c.target})
		xv := res.bench("flood", map[string]string{"impl": "xvrrpd-xdp", "kind": c.kind, "target": c.target})
		rt.Rows = append(rt.Rows, []string{c.kind, c.target, Ratio(stat(xv, "cpu"), stat(ka, "cpu")),
			Ratio(stat(xv, "sent_pps"), stat(ka, "sent_pps")), Ratio(stat(xv, "log_lines"), stat(ka, "log_lines"))})
	}
	t.Caption = fmt.Sprintf("Medians of %s floods each (min–max).", runs(statsOf(all, "cpu")...))
	sec.Tables = []Table{t, rt}
	ch.Panels = []Panel{pc, ps, pl}
	sec.Chart = ch
	return sec, true
}

// ---------------------------------------------------------------------------
// Scale.

func scaleSection(res *Results) (Section, bool) {
	all := res.bench("scale", nil)
	failed := res.sel("bench", map[string]string{"scenario": "scale", "status": "failed"})
	if len(all) == 0 && len(failed) == 0 {
		return Section{}, false
	}
	sec := Section{
		Title: "Scale: many instances",
		Method: "TestBenchScale: a master (priority 150) and a backup (100) of n VRRPv3 instances with one VIP each: " +
			"1, 50 and 255 on eth0 at advert_int 0.01, and 4 000 at advert_int 1 on 16 interfaces × 250, each " +
			"interface on a bridge of its own (the issue asks for 16 VLANs; this kernel has no 802.1Q, so each VLAN " +
			"is modelled by what it gives the daemons: an interface and a broadcast domain of its own). The " +
			"backup starts alone and takes every VIP, the master starts and takes them back (\"start\": launch → " +
			"all n VIPs on it, and → none left on the backup); after the second gratuitous ARP burst, CPU of both daemons over a window (schedstat, " +
			"every process and thread: keepalived's parent and VRRP child), then RSS and PSS (smaps_rollup, summed " +
			"over the processes; PSS counts a page shared by two processes half in each). Then the master stops " +
			"(SIGTERM), the backup takes over, and the master is launched again: launch → its first advert on the " +
			"wire, and launch → all n VIPs back on it. \"launch\" includes `ip netns exec` (a few ms, both daemons).",
	}
	hdr := []string{"n", "daemon", "master CPU %", "backup CPU %", "master pkts/s", "master RSS MiB", "master PSS MiB",
		"backup PSS MiB", "start → all VIPs ms", "start → backup released all ms", "restart → first advert ms", "restart → all VIPs ms", "netlink overruns", "runs"}
	t := Table{Header: hdr, Right: right(2, len(hdr))}
	rt := Table{Caption: "Ratios, xvrrpd ÷ keepalived (medians):",
		Header: []string{"n", "master CPU", "backup CPU", "master RSS", "master PSS", "restart → first advert", "restart → all VIPs"},
		Right:  right(1, 7)}
	ch := &Chart{File: "scale.png", Title: "Scale (medians)"}
	ns := distinct(append(slices.Clone(all), failed...), "n")
	panels := []Panel{
		{Title: "master CPU", YLabel: "% of one core"},
		{Title: "backup CPU", YLabel: "% of one core"},
		{Title: "master PSS", YLabel: "MiB"},
		{Title: "restart → all VIPs", YLabel: "ms"},
	}
	fields := []struct {
		f     string
		scale float64
	}{{"cpu_master", 1}, {"cpu_backup", 1}, {"pss_master_kb", 1.0 / 1024}, {"restart_master_ms", 1}}
	for i := range panels {
		for _, n := range ns {
			panels[i].Groups = append(panels[i].Groups, "n="+n)
		}
	}
	impls := distinct(append(slices.Clone(all), failed...), "impl")
	// keepalived first, then xvrrpd, then its other dataplanes.
	rank := func(s string) int {
		switch s {
		case implKA:
			return 0
		case implXV:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(impls, func(a, b string) int { return rank(a) - rank(b) })
	for _, n := range ns {
		for _, impl := range impls {
			// Failed runs count with what they measured before failing.
			recs := res.sel("bench", map[string]string{"scenario": "scale", "impl": impl, "n": n})
			nf := len(res.sel("bench", map[string]string{"scenario": "scale", "status": "failed", "impl": impl, "n": n}))
			if len(recs) == 0 {
				continue // not run at this size
			}
			mib := func(f string) string { s := stat(recs, f); return scaled(s, 1.0/1024).Cell() }
			runsCell := fmt.Sprint(len(recs))
			if nf > 0 {
				runsCell += fmt.Sprintf(" (%d failed part-way)", nf)
			}
			t.Rows = append(t.Rows, []string{n, impl, stat(recs, "cpu_master").Cell(), stat(recs, "cpu_backup").Cell(),
				stat(recs, "master_tx_pps").Cell(), mib("rss_master_kb"), mib("pss_master_kb"), mib("pss_backup_kb"),
				stat(recs, "start_master_ms").Cell(), stat(recs, "backup_release_ms").Cell(), stat(recs, "restart_first_advert_ms").Cell(),
				stat(recs, "restart_master_ms").Cell(), stat(recs, "netlink_errors").Cell(), runsCell})
		}
	}
	for _, impl := range impls {
		for i, f := range fields {
			s := Series{Name: impl}
			for _, n := range ns {
				s.Values = append(s.Values, med(scaled(stat(res.sel("bench", map[string]string{"scenario": "scale", "impl": impl, "n": n}), f.f), f.scale)))
			}
			panels[i].Series = append(panels[i].Series, s)
		}
	}
	for _, n := range ns {
		ka := res.sel("bench", map[string]string{"scenario": "scale", "impl": implKA, "n": n})
		xv := res.sel("bench", map[string]string{"scenario": "scale", "impl": implXV, "n": n})
		row := []string{n}
		for _, f := range []string{"cpu_master", "cpu_backup", "rss_master_kb", "pss_master_kb", "restart_first_advert_ms", "restart_master_ms"} {
			row = append(row, Ratio(stat(xv, f), stat(ka, f)))
		}
		rt.Rows = append(rt.Rows, row)
	}
	t.Caption = "Medians (min–max) per size; CPU over a window in the steady state. A run that failed part-way " +
		"counts with what it measured before failing (notes below)."
	sec.Tables = []Table{t, rt}
	for _, r := range failed {
		var got []string
		for _, k := range r.Keys {
			switch k {
			case "scenario", "impl", "n", "segments", "interval_ms", "run", "status", "stage", "reason":
				continue
			}
			if v, ok := r.Float(k); ok {
				got = append(got, k+" "+Num(v))
			}
		}
		note := fmt.Sprintf("Failed run: %s, n=%s, run %s: %s", r.Get("impl"), r.Get("n"), r.Get("run"), failWhy(r))
		if len(got) > 0 {
			note += " (measured before that, and counted above: " + strings.Join(got, ", ") + ")"
		}
		sec.Notes = append(sec.Notes, note)
	}
	ch.Panels = panels
	sec.Chart = ch
	return sec, true
}

// scaled multiplies a Stat by f.
func scaled(s Stat, f float64) Stat {
	return Stat{Med: s.Med * f, Min: s.Min * f, Max: s.Max * f, N: s.N}
}

// ---------------------------------------------------------------------------
// Kernel program.

func kernelSection(res *Results) (Section, bool) {
	all := res.sel("gobench", nil)
	if len(all) == 0 {
		return Section{}, false
	}
	sec := Section{
		Title: "Kernel program",
		Method: "go test -bench ./bpf/: the XDP and tc programs run by BPF_PROG_TEST_RUN on one frame each, no " +
			"attach; ns/op is the cheapest chunk of 20 000 runs (a chunk during which the VM was preempted " +
			"would otherwise dominate), mean-ns/op the plain mean. GoValidate is vrrp.Validate on the same advert " +
			"(the socket path also pays a receive syscall and a copy per packet). keepalived has no kernel " +
			"program: it reads every VRRP packet with a recvmsg in user space, which this benchmark does not measure.",
	}
	t := Table{Header: []string{"benchmark", "ns/op", "mean-ns/op"}, Right: right(1, 3)}
	p := Panel{Title: "", YLabel: "ns per packet"}
	s := Series{Name: "xvrrpd"}
	for _, name := range distinct(all, "name") {
		recs := res.sel("gobench", map[string]string{"name": name})
		ns := stat(recs, "ns/op")
		t.Rows = append(t.Rows, []string{name, ns.Cell(), stat(recs, "mean-ns/op").Cell()})
		p.Groups = append(p.Groups, strings.TrimPrefix(name, "XDP"))
		s.Values = append(s.Values, med(ns))
	}
	p.Series = []Series{s}
	t.Caption = fmt.Sprintf("Medians of %s runs (min–max).", runs(statsOf(all, "ns/op")...))
	sec.Tables = []Table{t}
	sec.Chart = &Chart{File: "kernel.png", Title: "Kernel program cost per packet (medians)", Panels: []Panel{p}}
	return sec, true
}
