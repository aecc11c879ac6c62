package daemon

import (
	"context"
	"errors"
	"io"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// Reload applies cfg to the running daemon. (Being implemented.)
func (d *Daemon) Reload(ctx context.Context, cfg *config.Config) error {
	return errors.New("reload: not implemented yet")
}

// WriteData writes the data dump (keepalived's /tmp/keepalived.data).
func (d *Daemon) WriteData(w io.Writer) error { return errors.New("not implemented yet") }

// WriteStats writes the stats dump (keepalived's /tmp/keepalived.stats).
func (d *Daemon) WriteStats(w io.Writer) error { return errors.New("not implemented yet") }
