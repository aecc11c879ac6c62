package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nsLock is the exclusive flock that keeps xvrrpd to one per network
// namespace. Its path depends on the namespace only (not on --run-dir), and
// it is taken before the daemon touches a VIP, a pin or a socket: a second
// xvrrpd would otherwise remove the first one's VIPs as "leftovers" and
// replace its pins. The file holds the holder's pid. The kernel drops the
// lock when the process dies, however it dies (the file stays then, and the
// next daemon locks it again); Release removes the file.
type nsLock struct {
	f    *os.File
	path string
}

// lockPath is the lock file of the network namespace nsID under dir
// (/run/xvrrp/net-4026531840.lock).
func lockPath(dir, nsID string) string { return filepath.Join(dir, nsID+".lock") }

// errLocked is the error when another process holds the lock.
type errLocked struct {
	path string
	pid  int // 0: unknown
}

func (e *errLocked) Error() string {
	if e.pid == 0 {
		return fmt.Sprintf("another xvrrpd runs in this network namespace (%s is locked, pid unknown)", e.path)
	}
	return fmt.Sprintf("another xvrrpd runs in this network namespace: pid %d (holds %s)", e.pid, e.path)
}

// acquireLock takes the lock at path without waiting and writes our pid
// into it. The lock is held until Release or the end of the process; the
// file is opened close-on-exec, so scripts the daemon runs never inherit
// it. An *errLocked comes back when another process holds it.
func acquireLock(path string) (*nsLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock directory: %w", err)
	}
	// Release removes the file: a file locked after its holder removed it
	// is not the lock any more, so try again with the new one.
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock: %w", err)
		}
		if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &errLocked{path: path, pid: holderPid(path)}
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !samePath(f, path) {
			f.Close()
			continue
		}
		err = f.Truncate(0)
		if err == nil {
			_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: write pid: %w", path, err)
		}
		return &nsLock{f: f, path: path}, nil
	}
	return nil, fmt.Errorf("lock %s: replaced while being taken, again and again", path)
}

// inheritLock takes over the lock a running xvrrpd passed to the process
// that replaces it (upgrade.go): f is the same open file, so the lock is
// held already; it is checked to be the namespace's lock file, locked.
// writePid puts this process's pid in it once it has taken over.
func inheritLock(path string, f *os.File) (*nsLock, error) {
	if !samePath(f, path) {
		f.Close()
		return nil, fmt.Errorf("upgrade: the inherited lock is not %s", path)
	}
	// Our open file description holds the lock: taking it again is a no-op.
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("upgrade: inherited lock %s: %w", path, err)
	}
	return &nsLock{f: f, path: path}, nil
}

// writePid replaces the pid in the lock file by ours.
func (l *nsLock) writePid() error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// samePath tells whether path still names the open file f.
func samePath(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Stat(path)
	return err == nil && os.SameFile(fi, pi)
}

// Release removes the file, while still holding the lock, then drops the
// lock: no stale pid is left to read, and no file per namespace piles up.
func (l *nsLock) Release() {
	os.Remove(l.path)
	l.f.Close()
}

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if ferr = syscall.Flock(int(fd), how); ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}

// holderPid reads the pid in the lock file. The holder writes it just
// after taking the lock, so an empty file is read again for a moment.
func holderPid(path string) int {
	for range 50 {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}
