// Package daemon wires keepalived.conf instances to the network: it builds a
// vrrp.Router per vrrp_instance, receives adverts (raw socket today, the BPF
// path later, both delivering the same events), runs the one control loop
// that steps every router, and carries out their actions (adverts, VIPs,
// gratuitous ARP/NA, logs). It also serves the status snapshot `xvrrpctl`
// reads.
//
// A Daemon is built by New and run once by Run; Status and ServeControl are
// safe to call concurrently with Run.
package daemon
