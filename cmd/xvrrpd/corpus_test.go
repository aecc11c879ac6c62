package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// corpusDir holds keepalived.conf files written in the styles found in
// public repositories (HAProxy and nginx pairs, Kubernetes VIPs, LVS,
// databases, routers with sync groups, OpenStack neutron, unicast cloud
// set-ups, IPv6, includes) and keepalived.txt, keepalived 2.2.7's verdict
// on each, recorded by record.sh there.
const corpusDir = "../../vrrp/config/testdata/corpus"

// kaVerdict is what keepalived -t said about one file.
type kaVerdict struct {
	rc    int
	lines []kaMessage // messages with a line number
	other []string    // messages without one
}

type kaMessage struct {
	file string // "" for the file checked
	line int
	text string
}

// kaRecords reads keepalived.txt: its header (key: value) and the verdict
// of each file.
func kaRecords(t *testing.T) (map[string]string, map[string]*kaVerdict) {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "keepalived.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header := map[string]string{}
	recs := map[string]*kaVerdict{}
	var cur *kaVerdict
	re := regexp.MustCompile(`^\((?:([^:]+): )?Line (\d+)\) (.*)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "# "):
			if k, v, ok := strings.Cut(l[2:], ": "); ok {
				header[k] = v
			} else if k, ok := strings.CutSuffix(l[2:], ":"); ok {
				header[k] = ""
			}
		case strings.HasPrefix(l, "== "):
			cur = &kaVerdict{}
			recs[l[3:]] = cur
		case cur == nil:
			t.Fatalf("keepalived.txt: %q before any file", l)
		case strings.HasPrefix(l, "rc "):
			cur.rc, _ = strconv.Atoi(l[3:])
		default:
			if m := re.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[2])
				cur.lines = append(cur.lines, kaMessage{m[1], n, m[3]})
			} else {
				cur.other = append(cur.other, l)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return header, recs
}

var programRe = regexp.MustCompile(`(?m)(?:script|notify[a-z_]*)\s+"?(/[^" \n]+)`)

// TestCorpus runs xvrrpd -t on every file of the corpus and compares its
// verdict with keepalived 2.2.7's, recorded: xvrrpd -t fails exactly when
// keepalived -t fails, xvrrpd runs every file keepalived runs, and every
// line keepalived reports a problem on has a finding of xvrrpd's. The
// interfaces are those keepalived had when the verdicts were recorded.
func TestCorpus(t *testing.T) {
	header, recs := kaRecords(t)
	if !strings.Contains(header["version"], "v2.2.7") {
		t.Fatalf("keepalived.txt is not keepalived 2.2.7's: %q", header["version"])
	}
	ifaces := strings.Fields(header["interfaces"])
	present := strings.Fields(header["programs present"])
	_, errUser := user.Lookup(track.DefaultScriptUser)
	userNow := "absent"
	if errUser == nil {
		userNow = "present"
	}
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.conf"))
	if len(files) < 20 || len(files) != len(recs) {
		t.Fatalf("%d files, %d records: run record.sh", len(files), len(recs))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			ka := recs[name]
			if ka == nil {
				t.Fatalf("no record: run record.sh")
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range programRe.FindAllStringSubmatch(string(data), -1) {
				_, err := os.Stat(m[1])
				if (err == nil) != slices.Contains(present, m[1]) {
					t.Skipf("%s exists here and did not where keepalived's verdict was recorded, or the reverse", m[1])
				}
			}
			if header["keepalived_script user"] != userNow && strings.Contains(string(data), "enable_script_security") {
				t.Skipf("user keepalived_script is %s here, was %s where keepalived's verdict was recorded", userNow, header["keepalived_script user"])
			}
			cfg, cerr := config.Load(path)
			var out bytes.Buffer
			exists := func(n string) bool { return slices.Contains(ifaces, n) }
			if err := configTest(&out, path, cfg, cerr, exists, true); err != nil && err != errReported {
				t.Fatal(err)
			}
			var v config.Verdict
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			configTest(&text, path, cfg, cerr, exists, false)
			if (ka.rc != 0) == v.OK {
				t.Errorf("keepalived -t exits %d, xvrrpd -t ok=%v:\n%s", ka.rc, v.OK, text.String())
			}
			if !v.Valid {
				t.Errorf("xvrrpd refuses a file keepalived runs:\n%s", text.String())
			}
			for _, m := range ka.lines {
				file := name
				if m.file != "" {
					file = m.file
				}
				if !covered(v, file, m.line, blockStart(cfg, file, m.line)) {
					t.Errorf("keepalived reports %s:%d (%s); xvrrpd has no finding there:\n%s", file, m.line, m.text, text.String())
				}
			}
		})
	}
}

// blockStart is the first line of the top-level block of cfg that holds
// file:line (keepalived reports some problems at the end of a block, where
// it checks it; xvrrpd at its start), or 0.
func blockStart(cfg *config.Config, file string, line int) int {
	start := 0
	consider := func(p config.Pos) {
		if strings.HasSuffix(p.File, file) && p.Line <= line && p.Line > start {
			start = p.Line
		}
	}
	for _, in := range cfg.Instances {
		consider(in.Pos)
	}
	for _, s := range cfg.Scripts {
		consider(s.Pos)
	}
	for _, f := range cfg.TrackFiles {
		consider(f.Pos)
	}
	for _, g := range cfg.SyncGroups {
		consider(g.Pos)
	}
	return start
}

// covered tells whether v has a finding on file:line, or one about a
// whole block on the first line of its block (start), or an unknown
// keyword before it whose block keepalived reads out of place (its lines
// are one finding).
func covered(v config.Verdict, file string, line, start int) bool {
	for _, f := range v.Findings {
		if !strings.HasSuffix(f.File, file) {
			continue
		}
		if f.Line == line {
			return true
		}
		blockLevel := f.Kind == config.KindScript || slices.Contains([]string{"vrrp_script", "track_file", "vrrp_track_file", "vrrp_sync_group"}, f.Keyword)
		if blockLevel && start > 0 && f.Line == start {
			return true
		}
		if f.Kind == config.KindUnknown && f.Line < line && strings.Contains(f.Message, "reads the lines of its block") {
			return true
		}
	}
	return false
}
