package config

import (
	"fmt"
	"path/filepath"
)

// maxIncludeDepth bounds nested includes; deeper nesting is reported as an
// error (it is almost certainly a cycle through differently named paths).
const maxIncludeDepth = 16

// maxGenerated is the default bound on the lines ~SEQ, ~LST, multi-line
// definitions and the rests of lines after braces make in one
// configuration (keepalived has none: a definition that holds itself
// makes it read for ever).
const maxGenerated = 1 << 20

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
	quoted bool // the word was a quoted string: never a brace, never a comment
	pos    Pos
	// line is the whole line the word is on, as keepalived hands it to its
	// keyword handlers: script keywords split it again with their own
	// rules (scriptArgv).
	line string
}

// lexer turns a configuration into one token stream, as keepalived 2.2.7
// reads it (lib/parser.c): see reader for the lines, splitWords for the
// words.
type lexer struct {
	toks  []token
	diag  *diag
	files []string // every file read, in order
	opts  Options
	// maxGenerated bounds the lines ~SEQ, ~LST, multi-line definitions
	// and brace splits make; 0 is the default.
	maxGenerated int
	// includeRoot, when set, is the only directory tree includes read
	// (the fuzz test keeps them out of the rest of the file system).
	includeRoot string
	fsOps       int // file system calls of includes, both readers
	quoteErr    map[Pos]bool
}

// lexFile appends the tokens of data, read from the file name, to l.toks.
func (l *lexer) lexFile(name string, data []byte) {
	l.opts = l.opts.withDefaults()
	if l.maxGenerated == 0 {
		l.maxGenerated = maxGenerated
	}
	l.quoteErr = map[Pos]bool{}
	// keepalived's parent process: reads the files, writes the copy. Only
	// what concerns the files (includes, bytes) is reported from here.
	parent := newReader(l, false, &diag{}, l.diag)
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = name
	}
	main := &incEntry{kw: "include", pos: Pos{File: name, Line: 1}}
	parent.stack = append(parent.stack, main)
	parent.open(main, name, abs, data)
	for {
		line, ok := parent.readLine()
		if !ok {
			break
		}
		parent.trackBlocks(line)
	}
	// keepalived's VRRP process: reads the copy.
	child := newReader(l, true, l.diag, &diag{})
	child.cp = parent.out
	for {
		line, ok := child.readLine()
		if !ok {
			break
		}
		l.emit(line, child.pos)
	}
}

// emit appends the tokens of one line: a brace alone, or its words.
func (l *lexer) emit(line string, pos Pos) {
	switch line {
	case "{":
		l.toks = append(l.toks, token{kind: tOpen, text: line, pos: pos})
	case "}":
		l.toks = append(l.toks, token{kind: tClose, text: line, pos: pos})
	default:
		ws, unmatched := splitWords(line)
		if unmatched && !l.quoteErr[pos] {
			l.quoteErr[pos] = true
			l.diag.errorf(pos, "unmatched quote: keepalived ignores the rest of the line from it")
		}
		if len(ws) == 1 && ws[0].quoted && (ws[0].text == "{" || ws[0].text == "}") {
			// keepalived compares words with "{" and "}": a quoted brace
			// alone on its line is a brace.
			k := tOpen
			if ws[0].text == "}" {
				k = tClose
			}
			l.toks = append(l.toks, token{kind: k, text: ws[0].text, quoted: true, pos: pos})
			break
		}
		for _, w := range ws {
			l.toks = append(l.toks, token{kind: tWord, text: w.text, quoted: w.quoted, pos: pos, line: line})
		}
	}
	l.toks = append(l.toks, token{kind: tEOL, pos: pos})
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
