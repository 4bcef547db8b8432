package test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/store/sqlite"
)

// backendEnv describes how to point a process at a fresh database.
type backendEnv struct {
	name string
	env  []string
	open func(t *testing.T) store.Store // a handle for seeding/inspecting
}

func sqliteBackend(t *testing.T) backendEnv {
	dir := t.TempDir()
	return backendEnv{
		name: "sqlite",
		env:  []string{"RAMPART_DATA_DIR=" + dir},
		open: func(t *testing.T) store.Store {
			s, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(dir, "rampart.db"), AppVersion: "v0.1.0-test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func postgresBackend(t *testing.T, url string) backendEnv {
	return backendEnv{
		name: "postgres",
		env:  []string{"RAMPART_DATABASE=" + url, "RAMPART_MASTERKEY=" + testMasterKey, "RAMPART_DATA_DIR=" + t.TempDir()},
		open: func(t *testing.T) store.Store {
			s, err := postgres.Open(t.Context(), postgres.Options{URL: url, AppVersion: "v0.1.0-test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func eachBackend(t *testing.T, fn func(t *testing.T, b backendEnv)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, sqliteBackend(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); fn(t, postgresBackend(t, pgtest.NewDatabase(t))) })
}

// TestStartStopRestartKeepsData: a node becomes ready, SIGTERM exits 0, and
// a restart finds the data written before.
func TestStartStopRestartKeepsData(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backendEnv) {
		n := startNode(t, b.env)
		n.waitReady()
		if code, body := n.get("/debug/healthz"); code != 200 || !strings.Contains(body, "ok") {
			t.Fatalf("healthz = %d %s", code, body)
		}
		if code, body := n.get("/debug/metrics"); code != 200 || !strings.Contains(body, "rampart_schema_compatible 1") ||
			!strings.Contains(body, "rampart_http_requests_total") || !strings.Contains(body, "go_goroutines") {
			t.Fatalf("metrics = %d, missing series:\n%s", code, body)
		}
		n.signal(syscall.SIGTERM)
		if code := n.exitCode(60 * time.Second); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d", code)
		}

		// Write data while the node is down, as another node would.
		s := b.open(t)
		in, err := instance.New(s, nil).Create(t.Context(), iam.SystemActor, &iam.Instance{Name: "Kept", PrimaryDomain: "kept.example"})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()

		n2 := startNode(t, b.env)
		n2.waitReady()
		if strings.Contains(n2.stderr.String(), "migration applied") {
			t.Fatalf("restart re-applied migrations:\n%s", n2.stderr)
		}
		n2.signal(syscall.SIGINT)
		if code := n2.exitCode(60 * time.Second); code != 0 {
			t.Fatalf("exit code after SIGINT = %d", code)
		}
		s = b.open(t)
		got, err := s.InstanceGetByID(t.Context(), &store.InstanceGetByIDParams{ID: in.ID})
		if err != nil || got.Name != "Kept" {
			t.Fatalf("data after restart: %+v, %v", got, err)
		}
		if b.name == "sqlite" {
			key := filepath.Join(strings.TrimPrefix(b.env[0], "RAMPART_DATA_DIR="), "masterkey")
			fi, err := os.Stat(key)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("generated master key %s: %v %v", key, fi, err)
			}
			if !strings.Contains(n.stderr.String(), "no master key configured") {
				t.Fatal("no development master key warning")
			}
		}
	})
}

// TestMigrateRace runs several `rampart migrate` processes at once: all
// succeed and each migration is applied by exactly one of them.
func TestMigrateRace(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backendEnv) {
		const n = 3
		procs := make([]*proc, n)
		for i := range procs {
			procs[i] = startProc(t, b.env, "migrate")
		}
		applied := 0
		for i, p := range procs {
			if code := p.exitCode(2 * time.Minute); code != 0 {
				t.Fatalf("migrate %d exited %d: %s", i, code, p.stderr)
			}
			applied += strings.Count(p.stdout.String(), "applied 0")
		}
		s := b.open(t)
		st, err := s.Migrator().Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if applied != len(st.Known) || len(st.Pending) != 0 || len(st.Applied) != len(st.Known) {
			t.Fatalf("applied lines %d, known %d, status %+v", applied, len(st.Known), st)
		}
		code, out, _ := runRampart(t, b.env, "migrate", "status")
		if code != 0 || !strings.Contains(out, "00001") || !strings.Contains(out, "applied") {
			t.Fatalf("migrate status = %d:\n%s", code, out)
		}
	})
}

// TestNoMigrateWaitsForMigration: a node started with --no-migrate on an
// empty database stays unready (reason schema) until `rampart migrate` runs.
func TestNoMigrateWaitsForMigration(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backendEnv) {
		n := startNode(t, b.env, "--no-migrate")
		// Before the first schema check the detail says just that; then it
		// must say what to do.
		n.waitReadiness(60*time.Second, "unready telling to run rampart migrate", func(r readiness) bool {
			return r.Code == 503 && r.Reason == "schema" && strings.Contains(r.Detail, "rampart migrate")
		})
		if code, out, errOut := runRampart(t, b.env, "migrate"); code != 0 {
			t.Fatalf("migrate = %d\n%s\n%s", code, out, errOut)
		}
		n.waitReady()
	})
}

