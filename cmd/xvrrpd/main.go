// Command xvrrpd is a VRRP daemon that reads keepalived.conf.
//
//	xvrrpd [-f FILE] [-t [--json]] [--log-level L] [--log-format json|console]
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
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

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
	json      bool // -t --json
	logLevel  string
	logFormat string
	dataplane string
	runDir    string
	// metricsAddr is --metrics-addr (metrics.go): empty is off.
	metricsAddr string
	// configID is -i/--config-id, keepalived's: which "@ID" lines of the
	// configuration are read. Empty: the host name up to its first dot.
	configID string
	// upgradeFD is set in a process started by `xvrrpctl upgrade`
	// (upgrade.go): the handshake socket; the lock is the next fd.
	upgradeFD int
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("xvrrpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.file, "f", defaultConfig, "keepalived.conf to read")
	fs.StringVar(&o.file, "use-file", defaultConfig, "same as -f")
	fs.BoolVar(&o.test, "t", false, "check the configuration, print every error and warning, and exit")
	fs.BoolVar(&o.test, "config-test", false, "same as -t")
	fs.StringVar(&o.configID, "i", "", "keepalived's configuration `ID`: lines \"@ID ...\" are read only when ID is it, \"@^ID ...\" only when it is not, and ${_INSTANCE} is it (default: the host name up to its first dot)")
	fs.StringVar(&o.configID, "config-id", "", "same as -i")
	fs.BoolVar(&o.json, "json", false, "with -t: print the verdict as one JSON object (schema in docs/MIGRATING.md)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "console", "json or console")
	fs.StringVar(&o.dataplane, "dataplane", "auto", "where adverts are received: auto (bpf if it can run, else socket), xdp, tc or socket")
	fs.StringVar(&o.runDir, "run-dir", "", "directory for the pid file, control socket and dumps (default /run/xvrrp/<network namespace>)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on HOST:PORT at /metrics (default off)")
	fs.IntVar(&o.upgradeFD, upgradeFlag, 0, "internal: set by a running xvrrpd for the process that replaces it (xvrrpctl upgrade)")
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
	var child *upgradeChild
	if o.upgradeFD > 0 {
		if child, err = openUpgradeChild(o.upgradeFD); err != nil {
			return err
		}
	}
	cfg, cerr := config.LoadWith(o.file, config.Options{ConfigID: o.configID})
	if o.test {
		return configTest(stdout, o.file, cfg, cerr, interfaceExists, o.json)
	}
	tuneRuntime(os.Getenv) // runtime.go
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
		if child != nil {
			child.fail(fmt.Errorf("configuration %s has errors: %w", o.file, cerr))
		}
		return errReported
	}
	// failStart logs why the daemon does not start, and tells the running
	// daemon when this process was to replace it.
	failStart := func(err error) error {
		log.Error("start", zap.Error(err))
		if child != nil {
			child.fail(err)
		}
		return errReported
	}
	logChecks(log, cfg)

	// One daemon per network namespace, checked before anything is touched.
	nsID, err := control.NetnsID()
	if err != nil {
		return err
	}
	var lock *nsLock
	if child != nil {
		lock, err = inheritLock(lockPath(control.BaseDir, nsID), child.lock)
	} else {
		lock, err = acquireLock(lockPath(control.BaseDir, nsID))
	}
	if err != nil {
		return failStart(err)
	}
	// handedTo is the PID this daemon handed its instances to (upgrade):
	// then the lock, pid file and control socket are the new process's.
	var handedTo func() int = func() int { return 0 }
	defer func() {
		if handedTo() == 0 {
			lock.Release()
		} else {
			lock.f.Close()
		}
	}()

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
	if child == nil {
		// A new process of an upgrade writes it once it has taken over.
		if err := writePidFile(pidFile); err != nil {
			return err
		}
	}
	defer func() {
		if handedTo() == 0 {
			os.Remove(pidFile)
		}
	}()

	var mx *metricsServer
	var mxMu sync.Mutex
	if child == nil {
		if mx, err = listenMetrics(o.metricsAddr, log.Named("metrics")); err != nil {
			return failStart(err)
		}
	}
	defer func() {
		mxMu.Lock()
		defer mxMu.Unlock()
		mx.close()
	}()

	d, err := daemon.New(cfg, daemon.Options{Log: log.Named("daemon"), Dataplane: o.dataplane, ID: nsID, ConfigFile: o.file, Upgrade: child != nil})
	if err != nil {
		return failStart(err)
	}
	mx.serve(d.Status, d.Watch)
	// takenOver is closed once this daemon runs the instances alone: at
	// once, or in an upgrade once the old process has gone.
	takenOver := make(chan struct{})
	if child == nil {
		close(takenOver)
	} else {
		h, err := child.handoff()
		if err == nil {
			err = d.Adopt(h)
		}
		if err != nil {
			return failStart(fmt.Errorf("upgrade: %w", err))
		}
		go func() {
			<-d.Ready()
			if err := child.running(); err != nil {
				log.Error("upgrade: tell the old process", zap.Error(err))
			}
			if err := writePid(pidFile, true); err != nil {
				log.Warn("upgrade: pid file", zap.Error(err))
			}
			if err := lock.writePid(); err != nil {
				log.Warn("upgrade: lock file", zap.Error(err))
			}
			if err := d.Pin(); err != nil {
				log.Warn("upgrade: pin the bpf maps", zap.Error(err))
			}
			log.Info("upgrade: took over", zap.Int("pid", os.Getpid()))
			close(takenOver)
			if o.metricsAddr == "" {
				return
			}
			// The old process's listener goes with it.
			for i := 0; ; i++ {
				m, err := listenMetrics(o.metricsAddr, log.Named("metrics"))
				if err == nil {
					mxMu.Lock()
					mx = m
					mx.serve(d.Status, d.Watch)
					mxMu.Unlock()
					return
				}
				if i == 50 {
					log.Error("upgrade: metrics address still busy: metrics not served", zap.Error(err))
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	r := &reloader{file: o.file, configID: o.configID, log: log.Named("reload"), stderr: stderr, apply: d.Reload}
	// systemd's Type=notify: READY=1, reloads, STOPPING=1 (sdnotify.go).
	sd := newNotifier(log.Named("systemd"), d.Status)
	if child != nil {
		// systemd has the service running already: READY=1 would come
		// from a PID it does not supervise yet (the old one sends
		// MAINPID=).
		sd.ready = true
	}
	up := newUpgrader(log.Named("upgrade"), args, lock.f, d.Freeze, sd.handedOver)
	handedTo = up.handedTo

	// The control socket outlives Run: it answers while masters resign.
	ctlCtx, ctlStop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-takenOver:
		case <-ctlCtx.Done():
			return
		}
		h := controlHandler{status: d.Status, r: r, watch: d.Watch, handover: d.Handover, resume: d.Resume, upgrade: up}
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
	wg.Go(func() { releaseStartupMemory(runCtx, d.Ready()) })

	log.Info("xvrrpd started", zap.String("file", o.file), zap.Int("instances", len(cfg.Instances)),
		zap.String("run_dir", runDir), zap.Int("pid", os.Getpid()))
	err = d.Run(runCtx)
	if pid := handedTo(); pid != 0 {
		// The reply to xvrrpctl and MAINPID= are on their way.
		select {
		case <-up.closed:
		case <-time.After(2 * time.Second):
		}
		stop()
		ctlStop()
		wg.Wait()
		log.Info("xvrrpd handed over: the new process runs the instances", zap.Int("new_pid", pid))
		return nil
	}
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

// configTest is `xvrrpd -t`: the verdict of package config (errors,
// keywords keepalived does not know, values it corrects, keywords xvrrpd
// ignores), the script-security verdicts, and a warning for each interface
// the configuration names that does not exist in this network namespace
// (the daemon would start and keep those instances in FAULT until it
// appears). It prints the verdict as text, or as JSON with asJSON, and
// returns errReported when -t fails: on an error, and on every problem
// keepalived -t fails on too (config.SevError).
func configTest(stdout io.Writer, file string, cfg *config.Config, cerr error, exists func(string) bool, asJSON bool) error {
	v := config.NewVerdict(file, cfg, cerr)
	if cfg != nil {
		for _, f := range scriptFindings(cfg) {
			v.Add(f)
		}
		for _, f := range missingInterfaces(cfg, exists) {
			v.Add(f)
		}
	}
	var err error
	if asJSON {
		err = v.WriteJSON(stdout)
	} else {
		err = v.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if !v.OK {
		return errReported
	}
	return nil
}

// scriptFindings turns track.CheckScriptSecurity's verdicts into findings.
// A script refused (and removed, as keepalived does) fails -t, and so
// does running scripts without enable_script_security: keepalived -t exits
// 6 ("SECURITY VIOLATION") there; an insecure script that still runs is a
// warning beside it. A notify script that does not exist is a warning:
// keepalived -t does not report it (and the scripts are often installed
// after the configuration is checked).
func scriptFindings(cfg *config.Config) []config.Finding {
	var out []config.Finding
	for _, e := range track.CheckScriptSecurity(cfg) {
		f := config.Finding{Severity: config.SevWarning, Kind: config.KindScript, Message: e.Error()}
		var se *track.SecurityError
		if errors.As(e, &se) {
			f.Keyword = se.Where
			missing := errors.Is(se.Err, fs.ErrNotExist) || errors.Is(se.Err, exec.ErrNotFound)
			notify := !strings.HasPrefix(se.Where, "vrrp_script ") && se.Where != "global_defs"
			if se.Disabled && !(missing && notify) || se.Where == "global_defs" {
				f.Severity = config.SevError
			}
			name, isScript := strings.CutPrefix(se.Where, "vrrp_script ")
			if s := cfg.Script(name); isScript && s != nil {
				f.File, f.Line = s.File, s.Line
				if se.Disabled {
					out = append(out, f)
					f = config.Finding{}
					// keepalived: "track script chk not found, ignoring...".
					for _, r := range scriptRefs(cfg, name) {
						out = append(out, config.Finding{File: r.pos.File, Line: r.pos.Line, Severity: config.SevError, Kind: config.KindScript,
							Keyword: name, Message: fmt.Sprintf("%s: vrrp_script %s is disabled: this tracking is ignored, as keepalived does: it runs without this health check", r.owner, name)})
					}
				}
			}
		}
		if f.Message != "" {
			out = append(out, f)
		}
	}
	return out
}

// scriptRef is a track_script line naming a vrrp_script.
type scriptRef struct {
	owner string
	pos   config.Pos
}

// scriptRefs returns the track_script lines of instances and sync groups
// that name the vrrp_script name.
func scriptRefs(cfg *config.Config, name string) []scriptRef {
	var out []scriptRef
	for _, in := range cfg.Instances {
		for _, r := range in.TrackScripts {
			if r.Name == name {
				out = append(out, scriptRef{"vrrp_instance " + in.Name, r.Pos})
			}
		}
	}
	for _, g := range cfg.SyncGroups {
		for _, r := range g.TrackScripts {
			if r.Name == name {
				out = append(out, scriptRef{"vrrp_sync_group " + g.Name, r.Pos})
			}
		}
	}
	return out
}

// missingInterfaces names, once per instance and interface, each instance
// interface, VIP dev and track_interface of cfg that exists returns false
// for, with the line that names it: a warning (keepalived -t reports it
// too, but a configuration is often checked on another machine).
func missingInterfaces(cfg *config.Config, exists func(string) bool) []config.Finding {
	if cfg == nil {
		return nil
	}
	var out []config.Finding
	for _, in := range cfg.Instances {
		seen := map[string]bool{}
		check := func(pos config.Pos, name, what string) {
			if name == "" || seen[name] {
				return
			}
			seen[name] = true
			if !exists(name) {
				out = append(out, config.Finding{File: pos.File, Line: pos.Line, Severity: config.SevWarning, Kind: config.KindInterface,
					Keyword: what, Message: fmt.Sprintf("vrrp_instance %s: %s %s does not exist in this network namespace: the instance waits in FAULT until it appears",
						in.Name, what, name)})
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
	return writePid(path, false)
}

// writePid writes the pid file; replace: over a running daemon's pid (the
// process an upgrade replaced).
func writePid(path string, replace bool) error {
	if b, err := os.ReadFile(path); err == nil && !replace {
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
