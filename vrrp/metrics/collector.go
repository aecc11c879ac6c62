package metrics

import (
	"net/netip"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

// Label sets.
var (
	instanceLabels = []string{"iname", "intf", "vrid"}
	stateLabels    = []string{"iname", "intf", "vrid", "ip_address"}
)

// States are the state names of control.InstanceStatus.State, in the
// order of their keepalived codes (control.KeepalivedState).
var States = [...]string{"INIT", "BACKUP", "MASTER", "FAULT"}

// KeepalivedErrorCounters maps each keepalived exporter error metric to
// the keepalived stats counter it exports. Its value is the sum of the
// daemon-wide drops whose reason control.DropCounter maps to that counter
// (none to invalid_authtype, which stays 0).
var KeepalivedErrorCounters = map[string]string{
	"keepalived_packet_length_errors_total":           "packet_len_err",
	"keepalived_advertisements_interval_errors_total": "advert_interval_err",
	"keepalived_ip_ttl_errors_total":                  "ip_ttl_err",
	"keepalived_invalid_type_received_total":          "invalid_type_rcvd",
	"keepalived_address_list_errors_total":            "addr_list_err",
	"keepalived_authentication_invalid_total":         "invalid_authtype",
	"keepalived_authentication_mismatch_total":        "authtype_mismatch",
	"keepalived_authentication_failure_total":         "auth_failure",
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// Descriptions, keepalived exporter names first.
var (
	kaUp         = desc("keepalived_up", "1: the VRRP daemon answered this scrape (xvrrpd serves it itself).")
	kaState      = desc("keepalived_vrrp_state", "State of the VRRP instance, per VIP: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.", stateLabels...)
	kaAdvRcvd    = desc("keepalived_advertisements_received_total", "Valid VRRP advertisements received by the instance.", instanceLabels...)
	kaAdvSent    = desc("keepalived_advertisements_sent_total", "VRRP advertisements sent by the instance.", instanceLabels...)
	kaBecome     = desc("keepalived_become_master_total", "Times the instance became MASTER.", instanceLabels...)
	kaRelease    = desc("keepalived_release_master_total", "Times the instance left MASTER.", instanceLabels...)
	kaPriZeroRx  = desc("keepalived_priority_zero_received_total", "Priority 0 advertisements received by the instance (a master resigning).", instanceLabels...)
	kaPriZeroTx  = desc("keepalived_priority_zero_sent_total", "Priority 0 advertisements sent by the instance (resigning as master).", instanceLabels...)
	kaScript     = desc("keepalived_script_status", "vrrp_script result: 1 GOOD, 0 BAD (or no result yet).", "name")
	kaErrorDescs = func() map[string]*prometheus.Desc {
		m := map[string]*prometheus.Desc{}
		for name, counter := range KeepalivedErrorCounters {
			m[name] = desc(name, "keepalived's "+counter+": invalid adverts dropped by the whole daemon (iname, intf and vrid empty); by reason in xvrrp_drops_total.", instanceLabels...)
		}
		return m
	}()

	xState          = desc("xvrrp_instance_state", "1 for the state the instance is in, 0 for the others.", "iname", "intf", "vrid", "state")
	xEffPrio        = desc("xvrrp_effective_priority", "Priority the instance advertises now (configured priority moved by tracker weights).", instanceLabels...)
	xBasePrio       = desc("xvrrp_base_priority", "Priority of the instance in the configuration.", instanceLabels...)
	xMasterPrio     = desc("xvrrp_master_priority", "Priority of the current master's last advert (ours when MASTER); 0 when no master is known.", instanceLabels...)
	xSince          = desc("xvrrp_last_transition_timestamp_seconds", "Unix time of the instance's last state change.", instanceLabels...)
	xAdvertInt      = desc("xvrrp_advert_interval_seconds", "Configured advert_int of the instance.", instanceLabels...)
	xMasterInt      = desc("xvrrp_master_advert_interval_seconds", "Advert interval of the current master (learnt from its adverts in VRRPv3).", instanceLabels...)
	xVIPHeld        = desc("xvrrp_vip_held", "1 when the kernel holds the virtual address on dev, 0 otherwise.", "iname", "address", "dev")
	xTrackerOK      = desc("xvrrp_tracker_ok", "Tracked script or interface: 1 ok, 0 failed or no result yet.", "iname", "kind", "name")
	xTrackFile      = desc("xvrrp_track_file_value", "Number read from a track_file.", "iname", "name")
	xDataplane      = desc("xvrrp_dataplane_info", "The receive path in use: xdp, xdp-generic, tc or socket.", "dataplane")
	xDrops          = desc("xvrrp_drops_total", "Invalid adverts dropped, by reason, whole daemon.", "reason", "dataplane")
	xReceived       = desc("xvrrp_packets_received_total", "VRRP packets the dataplane saw, valid or not.", "dataplane")
	xAccepted       = desc("xvrrp_packets_accepted_total", "VRRP packets the dataplane found valid.", "dataplane")
	xQueueFull      = desc("xvrrp_event_queue_full_total", "Adverts dropped because the control loop's queue was full (socket dataplane).")
	xRingbufEvents  = desc("xvrrp_ringbuf_events_total", "Ring-buffer records read from the BPF program.")
	xRingbufLost    = desc("xvrrp_ringbuf_lost_total", "Ring-buffer records the BPF program could not write (buffer full).")
	xGarp           = desc("xvrrp_gratuitous_bursts_total", "Gratuitous ARP / unsolicited NA bursts sent.")
	xHostEvents     = desc("xvrrp_host_events_total", "Link and address changes reported by the host watch (and resyncs after an overrun).")
	xReloads        = desc("xvrrp_reloads_total", "Configuration reloads, by result: ok (applied) or failed (refused).", "result")
	xWatchDropped   = desc("xvrrp_watch_dropped_total", "State changes a slow watcher missed (xvrrpctl watch, or this exporter's transition counter).")
	xBuildInfo      = desc("xvrrp_build_info", "1, labelled with the xvrrpd version and the Go version that built it.", "version", "goversion")
	transitionsHelp = "State changes seen since the exporter started, by instance, target state and reason."
)

// Collector is a prometheus.Collector of a daemon's status, read at each
// scrape, plus the transitions counted by Observe. Safe for concurrent use.
type Collector struct {
	status      func() control.Status
	transitions *prometheus.CounterVec
	build       prometheus.Metric
}

// NewCollector returns a Collector reading status at each scrape.
func NewCollector(status func() control.Status) *Collector {
	version, goversion := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version, goversion = bi.Main.Version, bi.GoVersion
	}
	return &Collector{
		status: status,
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xvrrp_transitions_total",
			Help: transitionsHelp,
		}, []string{"iname", "to", "reason"}),
		build: prometheus.MustNewConstMetric(xBuildInfo, prometheus.GaugeValue, 1, version, goversion),
	}
}

