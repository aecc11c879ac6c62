package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxIncludeDepth bounds nested includes; deeper nesting is reported as an
// error (it is almost certainly a cycle through differently named paths).
const maxIncludeDepth = 16

type tokKind uint8

const (
	tWord  tokKind = iota // a keyword or argument, quotes removed
	tOpen                 // {
	tClose                // }
	tEOL                  // end of a line
)

type token struct {
	kind   tokKind
	text   string
	quoted bool // the word had quotes: never a brace, never a comment
	pos    Pos
}

// lexer turns files into one token stream, expanding includes in place.
type lexer struct {
	toks  []token
	diag  *diag
	stack []string // absolute paths of the files being read, for cycle checks
	files []string // every file read, in order
}

// lexFile appends the tokens of data, read from the file name, to l.toks.
func (l *lexer) lexFile(name string, data []byte) {
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = name
	}
	l.stack = append(l.stack, abs)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	l.files = append(l.files, name)

	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		pos := Pos{File: name, Line: lineNo}
		toks := l.lexLine(line, pos, true)
		if len(toks) > 0 && toks[0].kind == tWord && !toks[0].quoted && isInclude(toks[0].text) {
			// Braces are glob syntax on an include line ("{a,b}.conf").
			toks = l.lexLine(line, pos, false)
			l.include(toks[0].text, toks[1:], name, pos)
			continue
		}
		l.toks = append(l.toks, toks...)
		l.toks = append(l.toks, token{kind: tEOL, pos: pos})
	}
}

func isInclude(s string) bool {
	switch s {
	case "include", "includea", "includer", "includem", "includew", "includeb":
		return true
	}
	return false
}

// lexLine splits one line. Outside quotes, whitespace separates words, '#'
// and '!' start a comment (anywhere, as keepalived: "51#x" is "51"), and
// '{' and '}' are tokens of their own when splitBraces is set. A '"' toggles
// quoting inside a word, so `a" b "c` is the single word "a b c"; in quotes
// a backslash escapes the next character (\n, \t, \r, \\, \").
func (l *lexer) lexLine(line []byte, pos Pos, splitBraces bool) []token {
	var (
		toks    []token
		cur     strings.Builder
		started bool // a word is being built (possibly empty: "")
		quoted  bool // the word contains a quoted part
		inQuote bool
	)
	flush := func() {
		if started {
			toks = append(toks, token{kind: tWord, text: cur.String(), quoted: quoted, pos: pos})
		}
		cur.Reset()
		started, quoted = false, false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inQuote {
			switch c {
			case '"':
				inQuote = false
			case '\\':
				if i+1 < len(line) {
					i++
					cur.WriteByte(unescape(line[i]))
				} else {
					cur.WriteByte(c)
				}
			default:
				cur.WriteByte(c)
			}
			continue
		}
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			flush()
		case c == '#' || c == '!':
			flush()
			return toks
		case c == '"':
			started, quoted, inQuote = true, true, true
		case splitBraces && (c == '{' || c == '}'):
			flush()
			k := tOpen
			if c == '}' {
				k = tClose
			}
			toks = append(toks, token{kind: k, text: string(c), pos: pos})
		default:
			started = true
			cur.WriteByte(c)
		}
	}
	if inQuote {
		l.diag.errorf(pos, "unterminated quoted string")
	}
	flush()
	return toks
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	case 'a':
		return '\a'
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'v':
		return '\v'
	case 'E':
		return 0x1b
	}
	return c
}

// include expands one include line in place. Plain "include" treats a
// pattern that matches nothing as a warning (keepalived ignores it for
// backward compatibility); the checking variants (includea, includer, ...)
// make it an error.
func (l *lexer) include(kw string, args []token, from string, pos Pos) {
	if len(args) == 0 {
		l.diag.errorf(pos, "%s: missing file name", kw)
		return
	}
	if len(l.stack) >= maxIncludeDepth {
		l.diag.errorf(pos, "%s: includes nested deeper than %d files", kw, maxIncludeDepth)
		return
	}
	strict := kw != "include"
	for _, a := range args {
		pattern := a.text
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(filepath.Dir(from), pattern)
		}
		var matches []string
		for _, p := range expandBraces(pattern, 64) {
			m, err := filepath.Glob(p)
			if err != nil {
				l.diag.errorf(pos, "%s %s: bad pattern: %v", kw, a.text, err)
				continue
			}
			matches = append(matches, m...)
		}
		sort.Strings(matches)
		matches = dedup(matches)
		if len(matches) == 0 {
			if strict {
				l.diag.errorf(pos, "%s %s: no file matches", kw, a.text)
			} else {
				l.diag.warn(pos, kw, "%s: no file matches; nothing included", a.text)
			}
			continue
		}
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.IsDir() {
				l.diag.warn(pos, kw, "%s is a directory; not included", m)
				continue
			}
			abs, err := filepath.Abs(m)
			if err != nil {
				abs = m
			}
			if i := indexOf(l.stack, abs); i >= 0 {
				chain := append(append([]string{}, l.stack[i:]...), abs)
				l.diag.errorf(pos, "%s: include cycle: %s", kw, strings.Join(chain, " -> "))
				continue
			}
			data, err := os.ReadFile(m)
			if err != nil {
				l.diag.errorf(pos, "%s: %v", kw, err)
				continue
			}
			l.lexFile(m, data)
		}
	}
}

// expandBraces expands csh-style alternatives: "a{b,c}d" is "abd", "acd".
// Unbalanced braces are left as they are. At most limit results.
func expandBraces(s string, limit int) []string {
	open := strings.IndexByte(s, '{')
	if open < 0 {
		return []string{s}
	}
	depth, close := 0, -1
	var commas []int
	for i := open; i < len(s) && close < 0; i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				close = i
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	if close < 0 {
		return []string{s}
	}
	pre, post := s[:open], s[close+1:]
	var alts []string
	start := open + 1
	for _, c := range commas {
		alts = append(alts, s[start:c])
		start = c + 1
	}
	alts = append(alts, s[start:close])
	if len(commas) == 0 {
		// "{x}" is not an alternative list: keep the braces, expand the rest.
		var out []string
		for _, r := range expandBraces(post, limit) {
			out = append(out, pre+"{"+alts[0]+"}"+r)
		}
		return out
	}
	var out []string
	for _, a := range alts {
		for _, r := range expandBraces(pre+a+post, limit) {
			if len(out) >= limit {
				return out
			}
			out = append(out, r)
		}
	}
	return out
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// diag collects errors and warnings with their positions.
type diag struct {
	errs  Errors
	warns []Warning
}

func (d *diag) errorf(pos Pos, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (d *diag) warn(pos Pos, keyword, format string, args ...any) {
	d.warns = append(d.warns, Warning{File: pos.File, Line: pos.Line, Keyword: keyword, Message: fmt.Sprintf(format, args...)})
}
