package test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backendHeader names, in every response of the load balancer, the backend
// that served the request ("" when the balancer answered itself).
const backendHeader = "X-Test-Backend"

// lbBackend is one node behind the load balancer.
type lbBackend struct {
	name    string
	addr    atomic.Pointer[string] // host:port
	healthy atomic.Bool
}

// loadBalancer is a small HTTP load balancer in front of the test's nodes,
// the way nginx or HAProxy stand in front of a production cluster:
//
//   - Health checks: every healthEvery it asks each backend's /debug/ready.
//     200 puts the backend in rotation, anything else (503 while the node
//     is unready or draining, a refused connection, a timeout) takes it
//     out. One check decides (HAProxy rise 1 fall 1).
//   - Balancing: round-robin over the healthy backends; no stickiness, so
//     consecutive requests of one client (the steps of one login) land on
//     different nodes.
//   - Retries: a request is tried on another healthy backend only when no
//     connection to the chosen one could be established (a dial error:
//     refused, unreachable), like nginx `proxy_next_upstream error` for
//     connect failures or HAProxy `retry-on conn-failure`. Once the
//     request may have reached a backend it is never sent again, because
//     it may not be idempotent (a login, an admin write): an error after
//     that is the client's 502. The request body is buffered so that it
//     can be sent again after a connect failure.
//   - No healthy backend: 503 at once, as HAProxy answers.
//
// Every response names the backend that served it in backendHeader.
type loadBalancer struct {
	t           testing.TB
	backends    []*lbBackend
	next        atomic.Uint64
	transport   *http.Transport
	srv         *httptest.Server
	healthEvery time.Duration
}

// dialError marks an error of establishing the connection to a backend.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial backend: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// backendError is a failed exchange with a backend after the connection
// was established.
type backendError struct {
	backend string
	err     error
}

func (e *backendError) Error() string { return e.backend + ": " + e.err.Error() }
func (e *backendError) Unwrap() error { return e.err }

// errNoBackend is the balancer's answer when no backend is in rotation.
var errNoBackend = errors.New("no healthy backend")

// newLoadBalancer starts a balancer on a loopback port in front of the
// named backends (name → host:port). Health checking runs until the test
// ends.
func newLoadBalancer(t testing.TB, healthEvery time.Duration, names []string, addrs []string) *loadBalancer {
	t.Helper()
	lb := &loadBalancer{t: t, healthEvery: healthEvery}
	for i, n := range names {
		b := &lbBackend{name: n}
		a := addrs[i]
		b.addr.Store(&a)
		lb.backends = append(lb.backends, b)
	}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	lb.transport = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, &dialError{err}
			}
			return c, nil
		},
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.Host = pr.In.Host // the issuer is the balancer's address
			pr.Out.URL.Scheme = "http"
		},
		Transport: lb,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if be := (*backendError)(nil); errors.As(err, &be) {
				w.Header().Set(backendHeader, be.backend)
			}
			if errors.Is(err, errNoBackend) {
				http.Error(w, "no healthy backend", http.StatusServiceUnavailable)
				return
			}
			http.Error(w, "backend error: "+err.Error(), http.StatusBadGateway)
		},
	}
	lb.srv = httptest.NewServer(proxy)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		lb.checkLoop(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		lb.srv.Close()
		lb.transport.CloseIdleConnections()
	})
	return lb
}

// addr is the balancer's host:port, the Host of every request and so the
// issuer's authority.
func (lb *loadBalancer) addr() string { return lb.srv.Listener.Addr().String() }

// healthy reports whether the named backend is in rotation.
func (lb *loadBalancer) healthy(name string) bool {
	for _, b := range lb.backends {
		if b.name == name {
			return b.healthy.Load()
		}
	}
	return false
}

