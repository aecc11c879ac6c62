package docgen

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/xvrrp/xvrrp/vrrp"
)

var update = flag.Bool("update", false, "rewrite the keyword table of docs/MIGRATING.md")

const root = "../.."

// TestMigratingKeywordTable fails when the keyword table committed in
// docs/MIGRATING.md is not the one the parser gives (run `make docs`, or
// this test with -update).
func TestMigratingKeywordTable(t *testing.T) {
	path := filepath.Join(root, "docs/MIGRATING.md")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	table, err := KeywordTable(root)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := ReplaceKeywordTable(string(old), table)
	if err != nil {
		t.Fatal(err)
	}
	if updated == string(old) {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the keyword table differs from the parser's (vrrp/config/decode.go): run `make docs` and commit", path)
}

// TestKeywords pins a few rows of each kind, and checks that no keyword is
// listed twice and that the blocks xvrrpd ignores whole are one row.
func TestKeywords(t *testing.T) {
	kws, err := Keywords(root)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Keyword{}
	for _, k := range kws {
		key := k.Block + " " + k.Name
		if _, dup := got[key]; dup {
			t.Errorf("%s listed twice", key)
		}
		got[key] = k
		if strings.Contains(k.Block, "virtual_server") || strings.Contains(k.Block, "bfd_instance") {
			t.Errorf("a keyword of an ignored block has its own row: %+v", k)
		}
	}
	for _, want := range []Keyword{
		{Block: "vrrp_instance", Name: "virtual_router_id", Since: "2.2.7", Support: Supported},
		{Block: "vrrp_instance", Name: "use_vmac", Since: "2.2.7", Support: NotSupported, Note: "the instance runs on a macvlan with the virtual MAC 00:00:5e:00:01:VRID"},
		{Block: "vrrp_instance", Name: "lvs_sync_daemon_interface", Since: "2.2.7", Support: NotSupported, Note: "deprecated in keepalived (use global_defs lvs_sync_daemon)"},
		{Block: "global_defs", Name: "smtp_server", Since: "2.2.7", Support: Unused},
		{Block: "global_defs", Name: "log_unknown_vrids", Since: "2.2.7", Support: Unused},
		{Block: "global_defs", Name: "vrrp_delay_after_boot", Since: "2.4.0", Support: Supported},
		{Block: "global_defs", Name: "use_symlink_paths", Since: "2.3.0", Support: Supported},
		{Block: "top level", Name: "vrrp_track_file", Since: "2.2.7", Support: Supported},
		{Block: "authentication (in vrrp_instance)", Name: "auth_pass", Since: "2.2.7", Support: Supported},
		{Block: "virtual_ipaddress address option", Name: "dev", Support: Supported},
		{Block: "virtual_ipaddress address option", Name: "-nodad", Support: NotSupported},
		{Block: "unicast_peer address option", Name: "min_ttl", Support: NotSupported, Note: "keepalived drops adverts from this peer outside the TTL range"},
		{Block: "vrrp_script", Name: "init_fail", Since: "2.2.7", Support: Supported},
		{Block: "track_file", Name: "init_file", Since: "2.2.7", Support: Supported},
		{Block: "vrrp_sync_group", Name: "global_tracking", Since: "2.2.7", Support: NotSupported,
			Note: "the group's members share their tracking; deprecated in keepalived (use track_interface, track_script and track_file on the sync group)"},
	} {
		if k := got[want.Block+" "+want.Name]; k != want {
			t.Errorf("%s %s: %+v, want %+v", want.Block, want.Name, k, want)
		}
	}
	// Names xvrrpd listed wrongly before: not keepalived keywords.
	for _, bad := range []string{"global_defs vrrp_log_unknown_vrids", "global_defs lvs_sync_daemon_interface",
		"vrrp_instance no_preempt", "vrrp_instance notify_fifo", "virtual_ipaddress address option nodad"} {
		if _, ok := got[bad]; ok {
			t.Errorf("%s is listed; keepalived does not know it", bad)
		}
	}
	if k := got["top level virtual_server"]; k.Support != NotSupported || !strings.Contains(k.Note, "keywords of its block") {
		t.Errorf("virtual_server row: %+v", k)
	}
}

// Go's flag package output for a FlagSet like xvrrpd's.
const defaults = `Usage of xvrrpd:
  -config-test
    	same as -t
  -dataplane string
    	where adverts are received (default "auto")
  -f string
    	keepalived.conf to read (default "/etc/keepalived/keepalived.conf")
  -multi string
    	first line
    	second line
  -t	check the configuration
  -use-file string
    	same as -f (default "/etc/keepalived/keepalived.conf")
`

func TestParseDefaults(t *testing.T) {
	got, err := ParseDefaults(defaults)
	if err != nil {
		t.Fatal(err)
	}
	want := []Flag{
		{Name: "dataplane", Type: "string", Usage: `where adverts are received (default "auto")`},
		{Name: "f", Type: "string", Usage: `keepalived.conf to read (default "/etc/keepalived/keepalived.conf")`, Aliases: []string{"use-file"}},
		{Name: "multi", Type: "string", Usage: "first line\nsecond line"},
		{Name: "t", Usage: "check the configuration", Aliases: []string{"config-test"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := ParseDefaults("no flags here\n"); err == nil {
		t.Error("no flag: no error")
	}
}

// TestParseDefaultsOfFlagSet parses what package flag really prints.
func TestParseDefaultsOfFlagSet(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("run-dir", "", "a directory")
	fs.Bool("v", false, "verbose")
	fs.Duration("wait", 0, "how long")
	var b bytes.Buffer
	fs.SetOutput(&b)
	fs.PrintDefaults()
	got, err := ParseDefaults(b.String())
	if err != nil {
		t.Fatal(err)
	}
	want := []Flag{{Name: "run-dir", Type: "string", Usage: "a directory"}, {Name: "v", Usage: "verbose"}, {Name: "wait", Type: "duration", Usage: "how long"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestSourceFlagSets(t *testing.T) {
	dir := t.TempDir()
	src := `package main

import "flag"

func global() {
	fs := flag.NewFlagSet("tool", flag.ContinueOnError)
	dir := fs.String("run-dir", "", "")
	var j bool
	fs.BoolVar(&j, "json", false, "print JSON")
	_ = dir
}

func status() {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.Bool("raw", false, "")
	fs.Duration("timeout", 0, "wait")
	other := flag.NewFlagSet("other", flag.ContinueOnError)
	other.Int("n", 1, "")
}
`
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644)
	os.WriteFile(filepath.Join(dir, "main_test.go"), []byte("package main\nimport \"flag\"\nfunc x() { fs := flag.NewFlagSet(\"test\", 0); fs.Bool(\"no\", false, \"\") }\n"), 0o644)
	got, err := SourceFlagSets(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Flag{
		"tool":   {{Name: "run-dir", Type: "string"}, {Name: "json", Usage: "print JSON"}},
		"status": {{Name: "raw"}, {Name: "timeout", Type: "duration", Usage: "wait"}},
		"other":  {{Name: "n", Type: "int"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestDescribe(t *testing.T) {
	usage := "Global flags:\n  --run-dir DIR   the run directory\n                  (default /run/xvrrp)\n  --json          the command's --json\n\nmore\n"
	if d, meta := describe(usage, "run-dir"); d != "the run directory (default /run/xvrrp)" || meta != "DIR" {
		t.Errorf("run-dir: %q %q", d, meta)
	}
	if d, meta := describe(usage, "json"); d != "the command's --json" || meta != "" {
		t.Errorf("json: %q %q", d, meta)
	}
	if d := Describe(usage, "raw"); d != "" {
		t.Errorf("raw: %q", d)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"--json":          `\-\-json`,
		`a\b`:             `a\eb`,
		".starts a line":  `\&.starts a line`,
		"x\n'quoted line": "x\n\\&'quoted line",
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

var testXvrrpd = Xvrrpd{
	Flags: []Flag{{Name: "f", Type: "string", Usage: "the file", Aliases: []string{"use-file"}}, {Name: "dataplane", Type: "string", Usage: "where"}, {Name: "t", Usage: "test"}},
	Doc:   "Command xvrrpd is a daemon.\n\nIt runs.",
}

var testXvrrpctl = Xvrrpctl{
	Usage:  "usage: xvrrpctl [--run-dir DIR] COMMAND\n\nCommands:\n  status   the status\n  reload   reload\n\nGlobal flags:\n  --run-dir DIR   the run directory\n\nExit codes: 0 done, 3 not running.\n",
	Global: []Flag{{Name: "run-dir", Type: "string"}},
	Commands: []Command{
		{Name: "status", Summary: "the status", Usage: "usage: xvrrpctl status [--json]\n\nPrints.\n\n  --json   JSON\n", Flags: []Flag{{Name: "json"}, {Name: "secret", Type: "string"}}},
		{Name: "reload", Summary: "reload", Usage: "usage: xvrrpctl reload\n\nReloads.\n"},
	},
}

func TestManPages(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMan(&b, XvrrpdPage(testXvrrpd)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{".TH XVRRPD 8", `\fB\-f\fR \fISTRING\fR, \fB\-\-use\-file\fR \fISTRING\fR`, `\fB\-\-dataplane\fR`, `\fB\-t\fR`, "It runs.", "[\\-f STRING]",
		// -t is a gate as keepalived's, and tools find the JSON schema.
		".SH EXIT STATUS", "the problems keepalived \\-t fails on", ".SH CONFIGURATION TEST", "\\-t \\-\\-json", "docs/MIGRATING.md, section \"xvrrpd \\-t \\-\\-json\""} {
		if !strings.Contains(page, want) {
			t.Errorf("xvrrpd.8 lacks %q:\n%s", want, page)
		}
	}
	b.Reset()
	if err := WriteMan(&b, XvrrpctlPage(testXvrrpctl)); err != nil {
		t.Fatal(err)
	}
	page = b.String()
	for _, want := range []string{".TH XVRRPCTL 8", `\fB\-\-run\-dir\fR \fIDIR\fR`, ".SS status", `\-\-json   JSON`, `\fB\-\-secret\fR \fISTRING\fR`, "0 done, 3 not running."} {
		if !strings.Contains(page, want) {
			t.Errorf("xvrrpctl.8 lacks %q:\n%s", want, page)
		}
	}
	if got := testXvrrpctl.Undocumented(); !reflect.DeepEqual(got, []string{"xvrrpctl status --secret"}) {
		t.Errorf("undocumented: %q", got)
	}
	if man, err := exec.LookPath("man"); err == nil {
		// The page renders without groff warnings.
		path := filepath.Join(t.TempDir(), "xvrrpctl.8")
		os.WriteFile(path, b.Bytes(), 0o644)
		out, err := exec.Command(man, "--warnings", "-l", path).CombinedOutput()
		if err != nil || bytes.Contains(out, []byte("warning")) {
			t.Errorf("man -l: %v\n%s", err, out)
		}
	}
}

// TestCompletions checks the scripts' syntax with bash -n and what they
// complete, by running them.
func TestCompletions(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var d, c bytes.Buffer
	if err := WriteXvrrpdCompletion(&d, testXvrrpd); err != nil {
		t.Fatal(err)
	}
	if err := WriteXvrrpctlCompletion(&c, testXvrrpctl); err != nil {
		t.Fatal(err)
	}
	complete := func(script, fn string, words ...string) string {
		t.Helper()
		prog := script + "\nCOMP_WORDS=(" + strings.Join(quoteAll(words), " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n" + fn + "\necho \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %q: %v\n%s", fn, words, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct {
		script, fn string
		words      []string
		want       string
	}{
		{d.String(), "_xvrrpd", []string{"xvrrpd", "--data"}, "--dataplane"},
		{d.String(), "_xvrrpd", []string{"xvrrpd", "--dataplane", "x"}, "xdp"},
		{d.String(), "_xvrrpd", []string{"xvrrpd", "--use"}, "--use-file"},
		{c.String(), "_xvrrpctl", []string{"xvrrpctl", "st"}, "status"},
		{c.String(), "_xvrrpctl", []string{"xvrrpctl", "--run-dir", "/run", "status", "--"}, "--json --secret --help"},
		{c.String(), "_xvrrpctl", []string{"xvrrpctl", "help", "re"}, "reload"},
	} {
		if got := complete(tc.script, tc.fn, tc.words...); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.words, got, tc.want)
		}
	}
}

func quoteAll(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = "'" + w + "'"
	}
	return out
}

// TestOperationsDropReasons: docs/OPERATIONS.md explains every drop
// reason, with its number (the index of the kernel's stats map).
func TestOperationsDropReasons(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "docs/OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for r := vrrp.DropReason(1); r < vrrp.NumDropReasons; r++ {
		if row := fmt.Sprintf("| %d | `%s` |", r, r); !strings.Contains(doc, row) {
			t.Errorf("docs/OPERATIONS.md has no row %q", row)
		}
	}
}
