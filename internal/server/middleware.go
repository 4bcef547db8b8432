package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// RequestIDHeader is the header a request ID is accepted from and echoed in.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an accepted incoming request ID.
const maxRequestIDLen = 128

// unmatchedRoute is the route label of requests no registered pattern
// matched (404, 405, the mux's canonicalising redirects).
const unmatchedRoute = "unmatched"

type ctxKey struct{}

// requestInfo is the per-request state the middleware shares. The request ID
// middleware stores a pointer in the context; tagRoute fills in route.
type requestInfo struct {
	id    string
	route string
}

func infoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(ctxKey{}).(*requestInfo)
	return ri
}

// RequestID returns the ID of the request ctx belongs to, or "" if ctx did
// not come from a request served by a Server.
func RequestID(ctx context.Context) string {
	if ri := infoFrom(ctx); ri != nil {
		return ri.id
	}
	return ""
}

// validRequestID reports whether an incoming ID is safe to adopt: 1 to 128
// visible ASCII characters (no spaces or control characters).
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b[:])
}

// requestID is the outermost middleware: it adopts a well-formed incoming
// X-Request-Id or generates one, echoes it in the response and stores it in
// the request context. It also counts in-flight requests for the drain and,
// once the server is draining, answers with "Connection: close": net/http
// then closes an HTTP/1.1 connection after the response and sends GOAWAY on
// an HTTP/2 one, so clients reconnect elsewhere without a request lost to a
// connection closed under it.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := context.WithValue(r.Context(), ctxKey{}, &requestInfo{id: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// tagRoute wraps a registered handler so the outer middleware learns which
// pattern served the request. Reading r.Pattern in outer middleware is not
// reliable: ServeMux sets it only on the *Request it was given (lost if any
// layer in between calls WithContext), sets it to the target path for its
// own redirects (unbounded label values), and not at all under
// GODEBUG=httpmuxgo121=1.
func tagRoute(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri := infoFrom(r.Context()); ri != nil {
			ri.route = pattern
		}
		h.ServeHTTP(w, r)
	})
}

func routeOf(r *http.Request) string {
	if ri := infoFrom(r.Context()); ri != nil && ri.route != "" {
		return ri.route
	}
	return unmatchedRoute
}

// recoverPanic turns a handler panic into a logged error and, if nothing was
// written yet, a 500 JSON response; the connection and process keep going.
// http.ErrAbortHandler is re-panicked for net/http to abort the response
// quietly. A panic after the response has started is logged and then
// converted into http.ErrAbortHandler, because a half-written response must
// not look complete to the client.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := record(w)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic serving request",
				"panic", fmt.Sprint(v),
				"method", r.Method,
				"path", r.URL.Path,
				"route", routeOf(r),
				"request_id", RequestID(r.Context()),
				"stack", string(debug.Stack()),
			)
			if rec.wroteHeader {
				panic(http.ErrAbortHandler)
			}
			// Drop whatever headers the handler set before panicking.
			h := rec.Header()
			for k := range h {
				if k != RequestIDHeader {
					delete(h, k)
				}
			}
			writeJSON(rec, http.StatusInternalServerError, errorBody{
				Error:     string(iam.Internal),
				RequestID: RequestID(r.Context()),
			})
		}()
		next.ServeHTTP(rec, r)
	})
}

// accessLog writes one line per request: at info level, or debug level for
// /debug/ probes so they do not flood the log.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := record(w)
		start := time.Now()
		returned := false
		defer func() {
			level := slog.LevelInfo
			if strings.HasPrefix(r.URL.Path, "/debug/") {
				level = slog.LevelDebug
			}
			if !s.log.Enabled(r.Context(), level) {
				return
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("route", routeOf(r)),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.statusFor(returned)),
				slog.Int64("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)),
				slog.String("request_id", RequestID(r.Context())),
				slog.String("remote", r.RemoteAddr),
				slog.String("proto", r.Proto),
			}
			if !returned {
				attrs = append(attrs, slog.Bool("panicked", true))
			}
			s.log.LogAttrs(r.Context(), level, "http request", attrs...)
		}()
		next.ServeHTTP(rec, r)
		returned = true
	})
}

// instrument records the request counter and latency histogram.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := record(w)
		start := time.Now()
		returned := false
		defer func() {
			s.metrics.observe(r.Method, routeOf(r), rec.statusFor(returned), time.Since(start))
		}()
		next.ServeHTTP(rec, r)
		returned = true
	})
}

// recorder is the one ResponseWriter wrapper the middleware shares: it
// remembers the status and counts body bytes. It forwards Flush and exposes
// Unwrap so http.ResponseController reaches the underlying writer.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	bytes       int64
}

// record returns w itself if it already is a recorder, else wraps it.
func record(w http.ResponseWriter) *recorder {
	if rec, ok := w.(*recorder); ok {
		return rec
	}
	return &recorder{ResponseWriter: w}
}

func (rec *recorder) WriteHeader(code int) {
	if !rec.wroteHeader && code >= 200 {
		// 1xx informational responses may precede the real one.
		rec.status = code
		rec.wroteHeader = true
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if !rec.wroteHeader {
		rec.status = http.StatusOK
		rec.wroteHeader = true
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

func (rec *recorder) Flush() {
	if !rec.wroteHeader {
		rec.status = http.StatusOK
		rec.wroteHeader = true
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer for http.ResponseController.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// statusFor returns the status to report. A handler that returned without
// writing sent an implicit 200; one that panicked before writing gets the
// 500 recoverPanic is about to send.
func (rec *recorder) statusFor(returned bool) int {
	switch {
	case rec.wroteHeader:
		return rec.status
	case returned:
		return http.StatusOK
	default:
		return http.StatusInternalServerError
	}
}
