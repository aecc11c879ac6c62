package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

func TestMetricsAddrFlag(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseFlags([]string{"--metrics-addr", "127.0.0.1:9650"}, &stderr)
	if err != nil || o.metricsAddr != "127.0.0.1:9650" {
		t.Fatalf("--metrics-addr: %+v, %v", o, err)
	}
	if o, err := parseFlags(nil, &stderr); err != nil || o.metricsAddr != "" {
		t.Errorf("default: %+v, %v; want off", o, err)
	}
}

// TestMetricsOff: without --metrics-addr nothing listens and the calls
// main makes do nothing.
func TestMetricsOff(t *testing.T) {
	m, err := listenMetrics("", zaptest.NewLogger(t))
	if err != nil || m != nil {
		t.Fatalf("listenMetrics(\"\") = %v, %v; want nil, nil", m, err)
	}
	m.serve(func() control.Status { t.Error("status read"); return control.Status{} },
		func(context.Context) <-chan control.Event { t.Error("watched"); return nil })
	m.close()
}

func TestMetricsBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = listenMetrics(ln.Addr().String(), zaptest.NewLogger(t))
	if err == nil || !strings.Contains(err.Error(), "metrics: listen tcp "+ln.Addr().String()+": bind: address already in use") {
		t.Errorf("busy address: %v, want an error naming it", err)
	}
}

// TestMetricsServe: serve subscribes to the watch, answers /metrics with
// the status; close stops the server and ends the subscription.
func TestMetricsServe(t *testing.T) {
	m, err := listenMetrics("127.0.0.1:0", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	watchEnded := make(chan struct{})
	events := make(chan control.Event, 1)
	events <- control.Event{Instance: "VI_1", From: "INIT", To: "BACKUP", Reason: "startup"}
	m.serve(func() control.Status {
		return control.Status{Dataplane: "socket", Instances: []control.InstanceStatus{{Name: "VI_1", VRID: 7, Interface: "eth0", State: "BACKUP"}}}
	}, func(ctx context.Context) <-chan control.Event {
		go func() { <-ctx.Done(); close(watchEnded) }()
		return events
	})
	url := "http://" + m.srv.Addr().String() + "/metrics"
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if strings.Contains(body, `xvrrp_transitions_total{iname="VI_1",reason="startup",to="BACKUP"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no transition counted:\n%s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{
		`keepalived_vrrp_state{iname="VI_1",intf="eth0",ip_address="",vrid="7"} 1`,
		`xvrrp_dataplane_info{dataplane="socket"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	m.close()
	select {
	case <-watchEnded:
	case <-time.After(5 * time.Second):
		t.Error("watch context not cancelled by close")
	}
	http.DefaultClient.CloseIdleConnections()
	if _, err := http.Get(url); err == nil {
		t.Error("still answering after close")
	}
}
