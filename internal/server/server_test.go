package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: waitTimeout, Transport: &http.Transport{Protocols: &p}}
}

func TestListenAddressInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	s := New(Options{Addr: addr})
	err = s.Listen()
	if err == nil {
		t.Fatalf("Listen on occupied %s succeeded", addr)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error %v does not wrap EADDRINUSE", err)
	}
	for _, want := range []string{addr, "already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if s.Addr() != nil {
		t.Errorf("Addr() = %v after failed Listen, want nil", s.Addr())
	}
}

func TestServeReturnsListenError(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s := New(Options{Addr: busy.Addr().String()})
	if err := s.Serve(t.Context()); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Serve on occupied port = %v, want EADDRINUSE", err)
	}
}

func TestProtocols(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{}, func(s *Server) {
		s.Handle("GET /proto", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%d", r.ProtoMajor)
		}))
	})
	for _, tc := range []struct {
		name   string
		client *http.Client
		want   int
	}{
		{"http1", &http.Client{Timeout: waitTimeout}, 1},
		{"h2c", h2cClient(), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := do(t, tc.client, "GET", b.url+"/proto", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if resp.ProtoMajor != tc.want || string(body) != fmt.Sprint(tc.want) {
				t.Errorf("client saw HTTP/%d, handler saw HTTP/%s; want %d", resp.ProtoMajor, body, tc.want)
			}
		})
	}
}

// slowRoute mounts GET /slow, which signals started and then waits for
// release (or for its request to be cancelled).
func slowRoute(started chan<- struct{}, release <-chan struct{}) func(*Server) {
	return func(s *Server) {
		s.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			select {
			case <-release:
				io.WriteString(w, "finished")
			case <-r.Context().Done():
			}
		}))
	}
}

// waitListenerClosed polls until addr refuses connections, the sign that
// Shutdown has begun.
func waitListenerClosed(t *testing.T, addr string) {
	t.Helper()
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
}

func TestGracefulDrain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		client *http.Client
	}{
		{"http1", &http.Client{Timeout: waitTimeout}},
		{"h2c", h2cClient()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			started, release := make(chan struct{}, 1), make(chan struct{})
			b := setup(t, Options{DrainTimeout: waitTimeout}, slowRoute(started, release))

			type result struct {
				status int
				body   string
				err    error
			}
			res := make(chan result, 1)
			go func() {
				resp, err := tc.client.Get(b.url + "/slow")
				if err != nil {
					res <- result{err: err}
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				res <- result{resp.StatusCode, string(body), err}
			}()
			<-started

			b.cancel()
			waitListenerClosed(t, b.srv.Addr().String())
			if !b.srv.draining.Load() {
				t.Error("server not marked draining after shutdown began")
			}
			close(release)

			r := <-res
			if r.err != nil || r.status != http.StatusOK || r.body != "finished" {
				t.Errorf("in-flight request = %d %q, %v; want 200 \"finished\"", r.status, r.body, r.err)
			}
			if err := b.stop(t); err != nil {
				t.Errorf("Serve = %v, want nil after clean drain", err)
			}
		})
	}
}

// TestDrainDelay checks the time between the shutdown signal and the drain:
// the server reports "draining" on /debug/ready but keeps serving, on old
// and new connections, telling clients to close them; only when the delay
// is over does it stop accepting and drain.
func TestDrainDelay(t *testing.T) {
	t.Parallel()
	delayStarted := make(chan time.Duration, 1)
	delayOver := make(chan time.Time)
	b := setup(t, Options{DrainDelay: time.Hour, DrainTimeout: waitTimeout}, func(s *Server) {
		s.after = func(d time.Duration) <-chan time.Time {
			delayStarted <- d
			return delayOver
		}
	})
	kept := &http.Client{Timeout: waitTimeout, Transport: &http.Transport{}}
	if resp, _ := do(t, kept, "GET", b.url+"/debug/healthz", nil); resp.Close {
		t.Fatal("before the signal the response said Connection: close")
	}

	b.cancel()
	select {
	case d := <-delayStarted:
		if d != time.Hour {
			t.Fatalf("delay %s, want 1h", d)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the drain delay did not start after the signal")
	}
	resp, body := do(t, kept, "GET", b.url+"/debug/ready", nil)
	if m := decode(t, body); resp.StatusCode != http.StatusServiceUnavailable || m["reason"] != "draining" {
		t.Fatalf("ready during the delay = %d %v, want 503 draining", resp.StatusCode, m)
	}
	if !resp.Close { // the client transport reads and removes "Connection: close"
		t.Error("response on the kept-alive connection did not say Connection: close")
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
	}{
		{"new http1 connection", &http.Client{Timeout: waitTimeout, Transport: &http.Transport{}}},
		{"new h2c connection", h2cClient()},
	} {
		resp, _ := do(t, tc.client, "GET", b.url+"/debug/healthz", nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s during the delay = %d, want 200", tc.name, resp.StatusCode)
		}
		if resp.ProtoMajor == 1 && !resp.Close {
			t.Errorf("%s during the delay: no Connection: close", tc.name)
		}
	}
	select {
	case err := <-b.done:
		t.Fatalf("Serve returned during the delay: %v", err)
	default:
	}

	close(delayOver)
	waitListenerClosed(t, b.srv.Addr().String())
	if err := b.stop(t); err != nil {
		t.Errorf("Serve = %v, want nil after the delay and a clean drain", err)
	}
}

// TestDrainClosesIdleH2C checks that an open, idle h2c connection does not
// hold up the drain: if it did, Serve would wait for the full DrainTimeout
// and return an error.
func TestDrainClosesIdleH2C(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{DrainTimeout: 10 * time.Minute}, nil)
	c := h2cClient()
	resp, _ := do(t, c, "GET", b.url+"/debug/healthz", nil)
	if resp.ProtoMajor != 2 {
		t.Fatalf("HTTP/%d, want 2", resp.ProtoMajor)
	}
	if err := b.stop(t); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
}

func TestDrainTimeout(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	b := setup(t, Options{DrainTimeout: 50 * time.Millisecond}, slowRoute(started, release))

	clientErr := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Timeout: waitTimeout}).Get(b.url + "/slow")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-started

	err := b.stop(t)
	if err == nil {
		t.Fatal("Serve = nil, want a drain timeout error")
	}
	if !strings.Contains(err.Error(), "1 request(s) still in flight") {
		t.Errorf("Serve error %q does not count the aborted request", err)
	}
	if cerr := <-clientErr; cerr == nil {
		t.Error("aborted request completed without error on the client")
	}
}

func TestHandleAfterServePanics(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{}, nil)
	// Serve marks the server started before it does anything else; wait
	// for it to be serving.
	do(t, nil, "GET", b.url+"/debug/healthz", nil)
	defer func() {
		if recover() == nil {
			t.Error("Handle after Serve did not panic")
		}
	}()
	b.srv.Handle("GET /late", http.NotFoundHandler())
}

func TestServeTwice(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{}, nil)
	do(t, nil, "GET", b.url+"/debug/healthz", nil)
	if err := b.srv.Serve(t.Context()); err == nil {
		t.Error("second Serve returned nil")
	}
}

// TestHandlerWithoutListener checks Handler works with httptest alone.
func TestHandlerWithoutListener(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("healthz via Handler = %d", rec.Code)
	}
}
