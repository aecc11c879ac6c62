// Command xvrrpctl talks to a running xvrrpd through its control socket.
//
//	xvrrpctl [--run-dir DIR] status [--json | --raw]
//	xvrrpctl [--run-dir DIR] stats [--json]
//	xvrrpctl [--run-dir DIR] watch [--json]
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
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
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
	// SIGINT and SIGTERM end a watch cleanly (exit 0) and cancel a query.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a bad command line: printed with the usage, exit 2.
type usageError struct{ msg, usage string }

func (e *usageError) Error() string { return e.msg }

// env is what a command runs with.
type env struct {
	socket         string
	stdout, stderr io.Writer
	json           bool             // the global --json
	now            func() time.Time // the clock "time in state" is measured on
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
		summary: "each instance's state, priorities, master, VIPs (held or missing), time in state, reason, trackers",
		usage: `usage: xvrrpctl [--run-dir DIR] status [--json | --raw]

Prints a table, one row per vrrp_instance:
  INSTANCE, IFACE, VRID, V (VRRP version)
  STATE     INIT, BACKUP, MASTER or FAULT; "(wants MASTER)" for a sync group
            member waiting for the rest of its group
  PRIO      effective priority, "effective/base" when trackers moved it
  MASTER    the current master's address and advertised priority
  IN STATE  time since the last transition
  VIPS      one per line: address, "dev IFACE" when not the instance's
            interface, and what the kernel holds: held, missing (a MASTER
            without it), not held, or "held (not master)"
  TRACKERS  one per line: kind, name, state (ok, failed, init; a
            track_file: its value) and weight
  REASON    why the last transition happened; in FAULT, the fault
Then the dataplane, receive counters, drops by reason and reloads.

  --json   keepalived's JSON dump (keepalived --json, /tmp/keepalived.json,
           2.2.x): an array of {"data": {...}, "stats": {...}} with its
           field names and state numbers (0 INIT, 1 BACKUP, 2 MASTER,
           3 FAULT), plus "xvrrp": the instance as --raw shows it. The
           error counters in "stats" (packet_len_err ... auth_failure)
           are 0: xvrrp counts drops for the whole daemon, not per
           instance ("xvrrpctl stats" shows them in keepalived's names).
  --raw    the daemon's own JSON status, one line, as the control socket
           answers it
`,
		run: runStatus,
	},
	{
		name:    "stats",
		summary: "counters: per instance in keepalived's names, and daemon-wide drops by reason, ring-buffer losses, reloads",
		usage: `usage: xvrrpctl [--run-dir DIR] stats [--json]

Prints keepalived's counters per instance (advert_rcvd, advert_sent,
become_master, release_master, pri_zero_rcvd, pri_zero_sent), then the
daemon-wide counters: adverts received and accepted, queue_full (adverts
the loop could not take), kernel_events and kernel_events_lost (bpf
dataplane ring-buffer records and losses), host_events, watch_dropped,
reloads; the drops by reason with the keepalived counter each one is
counted in, and keepalived's error counters (packet_len_err, ip_ttl_err,
...) as daemon-wide sums of those drops. The kernel drops an invalid
advert before it knows the instance, so drops are not per instance.

  --json   the same as one JSON object: "instances" (name, vrid, interface,
           "stats" with keepalived's names), the daemon-wide counters under
           the daemon's status names, "drops" by reason and
           "keepalived_errors"
`,
		run: runStats,
	},
	{
		name:    "watch",
		summary: "print state changes as they happen, one line each, until interrupted",
		usage: `usage: xvrrpctl [--run-dir DIR] watch [--json]

Prints one line per state change, as it happens: time, instance, VRID,
from and to state, priority, master, reason. Runs until interrupted
(SIGINT or SIGTERM: exit 0) or until xvrrpd stops (exit 1). A client that
stops reading is dropped by the daemon; a slow one may miss events (the
daemon counts them: watch_dropped in "xvrrpctl stats").

  --json   one JSON object per line (time, instance, vrid, from, to, reason,
           priority, master), as the control socket streams them
`,
		run: runWatch,
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
	{
		name:    "handover",
		summary: "hand mastership over without a gap and stay BACKUP in maintenance until resume",
		usage: `usage: xvrrpctl [--run-dir DIR] handover [--wait DURATION] [INSTANCE|GROUP]

Puts the instance, every member of the sync group, or every instance
(no name) in maintenance. A master resigns make-before-break: it
advertises priority 0 but keeps its VIPs until the backup that takes over
advertises, then drops them; it then stays BACKUP and never takes over
until "xvrrpctl resume". A master that no backup relieves within the best
backup's Master_Down_Interval stays MASTER (the VIPs are never left
unserved) and leaves maintenance: that is an error (exit 1).

Waits until every resigning master has handed over or given up, at most
--wait (default 30s), and prints the outcome per instance.
`,
		run: runHandover,
	},
	{
		name:    "resume",
		summary: "take instances out of maintenance (after handover)",
		usage: `usage: xvrrpctl [--run-dir DIR] resume [INSTANCE|GROUP]

Takes the instance, the sync group's members, or every instance (no name)
out of maintenance: their Master_Down_Timer runs again, so one with the
highest priority takes over again (preemption) one Master_Down_Interval
later, without a gap (the new master adds its VIPs before its advert makes
the other drop them).
`,
		run: runResume,
	},
	{
		name:    "upgrade",
		summary: "replace the running xvrrpd by a new process of its binary, without a transition",
		usage: `usage: xvrrpctl [--run-dir DIR] upgrade [BINARY]

Replaces the running xvrrpd by a new process of BINARY (default: the path
xvrrpd was started from, where a package upgrade puts the new version),
with the same arguments, without any peer noticing: the new process reads
the configuration and loads its BPF program first; then the running one
stops its loop and hands over every instance's state (MASTER or BACKUP,
priorities, the master learnt, timers' phase, VIPs held, vrrp_script
results) and the BPF attachments, which get the new program in place. The
VIPs never leave the interface and no state changes anywhere; the running
process exits 0 once the new one runs, without resigning. Under systemd
the unit's main PID follows (MAINPID=).

Prints the new PID. If the new binary cannot start, refuses the state (a
configuration whose instances differ: reload first) or does not take over
within a few seconds, it is stopped, the running xvrrpd goes on, and the
reason is printed (exit 1).
`,
		run: runUpgrade,
	},
}

