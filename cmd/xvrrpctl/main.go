// Command xvrrpctl queries a running xvrrpd through its control socket.
//
//	xvrrpctl [--run-dir DIR] status [--json]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xvrrp/xvrrp/vrrp/daemon"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "xvrrpctl:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xvrrpctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runDir := fs.String("run-dir", "", "xvrrpd's run directory (default /run/xvrrp/<network namespace>)")
	asJSON := fs.Bool("json", false, "print the raw JSON status")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	rest := fs.Args()
	if len(rest) > 0 && rest[len(rest)-1] == "--json" {
		*asJSON, rest = true, rest[:len(rest)-1]
	}
	if len(rest) != 1 || rest[0] != "status" {
		return fmt.Errorf("usage: xvrrpctl [--run-dir DIR] [--json] status")
	}
	dir := *runDir
	if dir == "" {
		ns, err := os.Readlink("/proc/self/ns/net")
		if err != nil {
			return fmt.Errorf("network namespace: %w", err)
		}
		dir = filepath.Join("/run/xvrrp", strings.NewReplacer("[", "", "]", "", ":", "-").Replace(ns))
	}
	raw, err := query(ctx, filepath.Join(dir, "xvrrpd.sock"), "status")
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(raw)
		return err
	}
	var st daemon.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("decode status: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tVRID\tIFACE\tSTATE\tPRIO\tMASTER\tVIPS")
	for _, in := range st.Instances {
		vips := "-"
		if in.HoldsVIPs {
			vips = "held"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d/%d\t%s\t%s\n", in.Name, in.VRID, in.Interface, in.State,
			in.Priority, in.ConfiguredPriority, in.Master, vips)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "dataplane %s: received %d, accepted %d, sent %d, transitions %d, drops %v\n",
		st.Dataplane, st.Received, st.Accepted, st.AdvertsSent, st.Transitions, st.Drops)
	return nil
}

func query(ctx context.Context, path, cmd string) ([]byte, error) {
	var dialer net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := dialer.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to xvrrpd: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(c, cmd); err != nil {
		return nil, fmt.Errorf("send %s: %w", cmd, err)
	}
	return bufio.NewReader(c).ReadBytes('\n')
}
