package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvURL names the environment variable holding the URL of an existing
// PostgreSQL server to create test databases on instead of starting one,
// e.g. postgres://postgres:secret@localhost:5432/postgres?sslmode=disable.
const EnvURL = "RAMPART_TEST_POSTGRES_URL"

// dbTimeout bounds creating or dropping one database.
const dbTimeout = 60 * time.Second

// shared is the throwaway cluster of this test binary, started on first use.
var shared struct {
	mu      sync.Mutex
	started bool
	stopped bool // by Main
	c       *Cluster
	err     error
}

// NewDatabase returns the connection URL of a new, empty database created
// for this test and dropped in t.Cleanup. The database lives on the server
// named by RAMPART_TEST_POSTGRES_URL when that is set, and otherwise in a
// throwaway cluster started once per test binary. It is safe to call from
// parallel tests, and it fails the test (never skips it) when no server is
// available.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if serverURL := os.Getenv(EnvURL); serverURL != "" {
		return newDatabase(t, serverURL, nil)
	}
	c, err := sharedCluster(t)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c.NewDatabase(t)
}

// Main runs the tests and then stops the throwaway cluster, if one was
// started, and removes its directory. Use it in TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.stopped = true
	if shared.c != nil {
		if err := shared.c.destroy(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// sharedCluster starts the shared cluster on first use. A failed start is
// not retried: every later caller gets the same error.
func sharedCluster(t testing.TB) (*Cluster, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.stopped {
		return nil, errors.New("pgtest.Main has already stopped the shared cluster")
	}
	if !shared.started {
		shared.started = true
		start := time.Now()
		shared.c, shared.err = newCluster(context.Background())
		if shared.err == nil {
			t.Logf("pgtest: started shared PostgreSQL cluster (%s) at %s in %v",
				shared.c.bin.dir, shared.c.URL(""), time.Since(start).Round(time.Millisecond))
		}
	}
	return shared.c, shared.err
}

// newDatabase creates a database on the server at serverURL and drops it in
// t.Cleanup, unless running says the server is down by then.
func newDatabase(t testing.TB, serverURL string, running func() bool) string {
	t.Helper()
	admin, err := adminURL(serverURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name, err := databaseName(t.Name())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	dbURL, err := withDatabase(serverURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), dbTimeout)
	defer cancel()
	if err := createDatabase(ctx, admin, name); err != nil {
		t.Fatalf("pgtest: create database %s on %s: %v", name, redacted(admin), err)
	}
	t.Cleanup(func() {
		if running != nil && !running() {
			return // The cluster is stopped and will be thrown away whole.
		}
		// t.Context is cancelled by the time clean-ups run.
		ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
		defer cancel()
		if err := dropDatabase(ctx, admin, name); err != nil {
			t.Errorf("pgtest: drop database %s on %s: %v", name, redacted(admin), err)
		}
	})
	return dbURL
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	for {
		_, err := conn.Exec(ctx, stmt)
		// 55006 object_in_use: someone is connected to template1 right now.
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// maxNameTestPart bounds the part of a database name taken from the test
// name; PostgreSQL identifiers have at most 63 bytes.
const maxNameTestPart = 32

// databaseName returns a new database name: "t_", the test name reduced to
// lower-case letters, digits and underscores, and a random suffix that makes
// it unique across parallel tests and test binaries.
func databaseName(testName string) (string, error) {
	var b strings.Builder
	b.WriteString("t_")
	last := '_'
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 2+maxNameTestPart {
			break
		}
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			r = '_'
		}
		if r == '_' && last == '_' {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	if last != '_' {
		b.WriteByte('_')
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	b.WriteString(hex.EncodeToString(suffix[:]))
	return b.String(), nil
}

// withDatabase returns serverURL pointing at database dbname instead of the
// one in its path. Everything else, query parameters included, is kept,
// except a dbname query parameter, which would override the path.
func withDatabase(serverURL, dbname string) (string, error) {
	u, err := parseServerURL(serverURL)
	if err != nil {
		return "", err
	}
	u.Path, u.RawPath = "/"+dbname, ""
	if q := u.Query(); q.Has("dbname") {
		q.Del("dbname")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// adminURL returns the URL used for CREATE and DROP DATABASE: serverURL, with
// the postgres database when it names none.
func adminURL(serverURL string) (string, error) {
	u, err := parseServerURL(serverURL)
	if err != nil {
		return "", err
	}
	if strings.Trim(u.Path, "/") != "" || u.Query().Has("dbname") {
		return serverURL, nil
	}
	return withDatabase(serverURL, "postgres")
}

func parseServerURL(serverURL string) (*url.URL, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		// url.Error repeats the URL, password included.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("server URL is not a valid URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("server URL %s: want a postgres:// or postgresql:// URL", u.Redacted())
	}
	return u, nil
}

// redacted returns rawURL with its password hidden, for messages.
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
