package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by New when the corresponding Options field is zero.
const (
	DefaultDrainTimeout = 30 * time.Second
	DefaultReadyTimeout = 2 * time.Second

	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Options configures a Server. The zero value of every field except Addr has
// a usable default.
type Options struct {
	// Addr is the TCP address to listen on, such as ":8080". ":0" picks a
	// free port; Addr reports which.
	Addr string
	// DrainTimeout bounds how long Serve waits for in-flight requests to
	// finish once shutdown starts (default DefaultDrainTimeout).
	DrainTimeout time.Duration
	// DrainDelay is how long Serve keeps serving and accepting connections
	// after ctx is done, with /debug/ready already answering 503
	// "draining", before it stops accepting and starts the drain: the time
	// load balancers need to notice and send new requests elsewhere.
	// During the delay every response carries "Connection: close" (a
	// GOAWAY on HTTP/2), so clients and proxies move their connections
	// off this node. Zero: stop accepting at once.
	DrainDelay time.Duration
	// ReadyTimeout bounds the total time /debug/ready spends running Checks
	// (default DefaultReadyTimeout).
	ReadyTimeout time.Duration
	// Logger receives the access log, recovered panics and lifecycle events
	// (default: discard).
	Logger *slog.Logger
	// Registry receives the HTTP metrics, rampart_build_info and the Go
	// runtime and process collectors; it is exposed at /debug/metrics. The
	// caller may register more collectors (database pools, jobs) on it, but
	// must not register the Go or process collectors itself. Nil means a
	// fresh registry.
	Registry *prometheus.Registry
	// Checks are the readiness checks /debug/ready runs, in order.
	Checks []Check
	// Version is the Rampart version reported by rampart_build_info and the
	// startup log line.
	Version string
	// TrustedProxies are the addresses of the reverse proxies whose
	// X-Forwarded-For header is believed (see ClientAddr). Empty: the
	// connection's peer is always the client.
	TrustedProxies []netip.Prefix
}

// Check is one readiness check. Fn must return promptly once ctx is done;
// a check that ignores ctx is abandoned (its goroutine keeps running) and
// reported as failed when the readiness timeout expires.
type Check struct {
	// Name identifies the check; it is the "reason" /debug/ready reports
	// when Fn fails, so keep it short and stable, e.g. "database".
	Name string
	// Fn returns nil when the dependency is usable.
	Fn func(ctx context.Context) error
}

// Server is Rampart's HTTP server: one listener speaking HTTP/1.1 and h2c
// (HTTP/2 over cleartext with prior knowledge), the middleware chain, the
// /debug endpoints and graceful drain. Create it with New, mount handlers
// with Handle, then Listen and Serve.
type Server struct {
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	metrics *httpMetrics
	srv     *http.Server

	draining atomic.Bool
	inFlight atomic.Int64
	started  atomic.Bool
	// after waits out the drain delay; tests replace it before Serve.
	after func(time.Duration) <-chan time.Time

	mu sync.Mutex
	ln net.Listener
}

// New returns a Server configured by o with the /debug endpoints mounted.
// It registers its collectors on o.Registry and panics if they are already
// registered there (a wiring mistake).
func New(o Options) *Server {
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Version == "" {
		o.Version = "unknown"
	}
	s := &Server{
		opts:  o,
		log:   o.Logger,
		mux:   http.NewServeMux(),
		after: time.After,
	}
	s.metrics = newHTTPMetrics(o.Registry, o.Version)
	s.handler = s.requestID(s.realClient(s.recoverPanic(s.accessLog(s.instrument(http.HandlerFunc(s.route))))))
	s.mountDebug()

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	s.srv = &http.Server{
		Handler:           s.handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handle registers h for pattern on the server's http.ServeMux; pattern uses
// Go 1.22 syntax ("GET /oauth/v2/keys", "POST /api/{id}"). The pattern
// becomes the route label of the request metrics and the access log. Handle
// must be called before Serve; it panics afterwards, and on the conditions
// http.ServeMux.Handle panics on (invalid or conflicting patterns).
func (s *Server) Handle(pattern string, h http.Handler) {
	if s.started.Load() {
		panic("server: Handle(" + pattern + ") called after Serve")
	}
	s.mux.Handle(pattern, tagRoute(pattern, h))
}

// Handler returns the complete handler: the middleware chain around the
// ServeMux. Tests can drive it with httptest without a listener.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the listening socket now, so that an occupied port is reported
// before anything else starts. Calling it again is a no-op.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("server: cannot listen on %q: the address is already in use by another process: %w", s.opts.Addr, err)
		}
		return fmt.Errorf("server: cannot listen on %q: %w", s.opts.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound address, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// SetDraining makes /debug/ready answer 503 with reason "draining" from now
// on, so load balancers stop sending new traffic, and asks clients to close
// their connections after each response. It cannot be undone.
func (s *Server) SetDraining() { s.draining.Store(true) }

// Serve serves on the listener (calling Listen first if needed) until ctx is
// done, then drains: it marks the server draining, keeps serving for
// DrainDelay (new connections included) so load balancers can take it out
// of rotation, then stops accepting connections, closes idle HTTP/1.1
// connections, sends GOAWAY on HTTP/2 connections and waits up to
// DrainTimeout for in-flight requests. It
// returns nil after a clean drain. If the timeout expires it closes every
// remaining connection and returns an error naming how many requests were
// still in flight; the caller chooses the exit code. Serve may be called
// only once.
//
// Request contexts do not inherit ctx's cancellation, so cancelling ctx does
// not abort in-flight requests; they are cancelled only by the forced close.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("server: Serve called twice")
	}
	ln := s.ln
	base := context.WithoutCancel(ctx)
	s.srv.BaseContext = func(net.Listener) context.Context { return base }

	s.log.Info("http server listening", "addr", ln.Addr().String(), "version", s.opts.Version)
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()

	select {
	case err := <-errc:
		// Serve never returns nil; ErrServerClosed cannot happen because
		// only this function shuts the server down.
		return fmt.Errorf("server: serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	s.SetDraining()
	if d := s.opts.DrainDelay; d > 0 {
		s.log.Info("http server unready; serving on for the drain delay", "delay", d.String())
		select {
		case <-s.after(d):
		case err := <-errc:
			return fmt.Errorf("server: serving on %s: %w", ln.Addr(), err)
		}
	}
	s.srv.SetKeepAlivesEnabled(false)
	s.log.Info("http server draining", "in_flight", s.inFlight.Load(), "timeout", s.opts.DrainTimeout.String())
	drainCtx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	err := s.srv.Shutdown(drainCtx)
	<-errc // http.Server.Serve returns ErrServerClosed as soon as Shutdown starts.
	if err == nil {
		s.log.Info("http server drained")
		return nil
	}
	left := s.inFlight.Load()
	closeErr := s.srv.Close()
	s.log.Error("http server drain timed out; closed remaining connections", "in_flight", left, "timeout", s.opts.DrainTimeout.String())
	return errors.Join(
		fmt.Errorf("server: drain did not finish within %s: %d request(s) still in flight were aborted: %w", s.opts.DrainTimeout, left, err),
		closeErr,
	)
}
