package config

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// kaDir holds one configuration per construct, with keepalived 2.2.7's
// reading of it recorded beside it: CASE.keepalived, written by run.sh with the
// real keepalived (its -t output and exit status, and the lines of the
// configuration dump of its VRRP process that show what it read).
const kaDir = "testdata/lexer/keepalived"

// kaConfigID is the -i run.sh gives keepalived.
const kaConfigID = "lexhost"

// lexCase reads a file of kaDir as the lexer does and returns its lines
// (words joined by spaces, quoted strings in double quotes), the
// instances it declares, and its diagnostics.
func lexCase(t *testing.T, file string) (lines, instances []string, d *diag) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kaDir, file))
	if err != nil {
		t.Fatal(err)
	}
	d = &diag{}
	env := func(k string) (string, bool) {
		if k == "LEXPRIO" {
			return "42", true
		}
		return "", false
	}
	l := &lexer{diag: d, opts: Options{ConfigID: kaConfigID, LookupEnv: env}}
	l.lexFile(filepath.Join(kaDir, file), data)
	return render(l.toks), instancesOf(l.toks), d
}

// render returns each line of a token stream as text.
func render(toks []token) []string {
	var out []string
	var cur []string
	for _, tk := range toks {
		switch tk.kind {
		case tEOL:
			out = append(out, strings.Join(cur, " "))
			cur = nil
		case tWord:
			if tk.quoted {
				cur = append(cur, `"`+tk.text+`"`)
			} else {
				cur = append(cur, tk.text)
			}
		default:
			cur = append(cur, tk.text)
		}
	}
	return out
}

// instancesOf returns the NAME of every "vrrp_instance NAME" line.
func instancesOf(toks []token) []string {
	var out []string
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].kind == tWord && toks[i].text == "vrrp_instance" && (i == 0 || toks[i-1].kind == tEOL) && toks[i+1].kind == tWord {
			out = append(out, toks[i+1].text)
		}
	}
	return out
}

// verdict sums up diagnostics: "error", "warn" or "ok".
func verdict(d *diag) string {
	switch {
	case len(d.errs) > 0:
		return "error"
	case len(d.warns) > 0:
		return "warn"
	}
	return "ok"
}

