package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", dbURL, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestNewDatabaseIsolatesParallelTests(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			dbURL := NewDatabase(t)
			t.Logf("NewDatabase took %v", time.Since(start))
			conn := connect(t, dbURL)

			// Both tests create the same table: each has its own database.
			if _, err := conn.Exec(t.Context(), "CREATE TABLE widget (name text PRIMARY KEY)"); err != nil {
				t.Fatalf("create table: %v", err)
			}
			if _, err := conn.Exec(t.Context(), "INSERT INTO widget VALUES ($1)", name); err != nil {
				t.Fatalf("insert: %v", err)
			}
			rows, _ := conn.Query(t.Context(), "SELECT name FROM widget")
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatalf("select: %v", err)
			}
			if len(got) != 1 || got[0] != name {
				t.Errorf("widget rows = %q, want [%q]", got, name)
			}
		})
	}
}

func TestNewDatabaseDropsDatabaseAfterTest(t *testing.T) {
	t.Parallel()
	var dbURL string
	t.Run("inner", func(t *testing.T) {
		dbURL = NewDatabase(t)
		connect(t, dbURL) // Left open on purpose: the drop must force it closed.
	})
	name := dbNameOf(t, dbURL)
	admin := connect(t, strings.Replace(dbURL, "/"+name+"?", "/postgres?", 1))
	var n int
	if err := admin.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatalf("look up database: %v", err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func dbNameOf(t *testing.T, dbURL string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatalf("parse %s: %v", dbURL, err)
	}
	return cfg.Database
}

func TestClusterStopStartKeepsData(t *testing.T) {
	t.Parallel()
	c := StartCluster(t)
	dbURL := c.NewDatabase(t)
	conn := connect(t, dbURL)
	if _, err := conn.Exec(t.Context(), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := conn.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}

	start := time.Now()
	c.Stop(t)
	t.Logf("Stop took %v", time.Since(start))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, dbURL); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped cluster")
	}
	c.Stop(t) // Stopping again does nothing.

	start = time.Now()
	c.Start(t)
	t.Logf("Start took %v", time.Since(start))
	var v int
	if err := connect(t, dbURL).QueryRow(t.Context(), "SELECT v FROM kept").Scan(&v); err != nil {
		t.Fatalf("read after restart: %v", err)
	}
	if v != 42 {
		t.Errorf("v = %d after restart, want 42", v)
	}
}

// TestNewDatabaseUsesEnvURL points RAMPART_TEST_POSTGRES_URL at the shared
// throwaway cluster. It cannot be parallel: it sets an environment variable.
func TestNewDatabaseUsesEnvURL(t *testing.T) {
	c, err := sharedCluster(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		serverURL string
	}{
		{"with admin database", c.URL("postgres")},
		{"without database", strings.Replace(c.URL(""), "/?", "?", 1)},
		{"postgresql scheme", strings.Replace(c.URL("postgres"), "postgres://", "postgresql://", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvURL, tc.serverURL)
			dbURL := NewDatabase(t)
			want := dbNameOf(t, dbURL)
			if !strings.HasPrefix(want, "t_testnewdatabaseusesenvurl_") {
				t.Errorf("database name %q does not start with the test name", want)
			}
			var got string
			if err := connect(t, dbURL).QueryRow(t.Context(), "SELECT current_database()").Scan(&got); err != nil {
				t.Fatalf("query: %v", err)
			}
			if got != want {
				t.Errorf("current_database() = %q, want %q", got, want)
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, serverURL, want, wantErr string
	}{
		{
			name:      "replaces path, keeps query",
			serverURL: "postgres://u:p%40ss@db.example:5433/postgres?sslmode=require&application_name=x",
			want:      "postgres://u:p%40ss@db.example:5433/t_x?sslmode=require&application_name=x",
		},
		{
			name:      "adds path",
			serverURL: "postgres://u@localhost",
			want:      "postgres://u@localhost/t_x",
		},
		{
			name:      "postgresql scheme",
			serverURL: "postgresql://u@localhost:5432/",
			want:      "postgresql://u@localhost:5432/t_x",
		},
		{
			name:      "drops dbname parameter",
			serverURL: "postgres://u@localhost/a?dbname=b&sslmode=disable",
			want:      "postgres://u@localhost/t_x?sslmode=disable",
		},
		{
			name:      "keyword/value string",
			serverURL: "host=localhost user=u",
			wantErr:   "want a postgres:// or postgresql:// URL",
		},
		{
			name:      "other scheme, password hidden",
			serverURL: "mysql://u:secret@localhost/db",
			wantErr:   "mysql://u:xxxxx@localhost/db",
		},
		{
			name:      "unparsable, password hidden",
			serverURL: "postgres://u:secret@local host/db",
			wantErr:   "not a valid URL",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := withDatabase(tc.serverURL, "t_x")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "secret") {
					t.Fatalf("withDatabase(%q) = %q, %v; want error containing %q without the password", tc.serverURL, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("withDatabase(%q) = %q, %v; want %q", tc.serverURL, got, err, tc.want)
			}
		})
	}
}

func TestAdminURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, serverURL, want string }{
		{"keeps database", "postgres://u@h/admin?sslmode=disable", "postgres://u@h/admin?sslmode=disable"},
		{"defaults to postgres", "postgres://u@h?sslmode=disable", "postgres://u@h/postgres?sslmode=disable"},
		{"empty path", "postgres://u@h/", "postgres://u@h/postgres"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got, err := adminURL(tc.serverURL); err != nil || got != tc.want {
				t.Errorf("adminURL(%q) = %q, %v; want %q", tc.serverURL, got, err, tc.want)
			}
		})
	}
}

