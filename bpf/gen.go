package bpf

// The include path is Debian/Ubuntu's multiarch directory for amd64 (where
// asm/types.h lives): a go:generate line cannot run $(gcc -print-multiarch).
// The compiler is the plain `clang` on PATH (CI: Debian's clang 14); the
// output is independent of the checkout path. Regenerate with `make generate`;
// `make check-generate` fails when the committed output is stale.
//
// Only the little-endian object is built (bpfel): every supported machine is
// little-endian.

//go:generate go tool bpf2go -cc clang -strip llvm-strip -target bpfel -tags linux -type drop_reason -type stat -type family -type instance_flag -type addr_kind -type event_kind -type instance_key -type instance -type addr_key -type advert_state -type rate_key -type event -type clock_reading Vrrp vrrp.c -- -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu
