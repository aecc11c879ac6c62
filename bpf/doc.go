// Package bpf will hold the XDP and TC programs that parse, validate and
// rate-check VRRP adverts in the kernel, with the bpf2go output generated from
// them. It is empty today: the kernel receive path is the next milestone and
// the daemon currently receives adverts through a raw socket (see README.md).
package bpf