func TestDatabaseName(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^t_([a-z0-9_]*_)?[0-9a-f]{12}$`)
	for _, tc := range []struct{ name, testName, prefix string }{
		{"plain", "TestFoo", "t_testfoo_"},
		{"subtest", "TestFoo/with space#01", "t_testfoo_with_space_01_"},
		{"long", "Test" + strings.Repeat("x", 100), "t_test" + strings.Repeat("x", 28) + "_"},
		{"only symbols", "///", "t_"},
		{"non-ASCII", "TestÜber", "t_test_ber_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := databaseName(tc.testName)
			if err != nil {
				t.Fatal(err)
			}
			b, err := databaseName(tc.testName)
			if err != nil {
				t.Fatal(err)
			}
			if a == b {
				t.Errorf("two names for %q are both %q", tc.testName, a)
			}
			if !strings.HasPrefix(a, tc.prefix) || !valid.MatchString(a) || len(a) > 63 {
				t.Errorf("databaseName(%q) = %q, want %q + 12 hex digits, at most 63 bytes", tc.testName, a, tc.prefix)
			}
		})
	}
}

func TestClusterStartFailsWhenPortTaken(t *testing.T) {
	t.Parallel()
	c := StartCluster(t)
	c.Stop(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)))
	if err != nil {
		t.Fatalf("take the cluster's port: %v", err)
	}
	defer l.Close()
	c.mu.Lock()
	err = c.startLocked(t.Context())
	c.mu.Unlock()
	if !errors.Is(err, errPortInUse) {
		t.Fatalf("start on a taken port: %v, want errPortInUse", err)
	}
	t.Logf("start on a taken port: %v", err)
	if c.running() {
		t.Error("cluster counts as running after a failed start")
	}
}

// TestFindBinariesExplainsInstall cannot be parallel: it clears PATH.
func TestFindBinariesExplainsInstall(t *testing.T) {
	t.Setenv("PATH", "")
	_, err := findBinariesIn(filepath.Join(t.TempDir(), "*", "bin"))
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y postgresql") || !strings.Contains(err.Error(), EnvURL) {
		t.Errorf("findBinariesIn with nothing installed: %v, want advice to install PostgreSQL or set %s", err, EnvURL)
	}
}

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int // sign
	}{
		{"15", "9.6", 1},
		{"9.6", "10", -1},
		{"16", "16", 0},
		{"13", "13.1", -1},
	} {
		t.Run(tc.a+"_vs_"+tc.b, func(t *testing.T) {
			t.Parallel()
			got := compareVersions(tc.a, tc.b)
			if (got > 0) != (tc.want > 0) || (got < 0) != (tc.want < 0) {
				t.Errorf("compareVersions(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

const helperEnv = "PGTEST_HELPER_PROCESS"

// TestHelperProcess is not a test: TestClusterDiesWithTestProcess runs the
// test binary with helperEnv set to make it start a cluster, report it and
// wait to be killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	c := StartCluster(t)
	c.mu.Lock()
	pid := c.proc.cmd.Process.Pid
	c.mu.Unlock()
	fmt.Printf("cluster %d %s\n", pid, c.dir)
	_, _ = io.Copy(io.Discard, os.Stdin) // Returns when the parent goes away.
}

// TestClusterDiesWithTestProcess kills a test process that started a
// cluster, the way a test timeout would, and checks that postgres goes down
// with it and that the next run removes the leftover directory.
func TestClusterDiesWithTestProcess(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	var dir string
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		if _, err := fmt.Sscanf(sc.Text(), "cluster %d %s", &pid, &dir); err == nil {
			break
		}
	}
	if pid == 0 {
		_ = cmd.Wait()
		t.Fatalf("helper process did not report a cluster; stderr:\n%s", stderr.String())
	}
	if !alive(pid) {
		t.Fatalf("postgres %d is not running before the kill", pid)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("postgres %d still running 60s after its test process was killed", pid)
		}
		time.Sleep(50 * time.Millisecond) // Polling an external process: nothing to wait on.
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("cluster directory of the killed process: %v", err)
	}
	removeStaleDirs()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("stale cluster directory %s not removed: %v", dir, err)
	}
}

// BenchmarkNewDatabase measures creating a database; dropping happens in
// clean-ups after the benchmark.
func BenchmarkNewDatabase(b *testing.B) {
	for b.Loop() {
		NewDatabase(b)
	}
}
