package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/control"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

// Dump files written into the run directory on SIGUSR1 and SIGUSR2.
const (
	dataFile  = "xvrrpd.data"
	statsFile = "xvrrpd.stats"
)

// reloader re-reads the configuration file and hands a valid one to the
// daemon; SIGHUP and `xvrrpctl reload` both come here. Safe for concurrent
// use: reloads run one at a time.
type reloader struct {
	file     string
	configID string // -i: config.Options.ConfigID
	log      *zap.Logger
	stderr   io.Writer // config.Report output of a refused configuration
	// apply is Daemon.Reload: it counts and logs what it applies or refuses.
	apply func(ctx context.Context, cfg *config.Config) error

	mu sync.Mutex
	// refused counts configurations with errors, which never reach apply.
	refused atomic.Uint64
}

// reload loads the file. A configuration with errors is refused: every
// error is printed to stderr as at start and logged, and the running one
// stays untouched. A valid one gets the start-up checks (script security,
// unsupported keywords logged) and is applied. The returned error names
// every problem, for the control socket's reply.
func (r *reloader) reload(ctx context.Context, source string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	log := r.log.With(zap.String("file", r.file), zap.String("source", source))
	cfg, err := config.LoadWith(r.file, config.Options{ConfigID: r.configID})
	if err != nil {
		r.refused.Add(1)
		var b bytes.Buffer
		config.Report(&b, cfg, err)
		r.stderr.Write(b.Bytes())
		log.Error("reload refused: configuration has errors, the running one stays", zap.Error(err))
		return fmt.Errorf("%s: configuration has errors, the running one stays:\n%s", r.file, bytes.TrimSpace(b.Bytes()))
	}
	logChecks(log, cfg)
	if err := r.apply(ctx, cfg); err != nil {
		return fmt.Errorf("reload %s: %w", r.file, err)
	}
	return nil
}

// fill adds the reloads refused here to the daemon's count of those it
// refused.
func (r *reloader) fill(s *control.Status) {
	s.ReloadErrors += r.refused.Load()
}

// logChecks logs what start and reload check beyond errors: scripts that
// enable_script_security refuses or warns about, and every warning of the
// configuration, each with the message of its kind (warningLog).
func logChecks(log *zap.Logger, cfg *config.Config) {
	for _, e := range track.CheckScriptSecurity(cfg) {
		var se *track.SecurityError
		if errors.As(e, &se) && se.Disabled {
			log.Error("script refused", zap.Error(e))
		} else {
			log.Warn("script security", zap.Error(e))
		}
	}
	for _, w := range cfg.Warnings {
		lvl, msg := warningLog(w)
		fields := []zap.Field{zap.String("file", w.File), zap.Int("line", w.Line),
			zap.String("keyword", w.Keyword), zap.String("kind", string(w.Kind)), zap.String("detail", w.Message)}
		if w.Suggest != "" {
			fields = append(fields, zap.String("suggestion", w.Suggest))
		}
		if w.Behaviour {
			fields = append(fields, zap.Bool("behaviour_changing", true))
		}
		log.Log(lvl, msg, fields...)
	}
}

// warningLog returns the level and message a configuration warning is
// logged with, by its kind (config.Kind). Warn where the file does not
// run as written (or not as keepalived would run it), Info where nothing
// changes for VRRP.
func warningLog(w config.Warning) (zapcore.Level, string) {
	switch w.Kind {
	case config.KindUnknown:
		return zap.WarnLevel, "configuration keyword unknown to keepalived: ignored (a typo?)"
	case config.KindCorrected:
		return zap.WarnLevel, "configuration value corrected as keepalived does"
	case config.KindUnsupported:
		if w.Behaviour {
			return zap.WarnLevel, "configuration keyword not supported: ignored, keepalived would act on it"
		}
		return zap.WarnLevel, "configuration keyword not supported: ignored"
	case config.KindUnused:
		return zap.InfoLevel, "configuration keyword without effect on vrrp: accepted, unused"
	case config.KindScript:
		return zap.WarnLevel, "script line runs otherwise than it reads, as in keepalived"
	case config.KindNote, "":
		return zap.WarnLevel, "configuration line read as keepalived reads it, not as written"
	}
	return zap.WarnLevel, "configuration warning"
}

// controlHandler answers the control socket: the daemon's status with the
// reloader's counters, reloads through the reloader, and the daemon's
// state changes for watch.
type controlHandler struct {
	status func() control.Status
	r      *reloader
	// watch is Daemon.Watch; nil: watch is answered with an error.
	watch func(ctx context.Context) <-chan control.Event
	// handover and resume are Daemon.Handover and Daemon.Resume.
	handover, resume func(ctx context.Context, name string) error
	// upgrade answers xvrrpctl upgrade; nil: not available.
	upgrade *upgrader
}

// Upgrade implements control.Upgrader.
func (h controlHandler) Upgrade(ctx context.Context, binary string) (int, func(), error) {
	if h.upgrade == nil {
		return 0, nil, errors.New("upgrade is not available")
	}
	return h.upgrade.Upgrade(ctx, binary)
}

// Handover implements control.Maintainer.
func (h controlHandler) Handover(ctx context.Context, name string) error {
	if h.handover == nil {
		return errors.New("handover is not available")
	}
	return h.handover(ctx, name)
}

// Resume implements control.Maintainer.
func (h controlHandler) Resume(ctx context.Context, name string) error {
	if h.resume == nil {
		return errors.New("resume is not available")
	}
	return h.resume(ctx, name)
}

func (h controlHandler) Status() control.Status {
	s := h.status()
	h.r.fill(&s)
	return s
}

func (h controlHandler) Reload(ctx context.Context) error { return h.r.reload(ctx, "control socket") }

// Watch implements control.Watcher.
func (h controlHandler) Watch(ctx context.Context) <-chan control.Event {
	if h.watch == nil {
		return nil
	}
	return h.watch(ctx)
}

// writeDump writes a dump to dir/name through a temporary file renamed into
// place (mode 0600: a dump can hold authentication passwords), so a reader
// never sees half a dump.
func writeDump(dir, name string, write func(io.Writer) error) (path string, err error) {
	path = filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return path, fmt.Errorf("dump %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		return path, fmt.Errorf("dump %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return path, fmt.Errorf("dump %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return path, fmt.Errorf("dump %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return path, fmt.Errorf("dump %s: %w", path, err)
	}
	return path, nil
}

// dumper returns a signal handler that writes one dump and logs the result.
func dumper(log *zap.Logger, dir, name string, write func(io.Writer) error) func(context.Context) {
	return func(context.Context) {
		path, err := writeDump(dir, name, write)
		if err != nil {
			log.Error("dump", zap.Error(err))
			return
		}
		log.Info("dump written", zap.String("path", path))
	}
}
