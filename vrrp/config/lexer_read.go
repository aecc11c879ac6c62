package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// reader delivers the lines of a configuration as keepalived 2.2.7's
// read_line() does: comments and blanks stripped, "@id" lines kept or
// dropped, definitions recorded and substituted, ~SEQ and ~LST lines
// repeated, includes opened, and every '{' and '}' outside quotes on a
// line of its own.
//
// keepalived reads the files twice. Its parent process reads them and
// writes one "configuration copy": every physical line decommented, an
// include line replaced by the lines of the files it includes. Its VRRP
// process then reads that copy with the same read_line(), decommenting it a
// second time. The lexer does the same with two readers: the first (parent)
// reads the files and writes the copy, the second (child) reads the copy
// and delivers the lines xvrrpd decodes. The differences this makes are
// keepalived's own: "\#" outside quotes is a '#' for the parent and the
// start of a comment for the VRRP process; a comment line inside a
// multi-line definition ends it for the VRRP process; an include that
// follows "@id", a definition or a brace is read by both readers, so its
// files are read twice.
type reader struct {
	l     *lexer
	child bool  // the second reader: reads the copy
	d     *diag // diagnostics of the lines (only the child's are kept)
	fd    *diag // diagnostics of the files (only the parent's are kept)
	seen  map[string]bool

	stack []*incEntry // files being read, innermost last
	out   []copyRec   // parent: the copy written
	cp    []copyRec   // child: the copy read
	cpi   int
	cpAbs []string // child: the copy's files being read (absolute)
	pos   Pos      // where the current line was read

	defs       []*def
	seqs       []*seq
	mlSeqDepth int       // ~SEQs started before the multi-line expansion in progress wait for it
	next       mlText    // lines left of the multi-line definition being expanded
	mlStack    []mlEntry // expansions interrupted by a nested one
	residue    string    // the rest of a line after a brace
	hasResidue bool
	collecting *def // the multi-line definition being read

	includeCheck includeType // global_defs include_check
	blocks       []string    // parent: keywords of the blocks open
	lastKw       string

	subs       int  // substitutions in the line being processed
	substBytes int  // text written by substitutions
	generated  int  // lines from ~SEQ, ~LST, multi-line definitions and brace splits
	opens      int  // files opened
	stopped    bool // a limit was reached
}

// mlText is the rest of a multi-line definition being expanded.
type mlText struct {
	text string
	ok   bool
}

type mlEntry struct {
	text     mlText
	seqDepth int
}

type recKind uint8

const (
	recLine  recKind = iota // a line of a file, decommented
	recEnter                // a file is opened
	recLeave                // its end
)

// copyRec is one record of the configuration copy.
type copyRec struct {
	kind recKind
	text string
	pos  Pos
	abs  string // recEnter: the file's absolute path
}

// includeType holds keepalived's include checks: which problems of an
// include are errors (the others are reported and skipped).
type includeType uint8

const (
	incRead     includeType = 1 << iota // a match that cannot be read, a directory, an executable
	incMatch                            // no file matches a name without wildcards
	incWildcard                         // no file matches a wildcard
	incBrace                            // an alternative of {a,b} matches nothing
)

// incEntry is one include (or the main file) being read: the files its
// pattern matched and the one open.
type incEntry struct {
	kw      string
	pattern string
	pos     Pos // of the include line
	typ     includeType
	saved   includeType // include_check when the include was opened
	paths   []string
	nextIdx int
	// the file open
	path  string
	abs   string
	data  []byte
	off   int
	line  int
	atBOL bool
}

func newReader(l *lexer, child bool, d, fd *diag) *reader {
	r := &reader{l: l, child: child, d: d, fd: fd, seen: map[string]bool{}}
	r.defs = r.stdDefs()
	return r
}

// errorf reports a problem of the current line once.
func (r *reader) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	k := r.pos.at() + "\x00" + msg
	if r.seen[k] {
		return
	}
	r.seen[k] = true
	r.d.errorf(r.pos, "%s", msg)
}

// unterminated reports a double quote left open in the current line (one
// quote error a line).
func (r *reader) unterminated() {
	if r.child {
		if r.l.quoteErr[r.pos] {
			return
		}
		r.l.quoteErr[r.pos] = true
	}
	r.errorf("unterminated quoted string")
}

// spend counts one generated line; past the limit, reading stops.
func (r *reader) spend() bool {
	r.generated++
	if r.generated > r.l.maxGenerated {
		r.errorf("more than %d lines from ~SEQ, ~LST, multi-line definitions and braces; reading stops here (a definition that expands to itself?)", r.l.maxGenerated)
		r.stopped = true
		return false
	}
	return true
}

