// Command gendocs writes the documentation generated from the code
// (package docgen):
//
//	gendocs man -xvrrpd BIN -xvrrpctl BIN -root DIR -out DIR
//	    xvrrpd.8, xvrrpctl.8 and their bash completions
//	    (xvrrpd.bash, xvrrpctl.bash) into -out
//	gendocs keywords -root DIR [-check]
//	    the keyword table of DIR/docs/MIGRATING.md, rewritten in place;
//	    -check only fails when it differs
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/xvrrp/xvrrp/internal/docgen"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: gendocs man|keywords [flags]")
	}
	fs := flag.NewFlagSet("gendocs "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "the source tree")
	switch args[0] {
	case "man":
		xvrrpd := fs.String("xvrrpd", "bin/xvrrpd", "the xvrrpd binary")
		xvrrpctl := fs.String("xvrrpctl", "bin/xvrrpctl", "the xvrrpctl binary")
		out := fs.String("out", "bin/man", "output directory")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return man(*root, *xvrrpd, *xvrrpctl, *out, stderr)
	case "keywords":
		check := fs.Bool("check", false, "fail if the table differs instead of rewriting it")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return keywords(*root, *check)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func man(root, xvrrpdBin, xvrrpctlBin, out string, stderr io.Writer) error {
	d, err := docgen.LoadXvrrpd(xvrrpdBin, root)
	if err != nil {
		return err
	}
	c, err := docgen.LoadXvrrpctl(xvrrpctlBin, root)
	if err != nil {
		return err
	}
	for _, u := range c.Undocumented() {
		fmt.Fprintf(stderr, "gendocs: warning: %s is defined but its usage text does not describe it\n", u)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"xvrrpd.8", func(w io.Writer) error { return docgen.WriteMan(w, docgen.XvrrpdPage(d)) }},
		{"xvrrpctl.8", func(w io.Writer) error { return docgen.WriteMan(w, docgen.XvrrpctlPage(c)) }},
		{"xvrrpd.bash", func(w io.Writer) error { return docgen.WriteXvrrpdCompletion(w, d) }},
		{"xvrrpctl.bash", func(w io.Writer) error { return docgen.WriteXvrrpctlCompletion(w, c) }},
	}
	for _, f := range files {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, f.name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func keywords(root string, check bool) error {
	path := filepath.Join(root, "docs/MIGRATING.md")
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	table, err := docgen.KeywordTable(root)
	if err != nil {
		return err
	}
	updated, err := docgen.ReplaceKeywordTable(string(old), table)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if updated == string(old) {
		return nil
	}
	if check {
		return fmt.Errorf("%s: the keyword table differs from the parser's: run make docs", path)
	}
	return os.WriteFile(path, []byte(updated), 0o644)
}
