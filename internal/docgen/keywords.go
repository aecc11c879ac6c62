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

// The three answers of the keyword table.
const (
	Supported    Support = "supported"
	Differs      Support = "differs"       // accepted, with a warning saying how
	NotSupported Support = "not supported" // warned about and ignored
)

// Keyword is one row of the keyword table.
type Keyword struct {
	Block   string // where it is written: "top level", "global_defs", ...
	Name    string
	Support Support
	Note    string // the parser's warning, for differs and not supported
}

// keywordScope is a decoder function of vrrp/config/decode.go whose switch
// on a keyword is read: the block it decodes, the switch tag, and how to
// wrap a keyword into a configuration that reaches that switch.
type keywordScope struct {
	block string
	tag   string
	probe func(kw string) string
}

const probeInstance = "vrrp_instance P {\n interface lo\n virtual_router_id 1\n%s\n}\n"

var keywordScopes = map[string]keywordScope{
	"decode":   {"top level", "n.keyword", func(kw string) string { return kw + "\n" }},
	"global":   {"global_defs", "n.keyword", func(kw string) string { return "global_defs {\n" + kw + "\n}\n" }},
	"instance": {"vrrp_instance", "n.keyword", func(kw string) string { return fmt.Sprintf(probeInstance, kw) }},
	"auth": {"authentication (in vrrp_instance)", "n.keyword", func(kw string) string {
		return fmt.Sprintf(probeInstance, "authentication {\n"+kw+" x\n}")
	}},
	"vips": {"virtual_ipaddress address option", "opt", func(kw string) string {
		return fmt.Sprintf(probeInstance, "virtual_ipaddress {\n10.0.0.1/24 "+kw+" lo:1\n}")
	}},
	"peers": {"unicast_peer address option", "n.args[i]", func(kw string) string {
		return fmt.Sprintf(probeInstance, "unicast_peer {\n10.0.0.2 "+kw+" 1\n}")
	}},
	"script":    {"vrrp_script", "n.keyword", func(kw string) string { return "vrrp_script s {\n script /bin/true\n" + kw + "\n}\n" }},
	"trackFile": {"track_file", "n.keyword", func(kw string) string { return "track_file f {\n file /nonexistent\n" + kw + "\n}\n" }},
	"syncGroup": {"vrrp_sync_group", "n.keyword", func(kw string) string { return "vrrp_sync_group g {\n" + kw + "\n}\n" }},
}

// unsupportedSets are the parser's sets of keepalived keywords it knows
// but does not implement, by the function whose default case reads them.
var unsupportedSets = map[string]string{
	"topUnsupported":      "decode",
	"globalUnsupported":   "global",
	"mailKeywords":        "global",
	"instanceUnsupported": "instance",
}

// blockOrder is the order of the table.
var blockOrder = []string{"decode", "global", "instance", "auth", "vips", "peers", "script", "trackFile", "syncGroup"}

// Keywords reads every keyword vrrp/config/decode.go (under root) names —
// the case labels of its decoders' keyword switches and its sets of
// unsupported keywords — and classifies each by parsing a configuration
// that holds it: no warning is supported, a "not supported" warning is
// not supported, any other warning differs. A keyword the parser then
// calls unknown is an error (the probe is wrong). Sorted by block, then
// name.
func Keywords(root string) ([]Keyword, error) {
	path := filepath.Join(root, "vrrp/config/decode.go")
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	names := map[string]map[string]bool{} // function → keywords
	add := func(fn, kw string) {
		if names[fn] == nil {
			names[fn] = map[string]bool{}
		}
		names[fn][kw] = true
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			scope, ok := keywordScopes[d.Name.Name]
			if !ok || d.Body == nil {
				continue
			}
			ast.Inspect(d.Body, func(n ast.Node) bool {
				sw, ok := n.(*ast.SwitchStmt)
				if !ok || sw.Tag == nil || types.ExprString(sw.Tag) != scope.tag {
					return true
				}
				for _, st := range sw.Body.List {
					for _, e := range st.(*ast.CaseClause).List {
						if s, ok := stringLit(e); ok {
							add(d.Name.Name, s)
						}
					}
				}
				return true
			})
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 {
					continue
				}
				fn, ok := unsupportedSets[vs.Names[0].Name]
				call, isCall := vs.Values[0].(*ast.CallExpr)
				if !ok || !isCall {
					continue
				}
				for _, a := range call.Args {
					if s, ok := stringLit(a); ok {
						add(fn, s)
					}
				}
			}
		}
	}
	for set, fn := range unsupportedSets {
		if len(names[fn]) == 0 {
			return nil, fmt.Errorf("%s: no keyword found for %s (%s)", path, fn, set)
		}
	}
	var out []Keyword
	for _, fn := range blockOrder {
		scope := keywordScopes[fn]
		if len(names[fn]) == 0 {
			return nil, fmt.Errorf("%s: no keyword switch found in %s", path, fn)
		}
		var kws []string
		for kw := range names[fn] {
			kws = append(kws, kw)
		}
		sort.Strings(kws)
		for _, kw := range kws {
			k, err := classify(scope, kw)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
	}
	return out, nil
}

// classify parses a configuration holding kw where scope decodes it and
// reads the parser's warnings about it (those of its line: validation
// may warn about the probe's other lines).
func classify(scope keywordScope, kw string) (Keyword, error) {
	k := Keyword{Block: scope.block, Name: kw, Support: Supported}
	probe := scope.probe(kw)
	line := 0
	for i, l := range strings.Split(probe, "\n") {
		if slices.Contains(strings.Fields(l), kw) {
			line = i + 1
			break
		}
	}
	cfg, _ := config.Parse("probe.conf", []byte(probe))
	for _, w := range cfg.Warnings {
		if w.Keyword != kw || w.Line != line {
			continue
		}
		switch {
		case strings.Contains(w.Message, "unknown"):
			return k, fmt.Errorf("%s %s: the parser calls it unknown: %s", scope.block, kw, w.Message)
		case strings.Contains(w.Message, "not supported by xvrrpd"):
			// What the message adds to "not supported ...; ignored".
			_, note, _ := strings.Cut(w.Message, "not supported by xvrrpd")
			note = strings.TrimSpace(strings.TrimSuffix(note, "; ignored"))
			note = strings.TrimPrefix(strings.Replace(note, ")", "", 1), "(")
			k.Support, k.Note = NotSupported, strings.TrimPrefix(note, "; ")
		default:
			k.Support, k.Note = Differs, w.Message
		}
		break
	}
	return k, nil
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
	fmt.Fprintf(&b, "%d keywords: %d supported, %d differ, %d not supported.\n\n",
		len(kws), counts[Supported], counts[Differs], counts[NotSupported])
	b.WriteString("| where | keyword | xvrrpd | note |\n| --- | --- | --- | --- |\n")
	for _, k := range kws {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", k.Block, k.Name, k.Support, strings.ReplaceAll(k.Note, "|", `\|`))
	}
	return b.String(), nil
}

// The keyword table sits between these lines of docs/MIGRATING.md.
const (
	tableBegin = "<!-- keyword table: generated by `make docs` from vrrp/config/decode.go; do not edit -->"
	tableEnd   = "<!-- end of keyword table -->"
)

// ReplaceKeywordTable returns doc with the text between the table markers
// replaced by table.
func ReplaceKeywordTable(doc, table string) (string, error) {
	i := strings.Index(doc, tableBegin)
	j := strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %q ... %q markers", tableBegin, tableEnd)
	}
	return doc[:i+len(tableBegin)] + "\n" + table + doc[j:], nil
}
