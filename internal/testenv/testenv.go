// Package testenv is the test-helper package: factories that give a test a
// fresh, migrated store on every backend. Tests import it; production code
// never does.
//
// PostgreSQL databases come from internal/pgtest, so a package whose tests
// use testenv needs
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Imports: internal/store and both backends, internal/pgtest.
package testenv

import (
	"path/filepath"
	"testing"

	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/store/sqlite"
)

// AppVersion is the version tests record with migrations.
const AppVersion = "v0.1.0-test"

// Backends lists the backends every service test runs on.
var Backends = []string{"sqlite", "postgres"}

// NewStore returns a migrated store on a fresh database of the backend,
// closed when the test ends.
func NewStore(t testing.TB, backend string) store.Store {
	t.Helper()
	var s store.Store
	var err error
	switch backend {
	case "sqlite":
		s, err = sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "rampart.db"), AppVersion: AppVersion})
	case "postgres":
		s, err = postgres.Open(t.Context(), postgres.Options{URL: pgtest.NewDatabase(t), AppVersion: AppVersion})
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	if err != nil {
		t.Fatalf("open %s store: %v", backend, err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrator().Up(t.Context(), nil); err != nil {
		t.Fatalf("migrate %s store: %v", backend, err)
	}
	return s
}

// EachBackend runs fn as a parallel subtest per backend, each with its own
// fresh store.
func EachBackend(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	for _, b := range Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, NewStore(t, b))
		})
	}
}
