package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLockOnePerNamespace: a second acquisition fails while the first is
// held (flock locks of two open file descriptions conflict, even in one
// process), names the holder's pid, and succeeds once it is released.
func TestLockOnePerNamespace(t *testing.T) {
	path := lockPath(filepath.Join(t.TempDir(), "xvrrp"), "net-4026531840")
	if want := "net-4026531840.lock"; filepath.Base(path) != want {
		t.Fatalf("lock file %s, want %s", path, want)
	}
	first, err := acquireLock(path)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	b, _ := os.ReadFile(path)
	if got, want := string(b), fmt.Sprintf("%d\n", os.Getpid()); got != want {
		t.Errorf("lock file holds %q, want %q", got, want)
	}

	second, err := acquireLock(path)
	if err == nil {
		second.Release()
		t.Fatal("second lock taken while the first is held")
	}
	var le *errLocked
	if !errors.As(err, &le) || le.pid != os.Getpid() {
		t.Errorf("second lock: %v, want errLocked naming pid %d", err, os.Getpid())
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
	if b, _ := os.ReadFile(path); string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Errorf("the refused acquisition changed the file: %q", b)
	}

	first.Release()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("released lock file still there: %v", err)
	}
	third, err := acquireLock(path)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	third.Release()
}

func TestLockPidUnknown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net-1.lock")
	first, err := acquireLock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	os.WriteFile(path, []byte("garbage"), 0o644)
	_, err = acquireLock(path)
	var le *errLocked
	if !errors.As(err, &le) || le.pid != 0 || !strings.Contains(err.Error(), "pid unknown") {
		t.Errorf("lock with an unreadable pid: %v", err)
	}
}

// TestLockRemovedWhileTaken: a process that opened the lock file just
// before its holder released (and removed) it must not count the removed
// file's lock as the lock.
func TestLockRemovedWhileTaken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net-1.lock")
	holder, err := acquireLock(path)
	if err != nil {
		t.Fatal(err)
	}
	late, err := os.Open(path) // the late comer's open, before the release
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	holder.Release()
	if err := flock(late, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("lock of the removed file: %v", err)
	}
	if samePath(late, path) {
		t.Error("samePath: a removed file still counts as the lock")
	}
	l, err := acquireLock(path)
	if err != nil {
		t.Fatalf("new lock while the removed file is locked: %v", err)
	}
	if !samePath(l.f, path) {
		t.Error("samePath: the lock taken does not name the path")
	}
	l.Release()
}
