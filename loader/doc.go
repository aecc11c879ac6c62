// Package loader will load, attach and pin the programs of package bpf and
// turn their ring-buffer records into the daemon's events. It is empty today:
// the kernel receive path is the next milestone and the daemon currently
// receives adverts through a raw socket (see README.md).
package loader
