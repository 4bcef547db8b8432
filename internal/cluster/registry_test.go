package cluster_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/store/sqlite"
	"github.com/rampartiam/rampart/internal/testenv"
)

// database returns a function opening handles (separate connection pools,
// as separate nodes would have) on one fresh, migrated database.
func database(t testing.TB, backend string) func(t testing.TB) store.Store {
	t.Helper()
	var open func(t testing.TB) store.Store
	switch backend {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "rampart.db")
		open = func(t testing.TB) store.Store {
			s, err := sqlite.Open(t.Context(), sqlite.Options{Path: path, AppVersion: testenv.AppVersion})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	case "postgres":
		url := pgtest.NewDatabase(t)
		open = func(t testing.TB) store.Store {
			s, err := postgres.Open(t.Context(), postgres.Options{URL: url, AppVersion: testenv.AppVersion})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}
	if err := open(t).Migrator().Up(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	return open
}

// setLeader makes id River's elected leader, as River would.
func setLeader(t *testing.T, s store.Store, id string) {
	t.Helper()
	ctx := t.Context()
	var err error
	switch s := s.(type) {
	case *sqlite.Store:
		w, _ := s.DB()
		if _, err = w.ExecContext(ctx, `DELETE FROM river_leader`); err == nil {
			_, err = w.ExecContext(ctx, `INSERT INTO river_leader (elected_at, expires_at, leader_id)
				VALUES (datetime('now', 'subsec'), datetime('now', 'subsec', '+60 seconds'), ?)`, id)
		}
	case *postgres.Store:
		if _, err = s.Pool().Exec(ctx, `DELETE FROM river_leader`); err == nil {
			_, err = s.Pool().Exec(ctx, `INSERT INTO river_leader (elected_at, expires_at, leader_id)
				VALUES (now(), now() + interval '1 minute', $1)`, id)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			open := database(t, backend)
			ctx := t.Context()
			var ready atomic.Bool
			var schema atomic.Int64
			schema.Store(3)
			newNode := func(id string) (*cluster.Registry, context.CancelFunc) {
				r := cluster.NewRegistry(cluster.RegistryOptions{
					Store: open(t), NodeID: id, Address: id + ".internal:8080", Version: "v1.2.3",
					SchemaVersion: schema.Load, Ready: ready.Load, Interval: 20 * time.Millisecond, Expiry: time.Minute,
				})
				rctx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { r.Run(rctx); close(done) }()
				stop := func() { cancel(); <-done }
				t.Cleanup(stop)
				return r, stop
			}
			a, _ := newNode("node-a")
			b, stopB := newNode("")
			if b.NodeID() == "" || b.NodeID() == a.NodeID() {
				t.Fatalf("generated node ID %q", b.NodeID())
			}
			nodes := func() []cluster.NodeStatus {
				t.Helper()
				list, _, err := a.Nodes(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return list
			}
			waitFor(t, "both nodes listed", func() bool { return len(nodes()) == 2 })
			// Heartbeats carry the current readiness and schema version.
			ready.Store(true)
			schema.Store(4)
			waitFor(t, "readiness and schema recorded", func() bool {
				l := nodes()
				return len(l) == 2 && l[0].Ready && l[1].Ready && l[0].SchemaVersion == 4 && l[1].SchemaVersion == 4
			})
			for _, n := range nodes() {
				if n.Version != "v1.2.3" || n.PID == 0 || n.Hostname == "" || n.StartedAt.IsZero() || n.Leader {
					t.Fatalf("node %+v", n)
				}
			}

			setLeader(t, open(t), a.NodeID())
			list, leader, err := b.Nodes(ctx)
			if err != nil || leader != "node-a" || len(list) != 2 {
				t.Fatalf("Nodes = %+v, %q, %v", list, leader, err)
			}
			for _, n := range list {
				if n.Leader != (n.ID == "node-a") {
					t.Fatalf("leader flag wrong: %+v", n)
				}
			}
			var out strings.Builder
			if err := cluster.PrintNodes(ctx, &out, open(t), time.Minute); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "NODE") || !strings.Contains(lines[0], "LAST SEEN") ||
				strings.Count(out.String(), "*") != 1 || !strings.Contains(out.String(), "node-a.internal:8080") {
				t.Fatalf("PrintNodes:\n%s", out.String())
			}
			for _, l := range lines[1:] {
				if strings.Contains(l, "node-a") != strings.HasSuffix(l, "*") {
					t.Fatalf("leader marker on the wrong line:\n%s", out.String())
				}
			}
			t.Logf("rampart nodes:\n%s", out.String())

			// Graceful leave: gone at once, and Run stops heartbeating.
			stopB()
			if err := b.Leave(ctx); err != nil {
				t.Fatal(err)
			}
			if l := nodes(); len(l) != 1 || l[0].ID != "node-a" {
				t.Fatalf("after leave: %+v", l)
			}
			// A node that stopped without leaving expires; the cleanup hook
			// removes its row.
			st := open(t)
			err = st.NodeHeartbeat(ctx, &store.NodeHeartbeatParams{Node: &store.Node{ID: "crashed", StartedAt: time.Now().Add(-time.Hour), LastSeen: time.Now().Add(-2 * time.Minute)}})
			if err != nil {
				t.Fatal(err)
			}
			if l := nodes(); len(l) != 1 {
				t.Fatalf("expired node listed: %+v", l)
			}
			if n, err := a.DeleteStale(ctx); n != 1 || err != nil {
				t.Fatalf("DeleteStale = %d, %v", n, err)
			}
			out.Reset()
			if err := cluster.PrintNodes(ctx, &out, st, 0); err != nil || strings.Count(out.String(), "\n") != 2 {
				t.Fatalf("PrintNodes = %v:\n%s", err, out.String())
			}
		})
	}
}

func TestPrintNodesWithoutNodes(t *testing.T) {
	t.Parallel()
	s := testenv.NewStore(t, "sqlite")
	var out strings.Builder
	if err := cluster.PrintNodes(t.Context(), &out, s, 0); err != nil || !strings.Contains(out.String(), "no live nodes") {
		t.Fatalf("PrintNodes = %v:\n%s", err, out.String())
	}
}

func TestSchemaGateCurrentVersion(t *testing.T) {
	t.Parallel()
	s := testenv.NewStore(t, "sqlite")
	g := cluster.NewSchemaGate(s.Migrator(), testenv.AppVersion, slog.New(slog.DiscardHandler), nil)
	if v := g.CurrentVersion(); v != 0 {
		t.Fatalf("before Refresh: %d", v)
	}
	st, err := g.Refresh(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v := g.CurrentVersion(); v == 0 || v != st.Current() {
		t.Fatalf("CurrentVersion = %d, status %d", v, st.Current())
	}
}
