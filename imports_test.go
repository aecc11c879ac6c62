package xvrrp_test

import (
	"go/build"
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps the layering of docs/ARCHITECTURE.md: the
// protocol core imports the standard library only, and nothing below cmd
// imports the daemon or a command.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports ","}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/xvrrp/xvrrp/"
	rules := map[string]func(imp string) bool{
		// vrrp: standard library only.
		mod + "vrrp": func(imp string) bool { return isStd(imp) },
		// vrrp/config: standard library and vrrp.
		mod + "vrrp/config": func(imp string) bool { return isStd(imp) || imp == mod+"vrrp" },
		// vrrp/metrics: reads the control protocol's types, exports
		// through the Prometheus client; nothing of the daemon.
		mod + "vrrp/metrics": func(imp string) bool {
			return isStd(imp) || imp == mod+"vrrp/control" || strings.HasPrefix(imp, "github.com/prometheus/")
		},
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imps, _ := strings.Cut(line, " ")
		for _, imp := range strings.Split(imps, ",") {
			if imp == "" {
				continue
			}
			if ok, has := rules[pkg]; has && !ok(imp) {
				t.Errorf("%s must not import %s", pkg, imp)
			}
			if !strings.HasPrefix(pkg, mod+"cmd/") && (strings.HasPrefix(imp, mod+"cmd/") ||
				(imp == mod+"vrrp/daemon" && !strings.HasPrefix(pkg, mod+"e2e"))) {
				t.Errorf("%s must not import %s (only cmd/ wires the daemon)", pkg, imp)
			}
		}
		if _, has := rules[pkg]; has {
			seen++
		}
	}
	if seen != len(rules) {
		t.Errorf("checked %d of %d constrained packages: a package was renamed?", seen, len(rules))
	}
}

func isStd(imp string) bool {
	p, err := build.Default.Import(imp, "", build.FindOnly)
	return err == nil && p.Goroot
}

// TestLightControl keeps xvrrpctl light: the control protocol and the CLI
// depend, directly or not, on neither the daemon nor cilium/ebpf (nor the
// loader that wraps it).
func TestLightControl(t *testing.T) {
	const mod = "github.com/xvrrp/xvrrp/"
	for _, pkg := range []string{mod + "vrrp/control", mod + "cmd/xvrrpctl"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		var bad []string
		for _, dep := range strings.Fields(string(out)) {
			if dep == mod+"vrrp/daemon" || dep == mod+"loader" || dep == mod+"bpf" ||
				dep == "github.com/cilium/ebpf" || strings.HasPrefix(dep, "github.com/cilium/ebpf/") {
				bad = append(bad, dep)
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s must not depend on %s", pkg, strings.Join(bad, ", "))
		}
	}
}
