package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestUnterminatedQuote(t *testing.T) {
	_, errs := parse(t, "global_defs {\n router_id \"abc\n}\n")
	wantErr(t, errs, "t.conf:2: ", "unterminated quoted string")
}

func TestBracePlacement(t *testing.T) {
	for name, text := range map[string]string{
		"same line":          "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
		"next line":          "vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 5\n virtual_ipaddress\n {\n 10.0.0.1\n }\n}\n",
		"one line":           "vrrp_instance VI_1 { interface eth0\n virtual_router_id 5\n virtual_ipaddress { 10.0.0.1 } }\n",
		"blank line between": "vrrp_instance VI_1\n\n{\n interface eth0\n virtual_router_id 5\n virtual_ipaddress { 10.0.0.1 }\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := mustParse(t, text)
			if len(c.Instances) != 1 {
				t.Fatalf("%d instances", len(c.Instances))
			}
			in := c.Instances[0]
			if in.Name != "VI_1" || in.Interface != "eth0" || in.VRID != 5 || len(in.VIPs) != 1 || in.VIPs[0].Prefix.String() != "10.0.0.1/32" {
				t.Errorf("decoded %+v", in)
			}
		})
	}
}

func TestTreeErrors(t *testing.T) {
	_, errs := parse(t, "vrrp_instance VI_1 {\n interface eth0\n virtual_ipaddress {\n 10.0.0.1\n")
	wantErr(t, errs, "t.conf:1: ", `block "vrrp_instance VI_1" is never closed`)
	wantErr(t, errs, "t.conf:3: ", `block "virtual_ipaddress" is never closed`)

	_, errs = parse(t, "global_defs {\n}\n}\n")
	wantErr(t, errs, "t.conf:3: ", "unexpected '}'")

	_, errs = parse(t, "{\n}\n")
	wantErr(t, errs, "t.conf:1: ", "unexpected '{'")
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestIncludeGlob(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "keepalived.conf")
	write(t, main, "include conf.d/*.conf\ninclude scripts/{a,b}.inc\n")
	write(t, filepath.Join(dir, "conf.d", "20-vi2.conf"), minimal2("VI_2", 52))
	write(t, filepath.Join(dir, "conf.d", "10-vi1.conf"), minimal2("VI_1", 51))
	write(t, filepath.Join(dir, "conf.d", "ignored.txt"), "garbage {\n")
	// Relative to the including file's directory, not the main file's.
	write(t, filepath.Join(dir, "scripts", "a.inc"), "include nested/s.inc\n")
	write(t, filepath.Join(dir, "scripts", "nested", "s.inc"), "vrrp_script chk {\n script \"/bin/true\"\n}\n")
	write(t, filepath.Join(dir, "scripts", "b.inc"), "vrrp_script chk2 {\n script /bin/false\n bogus 1\n}\n")

	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Instances) != 2 || c.Instances[0].Name != "VI_1" || c.Instances[1].Name != "VI_2" {
		t.Fatalf("instances in glob order: %+v", c.Instances)
	}
	if c.Instances[0].File != filepath.Join(dir, "conf.d", "10-vi1.conf") || c.Instances[0].Line != 1 {
		t.Errorf("instance position %s:%d", c.Instances[0].File, c.Instances[0].Line)
	}
	if c.Script("chk") == nil || c.Script("chk2") == nil {
		t.Errorf("scripts from nested includes: %+v", c.Scripts)
	}
	wantWarn(t, c, filepath.Join(dir, "scripts", "b.inc"), 3, "bogus", "unknown keyword")
	if len(c.Files) != 6 || c.Files[0] != main {
		t.Errorf("files read: %q", c.Files)
	}
}

func minimal2(name string, vrid int) string {
	return strings.NewReplacer("VI_1", name, "51", itoa(vrid)).Replace(minimal) + "}\n"
}

func itoa(i int) string { return fmt.Sprintf("%02d", i) }

func TestIncludeInsideBlock(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "vips.inc"), "10.0.0.7/24 dev eth0\n")
	main := filepath.Join(dir, "k.conf")
	write(t, main, "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  include vips.inc\n }\n}\n")
	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Instances[0].VIPs; len(v) != 1 || v[0].Prefix.String() != "10.0.0.7/24" || v[0].Dev != "eth0" {
		t.Errorf("VIPs %+v", v)
	}
}

func TestIncludeCycle(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.conf"), filepath.Join(dir, "b.conf")
	write(t, a, "include b.conf\n")
	write(t, b, "\ninclude a.conf\n")
	_, err := Load(a)
	errs := errLines(t, err)
	wantErr(t, errs, b+":2: ", "include cycle: "+a+" -> "+b+" -> "+a)

	// A file including itself.
	write(t, a, "include *.conf\n")
	_, err = Load(a)
	wantErr(t, errLines(t, err), a+":1: ", "include cycle")
}

