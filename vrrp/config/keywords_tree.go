package config

import (
	"fmt"
	"strings"
)

// kaNormalize reads the block tree as keepalived's parser reads the file
// (process_stream in keepalived's lib/parser.c) and returns the tree that
// keepalived's VRRP process acts on. Each level is read with the keywords
// keepalived knows there (kaTable):
//
//   - a keyword that opens a block of keywords is read with its own;
//   - a keyword that reads a block of values keeps that block as it is;
//   - a keyword keepalived does not know there is reported and dropped.
//     When it has a block, keepalived ignores the '{' and reads the lines
//     of the block as lines of the enclosing block, so the '}' that closes
//     it ends the enclosing block, whose remaining lines then land one
//     level up, where they are mostly unknown too. The returned tree has
//     the same shape, and one finding names the unknown keyword and the
//     lines that keepalived reads out of place;
//   - the checker's blocks (virtual_server, ...) are kept whole, as the
//     VRRP process skips them, and the keywords keepalived's checker would
//     not know inside them are reported.
//
// Findings are recorded on d.
func kaNormalize(tree []*node, d *diag) []*node {
	r := &kaReader{diag: d}
	r.flatten(tree, nil)
	out := r.level("", "")
	r.endSpill()
	return out
}

// event is a statement of the tree or the '}' that closes a block, in
// file order.
type event struct {
	n     *node // the statement; nil for a '}'
	owner *node // for a '}': the block it closes in the tree as written
	end   int   // for a statement with a block: the index of its '}'
}

type kaReader struct {
	*diag
	ev    []event
	i     int
	spill *spill
}

// spill is what follows an unknown keyword with a block: the lines
// keepalived reads out of their place, up to the next keyword it knows at
// the top level.
type spill struct {
	cause     *node
	block     string   // where cause was written (path)
	owner     string   // the block it was written in, as named in findings
	ended     []string // the blocks its '}' (and the following ones) ended early
	dropped   int      // lines keepalived ignores there (unknown where they land)
	last      Pos      // the last of them
	leafBlock bool     // cause is a known keyword that takes no block
}

func (r *kaReader) flatten(ns []*node, owner *node) {
	for _, n := range ns {
		i := len(r.ev)
		r.ev = append(r.ev, event{n: n})
		if n.block {
			r.flatten(n.children, n)
			r.ev[i].end = len(r.ev)
			r.ev = append(r.ev, event{owner: n})
		}
	}
}

// level reads statements of block path (named owner in findings) until a
// '}' ends it or the events end.
func (r *kaReader) level(path, owner string) []*node {
	var out []*node
	for r.i < len(r.ev) {
		e := r.ev[r.i]
		r.i++
		if e.n == nil {
			if path != "" {
				return out
			}
			// A '}' at the top level: keepalived reports it as an
			// unknown keyword. The tree is balanced, so it is one of a
			// spill's.
			if r.spill != nil {
				r.spill.dropped++
			}
			continue
		}
		n := e.n
		if path == "" && r.spill != nil && kaLookup("", n.keyword) != nil {
			r.endSpill()
		}
		k := kaLookup(path, n.keyword)
		switch {
		case k == nil:
			r.unknown(path, owner, n)
		case path == "" && kaCheckerRoots[n.keyword]:
			out = append(out, n)
			if n.block {
				r.i = e.end + 1
				if k.kind == kaBlock {
					r.checkTypos(k.path, n.children)
				}
			}
		case k.kind == kaBlock:
			c := *n
			c.children = nil
			if n.block {
				name := n.keyword
				if len(n.args) > 0 {
					name += " " + n.args[0]
				}
				c.children = r.level(k.path, name)
				if end := r.ev[r.i-1]; end.n == nil && end.owner != n && r.spill != nil {
					// The '}' that ended this block was another's.
					r.spill.ended = append(r.spill.ended, name)
				}
			}
			out = append(out, &c)
		case k.kind == kaValues:
			out = append(out, n)
			if n.block {
				r.i = e.end + 1
			}
		default:
			if !n.block {
				out = append(out, n)
				continue
			}
			// A keyword that takes no block given one: keepalived reads
			// the line, then the lines of the block where the keyword is.
			c := *n
			c.block, c.children = false, nil
			out = append(out, &c)
			r.startSpill(path, owner, n, true)
		}
	}
	return out
}

