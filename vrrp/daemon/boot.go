package daemon

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// Boot delays: keepalived's vrrp_startup_delay (counted from the start of
// the daemon) and vrrp_delay_after_boot (keepalived 2.4, counted from the
// boot of the system) keep every instance from becoming master until the
// network has settled. The router does the work (vrrp.Startup.NotBefore:
// no advert read, no Master, no gratuitous burst and so no notify_master
// before it); the daemon computes the end once, when it starts, and gives
// it to every Startup, those of instances a reload adds included.

// bootDelay returns how long from now no instance may become master: the
// longer of g.StartupDelay and what is left of g.DelayAfterBoot after the
// system's uptime (nothing once it has been up that long). When the uptime
// cannot be read, DelayAfterBoot is left out and the error returned, as
// keepalived ignores the keyword then.
func bootDelay(g *config.Global, uptime func() (time.Duration, error)) (time.Duration, error) {
	delay := g.StartupDelay
	if g.DelayAfterBoot <= 0 {
		return delay, nil
	}
	up, err := uptime()
	if err != nil {
		return delay, fmt.Errorf("vrrp_delay_after_boot: system uptime: %w", err)
	}
	return max(delay, g.DelayAfterBoot-up), nil
}

// systemUptime is the time since the system booted, suspend included:
// CLOCK_BOOTTIME, the clock of /proc/uptime (both follow the time
// namespace).
func systemUptime() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}

// bootDelayEnd returns when the boot delay of a daemon starting at now
// ends, or the zero time when there is none, and logs it.
func (d *Daemon) bootDelayEnd(now time.Time) time.Time {
	delay, err := bootDelay(&d.cfg.Global, systemUptime)
	if err != nil {
		d.log.Warn("boot delay after system start ignored", zap.Error(err))
	}
	if delay <= 0 {
		return time.Time{}
	}
	d.log.Info("startup delayed: no instance becomes master before the delay ends",
		zap.Duration("delay", delay), zap.Duration("vrrp_startup_delay", d.cfg.Global.StartupDelay),
		zap.Duration("vrrp_delay_after_boot", d.cfg.Global.DelayAfterBoot))
	return now.Add(delay)
}
