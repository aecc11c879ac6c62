package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/xvrrp/xvrrp/vrrp/control"
	"github.com/xvrrp/xvrrp/vrrp/metrics"
)

// metricsServer is the --metrics-addr endpoint. Its zero value (a nil
// pointer included) is the endpoint turned off: every method does nothing.
type metricsServer struct {
	srv       *metrics.Server
	log       *zap.Logger
	stopWatch context.CancelFunc
}

// listenMetrics binds addr before the daemon is built, so that a busy or
// invalid address stops xvrrpd before it loads BPF or touches a VIP. An
// empty addr turns the endpoint off.
func listenMetrics(addr string, log *zap.Logger) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	srv, err := metrics.Listen(addr)
	if err != nil {
		return nil, err
	}
	return &metricsServer{srv: srv, log: log}, nil
}

// serve starts answering /metrics from status and counting the
// transitions watch delivers. Called before the daemon runs, so that its
// first transitions are counted.
func (m *metricsServer) serve(status func() control.Status, watch func(context.Context) <-chan control.Event) {
	if m == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stopWatch = cancel
	m.srv.Serve(status, watch(ctx), zap.NewStdLog(m.log))
	m.log.Info("metrics served", zap.String("addr", m.srv.Addr().String()), zap.String("path", metrics.Path))
}

// close stops the endpoint and its watch, and waits for them.
func (m *metricsServer) close() {
	if m == nil {
		return
	}
	if err := m.srv.Close(); err != nil {
		m.log.Warn("metrics server", zap.Error(err))
	}
	if m.stopWatch != nil {
		m.stopWatch()
	}
}
