// Package metrics exports xvrrpd's state and counters to Prometheus.
//
// A Collector reads the daemon's status (a func() control.Status) at each
// scrape: nothing polls between scrapes. Transitions by target state and
// reason come from the daemon's watch channel (control.Event) and are
// counted as they happen. A Server listens on a TCP address, answers
// /metrics (promhttp) and owns the goroutine that reads the watch channel;
// Close stops both and waits for them.
//
// # keepalived exporter compatibility
//
// The keepalived_* metrics carry the names, types, labels and value codes
// of the maintained keepalived exporter (github.com/mehdy/keepalived-exporter,
// formerly cafebazaar/keepalived-exporter), so dashboards and alerts written
// for it keep working:
//
//   - keepalived_up: 1 (the daemon itself answers the scrape; when it is
//     down the scrape fails and Prometheus's up is 0).
//   - keepalived_vrrp_state{iname,intf,vrid,ip_address}: one series per
//     VIP, with 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT; intf is the VIP's
//     device and ip_address the address as keepalived's data dump prints it
//     (no prefix length for a /32 or /128). An instance without VIPs has one
//     series with its own interface and an empty ip_address.
//   - keepalived_advertisements_received_total, _sent_total,
//     keepalived_become_master_total, keepalived_release_master_total,
//     keepalived_priority_zero_received_total, _sent_total: per instance,
//     labels {iname,intf,vrid}.
//   - keepalived_script_status{name}: 1 GOOD, 0 BAD, per vrrp_script (a
//     script with no result yet is BAD, as keepalived reports it until
//     rise results).
//
// The invalid-advert counters (keepalived_packet_length_errors_total,
// keepalived_advertisements_interval_errors_total,
// keepalived_ip_ttl_errors_total, keepalived_invalid_type_received_total,
// keepalived_address_list_errors_total,
// keepalived_authentication_invalid_total,
// keepalived_authentication_mismatch_total,
// keepalived_authentication_failure_total) are kept per instance by
// keepalived. xvrrpd counts invalid adverts per drop reason for the whole
// daemon, because the kernel path drops them before any instance is
// looked up. Each of these counters is therefore exported once, as a
// daemon-wide series whose iname, intf and vrid labels are empty (which
// Prometheus stores as absent): sums and rates over an exporter target,
// and alerts on any increase, keep working; a per-instance breakdown of
// them does not exist. Their values are sums of drop reasons, mapped as
// xvrrpctl stats maps them (control.DropCounter);
// keepalived_authentication_invalid_total stays 0 (an unknown auth type is
// counted as auth_type_mismatch). Every reason,
// including those keepalived has no counter for (checksum, version,
// unknown VRID, rate limit...), is in xvrrp_drops_total{reason,dataplane}.
//
// Not exported: keepalived_script_state (whether a script is running now
// is not in the status), keepalived_vrrp_excluded_state (excluded VIPs are
// in keepalived_vrrp_state with the others), keepalived_gratuitous_arp_delay_total
// and the exporter's own keepalived_exporter_* metrics.
//
// # xvrrp metrics
//
// xvrrp_* follow Prometheus's naming conventions (base units, _total for
// counters, _info for constant-1 information gauges); the list, with
// labels, is in docs/monitoring/README.md.
//
// Collector and Server are safe for concurrent use.
package metrics
