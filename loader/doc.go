// Package loader loads the XDP/TC programs of package bpf, fills their
// configuration maps from a Go description of the virtual routers
// (Instance), attaches them (native XDP, generic XDP or tcx ingress), pins
// their maps with BTF under /sys/fs/bpf/xvrrp/<id>/ and turns ring-buffer
// records into typed Events.
//
// The order is the cilium/ebpf one: spec → constants → load → fill maps →
// attach → pin. Load also pairs time.Now() once with a reading of the
// kernel's clock (the clock_probe program), so kernel timestamps convert to
// time.Time without a syscall and stay right inside a time namespace,
// whose CLOCK_MONOTONIC is offset from bpf_ktime_get_ns. Every error Load returns wraps ErrUnavailable, so a caller
// can fall back to the socket dataplane with errors.Is.
//
// A Loader is safe for concurrent use. Attach must run on an OS thread in
// the network namespace of the interface (interface indexes are per
// namespace); the attachment stays bound to that interface afterwards.
// The kernel drops an attachment when its interface is deleted or its link
// is detached by someone else (bpftool link detach): CheckAttachments
// reports those; Detach releases one and Attach makes it again, on the
// same or a new ifindex (after SetInstances with the new ifindex).
package loader
