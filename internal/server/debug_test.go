package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{}, nil)
	resp, body := do(t, nil, "GET", b.url+"/debug/healthz", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := decode(t, body); got["status"] != "ok" {
		t.Errorf("body %s, want status ok", body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	// hang ignores its context entirely, like a driver stuck in a syscall.
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })

	var laterCalls atomic.Int32
	// Parent cleanups run after all parallel subtests have finished.
	t.Cleanup(func() {
		if n := laterCalls.Load(); n != 0 {
			t.Errorf("a check after a failing one ran %d times", n)
		}
	})
	for _, tc := range []struct {
		name       string
		checks     []Check
		wantStatus int
		wantReason string
		wantDetail string
	}{
		{name: "no checks", wantStatus: http.StatusOK},
		{
			name:       "all pass",
			checks:     []Check{{"database", ok}, {"keys", ok}},
			wantStatus: http.StatusOK,
		},
		{
			name: "second fails",
			checks: []Check{
				{"database", ok},
				{"keys", func(context.Context) error { return errors.New("no signing key") }},
				{"later", func(context.Context) error { laterCalls.Add(1); return nil }},
			},
			wantStatus: http.StatusServiceUnavailable,
			wantReason: "keys",
			wantDetail: "no signing key",
		},
		{
			name: "honours timeout",
			checks: []Check{{"database", func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}}},
			wantStatus: http.StatusServiceUnavailable,
			wantReason: "database",
			wantDetail: "readiness timeout",
		},
		{
			name:       "ignores timeout",
			checks:     []Check{{"database", func(context.Context) error { <-hang; return nil }}},
			wantStatus: http.StatusServiceUnavailable,
			wantReason: "database",
			wantDetail: "readiness timeout",
		},
		{
			name:       "panics",
			checks:     []Check{{"cache", func(context.Context) error { panic("boom") }}},
			wantStatus: http.StatusServiceUnavailable,
			wantReason: "cache",
			wantDetail: "boom",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The hanging checks would block the probe until the test ends
			// if the timeout did not cut them off.
			b := setup(t, Options{Checks: tc.checks, ReadyTimeout: 200 * time.Millisecond}, nil)
			resp, body := do(t, nil, "GET", b.url+"/debug/ready", nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			got := decode(t, body)
			if tc.wantStatus == http.StatusOK {
				if got["status"] != "ready" {
					t.Errorf("body %s, want status ready", body)
				}
				return
			}
			if got["status"] != "unready" || got["reason"] != tc.wantReason || !strings.Contains(got["detail"], tc.wantDetail) {
				t.Errorf("body %s, want unready reason %q detail containing %q", body, tc.wantReason, tc.wantDetail)
			}
		})
	}
}

func TestReadyDraining(t *testing.T) {
	t.Parallel()
	s := New(Options{Checks: []Check{{"database", func(context.Context) error { return nil }}}})
	probe := func(path string) (int, map[string]string) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "GET", path, nil))
		return rec.Code, decode(t, rec.Body.Bytes())
	}
	if code, _ := probe("/debug/ready"); code != http.StatusOK {
		t.Fatalf("ready before draining = %d", code)
	}
	s.SetDraining()
	code, body := probe("/debug/ready")
	if code != http.StatusServiceUnavailable || body["status"] != "unready" || body["reason"] != "draining" {
		t.Errorf("ready while draining = %d %v, want 503 reason draining", code, body)
	}
	if code, body := probe("/debug/healthz"); code != http.StatusOK || body["status"] != "ok" {
		t.Errorf("healthz while draining = %d %v, want 200 ok", code, body)
	}
}

func TestUnmatched(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{}, nil)
	for _, tc := range []struct {
		name, method, path string
		wantStatus         int
		wantError          string
		wantMessage        string
	}{
		{"unknown path", "GET", "/nope/x", http.StatusNotFound, "not_found", "no route for GET /nope/x"},
		{"unknown method on path", "DELETE", "/nope", http.StatusNotFound, "not_found", "no route for DELETE /nope"},
		{"wrong method", "POST", "/debug/healthz", http.StatusMethodNotAllowed, "method_not_allowed", "method POST is not allowed for /debug/healthz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := do(t, nil, tc.method, b.url+tc.path, nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			got := decode(t, body)
			if got["error"] != tc.wantError || got["message"] != tc.wantMessage {
				t.Errorf("body %s, want error %q message %q", body, tc.wantError, tc.wantMessage)
			}
			if tc.wantStatus == http.StatusMethodNotAllowed && !strings.Contains(resp.Header.Get("Allow"), "GET") {
				t.Errorf("405 without Allow: GET (Allow %q)", resp.Header.Get("Allow"))
			}
		})
	}
}