const mainUsage = `usage: xvrrpctl [--run-dir DIR] COMMAND [ARGS]

Commands:
%s
Global flags:
  --run-dir DIR   xvrrpd's run directory (default /run/xvrrp/net-<namespace inode>)
  --json          the command's --json

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
	return runEnv(ctx, args, &env{stdout: stdout, stderr: stderr, now: time.Now})
}

func runEnv(ctx context.Context, args []string, e *env) int {
	err := dispatch(ctx, args, e)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "xvrrpctl: %s\n%s", ue.msg, ue.usage)
		return exitUsage
	case errors.Is(err, control.ErrNotRunning):
		fmt.Fprintf(e.stderr, "xvrrpctl: %v\n", err)
		return exitNotRunning
	default:
		fmt.Fprintf(e.stderr, "xvrrpctl: %v\n", err)
		return exitError
	}
}

// errHelp: help was asked for and printed.
var errHelp = errors.New("help")

func dispatch(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("xvrrpctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runDir := fs.String("run-dir", "", "")
	fs.BoolVar(&e.json, "json", false, "") // before the command: `xvrrpctl --json status`
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, mainUsageText())
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
				fmt.Fprint(e.stdout, c.usage)
				return nil
			}
		}
		fmt.Fprint(e.stdout, mainUsageText())
		return nil
	}
	c := lookup(name)
	if c == nil {
		return &usageError{fmt.Sprintf("unknown command %q", name), mainUsageText()}
	}
	dir := *runDir
	if dir == "" && !wantsHelp(rest) {
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

// wantsHelp reports a -h or --help among a command's arguments: its usage
// is printed even where the run directory cannot be found.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
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

// queryStatus asks the daemon for its status, bounded in time.
func queryStatus(ctx context.Context, e *env) (control.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*control.IOTimeout)
	defer cancel()
	st, err := control.QueryStatus(ctx, e.socket)
	return st, explain(err)
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

// parseName parses a command that takes flags and at most one name.
func parseName(e *env, c *command, fs *flag.FlagSet, args []string) (string, error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, c.usage)
			return "", errHelp
		}
		return "", &usageError{msg: err.Error()}
	}
	if fs.NArg() > 1 {
		return "", &usageError{msg: fmt.Sprintf("%s: one name at most: %s", c.name, strings.Join(fs.Args(), " "))}
	}
	return fs.Arg(0), nil
}

func runHandover(ctx context.Context, e *env, c *command, args []string) error {
	fs := flag.NewFlagSet("handover", flag.ContinueOnError)
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the backups to take over")
	name, err := parseName(e, c, fs, args)
	if err != nil {
		return err
	}
	if err := control.QueryMaintenance(ctx, e.socket, control.CmdHandover, name); err != nil {
		return explain(err)
	}
	// Wait for the resigning masters to be relieved (or to give up).
	deadline := time.Now().Add(*wait)
	var st control.Status
	for {
		if st, err = queryStatus(ctx, e); err != nil {
			return err
		}
		resigning := false
		for _, in := range st.Instances {
			resigning = resigning || in.Resigning
		}
		if !resigning || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	failed := 0
	for _, in := range st.Instances {
		switch {
		case in.Maintenance && in.State == "MASTER":
			fmt.Fprintf(e.stdout, "%s: still handing over (MASTER)\n", in.Name)
			failed++
		case in.Maintenance:
			fmt.Fprintf(e.stdout, "%s: %s, in maintenance; master %s\n", in.Name, in.State, dash(in.Master))
		case (name == "" || name == in.Name) && in.State == "MASTER":
			fmt.Fprintf(e.stdout, "%s: no backup took over: still MASTER, not in maintenance\n", in.Name)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("handover: %d instance(s) still MASTER", failed)
	}
	return nil
}

func runUpgrade(ctx context.Context, e *env, c *command, args []string) error {
	fs := flag.NewFlagSet("upgrade", flag.ContinueOnError)
	binary, err := parseName(e, c, fs, args)
	if err != nil {
		return err
	}
	if binary != "" && !filepath.IsAbs(binary) {
		// The daemon runs elsewhere: give it an absolute path.
		if binary, err = filepath.Abs(binary); err != nil {
			return err
		}
	}
	pid, err := control.QueryUpgrade(ctx, e.socket, binary)
	if err != nil {
		return explain(err)
	}
	_, err = fmt.Fprintf(e.stdout, "upgraded: xvrrpd pid %d runs the instances\n", pid)
	return err
}

func runResume(ctx context.Context, e *env, c *command, args []string) error {
	fs := flag.NewFlagSet("resume", flag.ContinueOnError)
	name, err := parseName(e, c, fs, args)
	if err != nil {
		return err
	}
	if err := control.QueryMaintenance(ctx, e.socket, control.CmdResume, name); err != nil {
		return explain(err)
	}
	_, err = fmt.Fprintln(e.stdout, "resumed")
	return err
}

// explain adds a hint to errors an operator can act on.
func explain(err error) error {
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("%w (the control socket is root's: run xvrrpctl as root)", err)
	}
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
