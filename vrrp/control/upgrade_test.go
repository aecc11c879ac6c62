package control

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"go.uber.org/zap/zaptest"
)

type upgradeHandler struct {
	fakeHandler
	binary    string
	pid       int
	err       error
	committed atomic.Int32
}

func (h *upgradeHandler) Upgrade(_ context.Context, binary string) (int, func(), error) {
	h.binary = binary
	if h.err != nil {
		return 0, nil, h.err
	}
	return h.pid, func() { h.committed.Add(1) }, nil
}

func TestUpgradeCommand(t *testing.T) {
	h := &upgradeHandler{pid: 4242}
	path, _ := serve(t, h)
	pid, err := QueryUpgrade(context.Background(), path, "/usr/sbin/xvrrpd.new")
	if err != nil || pid != 4242 || h.binary != "/usr/sbin/xvrrpd.new" {
		t.Fatalf("upgrade: pid %d, err %v, binary %q; want 4242, nil, /usr/sbin/xvrrpd.new", pid, err, h.binary)
	}
	if _, err := QueryUpgrade(context.Background(), path, ""); err != nil || h.binary != "" {
		t.Fatalf("upgrade without a binary: %v, binary %q", err, h.binary)
	}
	waitFor(t, func() bool { return h.committed.Load() == 2 })
	h.err = errors.New("new process exited: status 1")
	_, err = QueryUpgrade(context.Background(), path, "")
	var se *ServerError
	if !errors.As(err, &se) || se.Msg != "new process exited: status 1" {
		t.Fatalf("failed upgrade: %v, want the handler's reason as a ServerError", err)
	}
	// A handler without Upgrade answers with an error.
	p2, _ := serve(t, &fakeHandler{})
	if _, err := QueryUpgrade(context.Background(), p2, ""); !errors.As(err, &se) {
		t.Fatalf("upgrade on a handler without it: %v", err)
	}
}

// A Serve whose socket file was replaced by another daemon's (the
// upgraded process) leaves that file at exit.
func TestServeLeavesASuccessorsSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	ctx1, stop1 := context.WithCancel(context.Background())
	done1 := make(chan error, 1)
	go func() { done1 <- Serve(ctx1, path, &fakeHandler{}, zaptest.NewLogger(t)) }()
	waitFor(t, func() bool { _, err := os.Stat(path); return err == nil })
	first, _ := os.Stat(path)
	ctx2, stop2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() {
		done2 <- Serve(ctx2, path, &fakeHandler{status: Status{Dataplane: "second"}}, zaptest.NewLogger(t))
	}()
	waitFor(t, func() bool { fi, err := os.Stat(path); return err == nil && !os.SameFile(fi, first) })
	stop1()
	if err := <-done1; err != nil {
		t.Fatal(err)
	}
	st, err := QueryStatus(context.Background(), path)
	if err != nil || st.Dataplane != "second" {
		t.Fatalf("after the first Serve stopped: %+v, %v; want the second one answering", st, err)
	}
	stop2()
	<-done2
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket left after the last Serve: %v", err)
	}
}