// TestRefusesIncompatibleSchema: a database migrated by a newer major
// version, or contracted by a newer binary, is refused with a clear message.
func TestRefusesIncompatibleSchema(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ phase, appVersion, want string }{
		{"expand", "v9.0.0", "different major version"},
		{"contract", "v0.99.0", "contract migration"},
	} {
		t.Run(tc.phase, func(t *testing.T) {
			t.Parallel()
			eachBackend(t, func(t *testing.T, b backendEnv) {
				if code, _, errOut := runRampart(t, b.env, "migrate"); code != 0 {
					t.Fatal(errOut)
				}
				recordFutureMigration(t, b, tc.phase, tc.appVersion)
				n := startNode(t, b.env)
				if code := n.exitCode(60 * time.Second); code != 1 {
					t.Fatalf("exit code %d, want 1", code)
				}
				if errOut := n.stderr.String(); !strings.Contains(errOut, "refusing to start") || !strings.Contains(errOut, tc.want) {
					t.Fatalf("stderr does not explain the refusal:\n%s", errOut)
				}
			})
		})
	}
}

// recordFutureMigration makes the database look migrated by a newer binary.
func recordFutureMigration(t *testing.T, b backendEnv, phase, appVersion string) {
	t.Helper()
	ctx := t.Context()
	const q = `INSERT INTO rampart_schema_migrations (version, name, phase, app_version, applied_at) VALUES (9999, 'future', $1, $2, '2030-01-01T00:00:00Z')`
	switch b.name {
	case "sqlite":
		s := b.open(t).(*sqlite.Store)
		w, _ := s.DB()
		if _, err := w.ExecContext(ctx, q, phase, appVersion); err != nil {
			t.Fatal(err)
		}
	case "postgres":
		s := b.open(t).(*postgres.Store)
		if _, err := s.Pool().Exec(ctx, q, phase, appVersion); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDatabaseOutage: a node started before its database waits (healthz up,
// ready 503 "database"), becomes ready when it appears, turns unready when
// it goes away and recovers by itself when it returns — without a restart.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t)
	url := c.NewDatabase(t)
	b := postgresBackend(t, url)
	c.Stop(t)

	n := startNode(t, append(b.env, "RAMPART_DATABASE_POOL_CONNECT_TIMEOUT=1s"))
	n.waitUnready("database")
	if code, _ := n.get("/debug/healthz"); code != 200 {
		t.Fatalf("healthz while database down = %d", code)
	}
	c.Start(t)
	n.waitReady()

	c.Stop(t)
	start := time.Now()
	r := n.waitUnready("database")
	t.Logf("unready %s after the database stopped: %+v", time.Since(start).Round(time.Millisecond), r)
	// Probes fail fast while the database is down.
	probeStart := time.Now()
	if r, err := n.ready(); err != nil || r.Code != 503 {
		t.Fatalf("probe during outage: %+v %v", r, err)
	}
	if d := time.Since(probeStart); d > 4*time.Second {
		t.Fatalf("probe during outage took %s", d)
	}
	c.Start(t)
	start = time.Now()
	n.waitReady()
	t.Logf("ready %s after the database returned", time.Since(start).Round(time.Millisecond))
	if strings.Contains(n.stderr.String(), "panic") {
		t.Fatalf("panic in log:\n%s", n.stderr)
	}
	n.signal(syscall.SIGTERM)
	if code := n.exitCode(60 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestBadConfigurationExits2 covers the problems an operator makes: each
// exits 2 with one readable message naming the problem and no stack trace.
func TestBadConfigurationExits2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	badYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("http-addr: \":1\"\nlog:\n  levle: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy := freeAddr(t)
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", busy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"unknown yaml key", nil, []string{"start", "--config", badYAML}, []string{"levle"}},
		{"several problems at once", []string{"RAMPART_LOG_LEVEL=loud", "RAMPART_LOG_FORMAT=xml", "RAMPART_DATA_DIR=" + dir}, []string{"start", "--http-addr", "nonsense"}, []string{"log.level", "log.format", "http-addr"}},
		{"bad database url", []string{"RAMPART_DATA_DIR=" + dir}, []string{"start", "--database", "mysql://x"}, []string{"database"}},
		{"unusable data dir", nil, []string{"start", "--data-dir", filepath.Join(notADir, "sub"), "--http-addr", freeAddr(t)}, []string{"data directory", "not a directory"}},
		{"occupied port", []string{"RAMPART_DATA_DIR=" + dir}, []string{"start", "--http-addr", busy}, []string{"cannot listen on " + busy}},
		{"postgres without master key", nil, []string{"start", "--database", "postgres://u:secretpw@127.0.0.1:1/db", "--http-addr", freeAddr(t)}, []string{"no master key", "openssl rand -base64 32"}},
		{"bad flag", nil, []string{"start", "--no-such-flag"}, []string{"unknown flag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runRampart(t, tc.env, tc.args...)
			if code != 2 {
				t.Fatalf("exit code %d, want 2; stderr:\n%s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "secretpw") {
				t.Errorf("stderr has a stack trace or a secret:\n%s", errOut)
			}
		})
	}
}

func TestVersionAndDefaults(t *testing.T) {
	t.Parallel()
	code, out, _ := runRampart(t, nil, "version")
	sq, _ := sqlite.Migrations()
	pg, _ := postgres.Migrations()
	for _, want := range []string{"rampart v", "commit:", "go:      go1.",
		fmt.Sprintf("schema:  %d (sqlite)", sq[len(sq)-1].Version), fmt.Sprintf("schema:  %d (postgres)", pg[len(pg)-1].Version)} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("version = %d, lacks %q:\n%s", code, want, out)
		}
	}
	code, out, _ = runRampart(t, nil, "config", "defaults")
	golden, err := os.ReadFile("../internal/config/testdata/defaults.golden.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || out != string(golden) {
		t.Fatalf("config defaults = %d, differs from the golden file:\n%s", code, out)
	}
}
