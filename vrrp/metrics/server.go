package metrics

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xvrrp/xvrrp/vrrp/control"
)

// Path is where the metrics are served.
const Path = "/metrics"

// HTTP limits of the metrics server: a client that sends its request too
// slowly, or reads the answer too slowly, is cut off.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute
	// ScrapeTimeout bounds one scrape (the handler answers 503 past it);
	// MaxScrapes is how many run at once (one more gets 503 at once).
	ScrapeTimeout = 10 * time.Second
	MaxScrapes    = 4
	// ShutdownTimeout is how long Close lets scrapes in flight finish.
	ShutdownTimeout = 5 * time.Second
)

// Server serves a Collector's metrics over HTTP. Listen binds the address
// (so a busy or invalid address is an error before anything else starts),
// Serve starts answering, Close stops and waits. Safe for concurrent use.
type Server struct {
	ln   net.Listener
	done chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	srv      *http.Server
	closed   bool
	serveErr error
}

// Listen binds addr (HOST:PORT; an empty host is every address) for a
// Server. The error names the address that could not be bound.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err) // "listen tcp ADDR: ..."
	}
	return &Server{ln: ln, done: make(chan struct{})}, nil
}

// Addr is the address the server listens on (with the port chosen, for
// port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Registry returns a registry with c and the Go runtime and process
// collectors (go_*, process_*).
func Registry(c *Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler returns the /metrics handler for reg. Errors while gathering are
// logged to errLog when not nil, and the metrics that could be gathered
// are served anyway.
func Handler(reg *prometheus.Registry, errLog *log.Logger) http.Handler {
	opts := promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: MaxScrapes,
		Timeout:             ScrapeTimeout,
		Registry:            reg, // promhttp_metric_handler_errors_total
	}
	if errLog != nil {
		opts.ErrorLog = errLog
	}
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, opts))
}

// Serve starts answering Path with the metrics of status, read at each
// scrape, and counting the transitions received on events until events is
// closed or the server is closed. errLog, when not nil, receives HTTP
// server and gathering errors. Serve does nothing after Close, and must be
// called at most once.
func (s *Server) Serve(status func() control.Status, events <-chan control.Event, errLog *log.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.srv != nil {
		return
	}
	c := NewCollector(status)
	mux := http.NewServeMux()
	mux.Handle(Path, Handler(Registry(c), errLog))
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          errLog,
	}
	srv := s.srv
	s.wg.Go(func() {
		if err := srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.serveErr = fmt.Errorf("metrics: serve: %w", err)
			s.mu.Unlock()
		}
	})
	if events != nil {
		s.wg.Go(func() {
			for {
				select {
				case <-s.done:
					return
				case e, ok := <-events:
					if !ok {
						return
					}
					c.Observe(e)
				}
			}
		})
	}
}

// Close stops the server: scrapes in flight get ShutdownTimeout to finish,
// then connections are closed; the listener is closed even if Serve was
// never called. It waits for the server's goroutines and returns the error
// that stopped serving early, if any. Calling Close again returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	srv := s.srv
	s.mu.Unlock()

	if srv == nil {
		if err := s.ln.Close(); err != nil {
			return fmt.Errorf("metrics: close listener: %w", err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serveErr
}
