package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	systemd "github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

// notifier tells systemd where xvrrpd is (sd_notify(3), for a unit with
// Type=notify; dist/xvrrpd.service):
//
//	READY=1 and STATUS=<summary>           once every instance has started (Daemon.Ready)
//	STATUS=<summary>                       after a state transition that changes it
//	RELOADING=1, MONOTONIC_USEC=, STATUS=  when a reload starts (SIGHUP or xvrrpctl reload)
//	READY=1 and STATUS=<summary>           when it is applied or refused
//	STOPPING=1 and STATUS=stopping         when the shutdown starts (masters resign)
//
// Each line group is one datagram. A reload that starts before READY=1
// sends nothing (systemd still waits for the start). MONOTONIC_USEC is what
// systemd ≥ 253 wants with RELOADING=1 for Type=notify-reload; with
// Type=notify it is ignored.
//
// Without NOTIFY_SOCKET in the environment (not started by systemd) every
// method does nothing. A send that fails is logged at warn once; systemd
// then treats the start as timed out, which is its own report. Safe for
// concurrent use.
type notifier struct {
	log    *zap.Logger
	status func() control.Status
	// send is sd_notify: daemon.SdNotify; monotonic returns
	// "MONOTONIC_USEC=N" (CLOCK_MONOTONIC, µs). Replaced in tests.
	send      func(state string) (bool, error)
	monotonic func() string

	mu      sync.Mutex
	ready   bool   // READY=1 sent (or, in an upgraded process, not to be sent)
	stopped bool   // STOPPING=1 sent
	last    string // the last STATUS= sent
	warned  bool
}

// newNotifier returns a notifier that reads the summary from status.
func newNotifier(log *zap.Logger, status func() control.Status) *notifier {
	return &notifier{
		log:       log,
		status:    status,
		send:      func(state string) (bool, error) { return systemd.SdNotify(false, state) },
		monotonic: func() string { return strings.TrimSpace(systemd.SdNotifyMonotonicUsec()) },
	}
}

// notify sends the lines as one datagram. Call with n.mu held.
func (n *notifier) notify(lines ...string) {
	for _, l := range lines {
		if st, ok := strings.CutPrefix(l, "STATUS="); ok {
			n.last = st
		}
	}
	sent, err := n.send(strings.Join(lines, "\n"))
	if err != nil && !n.warned {
		n.warned = true
		n.log.Warn("sd_notify", zap.Error(err))
	}
	if sent {
		n.log.Debug("sd_notify", zap.Strings("state", lines))
	}
}

// run sends READY=1 once ready is closed, then a STATUS= line for each
// state change from events, and STOPPING=1 when ctx ends (the daemon's
// run context: masters resign after it). It returns then.
func (n *notifier) run(ctx context.Context, ready <-chan struct{}, events <-chan control.Event) {
	select {
	case <-ready:
		n.mu.Lock()
		if !n.stopped && !n.ready {
			n.ready = true
			n.notify(systemd.SdNotifyReady, "STATUS="+n.summary())
		}
		n.mu.Unlock()
	case <-ctx.Done():
		n.stopping()
		return
	}
	for {
		select {
		case <-ctx.Done():
			n.stopping()
			return
		case _, ok := <-events:
			if !ok {
				events = nil // Watch closed its channel: wait for ctx alone
				continue
			}
			n.mu.Lock()
			if st := n.summary(); !n.stopped && st != n.last {
				n.notify("STATUS=" + st)
			}
			n.mu.Unlock()
		}
	}
}

// stopping sends STOPPING=1 once.
func (n *notifier) stopping() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return
	}
	n.stopped = true
	n.notify(systemd.SdNotifyStopping, "STATUS=stopping: masters resign and remove their VIPs")
}

// handedOver tells systemd that pid is the service's main process now
// (an upgrade): nothing more is sent from this one.
func (n *notifier) handedOver(pid int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopped = true
	n.notify(fmt.Sprintf("MAINPID=%d", pid), fmt.Sprintf("STATUS=upgraded: pid %d runs the instances", pid))
}

// reload runs fn, a whole reload, between RELOADING=1 and READY=1; the
// STATUS= line after it says whether it was refused. fn's error is
// returned as is.
func (n *notifier) reload(fn func() error) error {
	n.mu.Lock()
	notify := n.ready && !n.stopped
	if notify {
		lines := []string{systemd.SdNotifyReloading}
		if m := n.monotonic(); m != "" {
			lines = append(lines, m)
		}
		n.notify(append(lines, "STATUS=reloading the configuration")...)
	}
	n.mu.Unlock()

	err := fn()

	n.mu.Lock()
	defer n.mu.Unlock()
	if notify && !n.stopped {
		status := n.summary()
		if err != nil {
			status = "reload refused, the running configuration stays; " + status
		}
		n.notify(systemd.SdNotifyReady, "STATUS="+status)
	}
	return err
}

// summary is the one-line STATUS=: instances by state and the dataplane,
// as `systemctl status` shows it.
func (n *notifier) summary() string {
	return statusSummary(n.status())
}

// statusSummary is "3 instances: 1 MASTER, 2 BACKUP; dataplane xdp".
func statusSummary(s control.Status) string {
	counts := map[string]int{}
	var order []string
	for _, in := range s.Instances {
		if counts[in.State] == 0 {
			order = append(order, in.State)
		}
		counts[in.State]++
	}
	// Fixed order for the states everyone knows, then any other.
	var parts []string
	for _, st := range []string{"MASTER", "BACKUP", "FAULT", "INIT"} {
		if c := counts[st]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, st))
			delete(counts, st)
		}
	}
	for _, st := range order {
		if c, ok := counts[st]; ok {
			parts = append(parts, fmt.Sprintf("%d %s", c, st))
		}
	}
	noun := "instances"
	if len(s.Instances) == 1 {
		noun = "instance"
	}
	out := fmt.Sprintf("%d %s", len(s.Instances), noun)
	if len(parts) > 0 {
		out += ": " + strings.Join(parts, ", ")
	}
	if s.Dataplane != "" {
		out += "; dataplane " + s.Dataplane
	}
	return out
}

// reloadNotifier is the control socket's handler with its reloads
// wrapped in RELOADING=1 / READY=1, like those of SIGHUP. Embedding keeps
// every other method of the handler.
type reloadNotifier struct {
	controlHandler
	n *notifier
}

// notifyReloads wraps h's Reload with n.
func notifyReloads(h controlHandler, n *notifier) reloadNotifier {
	return reloadNotifier{controlHandler: h, n: n}
}

func (h reloadNotifier) Reload(ctx context.Context) error {
	return h.n.reload(func() error { return h.controlHandler.Reload(ctx) })
}
