package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xvrrp/xvrrp/vrrp/config"
	"github.com/xvrrp/xvrrp/vrrp/control"
)

func mustLoad(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return cfg
}

const validConfig = "vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 51\n  priority 150\n}\n"

// TestReload: a valid file reaches the daemon; one with errors does not,
// is reported with every error, and is counted.
func TestReload(t *testing.T) {
	path := writeConfig(t, validConfig)
	var applied []*config.Config
	var applyErr error
	var stderr bytes.Buffer
	r := &reloader{file: path, log: zaptest.NewLogger(t), stderr: &stderr,
		apply: func(_ context.Context, cfg *config.Config) error {
			applied = append(applied, cfg)
			return applyErr
		}}
	h := controlHandler{status: func() control.Status {
		return control.Status{ConfigFile: path, Reloads: 4, ReloadErrors: 1}
	}, r: r}

	if err := h.Reload(context.Background()); err != nil {
		t.Fatalf("reload of a valid file: %v", err)
	}
	if len(applied) != 1 || applied[0].Instances[0].Priority != 150 {
		t.Fatalf("applied %+v, want the file's configuration", applied)
	}

	// Two errors: both in the reply, neither reaches the daemon.
	os.WriteFile(path, []byte("vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 300\n  priority 999\n}\n"), 0o644)
	err := h.Reload(context.Background())
	if err == nil {
		t.Fatal("reload of a file with errors: no error")
	}
	for _, want := range []string{path + ":3:", path + ":4:", "the running one stays"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("reload error lacks %q:\n%v", want, err)
		}
	}
	if len(applied) != 1 {
		t.Error("a configuration with errors was applied")
	}
	if !strings.Contains(stderr.String(), path+":3:") || !strings.Contains(stderr.String(), "configuration invalid") {
		t.Errorf("stderr did not get the report:\n%s", stderr.String())
	}

	// The daemon refusing a valid file.
	os.WriteFile(path, []byte(validConfig), 0o644)
	applyErr = errors.New("instance VI_1: boom")
	if err := h.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("reload refused by the daemon: %v", err)
	}

	st := h.Status()
	if st.Reloads != 4 || st.ReloadErrors != 2 || st.ConfigFile != path {
		t.Errorf("status reloads %d, errors %d, file %q; want 4, 1+1, %s", st.Reloads, st.ReloadErrors, st.ConfigFile, path)
	}
}

func TestWriteDump(t *testing.T) {
	dir := t.TempDir()
	path, err := writeDump(dir, dataFile, func(w io.Writer) error {
		_, err := io.WriteString(w, "dump\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, dataFile) {
		t.Errorf("path %s", path)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("dump %v, %v: want mode 0600", fi, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "dump\n" {
		t.Errorf("dump holds %q", b)
	}

	// A failing writer leaves the previous dump and no temporary file.
	if _, err := writeDump(dir, dataFile, func(io.Writer) error { return errors.New("nope") }); err == nil {
		t.Error("failing writer: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
	if b, _ := os.ReadFile(path); string(b) != "dump\n" {
		t.Errorf("previous dump replaced: %q", b)
	}
}

// TestLogChecksByKind: each configuration warning is logged with the
// message of its kind, not all as unsupported keywords; the detail,
// position, suggestion and behaviour flag go along.
func TestLogChecksByKind(t *testing.T) {
	path := writeConfig(t, `global_defs {
  smtp_server 10.0.0.1
  disable_local_igmp
}
vrrp_script chk {
  script /bin/true x
}
vrrp_instance VI_1 {
  interface lo
  state SLAVE
  virtual_router_id 51
  priorty 150
  nopreempt 1
  use_vmac
  virtual_ipaddress {
    192.0.2.1
  }
  track_script {
    chk
  }
}
`)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	logChecks(zap.New(core), cfg)

	// keyword → kind, level and message it must be logged with.
	want := map[string]struct {
		kind  config.Kind
		level zapcore.Level
		msg   string
	}{
		"smtp_server":        {config.KindUnused, zapcore.InfoLevel, "configuration keyword without effect on vrrp: accepted, unused"},
		"disable_local_igmp": {config.KindUnsupported, zapcore.WarnLevel, "configuration keyword not supported: ignored"},
		"use_vmac":           {config.KindUnsupported, zapcore.WarnLevel, "configuration keyword not supported: ignored, keepalived would act on it"},
		"script":             {config.KindScript, zapcore.WarnLevel, "script line runs otherwise than it reads, as in keepalived"},
		"state":              {config.KindCorrected, zapcore.WarnLevel, "configuration value corrected as keepalived does"},
		"priorty":            {config.KindUnknown, zapcore.WarnLevel, "configuration keyword unknown to keepalived: ignored (a typo?)"},
		"nopreempt":          {config.KindNote, zapcore.WarnLevel, "configuration line read as keepalived reads it, not as written"},
	}
	if len(cfg.Warnings) != len(want) {
		t.Fatalf("%d warnings, want one per keyword of %v: %v", len(cfg.Warnings), want, cfg.Warnings)
	}
	for _, w := range cfg.Warnings {
		exp, ok := want[w.Keyword]
		if !ok || w.Kind != exp.kind {
			t.Errorf("warning %v of kind %q, want %+v", w, w.Kind, exp)
			continue
		}
		found := logs.FilterField(zap.String("keyword", w.Keyword)).FilterField(zap.Int("line", w.Line)).All()
		if len(found) != 1 {
			t.Errorf("%s: %d log entries, want 1", w.Keyword, len(found))
			continue
		}
		e := found[0]
		f := e.ContextMap()
		if e.Message != exp.msg || e.Level != exp.level || f["kind"] != string(exp.kind) || f["detail"] != w.Message || f["file"] != path {
			t.Errorf("%s logged %v %q %v; want %v %q, kind %s, detail %q", w.Keyword, e.Level, e.Message, f, exp.level, exp.msg, exp.kind, w.Message)
		}
		if w.Keyword == "priorty" && f["suggestion"] != "priority" {
			t.Errorf("typo logged without its suggestion: %v", f)
		}
		if _, ok := f["behaviour_changing"]; ok != (w.Keyword == "use_vmac") {
			t.Errorf("%s: behaviour_changing logged %v", w.Keyword, ok)
		}
	}
}