func TestIncludeDepth(t *testing.T) {
	dir := t.TempDir()
	// Distinct files, so no cycle: only the depth limit stops it.
	for i := 0; i < maxIncludeDepth+3; i++ {
		write(t, filepath.Join(dir, "f"+itoa(i)+".conf"), "include f"+itoa(i+1)+".conf\n")
	}
	_, err := Load(filepath.Join(dir, "f00.conf"))
	wantErr(t, errLines(t, err), filepath.Join(dir, "f"+itoa(maxIncludeDepth-1)+".conf")+":1: ", "nested deeper than")
}

func TestIncludeMissing(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "k.conf")
	write(t, main, "include nothing/*.conf\nincludea none.conf\n")
	c, err := Load(main)
	wantErr(t, errLines(t, err), main+":2: ", "includea none.conf: no such file or directory")
	wantWarn(t, c, main, 1, "include", "nothing/*.conf: no such file or directory; nothing included")
}

// lexString lexes text as the file t.conf in a temporary directory.
func lexString(t *testing.T, text string, o Options) ([]string, *diag) {
	t.Helper()
	d := &diag{}
	l := &lexer{diag: d, opts: o}
	l.lexFile(filepath.Join(t.TempDir(), "t.conf"), []byte(text))
	return render(l.toks), d
}

func TestDecomment(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		open    bool
	}{
		{"  priority 100  ", "priority 100", false},
		{"priority 100 # c", "priority 100", false},
		{"a!b", "a", false},
		{`"a # b" c # d`, `"a # b" c`, false},
		{`a\#b`, "a#b", false},
		{`a\!b`, "a!b", false},
		{`"a\#b"`, `"a\#b"`, false},
		{`a\\#b`, `a\\`, false},
		{`a \`, `a\`, false},
		{"a \t\\", `a\`, false},
		{`a # c \`, `a\`, false},
		{`a "b`, `a "b`, true},
		{`a \"b`, `a \"b`, false},
		{`a "b\"`, `a "b\"`, true},
		{"\fa", "\fa", false},
		{`"x" # "y`, `"x"`, false},
	} {
		out, open := decomment(tc.in)
		if out != tc.out || open != tc.open {
			t.Errorf("decomment(%q) = %q %v, want %q %v", tc.in, out, open, tc.out, tc.open)
		}
	}
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      []string
		unmatched bool
	}{
		{`auth_pass pa"ss wo"rd`, []string{"auth_pass", "pa", `"ss wo"`, "rd"}, false},
		{`a""b`, []string{"a", `""`, "b"}, false},
		{"a\tb\fc\vd\re", []string{"a", "b", "c", "d", "e"}, false},
		{`a "b c`, []string{"a"}, true},
		{`"a\" b`, []string{`"a\"`, "b"}, false},
		{`'a b'`, []string{"'a", "b'"}, false},
	} {
		ws, unmatched := splitWords(tc.in)
		var got []string
		for _, w := range ws {
			if w.quoted {
				got = append(got, `"`+w.text+`"`)
			} else {
				got = append(got, w.text)
			}
		}
		if !reflect.DeepEqual(got, tc.want) || unmatched != tc.unmatched {
			t.Errorf("splitWords(%q) = %q %v, want %q %v", tc.in, got, unmatched, tc.want, tc.unmatched)
		}
	}
}

