package config

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svDir holds vrrp_script and track_file blocks with the values keepalived
// 2.2.7 runs them with recorded beside them: CASE.keepalived, written by
// run.sh with the real keepalived (its -t output and exit status, the
// vrrp_script and track_file lines of the configuration dump of a run, and
// what the run wrote into the track files).
const svDir = "testdata/scriptvalues"

// svFiles is where the cases' track files live while run.sh runs
// keepalived; pre-* files hold svPre before the run.
const (
	svFiles = "/tmp/xvrrp-scriptvalues/"
	svPre   = "99"
)

// kaRecord is a CASE.keepalived file.
type kaRecord struct {
	// test: what keepalived -t says about each line; run: what the
	// running keepalived says about it.
	test, run map[int][]string
	testExit  string
	// blocks: the dump's fields of each vrrp_script and track_file, by
	// name ("Interval": "1 sec").
	blocks map[string]map[string]string
	// files: the content of each track file after the run, by base name.
	files map[string]string
}

var kaLineRE = regexp.MustCompile(`^\([^:]+: Line ([0-9]+)\) (.*)$`)

func readKaRecord(t *testing.T, name string) *kaRecord {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(svDir, name+".keepalived"))
	if err != nil {
		t.Fatal(err)
	}
	r := &kaRecord{test: map[int][]string{}, run: map[int][]string{}, blocks: map[string]map[string]string{}, files: map[string]string{}}
	section, block := "", ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "== ") {
			section = l
			continue
		}
		if m := kaLineRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			if section == "== keepalived -t" {
				r.test[n] = append(r.test[n], m[2])
			} else {
				r.run[n] = append(r.run[n], m[2])
			}
			continue
		}
		switch {
		case strings.HasPrefix(l, "exit status "):
			r.testExit = strings.TrimPrefix(l, "exit status ")
		case section == "== files":
			k, v, _ := strings.Cut(l, ": ")
			r.files[k] = v
		case strings.HasPrefix(l, " VRRP Script = "), strings.HasPrefix(l, " Track file = "):
			_, block, _ = strings.Cut(l, " = ")
			r.blocks[block] = map[string]string{}
		case block != "":
			k, v, _ := strings.Cut(strings.TrimSpace(l), " = ")
			r.blocks[block][k] = v
		}
	}
	return r
}

