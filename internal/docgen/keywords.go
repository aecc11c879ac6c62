package docgen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// Support says what xvrrpd does with a keepalived.conf keyword.
type Support string

// The answers of the keyword table.
const (
	Supported    Support = "supported"
	Differs      Support = "differs"       // accepted, with a warning saying how
	NotSupported Support = "not supported" // warned about and ignored
	Unused       Support = "unused"        // accepted without effect on VRRP (e-mail, SNMP, ...)
)

// Keyword is one row of the keyword table.
type Keyword struct {
	Block   string // where it is written: "top level", "global_defs", ...
	Name    string
	Since   string // first keepalived release that knows it; "" for an address option
	Support Support
	Note    string // the parser's warning, for differs and not supported
}

// probe returns a configuration holding kw in block (a keepalived keyword
// path) and the line kw is on.
func probe(block, kw string) (string, int) {
	var open, close []string
	var path []string
	for _, b := range strings.Fields(block) {
		path = append(path, b)
		switch strings.Join(path, " ") {
		case "vrrp_instance":
			open = append(open, "vrrp_instance P {", " interface lo", " virtual_router_id 1", " virtual_ipaddress {", "  10.0.0.1/24", " }")
		case "vrrp_script":
			open = append(open, "vrrp_script s {", " script /bin/true")
		case "track_file", "vrrp_track_file":
			open = append(open, b+" f {", " file /nonexistent")
		case "vrrp_sync_group":
			open = append(open, "vrrp_sync_group g {")
		case "global_defs", "vrrp_instance authentication", "vrrp_instance auth_hmac":
			open = append(open, b+" {")
		default:
			open = append(open, b+" x {")
		}
		close = append(close, "}")
	}
	lines := append(append(append([]string{}, open...), kw), close...)
	return strings.Join(lines, "\n") + "\n", len(open) + 1
}

// classify parses a configuration holding kw (without a value) in block
// and reads the parser's warnings about it (those of its line: validation
// may warn about the probe's other lines).
func classify(block, kw string) (Support, string, error) {
	text, line := probe(block, kw)
	cfg, _ := config.Parse("probe.conf", []byte(text))
	for _, w := range cfg.Warnings {
		if w.Keyword != kw || w.Line != line {
			continue
		}
		switch {
		case w.Kind == config.KindUnknown:
			return "", "", fmt.Errorf("%s %s: the parser calls it unknown: %s", blockTitle(block), kw, w.Message)
		case w.Kind == config.KindUnused:
			return Unused, "", nil
		case strings.Contains(w.Message, "not implemented by xvrrpd"):
			msg, dep, _ := strings.Cut(w.Message, "; keepalived reports it as deprecated")
			_, note, _ := strings.Cut(msg, "keepalived acts on it (")
			note = strings.TrimSuffix(note, ")")
			if dep != "" {
				note = strings.TrimPrefix(note+"; deprecated in keepalived"+dep, "; ")
			}
			return NotSupported, note, nil
		case w.Kind == config.KindNote:
			return Differs, w.Message, nil
		}
		// A value the probe does not give (KindCorrected): not about
		// the keyword itself.
	}
	return Supported, "", nil
}

// blockTitle is how the table names a block path.
func blockTitle(path string) string {
	if path == "" {
		return "top level"
	}
	f := strings.Fields(path)
	if len(f) == 1 {
		return f[0]
	}
	return f[len(f)-1] + " (in " + strings.Join(f[:len(f)-1], " ") + ")"
}

