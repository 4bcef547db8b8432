package cluster_test

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/sqlite"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestSchemaGate(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var s store.Store
			if backend == "sqlite" {
				var err error
				s, err = sqlite.Open(t.Context(), sqlite.Options{Path: t.TempDir() + "/g.db", AppVersion: testenv.AppVersion})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
			} else {
				s = testenv.NewStore(t, backend)
			}
			reg := prometheus.NewRegistry()
			g := cluster.NewSchemaGate(s.Migrator(), testenv.AppVersion, slog.New(slog.DiscardHandler), reg)
			if err := g.Check(t.Context()); !errors.Is(err, cluster.ErrSchemaUnknown) {
				t.Fatalf("Check before Refresh = %v", err)
			}
			if err := cluster.WaitForDatabase(t.Context(), s, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			st, err := g.Refresh(t.Context())
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if backend == "sqlite" {
				// Fresh database: behind, not incompatible; Check says what to do.
				if len(st.Pending) == 0 {
					t.Fatal("fresh database has no pending migrations")
				}
				if err := g.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "rampart migrate") {
					t.Fatalf("Check on unmigrated schema = %v", err)
				}
				if got := gauge(t, reg, "rampart_schema_compatible"); got != 0 {
					t.Fatalf("compatible gauge = %v before migration", got)
				}
				if err := s.Migrator().Up(t.Context(), nil); err != nil {
					t.Fatal(err)
				}
				if _, err := g.Refresh(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if err := g.Check(t.Context()); err != nil {
				t.Fatalf("Check on migrated schema = %v", err)
			}
			if got := gauge(t, reg, "rampart_schema_compatible"); got != 1 {
				t.Fatalf("compatible gauge = %v", got)
			}
			if gauge(t, reg, "rampart_schema_version") != gauge(t, reg, "rampart_schema_required_version") {
				t.Fatal("current and required schema gauges differ after migration")
			}
		})
	}
}

// gauge reads a registered gauge by name.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
