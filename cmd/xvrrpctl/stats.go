package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

// statsReport is `stats --json`: the daemon's status without the
// instances' state, each instance reduced to its counters, and the drops
// summed into keepalived's error counters.
type statsReport struct {
	control.Status
	// Instances shadows Status.Instances (encoding/json takes the
	// shallower field).
	Instances        []instanceCounters              `json:"instances"`
	KeepalivedErrors control.KeepalivedErrorCounters `json:"keepalived_errors"`
}

// instanceCounters names an instance and carries its counters.
type instanceCounters struct {
	Name      string                `json:"name"`
	VRID      uint8                 `json:"vrid"`
	Interface string                `json:"interface"`
	Stats     control.InstanceStats `json:"stats"`
}

func newStatsReport(st control.Status) statsReport {
	r := statsReport{Status: st, Instances: make([]instanceCounters, len(st.Instances)),
		KeepalivedErrors: control.KeepalivedErrors(st.Drops)}
	for i, in := range st.Instances {
		r.Instances[i] = instanceCounters{Name: in.Name, VRID: in.VRID, Interface: in.Interface, Stats: in.Stats}
	}
	r.Status.Instances = nil
	if r.Drops == nil {
		r.Drops = map[string]uint64{}
	}
	return r
}

func runStats(ctx context.Context, e *env, c *command, args []string) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	asJSON := fs.Bool("json", e.json, "")
	if err := parseCommand(e, c, fs, args); err != nil {
		return err
	}
	st, err := queryStatus(ctx, e)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, newStatsReport(st))
	}
	return printStats(e.stdout, st)
}

// printStats writes the per-instance counters, the daemon-wide ones, the
// drops by reason and keepalived's error counters summed from them.
func printStats(w io.Writer, st control.Status) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "INSTANCE\tVRID\tIFACE\tADVERT_RCVD\tADVERT_SENT\tBECOME_MASTER\tRELEASE_MASTER\tPRI_ZERO_RCVD\tPRI_ZERO_SENT")
	for _, in := range st.Instances {
		s := in.Stats
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", in.Name, in.VRID, dash(in.Interface),
			s.AdvertRcvd, s.AdvertSent, s.BecomeMaster, s.ReleaseMaster, s.PriZeroRcvd, s.PriZeroSent)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\ndaemon-wide (the kernel drops an invalid advert before it knows the instance):")
	tw = newTable(w)
	for _, c := range []struct {
		name string
		n    uint64
	}{
		{"received", st.Received}, {"accepted", st.Accepted}, {"queue_full", st.QueueFull},
		{"kernel_events", st.KernelEvents}, {"kernel_events_lost", st.KernelEventsLost},
		{"adverts_sent", st.AdvertsSent}, {"garp_bursts", st.GarpBursts}, {"transitions", st.Transitions},
		{"host_events", st.HostEvents}, {"watch_dropped", st.WatchDropped},
		{"reloads", st.Reloads}, {"reload_errors", st.ReloadErrors},
	} {
		fmt.Fprintf(tw, "  %s\t%d\n", c.name, c.n)
	}
	fmt.Fprintf(tw, "  dataplane\t%s\n", dash(st.Dataplane))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\ndrops by reason:")
	if len(st.Drops) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw = newTable(w)
		fmt.Fprintln(tw, "  REASON\tCOUNT\tKEEPALIVED COUNTER")
		for _, r := range sortedKeys(st.Drops) {
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", r, st.Drops[r], dash(control.DropCounter(r)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nkeepalived error counters (daemon-wide sums of the drops above):")
	k := control.KeepalivedErrors(st.Drops)
	tw = newTable(w)
	for _, c := range []struct {
		name string
		n    uint64
	}{
		{"packet_len_err", k.PacketLenErr}, {"advert_interval_err", k.AdvertIntervalErr},
		{"ip_ttl_err", k.IPTTLErr}, {"invalid_type_rcvd", k.InvalidTypeRcvd}, {"addr_list_err", k.AddrListErr},
		{"invalid_authtype", k.InvalidAuthtype}, {"authtype_mismatch", k.AuthtypeMismatch}, {"auth_failure", k.AuthFailure},
	} {
		fmt.Fprintf(tw, "  %s\t%d\n", c.name, c.n)
	}
	return tw.Flush()
}
