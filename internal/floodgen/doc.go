// Package floodgen generates packet floods for tests and benchmarks inside
// test network namespaces.
//
// The fast path uses the kernel's XDP "live frames" test mode
// (BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES): a two-instruction XDP
// program that returns XDP_TX is run Repeat times on a frame, and every run
// transmits the frame out of the interface named in the run's context. No
// socket, no copy per packet: on a veth this reaches millions of packets a
// second, but only when the veth's peer has a native XDP program attached
// (Counter attaches one, XDP_PASS, that also counts what arrives).
//
// Both programs are built in Go with the cilium/ebpf asm package, so the
// package has no C source and no generated object.
//
// Sender (AF_PACKET, one sendto per frame) is the slow portable fallback.
//
// Everything here runs in the calling thread's network namespace: callers
// lock an OS thread into the namespace first (netnstest.NS.Do). Nothing in
// this package is safe for concurrent use unless its doc says so.
package floodgen
