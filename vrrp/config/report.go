package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Severity is how "xvrrpd -t" treats a Finding.
type Severity string

// Severities.
const (
	// SevError fails "xvrrpd -t" (exit status 1).
	SevError Severity = "error"
	// SevWarning is printed; -t still succeeds.
	SevWarning Severity = "warning"
)

// Kinds of Finding beyond those of Warning.
const (
	// KindInvalid is an error xvrrpd refuses to run with (an *Error).
	KindInvalid Kind = "invalid"
	// KindScript is a script problem: a script line keepalived runs
	// otherwise than it reads (a Warning: words it ignores, a user it
	// cannot find), or a security problem (package vrrp/track).
	KindScript Kind = "script"
	// KindInterface is an interface this host does not have: the
	// instance waits in FAULT until it appears.
	KindInterface Kind = "interface"
)

// Finding is one line of the verdict of "xvrrpd -t": an error, a
// Warning, or a problem found outside this package (scripts, interfaces).
// Its JSON form is the element of "findings" in "xvrrpd -t --json".
type Finding struct {
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Severity Severity `json:"severity"`
	Kind     Kind     `json:"kind"`
	Keyword  string   `json:"keyword,omitempty"`
	Message  string   `json:"message"`
	// Suggest is the closest keyword keepalived knows, for an unknown one.
	Suggest string `json:"suggestion,omitempty"`
	// Behaviour marks an ignored keyword keepalived would act on in a way
	// that changes VRRP or the host; these are listed in Verdict.Ignored.
	Behaviour bool `json:"behaviour_changing,omitempty"`
}

// at returns "file:line: " or "" when the finding has no position.
func (f Finding) at() string {
	if f.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d: ", f.File, f.Line)
}

// VerdictSchema is the version of the JSON form of Verdict. It changes
// when a field changes meaning or goes away (not when one is added).
const VerdictSchema = 1

// Verdict is the outcome of "xvrrpd -t" for a configuration. Its JSON form
// is what "xvrrpd -t --json" prints:
//
//	{
//	  "schema": 1,
//	  "file": "/etc/keepalived/keepalived.conf",
//	  "files": ["/etc/keepalived/keepalived.conf", "/etc/keepalived/conf.d/a.conf"],
//	  "valid": true,      // xvrrpd would run it (no finding of kind "invalid")
//	  "ok": false,        // -t succeeds: no finding of severity "error"
//	  "instances": 2,
//	  "findings": [{"file": "...", "line": 12, "severity": "error", "kind": "unknown",
//	                "keyword": "priorty", "message": "...", "suggestion": "priority"}, ...],
//	  "ignored": [...]    // the findings with behaviour_changing set, again
//	}
//
// kind is one of invalid (xvrrpd refuses the file), unknown (keepalived
// does not know the keyword: a typo), corrected (keepalived reports the
// value and runs with a correction, as xvrrpd does), unsupported (a
// keepalived keyword xvrrpd ignores), unused (e-mail, SNMP, process
// tuning), note, script (script security, script lines keepalived runs
// otherwise than they read) and interface (missing here).
// severity is "error" for invalid, unknown, corrected and the script
// problems keepalived -t fails on, "warning" otherwise.
type Verdict struct {
	Schema    int       `json:"schema"`
	File      string    `json:"file"`
	Files     []string  `json:"files"`
	Valid     bool      `json:"valid"`
	OK        bool      `json:"ok"`
	Instances int       `json:"instances"`
	Findings  []Finding `json:"findings"`
	Ignored   []Finding `json:"ignored"`
}

// NewVerdict builds the verdict for the file (as given to Load) from what
// Load returned: every error, then every warning, in file order. c may be
// nil.
func NewVerdict(file string, c *Config, err error) *Verdict {
	v := &Verdict{Schema: VerdictSchema, File: file, Valid: true, OK: true, Findings: []Finding{}, Ignored: []Finding{}, Files: []string{}}
	var errs Errors
	if err != nil && !errors.As(err, &errs) {
		errs = Errors{{Msg: err.Error()}}
	}
	for _, e := range errs {
		v.Add(Finding{File: e.File, Line: e.Line, Severity: SevError, Kind: KindInvalid, Message: e.Msg})
	}
	if c != nil {
		v.Instances = len(c.Instances)
		if c.Files != nil {
			v.Files = c.Files
		}
		for _, w := range c.Warnings {
			k := w.Kind
			if k == "" {
				k = KindNote
			}
			sev := SevWarning
			if w.FailsTest() {
				sev = SevError
			}
			v.Add(Finding{File: w.File, Line: w.Line, Severity: sev, Kind: k, Keyword: w.Keyword,
				Message: w.Message, Suggest: w.Suggest, Behaviour: w.Behaviour})
		}
	}
	if v.File == "" && len(v.Files) > 0 {
		v.File = v.Files[0]
	}
	return v
}