// Observe counts one state change.
func (c *Collector) Observe(e control.Event) {
	c.transitions.WithLabelValues(e.Instance, e.To, ReasonLabel(e.Reason)).Inc()
}

// ReasonLabel turns a transition reason into a label value of bounded
// cardinality: the fixed part before any ": detail" (a fault's cause, a
// sync group member), in snake_case ("master down timer expired" →
// "master_down_timer_expired", "fault: interface eth1 down" → "fault").
func ReasonLabel(reason string) string {
	base, _, _ := strings.Cut(reason, ":")
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(base)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
		} else {
			under = true
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		kaUp, kaState, kaAdvRcvd, kaAdvSent, kaBecome, kaRelease, kaPriZeroRx, kaPriZeroTx, kaScript,
		xState, xEffPrio, xBasePrio, xMasterPrio, xSince, xAdvertInt, xMasterInt, xVIPHeld, xTrackerOK, xTrackFile,
		xDataplane, xDrops, xReceived, xAccepted, xQueueFull, xRingbufEvents, xRingbufLost, xGarp,
		xHostEvents, xReloads, xWatchDropped, xBuildInfo,
	} {
		ch <- d
	}
	for _, d := range kaErrorDescs {
		ch <- d
	}
	c.transitions.Describe(ch)
}

// Collect reads the status once and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	out := emitter{ch}
	out.gauge(kaUp, 1)
	ch <- c.build
	scripts := map[string]bool{}
	var scriptOrder []string
	for i := range st.Instances {
		c.instance(out, &st.Instances[i])
		for _, t := range st.Instances[i].Trackers {
			if t.Kind != "script" {
				continue
			}
			if _, seen := scripts[t.Name]; !seen {
				scriptOrder = append(scriptOrder, t.Name)
			}
			scripts[t.Name] = t.State == "ok"
		}
	}
	for _, name := range scriptOrder {
		out.gauge(kaScript, b2f(scripts[name]), name)
	}

	errs := map[string]uint64{}
	for r, n := range st.Drops {
		if counter := control.DropCounter(r); counter != "" {
			errs[counter] += n
		}
	}
	for name, counter := range KeepalivedErrorCounters {
		out.counter(kaErrorDescs[name], float64(errs[counter]), "", "", "")
	}

	dp := st.Dataplane
	if dp != "" {
		out.gauge(xDataplane, 1, dp)
	}
	reasons := make([]string, 0, len(st.Drops))
	for r := range st.Drops {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		out.counter(xDrops, float64(st.Drops[r]), r, dp)
	}
	out.counter(xReceived, float64(st.Received), dp)
	out.counter(xAccepted, float64(st.Accepted), dp)
	out.counter(xQueueFull, float64(st.QueueFull))
	out.counter(xRingbufEvents, float64(st.KernelEvents))
	out.counter(xRingbufLost, float64(st.KernelEventsLost))
	out.counter(xGarp, float64(st.GarpBursts))
	out.counter(xHostEvents, float64(st.HostEvents))
	out.counter(xReloads, float64(st.Reloads), "ok")
	out.counter(xReloads, float64(st.ReloadErrors), "failed")
	out.counter(xWatchDropped, float64(st.WatchDropped))
	c.transitions.Collect(ch)
}