// unknown reports a keyword keepalived does not know in block path, or
// counts it in the current spill.
func (r *kaReader) unknown(path, owner string, n *node) {
	switch {
	case r.spill != nil:
		// Its block, if any, is read here as well.
		r.spill.dropped++
		r.spill.last = n.pos
	case n.block:
		r.startSpill(path, owner, n, false)
	default:
		msg, sug := unknownMsg(path, n.keyword)
		r.finding(Warning{File: n.pos.File, Line: n.pos.Line, Keyword: n.keyword, Kind: KindUnknown, Message: msg + ": keepalived ignores it, and so does xvrrpd", Suggest: sug})
	}
}

// unknownMsg says that keepalived does not know keyword in block path, and
// what it may have meant (also returned alone).
func unknownMsg(path, keyword string) (string, string) {
	where := blockName(path)
	if path != "" {
		where = "in " + where
	} else {
		where = "at " + where
	}
	msg := "unknown keyword " + where
	sug, elsewhere := kaSuggest(path, keyword)
	switch {
	case elsewhere != "" && elsewhere != path:
		msg += fmt.Sprintf(" (%s is a keyword of %s)", keyword, blockName(elsewhere))
		sug = ""
	case sug != "":
		msg += fmt.Sprintf(" (did you mean %s?)", sug)
	}
	return msg, sug
}

func (r *kaReader) startSpill(path, owner string, n *node, leafBlock bool) {
	r.spill = &spill{cause: n, block: path, owner: owner, last: n.pos, leafBlock: leafBlock}
}

// endSpill reports the current spill, if any.
func (r *kaReader) endSpill() {
	s := r.spill
	if s == nil {
		return
	}
	r.spill = nil
	var msg, sug string
	if s.leafBlock {
		msg = fmt.Sprintf("%s takes no block: keepalived reads the lines of its block as lines of %s", s.cause.keyword, blockOwner(s))
	} else {
		msg, sug = unknownMsg(s.block, s.cause.keyword)
		msg += fmt.Sprintf(": keepalived ignores it and reads the lines of its block as lines of %s", blockOwner(s))
	}
	if len(s.ended) > 0 {
		msg += fmt.Sprintf(", and its '}' ends %s early", strings.Join(s.ended, ", then "))
	}
	if s.dropped > 0 {
		if s.last.Line > s.cause.pos.Line && s.last.File == s.cause.pos.File {
			msg += fmt.Sprintf(": it ignores %d keyword(s) up to line %d", s.dropped, s.last.Line)
		} else {
			msg += fmt.Sprintf(": it ignores %d keyword(s) there", s.dropped)
		}
	}
	msg += "; so does xvrrpd"
	r.finding(Warning{File: s.cause.pos.File, Line: s.cause.pos.Line, Keyword: s.cause.keyword, Kind: KindUnknown, Message: msg, Suggest: sug})
}

func blockOwner(s *spill) string {
	if s.owner == "" {
		return "the top level"
	}
	return s.owner
}

// checkTypos reports the keywords keepalived's checker does not know in
// the blocks of a checker block (path) it skips in the VRRP process.
func (r *kaReader) checkTypos(path string, ns []*node) {
	for _, n := range ns {
		k := kaLookup(path, n.keyword)
		if k == nil {
			msg, sug := unknownMsg(path, n.keyword)
			r.finding(Warning{File: n.pos.File, Line: n.pos.Line, Keyword: n.keyword, Kind: KindUnknown, Suggest: sug,
				Message: msg + ": keepalived's checker reports it (xvrrpd ignores the whole block)"})
			continue
		}
		if instead, ok := kaDeprecated[k.path]; ok {
			r.finding(Warning{File: n.pos.File, Line: n.pos.Line, Keyword: n.keyword, Kind: KindCorrected,
				Message: fmt.Sprintf("keepalived's checker reports it as deprecated (use %s); xvrrpd ignores the whole block", instead)})
		}
		if k.kind == kaBlock && n.block {
			r.checkTypos(k.path, n.children)
		}
	}
}
