package control

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Commands a client can send.
const (
	CmdStatus = "status" // answered with a Status
	CmdReload = "reload" // answered with a Reply
)

// BaseDir holds the per-namespace run directories (and xvrrpd's
// per-namespace lock files).
const BaseDir = "/run/xvrrp"

// SocketName is the control socket's name in the run directory.
const SocketName = "xvrrpd.sock"

// Status is a snapshot of the daemon, as `xvrrpctl status` prints it.
type Status struct {
	Dataplane   string            `json:"dataplane"`
	Instances   []InstanceStatus  `json:"instances"`
	Received    uint64            `json:"received"`
	Accepted    uint64            `json:"accepted"`
	QueueFull   uint64            `json:"queue_full"`
	AdvertsSent uint64            `json:"adverts_sent"`
	GarpBursts  uint64            `json:"garp_bursts"`
	Transitions uint64            `json:"transitions"`
	Drops       map[string]uint64 `json:"drops"`
	// KernelEvents and KernelEventsLost count ring-buffer records of the
	// bpf dataplane (zero on the socket dataplane).
	KernelEvents     uint64 `json:"kernel_events"`
	KernelEventsLost uint64 `json:"kernel_events_lost"`
	// ConfigFile is the keepalived.conf the daemon reads (and re-reads on
	// reload).
	ConfigFile string `json:"config_file,omitempty"`
	// Reloads counts reloads applied; ReloadErrors those refused (a
	// configuration with errors, or one the daemon could not apply).
	Reloads      uint64 `json:"reloads"`
	ReloadErrors uint64 `json:"reload_errors"`
}

// InstanceStatus is one vrrp_instance in a Status.
type InstanceStatus struct {
	Name               string `json:"name"`
	VRID               uint8  `json:"vrid"`
	Interface          string `json:"interface"`
	Version            uint8  `json:"version"`
	State              string `json:"state"`
	Priority           uint8  `json:"priority"`
	ConfiguredPriority uint8  `json:"configured_priority"`
	Source             string `json:"source"`
	Master             string `json:"master,omitempty"`
	// HoldsVIPs tells whether the instance has added its VIPs (it is
	// MASTER); VIPs says what the kernel holds.
	HoldsVIPs bool      `json:"holds_vips"`
	Since     time.Time `json:"since,omitzero"`
	// Reason is why the last transition happened.
	Reason string `json:"reason"`
	// Fault is why the instance is in FAULT now (interface missing or down,
	// failing check, ...); empty otherwise.
	Fault string `json:"fault,omitempty"`
	// VIPs are the instance's virtual addresses, virtual_ipaddress then
	// virtual_ipaddress_excluded, in configuration order.
	VIPs []VIPStatus `json:"vips"`
}

// VIPStatus is one virtual address of an instance.
type VIPStatus struct {
	Addr string `json:"addr"` // address/prefix as configured
	Dev  string `json:"dev"`  // interface it is added to
	// Held: the kernel holds the address on Dev now, as last observed (not
	// as the daemon assumes after adding it).
	Held bool `json:"held"`
}

// Reply answers a command other than status: OK, or the error.
type Reply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
}

// SocketPath is the control socket's path in runDir.
func SocketPath(runDir string) string { return filepath.Join(runDir, SocketName) }

// NetnsID names the process's network namespace ("net-4026531840"): run
// directories, lock files and BPF pin directories are per namespace.
func NetnsID() (string, error) {
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return "", fmt.Errorf("network namespace: %w", err)
	}
	// "net:[4026531840]"
	return strings.NewReplacer("[", "", "]", "", ":", "-").Replace(ns), nil
}

// DefaultRunDir is BaseDir/NetnsID(): daemons in different network
// namespaces of one host never share a pid file or control socket.
func DefaultRunDir() (string, error) {
	ns, err := NetnsID()
	if err != nil {
		return "", err
	}
	return filepath.Join(BaseDir, ns), nil
}
