package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xvrrp/xvrrp/internal/benchreport"
)

// report on the recorded run: the document's and the README's generated
// blocks are replaced (the text around them kept), the charts written, the
// README links the document.
func TestRunReport(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "docs", "BENCHMARKS.md")
	readme := filepath.Join(dir, "README.md")
	charts := filepath.Join(dir, "docs", "charts")
	if err := os.MkdirAll(filepath.Dir(doc), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(doc, []byte("# B\n\nkept above\n"+benchreport.DocBegin+"\nold\n"+benchreport.DocEnd+"\nkept below\n"), 0o644)
	os.WriteFile(readme, []byte("# R\n"+benchreport.ReadmeBegin+"\nold\n"+benchreport.ReadmeEnd+"\n"), 0o644)
	var out, errb strings.Builder
	err := run([]string{"report", "-in", "../../testdata/run", "-doc", doc, "-charts", charts, "-readme", readme}, &out, &errb)
	if err != nil {
		t.Fatalf("report: %v (%s)", err, errb.String())
	}
	d, _ := os.ReadFile(doc)
	for _, want := range []string{"kept above", "kept below", "keepalived", "charts/"} {
		if !strings.Contains(string(d), want) {
			t.Errorf("document lacks %q", want)
		}
	}
	if strings.Contains(string(d), "\nold\n") {
		t.Error("the old generated block is still in the document")
	}
	r, _ := os.ReadFile(readme)
	if !strings.Contains(string(r), "(docs/BENCHMARKS.md)") || strings.Contains(string(r), "\nold\n") {
		t.Errorf("README block:\n%s", r)
	}
	pngs, _ := filepath.Glob(filepath.Join(charts, "*.png"))
	if len(pngs) == 0 {
		t.Error("no chart written")
	}
	if !strings.Contains(out.String(), "records from 6 files") {
		t.Errorf("summary %q", out.String())
	}
}

func TestRunUsage(t *testing.T) {
	var out, errb strings.Builder
	for _, args := range [][]string{nil, {"bogus"}, {"report", "-in", t.TempDir(), "-out", "x"}, {"report"}} {
		if err := run(args, &out, &errb); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}
