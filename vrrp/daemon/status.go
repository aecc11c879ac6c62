package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp"
)

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
}

// InstanceStatus is one instance in a Status.
type InstanceStatus struct {
	Name               string    `json:"name"`
	VRID               uint8     `json:"vrid"`
	Interface          string    `json:"interface"`
	Version            uint8     `json:"version"`
	State              string    `json:"state"`
	Priority           uint8     `json:"priority"`
	ConfiguredPriority uint8     `json:"configured_priority"`
	Source             string    `json:"source"`
	Master             string    `json:"master,omitempty"`
	HoldsVIPs          bool      `json:"holds_vips"`
	Since              time.Time `json:"since,omitzero"`
}

// snapshot copies the loop's view into the status readers see.
func (d *Daemon) snapshot() {
	s := Status{
		Dataplane:   d.dataplane,
		Received:    d.stats.received.Load(),
		Accepted:    d.stats.accepted.Load(),
		QueueFull:   d.stats.queueFull.Load(),
		AdvertsSent: d.stats.advertsSent.Load(),
		GarpBursts:  d.stats.garpBursts.Load(),
		Transitions: d.transitions.Load(),
		Drops:       map[string]uint64{},
	}
	for _, inst := range d.insts {
		s.Instances = append(s.Instances, inst.status)
	}
	d.statusMu.Lock()
	d.status = s
	d.statusMu.Unlock()
	d.dirty = false
}

// Status returns the latest snapshot, with current counters. Safe for
// concurrent use.
func (d *Daemon) Status() Status {
	d.statusMu.Lock()
	s := d.status
	d.statusMu.Unlock()
	s.Instances = append([]InstanceStatus(nil), s.Instances...)
	s.Received, s.Accepted = d.stats.received.Load(), d.stats.accepted.Load()
	s.QueueFull, s.AdvertsSent = d.stats.queueFull.Load(), d.stats.advertsSent.Load()
	s.GarpBursts = d.stats.garpBursts.Load()
	s.Drops = map[string]uint64{}
	for r := range vrrp.NumDropReasons {
		if n := d.stats.drops[r].Load(); n > 0 {
			s.Drops[vrrp.DropReason(r).String()] = n
		}
	}
	d.kernelStats(&s)
	return s
}

// ServeControl answers `status` requests on a unix socket at path until ctx
// ends. A stale socket file (a crashed run) is replaced.
func (d *Daemon) ServeControl(ctx context.Context, path string) error {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	defer os.Remove(path)
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("control socket %s: %w", path, err)
		}
		go d.serveConn(c)
	}
}

func (d *Daemon) serveConn(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	switch cmd := strings.TrimSpace(line); cmd {
	case "status":
		if err := json.NewEncoder(c).Encode(d.Status()); err != nil {
			d.log.Debug("control reply", zap.Error(err))
		}
	default:
		fmt.Fprintf(c, "{\"error\":%q}\n", "unknown command "+cmd)
	}
}