// subsequence tells whether want appears in got in order.
func subsequence(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestKeepalivedReading compares, for each construct, what keepalived
// 2.2.7's VRRP process read (recorded in CASE.keepalived) with the lines the lexer
// delivers.
func TestKeepalivedReading(t *testing.T) {
	for _, tc := range []struct {
		file string
		// ka: lines of CASE.keepalived that show keepalived's reading; kaExit:
		// its -t exit status (0: passes; 5: configuration errors; 6:
		// file errors or script security; 139: crashed).
		ka     []string
		kaExit string
		// want: lines the lexer delivers, in this order (not all of
		// them); not: lines it must not deliver; instances: exactly the
		// instances declared; argv: what the script line runs; xv: the
		// lexer's verdict.
		want      []string
		not       []string
		instances []string
		argv      []string
		xv        string
	}{
		// Quotes: a '"' ends a word and starts a quoted string; no escapes.
		{file: "quote-mid-word", ka: []string{"Password = pa"}, kaExit: "0", want: []string{`auth_pass pa "ss wo" rd`}, xv: "ok"},
		{file: "quote-whole", ka: []string{"Password = pa ss"}, kaExit: "0", want: []string{`auth_pass "pa ss"`}, xv: "ok"},
		{file: "quote-adjacent", ka: []string{"Password = ab"}, kaExit: "0", want: []string{`auth_pass "ab" cd "ef"`}, xv: "ok"},
		{file: "quote-unmatched", ka: []string{"Unmatched quote: 'auth_pass a\"b'", "Password = a"}, kaExit: "5", want: []string{`auth_pass a`}, xv: "error"},
		{file: "quote-empty", ka: []string{"Authentication specified but no password given"}, kaExit: "5", want: []string{`auth_pass ""`}, xv: "ok"},
		{file: "quote-single", ka: []string{"Password = 'a"}, kaExit: "0", want: []string{`auth_pass 'a b'`}, xv: "ok"},
		{file: "quote-backslash", ka: []string{`Password = \`}, kaExit: "0", want: []string{`auth_pass \ "x\"`}, xv: "ok"},
		{file: "quote-escaped-in-quotes", ka: []string{`Unmatched quote: 'auth_pass "a\"b" c'`, `Password = a\`}, kaExit: "5", want: []string{`auth_pass "a\" b`}, xv: "error"},
		// Comments: '#' and '!' anywhere outside quotes.
		{file: "hash-in-word", ka: []string{"Password = ab"}, kaExit: "0", want: []string{`auth_pass ab`}, xv: "ok"},
		{file: "bang-in-word", ka: []string{"Password = ab"}, kaExit: "0", want: []string{`auth_pass ab`}, xv: "ok"},
		{file: "hash-quoted", ka: []string{"Password = ab#cd"}, kaExit: "0", want: []string{`auth_pass "ab#cd"`}, xv: "ok"},
		{file: "hash-escaped-quoted", ka: []string{`Password = ab\#cd`}, kaExit: "0", want: []string{`auth_pass "ab\#cd"`}, xv: "ok"},
		// "\#" is '#' for keepalived's parent process, a comment for its
		// VRRP process, which reads the configuration copy again.
		{file: "hash-escaped", ka: []string{"Password = ab"}, kaExit: "0", want: []string{`auth_pass ab`}, xv: "warn"},
		{file: "bang-escaped", ka: []string{"Password = ab"}, kaExit: "0", want: []string{`auth_pass ab`}, xv: "warn"},
		{file: "backslash-backslash-hash", ka: []string{`Password = ab\\`}, kaExit: "0", want: []string{`auth_pass ab\\`}, xv: "ok"},
		{file: "linestart-escaped-hash", ka: []string{"Priority = 77"}, kaExit: "0", want: []string{`priority 77`}, not: []string{`#x priority 3`, `priority 3`}, xv: "warn"},
		{file: "linestart-escaped-bang", ka: nil, kaExit: "139", want: []string{`priority 78`}, xv: "error"},
		// A backslash ending a line stays, the blanks before it go.
		{file: "trailing-backslash", ka: []string{`Password = ab\`}, kaExit: "0", want: []string{`auth_pass ab\`}, xv: "ok"},
		{file: "comment-trailing-backslash", ka: []string{`Password = ab\`}, kaExit: "0", want: []string{`auth_pass ab\`}, xv: "ok"},
		// Braces outside quotes end the line.
		{file: "brace-in-word", ka: []string{"Unexpected '{' - ignoring", "Unknown keyword 'b'", "Password = a"}, kaExit: "5", want: []string{`auth_pass a`, `{`, `b`, `}`}, xv: "ok"},
		{file: "brace-quoted", ka: []string{"Password = a{b}"}, kaExit: "0", want: []string{`auth_pass "a{b}"`}, xv: "ok"},
		// Whitespace: " \t\f\v\r" separate words; CRLF line ends.
		{file: "tab-separated", ka: []string{"Password = ab"}, kaExit: "0", want: []string{`auth_pass ab cd`}, xv: "ok"},
		{file: "vt-separated", ka: []string{"Password = ab"}, kaExit: "0", want: []string{`auth_pass ab cd`}, xv: "ok"},
		{file: "crlf", ka: []string{"Priority = 120"}, kaExit: "0", want: []string{`vrrp_instance VI_1`, `priority 120`}, xv: "ok"},
		// A UTF-8 byte order mark is part of the first word.
		{file: "bom", ka: []string{"Unknown keyword '\ufeffvrrp_instance'", "Warning - keepalived has no configuration to run"}, kaExit: "5", want: []string{"\ufeffvrrp_instance VI_1"}, xv: "error"},
		{file: "bom-own-line", ka: []string{"Unknown keyword '\ufeff'", "Priority = 120"}, kaExit: "5", want: []string{"\ufeff", `priority 120`}, xv: "error"},
		// Script lines are split again with quotes and escapes.
		{file: "script-quoted-escaped", ka: []string{`Command = '/usr/bin/echo' 'a#b' 'c d' 'e f' 'A'`}, kaExit: "6",
			want: []string{`script "/bin/echo a\#b \" c d\ " 'e f' \101"`}, argv: []string{"/bin/echo", "a#b", "c d", "e f", "A"}, xv: "ok"},
		{file: "script-unquoted-escapes", ka: []string{`Command = '/usr/bin/echo' 'a'`}, kaExit: "6",
			want: []string{`script /bin/echo\ a`}, argv: []string{"/bin/echo", "a"}, xv: "warn"},
		// keepalived runs the second word of the line only: an unquoted
		// command loses its arguments.
		{file: "script-unquoted-args", ka: []string{"Command = '/usr/bin/echo'\n"}, kaExit: "6",
			want: []string{`script /bin/echo a b`}, argv: []string{"/bin/echo"}, xv: "ok"},
		// Conditional lines, -i lexhost.
		{file: "at-host", ka: []string{"Priority = 150", "Advert interval = 2 sec"}, kaExit: "0", want: []string{`priority 150`, `advert_int 2`}, not: []string{`priority 50`, `advert_int 3`, `@lexhost`}, xv: "ok"},
		{file: "at-host-tab", ka: []string{"Priority = 151"}, kaExit: "0", want: []string{`priority 151`}, xv: "ok"},
		// Definitions.
		{file: "def-simple", ka: []string{"Unknown keyword '$VRID'", "VRRP Instance = VI_Xy", "Priority = 120"}, kaExit: "5", want: []string{`$VRID = 7`, `vrrp_instance VI_Xy`, `priority 120`}, xv: "ok"},
		{file: "def-reference-ends", ka: []string{"invalid IP 10.5.0.$P/24", "10.5.1.10/24 dev veth0", "10.6.0.10 min_ttl", "malformed unicast peer address[10.6.1.$Px]", "10.6.2.100 min_ttl", "malformed unicast peer address[10.6.3.10,]"}, kaExit: "5",
			want: []string{`10.5.0.$P/24`, `10.5.1.10/24`, `10.6.0.10`, `10.6.1.$Px`, `10.6.2.100`, `10.6.3.10,`}, xv: "ok"},
		{file: "def-at-use", ka: []string{"10.2.0.100 dev veth0", "10.2.10.101 min_ttl"}, kaExit: "0", want: []string{`10.2.0.100/32`, `10.2.10.101`}, xv: "ok"},
		{file: "def-conditional", ka: []string{"Priority = 201", "Advert interval = 160 sec"}, kaExit: "0", want: []string{`priority 201`, `advert_int 160`}, not: []string{`priority 202`}, xv: "ok"},
		{file: "def-empty", ka: []string{"Priority = 10"}, kaExit: "0", want: []string{`priority 10`}, xv: "ok"},
		{file: "def-hash-unquoted", ka: []string{"Priority = 1\n"}, kaExit: "0", want: []string{`priority 1`}, xv: "ok"},
		{file: "def-multiline", ka: []string{"VRRP Instance = VI_1", "Virtual Router ID = 11", "Priority = 131", "10.0.1.254/24 dev veth0", "VRRP Instance = VI_2", "Virtual Router ID = 21", "Priority = 132", "10.0.2.254/24 dev veth0"}, kaExit: "0",
			want:      []string{`vrrp_instance VI_1`, `{`, `interface veth0`, `virtual_router_id 11`, `priority 131`, `virtual_ipaddress`, `{`, `10.0.1.254/24`, `}`, `}`, `vrrp_instance VI_2`, `virtual_router_id 21`, `priority 132`, `10.0.2.254/24`},
			instances: []string{"VI_1", "VI_2"}, xv: "ok"},
		// A comment line ends a multi-line definition for the VRRP process.
		{file: "def-multiline-comment", ka: []string{"Line 4) Unknown keyword 'advert_int'", "Priority = 130", "Advert interval = 1 sec"}, kaExit: "5", want: []string{`advert_int 4`, `vrrp_instance VI_1`, `priority 130`}, xv: "ok"},
		// keepalived 2.2.7 garbles the line after ${_RANDOM 5 5}: an error.
		{file: "def-builtins", ka: []string{"Unterminated quote", `Command = '/usr/bin/echo' 'lexhost' '#' '!' '5_RANDOM'`}, kaExit: "6", want: []string{`script "/bin/echo lexhost # ! 5"`}, xv: "error"},
		// ${_ENV} is keepalived 2.4's: 2.2.7 leaves it; xvrrpd substitutes.
		{file: "def-env", ka: []string{"Unknown keyword '_ENV'", "Priority = 100"}, kaExit: "5", want: []string{`priority 42`}, xv: "warn"},
		// ~SEQ and ~LST.
		{file: "seq", ka: []string{"10.0.1.1/24 dev", "10.0.2.1/24 dev", "10.0.3.1/24 dev", "invalid IP 10.1.0.a/24", "invalid IP 10.1.0.e/24", "10.2.1.5/24 dev", "10.2.1.3/24 dev", "10.2.2.5/24 dev", "10.2.2.3/24 dev", "invalid IP 10.3.0.$C/24"}, kaExit: "5",
			want: []string{`10.0.1.1/24`, `10.0.2.1/24`, `10.0.3.1/24`, `10.1.0.a/24`, `10.1.0.c/24`, `10.1.0.e/24`, `10.2.1.5/24`, `10.2.1.3/24`, `10.2.2.5/24`, `10.2.2.3/24`, `10.3.0.$C/24`}, xv: "ok"},
		{file: "seq-invalid", ka: []string{"Invalid ~SEQ values", "Invalid ~SEQ specification '~SEQ N 10.0.0.1/24'"}, kaExit: "5", not: []string{`10.0.0.1/24`}, xv: "error"},
		{file: "lst", ka: []string{"10.3.1.2/24 dev", "10.3.3.4/24 dev", "invalid IP 10.3.5./24", "10.4.0.7/24 dev", "10.4.0.8/24 dev"}, kaExit: "5",
			want: []string{`10.3.1.2/24`, `10.3.3.4/24`, `10.3.5./24`, `10.4.0.7/24`, `10.4.0.8/24`}, xv: "ok"},
		// Includes: the whole rest of the line is one glob pattern.
		{file: "include-whole-line", ka: []string{"VRRP Instance = VI_23"}, kaExit: "0", instances: []string{"VI_1", "VI_23"}, xv: "ok"},
		{file: "include-two-names", ka: []string{"Config files missing 'inc/two.conf inc/three.conf'"}, kaExit: "0", instances: []string{"VI_1"}, xv: "warn"},
		{file: "include-quoted", ka: []string{`Config files missing '"inc/two.conf"'`}, kaExit: "0", instances: []string{"VI_1"}, xv: "warn"},
		{file: "include-brace-order", ka: []string{"VRRP Instance = VI_3", "VRRP Instance = VI_2"}, kaExit: "0", instances: []string{"VI_1", "VI_3", "VI_2"}, xv: "ok"},
		{file: "include-brace-single", ka: []string{"VRRP Instance = VI_2"}, kaExit: "0", instances: []string{"VI_1", "VI_2"}, xv: "ok"},
		{file: "include-wildcard", ka: []string{"'inc/exec.conf' is not a regular non-executable file", "VRRP Instance = VI_3", "VRRP Instance = VI_23", "VRRP Instance = VI_2"}, kaExit: "0", instances: []string{"VI_1", "VI_3", "VI_23", "VI_2"}, xv: "warn"},
		{file: "include-executable", ka: []string{"'inc/exec.conf' is not a regular non-executable file"}, kaExit: "0", instances: []string{"VI_1"}, xv: "warn"},
		{file: "include-directory", ka: []string{"'inc/' is a directory"}, kaExit: "0", instances: []string{"VI_1"}, xv: "warn"},
		{file: "include-missing", ka: []string{"Config files missing 'inc/missing.conf'", "Config files missing 'nodir/*.conf'", `Some config files missing: "inc/{two,missing}.conf"`}, kaExit: "0", instances: []string{"VI_1", "VI_2"}, xv: "warn"},
		{file: "includer-missing", ka: []string{"Config files missing 'inc/missing.conf'"}, kaExit: "0", instances: []string{"VI_1"}, xv: "warn"},
		{file: "includem-missing", ka: []string{"Config files missing 'inc/missing.conf'"}, kaExit: "6", xv: "error"},
		{file: "includew-nomatch", ka: []string{"No config files matched 'inc/*.nomatch'"}, kaExit: "6", xv: "error"},
		{file: "includeb-missing", ka: []string{`Some config files missing: "inc/{two,missing}.conf"`}, kaExit: "6", instances: []string{"VI_1"}, xv: "error"},
		{file: "includea-missing", ka: []string{"Config files missing 'inc/missing.conf'"}, kaExit: "6", xv: "error"},
		{file: "include-check", ka: []string{"Config files missing 'inc/missing.conf'"}, kaExit: "6", xv: "error"},
		// keepalived reads these includes twice.
		{file: "include-conditional", ka: []string{"vrrp instance VI_2 already defined"}, kaExit: "5", instances: []string{"VI_1", "VI_2", "VI_2"}, xv: "warn"},
		{file: "include-after-brace", ka: []string{"vrrp instance VI_2 already defined"}, kaExit: "5", instances: []string{"VI_1", "VI_2", "VI_2"}, xv: "warn"},
		{file: "include-definition", ka: []string{"VRRP Instance = VI_2"}, kaExit: "0", instances: []string{"VI_1", "VI_2"}, xv: "ok"},
		{file: "include-in-multiline", ka: []string{"VRRP Instance = VI_2"}, kaExit: "0", instances: []string{"VI_1", "VI_2"}, xv: "ok"},
		{file: "include-no-name", ka: []string{"Unknown keyword 'include'"}, kaExit: "5", want: []string{`include`}, xv: "ok"},
		// Bytes.
		{file: "long-line", ka: []string{"Unknown keyword 'xxxxxxxx", "Priority = 120"}, kaExit: "5", want: []string{`priority 120`, strings.Repeat("x", 1100-(1023-len("  priority 120 #"))) + " z"}, xv: "warn"},
		{file: "long-line-value", ka: []string{"Priority = 121", "Advert interval = 2 sec"}, kaExit: "0", want: []string{`advert_int 2`, `priority 121`}, xv: "warn"},
		{file: "nul-byte", ka: []string{"Priority = 12\n"}, kaExit: "0", want: []string{`priority 12`}, xv: "warn"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rec, err := os.ReadFile(filepath.Join(kaDir, tc.file+".keepalived"))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range tc.ka {
				if !bytes.Contains(rec, []byte(k)) {
					t.Errorf("keepalived's record %s.keepalived has no %q", tc.file, k)
				}
			}
			if !bytes.Contains(rec, []byte("exit status "+tc.kaExit+"\n")) {
				t.Errorf("keepalived's record %s.keepalived: -t did not exit with %s", tc.file, tc.kaExit)
			}
			lines, instances, d := lexCase(t, tc.file+".conf")
			if !subsequence(lines, tc.want) {
				t.Errorf("lines %q\nwant in order %q", lines, tc.want)
			}
			for _, n := range tc.not {
				for _, l := range lines {
					if l == n {
						t.Errorf("line %q delivered", n)
					}
				}
			}
			if tc.instances != nil && !reflect.DeepEqual(instances, tc.instances) {
				t.Errorf("instances %q, want %q", instances, tc.instances)
			}
			if tc.argv != nil {
				argv, _, err := scriptArgv(rawOf(t, tc.file))
				if err != nil || !reflect.DeepEqual(argv, tc.argv) {
					t.Errorf("script runs %q (%v), want %q", argv, err, tc.argv)
				}
			}
			if v := verdict(d); v != tc.xv {
				t.Errorf("verdict %s, want %s; errors %v, warnings %v", v, tc.xv, d.errs, d.warns)
			}
		})
	}
}

// rawOf returns the raw line of the first "script" statement of a case.
func rawOf(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kaDir, file+".conf"))
	if err != nil {
		t.Fatal(err)
	}
	l := &lexer{diag: &diag{}, opts: Options{ConfigID: kaConfigID}}
	l.lexFile(file, data)
	for _, tk := range l.toks {
		if tk.kind == tWord && tk.text == "script" {
			return tk.line
		}
	}
	t.Fatalf("%s: no script line", file)
	return ""
}

// TestKeepalivedRecorded runs keepalived again on every case (run.sh:
// root, keepalived installed, XVRRP_KEEPALIVED=1) and compares with the
// records the other tests read.
func TestKeepalivedRecorded(t *testing.T) {
	if os.Getenv("XVRRP_KEEPALIVED") != "1" {
		t.Skip("set XVRRP_KEEPALIVED=1 (root, keepalived installed) to run keepalived on the recorded cases")
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(kaDir, "*.conf"))
	for _, f := range files {
		want, err := os.ReadFile(strings.TrimSuffix(f, ".conf") + ".keepalived")
		if err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		// run.sh writes beside the case: run it on a copy of the directory.
		if out, err := exec.Command("cp", "-a", kaDir+"/.", tmp).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if out, err := exec.Command(filepath.Join(tmp, "run.sh"), filepath.Base(f)).CombinedOutput(); err != nil {
			t.Fatalf("run.sh %s: %v: %s", f, err, out)
		}
		got, err := os.ReadFile(filepath.Join(tmp, strings.TrimSuffix(filepath.Base(f), ".conf")+".keepalived"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: keepalived now reads it differently:\n%s\nrecorded:\n%s", f, got, want)
		}
	}
}