// parseCase reads CASE.conf as xvrrpd does.
func parseCase(t *testing.T, name string) (*Config, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(svDir, name+".conf"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(name+".conf", data)
	if err != nil {
		t.Fatalf("xvrrpd refuses %s.conf (keepalived runs it): %v", name, err)
	}
	return c, data
}

// kaDumpScript renders what xvrrpd runs a vrrp_script with as keepalived's
// dump shows it; timeout "0 sec" is keepalived's "the interval".
func kaDumpScript(s *Script, kaTimeout string) map[string]string {
	secs := func(d time.Duration) string {
		if d%time.Second != 0 {
			return d.String() + " (not whole seconds)"
		}
		return fmt.Sprintf("%d sec", d/time.Second)
	}
	timeout := secs(s.Timeout)
	if kaTimeout == "0 sec" && s.Timeout == s.Interval {
		timeout = kaTimeout
	}
	return map[string]string{"Interval": secs(s.Interval), "Timeout": timeout, "Weight": kaWeight(s.Weight, s.Reverse),
		"Rise": strconv.Itoa(s.Rise), "Fall": strconv.Itoa(s.Fall)}
}

func kaWeight(w int, reverse bool) string {
	if reverse {
		return fmt.Sprintf("%d reverse", w)
	}
	return strconv.Itoa(w)
}

// svCases lists the case files (CASE of CASE.conf).
func svCases(t *testing.T) []string {
	t.Helper()
	confs, err := filepath.Glob(filepath.Join(svDir, "*.conf"))
	if err != nil || len(confs) == 0 {
		t.Fatalf("no cases in %s: %v", svDir, err)
	}
	var out []string
	for _, f := range confs {
		out = append(out, strings.TrimSuffix(filepath.Base(f), ".conf"))
	}
	return out
}

// TestScriptValuesAsKeepalived: for every vrrp_script and track_file of
// the recorded cases, xvrrpd runs the values keepalived 2.2.7 ran (its
// configuration dump), writes the track files it wrote, and its -t fails
// on exactly the lines keepalived -t reports.
func TestScriptValuesAsKeepalived(t *testing.T) {
	for _, name := range svCases(t) {
		t.Run(name, func(t *testing.T) {
			c, _ := parseCase(t, name)
			ka := readKaRecord(t, name)
			if len(ka.blocks) == 0 {
				t.Fatalf("%s.keepalived has no dump", name)
			}
			for block, want := range ka.blocks {
				if file, ok := want["File"]; ok {
					f := c.TrackFile(block)
					if f == nil {
						t.Errorf("track_file %s: xvrrpd has none, keepalived runs it", block)
						continue
					}
					if got := map[string]string{"File": f.File, "Weight": kaWeight(f.Weight, f.Reverse)}; got["File"] != file || got["Weight"] != want["Weight"] {
						t.Errorf("track_file %s: xvrrpd %v, keepalived %v", block, got, want)
					}
					continue
				}
				s := c.Script(block)
				if s == nil {
					t.Errorf("vrrp_script %s: xvrrpd has none, keepalived runs it", block)
					continue
				}
				got := kaDumpScript(s, want["Timeout"])
				for _, k := range []string{"Interval", "Timeout", "Weight", "Rise", "Fall"} {
					if got[k] != want[k] {
						t.Errorf("vrrp_script %s: %s: xvrrpd %s, keepalived %s", block, k, got[k], want[k])
					}
				}
			}
			if len(c.Scripts)+len(c.TrackFiles) != len(ka.blocks) {
				t.Errorf("xvrrpd has %d vrrp_script and %d track_file blocks, keepalived %d in all", len(c.Scripts), len(c.TrackFiles), len(ka.blocks))
			}

			// The track files: what xvrrpd's tracker writes at start
			// (vrrp/track: create if missing, or overwrite).
			wrote := map[string]string{}
			for _, f := range c.TrackFiles {
				base := strings.TrimPrefix(f.File, svFiles)
				exists := strings.HasPrefix(base, "pre-")
				switch {
				case f.InitFile && (f.Overwrite || !exists):
					wrote[base] = strconv.Itoa(f.InitValue)
				case exists:
					wrote[base] = svPre
				}
			}
			if fmt.Sprint(wrote) != fmt.Sprint(ka.files) {
				t.Errorf("track files after start: xvrrpd %v, keepalived %v", wrote, ka.files)
			}

			// -t: the lines keepalived -t reports are the lines of
			// xvrrpd's warnings that fail -t, and no others.
			var kaLines, xvLines []int
			for l := range ka.test {
				kaLines = append(kaLines, l)
			}
			seen := map[int]bool{}
			for _, w := range c.Warnings {
				if w.FailsTest() && !seen[w.Line] {
					seen[w.Line] = true
					xvLines = append(xvLines, w.Line)
				}
			}
			sort.Ints(kaLines)
			sort.Ints(xvLines)
			if fmt.Sprint(kaLines) != fmt.Sprint(xvLines) {
				t.Errorf("-t: keepalived reports lines %v, xvrrpd fails on lines %v:\n%s", kaLines, xvLines, warnList(c))
			}
			if fails := !NewVerdict(name+".conf", c, nil).OK; fails != (ka.testExit == "5") {
				t.Errorf("xvrrpd -t fails: %v; keepalived -t exits %s", fails, ka.testExit)
			}
		})
	}
}

// TestScriptValueLines pins down, line by line, what keepalived 2.2.7
// runs (from its dump), what it says under -t and when it runs, and the
// warning xvrrpd gives ("kind keyword substring").
func TestScriptValueLines(t *testing.T) {
	for _, tc := range []struct {
		file, block, line string
		// ka: the dump line of the block ("Interval = 1 sec"), or for a
		// track file's content "file: FILE = CONTENT"; kaTest, kaRun:
		// what keepalived -t and the running keepalived say about the
		// line ("" nothing).
		ka, kaTest, kaRun string
		warn              string // "" none
	}{
		// interval and timeout: whole seconds; the number the word starts
		// with at run time (-t says "ignoring"), 0 is 1.
		{"script-interval", "i_frac", "interval 0.05", "Interval = 1 sec", "(i_frac): vrrp script interval '0.05' must be between 1 and 4294 - ignoring",
			"(i_frac): vrrp script interval must be greater than 0, setting to 1",
			`corrected interval vrrp_script i_frac: interval "0.05" is not a whole number: keepalived 2.2.7 reads whole seconds, here 0 (the digits it starts with), which it raises to 1, and runs the script every 1s; so does xvrrpd (keepalived -t reports the line as ignored; keepalived 2.3.2 and later read 50ms)`},
		{"script-interval", "i_twohalf", "interval 2.5", "Interval = 2 sec", "(i_twohalf): vrrp script interval '2.5' must be between 1 and 4294 - ignoring",
			"WARNING - invalid number '2.5'", `corrected interval here 2 (the digits it starts with) and runs the script every 2s; so does xvrrpd (keepalived -t reports the line as ignored; keepalived 2.3.2 and later read 2.5s)`},
		{"script-interval", "i_exp", "interval 1e3", "Interval = 1 sec", "invalid number '1e3'", "WARNING - invalid number '1e3'", `corrected interval here 1 (the digits`},
		{"script-interval", "i_hex", "interval 0x10", "Interval = 1 sec", "invalid number '0x10'", "setting to 1", `corrected interval here 0 (the digits`},
		{"script-interval", "i_zero", "interval 0", "Interval = 1 sec", "setting to 1", "setting to 1", `corrected interval interval 0: keepalived raises it to 1`},
		{"script-interval", "i_word", "interval abc", "Interval = 1 sec", "invalid number 'abc'", "setting to 1", `corrected interval "abc" is not a whole number`},
		{"script-interval", "i_big", "interval 5000", "Interval = 1 sec", "'5000' must be between 1 and 4294 - ignoring", "'5000' must be between 1 and 4294 - ignoring",
			`corrected interval "5000" is outside [0, 4294]: keepalived 2.2.7 reads whole seconds from 1 to 4294, ignores the line and runs the script every 1s`},
		{"script-interval", "i_neg", "interval -1", "Interval = 3 sec", "negative number '-1'", "'-1' must be between 1 and 4294 - ignoring", `corrected interval ignores the line and runs the script every 3s`},
		{"script-interval", "i_negzero", "interval -0", "Interval = 1 sec", "negative number '-0'", "setting to 1", `corrected interval "-0" is a negative number: keepalived 2.2.7 reads whole seconds, here 0`},
		{"script-interval", "i_huge", "interval 99999999999999999999", "Interval = 1 sec", "outside unsigned integer range", "ignoring", `corrected interval outside the unsigned integer range`},
		{"script-interval", "i_max", "interval 4294", "Interval = 4294 sec", "", "", ""},
		{"script-interval", "i_plus", "interval +3", "Interval = 3 sec", "", "", ""},
		{"script-interval", "i_space", `interval "  7"`, "Interval = 7 sec", "", "", ""},
		{"script-timeout", "t_frac", "timeout 0.3", "Timeout = 1 sec", "(t_frac): vrrp script timeout '0.3' invalid - ignoring",
			"(t_frac): vrrp script timeout must be greater than 0, setting to 1", `corrected timeout here 0 (the digits it starts with), which it raises to 1, and lets each run take 1s`},
		{"script-timeout", "t_twohalf", "timeout 3.9", "Timeout = 3 sec", "invalid - ignoring", "WARNING - invalid number '3.9'", `corrected timeout here 3`},
		{"script-timeout", "t_big", "timeout 4295", "Timeout = 0 sec", "'4295' invalid - ignoring", "'4295' invalid - ignoring", `corrected timeout ignores the line and lets each run take the interval`},
		{"script-timeout", "t_neg", "timeout -2", "Timeout = 5 sec", "negative number '-2'", "invalid - ignoring", `corrected timeout lets each run take 5s`},
		{"script-timeout", "t_before", "timeout 0.5", "Timeout = 1 sec", "invalid - ignoring", "setting to 1", `corrected timeout lets each run take 1s`},
		// weight: stored whatever keepalived reports; only "reverse"
		// after it.
		{"script-weight", "w_big", "weight 300", "Weight = 300", "vrrp_script w_big weight 300 must be in [-253, 253]", "vrrp_script w_big weight 300 must be in [-253, 253]",
			`corrected weight weight "300" is outside [-253, 253]: keepalived 2.2.7 reports it and runs with weight 300`},
		{"script-weight", "w_frac", "weight 10.5", "Weight = 10", "weight 10.5 must be in [-253, 253]", "WARNING - invalid number '10.5'", `corrected weight runs with weight 10`},
		{"script-weight", "w_word", "weight abc", "Weight = 0", "invalid number 'abc'", "WARNING - invalid number 'abc'", `corrected weight runs with weight 0 (weight 0: a failure puts the instance in FAULT)`},
		{"script-weight", "w_huge", "weight 99999999999", "Weight = 1215752191", "outside integer range", "outside integer range", `corrected weight runs with weight 1215752191`},
		{"script-weight", "w_norev", "weight 10 noreverse", "Weight = 10 reverse", "unknown weight option noreverse", "unknown weight option noreverse", `corrected weight "noreverse" after the weight is not reverse: keepalived 2.2.7 ignores it and leaves reverse on`},
		{"script-weight", "w_trail", "weight 20 reverse extra", "Weight = 20 reverse", "", "", `note weight keepalived ignores "extra" after the value`},
		// rise and fall: 1 when not from 1 to 2147483647.
		{"script-rise-fall", "r_frac", "rise 2.5", "Rise = 2", "rise value '2.5' invalid, defaulting to 1", "WARNING - invalid number '2.5'", `corrected rise reads 2 (the digits it starts with) and runs with rise 2`},
		{"script-rise-fall", "r_zero", "fall 0", "Fall = 1", "fall value '0' invalid, defaulting to 1", "defaulting to 1", `corrected fall "0" is outside [1, 2147483647]: keepalived 2.2.7 reads a number from 1 to 2147483647 and sets fall 1 instead`},
		{"script-rise-fall", "r_neg", "rise -1", "Rise = 1", "negative number '-1'", "defaulting to 1", `corrected rise sets rise 1`},
		{"script-rise-fall", "r_big", "fall 2147483647", "Fall = 2147483647", "", "", ""},
		// track_file blocks.
		{"track-file", "f_frac", "weight 10.5 reverse", "Weight = 10 reverse", "Weight (10.5) for track_file f_frac must be between [-254..254] inclusive. Ignoring...", "WARNING - invalid number '10.5'",
			`corrected weight keepalived 2.2.7 reads 10 (the digits it starts with) and runs with weight 10`},
		{"track-file", "f_big", "weight 300", "Weight = 1", "Weight (300) for track_file f_big must be between [-254..254] inclusive. Ignoring...", "Ignoring...", `corrected weight uses weight 1`},
		{"track-file", "f_after_bad", "weight 4", "Weight = 4", "", "", ""},
		{"track-file", "f_word", "weight abc", "Weight = 0", "invalid number 'abc'", "WARNING - invalid number 'abc'", `corrected weight runs with weight 0 (weight 0: a value other than 0 in the file puts the instance in FAULT)`},
		{"track-file", "f_twice", "weight 7", "Weight = 5", "Weight already set for track file f_twice - ignoring 7", "Weight already set", `corrected weight weight 5 is already set`},
		{"track-file", "f_twice", "file " + svFiles + "new-twice-b", "File = " + svFiles + "new-twice-a", "File already set for track file f_twice", "File already set", `corrected file keepalived keeps that one`},
		{"track-file", "f_one", "weight -6 noreverse", "Weight = -6 reverse", "unknown weight option noreverse", "unknown weight option noreverse", `corrected weight leaves reverse on`},
		{"track-file", "f_noval", "file", "File = " + svFiles + "new-noval", "track file file name missing", "track file file name missing", `corrected file file without a name`},
		{"track-file", "f_noval", "weight", "Weight = 3", "No weight specified for track file f_noval - ignoring", "No weight specified", `corrected weight weight without a value`},
		{"track-file", "f_init_pre", "init_file 5", "file: pre-init = 99", "", "", ""},
		{"track-file", "f_init_over", "init_file overwrite -7", "file: pre-over = -7", "", "", ""},
		{"track-file", "f_init_bad", "init_file overwrite 5x", "file: pre-bad = 0", "Track file f_init_bad init value 5x is invalid", "init value 5x is invalid", `corrected init_file init value "5x" is not a whole number: keepalived 2.2.7 writes 0`},
		{"track-file", "f_init_plus", "init_file overwrite +7 foo", "file: pre-plus = 0", "Unknown track file init option +7", "Unknown track file init option foo", `corrected init_file "+7" is not an init_file option`},
		{"track-file", "f_init_reset", "init_file", "file: pre-reset = 99", "", "", `note init_file keepalived reads this line alone`},
		{"track-file", "f_init_range", "init_file 300", "file: new-range = 300", "init value 300 is outside sensible range [-254, 254]", "outside sensible range", `corrected init_file reports it and writes it`},
		{"track-file", "f_init_huge", "init_file 99999999999", "file: new-huge = 0", "number '99999999999' outside integer range", "is invalid", `corrected init_file outside the integer range: keepalived 2.2.7 writes 0`},
		{"track-file", "f_init_last", "init_file 3 4", "file: new-last = 4", "", "", ""},
	} {
		t.Run(tc.block+" "+tc.line, func(t *testing.T) {
			c, data := parseCase(t, tc.file)
			ka := readKaRecord(t, tc.file)
			line := blockLine(t, data, tc.block, tc.line)

			// keepalived's record.
			var got string
			if f, ok := strings.CutPrefix(tc.ka, "file: "); ok {
				base, _, _ := strings.Cut(f, " = ")
				got = "file: " + base + " = " + ka.files[base]
			} else {
				k, _, _ := strings.Cut(tc.ka, " = ")
				got = k + " = " + ka.blocks[tc.block][k]
			}
			if got != tc.ka {
				t.Errorf("keepalived ran %q, the table says %q", got, tc.ka)
			}
			for _, says := range []struct {
				what, want string
				got        []string
			}{{"-t", tc.kaTest, ka.test[line]}, {"running", tc.kaRun, ka.run[line]}} {
				all := strings.Join(says.got, "\n")
				if says.want == "" && all != "" || !strings.Contains(all, says.want) {
					t.Errorf("keepalived %s says about line %d %q, the table says %q", says.what, line, all, says.want)
				}
			}

			// xvrrpd's value, as keepalived's dump shows it.
			k, _, _ := strings.Cut(tc.ka, " = ")
			var xv string
			switch {
			case k == "File":
				xv = "File = " + c.TrackFile(tc.block).File
			case strings.HasPrefix(tc.ka, "file: "):
				f := c.TrackFile(tc.block)
				base := strings.TrimPrefix(f.File, svFiles)
				v := svPre
				if f.InitFile && (f.Overwrite || !strings.HasPrefix(base, "pre-")) {
					v = strconv.Itoa(f.InitValue)
				}
				xv = "file: " + base + " = " + v
			case c.TrackFile(tc.block) != nil:
				f := c.TrackFile(tc.block)
				xv = "Weight = " + kaWeight(f.Weight, f.Reverse)
			default:
				xv = k + " = " + kaDumpScript(c.Script(tc.block), ka.blocks[tc.block]["Timeout"])[k]
			}
			if xv != tc.ka {
				t.Errorf("xvrrpd runs %q, keepalived %q", xv, tc.ka)
			}

			// xvrrpd's warning.
			var mine []Warning
			for _, w := range c.Warnings {
				if w.Line == line {
					mine = append(mine, w)
				}
			}
			if tc.warn == "" {
				if len(mine) > 0 {
					t.Errorf("warnings on line %d, want none: %v", line, mine)
				}
				return
			}
			f := strings.SplitN(tc.warn, " ", 3)
			found := false
			for _, w := range mine {
				if string(w.Kind) == f[0] && w.Keyword == f[1] && strings.Contains(w.Message, f[2]) {
					found = true
				}
			}
			if !found {
				t.Errorf("no warning %q on line %d among:\n%s", tc.warn, line, warnList(c))
			}
		})
	}
}

// blockLine returns the number of the line that reads line (indentation
// aside) in the block NAME of data.
func blockLine(t *testing.T, data []byte, name, line string) int {
	t.Helper()
	in := false
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasSuffix(l, " "+name+" {"):
			in = true
		case l == "}":
			in = false
		case in && l == line:
			return i + 1
		}
	}
	t.Fatalf("no line %q in block %s", line, name)
	return 0
}

