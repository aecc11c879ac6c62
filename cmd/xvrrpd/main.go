// Command xvrrpd is a VRRP daemon that reads keepalived.conf.
//
//	xvrrpd [-f FILE] [-t] [--log-level L] [--log-format json|console]
//	       [--dataplane auto|socket] [--run-dir DIR]
//
// It runs in the foreground and logs to stderr. SIGTERM or SIGINT stops it:
// masters resign with a priority-0 advert and remove their VIPs.
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
	"strconv"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/daemon"
	"github.com/xvrrp/xvrrp/vrrp/track"
)

const defaultConfig = "/etc/keepalived/keepalived.conf"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
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
	fs.StringVar(&o.runDir, "run-dir", "", "directory for the pid file and control socket (default /run/xvrrp/<network namespace>)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
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
		if refused > 0 {
			fmt.Fprintf(stdout, "configuration invalid: %d script(s) refused by enable_script_security\n", refused)
		}
		if cerr != nil || refused > 0 {
			return errReported
		}
		return nil
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
	for _, e := range track.CheckScriptSecurity(cfg) {
		var se *track.SecurityError
		if errors.As(e, &se) && se.Disabled {
			log.Error("script refused", zap.Error(e))
		} else {
			log.Warn("script security", zap.Error(e))
		}
	}
	for _, w := range cfg.Warnings {
		log.Warn("configuration keyword not supported", zap.String("file", w.File), zap.Int("line", w.Line),
			zap.String("keyword", w.Keyword), zap.String("detail", w.Message))
	}

	runDir := o.runDir
	if runDir == "" {
		runDir, err = defaultRunDir()
		if err != nil {
			return err
		}
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

	nsID, err := netnsID()
	if err != nil {
		return err
	}
	d, err := daemon.New(cfg, daemon.Options{Log: log.Named("daemon"), Dataplane: o.dataplane, ID: nsID})
	if err != nil {
		log.Error("start", zap.Error(err))
		return errReported
	}
	ctlCtx, ctlStop := context.WithCancel(context.Background())
	ctlDone := make(chan error, 1)
	go func() { ctlDone <- d.ServeControl(ctlCtx, filepath.Join(runDir, "xvrrpd.sock")) }()

	log.Info("xvrrpd started", zap.String("file", o.file), zap.Int("instances", len(cfg.Instances)),
		zap.String("run_dir", runDir), zap.Int("pid", os.Getpid()))
	err = d.Run(ctx)
	ctlStop()
	if cerr := <-ctlDone; cerr != nil {
		log.Warn("control socket", zap.Error(cerr))
	}
	if err != nil {
		log.Error("stopped", zap.Error(err))
		return errReported
	}
	log.Info("xvrrpd stopped")
	return nil
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

// defaultRunDir is /run/xvrrp/<network namespace inode>, so that daemons in
// different namespaces of one host never share a pid file or socket.
func defaultRunDir() (string, error) {
	ns, err := netnsID()
	if err != nil {
		return "", err
	}
	return filepath.Join("/run/xvrrp", ns), nil
}

// netnsID names this process's network namespace ("net-4026531840"): the
// default run directory and the BPF pin directory are per namespace.
func netnsID() (string, error) {
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return "", fmt.Errorf("network namespace: %w", err)
	}
	return strings.NewReplacer("[", "", "]", "", ":", "-").Replace(ns), nil
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
