package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

func runWatch(ctx context.Context, e *env, c *command, args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	asJSON := fs.Bool("json", e.json, "")
	if err := parseCommand(e, c, fs, args); err != nil {
		return err
	}
	write := func(ev control.Event) error { return writeEvent(e.stdout, ev) }
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		write = func(ev control.Event) error { return enc.Encode(ev) }
	}
	err := control.Watch(ctx, e.socket, write)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// Interrupted (SIGINT, SIGTERM): the normal end.
		return nil
	}
	return explain(err)
}

// eventTime is the time layout of a watch line: RFC 3339 with
// milliseconds, in the daemon's zone.
const eventTime = "2006-01-02T15:04:05.000Z07:00"

// writeEvent writes one watch line:
//
//	TIME INSTANCE vrid N FROM -> TO priority P [master ADDR]: REASON
func writeEvent(w io.Writer, ev control.Event) error {
	master := ""
	if ev.Master != "" {
		master = " master " + ev.Master
	}
	_, err := fmt.Fprintf(w, "%s %s vrid %d %s -> %s priority %d%s: %s\n", ev.Time.Format(eventTime),
		ev.Instance, ev.VRID, ev.From, ev.To, ev.Priority, master, dash(ev.Reason))
	return err
}
