package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/pgtest"
)

// binary is the rampart binary built once for this test run.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rampart-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "rampart")
	build := exec.Command("go", "build", "-o", binary, "../cmd/rampart")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building rampart:", err)
		return 1
	}
	return pgtest.Main(m)
}

// testMasterKey is a fixed test-only master key.
const testMasterKey = "dGVzdC1vbmx5LW1hc3Rlci1rZXktMzItYnl0ZXMhISE="

// freeAddr returns a loopback address with a currently free port.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running rampart process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	addr   string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

// startProc starts `rampart args...` with env added to a minimal environment.
func startProc(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	// No load balancer waits to see a node unready, except in the high
	// availability test, which sets its own drain delay (later entries win).
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "RAMPART_SHUTDOWN_DRAIN_DELAY=0s"}, env...)
	p := &proc{t: t, cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("rampart %v stdout:\n%s\nstderr:\n%s", args, p.stdout, p.stderr)
		}
	})
	return p
}

// startNode starts `rampart start` on a free loopback port.
func startNode(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	p := startProc(t, append(env, "RAMPART_HTTP_ADDR="+addr), append([]string{"start"}, args...)...)
	p.addr = addr
	return p
}

// exitCode waits up to timeout for the process to exit and returns its code.
func (p *proc) exitCode(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("process did not exit within %s\nstderr:\n%s", timeout, p.stderr)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// readiness is the /debug/ready answer.
type readiness struct {
	Code   int
	Status string `json:"status"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

var client = &http.Client{Timeout: 5 * time.Second}

func (p *proc) ready() (readiness, error) {
	resp, err := client.Get("http://" + p.addr + "/debug/ready")
	if err != nil {
		return readiness{}, err
	}
	defer resp.Body.Close()
	var r readiness
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &r); err != nil {
		return readiness{}, fmt.Errorf("ready body %q: %w", body, err)
	}
	r.Code = resp.StatusCode
	return r, nil
}

// waitReady polls /debug/ready until cond holds, failing after timeout
// (generous: the machine may be slow and busy).
func (p *proc) waitReadiness(timeout time.Duration, what string, cond func(readiness) bool) readiness {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var last readiness
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("process exited (%v) while waiting for %s\nstderr:\n%s", p.err, what, p.stderr)
		default:
		}
		last, lastErr = p.ready()
		if lastErr == nil && cond(last) {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("not %s after %s: last answer %+v, err %v", what, timeout, last, lastErr)
	return last
}

func (p *proc) waitReady() {
	p.t.Helper()
	p.waitReadiness(60*time.Second, "ready", func(r readiness) bool { return r.Code == 200 && r.Status == "ready" })
}

func (p *proc) waitUnready(reason string) readiness {
	p.t.Helper()
	return p.waitReadiness(60*time.Second, "unready with reason "+reason, func(r readiness) bool { return r.Code == 503 && r.Reason == reason })
}

func (p *proc) get(path string) (int, string) {
	p.t.Helper()
	resp, err := client.Get("http://" + p.addr + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// runRampart runs a short command and returns exit code, stdout, stderr.
func runRampart(t testing.TB, env []string, args ...string) (int, string, string) {
	t.Helper()
	p := startProc(t, env, args...)
	code := p.exitCode(2 * time.Minute)
	return code, p.stdout.String(), p.stderr.String()
}
