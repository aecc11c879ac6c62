package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes the parser panic or loop, and that
// every error and warning carries a position. It reads as FuzzLex does:
// includes only inside a temporary directory (an input is free to write
// "include /*/*/*"), and few generated lines.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/seed/*.conf")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		minimal + "}\n",
		"{}}{{\n}",
		"a \"b\nc\" {\n",
		"vrrp_instance { { } }",
		"include *\n",
		"include {a,{b,c}}/{d,e}\n",
		"vrrp_instance X {\n virtual_ipaddress {\n fd00::1/129 dev\n }\n advert_int 1e400\n version 3\n}\n",
		"global_defs {\n vrrp_garp_interval NaN\n}\n",
		"include /etc/*\n",
		"include ../*\ninclude /*/*\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	name := filepath.Join(dir, "fuzz.conf")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseLexer(name, data, fuzzLexer(dir))
		if c == nil {
			t.Fatal("nil Config")
		}
		for _, file := range c.Files {
			if !within(dir, file) {
				t.Fatalf("read %s, outside the fuzz directory %s", file, dir)
			}
		}
		for _, e := range errLines(t, err) {
			if e == "" {
				t.Error("empty error")
			}
		}
		for _, w := range c.Warnings {
			if w.Line < 1 || w.Keyword == "" && w.Message == "" {
				t.Errorf("warning without position: %+v", w)
			}
		}
	})
}

// fuzzGenerated is the lexer's bound on generated lines in FuzzLex, small
// so that inputs that expand without end stay fast.
const fuzzGenerated = 1 << 12

// FuzzLex checks the lexer's invariants on any input: it ends (recursive
// definitions, endless ~SEQ and self-including multi-line definitions are
// cut at the bound on generated lines), every token has a position in the
// file, the number of lines it delivers is bounded by the input and that
// bound, and a configuration it reads without a problem, written back from
// its tokens, reads back to the same tokens.
func FuzzLex(f *testing.F) {
	for _, pat := range []string{"testdata/seed/*.conf", kaDir + "/*.conf", "testdata/lexer/fuzz/*.conf"} {
		files, _ := filepath.Glob(pat)
		for _, s := range files {
			data, err := os.ReadFile(s)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range []string{
		"$A=$A\npriority $A\n",
		"$A=x$A\n$A\n",
		"$M=\\\n$M\n\n$M\n",
		"$A=@fuzz $A\n$A\n",
		"~SEQ(i, 0, 9223372036854775807) x $i\n",
		"~SEQ(i, 9223372036854775806, 1, 9223372036854775807) x $i\n",
		"~SEQ(a,9) ~SEQ(b,9) ~SEQ(c,9) ~SEQ(d,9) $a$b$c$d\n",
		"~LST({a,b},{1,2},{3}) x ${a}${b}\n",
		"x ${_RANDOM 1 2} ${_ENV X} ${_RANDOM} $_PWD ${_INSTANCE}\n",
		"a \\ }\n\"{\"\n\"}\"\nx \"{\" y\n",
		"@fuzz a\n@^fuzz b\n@ c\n@\n",
		"\xef\xbb\xbfx\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	name := filepath.Join(dir, "fuzz.conf")
	f.Fuzz(func(t *testing.T, data []byte) {
		l := fuzzLexer(dir)
		l.lexFile(name, data)
		physical := bytes.Count(data, []byte("\n")) + 1
		eols := 0
		for _, tk := range l.toks {
			if tk.kind == tEOL {
				eols++
			}
			if tk.pos.File == "" || tk.pos.Line < 1 || tk.pos.File == name && tk.pos.Line > physical {
				t.Fatalf("token %q at %s:%d (%d lines)", tk.text, tk.pos.File, tk.pos.Line, physical)
			}
		}
		// A line read or generated is at most lineMax bytes, and each
		// brace in it makes one more line.
		if max := (physical + fuzzGenerated + 1) * lineMax; eols > max {
			t.Fatalf("%d lines from %d lines of input", eols, physical)
		}
		for _, e := range l.diag.errs {
			if e.Line < 1 || e.File == "" || e.Msg == "" {
				t.Fatalf("error without position: %+v", e)
			}
		}
		if len(l.diag.errs) > 0 || len(l.diag.warns) > 0 {
			return
		}
		text, ok := renderConfig(l.toks)
		if !ok {
			return
		}
		again := fuzzLexer(dir)
		again.lexFile(name, []byte(text))
		if len(again.diag.errs) > 0 {
			t.Fatalf("written back as\n%s\nit reads with errors: %v", text, again.diag.errs)
		}
		a, b := compact(l.toks), compact(again.toks)
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Fatalf("written back as\n%s\nit reads as\n%q\nnot\n%q", text, b, a)
		}
	})
}

// fuzzLexer reads includes in dir only.
func fuzzLexer(dir string) *lexer {
	env := func(string) (string, bool) { return "v", true }
	return &lexer{diag: &diag{}, opts: Options{ConfigID: "fuzz", LookupEnv: env}, maxGenerated: fuzzGenerated, includeRoot: dir}
}

// compact lists the non-empty lines of a token stream, each token with
// its kind and whether it was quoted.
func compact(toks []token) []string {
	var out []string
	var cur []string
	for _, tk := range toks {
		switch tk.kind {
		case tEOL:
			if len(cur) > 0 {
				out = append(out, strings.Join(cur, " "))
			}
			cur = nil
		case tOpen:
			cur = append(cur, "OPEN")
		case tClose:
			cur = append(cur, "CLOSE")
		default:
			q := "w"
			if tk.quoted {
				q = "q"
			}
			cur = append(cur, q+strings.ReplaceAll(tk.text, " ", "\\x20"))
		}
	}
	return out
}

// renderConfig writes tokens back as configuration text: one line per
// line, quoted strings in double quotes, each line of words after a '\v'
// (a separator, not a blank: "@id", "$NAME=", ~SEQ and include were read
// already and must not be read again). ok is false for tokens no text
// reads back to: a quoted string ending in a backslash (it would escape
// its closing quote), a line ending in a lone backslash (it would join the
// word before it), a word with "$_" or "${_" (a pre-defined definition not
// substituted where it was, "$_PWD}", may be where it is written back), an
// unquoted word with '#' or '!' (made by ${_HASH}, ${_BANG} or "\$_HASH":
// written back, it starts a comment).
func renderConfig(toks []token) (string, bool) {
	var b strings.Builder
	var line []string
	for _, tk := range toks {
		switch tk.kind {
		case tEOL:
			if n := len(line); n > 0 && line[n-1] == `\` {
				return "", false
			}
			if len(line) > 0 && line[0] != "{" && line[0] != "}" {
				b.WriteByte('\v')
			}
			b.WriteString(strings.Join(line, " "))
			b.WriteByte('\n')
			line = nil
		case tOpen, tClose:
			if tk.quoted {
				line = append(line, `"`+tk.text+`"`)
			} else {
				line = append(line, tk.text)
			}
		default:
			if strings.Contains(tk.text, "$_") || strings.Contains(tk.text, "${_") {
				return "", false
			}
			if !tk.quoted {
				if strings.ContainsAny(tk.text, "#!") {
					return "", false
				}
				line = append(line, tk.text)
				continue
			}
			if strings.HasSuffix(tk.text, `\`) {
				return "", false
			}
			line = append(line, `"`+tk.text+`"`)
		}
	}
	return b.String(), true
}
