package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

func runStatus(ctx context.Context, e *env, c *command, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", e.json, "")
	raw := fs.Bool("raw", false, "")
	if err := parseCommand(e, c, fs, args); err != nil {
		return err
	}
	if *asJSON && *raw {
		return &usageError{msg: "status: --json and --raw exclude each other"}
	}
	if *raw {
		ctx, cancel := context.WithTimeout(ctx, 2*control.IOTimeout)
		defer cancel()
		line, err := control.Query(ctx, e.socket, control.CmdStatus)
		if err != nil {
			return explain(err)
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", line)
		return err
	}
	st, err := queryStatus(ctx, e)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, control.Keepalived(st))
	}
	return printStatus(e.stdout, st, e.now())
}

// writeJSON writes v indented, with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printStatus writes the status table, then the daemon's counters in
// short. Rows are one per instance; an instance with several VIPs or
// trackers continues on the next lines in those two columns only, so the
// table stays one screen line per instance in the common case (one VIP,
// no tracker) and scans the same for 1 instance as for 255.
func printStatus(w io.Writer, st control.Status, now time.Time) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "INSTANCE\tIFACE\tVRID\tV\tSTATE\tPRIO\tMASTER\tIN STATE\tVIPS\tTRACKERS\tREASON")
	for _, in := range st.Instances {
		vips, trackers := vipCells(in), trackerCells(in)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.Name, dash(in.Interface), in.VRID,
			version(in.Version), stateCell(in), prioCell(in), masterCell(in), inState(in.Since, now),
			vips[0], trackers[0], reasonCell(in))
		for i := 1; i < max(len(vips), len(trackers)); i++ {
			fmt.Fprintf(tw, "\t\t\t\t\t\t\t\t%s\t%s\t\n", cell(vips, i), cell(trackers, i))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "dataplane %s: received %d, accepted %d, sent %d, gratuitous bursts %d, transitions %d",
		st.Dataplane, st.Received, st.Accepted, st.AdvertsSent, st.GarpBursts, st.Transitions)
	if st.QueueFull > 0 {
		fmt.Fprintf(w, ", queue full %d", st.QueueFull)
	}
	if st.KernelEvents > 0 || st.KernelEventsLost > 0 {
		fmt.Fprintf(w, ", kernel events %d (lost %d)", st.KernelEvents, st.KernelEventsLost)
	}
	fmt.Fprintf(w, "\ndrops: %s\n", drops(st.Drops))
	_, err := fmt.Fprintf(w, "config %s: reloads %d, refused %d\n", dash(st.ConfigFile), st.Reloads, st.ReloadErrors)
	return err
}

// table aligns tab-separated cells in columns two spaces apart and trims
// the padding at the end of lines (continuation rows end in empty cells).
type table struct {
	*tabwriter.Writer
	buf bytes.Buffer
	out io.Writer
}

func newTable(w io.Writer) *table {
	t := &table{out: w}
	t.Writer = tabwriter.NewWriter(&t.buf, 0, 4, 2, ' ', 0)
	return t
}

// Flush writes the table.
func (t *table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	lines := strings.SplitAfter(t.buf.String(), "\n")
	t.buf.Reset()
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(t.out, strings.TrimRight(l, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func cell(cells []string, i int) string {
	if i < len(cells) {
		return cells[i]
	}
	return ""
}

func version(v uint8) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprint(v)
}

// stateCell is the state, and the wanted one when it differs (a sync
// group member whose timer fired while its group still hears a master).
func stateCell(in control.InstanceStatus) string {
	if in.WantState != "" && in.WantState != in.State {
		return fmt.Sprintf("%s (wants %s)", in.State, in.WantState)
	}
	return in.State
}

// prioCell is the effective priority, "effective/base" when they differ.
func prioCell(in control.InstanceStatus) string {
	if in.Priority != in.ConfiguredPriority {
		return fmt.Sprintf("%d/%d", in.Priority, in.ConfiguredPriority)
	}
	return fmt.Sprint(in.Priority)
}

// masterCell is the master's address and priority ("-": none known).
func masterCell(in control.InstanceStatus) string {
	switch {
	case in.Master == "":
		return "-"
	case in.MasterPriority == 0:
		return in.Master
	}
	return fmt.Sprintf("%s (%d)", in.Master, in.MasterPriority)
}

func reasonCell(in control.InstanceStatus) string {
	r := dash(in.Reason)
	if in.Fault != "" {
		r += " (fault: " + in.Fault + ")"
	}
	return r
}

// inState is the time since since, to the second, in at most two units:
// 42s, 5m3s, 2h5m, 3d4h; "-" without a transition yet.
func inState(since, now time.Time) string {
	if since.IsZero() {
		return "-"
	}
	d := now.Sub(since)
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
}

// vipCells is one cell per VIP: the address, "dev IFACE" when it is not
// the instance's interface, and what the kernel holds. Never empty.
func vipCells(in control.InstanceStatus) []string {
	if len(in.VIPs) == 0 {
		return []string{"-"}
	}
	cells := make([]string, len(in.VIPs))
	for i, v := range in.VIPs {
		var held string
		switch {
		case v.Held && in.State == "MASTER":
			held = "held"
		case v.Held:
			held = "held (not master)"
		case in.State == "MASTER":
			held = "missing"
		default:
			held = "not held"
		}
		addr := v.Addr
		if v.Dev != "" && v.Dev != in.Interface {
			addr += " dev " + v.Dev
		}
		cells[i] = addr + " " + held
	}
	return cells
}

// trackerCells is one cell per tracked object: kind, name, state, weight.
// Never empty.
func trackerCells(in control.InstanceStatus) []string {
	if len(in.Trackers) == 0 {
		return []string{"-"}
	}
	cells := make([]string, len(in.Trackers))
	for i, t := range in.Trackers {
		w := fmt.Sprintf("weight %d", t.Weight)
		if t.Reverse {
			w += " reverse"
		}
		cells[i] = fmt.Sprintf("%s %s %s (%s)", t.Kind, t.Name, dash(t.State), w)
	}
	return cells
}

func drops(m map[string]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	names := sortedKeys(m)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]uint64) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
