package server

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// echoID mounts GET /id, which answers with RequestID(ctx).
func echoID(s *Server) {
	s.Handle("GET /id", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, RequestID(r.Context()))
	}))
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{}, echoID)
	s := New(Options{})
	echoID(s)

	for _, tc := range []struct {
		name     string
		incoming string // "" sends no header
		adopt    bool
	}{
		{"none", "", false},
		{"uuid", "0b6f3a4e-8d1c-4e3b-9b0a-2f1c9d7e6a55", true},
		{"visible punctuation", "req:abc/123+=_.~", true},
		{"max length", strings.Repeat("a", maxRequestIDLen), true},
		{"too long", strings.Repeat("a", maxRequestIDLen+1), false},
		{"space", "abc def", false},
		{"control", "abc\x01def", false},
		{"newline", "abc\ndef", false},
		{"tab", "abc\tdef", false},
		{"non-ascii", "abcé", false},
		{"del", "abc\x7f", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check := func(t *testing.T, header, body string) {
				t.Helper()
				if header != body {
					t.Errorf("response header %q != RequestID(ctx) %q", header, body)
				}
				if tc.adopt && header != tc.incoming {
					t.Errorf("ID %q, want incoming %q adopted", header, tc.incoming)
				}
				if !tc.adopt && !generatedID.MatchString(header) {
					t.Errorf("ID %q, want a generated 32-hex-digit ID", header)
				}
			}
			// Through the handler: hostile bytes reach it unfiltered.
			req := httptest.NewRequestWithContext(t.Context(), "GET", "/id", nil)
			if tc.incoming != "" {
				req.Header.Set(RequestIDHeader, tc.incoming)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			check(t, rec.Header().Get(RequestIDHeader), rec.Body.String())

			// Over HTTP when the client can send the value at all.
			var hdr http.Header
			if tc.incoming != "" {
				hdr = http.Header{RequestIDHeader: {tc.incoming}}
			}
			if tc.incoming != "" && !validHeaderValue(tc.incoming) {
				return
			}
			resp, body := do(t, nil, "GET", b.url+"/id", hdr)
			check(t, resp.Header.Get(RequestIDHeader), string(body))
		})
	}
	t.Run("unique", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for range 50 {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "GET", "/id", nil))
			id := rec.Body.String()
			if seen[id] {
				t.Fatalf("generated ID %q twice", id)
			}
			seen[id] = true
		}
	})
}

// validHeaderValue mirrors what the net/http client accepts in a header
// value (no control characters other than tab).
func validHeaderValue(v string) bool {
	for _, c := range []byte(v) {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{}, func(s *Server) {
		s.Handle("GET /panic", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			panic("kaboom")
		}))
		s.Handle("GET /panic-late", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			http.NewResponseController(w).Flush()
			panic("late kaboom")
		}))
		s.Handle("GET /abort", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler)
		}))
		s.Handle("GET /fine", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "fine")
		}))
	})
	client := &http.Client{Timeout: waitTimeout}

	t.Run("before write", func(t *testing.T) {
		resp, body := do(t, client, "GET", b.url+"/panic", http.Header{RequestIDHeader: {"panic-1"}})
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		got := decode(t, body)
		if got["error"] != "internal" || got["request_id"] != "panic-1" {
			t.Errorf("body %s, want error internal with request_id panic-1", body)
		}
		rec := b.logs.waitRecord(t, func(r map[string]any) bool {
			return r["msg"] == "panic serving request" && r["request_id"] == "panic-1"
		})
		if rec["level"] != "ERROR" || rec["panic"] != "kaboom" || rec["route"] != "GET /panic" ||
			!strings.Contains(fmt.Sprint(rec["stack"]), "runtime/debug.Stack") {
			t.Errorf("panic log record %v lacks level, panic value, route or stack", rec)
		}
	})
	t.Run("after write", func(t *testing.T) {
		resp, err := client.Get(b.url + "/panic-late")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Error("a response interrupted by a panic looked complete to the client")
		}
		b.logs.waitRecord(t, func(r map[string]any) bool {
			return r["msg"] == "panic serving request" && r["panic"] == "late kaboom"
		})
	})
	t.Run("abort", func(t *testing.T) {
		resp, err := client.Get(b.url + "/abort")
		if err == nil {
			resp.Body.Close()
			t.Errorf("ErrAbortHandler produced a response: %d", resp.StatusCode)
		}
	})
	t.Run("keeps serving", func(t *testing.T) {
		resp, body := do(t, client, "GET", b.url+"/fine", nil)
		if resp.StatusCode != http.StatusOK || string(body) != "fine" {
			t.Errorf("after panics: %d %q", resp.StatusCode, body)
		}
		for _, r := range b.logs.records(t) {
			if r["msg"] == "panic serving request" && r["panic"] == fmt.Sprint(http.ErrAbortHandler) {
				t.Errorf("ErrAbortHandler was logged as a panic: %v", r)
			}
		}
	})
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{}, func(s *Server) {
		s.Handle("GET /things/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, "thing "+r.PathValue("id"))
		}))
	})
	do(t, nil, "GET", b.url+"/things/42", http.Header{RequestIDHeader: {"log-1"}})
	do(t, nil, "GET", b.url+"/debug/healthz", http.Header{RequestIDHeader: {"log-2"}})
	do(t, nil, "GET", b.url+"/missing", http.Header{RequestIDHeader: {"log-3"}})

	for _, tc := range []struct {
		name, id, level, route, path string
		status, bytes                float64
	}{
		{"matched", "log-1", "INFO", "GET /things/{id}", "/things/42", 202, 8},
		{"probe at debug", "log-2", "DEBUG", "GET /debug/healthz", "/debug/healthz", 200, 16},
		{"unmatched", "log-3", "INFO", "unmatched", "/missing", 404, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.logs.waitRecord(t, func(r map[string]any) bool {
				return r["msg"] == "http request" && r["request_id"] == tc.id
			})
			if r["level"] != tc.level || r["method"] != "GET" || r["route"] != tc.route ||
				r["path"] != tc.path || r["status"] != tc.status {
				t.Errorf("record %v, want level %s route %q path %q status %v", r, tc.level, tc.route, tc.path, tc.status)
			}
			if tc.bytes >= 0 && r["bytes"] != tc.bytes {
				t.Errorf("bytes %v, want %v", r["bytes"], tc.bytes)
			}
			for _, k := range []string{"duration", "remote"} {
				if _, ok := r[k]; !ok {
					t.Errorf("record lacks %q: %v", k, r)
				}
			}
		})
	}
}

