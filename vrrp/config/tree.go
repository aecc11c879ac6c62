package config

import "strings"

// node is one statement of the generic block tree: a keyword, its arguments
// on the same line and, when it opens a block, the statements inside.
type node struct {
	pos      Pos
	keyword  string
	args     []string
	block    bool
	children []*node
	// raw is the statement's line as keepalived hands it to a keyword
	// (token.line): its script keywords split it again (scriptArgv).
	raw string
}

// buildTree turns the token stream into the generic block tree. A statement
// ends at a line end, at '{' (which opens its block) or at '}'. A '{' alone
// at the start of a line opens the block of the statement on the line
// before, so braces may sit on the keyword's line or the next.
func buildTree(toks []token, d *diag) []*node {
	root := &node{block: true}
	stack := []*node{root}
	var cur *node  // statement being read on the current line
	var last *node // last finished statement of the innermost block
	finish := func() {
		if cur != nil {
			top := stack[len(stack)-1]
			top.children = append(top.children, cur)
			last, cur = cur, nil
		}
	}
	for _, t := range toks {
		switch t.kind {
		case tEOL:
			finish()
		case tWord:
			if cur == nil {
				cur = &node{pos: t.pos, keyword: t.text, raw: t.line}
			} else {
				cur.args = append(cur.args, t.text)
			}
		case tOpen:
			var owner *node
			if cur != nil {
				owner = cur
				finish()
			} else if last != nil && !last.block {
				owner = last
			}
			if owner == nil {
				d.errorf(t.pos, "unexpected '{' without a keyword")
				// Read the block anyway so that its '}' balances.
				owner = &node{pos: t.pos, block: true}
			}
			owner.block = true
			stack = append(stack, owner)
			last = nil
		case tClose:
			finish()
			if len(stack) == 1 {
				d.errorf(t.pos, "unexpected '}'")
				continue
			}
			last = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		}
	}
	finish()
	for i := len(stack) - 1; i >= 1; i-- {
		n := stack[i]
		what := n.keyword
		if len(n.args) > 0 {
			what += " " + strings.Join(n.args, " ")
		}
		d.errorf(n.pos, "block %q is never closed (missing '}')", what)
	}
	return root.children
}
