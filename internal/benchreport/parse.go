package benchreport

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Record is one measurement line: its kind and its key=value fields.
//
// Kinds and the lines they come from:
//
//	bench     BENCH scenario=<s> k=v …          (e2e/bench_*_test.go)
//	zo        ZO column="…" version=N run=N "row"=v …   (TestZeroOutageCompare)
//	health    HEALTH-FAILOVER impl=… backup=… ms=… detect_ms=…
//	failback  HEALTH-FAILBACK impl=… backup=… ms=… wire_ms=…
//	gobench   BenchmarkName-P  N  x ns/op  y mean-ns/op  (go test -bench)
//	startup   STARTUP k=v …
//	memory    MEMORY k=v …
//	env       ENV k=v …                          (benchreport env)
type Record struct {
	Kind   string
	Fields map[string]string
	Keys   []string // the fields' keys in the order of the line
	Line   int      // 1-based line number in its input
	Source string
}

// Get returns the field k ("" when absent).
func (r Record) Get(k string) string { return r.Fields[k] }

// Float returns the field k as a number; ok is false when it is absent or
// not a number.
func (r Record) Float(k string) (float64, bool) {
	s, ok := r.Fields[k]
	if !ok {
		return 0, false
	}
	s = strings.TrimSuffix(s, "%")
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// Scenario is the scenario field of a bench record ("" for other kinds).
func (r Record) Scenario() string { return r.Fields["scenario"] }

// Failure is a test that failed (a "--- FAIL: name" line).
type Failure struct {
	Test   string
	Source string
}

// Results are every record and failure read.
type Results struct {
	Records  []Record
	Failures []Failure
}

// markers are the prefixes that start a record anywhere in a line (go test
// -v prefixes t.Log lines with the file and line).
var markers = []struct{ prefix, kind string }{
	{"BENCH scenario=", "bench"},
	{"ZO column=", "zo"},
	{"HEALTH-FAILOVER ", "health"},
	{"HEALTH-FAILBACK ", "failback"},
	{"STARTUP ", "startup"},
	{"MEMORY ", "memory"},
	{"ENV ", "env"},
}

// goBench matches a go test -bench result line.
var goBench = regexp.MustCompile(`^(Benchmark[A-Za-z0-9_/]+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// failLine matches go test's line for a failed test or subtest.
var failLine = regexp.MustCompile(`^\s*--- FAIL: (\S+)`)

// Parse reads lines from r (source names them in errors and records). A
// line that carries no record is skipped; a record whose fields cannot be
// read is an error naming source and line.
func (res *Results) Parse(r io.Reader, source string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if m := failLine.FindStringSubmatch(line); m != nil {
			res.Failures = append(res.Failures, Failure{Test: m[1], Source: source})
			continue
		}
		if m := goBench.FindStringSubmatch(line); m != nil {
			rec, ok := parseGoBench(m)
			if ok {
				rec.Line, rec.Source = n, source
				res.Records = append(res.Records, rec)
			}
			continue
		}
		for _, mk := range markers {
			i := strings.Index(line, mk.prefix)
			if i < 0 {
				continue
			}
			// STARTUP and MEMORY lines must start the text (after a
			// go test prefix "file.go:N: "), not appear inside a word.
			if i > 0 && !strings.HasSuffix(line[:i], " ") {
				continue
			}
			// The fields start after the marker's first word.
			rest := line[i+strings.Index(mk.prefix, " ")+1:]
			f, keys, err := Fields(rest)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", source, n, err)
			}
			res.Records = append(res.Records, Record{Kind: mk.kind, Fields: f, Keys: keys, Line: n, Source: source})
			break
		}
	}
	return sc.Err()
}

// parseGoBench reads "N  v unit  v unit …" into fields named after the
// units (ns/op, mean-ns/op, B/op …) plus name and n.
func parseGoBench(m []string) (Record, bool) {
	f := map[string]string{"name": strings.TrimPrefix(m[1], "Benchmark"), "n": m[2]}
	keys := []string{"name", "n"}
	w := strings.Fields(m[3])
	if len(w) < 2 || len(w)%2 != 0 {
		return Record{}, false
	}
	for i := 0; i+1 < len(w); i += 2 {
		if _, err := strconv.ParseFloat(w[i], 64); err != nil {
			return Record{}, false
		}
		f[w[i+1]] = w[i]
		keys = append(keys, w[i+1])
	}
	if _, ok := f["ns/op"]; !ok {
		return Record{}, false
	}
	return Record{Kind: "gobench", Fields: f, Keys: keys}, true
}

// Fields splits s into key=value pairs. A key or a value may be a Go
// quoted string ("a b"=1, k="x y"); words without "=" are skipped
// ("(schedstat)"). A quoted string that does not end is an error.
func Fields(s string) (map[string]string, []string, error) {
	out := map[string]string{}
	var keys []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out, keys, nil
		}
		key, rest, err := word(s, true)
		if err != nil {
			return nil, nil, err
		}
		if !strings.HasPrefix(rest, "=") {
			s = rest
			continue
		}
		val, rest, err := word(rest[1:], false)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := out[key]; !dup {
			keys = append(keys, key)
		}
		out[key] = val
		s = rest
	}
}

// word reads one word of s: a quoted string, or up to a space (and, for a
// key, up to "=").
func word(s string, key bool) (string, string, error) {
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", "", fmt.Errorf("unterminated quoted string at %q", trunc(s))
		}
		v, err := strconv.Unquote(q)
		if err != nil {
			return "", "", fmt.Errorf("bad quoted string %q: %w", trunc(q), err)
		}
		return v, s[len(q):], nil
	}
	stop := " \t"
	if key {
		stop += "="
	}
	i := strings.IndexAny(s, stop)
	if i < 0 {
		return s, "", nil
	}
	return s[:i], s[i:], nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
