package benchreport

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// recorded parses the output of real runs kept in testdata/run.
func recorded(t *testing.T) *Results {
	t.Helper()
	files, err := filepath.Glob("testdata/run/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded output: %v", err)
	}
	var res Results
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Parse(fh, filepath.Base(f)); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		fh.Close()
	}
	return &res
}

func TestFields(t *testing.T) {
	for _, c := range []struct {
		in   string
		want map[string]string
		keys []string
	}{
		{`a=1 b=x`, map[string]string{"a": "1", "b": "x"}, []string{"a", "b"}},
		{`column="xvrrpd pair" version=3 "SIGTERM: requests lost"=0.0`,
			map[string]string{"column": "xvrrpd pair", "version": "3", "SIGTERM: requests lost": "0.0"},
			[]string{"column", "version", "SIGTERM: requests lost"}},
		{`cpu=0.110% (schedstat) cpu_stat=0.10% (utime+stime)`, map[string]string{"cpu": "0.110%", "cpu_stat": "0.10%"}, []string{"cpu", "cpu_stat"}},
		{`reason="a \"quoted\" = word"`, map[string]string{"reason": `a "quoted" = word`}, []string{"reason"}},
		{``, map[string]string{}, nil},
	} {
		got, keys, err := Fields(c.in)
		if err != nil {
			t.Errorf("Fields(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(keys, c.keys) {
			t.Errorf("Fields(%q) = %v %v, want %v %v", c.in, got, keys, c.want, c.keys)
		}
	}
	if _, _, err := Fields(`a="no end`); err == nil {
		t.Errorf("Fields with an unterminated quote: no error")
	}
}

func TestParseBadLineNamesSourceAndLine(t *testing.T) {
	var res Results
	err := res.Parse(strings.NewReader("ok\n    x_test.go:3: BENCH scenario=scale reason=\"open\n"), "e2e.txt")
	if err == nil || !strings.Contains(err.Error(), "e2e.txt:2:") {
		t.Errorf("Parse of an unterminated quote: %v, want an error naming e2e.txt:2", err)
	}
}

func TestParseRecorded(t *testing.T) {
	res := recorded(t)
	kinds := map[string]int{}
	scen := map[string]int{}
	for _, r := range res.Records {
		kinds[r.Kind]++
		if r.Kind == "bench" {
			scen[r.Scenario()]++
		}
	}
	for _, k := range []string{"bench", "zo", "health", "failback", "gobench", "env"} {
		if kinds[k] == 0 {
			t.Errorf("no %s record in the recorded output (kinds %v)", k, kinds)
		}
	}
	for _, s := range []string{"failover", "flood", "scale"} {
		if scen[s] == 0 {
			t.Errorf("no BENCH scenario=%s record (scenarios %v)", s, scen)
		}
	}
	// The first scale line as the test printed it.
	sc := res.bench("scale", map[string]string{"impl": "keepalived", "n": "1"})
	if len(sc) == 0 {
		t.Fatalf("no keepalived n=1 scale record")
	}
	if v, ok := sc[0].Float("cpu_master"); !ok || v != 1.455 {
		t.Errorf("keepalived n=1 cpu_master = %v %v, want 1.455", v, ok)
	}
	if sc[0].Keys[0] != "scenario" || sc[0].Keys[1] != "impl" {
		t.Errorf("keys out of order: %v", sc[0].Keys)
	}
	// go test -bench lines: name without the GOMAXPROCS suffix.
	gb := res.sel("gobench", map[string]string{"name": "XDPNonVRRP"})
	if len(gb) == 0 {
		t.Fatalf("no BenchmarkXDPNonVRRP line parsed")
	}
	if _, ok := gb[0].Float("mean-ns/op"); !ok {
		t.Errorf("BenchmarkXDPNonVRRP: no mean-ns/op in %v", gb[0].Fields)
	}
	var failed []string
	for _, f := range res.Failures {
		failed = append(failed, f.Test)
	}
	if !reflect.DeepEqual(failed, []string{"TestBenchFlood", "TestBenchFlood/keepalived/multicast"}) {
		t.Errorf("failures = %v", failed)
	}
}

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want Stat
	}{
		{[]float64{3, 1, 2}, Stat{Med: 2, Min: 1, Max: 3, N: 3}},
		{[]float64{4, 1, 2, 10}, Stat{Med: 3, Min: 1, Max: 10, N: 4}},
		{[]float64{7}, Stat{Med: 7, Min: 7, Max: 7, N: 1}},
	} {
		if got := Summarize(c.in); got != c.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", c.in, got, c.want)
		}
	}
	if s := Summarize(nil); s.OK() || !math.IsNaN(s.Med) || s.Cell() != "–" {
		t.Errorf("Summarize(nil) = %+v (cell %q), want no value", s, s.Cell())
	}
	if c := Summarize([]float64{611.4, 609, 612.2}).Cell(); c != "611 (609–612)" {
		t.Errorf("cell = %q", c)
	}
}