// TestScriptArgv pins keepalived 2.2.7's alloc_strvec_quoted_escaped, which
// its script keywords apply to their line and then to the command.
func TestScriptArgv(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		argv  []string
		extra []string
		err   bool
	}{
		{`script "/bin/echo 'a b' \"c\""`, []string{"/bin/echo", "a b", "c"}, []string{}, false},
		{`notify "/x.sh arg" root wheel`, []string{"/x.sh", "arg"}, []string{"root", "wheel"}, false},
		{`script /bin/x\ y`, []string{"/bin/x", "y"}, []string{}, false},
		{`script "/bin/echo \x41\x42"`, []string{"/bin/echo", "AB"}, []string{}, false},
		{`script "/bin/echo \101\cA\t"`, []string{"/bin/echo", "A\x01"}, []string{}, false},
		{`script "/bin/echo \x41A"`, []string{"/bin/echo", "\x1a"}, []string{}, false}, // 2.2.7: every hex digit
		{`script "/bin/echo a\0b"`, []string{"/bin/echo", "a"}, []string{}, false},
		{`script "/bin/echo 'a"`, nil, nil, true},
		{`script`, nil, nil, false},
		{`script "/bin/echo \`, nil, nil, false},
	} {
		argv, extra, err := scriptArgv(tc.raw)
		if !reflect.DeepEqual(argv, tc.argv) || (err != nil) != tc.err || tc.extra != nil && !reflect.DeepEqual(extra, tc.extra) {
			t.Errorf("scriptArgv(%q) = %q %q %v, want %q %q err %v", tc.raw, argv, extra, err, tc.argv, tc.extra, tc.err)
		}
	}
}

func TestConfigIDOption(t *testing.T) {
	text := "@alpha priority 1\n@beta priority 2\n@^alpha advert_int 3\n${_INSTANCE}\n"
	lines, _ := lexString(t, text, Options{ConfigID: "alpha"})
	if want := []string{"priority 1", "alpha"}; !reflect.DeepEqual(lines, want) {
		t.Errorf("-i alpha: %q, want %q", lines, want)
	}
	lines, _ = lexString(t, text, Options{ConfigID: "beta"})
	if want := []string{"priority 2", "advert_int 3", "beta"}; !reflect.DeepEqual(lines, want) {
		t.Errorf("-i beta: %q, want %q", lines, want)
	}
	// The default is the host name up to its first dot, as keepalived.
	h, _ := os.Hostname()
	short, _, _ := strings.Cut(h, ".")
	if DefaultConfigID() != short {
		t.Errorf("DefaultConfigID() = %q, want %q", DefaultConfigID(), short)
	}
	lines, _ = lexString(t, "@"+short+" priority 9\n", Options{})
	if want := []string{"priority 9"}; !reflect.DeepEqual(lines, want) {
		t.Errorf("default id: %q, want %q", lines, want)
	}
	// Through Parse: the priority differs with the id.
	conf := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n @alpha priority 150\n @beta priority 50\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
	for id, prio := range map[string]uint8{"alpha": 150, "beta": 50, "gamma": 100} {
		c, err := ParseWith("t.conf", []byte(conf), Options{ConfigID: id})
		if err != nil {
			t.Fatal(err)
		}
		if c.Instances[0].Priority != prio {
			t.Errorf("-i %s: priority %d, want %d", id, c.Instances[0].Priority, prio)
		}
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "k.conf"), conf)
	c, err := LoadWith(filepath.Join(dir, "k.conf"), Options{ConfigID: "alpha"})
	if err != nil || c.Instances[0].Priority != 150 {
		t.Errorf("LoadWith -i alpha: %v %+v", err, c.Instances)
	}
}

func TestPredefined(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "k.conf"), "a ${_PWD}\ninclude sub/*.conf\n")
	write(t, filepath.Join(dir, "sub", "s.conf"), "b $_PWD\nc \"${_HASH}\"x $_BANG y\n")
	d := &diag{}
	l := &lexer{diag: d, opts: Options{ConfigID: "id"}}
	data, _ := os.ReadFile(filepath.Join(dir, "k.conf"))
	l.lexFile(filepath.Join(dir, "k.conf"), data)
	real, _ := filepath.EvalSymlinks(dir)
	// The '!' substituted outside quotes starts a comment, as in keepalived.
	want := []string{"a " + real, "b " + filepath.Join(real, "sub"), `c "#" x`}
	if got := render(l.toks); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for i := 0; i < 50; i++ {
		lines, d := lexString(t, "x ${_RANDOM}\n", Options{})
		var n int
		if _, err := fmt.Sscanf(lines[0], "x %d", &n); err != nil || n < 0 || n > 32767 || len(d.errs) > 0 {
			t.Fatalf("${_RANDOM}: %q %v", lines, d.errs)
		}
	}
	// keepalived 2.2.7 garbles the line after ${_RANDOM MIN MAX}.
	_, d = lexString(t, "x ${_RANDOM 1 5}\n", Options{})
	if len(d.errs) != 1 || !strings.Contains(d.errs[0].Msg, "2.2.7 garbles") {
		t.Errorf("${_RANDOM 1 5}: %v", d.errs)
	}
	_, d = lexString(t, "x ${_RANDOM a}\n", Options{})
	if len(d.errs) != 1 || !strings.Contains(d.errs[0].Msg, "numbers only") {
		t.Errorf("${_RANDOM a}: %v", d.errs)
	}
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"PRIO": "120"}[k]
		return v, ok
	}
	lines, d := lexString(t, "priority ${_ENV PRIO}\nx ${_ENV NONE}y\n", Options{LookupEnv: env})
	if want := []string{"priority 120", "x y"}; !reflect.DeepEqual(lines, want) || len(d.warns) != 2 {
		t.Errorf("${_ENV}: %q %v", lines, d.warns)
	}
}

// TestDefinitionsBounded: keepalived loops for ever on these; the lexer
// stops with an error, quickly.
func TestDefinitionsBounded(t *testing.T) {
	for name, text := range map[string]string{
		"itself":           "$A=$A\npriority $A\n",
		"itself in braces": "$A=${A}\npriority $A\n",
		"through @":        "$A=@id $A\n$A\n",
		"growing":          "$A=x$A\n$A\n",
		"multi-line":       "$M=\\\n$M\n\n$M\n",
		"rest of a line":   "$INST=\\\n{\\$INST\n$INST",
		"endless ~SEQ":     "~SEQ(i, 0, 9223372036854775807) x $i\n",
		"nested ~SEQ":      "~SEQ(a,999) ~SEQ(b,999) ~SEQ(c,999) $a$b$c\n",
	} {
		t.Run(name, func(t *testing.T) {
			d := &diag{}
			l := &lexer{diag: d, opts: Options{ConfigID: "id"}, maxGenerated: 1 << 12}
			l.lexFile("t.conf", []byte(text))
			if len(d.errs) == 0 {
				t.Fatalf("no error; %d tokens", len(l.toks))
			}
		})
	}
}

func TestSeqPositions(t *testing.T) {
	d := &diag{}
	l := &lexer{diag: d, opts: Options{ConfigID: "id"}}
	l.lexFile("t.conf", []byte("a\n~SEQ(i, 2) x$i\n$M=\\\ny \\\nz\n\n$M\n"))
	var got []string
	for _, tk := range l.toks {
		if tk.kind == tWord {
			got = append(got, fmt.Sprintf("%s@%d", tk.text, tk.pos.Line))
		}
	}
	if want := []string{"a@1", "x1@2", "x2@2", "y@7", "z@7"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestIncludeCheck: include_check in global_defs makes include problems
// errors, to the end of the file it is in.
func TestIncludeCheck(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "k.conf")
	write(t, main, "include a.conf\ninclude none1.conf\n")
	write(t, filepath.Join(dir, "a.conf"), "global_defs {\n include_check\n}\ninclude none2.conf\n")
	c, err := Load(main)
	wantErr(t, errLines(t, err), filepath.Join(dir, "a.conf")+":4: ", "include none2.conf: no such file")
	wantWarn(t, c, main, 2, "include", "none1.conf: no such file")

	// "read" checks unreadable matches only: a missing file stays a
	// warning, a directory becomes an error.
	// (An unknown check, as in keepalived, first clears them all.)
	write(t, main, "global_defs {\n include_check bogus\n include_check read -match\n}\ninclude none1.conf\ninclude sub/\n")
	write(t, filepath.Join(dir, "sub", "x.conf"), "")
	c, err = Load(main)
	errs := errLines(t, err)
	wantErr(t, errs, main+":2: ", `include_check: unknown check "bogus"`)
	wantErr(t, errs, main+":6: ", "include "+filepath.Join(dir, "sub")+"/ is a directory")
	wantWarn(t, c, main, 5, "include", "none1.conf: no such file")
	if len(errs) != 2 {
		t.Errorf("errors: %q", errs)
	}
}

func TestGlob(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b1", "b2", "a1", "a2", ".h1", "d1/x", "d2/y"} {
		write(t, filepath.Join(dir, f), "")
	}
	for pattern, want := range map[string][]string{
		"{b*,a*}":    {"b1", "b2", "a1", "a2"},
		"*":          {"a1", "a2", "b1", "b2", "d1/", "d2/"},
		"{a1}":       {"a1"},
		"{d2,d1}/*":  {"d2/y", "d1/x"},
		"{b,a}{2,1}": {"b2", "b1", "a2", "a1"},
		"[!a]*":      {"b1", "b2", "d1/", "d2/"},
		"[^a]?":      {"b1", "b2", "d1/", "d2/"},
		`a\1`:        {"a1"},
		"*/":         {"d1/", "d2/"},
		"d*/*":       {"d1/x", "d2/y"},
		".h*":        {".h1"},
	} {
		var ops int
		g := globPattern("", &ops, dir, pattern)
		var got []string
		for _, p := range g.paths {
			got = append(got, strings.TrimPrefix(p, dir+"/"))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("glob %q = %q, want %q", pattern, got, want)
		}
	}
	var ops int
	if g := globPattern("", &ops, dir, "none/*"); !g.missing || len(g.paths) != 0 {
		t.Errorf("none/*: %+v", g)
	}
	if g := globPattern("", &ops, dir, "*.none"); g.missing || !g.wild {
		t.Errorf("*.none: %+v", g)
	}
	if g := globPattern("", &ops, dir, "{a1,none}"); !g.missing || len(g.paths) != 1 {
		t.Errorf("{a1,none}: %+v", g)
	}
}