// counterValue returns rampart_http_requests_total for the given labels, or
// -1 if that series does not exist.
func counterValue(t *testing.T, reg *prometheus.Registry, method, route, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	want := map[string]string{"method": method, "route": route, "code": code}
	for _, mf := range mfs {
		if mf.GetName() != "rampart_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			if maps.Equal(got, want) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	b := setup(t, Options{Registry: reg, Version: "v9.8.7"}, func(s *Server) {
		s.Handle("GET /things/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		s.Handle("GET /dir/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		s.Handle("/any", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		s.Handle("GET /boom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	})
	noRedirect := &http.Client{
		Timeout:       waitTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do(t, nil, "GET", b.url+"/things/1", nil)
	do(t, nil, "GET", b.url+"/things/2", nil)
	do(t, nil, "GET", b.url+"/nope/1", nil)
	do(t, nil, "GET", b.url+"/nope/2", nil)
	redirect, _ := do(t, noRedirect, "GET", b.url+"/dir", nil) // the mux redirects to /dir/
	if redirect.StatusCode/100 != 3 {
		t.Fatalf("GET /dir = %d, want a redirect", redirect.StatusCode)
	}
	do(t, nil, "FROB", b.url+"/any", nil)
	do(t, nil, "GET", b.url+"/boom", nil)

	// The counters are updated after the response may have reached the
	// client; poll.
	for _, tc := range []struct {
		name, method, route, code string
		want                      float64
	}{
		{"matched pattern", "GET", "GET /things/{id}", "200", 2},
		{"unmatched", "GET", "unmatched", "404", 2},
		{"mux redirect", "GET", "unmatched", fmt.Sprint(redirect.StatusCode), 1},
		{"unknown method", "OTHER", "/any", "200", 1},
		{"panic", "GET", "GET /boom", "500", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got float64
			waitFor(t, fmt.Sprintf("the counter to reach %v", tc.want), func() bool {
				got = counterValue(t, reg, tc.method, tc.route, tc.code)
				return got == tc.want
			})
		})
	}

	t.Run("exposition", func(t *testing.T) {
		t.Parallel()
		resp, body := do(t, nil, "GET", b.url+"/debug/metrics", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		text := string(body)
		for _, want := range []string{
			`rampart_http_requests_total{code="200",method="GET",route="GET /things/{id}"}`,
			`rampart_http_request_duration_seconds_bucket{method="GET",route="GET /things/{id}",le="`,
			`rampart_http_requests_total{code="404",method="GET",route="unmatched"} 2`,
			`rampart_build_info{goversion="go`,
			`version="v9.8.7"} 1`,
			"go_goroutines ",
			"process_",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("/debug/metrics lacks %q", want)
			}
		}
	})
}