// readLine returns the next line and where it was read; false at the end.
func (r *reader) readLine() (string, bool) {
	for !r.stopped {
		var buf string
		switch {
		case r.hasResidue:
			// Counted: a substitution in the rest of a line can make it
			// longer again ("$A={\$A").
			if !r.spend() {
				return "", false
			}
			buf, r.hasResidue = r.residue, false
		case len(r.seqs) > r.mlSeqDepth:
			if !r.spend() {
				return "", false
			}
			buf = r.nextSeq()
		case r.next.ok:
			if !r.spend() {
				return "", false
			}
			if i := strings.IndexByte(r.next.text, '\n'); i >= 0 {
				buf, r.next.text = r.next.text[:i], r.next.text[i+1:]
			} else {
				buf = r.next.text
				if n := len(r.mlStack); n > 0 {
					r.next, r.mlSeqDepth = r.mlStack[n-1].text, r.mlStack[n-1].seqDepth
					r.mlStack = r.mlStack[:n-1]
				} else {
					r.next, r.mlSeqDepth = mlText{}, 0
				}
			}
		default:
			var ok bool
			if buf, ok = r.physical(); !ok {
				return "", false
			}
		}
		if r.collecting != nil {
			r.collect(buf)
			continue
		}
		if buf == "" {
			continue
		}
		if buf = r.process(buf); buf == "" {
			continue
		}
		if r.checkInclude(buf) {
			continue
		}
		return r.splitBraces(buf), true
	}
	return "", false
}

// endCollect ends the multi-line definition being read.
func (r *reader) endCollect() {
	if r.collecting.value == "" {
		r.collecting.multiline = false
	}
	r.collecting = nil
}

// collect adds a line to the multi-line definition being read: a line
// ending in '\' continues it, any other (an empty one too) is its last.
func (r *reader) collect(buf string) {
	d := r.collecting
	if strings.HasSuffix(buf, `\`) {
		buf = trimBlanks(buf[:len(buf)-1]) + "\n"
		if len(buf) >= 2 {
			d.value += buf
		}
		return
	}
	r.endCollect()
	d.value += buf
}

// physical returns the next non-empty decommented line of the files (or,
// for the child, of the copy), false at the end.
func (r *reader) physical() (string, bool) {
	for {
		if len(r.stack) == 0 {
			if !r.child || r.cpi >= len(r.cp) {
				return "", false
			}
			if buf, ok := r.fromCopy(); ok {
				return buf, true
			}
			continue
		}
		e := r.stack[len(r.stack)-1]
		if e.off >= len(e.data) {
			r.endFile()
			continue
		}
		line := r.fgets(e)
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if r.collecting != nil {
				r.endCollect()
			}
			r.write("")
			continue
		}
		if !r.child && escapedComment(line) {
			switch t := strings.TrimLeft(line, " \t"); {
			case strings.HasPrefix(t, `\!`):
				r.fd.errorf(r.pos, `a line starting with "\!": keepalived's VRRP process takes it for the end mark of a file in its configuration copy and crashes (2.2.7: segmentation fault); remove the backslash`)
			case strings.HasPrefix(t, `\#`):
				r.fd.warn(r.pos, "lexer", `a line starting with "\#": keepalived's VRRP process takes it for the start mark of a file in its configuration copy and ignores the line; xvrrpd ignores it too`)
			default:
				r.fd.warn(r.pos, "lexer", `"\#" or "\!" outside quotes: keepalived's VRRP process reads the '#' or '!' as the start of a comment (only its parent process keeps the character); xvrrpd does the same; put the word in double quotes to keep the character`)
			}
		}
		buf, open := decomment(line)
		if open {
			r.unterminated()
		}
		if isInclude(buf) {
			r.write("")
		} else {
			r.write(buf)
		}
		if buf != "" {
			return buf, true
		}
	}
}

// fromCopy reads one record of the copy; ok with a non-empty line.
func (r *reader) fromCopy() (string, bool) {
	rec := r.cp[r.cpi]
	r.cpi++
	switch rec.kind {
	case recEnter:
		r.cpAbs = append(r.cpAbs, rec.abs)
		return "", false
	case recLeave:
		if len(r.cpAbs) > 0 {
			r.cpAbs = r.cpAbs[:len(r.cpAbs)-1]
		}
		return "", false
	}
	r.pos = rec.pos
	if rec.text == "" {
		if r.collecting != nil {
			r.endCollect()
		}
		return "", false
	}
	if rec.text[0] == '#' || rec.text[0] == '!' {
		// keepalived's marks; the parent reported the line.
		return "", false
	}
	buf, open := decomment(rec.text)
	if open {
		r.unterminated()
	}
	return buf, buf != ""
}