// Add appends a finding and updates Valid, OK and Ignored.
func (v *Verdict) Add(f Finding) {
	v.Findings = append(v.Findings, f)
	if f.Behaviour {
		v.Ignored = append(v.Ignored, f)
	}
	v.update()
}

func (v *Verdict) update() {
	v.Valid, v.OK = true, true
	for _, f := range v.Findings {
		if f.Kind == KindInvalid {
			v.Valid = false
		}
		if f.Severity == SevError {
			v.OK = false
		}
	}
}

// WriteJSON writes the verdict as one JSON object (see Verdict).
func (v *Verdict) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteText writes what "xvrrpd -t" prints: the errors xvrrpd refuses
// the file for ("file:line: message"), the problems keepalived -t
// reports too ("file:line: error: keyword: message"), the warnings
// ("file:line: warning: keyword: message"), the keywords without effect
// on VRRP on one line, the summary of ignored keywords keepalived would
// act on, and a last line with the verdict. It returns the first write
// error.
func (v *Verdict) WriteText(w io.Writer) error {
	var b strings.Builder
	var invalid, problems, warnings, unused []Finding
	for _, f := range v.Findings {
		switch {
		case f.Kind == KindInvalid:
			invalid = append(invalid, f)
		case f.Severity == SevError:
			problems = append(problems, f)
		case f.Kind == KindUnused:
			unused = append(unused, f)
		default:
			warnings = append(warnings, f)
		}
	}
	for _, f := range invalid {
		fmt.Fprintf(&b, "%s%s\n", f.at(), f.Message)
	}
	line := func(tag string, f Finding) {
		kw := ""
		if f.Keyword != "" {
			kw = f.Keyword + ": "
		}
		fmt.Fprintf(&b, "%s%s: %s%s\n", f.at(), tag, kw, f.Message)
	}
	for _, f := range problems {
		line("error", f)
	}
	for _, f := range warnings {
		line("warning", f)
	}
	if len(unused) > 0 {
		var s []string
		for _, f := range unused {
			s = append(s, fmt.Sprintf("%s (%s:%d)", f.Keyword, f.File, f.Line))
		}
		fmt.Fprintf(&b, "accepted without effect on VRRP (e-mail, SNMP, process tuning): %s\n", strings.Join(s, ", "))
	}
	if len(v.Ignored) > 0 {
		fmt.Fprintf(&b, "ignored by xvrrpd, acted on by keepalived (%d):\n", len(v.Ignored))
		for _, f := range v.Ignored {
			why := ""
			if _, w, ok := strings.Cut(f.Message, "keepalived acts on it ("); ok {
				why = ": " + strings.TrimSuffix(w, ")")
			} else if _, w, ok := strings.Cut(f.Message, "ignored: "); ok {
				why = ": " + w
			}
			fmt.Fprintf(&b, "  %s%s%s\n", f.at(), f.Keyword, why)
		}
	}
	nw := len(warnings) + len(unused)
	switch {
	case len(invalid) > 0:
		fmt.Fprintf(&b, "configuration invalid: %d error(s), %d problem(s), %d warning(s)\n", len(invalid), len(problems), nw)
	case len(problems) > 0:
		fmt.Fprintf(&b, "configuration check failed: %d problem(s) (keepalived -t fails on these too; both would run the file), %d warning(s)\n", len(problems), nw)
	default:
		fmt.Fprintf(&b, "configuration ok: %d vrrp_instance(s), %d warning(s)\n", v.Instances, nw)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Report writes what "xvrrpd -t" prints for a configuration loaded with
// Load or Parse (see Verdict.WriteText), without the checks of other
// packages. c may be nil (nothing could be read); err is the error Load
// returned.
func Report(w io.Writer, c *Config, err error) error {
	return NewVerdict("", c, err).WriteText(w)
}
