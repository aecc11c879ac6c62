package notify

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp"
	"github.com/xvrrp/xvrrp/vrrp/config"
)

// An idle Runner holds no goroutine: after the transitions of 200
// instances have been carried out, the goroutine count is back where it
// was (a worker per instance that waits for the next transition would
// cost a goroutine stack each, 2 MB at 255 instances). Notifications
// still run, in order, after the workers have gone.
func TestIdleRunnerHoldsNoGoroutine(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	rec := script(t, dir, "rec.sh", `echo "$*" >> `+log)
	r := New(zaptest.NewLogger(t), Options{SkipSecurity: true})
	before := runtime.NumGoroutine()
	for i := range 200 {
		r.Notify(Instance, fmt.Sprintf("VI_%d", i), config.Notify{}, StateWord(vrrp.Backup), 100)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines 5 s after 200 notifications without scripts, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The worker of VI_1 has gone; its next notifications run in order.
	n := config.Notify{Master: config.Command{Cmd: rec + " master"}, Backup: config.Command{Cmd: rec + " backup"}}
	r.Notify(Instance, "VI_1", n, StateWord(vrrp.Master), 100)
	r.Notify(Instance, "VI_1", n, StateWord(vrrp.Backup), 90)
	lines := waitLines(t, log, 2)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0] != "master" || lines[1] != "backup" {
		t.Errorf("calls after the worker went: %q, want master then backup", lines)
	}
}
