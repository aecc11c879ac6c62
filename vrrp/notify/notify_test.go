package notify

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
)

func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q, want %d lines", path, b, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNotifyArgumentsAndOrder(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	// Slow, so calls arrive faster than the script runs.
	rec := script(t, dir, "rec.sh", `sleep 0.05; echo "$*" >> `+log)
	n := config.Notify{
		Master:  config.Command{Cmd: rec + " master"},
		Backup:  config.Command{Cmd: rec + ` "backup now"`},
		Generic: config.Command{Cmd: rec + " generic"},
	}
	r := New(zaptest.NewLogger(t), Options{SkipSecurity: true})
	r.Notify(Instance, "VI_1", n, StateWord(vrrp.Master), 100)
	r.Notify(Instance, "VI_1", n, StateWord(vrrp.Backup), 90)
	r.Notify(Group, "G1", config.Notify{Generic: n.Generic}, StateWord(vrrp.Fault), 90)
	r.Notify(Instance, "VI_1", n, Stop, 90)
	// Wait before Close: Close starts what is queued without waiting.
	lines := waitLines(t, log, 6)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var vi []string
	for _, l := range lines {
		if !strings.Contains(l, "GROUP") {
			vi = append(vi, l)
		}
	}
	want := []string{"master", "generic INSTANCE VI_1 MASTER 100", "backup now", "generic INSTANCE VI_1 BACKUP 90", "generic INSTANCE VI_1 STOP 90"}
	if strings.Join(vi, "|") != strings.Join(want, "|") {
		t.Errorf("instance calls:\n%q\nwant\n%q", vi, want)
	}
	if !strings.Contains(strings.Join(lines, "|"), "generic GROUP G1 FAULT 0") {
		t.Errorf("group call missing (priority 0 for groups): %q", lines)
	}
}

func TestFifo(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r := New(zaptest.NewLogger(t), Options{Global: config.Global{NotifyFifo: fifo}})
	// No reader yet: must not block.
	r.Notify(Instance, "VI_1", config.Notify{}, "MASTER", 100)
	r.Notify(Group, "G1", config.Notify{}, "BACKUP", 100)
	f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	time.Sleep(200 * time.Millisecond)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	want := map[string]bool{`INSTANCE "VI_1" MASTER 100`: true, `GROUP "G1" BACKUP 0`: true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Errorf("fifo lines %q, want %v", got, want)
	}
}

func TestHangingScriptDoesNotBlockOthers(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	pidFile := filepath.Join(dir, "pid")
	hang := hungScript(t, dir, "hang.sh", pidFile)
	rec := script(t, dir, "rec.sh", `echo "$*" >> `+log)
	r := New(zaptest.NewLogger(t), Options{SkipSecurity: true, Timeout: 30 * time.Second})
	start := time.Now()
	r.Notify(Instance, "VI_1", config.Notify{Master: config.Command{Cmd: hang}}, "MASTER", 100)
	r.Notify(Instance, "VI_2", config.Notify{Master: config.Command{Cmd: rec + " ok"}}, "MASTER", 100)
	readPid(t, pidFile) // killed at the end of the test
	waitLines(t, log, 1)
	if time.Since(start) > 5*time.Second {
		t.Error("VI_2 waited for VI_1's script")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); err == nil {
		t.Error("Close returned nil although a script was left running")
	}
}