// Keywords lists every keyword of keepalived's parser (2.2.7 to the
// development branch, config.KeepalivedKeywords) with what xvrrpd does
// with it, found by parsing a configuration that holds it: no warning is
// supported, a warning that xvrrpd does not implement it is not
// supported, an e-mail or SNMP keyword is unused, a note about the
// keyword itself differs. The keywords inside a block xvrrpd ignores as a whole
// (virtual_server, bfd_instance, ...) are one row, the block's. The
// options of virtual_ipaddress and unicast_peer lines, which keepalived
// reads as values, come from the case labels of the decoder's vips and
// peers (vrrp/config/decode.go under root). A keyword the parser calls
// unknown is an error (the probe is wrong). Sorted by block, then name.
func Keywords(root string) ([]Keyword, error) {
	var out []Keyword
	ignored := map[string]int{} // path of a block ignored whole → its keywords
	var ignoredOrder []string
	for _, k := range config.KeepalivedKeywords() {
		path := strings.TrimSpace(k.Block + " " + k.Name)
		skip := false
		for _, b := range ignoredOrder {
			if strings.HasPrefix(path, b+" ") {
				ignored[b]++
				skip = true
				break
			}
		}
		if skip {
			continue
		}
		if k.Until != "" {
			out = append(out, Keyword{Block: blockTitle(k.Block), Name: k.Name, Since: k.Since + "–" + k.Until,
				Support: NotSupported, Note: "no longer in keepalived"})
			continue
		}
		sup, note, err := classify(k.Block, k.Name)
		if err != nil {
			return nil, err
		}
		if k.Kind == "block" && sup != Supported && sup != Differs {
			ignoredOrder = append(ignoredOrder, path)
		}
		out = append(out, Keyword{Block: blockTitle(k.Block), Name: k.Name, Since: k.Since, Support: sup, Note: note})
	}
	for i := range out {
		path := strings.TrimSpace(blockPath(out[i].Block) + " " + out[i].Name)
		if n := ignored[path]; n > 0 {
			sep := ""
			if out[i].Note != "" {
				sep = "; "
			}
			out[i].Note += fmt.Sprintf("%swith the %d keywords of its block", sep, n)
		}
	}
	opts, err := addressOptions(root)
	if err != nil {
		return nil, err
	}
	out = append(out, opts...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Block != out[j].Block {
			return blockRank(out[i].Block) < blockRank(out[j].Block) ||
				blockRank(out[i].Block) == blockRank(out[j].Block) && out[i].Block < out[j].Block
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// blockPath undoes blockTitle.
func blockPath(title string) string {
	if title == "top level" {
		return ""
	}
	name, in, ok := strings.Cut(title, " (in ")
	if !ok {
		return title
	}
	return strings.TrimSuffix(in, ")") + " " + name
}

// blockRank orders the table: the blocks users write most first.
func blockRank(b string) int {
	for i, p := range []string{"top level", "global_defs", "vrrp_instance", "authentication (in vrrp_instance)",
		"virtual_ipaddress address option", "unicast_peer address option", "vrrp_script", "track_file", "vrrp_sync_group"} {
		if b == p {
			return i
		}
	}
	return 100
}

// optionValue is a valid value of each address option that takes one.
var optionValue = map[string]string{"dev": "lo", "label": "lo:1", "scope": "global", "brd": "10.0.0.255",
	"broadcast": "10.0.0.255", "peer": "10.0.0.2", "preferred_lft": "0"}

// addressOptions reads the options of virtual_ipaddress and unicast_peer
// lines from the case labels of the decoder's vips and peers functions and
// classifies each by parsing a line that uses it.
func addressOptions(root string) ([]Keyword, error) {
	path := filepath.Join(root, "vrrp/config/decode.go")
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	scopes := map[string]struct {
		title, tag string
		line       func(string) string
	}{
		"vips": {"virtual_ipaddress address option", "opt", func(o string) string {
			return "virtual_ipaddress {\n10.0.0.1/24 " + o + " " + optionValue[o] + "\n}"
		}},
		"peers": {"unicast_peer address option", "n.args[i]", func(o string) string { return "unicast_peer {\n10.0.0.2 " + o + " 1\n}" }},
	}
	var out []Keyword
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		sc, ok := scopes[fn.Name.Name]
		if !ok {
			continue
		}
		var opts []string
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			sw, ok := n.(*ast.SwitchStmt)
			if !ok || sw.Tag == nil || types.ExprString(sw.Tag) != sc.tag {
				return true
			}
			for _, st := range sw.Body.List {
				for _, e := range st.(*ast.CaseClause).List {
					if s, ok := stringLit(e); ok && !slices.Contains(opts, s) {
						opts = append(opts, s)
					}
				}
			}
			return true
		})
		if len(opts) == 0 {
			return nil, fmt.Errorf("%s: no option found in %s", path, fn.Name.Name)
		}
		for _, o := range opts {
			text := "vrrp_instance P {\n interface lo\n virtual_router_id 1\n" + sc.line(o) + "\n}\n"
			cfg, _ := config.Parse("probe.conf", []byte(text))
			k := Keyword{Block: sc.title, Name: o, Support: Supported}
			for _, w := range cfg.Warnings {
				if w.Keyword != o || w.Line != 5 {
					continue
				}
				switch w.Kind {
				case config.KindUnknown:
					return nil, fmt.Errorf("%s %s: the parser calls it unknown: %s", sc.title, o, w.Message)
				case config.KindUnsupported:
					k.Support = NotSupported
					if _, note, ok := strings.Cut(w.Message, "ignored: "); ok {
						k.Note = note
					}
				default:
					k.Support, k.Note = Differs, w.Message
				}
			}
			out = append(out, k)
		}
	}
	return out, nil
}

// KeywordTable is the Markdown table of Keywords.
func KeywordTable(root string) (string, error) {
	kws, err := Keywords(root)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	counts := map[Support]int{}
	for _, k := range kws {
		counts[k.Support]++
	}
	rel := config.KeepalivedReleases()
	fmt.Fprintf(&b, "%d keywords: %d supported, %d differ, %d not supported, %d unused (e-mail, SNMP, process tuning). "+
		"Read from keepalived's parser, releases %s to %s and its development branch (vrrp/config/keywords_keepalived.go); "+
		"*keepalived* is the first release that knows the keyword (%s: that one or earlier).\n\n",
		len(kws), counts[Supported], counts[Differs], counts[NotSupported], counts[Unused], rel[0], rel[len(rel)-2], rel[0])
	b.WriteString("| where | keyword | keepalived | xvrrpd | note |\n| --- | --- | --- | --- | --- |\n")
	for _, k := range kws {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", k.Block, k.Name, k.Since, k.Support, strings.ReplaceAll(k.Note, "|", `\|`))
	}
	return b.String(), nil
}

// The keyword table sits between these lines of docs/MIGRATING.md.
const (
	tableBegin = "<!-- keyword table: generated by `make docs` from vrrp/config; do not edit -->"
	tableEnd   = "<!-- end of keyword table -->"
)

// ReplaceKeywordTable returns doc with the text between the table markers
// replaced by table. The begin marker of an older generator (naming
// decode.go) is accepted and replaced.
func ReplaceKeywordTable(doc, table string) (string, error) {
	begin := tableBegin
	i := strings.Index(doc, begin)
	if i < 0 {
		begin = "<!-- keyword table: generated by `make docs` from vrrp/config/decode.go; do not edit -->"
		i = strings.Index(doc, begin)
	}
	j := strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %q ... %q markers", tableBegin, tableEnd)
	}
	return doc[:i] + tableBegin + "\n" + table + doc[j:], nil
}
