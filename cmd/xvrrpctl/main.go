// Command xvrrpctl talks to a running xvrrpd through its control socket.
//
//	xvrrpctl [--run-dir DIR] status [--json]
//	xvrrpctl [--run-dir DIR] reload
//
// Exit codes: 0 done, 1 error (a refused reload included), 2 usage,
// 3 xvrrpd is not running (no socket, or nobody listening on it).
//
// It imports package control and nothing of the daemon, so it links
// neither the daemon nor cilium/ebpf.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

// Exit codes.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitNotRunning = 3
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a bad command line: printed with the usage, exit 2.
type usageError struct{ msg, usage string }

func (e *usageError) Error() string { return e.msg }

// env is what a command runs with.
type env struct {
	socket         string
	stdout, stderr io.Writer
	json           bool // the global --json
}

type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, e *env, c *command, args []string) error
}

var commands = []*command{
	{
		name:    "status",
		summary: "each instance's state, priority, master, VIPs (held or missing) and last transition reason; counters",
		usage: `usage: xvrrpctl [--run-dir DIR] status [--json]

Prints one line per vrrp_instance: name, VRID, interface, state, priority
(current/configured when they differ), the master's address, when and why
the last transition happened, and each VIP with its interface and whether
the kernel holds it (held; missing on a MASTER; not held otherwise). Then
the receive counters, drops by reason and reloads.

  --json   print the daemon's JSON status as it is
`,
		run: runStatus,
	},
	{
		name:    "reload",
		summary: "make xvrrpd re-read its configuration (as SIGHUP does)",
		usage: `usage: xvrrpctl [--run-dir DIR] reload

Asks xvrrpd to re-read its configuration file and apply it. A configuration
with errors is refused (every error printed, exit 1) and the running one
stays.
`,
		run: runReload,
	},
}

const mainUsage = `usage: xvrrpctl [--run-dir DIR] COMMAND [ARGS]

Commands:
%s
Global flags:
  --run-dir DIR   xvrrpd's run directory (default /run/xvrrp/net-<namespace inode>)

"xvrrpctl COMMAND --help" describes a command.
Exit codes: 0 done, 1 error, 2 usage, 3 xvrrpd is not running.
`

func mainUsageText() string {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	return fmt.Sprintf(mainUsage, b.String())
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run runs one command line and returns the exit code; messages go to
// stderr, results to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "xvrrpctl: %s\n%s", ue.msg, ue.usage)
		return exitUsage
	case errors.Is(err, control.ErrNotRunning):
		fmt.Fprintf(stderr, "xvrrpctl: %v\n", err)
		return exitNotRunning
	default:
		fmt.Fprintf(stderr, "xvrrpctl: %v\n", err)
		return exitError
	}
}

// errHelp: help was asked for and printed.
var errHelp = errors.New("help")

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("xvrrpctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runDir := fs.String("run-dir", "", "")
	fs.BoolVar(&e.json, "json", false, "") // before the command: kept for `xvrrpctl --json status`
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, mainUsageText())
			return nil
		}
		return &usageError{err.Error(), mainUsageText()}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return &usageError{"no command", mainUsageText()}
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) == 1 {
			if c := lookup(rest[0]); c != nil {
				fmt.Fprint(stdout, c.usage)
				return nil
			}
		}
		fmt.Fprint(stdout, mainUsageText())
		return nil
	}
	c := lookup(name)
	if c == nil {
		return &usageError{fmt.Sprintf("unknown command %q", name), mainUsageText()}
	}
	dir := *runDir
	if dir == "" {
		var err error
		if dir, err = control.DefaultRunDir(); err != nil {
			return err
		}
	}
	e.socket = control.SocketPath(dir)
	if err := c.run(ctx, e, c, rest); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		var ue *usageError
		if errors.As(err, &ue) && ue.usage == "" {
			ue.usage = c.usage
		}
		return err
	}
	return nil
}

// parseCommand parses a command's flags; --help prints its usage.
func parseCommand(e *env, c *command, fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, c.usage)
			return errHelp
		}
		return &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("%s: unexpected arguments: %s", c.name, strings.Join(fs.Args(), " "))}
	}
	return nil
}

func runStatus(ctx context.Context, e *env, c *command, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", e.json, "")
	if err := parseCommand(e, c, fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*control.IOTimeout)
	defer cancel()
	if *asJSON {
		raw, err := control.Query(ctx, e.socket, control.CmdStatus)
		if err != nil {
			return explain(err)
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", raw)
		return err
	}
	st, err := control.QueryStatus(ctx, e.socket)
	if err != nil {
		return explain(err)
	}
	return printStatus(e.stdout, st)
}

func runReload(ctx context.Context, e *env, c *command, args []string) error {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	if err := parseCommand(e, c, fs, args); err != nil {
		return err
	}
	if err := control.QueryReload(ctx, e.socket); err != nil {
		var se *control.ServerError
		if errors.As(err, &se) {
			return fmt.Errorf("reload refused:\n%s", se.Msg)
		}
		return explain(err)
	}
	_, err := fmt.Fprintln(e.stdout, "configuration reloaded")
	return err
}

// explain adds a hint to errors an operator can act on.
func explain(err error) error {
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("%w (the control socket is root's: run xvrrpctl as root)", err)
	}
	return err
}

// printStatus writes the status table and the counters.
func printStatus(w io.Writer, st control.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tVRID\tIFACE\tSTATE\tPRIO\tMASTER\tSINCE\tREASON\tVIPS")
	for _, in := range st.Instances {
		prio := fmt.Sprint(in.Priority)
		if in.Priority != in.ConfiguredPriority {
			prio = fmt.Sprintf("%d/%d", in.Priority, in.ConfiguredPriority)
		}
		since := "-"
		if !in.Since.IsZero() {
			since = in.Since.Format(time.RFC3339)
		}
		reason := dash(in.Reason)
		if in.Fault != "" {
			reason += " (fault: " + in.Fault + ")"
		}
		vips := vipCells(in)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.VRID, dash(in.Interface), in.State,
			prio, dash(in.Master), since, reason, vips[0])
		for _, v := range vips[1:] {
			fmt.Fprintf(tw, "\t\t\t\t\t\t\t\t%s\n", v)
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

// vipCells is one cell per VIP: address, interface, held / missing (a
// MASTER without it) / not held. Never empty.
func vipCells(in control.InstanceStatus) []string {
	if len(in.VIPs) == 0 {
		if in.HoldsVIPs {
			return []string{"held"}
		}
		return []string{"-"}
	}
	cells := make([]string, len(in.VIPs))
	for i, v := range in.VIPs {
		state := "not held"
		switch {
		case v.Held:
			state = "held"
		case in.State == "MASTER":
			state = "missing"
		}
		cells[i] = fmt.Sprintf("%s %s %s", v.Addr, dash(v.Dev), state)
	}
	return cells
}

func drops(m map[string]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
