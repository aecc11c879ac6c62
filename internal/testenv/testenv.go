// Package testenv lets tests demand what they need from the machine (root,
// commands, kernel features). Locally a missing requirement skips the test
// with a clear message; under CI=true it fails it, because a skipped test is
// not a passing test.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true or CI=1).
func InCI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}

// Missing skips t locally, or fails it in CI, saying what is missing.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and this test needs %s", what)
	}
	t.Skipf("needs %s (skipped outside CI)", what)
}

// RequireRoot needs uid 0 (namespaces, netlink, raw sockets, BPF).
// It also skips under `go test -short`, except in CI.
func RequireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() && !InCI() {
		t.Skip("needs root and namespaces: skipped with -short")
	}
	if os.Geteuid() != 0 {
		Missing(t, "root")
	}
}

// RequireCommand needs an executable on PATH and returns its path.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "the command "+name+" (make deps installs it)")
	}
	return p
}