// write appends a line to the copy (parent only).
func (r *reader) write(text string) {
	if !r.child {
		r.out = append(r.out, copyRec{kind: recLine, text: text, pos: r.pos})
	}
}

// fgets reads one physical line of e as keepalived's fgets() into a
// lineMax buffer: a longer line is read in pieces (2.2.7 takes each piece
// for a line; 2.4 drops the first). A NUL ends what C sees of the line.
func (r *reader) fgets(e *incEntry) string {
	rest := e.data[e.off:]
	n := len(rest)
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		n = i + 1
	}
	long := n > lineMax-1
	if long {
		n = lineMax - 1
	}
	chunk := rest[:n]
	if e.atBOL {
		e.line++
	}
	e.atBOL = chunk[len(chunk)-1] == '\n'
	e.off += n
	r.pos = Pos{File: e.path, Line: e.line}
	if long {
		r.fd.warn(r.pos, "lexer", "line longer than %d bytes: keepalived 2.2.7 reads the rest as another line (xvrrpd does the same), 2.4 ignores the first %d bytes", lineMax-2, lineMax-1)
	}
	if z := bytes.IndexByte(chunk, 0); z >= 0 {
		r.fd.warn(r.pos, "lexer", "NUL byte: keepalived 2.2.7 ignores the rest of the line (xvrrpd does the same), 2.4 the whole line")
		chunk = chunk[:z]
	}
	return string(chunk)
}

// process applies "@id", "$NAME=value", ~SEQ, ~LST and substitution to a
// line, as the loop of keepalived 2.2.7's read_line(): after a
// substitution, a line that starts with '@' or still holds a '$' is
// processed again. It returns what is left to deliver ("" for nothing).
func (r *reader) process(buf string) string {
	r.subs = 0
	for {
		if buf == "" {
			return ""
		}
		if buf[0] == '@' {
			if buf = r.conditional(buf); buf == "" {
				return ""
			}
		}
		if buf[0] == '$' {
			if d := r.checkDefinition(buf); d != nil {
				if d.multiline {
					r.collecting = d
				}
				return ""
			}
		}
		if strings.HasPrefix(buf, "~SEQ") || strings.HasPrefix(buf, "~LST") {
			n := len(r.d.errs)
			ok := false
			if buf[1] == 'S' {
				ok = r.addSeq(buf)
			} else {
				ok = r.addLst(buf)
			}
			if !ok && len(r.d.errs) == n {
				r.errorf("invalid %s specification %s", buf[:4], quoteString(buf))
			}
			return ""
		}
		if buf[0] == '~' || strings.IndexByte(buf, '$') < 0 {
			return buf
		}
		nb, changed := r.replaceParams(buf, lineMax, &r.next)
		if r.subs > maxSubstitutions || r.stopped {
			return ""
		}
		if !changed {
			return nb
		}
		var open bool
		if buf, open = decomment(nb); open {
			r.unterminated()
		}
		if buf == "" || buf[0] != '@' && strings.IndexByte(buf, '$') < 0 {
			return buf
		}
	}
}

// conditional handles "@id rest" and "@^id rest": rest is kept when id is
// the configuration id (for "@^", when it is not); "" otherwise, or when
// nothing follows the id.
func (r *reader) conditional(buf string) string {
	ofs, rev := 1, false
	if len(buf) > 1 && buf[1] == '^' {
		ofs, rev = 2, true
	}
	sp := strings.IndexAny(buf[ofs:], " \t")
	if sp < 0 {
		return ""
	}
	match := r.l.opts.ConfigID != "" && buf[ofs:ofs+sp] == r.l.opts.ConfigID
	if match == rev {
		return ""
	}
	return strings.TrimLeft(buf[ofs+sp:], " \t")
}

