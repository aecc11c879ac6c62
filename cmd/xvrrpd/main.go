// Command xvrrpd is a VRRP daemon that reads keepalived.conf.
//
//	xvrrpd [-f FILE] [-t] [--log-level L] [--log-format json|console]
//	       [--dataplane auto|xdp|tc|socket] [--run-dir DIR] [--metrics-addr HOST:PORT]
//
// It runs in the foreground and logs to stderr, one per network namespace
// (an exclusive lock on /run/xvrrp/net-<inode>.lock, holding its pid).
// SIGHUP reloads the configuration; SIGUSR1 and SIGUSR2 write the data and
// stats dumps into the run directory; SIGTERM, SIGINT and every other
// signal that would terminate it (signals.go lists them) stop it the clean
// way: masters resign with a priority-0 advert and remove their VIPs.
// The control socket in the run directory answers xvrrpctl (package
// control).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/control"
	"github.com/xvrrp/xvrrp/vrrp/daemon"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

const defaultConfig = "/etc/keepalived/keepalived.conf"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "xvrrpd:", err)
		}
		os.Exit(1)
	}
}

// errReported is returned when the error was already printed.
var errReported = errors.New("reported")

type options struct {
	file      string
	test      bool
	logLevel  string
	logFormat string
	dataplane string
	runDir    string
	// metricsAddr is --metrics-addr (metrics.go): empty is off.
	metricsAddr string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("xvrrpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.file, "f", defaultConfig, "keepalived.conf to read")
	fs.StringVar(&o.file, "use-file", defaultConfig, "same as -f")
	fs.BoolVar(&o.test, "t", false, "check the configuration, print every error and warning, and exit")
	fs.BoolVar(&o.test, "config-test", false, "same as -t")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "console", "json or console")
	fs.StringVar(&o.dataplane, "dataplane", "auto", "where adverts are received: auto (bpf if it can run, else socket), xdp, tc or socket")
	fs.StringVar(&o.runDir, "run-dir", "", "directory for the pid file, control socket and dumps (default /run/xvrrp/<network namespace>)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on HOST:PORT at /metrics (default off)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch o.dataplane {
	case daemon.DataplaneAuto, daemon.DataplaneXDP, daemon.DataplaneTC, daemon.DataplaneSocket:
	default:
		return nil, fmt.Errorf("--dataplane %q: want auto, xdp, tc or socket", o.dataplane)
	}
	switch o.logFormat {
	case "json", "console":
	default:
		return nil, fmt.Errorf("--log-format %q: want json or console", o.logFormat)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg, cerr := config.Load(o.file)
	if o.test {
		return configTest(stdout, cfg, cerr, interfaceExists)
	}
	// Reloads re-read the same file whatever the working directory.
	if abs, err := filepath.Abs(o.file); err == nil {
		o.file = abs
	}

	log, err := newLogger(o.logLevel, o.logFormat, stderr)
	if err != nil {
		return err
	}
	defer log.Sync()
	if cerr != nil {
		config.Report(stderr, cfg, cerr)
		log.Error("configuration has errors: not starting", zap.String("file", o.file))
		return errReported
	}
	logChecks(log, cfg)

	// One daemon per network namespace, checked before anything is touched.
	nsID, err := control.NetnsID()
	if err != nil {
		return err
	}
	lock, err := acquireLock(lockPath(control.BaseDir, nsID))
	if err != nil {
		log.Error("start", zap.Error(err))
		return errReported
	}
	defer lock.Release()

	// Subscribed before the daemon exists: a stop signal during start-up
	// stops it once it runs, instead of killing it half-built.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, notifiedSignals()...)
	defer signal.Stop(sigs)
	if err := ignoreReservedSignals(); err != nil {
		log.Warn("signals", zap.Error(err))
	}

	runDir := o.runDir
	if runDir == "" {
		runDir = filepath.Join(control.BaseDir, nsID)
		// Per-namespace directory of ours: removed on exit when empty.
		defer os.Remove(runDir)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	pidFile := filepath.Join(runDir, "xvrrpd.pid")
	if err := writePidFile(pidFile); err != nil {
		return err
	}
	defer os.Remove(pidFile)

	mx, err := listenMetrics(o.metricsAddr, log.Named("metrics"))
	if err != nil {
		log.Error("start", zap.Error(err))
		return errReported
	}
	defer mx.close()

	d, err := daemon.New(cfg, daemon.Options{Log: log.Named("daemon"), Dataplane: o.dataplane, ID: nsID, ConfigFile: o.file})
	if err != nil {
		log.Error("start", zap.Error(err))
		return errReported
	}
	mx.serve(d.Status, d.Watch)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	r := &reloader{file: o.file, log: log.Named("reload"), stderr: stderr, apply: d.Reload}
	// systemd's Type=notify: READY=1, reloads, STOPPING=1 (sdnotify.go).
	sd := newNotifier(log.Named("systemd"), d.Status)

	// The control socket outlives Run: it answers while masters resign.
	ctlCtx, ctlStop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		h := controlHandler{status: d.Status, r: r, watch: d.Watch, handover: d.Handover, resume: d.Resume}
		if err := control.Serve(ctlCtx, control.SocketPath(runDir), notifyReloads(h, sd), log.Named("control")); err != nil {
			log.Warn("control socket", zap.Error(err))
		}
	})
	wg.Go(func() {
		signalLoop(runCtx, sigs, signalHandlers{
			stop:   func(os.Signal) { stop() },
			reload: func(ctx context.Context) { sd.reload(func() error { return r.reload(ctx, "SIGHUP") }) },
			data:   dumper(log, runDir, dataFile, d.WriteData),
			stats:  dumper(log, runDir, statsFile, d.WriteStats),
		}, log)
	})
	wg.Go(func() { sd.run(runCtx, d.Ready(), d.Watch(runCtx)) })

	log.Info("xvrrpd started", zap.String("file", o.file), zap.Int("instances", len(cfg.Instances)),
		zap.String("run_dir", runDir), zap.Int("pid", os.Getpid()))
	err = d.Run(runCtx)
	stop()
	ctlStop()
	wg.Wait()
	if err != nil {
		log.Error("stopped", zap.Error(err))
		return errReported
	}
	log.Info("xvrrpd stopped")
	return nil
}

