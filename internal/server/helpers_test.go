package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitTimeout is how long tests wait for something that should happen; it
// is generous because the test machine is slow and shared.
const waitTimeout = 30 * time.Second

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the decoded log records so far.
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	data := b.buf.String()
	b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitRecord polls until a record satisfying match appears and returns it.
func (b *logBuffer) waitRecord(t *testing.T, match func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(t, "a matching log record", func() bool {
		for _, r := range b.records(t) {
			if match(r) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// bundle is a running server under test.
type bundle struct {
	srv    *Server
	url    string
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error // receives Serve's result
}

// setup creates a server on a free loopback port, lets mount register
// handlers, and serves until the test ends (or stop is called).
func setup(t *testing.T, o Options, mount func(s *Server)) *bundle {
	t.Helper()
	logs := &logBuffer{}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s := New(o)
	if mount != nil {
		mount(s)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	b := &bundle{srv: s, url: "http://" + s.Addr().String(), logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { b.done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.done:
		case <-time.After(waitTimeout):
			t.Errorf("Serve did not return after cancel")
		}
	})
	return b
}

// stop cancels the serve context and returns Serve's result.
func (b *bundle) stop(t *testing.T) error {
	t.Helper()
	b.cancel()
	select {
	case err := <-b.done:
		b.done <- err // let the cleanup see it too
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("Serve did not return within %s after cancel", waitTimeout)
		return nil
	}
}

// do performs a request with c (http.DefaultClient if nil) and returns the
// status, headers and body.
func do(t *testing.T, c *http.Client, method, url string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	if c == nil {
		c = &http.Client{Timeout: waitTimeout}
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, body
}

// decode unmarshals a JSON body into a string map.
func decode(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object of strings: %v: %s", err, body)
	}
	return m
}