// splitBraces cuts the line at its first '{' or '}' outside quotes: a
// line starting with one is that brace alone, any other ends before it.
// The rest is delivered next.
func (r *reader) splitBraces(buf string) string {
	p := -1
	if buf[0] == '{' || buf[0] == '}' {
		p = 0
	} else {
		for i := 0; ; {
			j := strings.IndexAny(buf[i:], "{}\"")
			if j < 0 {
				break
			}
			j += i
			if buf[j] != '"' {
				p = j
				break
			}
			k := strings.IndexByte(buf[j+1:], '"')
			if k < 0 {
				break
			}
			i = j + 1 + k + 1
		}
	}
	if p >= 0 {
		skip := 0
		if p == 0 {
			skip = 1
			for skip < len(buf) && isBlank(buf[skip]) {
				skip++
			}
		}
		if p+skip < len(buf) {
			r.residue, r.hasResidue = trimBlanks(buf[p+skip:]), true
			buf = buf[:p+skip]
		}
	}
	return trimBlanks(buf)
}

// isInclude tells whether a decommented line is an include: "include",
// "includer", "includem", "includew", "includeb" or "includea", then
// whitespace.
func isInclude(buf string) bool {
	if !strings.HasPrefix(buf, "include") || len(buf) < 8 {
		return false
	}
	if isSpace(buf[7]) {
		return true
	}
	return len(buf) > 8 && isSpace(buf[8]) && strings.IndexByte("rmwba", buf[7]) >= 0
}

// checkInclude opens the files of an include line; false when buf is not
// one. The whole rest of the line is the pattern: spaces and quotes are
// part of the file name.
func (r *reader) checkInclude(buf string) bool {
	if !isInclude(buf) {
		return false
	}
	kw, p := "include", buf[8:]
	var typ includeType
	if !isSpace(buf[7]) {
		kw, p = buf[:8], buf[9:]
		switch buf[7] {
		case 'r':
			typ = incRead
		case 'a':
			typ = incRead | incMatch | incBrace | incWildcard
		case 'w':
			typ = incRead | incMatch | incWildcard
		case 'm':
			typ = incRead | incMatch
		case 'b':
			typ = incRead | incBrace
		}
	}
	pattern := strings.TrimLeft(p, " \t")
	if r.child {
		// Only an include the parent did not see as one reaches here.
		r.d.warn(r.pos, kw, "keepalived reads the files of an include after '@', a definition, a brace or a ~SEQ twice (its parent process includes them in its configuration copy, its VRRP process includes them again); xvrrpd does the same: write the include on a line of its own")
	}
	r.openGlob(kw, pattern, typ)
	return true
}

// problem reports an include problem of kind t: an error when the include
// (or include_check) checks it, a warning otherwise.
func (r *reader) problem(kw string, pos Pos, flags, t includeType, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if flags&t != 0 {
		r.fd.errorf(pos, "%s %s", kw, msg)
		return
	}
	r.fd.warn(pos, kw, "%s", msg)
}

// openGlob opens the first readable file of an include pattern.
func (r *reader) openGlob(kw, pattern string, typ includeType) {
	flags := r.includeCheck | typ
	if len(r.stack) >= maxIncludeDepth {
		r.fd.errorf(r.pos, "%s: includes nested deeper than %d files", kw, maxIncludeDepth)
		return
	}
	g := globPattern(r.l.includeRoot, &r.l.fsOps, filepath.Dir(r.pos.File), pattern)
	if g.over {
		r.fd.errorf(r.pos, "%s %s: includes make more than %d file system calls; reading stops here", kw, pattern, maxFSOps)
		r.stopped = true
		return
	}
	if len(g.paths) == 0 {
		switch {
		case g.missing:
			t := incMatch
			if hasBrace(pattern) {
				t = incBrace
			}
			r.problem(kw, r.pos, flags, t, "%s: no such file or directory; nothing included", pattern)
		case flags&incWildcard != 0:
			r.problem(kw, r.pos, flags, incWildcard, "%s: no file matches", pattern)
		default:
			r.fd.warn(r.pos, kw, "%s: no file matches; nothing included", pattern)
		}
		return
	}
	if g.missing {
		r.problem(kw, r.pos, flags, incBrace, "%s: some of the files are missing", pattern)
		if flags&incBrace != 0 {
			return
		}
	}
	e := &incEntry{kw: kw, pattern: pattern, pos: r.pos, typ: typ, saved: r.includeCheck, paths: g.paths}
	r.stack = append(r.stack, e)
	if !r.openNext(e) {
		r.stack = r.stack[:len(r.stack)-1]
	}
}