// TestKaNumbers pins down the C conversions behind kaInt and kaUnsigned
// (64-bit strtol/strtoul, base 10, then the C int or unsigned cast).
func TestKaNumbers(t *testing.T) {
	for _, tc := range []struct {
		word       string
		lo, hi     int64
		v          int64
		ok         bool
		why        string
		unsigned   bool
		ignoreFail bool // kaInt with ignoreError false
	}{
		{word: "12", lo: 0, hi: 100, v: 12, ok: true},
		{word: " 12", lo: 0, hi: 100, v: 12, ok: true},
		{word: "+12", lo: 0, hi: 100, v: 12, ok: true},
		{word: "", lo: 0, hi: 100, v: 0, ok: true},
		{word: "12x", lo: 0, hi: 100, v: 12, ok: true, why: "not a whole number"},
		{word: "12x", lo: 0, hi: 100, v: 12, ok: false, why: "not a whole number", ignoreFail: true},
		{word: "x", lo: 0, hi: 100, v: 0, ok: true, why: "not a whole number"},
		{word: "x", lo: 1, hi: 100, v: 0, ok: false, why: "not a whole number"},
		{word: "  ", lo: 0, hi: 100, v: 0, ok: true, why: "not a whole number"},
		{word: "-5", lo: -10, hi: 100, v: -5, ok: true},
		{word: "101", lo: 0, hi: 100, v: 101, ok: false, why: "outside [0, 100]"},
		{word: "4294967296", lo: math.MinInt32, hi: math.MaxInt32, v: 0, ok: false, why: "outside the integer range"},
		{word: "99999999999", lo: -253, hi: 253, v: 1215752191, ok: false, why: "outside the integer range"},
		{word: "99999999999999999999", lo: -253, hi: 253, v: -1, ok: false, why: "outside the integer range"},
		{word: "-99999999999999999999", lo: -253, hi: 253, v: 0, ok: false, why: "outside the integer range"},
		{unsigned: true, word: "12", lo: 0, hi: 100, v: 12, ok: true},
		{unsigned: true, word: "  12", lo: 0, hi: 100, v: 12, ok: true},
		{unsigned: true, word: "  ", lo: 0, hi: 100, v: 0, ok: true},
		{unsigned: true, word: "2.5", lo: 0, hi: 100, v: 2, ok: true, why: "not a whole number"},
		{unsigned: true, word: "-1", lo: 0, hi: 100, v: math.MaxUint32, ok: false, why: "a negative number"},
		{unsigned: true, word: "-0", lo: 0, hi: 100, v: 0, ok: true, why: "a negative number"},
		{unsigned: true, word: "-", lo: 0, hi: 100, v: 0, ok: true, why: "a negative number"},
		{unsigned: true, word: "4294967296", lo: 0, hi: 100, v: 0, ok: false, why: "outside the unsigned integer range"},
		{unsigned: true, word: "99999999999999999999", lo: 0, hi: 100, v: math.MaxUint32, ok: false, why: "outside the unsigned integer range"},
	} {
		var v int64
		var ok bool
		var why string
		if tc.unsigned {
			var u uint64
			u, ok, why = kaUnsigned(tc.word, uint64(tc.lo), uint64(tc.hi))
			v = int64(u)
		} else {
			v, ok, why = kaInt(tc.word, tc.lo, tc.hi, !tc.ignoreFail)
		}
		if v != tc.v || ok != tc.ok || why != tc.why {
			t.Errorf("unsigned %v %q [%d, %d]: %d %v %q, want %d %v %q", tc.unsigned, tc.word, tc.lo, tc.hi, v, ok, why, tc.v, tc.ok, tc.why)
		}
	}
	for word, want := range map[string]time.Duration{"0.05": 50 * time.Millisecond, "2.5": 2500 * time.Millisecond, ".5": 500 * time.Millisecond,
		"2.": 2 * time.Second, "0.0004": time.Second, "0.0015": 2 * time.Millisecond, "1": 0, "1e3": 0, ".": 0} {
		if got, _ := decimalSeconds(word); got != want {
			t.Errorf("decimalSeconds(%q) = %v, want %v", word, got, want)
		}
	}
}

// TestScriptValuesRecorded runs run.sh again: keepalived still runs the
// cases with the recorded values.
func TestScriptValuesRecorded(t *testing.T) {
	if os.Getenv("XVRRP_KEEPALIVED") != "1" {
		t.Skip("set XVRRP_KEEPALIVED=1 (root, keepalived installed) to run keepalived on the recorded cases")
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// run.sh writes beside the cases: run it on a copy of the directory.
	if out, err := exec.Command("cp", "-a", svDir+"/.", tmp).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := exec.Command(filepath.Join(tmp, "run.sh")).CombinedOutput(); err != nil {
		t.Fatalf("run.sh: %v: %s", err, out)
	}
	for _, name := range svCases(t) {
		want, err := os.ReadFile(filepath.Join(svDir, name+".keepalived"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(tmp, name+".keepalived"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: keepalived now runs it differently:\n%s\nrecorded:\n%s", name, got, want)
		}
	}
}