// instance sends one instance's metrics.
func (c *Collector) instance(out emitter, in *control.InstanceStatus) {
	vrid := strconv.Itoa(int(in.VRID))
	l := []string{in.Name, in.Interface, vrid}

	code, known := control.KeepalivedState(in.State)
	if known {
		seen := map[[2]string]bool{}
		for _, v := range in.VIPs {
			k := [2]string{vipDev(in, v), KeepalivedAddr(v.Addr)}
			if seen[k] {
				continue
			}
			seen[k] = true
			out.gauge(kaState, float64(code), in.Name, k[0], vrid, k[1])
		}
		if len(in.VIPs) == 0 {
			out.gauge(kaState, float64(code), in.Name, in.Interface, vrid, "")
		}
	}
	for _, s := range States {
		out.gauge(xState, b2f(s == in.State), in.Name, in.Interface, vrid, s)
	}

	s := in.Stats
	out.counter(kaAdvRcvd, float64(s.AdvertRcvd), l...)
	out.counter(kaAdvSent, float64(s.AdvertSent), l...)
	out.counter(kaBecome, float64(s.BecomeMaster), l...)
	out.counter(kaRelease, float64(s.ReleaseMaster), l...)
	out.counter(kaPriZeroRx, float64(s.PriZeroRcvd), l...)
	out.counter(kaPriZeroTx, float64(s.PriZeroSent), l...)

	out.gauge(xEffPrio, float64(in.Priority), l...)
	out.gauge(xBasePrio, float64(in.ConfiguredPriority), l...)
	out.gauge(xMasterPrio, float64(in.MasterPriority), l...)
	if !in.Since.IsZero() {
		out.gauge(xSince, float64(in.Since.UnixNano())/1e9, l...)
	}
	if in.AdvertInt > 0 {
		out.gauge(xAdvertInt, in.AdvertInt.Seconds(), l...)
	}
	if in.MasterAdvertInt > 0 {
		out.gauge(xMasterInt, in.MasterAdvertInt.Seconds(), l...)
	}

	held := map[[2]string]bool{}
	for _, v := range in.VIPs {
		k := [2]string{KeepalivedAddr(v.Addr), vipDev(in, v)}
		if _, dup := held[k]; dup {
			continue
		}
		held[k] = v.Held
		out.gauge(xVIPHeld, b2f(v.Held), in.Name, k[0], k[1])
	}

	trackers := map[[2]string]bool{}
	for _, t := range in.Trackers {
		k := [2]string{t.Kind, t.Name}
		if trackers[k] {
			continue
		}
		trackers[k] = true
		if t.Kind == "file" {
			if v, err := strconv.ParseFloat(t.State, 64); err == nil {
				out.gauge(xTrackFile, v, in.Name, t.Name)
			}
			continue
		}
		out.gauge(xTrackerOK, b2f(t.State == "ok"), in.Name, t.Kind, t.Name)
	}
}

// vipDev is the device a VIP is on: its dev, or the instance's interface.
func vipDev(in *control.InstanceStatus, v control.VIPStatus) string {
	if v.Dev != "" {
		return v.Dev
	}
	return in.Interface
}

// KeepalivedAddr writes a VIP (control.VIPStatus.Addr, "address[/prefix]")
// as keepalived's data dump does, which is what the exporters put in
// ip_address: the address, then /prefix unless it is /32 (IPv4) or /128
// (IPv6). Anything unparsable is returned as it is.
func KeepalivedAddr(addr string) string {
	if p, err := netip.ParsePrefix(addr); err == nil {
		if p.Bits() == p.Addr().BitLen() {
			return p.Addr().String()
		}
		return p.Addr().String() + "/" + strconv.Itoa(p.Bits())
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.String()
	}
	return addr
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// emitter sends constant metrics. A metric that cannot be built (a label
// value that is not UTF-8) is sent as an invalid metric: the scrape
// reports it and serves the rest, and the daemon does not panic.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.GaugeValue, v, labels...)
}

func (e emitter) counter(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.CounterValue, v, labels...)
}
