package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp/control"
)

// monitoringDir holds the shipped alerts and dashboard.
const monitoringDir = "../../docs/monitoring"

// TestAlertRules runs promtool on docs/monitoring: the rules are valid and
// their unit tests (alerts_test.yml) pass.
func TestAlertRules(t *testing.T) {
	promtool := testenv.RequireCommand(t, "promtool")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"check", "rules", "docs/monitoring/alerts.yml"},
		{"test", "rules", "docs/monitoring/alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// exported scrapes a collector of fakeStatus (with a transition counted)
// and returns the names of every family, runtime and process ones
// included.
func exported(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	s, events := startServer(t, fakeStatus)
	events <- control.Event{Instance: "VI_1", To: "MASTER", Reason: "startup as address owner"}
	// A second send returns only after the first was taken and counted
	// (the watch goroutine handles one at a time).
	events <- control.Event{Instance: "VI_1", To: "BACKUP", Reason: "higher priority advertisement"}
	return scrape(t, s.Addr())
}

// promqlNoise is what is not a metric name in a PromQL expression: strings,
// label matchers, ranges, grouping clauses, Grafana variables.
var promqlNoise = []*regexp.Regexp{
	regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`"),
	regexp.MustCompile(`\{[^}]*\}`),
	regexp.MustCompile(`\[[^\]]*\]`),
	regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
	regexp.MustCompile(`\$\{?\w+\}?`),
}

var (
	promqlIdent       = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promqlLabelValues = regexp.MustCompile(`label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,`)
	promqlKeywords    = map[string]bool{
		"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	}
)

// metricNames returns the metric names an expression selects.
func metricNames(expr string) []string {
	var names []string
	if m := promqlLabelValues.FindStringSubmatch(expr); m != nil {
		return []string{m[1]}
	}
	for _, re := range promqlNoise {
		expr = re.ReplaceAllString(expr, " ")
	}
	for _, loc := range promqlIdent.FindAllStringIndex(expr, -1) {
		name := expr[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(expr[loc[0]-1:loc[0]], "0123456789.") {
			continue // the exponent of a number (1e9)
		}
		if strings.HasPrefix(strings.TrimLeft(expr[loc[1]:], " \t\n"), "(") || promqlKeywords[strings.ToLower(name)] {
			continue // a function, an aggregation or a keyword
		}
		names = append(names, name)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string]string{
		`count by (ip_address) (keepalived_vrrp_state{ip_address!=""} == 2) > 1`:                                "keepalived_vrrp_state",
		`sum by (instance, iname) (increase(xvrrp_transitions_total{instance=~"$instance"}[$__rate_interval]))`: "xvrrp_transitions_total",
		`(xvrrp_vip_held == 0) and on (instance, iname) (xvrrp_instance_state{state="MASTER"} == 1)`:            "xvrrp_vip_held xvrrp_instance_state",
		`process_resident_memory_bytes{instance=~"$instance"} / 1e9`:                                            "process_resident_memory_bytes",
		`label_values(xvrrp_build_info, instance)`:                                                              "xvrrp_build_info",
		`changes(max by (instance, iname) (keepalived_vrrp_state)[2m:15s]) > 0`:                                 "keepalived_vrrp_state",
		`up{job="xvrrp"} == 0 or absent(foo_bar)`:                                                               "up foo_bar",
	} {
		if got := strings.Join(metricNames(expr), " "); got != want {
			t.Errorf("metricNames(%s) = %q, want %q", expr, got, want)
		}
	}
}

// checkNames fails for every metric name of exprs that the exporter does
// not have (allowed: names Prometheus makes itself).
func checkNames(t *testing.T, where string, exprs []string, fams map[string]*dto.MetricFamily, allowed ...string) {
	t.Helper()
	if len(exprs) == 0 {
		t.Fatalf("%s: no expressions found", where)
	}
	for _, e := range exprs {
		names := metricNames(e)
		if len(names) == 0 {
			t.Errorf("%s: %q selects no metric", where, e)
		}
		for _, n := range names {
			if fams[n] == nil && !contains(allowed, n) {
				t.Errorf("%s: %q uses %s, which xvrrpd does not export", where, e, n)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDashboard: the Grafana dashboard is valid JSON, its panels have
// unique ids, and every metric it queries is exported.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(monitoringDir, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Annotations struct {
			List []struct {
				Expr string `json:"expr"`
			} `json:"list"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard without title, uid or panels")
	}
	var exprs []string
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: query %q without expr or with a missing or repeated refId %q", p.Title, tg.Expr, tg.RefID)
			}
			refs[tg.RefID] = true
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, a := range dash.Annotations.List {
		exprs = append(exprs, a.Expr)
	}
	for _, v := range dash.Templating.List {
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) == nil && strings.Contains(q.Query, "(") {
			exprs = append(exprs, q.Query)
		}
	}
	checkNames(t, "grafana-dashboard.json", exprs, exported(t))
}

// alertExprs returns the expr of every rule in a rules file: a one-line
// value or a block scalar (expr: |).
func alertExprs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		key, val, ok := strings.Cut(strings.TrimSpace(lines[i]), "expr:")
		if !ok || key != "" {
			continue
		}
		val = strings.TrimSpace(val)
		if val != "|" && val != ">" {
			exprs = append(exprs, val)
			continue
		}
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		var block []string
		for i+1 < len(lines) {
			l := lines[i+1]
			if strings.TrimSpace(l) != "" && len(l)-len(strings.TrimLeft(l, " ")) <= indent {
				break
			}
			block = append(block, strings.TrimSpace(l))
			i++
		}
		exprs = append(exprs, strings.Join(block, " "))
	}
	return exprs
}

// TestAlertMetrics: every metric the alerts use is exported (up is
// Prometheus's own), and every alert is tested in alerts_test.yml.
func TestAlertMetrics(t *testing.T) {
	path := filepath.Join(monitoringDir, "alerts.yml")
	checkNames(t, "alerts.yml", alertExprs(t, path), exported(t), "up")

	b, _ := os.ReadFile(path)
	tests, err := os.ReadFile(filepath.Join(monitoringDir, "alerts_test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, m := range regexp.MustCompile(`(?m)^\s*- alert: (\S+)`).FindAllStringSubmatch(string(b), -1) {
		alerts = append(alerts, m[1])
		if !regexp.MustCompile(`(?m)^\s*alertname: ` + m[1] + `\s*$`).Match(tests) {
			t.Errorf("alert %s has no test in alerts_test.yml", m[1])
		}
	}
	sort.Strings(alerts)
	for _, want := range []string{"VRRPDualMaster", "VRRPNoMaster", "XvrrpFlapping", "XvrrpAdvertsDroppedMismatch", "XvrrpDataplaneSocket"} {
		if sort.SearchStrings(alerts, want) == len(alerts) || alerts[sort.SearchStrings(alerts, want)] != want {
			t.Errorf("alerts.yml lacks %s", want)
		}
	}
}
