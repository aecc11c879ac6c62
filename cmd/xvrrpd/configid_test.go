package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// A configuration shared by two nodes, keepalived's way: "@ID" lines are
// read only by the node whose -i (--config-id) is ID.
const sharedConfig = `vrrp_instance VI_1 {
  interface lo
  virtual_router_id 51
  @alpha priority 150
  @beta priority 999
  virtual_ipaddress {
    10.0.0.1
  }
}
`

func TestConfigIDFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-i", "alpha"}, "alpha"},
		{[]string{"--config-id", "beta"}, "beta"},
		{nil, ""},
	} {
		o, err := parseFlags(tc.args, io.Discard)
		if err != nil || o.configID != tc.want {
			t.Errorf("%q: config id %q (%v), want %q", tc.args, o.configID, err, tc.want)
		}
	}
	// -t reads the lines of its id only: beta's priority is out of range.
	path := writeConfig(t, sharedConfig)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-t", "-f", path, "-i", "alpha"}, &out, io.Discard); err != nil {
		t.Errorf("-i alpha -t: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"-t", "-f", path, "--config-id", "beta"}, &out, io.Discard); err == nil || !strings.Contains(out.String(), path+":5:") {
		t.Errorf("--config-id beta -t: %v\n%s", err, out.String())
	}
}

// TestReloadConfigID: a reload reads the file with the same id as the
// start.
func TestReloadConfigID(t *testing.T) {
	path := writeConfig(t, sharedConfig)
	var applied []*config.Config
	r := &reloader{file: path, configID: "alpha", log: zaptest.NewLogger(t), stderr: io.Discard,
		apply: func(_ context.Context, cfg *config.Config) error {
			applied = append(applied, cfg)
			return nil
		}}
	if err := r.reload(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || applied[0].Instances[0].Priority != 150 {
		t.Fatalf("applied %+v, want priority 150", applied)
	}
	r.configID = "beta"
	if err := r.reload(context.Background(), "test"); err == nil {
		t.Error("-i beta: the out-of-range priority was not refused")
	}
}
