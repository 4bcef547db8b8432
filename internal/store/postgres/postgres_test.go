package postgres_test

import (
	"os"
	"testing"

	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) func(t *testing.T) store.Store {
		url := pgtest.NewDatabase(t)
		return func(t *testing.T) store.Store {
			s, err := postgres.Open(t.Context(), postgres.Options{URL: url, AppVersion: "v0.1.0-test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}
