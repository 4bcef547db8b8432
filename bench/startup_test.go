package bench

import (
	"fmt"
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

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// rampartBinary builds the binary once per benchmark run.
func rampartBinary(b *testing.B) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rampart-bench-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "rampart")
		out, err := exec.Command("go", "build", "-o", binary, "../cmd/rampart").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return binary
}

const benchMasterKey = "YmVuY2gtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE="

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// BenchmarkStartup measures process start → first 200 from /debug/ready
// with a built binary on an already migrated database ("warm", the common
// restart and scale-out case) and on an empty one ("fresh", which includes
// applying every migration). Targets: under 300 ms on SQLite and under
// 500 ms on PostgreSQL.
func BenchmarkStartup(b *testing.B) {
	bin := rampartBinary(b)
	b.Run("sqlite/warm", func(b *testing.B) {
		dir := b.TempDir()
		env := []string{"RAMPART_DATA_DIR=" + dir}
		migrate(b, bin, env)
		measure(b, bin, func(int) []string { return env })
	})
	b.Run("sqlite/fresh", func(b *testing.B) {
		measure(b, bin, func(int) []string { return []string{"RAMPART_DATA_DIR=" + b.TempDir()} })
	})
	b.Run("postgres/warm", func(b *testing.B) {
		env := []string{"RAMPART_DATABASE=" + pgtest.NewDatabase(b), "RAMPART_MASTERKEY=" + benchMasterKey}
		migrate(b, bin, env)
		measure(b, bin, func(int) []string { return env })
	})
	b.Run("postgres/fresh", func(b *testing.B) {
		measure(b, bin, func(int) []string {
			return []string{"RAMPART_DATABASE=" + pgtest.NewDatabase(b), "RAMPART_MASTERKEY=" + benchMasterKey}
		})
	})
}

func migrate(b *testing.B, bin string, env []string) {
	cmd := exec.Command(bin, "migrate")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("migrate: %v\n%s", err, out)
	}
}

// measure starts the node b.N times and reports the mean time to ready.
func measure(b *testing.B, bin string, envFor func(i int) []string) {
	client := &http.Client{Timeout: time.Second}
	var total time.Duration
	var worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env := envFor(i)
		addr := freeAddr(b)
		cmd := exec.Command(bin, "start", "--http-addr", addr, "--log-level", "warn")
		cmd.Env = append(os.Environ(), env...)
		b.StartTimer()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			resp, err := client.Get("http://" + addr + "/debug/ready")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Since(start) > 30*time.Second {
				_ = cmd.Process.Kill()
				b.Fatalf("not ready after 30s (last error %v)", err)
			}
			time.Sleep(time.Millisecond)
		}
		d := time.Since(start)
		b.StopTimer()
		total += d
		worst = max(worst, d)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("exit after SIGTERM: %v", err)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-ready")
	b.ReportMetric(float64(worst.Milliseconds()), "ms-worst")
}
