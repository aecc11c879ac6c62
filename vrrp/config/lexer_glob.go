package config

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Include patterns are expanded as keepalived does it with glibc's glob()
// (GLOB_BRACE | GLOB_MARK, and its own directory hooks that count what is
// missing): csh braces first, each alternative globbed and sorted on its
// own, the alternatives kept in their order; '*', '?' and [...] do not match
// a leading '.'; a backslash quotes the next character.

// globResult is what one include pattern matched.
type globResult struct {
	paths []string // in keepalived's order; directories end in '/'
	// missing: a file named without wildcards, or a directory to read, is
	// not there (keepalived's missing_files, missing_directories).
	missing bool
	// wild: a directory was read for a wildcard (have_wildcards).
	wild bool
	// root, when set, is the only directory tree read (tests).
	root string
	// ops counts the file system calls of the whole configuration; past
	// maxFSOps, globbing stops and over is set.
	ops  *int
	over bool
}

// maxFSOps bounds the file system calls includes make in one
// configuration: "{.,./.}/{.,./.}/..." doubles them at each level.
const maxFSOps = 20000

// op counts one file system call; false past the bound.
func (g *globResult) op() bool {
	if *g.ops++; *g.ops > maxFSOps {
		g.over = true
		return false
	}
	return true
}

// within tells whether p is in the tree root ("" is everywhere).
func within(root, p string) bool {
	if root == "" {
		return true
	}
	abs, err := filepath.Abs(p)
	return err == nil && (abs == root || strings.HasPrefix(abs, root+"/"))
}

// maxGlobPaths bounds the alternatives and matches of one pattern.
const maxGlobPaths = 4096

// globPattern expands pattern; a relative pattern is read in dir (the
// directory of the including file) and its matches carry that prefix.
func globPattern(root string, ops *int, dir, pattern string) globResult {
	prefix := ""
	if !strings.HasPrefix(pattern, "/") && dir != "." && dir != "" {
		prefix = strings.TrimSuffix(dir, "/") + "/"
	}
	g := globResult{root: root, ops: ops}
	for _, alt := range braceAlternatives(pattern, maxGlobPaths) {
		if g.over {
			break
		}
		m := g.globOne(prefix, alt, false)
		sort.Strings(m)
		g.paths = append(g.paths, m...)
		if len(g.paths) >= maxGlobPaths {
			g.paths = g.paths[:maxGlobPaths]
			break
		}
	}
	return g
}

// hasBrace tells whether pattern has an unquoted '{' (keepalived's
// have_brace: a missing alternative is then a brace_match problem).
func hasBrace(pattern string) bool {
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '{':
			return true
		}
	}
	return false
}

// braceAlternatives expands csh-style braces as glibc's GLOB_BRACE:
// "a{b,c}d" is "abd", "acd"; "{x}" is "x"; nested braces expand inside
// out; a '{' without its '}' is an ordinary character. At most limit
// results.
func braceAlternatives(s string, limit int) []string {
	open := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '{' {
			open = i
			break
		}
	}
	if open < 0 {
		return []string{s}
	}
	depth, close := 0, -1
	var commas []int
scan:
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				close = i
				break scan
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
	start := open + 1
	var alts []string
	for _, c := range commas {
		alts = append(alts, s[start:c])
		start = c + 1
	}
	alts = append(alts, s[start:close])
	var out []string
	for _, a := range alts {
		for _, r := range braceAlternatives(pre+a+post, limit-len(out)) {
			if len(out) >= limit {
				return out
			}
			out = append(out, r)
		}
	}
	return out
}

// globOne globs a pattern without braces, as glibc's glob(): the part
// before the last '/' names directories (globbed too when it has
// wildcards), the last part names entries in each. onlyDir keeps
// directories only.
func (g *globResult) globOne(prefix, pattern string, onlyDir bool) []string {
	if strings.HasSuffix(pattern, "/") && strings.Trim(pattern, "/") != "" {
		// "dir/": the directory itself, marked.
		var out []string
		for _, m := range g.globOne(prefix, strings.TrimRight(pattern, "/"), true) {
			out = append(out, strings.TrimSuffix(m, "/")+"/")
		}
		return out
	}
	slash := strings.LastIndexByte(pattern, '/')
	if slash < 0 {
		return g.inDir(prefix, "", pattern, onlyDir)
	}
	dirPart, name := pattern[:slash+1], pattern[slash+1:]
	if !hasMagic(dirPart) {
		return g.inDir(prefix, unquote(dirPart), name, onlyDir)
	}
	var out []string
	for _, d := range g.globOne(prefix, strings.TrimRight(dirPart, "/"), true) {
		out = append(out, g.inDir(prefix, strings.TrimSuffix(d[len(prefix):], "/")+"/", name, onlyDir)...)
		if len(out) >= maxGlobPaths || g.over {
			break
		}
	}
	return out
}

