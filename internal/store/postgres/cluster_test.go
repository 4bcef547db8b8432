package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
)

// openNamed opens a migrated handle on the database whose connections carry
// application_name name.
func openNamed(t *testing.T, dbURL, name string) *postgres.Store {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	s, err := postgres.Open(t.Context(), postgres.Options{URL: u.String(), AppVersion: "v0.1.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrator().Up(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestClusterLeader reads River's leader row; an expired row is no leader.
func TestClusterLeader(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openNamed(t, pgtest.NewDatabase(t), "leader-test")
	for _, tc := range []struct {
		expires, want string
	}{
		{"now() + interval '1 minute'", "node-1"},
		{"now() - interval '1 second'", ""},
	} {
		if _, err := s.Pool().Exec(ctx, `DELETE FROM river_leader`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pool().Exec(ctx, `INSERT INTO river_leader (elected_at, expires_at, leader_id) VALUES (now(), `+tc.expires+`, 'node-1')`); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ClusterLeader(ctx); got != tc.want || err != nil {
			t.Errorf("expires %s: leader %q, %v; want %q", tc.expires, got, err, tc.want)
		}
	}
}

// TestInvalidationsReachOtherHandles: a commit on handle A reaches B's
// subscription through NOTIFY; terminating B's listener backend ends B's
// subscription with an error, and a new one receives again.
func TestInvalidationsReachOtherHandles(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	a, b := openNamed(t, dbURL, "node-a"), openNamed(t, dbURL, "node-b")
	ctx := t.Context()

	type sub struct {
		got  chan store.Invalidation
		done chan error
	}
	subscribe := func() sub {
		s := sub{got: make(chan store.Invalidation, 100), done: make(chan error, 1)}
		ready := make(chan struct{})
		go func() {
			s.done <- b.ListenInvalidations(ctx, func() { close(ready) }, func(topic, key string) {
				s.got <- store.Invalidation{Topic: topic, Key: key}
			})
		}()
		select {
		case <-ready:
		case err := <-s.done:
			t.Fatalf("subscribe: %v", err)
		}
		return s
	}
	wait := func(s sub, want store.Invalidation) {
		t.Helper()
		deadline := time.After(time.Minute)
		for {
			select {
			case inv := <-s.got:
				if inv == want {
					return
				}
			case err := <-s.done:
				t.Fatalf("subscription ended: %v", err)
			case <-deadline:
				t.Fatalf("%+v not delivered", want)
			}
		}
	}

	s1 := subscribe()
	key := iam.NewID()
	err := a.WithTx(ctx, func(tx store.Queries) error {
		return tx.CacheInvalidate(ctx, store.TopicAppInstance, key)
	})
	if err != nil {
		t.Fatal(err)
	}
	wait(s1, store.Invalidation{Topic: store.TopicAppInstance, Key: key})

	// Kill B's listener backend, found by its application_name.
	var n int
	err = a.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'node-b-listener'`).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminated %d listener backends, %v", n, err)
	}
	select {
	case err := <-s1.done:
		if err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("subscription ended with %v, want a connection error", err)
		}
		t.Logf("subscription ended: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("subscription survived its backend")
	}

	s2 := subscribe()
	key = iam.NewID()
	if err := a.CacheInvalidate(ctx, store.TopicAppInstance, key); err != nil {
		t.Fatal(err)
	}
	wait(s2, store.Invalidation{Topic: store.TopicAppInstance, Key: key})
}
