package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/pgtest"
)

// tokenBenchInit declares the one api application the token benchmarks
// use (client_credentials, client_secret_basic, JWT access tokens).
const tokenBenchInit = `instances:
  - name: Bench
    domain: localhost
    additional-domains: ["127.0.0.1"]
    system: true
    organizations:
      - name: Bench
        projects:
          - name: Bench API
            applications:
              - name: Bench API
                type: api
                client-id: bench-api
                client-secret: "rcs_bench-only-api-secret-0123456789abcdef"
`

const (
	benchClientID     = "bench-api"
	benchClientSecret = "rcs_bench-only-api-secret-0123456789abcdef"
	// benchConcurrency is how many requests are in flight at once.
	benchConcurrency = 16
)

// BenchmarkClientCredentials measures the token endpoint of a real rampart
// process from the outside: POST /oauth/token with grant_type
// client_credentials (client_secret_basic; the answer is a signed RS256
// JWT, no database write) and POST /oauth/introspect of such a JWT by its
// own client (RFC 7662; one store round trip for the revocation check).
// Each runs b.N requests with benchConcurrency workers on keep-alive
// connections, on PostgreSQL and, for comparison, SQLite, and reports
// throughput (req/s) and the p50/p99 latency. ns/op is wall time divided
// by b.N, i.e. the inverse of the throughput. Run it with
//
//	go test -run '^$' -bench ClientCredentials -benchtime 3000x ./bench/
func BenchmarkClientCredentials(b *testing.B) {
	bin := rampartBinary(b)
	for _, backend := range []string{"postgres", "sqlite"} {
		b.Run(backend, func(b *testing.B) {
			env := []string{"RAMPART_DATA_DIR=" + b.TempDir()}
			if backend == "postgres" {
				env = append(env, "RAMPART_DATABASE="+pgtest.NewDatabase(b), "RAMPART_MASTERKEY="+benchMasterKey)
			}
			base := startTokenNode(b, bin, env)
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
				MaxIdleConns: benchConcurrency, MaxIdleConnsPerHost: benchConcurrency, IdleConnTimeout: time.Minute,
			}}
			b.Cleanup(client.CloseIdleConnections)
			grant := url.Values{"grant_type": {"client_credentials"}}.Encode()

			b.Run("token", func(b *testing.B) {
				load(b, func() error {
					body, err := postForm(client, base+"/oauth/token", grant)
					if err == nil && !bytes.Contains(body, []byte(`"access_token":"`)) {
						err = fmt.Errorf("no access token in %s", body)
					}
					return err
				})
			})

			body, err := postForm(client, base+"/oauth/token", grant)
			if err != nil {
				b.Fatal(err)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(body, &tok); err != nil || strings.Count(tok.AccessToken, ".") != 2 {
				b.Fatalf("token response %s: not a JWT (%v)", body, err)
			}
			introspect := url.Values{"token": {tok.AccessToken}}.Encode()
			b.Run("introspect-jwt", func(b *testing.B) {
				load(b, func() error {
					body, err := postForm(client, base+"/oauth/introspect", introspect)
					if err == nil && !bytes.Contains(body, []byte(`"active":true`)) {
						err = fmt.Errorf("token not active: %s", body)
					}
					return err
				})
			})
		})
	}
}

// startTokenNode starts `rampart start --init` with tokenBenchInit and
// returns its base URL once it is ready; the node stops at cleanup.
func startTokenNode(b *testing.B, bin string, env []string) string {
	b.Helper()
	dir := b.TempDir()
	initFile := filepath.Join(dir, "init.yaml")
	if err := os.WriteFile(initFile, []byte(tokenBenchInit), 0o600); err != nil {
		b.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "rampart.log"))
	if err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	cmd := exec.Command(bin, "start", "--http-addr", addr, "--log-level", "warn", "--init", initFile)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logFile.Close()
	})
	base := "http://" + addr
	probe := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := probe.Get(base + "/debug/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(logFile.Name())
			b.Fatalf("not ready after 60s (last error %v):\n%s", err, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// postForm POSTs a form as the bench client (client_secret_basic) and
// returns the body of a 200 answer.
func postForm(c *http.Client, target, form string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(benchClientID, benchClientSecret)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // read to the end: the connection is reused
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %d %s", target, resp.StatusCode, body)
	}
	return body, nil
}

// load runs fn b.N times on benchConcurrency workers and reports the
// throughput and the p50/p99 latency of single calls.
func load(b *testing.B, fn func() error) {
	b.Helper()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		all      = make([]time.Duration, 0, b.N)
		firstErr error
		wg       sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range benchConcurrency {
		wg.Go(func() {
			var mine []time.Duration
			var err error
			for next.Add(1) <= int64(b.N) && err == nil {
				t0 := time.Now()
				err = fn()
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			all = append(all, mine...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}
