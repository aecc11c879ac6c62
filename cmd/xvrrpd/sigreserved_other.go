//go:build !(amd64 || arm64)

package main

import "syscall"

// reservedSignals: the kernel's sigaction layout is only written down for
// amd64 and arm64 (sigreserved_linux.go); elsewhere they keep their default.
var reservedSignals []syscall.Signal

func ignoreReservedSignals() error { return nil }