func TestNumAndRatio(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.1683: "0.168", 5.385: "5.38", 17.595: "17.6", 438.7: "439", math.NaN(): "–"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%v) = %q, want %q", v, got, want)
		}
	}
	a, b := Summarize([]float64{44}), Summarize([]float64{92})
	if got := Ratio(a, b); got != "0.48×" {
		t.Errorf("Ratio(44, 92) = %q", got)
	}
	if got := Ratio(a, Summarize([]float64{0})); got != "–" {
		t.Errorf("Ratio over 0 = %q, want –", got)
	}
	if got := Ratio(Summarize([]float64{27052}), Summarize([]float64{1})); got != "27052×" {
		t.Errorf("Ratio(27052, 1) = %q", got)
	}
}

// headRowOf returns the headline row whose first cell starts with prefix.
func headRowOf(t *testing.T, r *Report, prefix string) []string {
	t.Helper()
	for _, row := range r.Headline.Rows {
		if strings.HasPrefix(row[0], prefix) {
			return row
		}
	}
	t.Fatalf("no headline row %q in %v", prefix, r.Headline.Rows)
	return nil
}

func TestBuildHeadlineFromRecorded(t *testing.T) {
	r := Build(recorded(t))
	// From the recorded scale lines: keepalived n=1 RSS 13092 kB, PSS
	// 5258 kB; xvrrpd 17864 and 10917.
	row := headRowOf(t, r, "master RSS (PSS), 1 instance")
	want := []string{"master RSS (PSS), 1 instance", "12.8 MiB (5.13)", "17.4 MiB (10.7)", "RSS 1.36×, PSS 2.08×", "≤ keepalived's RSS and PSS"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("memory row = %q, want %q", row, want)
	}
	// Node death v3: takeover 361.492 (keepalived), 362.756 (xvrrpd):
	// within the noise margin, not listed as worse.
	row = headRowOf(t, r, "node death, VRRPv3 0.1 s: takeover")
	if row[1] != "361 ms" || row[2] != "363 ms" || row[3] != "1.00×" {
		t.Errorf("takeover row = %q", row)
	}
	var worse string
	for _, w := range r.Worse {
		worse += w + "\n"
	}
	if !strings.Contains(worse, "master RSS (PSS), 1 instance") {
		t.Errorf("the 1-instance memory row is not listed as worse:\n%s", worse)
	}
	if strings.Contains(worse, "takeover") {
		t.Errorf("a takeover 0.3 %% slower is listed as worse:\n%s", worse)
	}
	if r.Env["kernel"] == "" {
		t.Errorf("no kernel in the run's environment: %v", r.Env)
	}
}

func TestWorseMargin(t *testing.T) {
	line := func(impl string, cpu float64) string {
		return "BENCH scenario=scale impl=" + impl + " n=255 run=1 cpu_master=" + Num(cpu) + " status=ok\n"
	}
	for _, c := range []struct {
		ka, xv float64
		worse  bool
	}{{100, 103, false}, {100, 110, true}, {100, 50, false}} {
		var res Results
		if err := res.Parse(strings.NewReader(line("keepalived", c.ka)+line("xvrrpd", c.xv)), "x"); err != nil {
			t.Fatal(err)
		}
		r := Build(&res)
		if got := len(r.Worse) > 0; got != c.worse {
			t.Errorf("keepalived %v, xvrrpd %v: worse %v (%v), want %v", c.ka, c.xv, got, r.Worse, c.worse)
		}
	}
}

