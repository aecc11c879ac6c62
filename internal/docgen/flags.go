package docgen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Flag is one command-line flag.
type Flag struct {
	Name string // without dashes
	// Type is the value's type as the flag package names it ("string",
	// "duration"); empty for a boolean flag.
	Type  string
	Usage string // as defined; may be empty
	// Meta names the value in documentation ("DIR"); empty: the type in
	// capitals.
	Meta string
	// Aliases are other names of the same flag: flags whose usage is
	// "same as -NAME".
	Aliases []string
}

// Dashed is the flag as written on a command line: -f for one letter,
// --name otherwise.
func Dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// Metavar is the placeholder for the flag's value ("" for a boolean).
func (f Flag) Metavar() string {
	if f.Meta != "" {
		return f.Meta
	}
	return strings.ToUpper(f.Type)
}

// ParseDefaults reads the output of flag.FlagSet.PrintDefaults (what a
// command built on package flag prints for -h): every flag with its type
// and usage, in order. Flags whose usage is "same as -X" become aliases of
// X.
func ParseDefaults(text string) ([]Flag, error) {
	var flags []Flag
	for line := range strings.SplitSeq(text, "\n") {
		switch {
		case strings.HasPrefix(line, "  -"):
			// "  -name type" or "  -name\tusage" (short boolean).
			head, usage, _ := strings.Cut(line[3:], "\t")
			name, typ, _ := strings.Cut(head, " ")
			if name == "" {
				return nil, fmt.Errorf("flag line %q: no name", line)
			}
			flags = append(flags, Flag{Name: name, Type: typ, Usage: usage})
		case strings.HasPrefix(line, "    \t"):
			if len(flags) == 0 {
				return nil, fmt.Errorf("usage line %q before any flag", line)
			}
			f := &flags[len(flags)-1]
			if f.Usage != "" {
				f.Usage += "\n"
			}
			f.Usage += line[5:]
		}
	}
	if len(flags) == 0 {
		return nil, fmt.Errorf("no flag found in the -h output")
	}
	return mergeAliases(flags), nil
}

// mergeAliases folds "same as -X" flags into X.
func mergeAliases(flags []Flag) []Flag {
	index := map[string]int{}
	for i, f := range flags {
		index[f.Name] = i
	}
	var out []Flag
	alias := map[string][]string{}
	for _, f := range flags {
		if rest, ok := strings.CutPrefix(f.Usage, "same as -"); ok {
			target := strings.TrimLeft(strings.Fields(rest + " x")[0], "-")
			if _, ok := index[target]; ok && target != f.Name {
				alias[target] = append(alias[target], f.Name)
				continue
			}
		}
		out = append(out, f)
	}
	for i := range out {
		out[i].Aliases = alias[out[i].Name]
	}
	return out
}

// flagMethods maps the FlagSet methods that define a flag to the position
// of the name argument and the value type.
var flagMethods = map[string]struct {
	name int
	typ  string
}{
	"Bool": {0, ""}, "BoolVar": {1, ""}, "BoolFunc": {0, ""},
	"String": {0, "string"}, "StringVar": {1, "string"},
	"Int": {0, "int"}, "IntVar": {1, "int"}, "Int64": {0, "int"}, "Int64Var": {1, "int"},
	"Uint": {0, "uint"}, "UintVar": {1, "uint"}, "Uint64": {0, "uint"}, "Uint64Var": {1, "uint"},
	"Float64": {0, "float"}, "Float64Var": {1, "float"},
	"Duration": {0, "duration"}, "DurationVar": {1, "duration"},
	"Func": {0, "value"}, "Var": {1, "value"}, "TextVar": {1, "value"},
}

// SourceFlagSets reads the Go files of dir (tests excluded) and returns,
// for each FlagSet created there with flag.NewFlagSet("NAME", ...), the
// flags defined on it in the same function (fs.Bool("json", ...),
// fs.StringVar(&v, "run-dir", ...)), by NAME. Flag names must be string
// literals.
func SourceFlagSets(dir string) (map[string][]Flag, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	out := map[string][]Flag{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			if err := funcFlags(fset, fn.Body, out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// funcFlags adds the FlagSets created in body and their flags to out.
func funcFlags(fset *token.FileSet, body *ast.BlockStmt, out map[string][]Flag) error {
	sets := map[string]string{} // variable → FlagSet name
	var err error
	ast.Inspect(body, func(n ast.Node) bool {
		if err != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) != 1 || len(n.Rhs) != 1 {
				return true
			}
			id, ok := n.Lhs[0].(*ast.Ident)
			call, ok2 := n.Rhs[0].(*ast.CallExpr)
			if !ok || !ok2 || !isSelector(call.Fun, "flag", "NewFlagSet") || len(call.Args) == 0 {
				return true
			}
			name, ok := stringLit(call.Args[0])
			if !ok {
				err = fmt.Errorf("%s: flag.NewFlagSet with a name that is not a literal", fset.Position(n.Pos()))
				return false
			}
			sets[id.Name] = name
			if _, seen := out[name]; !seen {
				out[name] = nil
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			recv, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			set, ok := sets[recv.Name]
			m, isFlag := flagMethods[sel.Sel.Name]
			if !ok || !isFlag || len(n.Args) <= m.name {
				return true
			}
			name, ok := stringLit(n.Args[m.name])
			if !ok {
				err = fmt.Errorf("%s: flag name that is not a literal", fset.Position(n.Pos()))
				return false
			}
			usage, _ := stringLit(n.Args[len(n.Args)-1])
			if sel.Sel.Name == "Func" || sel.Sel.Name == "BoolFunc" {
				usage, _ = stringLit(n.Args[1])
			}
			out[set] = append(out[set], Flag{Name: name, Type: m.typ, Usage: usage})
		}
		return true
	})
	return err
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
