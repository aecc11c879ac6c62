package config

import (
	"fmt"
	"strings"
)

// The word-level rules of keepalived 2.2.7's lib/parser.c, reimplemented
// from its behaviour (see docs/MIGRATING.md, "How xvrrpd reads the file").

// lineMax is keepalived's MAXBUF: a line it reads is at most lineMax-1
// bytes, and a substitution may not make a line lineMax bytes or longer.
const lineMax = 1024

// whiteSpace separates words (keepalived's WHITE_SPACE_STR).
const whiteSpace = " \t\f\n\r\v"

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isSpace(c byte) bool { return strings.IndexByte(whiteSpace, c) >= 0 }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

func isXDigit(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// trimBlanks removes spaces and tabs at the end of s.
func trimBlanks(s string) string { return strings.TrimRight(s, " \t") }

// decomment strips a line as keepalived 2.2.7's decomment(): spaces and
// tabs at the start; from the first '#' or '!' outside double quotes to the
// end; spaces and tabs at the end. A backslash outside quotes before '#' or
// '!' is removed and the character kept; any other backslash keeps itself
// and the next character (in quotes, "\#" stays "\#"). A backslash ending
// the line is kept and the blanks before it removed ("a \" is "a\"), even
// after a comment ("a # x \" is "a\"). open reports a double quote left
// open (keepalived: "Unterminated quote", an error of -t).
func decomment(s string) (out string, open bool) {
	s = strings.TrimLeft(s, " \t")
	b := []byte(s)
	quote, cont := false, false
	skip := -1
	for i := 0; i < len(b); {
		switch b[i] {
		case '"':
			if skip < 0 {
				quote = !quote
			}
			i++
		case '\\':
			if i+1 >= len(b) {
				b = b[:i]
				cont = true
				i = len(b)
				continue
			}
			if !quote && (b[i+1] == '#' || b[i+1] == '!') {
				b = append(b[:i], b[i+1:]...)
				i++
			} else {
				i += 2
			}
		case '#', '!':
			if !quote && skip < 0 {
				skip = i
			}
			i++
		default:
			i++
		}
	}
	if skip >= 0 && skip < len(b) {
		b = b[:skip]
	}
	out = trimBlanks(string(b))
	if cont {
		out += `\`
	}
	return out, quote
}

// escapedComment tells whether decomment removes a backslash before '#' or
// '!' in s: keepalived's VRRP process then reads the line a second time and
// takes that character for the start of a comment.
func escapedComment(s string) bool {
	once, _ := decomment(s)
	twice, _ := decomment(once)
	return once != twice
}

// word is one word of a line: its text without the quotes, and whether it
// was a quoted string.
type word struct {
	text   string
	quoted bool
}

// splitWords splits a line into words as keepalived's alloc_strvec(): words
// are separated by whitespace; a word that starts with '"' runs to the next
// '"' (spaces, '#', '{' and backslashes included, the quotes removed); any
// other word ends at whitespace or at a '"', which starts the next word.
// There are no escapes: `pa"ss wo"rd` is "pa", "ss wo", "rd". An opening
// quote without its closing one drops the rest of the line and sets
// unmatched (keepalived: "Unmatched quote", an error of -t).
func splitWords(line string) (ws []word, unmatched bool) {
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return ws, false
		}
		if line[i] == '"' {
			end := strings.IndexByte(line[i+1:], '"')
			if end < 0 {
				return ws, true
			}
			ws = append(ws, word{text: line[i+1 : i+1+end], quoted: true})
			i += end + 2
			continue
		}
		start := i
		for i < len(line) && !isSpace(line[i]) && line[i] != '"' {
			i++
		}
		ws = append(ws, word{text: line[start:i]})
	}
}

// splitQuotedEscaped splits s as keepalived 2.2.7's
// alloc_strvec_quoted_escaped(), which its script keywords (script,
// notify*) apply to their whole line and then again to the command: words
// are separated by whitespace; double or single quotes group, anywhere in a
// word; a backslash escapes everywhere (\a \b \E \f \n \r \t \v, \xHH...,
// \cX, up to three octal digits, any other character itself). A quote left
// open is an error (keepalived: "missing terminating", an error of -t); a
// backslash ending s makes the whole string unusable (nil, nil; keepalived
// logs "Missing escape char at end" and ignores the script). A NUL produced
// by an escape ends its word, as in C.
func splitQuotedEscaped(s string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		var w []byte
		var quote byte
	word:
		for i < len(s) {
			c := s[i]
			switch {
			case c == '\\':
				i++
				if i >= len(s) {
					return nil, nil
				}
				var ch byte
				switch e := s[i]; {
				case e == 'x' && i+1 < len(s) && isXDigit(s[i+1]):
					// 2.2.7 reads every hex digit that follows into one
					// byte (2.4: at most two).
					i++
					for i < len(s) && isXDigit(s[i]) {
						ch = ch<<4 | hexVal(s[i])
						i++
					}
				case e == 'c' && i+1 < len(s):
					ch = s[i+1] & 0x1f
					i += 2
				case '0' <= e && e <= '7':
					ch = e - '0'
					i++
					for n := 0; n < 2 && i < len(s) && '0' <= s[i] && s[i] <= '7'; n++ {
						ch = ch<<3 + (s[i] - '0')
						i++
					}
				default:
					ch = unescape(e)
					i++
				}
				w = append(w, ch)
			case quote != 0 && c == quote:
				quote = 0
				i++
			case quote != 0:
				w = append(w, c)
				i++
			case c == '"' || c == '\'':
				quote = c
				i++
			case isSpace(c):
				break word
			default:
				w = append(w, c)
				i++
			}
		}
		if quote != 0 {
			return nil, fmt.Errorf("missing terminating %c in %s", quote, quoteString(s))
		}
		if z := strings.IndexByte(string(w), 0); z >= 0 {
			w = w[:z]
		}
		out = append(out, string(w))
	}
}

func hexVal(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func unescape(c byte) byte {
	switch c {
	case 'a':
		return '\a'
	case 'b':
		return '\b'
	case 'E':
		return 0x1b
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'v':
		return '\v'
	}
	return c
}

// scriptArgv returns what keepalived runs for a script keyword's line raw
// (the line as the lexer delivered it, token.line): the line is split with
// splitQuotedEscaped, and its second word split again into the command's
// arguments; extra is the words after the second (a notify script's user
// and group). argv is empty when the line has no command.
func scriptArgv(raw string) (argv, extra []string, err error) {
	line, err := splitQuotedEscaped(raw)
	if err != nil || len(line) < 2 {
		return nil, nil, err
	}
	argv, err = splitQuotedEscaped(line[1])
	if err != nil {
		return nil, nil, err
	}
	return argv, line[2:], nil
}

// SplitCommand splits a command into the words that run, as keepalived
// 2.2.7 splits the command of its script keywords (see Command): words
// are separated by whitespace; double or single quotes group, anywhere in
// a word; a backslash escapes everywhere (\a \b \E \f \n \r \t \v, \x
// with every hex digit after it, \cX, up to three octal digits, any other
// character itself). It fails on a quote left open, a backslash ending s
// (keepalived ignores such a script) and a command without a word.
func SplitCommand(s string) ([]string, error) {
	argv, err := splitQuotedEscaped(s)
	switch {
	case err != nil:
		return nil, err
	case argv == nil && strings.TrimRight(s, whiteSpace) != "":
		return nil, fmt.Errorf("command %s: a backslash ends it", quoteString(s))
	case len(argv) == 0:
		return nil, fmt.Errorf("command %s: empty", quoteString(s))
	}
	return argv, nil
}

// quoteString quotes s for a message, keeping it readable.
func quoteString(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "'" + s + "'"
}
