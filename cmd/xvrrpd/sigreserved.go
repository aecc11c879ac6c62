//go:build amd64 || arm64

package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

// reservedSignals are the signals whose default action terminates the
// process and that os/signal cannot subscribe to: 32 (glibc's SIGCANCEL)
// and 34 (SIGRTMIN as the shell names it). Go installs no handler for
// them, so `kill -34` would kill the daemon without its masters resigning.
// (33 is handled by the Go runtime or glibc and never terminates.)
var reservedSignals = []syscall.Signal{32, 34}

// ignoreReservedSignals sets reservedSignals to SIG_IGN. Scripts the daemon
// runs inherit that disposition, harmless for these two.
func ignoreReservedSignals() error {
	// The kernel's struct sigaction on amd64 and arm64 (both define
	// SA_RESTORER): handler, flags, restorer, mask.
	type kernelSigaction struct {
		handler  uintptr
		flags    uint64
		restorer uintptr
		mask     uint64
	}
	const sigIgn = 1
	act := kernelSigaction{handler: sigIgn}
	for _, s := range reservedSignals {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s),
			uintptr(unsafe.Pointer(&act)), 0, unsafe.Sizeof(act.mask), 0, 0); e != 0 {
			return fmt.Errorf("ignore signal %d: %w", int(s), e)
		}
	}
	return nil
}
