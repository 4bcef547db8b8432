package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/sqlite"
	"github.com/rampartiam/rampart/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "rampart.db")
		return func(t *testing.T) store.Store {
			s, err := sqlite.Open(t.Context(), sqlite.Options{Path: path, AppVersion: "v0.1.0-test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}
