package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rampartiam/rampart/internal/iam"
)

// errorBody is the JSON body of errors the server itself produces.
type errorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// statusBody is the JSON body of the health and readiness probes.
type statusBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the fixed body types above are passed here.
		panic(fmt.Sprintf("server: encoding response: %v", err))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func (s *Server) mountDebug() {
	s.Handle("GET /debug/healthz", http.HandlerFunc(s.healthz))
	s.Handle("GET /debug/ready", http.HandlerFunc(s.ready))
	s.Handle("GET /debug/metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{
		ErrorLog:          slogPrinter{s},
		Registry:          s.opts.Registry,
		EnableOpenMetrics: true,
	}))
}

// healthz reports liveness: the process is up and serving, even while it
// drains.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
}

// ready reports whether this instance should receive traffic: not draining
// and every Check passing within ReadyTimeout.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	unready := func(reason, detail string) {
		writeJSON(w, http.StatusServiceUnavailable, statusBody{Status: "unready", Reason: reason, Detail: detail})
	}
	if s.draining.Load() {
		unready("draining", "the server is shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.ReadyTimeout)
	defer cancel()
	for _, c := range s.opts.Checks {
		if err := runCheck(ctx, c); err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
				unready(c.Name, fmt.Sprintf("no answer within the %s readiness timeout: %v", s.opts.ReadyTimeout, err))
				return
			}
			unready(c.Name, err.Error())
			return
		}
	}
	if s.draining.Load() {
		unready("draining", "the server is shutting down")
		return
	}
	writeJSON(w, http.StatusOK, statusBody{Status: "ready"})
}

// runCheck runs c.Fn but returns as soon as ctx is done, even if Fn ignores
// ctx; a recovered panic counts as a failure.
func runCheck(ctx context.Context, c Check) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("check panicked: %v", v)
			}
		}()
		done <- c.Fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// route dispatches to the ServeMux. When no registered pattern matches, the
// mux's own plain-text 404 and 405 answers are replaced by JSON.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		w = &unmatchedWriter{ResponseWriter: w, r: r}
	}
	s.mux.ServeHTTP(w, r)
}

// unmatchedWriter intercepts the status the ServeMux's not-found and
// method-not-allowed handlers write and sends a JSON error instead of their
// text body. The Allow header the mux sets for 405 is kept.
type unmatchedWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (u *unmatchedWriter) WriteHeader(code int) {
	var body errorBody
	switch code {
	case http.StatusNotFound:
		body = errorBody{Error: string(iam.NotFound), Message: "no route for " + u.r.Method + " " + u.r.URL.Path}
	case http.StatusMethodNotAllowed:
		body = errorBody{Error: "method_not_allowed", Message: "method " + u.r.Method + " is not allowed for " + u.r.URL.Path}
	default:
		u.ResponseWriter.WriteHeader(code)
		return
	}
	u.replaced = true
	u.ResponseWriter.Header().Del("Content-Length")
	writeJSON(u.ResponseWriter, code, body)
}

func (u *unmatchedWriter) Write(b []byte) (int, error) {
	if u.replaced {
		return len(b), nil
	}
	return u.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer for http.ResponseController.
func (u *unmatchedWriter) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// slogPrinter adapts the server's logger to promhttp's ErrorLog.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) {
	p.s.log.Error("serving metrics", "error", strings.TrimSpace(fmt.Sprintln(v...)))
}
