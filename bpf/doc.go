// Package bpf holds the kernel receive path of xvrrp: vrrp.c, one parser with
// an XDP entry point (xdp_vrrp, multi-buffer capable) and a tcx ingress entry
// point (tc_vrrp) that validate VRRP adverts exactly as vrrp.Validate does,
// rate-limit them per source, record the valid ones in the adverts map and
// report changes on a ring buffer (and, when enabled, a few samples a
// second of dropped adverts); vrrp.h, every type shared with Go; and
// the bpf2go output generated from them (vrrp_bpfel.go and vrrp_bpfel.o,
// committed, so building needs no clang).
//
// Regenerate with `make generate` (clang and llvm-strip, Debian's clang 14
// in CI); `make check-generate` fails when the committed output is stale.
// Package loader loads, configures and attaches the programs.
package bpf