func TestFailedRunsShown(t *testing.T) {
	var res Results
	in := "    x.go:1: BENCH scenario=scale impl=keepalived n=4000 run=1 cpu_master=10.5 restart_master_ms=4790 status=ok\n" +
		"    x.go:1: BENCH scenario=scale impl=xvrrpd n=4000 run=1 status=failed reason=\"more than 1024 virtual routers\"\n" +
		"    x.go:1: BENCH scenario=scale impl=xvrrpd-socket n=4000 run=1 cpu_master=20 restart_master_ms=900 status=ok\n" +
		"    x.go:1: BENCH scenario=scale impl=xvrrpd-socket n=4000 run=2 start_master_ms=812.5 cpu_master=30 status=failed stage=\"the restart\" reason=\"timed out\"\n" +
		"    --- FAIL: TestBenchScale/4000/xvrrpd/1 (3.1s)\n"
	if err := res.Parse(strings.NewReader(in), "e2e.txt"); err != nil {
		t.Fatal(err)
	}
	r := Build(&res)
	md := r.Markdown("charts")
	row := headRowOf(t, r, "4 000 instances (16 interfaces × 250)")
	if row[1] != "4790 ms" || row[2] != "failed: more than 1024 virtual routers" {
		t.Errorf("first headline row of a failed size = %q", row)
	}
	row = headRowOf(t, r, "4 000 instances: master CPU")
	if row[1] != "10.5 %" || row[2] != "failed (above)" {
		t.Errorf("next headline row of a failed size = %q", row)
	}
	if n := strings.Count(strings.Join(r.Worse, "\n"), "1024"); n != 1 {
		t.Errorf("the failure is listed %d times, want once: %q", n, r.Worse)
	}
	if len(r.Worse) == 0 || !strings.Contains(strings.Join(r.Worse, "\n"), "xvrrpd failed: more than 1024 virtual routers") {
		t.Errorf("the failure is not listed where xvrrpd does not beat keepalived: %q", r.Worse)
	}
	for _, want := range []string{"1024 virtual routers", "(1 failed part-way)", "TestBenchScale/4000/xvrrpd/1 (e2e.txt)",
		// A run that failed part-way counts with what it measured.
		"| 4000 | xvrrpd-socket | 25 (20–30) |",
		"xvrrpd-socket, n=4000, run 2: stopped at the restart; last logged: timed out (measured before that, and counted above: start_master_ms 812, cpu_master 30)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestMarkdownFromRecorded(t *testing.T) {
	r := Build(recorded(t))
	md := r.Markdown("charts")
	for _, want := range []string{
		"### Headline", "### Failover on node death", "### Graceful stop, upgrade and planned handover",
		"### Failing health check", "### Floods", "### Scale: many instances", "### Kernel program",
		"](charts/failover.png)", "](charts/scale.png)", "- kernel: ", "### Runs that failed",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every table row has as many cells as its header.
	for _, s := range r.Sections {
		for _, tb := range s.Tables {
			for _, row := range tb.Rows {
				if len(row) != len(tb.Header) {
					t.Errorf("%s: row %q has %d cells, header %d", s.Title, row, len(row), len(tb.Header))
				}
			}
		}
	}
}

func TestSplice(t *testing.T) {
	doc := "# T\n\nbefore\n" + DocBegin + "\nold\n" + DocEnd + "\nafter\n"
	got, err := Splice(doc, DocBegin, DocEnd, "new\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# T\n\nbefore\n" + DocBegin + "\nnew\n" + DocEnd + "\nafter\n"; got != want {
		t.Errorf("Splice = %q, want %q", got, want)
	}
	if again, _ := Splice(got, DocBegin, DocEnd, "new\n"); again != got {
		t.Errorf("splicing the same block twice changed the document")
	}
	for _, bad := range []string{"no markers", DocEnd + "\n" + DocBegin, DocBegin + DocBegin + DocEnd} {
		if _, err := Splice(bad, DocBegin, DocEnd, "x"); err == nil {
			t.Errorf("Splice(%q): no error", bad)
		}
	}
}

func TestWriteCharts(t *testing.T) {
	r := Build(recorded(t))
	dir := t.TempDir()
	if err := r.WriteCharts(dir); err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Sections {
		f, err := os.Open(filepath.Join(dir, s.Chart.File))
		if err != nil {
			t.Errorf("%s: %v", s.Title, err)
			continue
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: not a PNG: %v", s.Chart.File, err)
			continue
		}
		wantW := int(math.Round(float64(panelWidth) * float64(len(s.Chart.Panels)) / 72 * chartDPI))
		if w := img.Bounds().Dx(); w < wantW-2 || w > wantW+2 {
			t.Errorf("%s: %d px wide, want %d (%d panels)", s.Chart.File, w, wantW, len(s.Chart.Panels))
		}
	}
}

func TestEnvLineRoundTrip(t *testing.T) {
	kv := [][2]string{{"kernel", "6.18.44"}, {"keepalived", `Keepalived v2.2.7 (01/16,2022)`}, {"xvrrpd", "commit abc + \"changes\""}}
	var res Results
	if err := res.Parse(strings.NewReader(EnvLine(kv)+"\n"), "env.txt"); err != nil {
		t.Fatal(err)
	}
	r := Build(&res)
	for _, p := range kv {
		if r.Env[p[0]] != p[1] {
			t.Errorf("env %s = %q, want %q", p[0], r.Env[p[0]], p[1])
		}
	}
}

func TestStartupLines(t *testing.T) {
	// TestStartupMeasure's lines: one per run, then a median line per
	// daemon (no run field, a bare word "median").
	in := `    startup_measure_test.go:117: STARTUP daemon=xvrrpd dataplane=auto run=1 ready_ms=12.0 sent_ms=13.0 rx_ms=14.0
    startup_measure_test.go:117: STARTUP daemon=xvrrpd dataplane=auto run=2 ready_ms=16.0 sent_ms=17.0 rx_ms=18.0
    startup_measure_test.go:117: STARTUP daemon=xvrrpd dataplane=auto run=3 ready_ms=10.0 sent_ms=11.0 rx_ms=12.0
    startup_measure_test.go:123: STARTUP daemon=xvrrpd dataplane=auto median runs=3 ready_ms=99 sent_ms=99 rx_ms=99
    startup_measure_test.go:117: STARTUP daemon=keepalived dataplane=- run=1 ready_ms=6.0 sent_ms=8.0 rx_ms=9.0
`
	var res Results
	if err := res.Parse(strings.NewReader(in), "measure.txt"); err != nil {
		t.Fatal(err)
	}
	r := Build(&res)
	var sec *Section
	for i := range r.Sections {
		if r.Sections[i].Title == "Start-up of one instance" {
			sec = &r.Sections[i]
		}
	}
	if sec == nil {
		t.Fatalf("no start-up section in %v", r.Sections)
	}
	want := [][]string{
		{"xvrrpd", "auto", "12 (10–16)", "13 (11–17)", "14 (12–18)"},
		{"keepalived", "-", "6", "8", "9"},
		{"xvrrpd ÷ keepalived", "", "2.00×", "1.62×", "1.56×"},
	}
	if !reflect.DeepEqual(sec.Tables[0].Rows, want) {
		t.Errorf("start-up rows = %q, want %q", sec.Tables[0].Rows, want)
	}
	row := headRowOf(t, r, "cold start, 1 instance: launch → ready")
	if row[1] != "6 ms" || row[2] != "12 ms" {
		t.Errorf("headline start-up row = %q", row)
	}
}

func TestPartlyFailedRunCounts(t *testing.T) {
	in := "BENCH scenario=scale impl=keepalived n=4000 run=1 cpu_master=10.5 restart_master_ms=4790 status=ok\n" +
		"BENCH scenario=scale impl=xvrrpd n=4000 run=1 start_master_ms=21509.9 cpu_master=82.6 status=failed " +
		"stage=\"the master exiting after SIGTERM\" reason=\"timed out waiting for the master exiting after SIGTERM\"\n"
	var res Results
	if err := res.Parse(strings.NewReader(in), "e2e.txt"); err != nil {
		t.Fatal(err)
	}
	r := Build(&res)
	if row := headRowOf(t, r, "4 000 instances (16 interfaces × 250)"); row[2] != "failed: stopped at the master exiting after SIGTERM" {
		t.Errorf("first row = %q", row)
	}
	if row := headRowOf(t, r, "4 000 instances: master CPU"); row[2] != "82.6 %" || row[3] != "7.87×" {
		t.Errorf("master CPU row = %q, want the failed run's measurement", row)
	}
	w := strings.Join(r.Worse, "\n")
	if !strings.Contains(w, "master CPU: keepalived 10.5 %, xvrrpd 82.6 %") || strings.Count(w, "stopped at") != 1 {
		t.Errorf("worse = %q", r.Worse)
	}
}

func TestLogTextFitsACell(t *testing.T) {
	in := "2026-11-29T14:43:50.413Z\tWARN\tdaemon\tdataplane chosen\t{\"why\": \"a|b\"}"
	if got, want := logText(in), `WARN daemon dataplane chosen {"why": "a\|b"}`; got != want {
		t.Errorf("logText = %q, want %q", got, want)
	}
	if got := logText(strings.Repeat("x", 300)); len([]rune(got)) != 121 {
		t.Errorf("logText of 300 characters has %d", len([]rune(got)))
	}
}
