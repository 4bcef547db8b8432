package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/rampartiam/rampart/internal/store/sqlite"
)

// TestClusterLeader reads River's leader row; an expired row is no leader.
func TestClusterLeader(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "rampart.db"), AppVersion: "v0.1.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrator().Up(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w, _ := s.DB()
	for _, tc := range []struct {
		expires, want string
	}{
		{"datetime('now', 'subsec', '+60 seconds')", "node-1"},
		{"datetime('now', 'subsec', '-1 seconds')", ""},
		{"strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+60 seconds')", "node-1"}, // ISO 8601 with T and Z
	} {
		if _, err := w.ExecContext(ctx, `DELETE FROM river_leader`); err != nil {
			t.Fatal(err)
		}
		if _, err := w.ExecContext(ctx, `INSERT INTO river_leader (elected_at, expires_at, leader_id)
			VALUES (datetime('now', 'subsec'), `+tc.expires+`, 'node-1')`); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ClusterLeader(ctx); got != tc.want || err != nil {
			t.Errorf("expires %s: leader %q, %v; want %q", tc.expires, got, err, tc.want)
		}
	}
}