// configTest is `xvrrpd -t`: every configuration error and warning, the
// script-security verdicts, then a warning for each interface the
// configuration names that does not exist in this network namespace (the
// daemon would start and keep those instances in FAULT until it appears,
// as keepalived does).
func configTest(stdout io.Writer, cfg *config.Config, cerr error, exists func(string) bool) error {
	if err := config.Report(stdout, cfg, cerr); err != nil {
		return err
	}
	refused := 0
	for _, e := range track.CheckScriptSecurity(cfg) {
		var se *track.SecurityError
		if errors.As(e, &se) && se.Disabled {
			refused++
			fmt.Fprintf(stdout, "error: %v\n", e)
		} else {
			fmt.Fprintf(stdout, "warning: %v\n", e)
		}
	}
	for _, w := range missingInterfaces(cfg, exists) {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	if refused > 0 {
		fmt.Fprintf(stdout, "configuration invalid: %d script(s) refused by enable_script_security\n", refused)
	}
	if cerr != nil || refused > 0 {
		return errReported
	}
	return nil
}

// missingInterfaces names, once per instance and interface, each instance
// interface, VIP dev and track_interface of cfg that exists returns false
// for, with the line that names it.
func missingInterfaces(cfg *config.Config, exists func(string) bool) []string {
	if cfg == nil {
		return nil
	}
	var out []string
	for _, in := range cfg.Instances {
		seen := map[string]bool{}
		check := func(pos config.Pos, name, what string) {
			if name == "" || seen[name] {
				return
			}
			seen[name] = true
			if !exists(name) {
				out = append(out, fmt.Sprintf("%s:%d: vrrp_instance %s: %s %s does not exist in this network namespace: the instance waits in FAULT until it appears",
					pos.File, pos.Line, in.Name, what, name))
			}
		}
		check(in.Pos, in.Interface, "interface")
		for _, vs := range [][]config.VIP{in.VIPs, in.ExcludedVIPs} {
			for _, v := range vs {
				check(v.Pos, v.Dev, "VIP dev")
			}
		}
		for _, ti := range in.TrackInterfaces {
			check(ti.Pos, ti.Name, "track_interface")
		}
	}
	return out
}

// interfaceExists tells whether a network interface of that name exists
// in this network namespace.
func interfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

func newLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if format == "json" {
		enc = zapcore.NewJSONEncoder(ec)
	} else {
		ec.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), lvl)), nil
}

// writePidFile refuses to start when the pid file names a live process.
func writePidFile(path string) error {
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid != os.Getpid() {
			if syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("pid file %s: xvrrpd already running as pid %d", path, pid)
			}
		}
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}