// inDir matches name in directory dir ("" or ending in '/'), returning
// prefix+dir+entry for each match, marked with '/' when a directory.
func (g *globResult) inDir(prefix, dir, name string, onlyDir bool) []string {
	if name == "" {
		if dir == "" {
			return nil
		}
		name = "."
	}
	if !g.op() {
		return nil
	}
	if !hasMagic(name) {
		p := prefix + dir + unquote(name)
		if _, err := os.Lstat(p); err != nil || !within(g.root, p) {
			g.missing = true
			return nil
		}
		if g.isDir(p) {
			return []string{p + "/"}
		}
		if onlyDir {
			return nil
		}
		return []string{p}
	}
	g.wild = true
	open := prefix + dir
	if open == "" {
		open = "."
	}
	if !within(g.root, open) {
		g.missing = true
		return nil
	}
	ents, err := os.ReadDir(open)
	if err != nil {
		g.missing = true
		return nil
	}
	names := []string{".", ".."}
	for _, e := range ents {
		names = append(names, e.Name())
	}
	var out []string
	for _, n := range names {
		if !fnmatch(name, n) {
			continue
		}
		p := prefix + dir + n
		switch {
		case g.isDir(p):
			out = append(out, p+"/")
		case !onlyDir:
			out = append(out, p)
		}
		if len(out) >= maxGlobPaths || g.over {
			break
		}
	}
	return out
}

func (g *globResult) isDir(p string) bool {
	if !g.op() {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// hasMagic tells whether a pattern has an unquoted '*', '?' or a '[' with
// its ']'.
func hasMagic(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		case '[':
			if strings.IndexByte(p[i+1:], ']') >= 0 {
				return true
			}
		}
	}
	return false
}

// unquote removes the backslashes that quote characters of a pattern.
func unquote(p string) string {
	if strings.IndexByte(p, '\\') < 0 {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			i++
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// fnmatch matches one name against one pattern component as fnmatch(3)
// with FNM_PERIOD: '*' any run, '?' one byte, "[...]" a set ("[!...]" or
// "[^...]" its complement, "a-z" ranges), '\' quotes; a leading '.' of the
// name only matches a '.' written in the pattern.
func fnmatch(pattern, name string) bool {
	if name != "" && name[0] == '.' && (pattern == "" || pattern[0] != '.') {
		return false
	}
	return match(pattern, name)
}

func match(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if match(p, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		case '[':
			end := setEnd(p)
			if end < 0 {
				if s == "" || s[0] != '[' {
					return false
				}
				p, s = p[1:], s[1:]
				continue
			}
			if s == "" || !inSet(p[1:end], s[0]) {
				return false
			}
			p, s = p[end+1:], s[1:]
		case '\\':
			if len(p) > 1 {
				p = p[1:]
			}
			fallthrough
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

// setEnd returns the index of the ']' closing the set that starts p, or -1.
func setEnd(p string) int {
	i := 1
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		i++
	}
	if i < len(p) && p[i] == ']' {
		i++
	}
	for ; i < len(p); i++ {
		if p[i] == '\\' {
			i++
			continue
		}
		if p[i] == ']' {
			return i
		}
	}
	return -1
}

func inSet(set string, c byte) bool {
	neg := false
	if set != "" && (set[0] == '!' || set[0] == '^') {
		neg, set = true, set[1:]
	}
	in := false
	for i := 0; i < len(set); i++ {
		lo := set[i]
		if lo == '\\' && i+1 < len(set) {
			i++
			lo = set[i]
		}
		hi := lo
		if i+2 < len(set) && set[i+1] == '-' {
			hi = set[i+2]
			if hi == '\\' && i+3 < len(set) {
				hi = set[i+3]
				i++
			}
			i += 2
		}
		if lo <= c && c <= hi {
			in = true
		}
	}
	return in != neg
}