// openNext opens the next readable match of e.
func (r *reader) openNext(e *incEntry) bool {
	flags := r.includeCheck | e.typ
	for e.nextIdx < len(e.paths) {
		p := e.paths[e.nextIdx]
		e.nextIdx++
		if strings.HasSuffix(p, "/") {
			r.problem(e.kw, e.pos, flags, incRead, "%s is a directory; skipped", p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 != 0 || !within(r.l.includeRoot, p) {
			r.problem(e.kw, e.pos, flags, incRead, "%s is not a regular, non-executable file; skipped", p)
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		if chain := r.cycle(abs); chain != "" {
			r.fd.errorf(e.pos, "%s: include cycle: %s", e.kw, chain)
			continue
		}
		if r.opens++; r.opens > maxOpens {
			r.fd.errorf(e.pos, "%s: more than %d files opened; reading stops here", e.kw, maxOpens)
			r.stopped = true
			return false
		}
		if st.Size() > maxFileSize {
			r.fd.errorf(e.pos, "%s: %s is larger than %d MiB; not read", e.kw, p, maxFileSize>>20)
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			r.problem(e.kw, e.pos, flags, incRead, "%v; skipped", err)
			continue
		}
		r.open(e, p, abs, data)
		return true
	}
	return false
}

// maxFileSize bounds the size of an included file (/proc/kcore is a
// regular file too).
const maxFileSize = 64 << 20

// maxOpens bounds the files one configuration opens (includes of includes
// can multiply).
const maxOpens = 10000

// cycle returns the include chain when abs is already being read.
func (r *reader) cycle(abs string) string {
	var open []string
	open = append(open, r.cpAbs...)
	for _, e := range r.stack {
		if e.abs != "" {
			open = append(open, e.abs)
		}
	}
	for i, a := range open {
		if a == abs {
			return strings.Join(append(open[i:len(open):len(open)], abs), " -> ")
		}
	}
	return ""
}

// open starts reading data as the file path of e.
func (r *reader) open(e *incEntry, path, abs string, data []byte) {
	e.path, e.abs, e.data, e.off, e.line, e.atBOL = path, abs, data, 0, 0, true
	if r.child {
		return
	}
	r.l.files = append(r.l.files, path)
	r.out = append(r.out, copyRec{kind: recEnter, abs: abs})
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		first, _, _ := strings.Cut(string(data), "\n")
		r.fd.errorf(Pos{File: path, Line: 1}, "the file starts with a UTF-8 byte order mark: keepalived reads it as part of the first word (%q is not a keyword), so that line, and the block it opens, is lost (keepalived -t fails too); save the file without the mark", strings.Fields(first + " ")[0])
	}
}

// endFile ends the file being read: the next match of its include is
// opened, or the include is done.
func (r *reader) endFile() {
	e := r.stack[len(r.stack)-1]
	if !r.child {
		r.out = append(r.out, copyRec{kind: recLeave})
	}
	r.includeCheck = e.saved
	e.abs = ""
	if r.openNext(e) {
		return
	}
	r.stack = r.stack[:len(r.stack)-1]
}

// trackBlocks follows the blocks the parent reads, for include_check.
func (r *reader) trackBlocks(line string) {
	switch line {
	case "{":
		r.blocks = append(r.blocks, r.lastKw)
	case "}":
		if len(r.blocks) > 0 {
			r.blocks = r.blocks[:len(r.blocks)-1]
		}
	default:
		ws, _ := splitWords(line)
		if len(ws) == 0 {
			return
		}
		r.lastKw = ws[0].text
		if r.lastKw == "include_check" && len(r.blocks) == 1 && r.blocks[0] == "global_defs" {
			r.setIncludeCheck(ws[1:])
		}
	}
}

// setIncludeCheck applies "include_check [[+|-]read|match|wildcard_match|
// brace_match]...": which include problems are errors from here to the end
// of the file. Without a word, all of them.
func (r *reader) setIncludeCheck(ws []word) {
	if len(ws) == 0 {
		r.includeCheck = incRead | incMatch | incWildcard | incBrace
		return
	}
	for i, w := range ws {
		name, op := w.text, 0
		switch {
		case strings.HasPrefix(name, "-"):
			name, op = name[1:], -1
		case strings.HasPrefix(name, "+"):
			name, op = name[1:], 1
		case i == 0:
			r.includeCheck = 0
		default:
			r.fd.errorf(r.pos, "include_check: %s given twice; ignored", name)
			continue
		}
		var f includeType
		switch name {
		case "read":
			f = incRead
		case "match":
			f = incMatch
		case "wildcard_match":
			f = incWildcard
		case "brace_match":
			f = incBrace
		default:
			r.fd.errorf(r.pos, "include_check: unknown check %q", name)
			continue
		}
		switch op {
		case 0:
			r.includeCheck = incRead | f
		case 1:
			r.includeCheck |= f
		default:
			r.includeCheck &^= f
		}
	}
}
