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
	// CmdWatch is answered with a Reply ({"ok":true} once subscribed),
	// then one Event per line until the client disconnects.
	CmdWatch = "watch"
	// CmdHandover and CmdResume take an optional instance or sync group
	// name ("handover VI_1"; none: every instance) and are answered with a
	// Reply.
	CmdHandover = "handover"
	CmdResume   = "resume"
	// CmdUpgrade takes an optional path of the binary to run ("upgrade
	// /usr/sbin/xvrrpd.new"; none: the daemon's own path) and is answered
	// with a Reply carrying the new process's PID once it has taken over.
	CmdUpgrade = "upgrade"
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
	// HostEvents counts the link and address changes the host watch
	// reported (and resyncs after an overrun).
	HostEvents uint64 `json:"host_events"`
	// WatchDropped counts events a slow `watch` client missed.
	WatchDropped uint64 `json:"watch_dropped"`
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
	// Maintenance: the instance was handed over (xvrrpctl handover) and
	// stays BACKUP, never taking over, until xvrrpctl resume.
	Maintenance bool `json:"maintenance,omitempty"`
	// Resigning: a master handing over (stop or handover) that keeps its
	// VIPs until the backup taking over advertises.
	Resigning bool `json:"resigning,omitempty"`
	// WantState is the state the instance is heading for: its State,
	// or MASTER for a sync-group member whose timer fired while the rest
	// of its group still hears a master (keepalived's wantstate).
	WantState string `json:"want_state,omitempty"`
	// MasterPriority is the priority of the last advert from the master
	// (ours as master); 0 when no master is known.
	MasterPriority uint8 `json:"master_priority"`
	// AdvertInt is the configured advert_int; MasterAdvertInt the
	// master's (learnt from its adverts in VRRPv3), as durations.
	AdvertInt       time.Duration `json:"advert_int"`
	MasterAdvertInt time.Duration `json:"master_advert_int"`
	// Trackers are the objects the instance tracks (vrrp_script,
	// track_interface, track_file), with their state now.
	Trackers []TrackerStatus `json:"trackers,omitempty"`
	// Stats are the instance's counters (keepalived's names).
	Stats InstanceStats `json:"stats"`
}

// TrackerStatus is one tracked object of an instance.
type TrackerStatus struct {
	Kind    string `json:"kind"`  // script, interface or file
	Name    string `json:"name"`  // vrrp_script / track_file name, or interface
	State   string `json:"state"` // ok, failed, init (no result yet); a file: its value
	Weight  int    `json:"weight"`
	Reverse bool   `json:"reverse,omitempty"`
}

// InstanceStats are one instance's counters, as keepalived keeps them.
// Drops of invalid adverts are counted per reason for the whole daemon
// (Status.Drops): the kernel path cannot tell which instance an invalid
// advert was for.
type InstanceStats struct {
	AdvertRcvd    uint64 `json:"advert_rcvd"`
	AdvertSent    uint64 `json:"advert_sent"`
	BecomeMaster  uint64 `json:"become_master"`
	ReleaseMaster uint64 `json:"release_master"`
	PriZeroRcvd   uint64 `json:"pri_zero_rcvd"`
	PriZeroSent   uint64 `json:"pri_zero_sent"`
}

// VIPStatus is one virtual address of an instance.
type VIPStatus struct {
	Addr string `json:"addr"` // address/prefix as configured
	Dev  string `json:"dev"`  // interface it is added to
	// Held: the kernel holds the address on Dev now, as last observed (not
	// as the daemon assumes after adding it).
	Held bool `json:"held"`
}

// Event is one line of `watch`: a state change as it happens.
type Event struct {
	Time     time.Time `json:"time"`
	Instance string    `json:"instance"`
	VRID     uint8     `json:"vrid"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Reason   string    `json:"reason"`
	Priority uint8     `json:"priority"`
	Master   string    `json:"master,omitempty"`
}

// Reply answers a command other than status: OK, or the error.
type Reply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
	// PID is the new daemon's process ID (CmdUpgrade).
	PID int `json:"pid,omitempty"`
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