// waitHealthy waits until the named backends are all in rotation.
func (lb *loadBalancer) waitHealthy(names ...string) {
	lb.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		all := true
		for _, n := range names {
			all = all && lb.healthy(n)
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			lb.t.Fatalf("backends %v not all healthy after 90s", names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (lb *loadBalancer) checkLoop(ctx context.Context) {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(lb.healthEvery)
	defer tick.Stop()
	for {
		var wg sync.WaitGroup
		for _, b := range lb.backends {
			wg.Go(func() {
				ok := false
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+*b.addr.Load()+"/debug/ready", nil)
				if resp, err := hc.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == http.StatusOK
				}
				if ctx.Err() != nil {
					return
				}
				b.healthy.Store(ok)
			})
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pick returns the next healthy backend not yet tried, round-robin.
func (lb *loadBalancer) pick(tried map[*lbBackend]bool) *lbBackend {
	n := uint64(len(lb.backends))
	start := lb.next.Add(1)
	for i := range n {
		b := lb.backends[(start+i)%n]
		if b.healthy.Load() && !tried[b] {
			return b
		}
	}
	return nil
}

// RoundTrip sends the proxied request to a healthy backend, moving on to
// the next one only after a connect failure (see loadBalancer).
func (lb *loadBalancer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(io.LimitReader(req.Body, 1<<20))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	tried := map[*lbBackend]bool{}
	for {
		b := lb.pick(tried)
		if b == nil {
			return nil, errNoBackend
		}
		tried[b] = true
		out := req.Clone(req.Context())
		out.URL.Host = *b.addr.Load()
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			out.ContentLength = int64(len(body))
		}
		resp, err := lb.transport.RoundTrip(out)
		if de := (*dialError)(nil); errors.As(err, &de) {
			continue // nothing was sent: another backend may take it
		}
		if err != nil {
			return nil, &backendError{b.name, err}
		}
		resp.Header.Set(backendHeader, b.name)
		return resp, nil
	}
}

// TestLoadBalancer checks the balancer's own contract on plain HTTP
// backends: round-robin over healthy backends, out of rotation when
// /debug/ready fails, a connect failure retried elsewhere, 503 with no
// backend, and a request that reached a backend never sent twice.
func TestLoadBalancer(t *testing.T) {
	t.Parallel()
	var readyA, readyB atomic.Bool
	readyA.Store(true)
	readyB.Store(true)
	var hitsB atomic.Int64
	backend := func(name string, ready *atomic.Bool, hits *atomic.Int64) *httptest.Server {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /debug/ready", func(w http.ResponseWriter, r *http.Request) {
			if !ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if hits != nil {
				hits.Add(1)
			}
			b, _ := io.ReadAll(r.Body)
			if r.URL.Path == "/hang-up" {
				panic(http.ErrAbortHandler) // the request reached us; the connection dies
			}
			_, _ = io.WriteString(w, name+" "+r.Host+" "+string(b))
		})
		s := httptest.NewServer(mux)
		t.Cleanup(s.Close)
		return s
	}
	a := backend("a", &readyA, nil)
	b := backend("b", &readyB, &hitsB)
	lb := newLoadBalancer(t, 20*time.Millisecond, []string{"a", "b"}, []string{a.Listener.Addr().String(), b.Listener.Addr().String()})
	lb.waitHealthy("a", "b")
	c := &http.Client{Timeout: 10 * time.Second}
	post := func(lb *loadBalancer, path string) (int, string, string) {
		t.Helper()
		resp, err := c.Post("http://"+lb.addr()+path, "text/plain", bytes.NewBufferString("body"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get(backendHeader), string(got)
	}
	seen := map[string]int{}
	for range 20 {
		status, by, body := post(lb, "/x")
		if status != 200 || body != by+" "+lb.addr()+" body" {
			t.Fatalf("through the balancer: %d %q from %q", status, body, by)
		}
		seen[by]++
	}
	if seen["a"] != 10 || seen["b"] != 10 {
		t.Fatalf("served by %v, want a and b in turn", seen)
	}

	// A backend in rotation whose port refuses connections (it died since
	// the last check): the request goes to the next one. Checks are
	// hourly here, so the first check's verdict on "down" is overridden.
	down := freeAddr(t)
	lb2 := newLoadBalancer(t, time.Hour, []string{"a", "down"}, []string{a.Listener.Addr().String(), down})
	lb2.waitHealthy("a")
	lb2.backends[1].healthy.Store(true)
	for range 4 {
		if status, by, body := post(lb2, "/x"); status != 200 || by != "a" {
			t.Fatalf("with a refusing backend in rotation: %d %q from %q, want 200 from a", status, body, by)
		}
	}

	readyB.Store(false)
	deadline := time.Now().Add(30 * time.Second)
	for lb.healthy("b") {
		if time.Now().After(deadline) {
			t.Fatal("b still in rotation after it turned unready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := hitsB.Load()
	for range 10 {
		if status, by, _ := post(lb, "/x"); status != 200 || by != "a" {
			t.Fatalf("with b unready: %d from %q", status, by)
		}
	}
	if hitsB.Load() != before {
		t.Fatal("an unready backend got requests")
	}

	// A request that reached the backend is not retried, even though a
	// healthy backend is left.
	readyB.Store(true)
	lb.waitHealthy("a", "b")
	readyA.Store(false)
	for lb.healthy("a") {
		time.Sleep(10 * time.Millisecond)
	}
	before = hitsB.Load()
	if status, by, _ := post(lb, "/hang-up"); status != http.StatusBadGateway || by != "b" {
		t.Fatalf("backend hung up: status %d from %q, want 502 naming b", status, by)
	}
	if got := hitsB.Load() - before; got != 1 {
		t.Fatalf("the request reached the backends %d times, want once", got)
	}

	readyB.Store(false)
	for lb.healthy("a") || lb.healthy("b") {
		time.Sleep(10 * time.Millisecond)
	}
	if status, by, _ := post(lb, "/x"); status != http.StatusServiceUnavailable || by != "" {
		t.Fatalf("no healthy backend: %d from %q, want 503 from the balancer", status, by)
	}
}
