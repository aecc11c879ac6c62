package netio

import (
	"os/exec"
	"strings"
	"testing"
)

// netio is below the daemon: it must not import the daemon, the config
// parser or the BPF loader (ARCHITECTURE.md, "Imports go one way").
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/xvrrp/xvrrp/"
	for _, dep := range strings.Fields(string(out)) {
		if !strings.HasPrefix(dep, mod) {
			continue
		}
		if rest := strings.TrimPrefix(dep, mod); rest != "vrrp/netio" && rest != "vrrp" {
			t.Errorf("vrrp/netio depends on %s", dep)
		}
	}
}
