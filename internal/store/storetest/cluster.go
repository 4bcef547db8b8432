package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

func (b *bundle) testCluster(t *testing.T) {
	t.Run("NodeRegistry", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		at := now()
		node := func(id string, seen time.Time) *store.Node {
			return &store.Node{ID: id, Address: id + ":8080", Hostname: "host-" + id, PID: 42, Version: "v1.0.0",
				SchemaVersion: 3, StartedAt: at.Add(-time.Hour), LastSeen: seen, Ready: true}
		}
		a, gone := node("a", at), node("gone", at.Add(-time.Minute))
		gone.StartedAt = at.Add(-2 * time.Hour)
		for _, n := range []*store.Node{a, gone} {
			if err := s.NodeHeartbeat(ctx, &store.NodeHeartbeatParams{Node: n}); err != nil {
				t.Fatal(err)
			}
		}
		all := must[[]*store.Node](t)(s.NodeList(ctx, &store.NodeListParams{}))
		if len(all) != 2 || *all[0] != *gone || *all[1] != *a {
			t.Fatalf("all nodes = %+v, want gone then a (by start time)", all)
		}
		live := must[[]*store.Node](t)(s.NodeList(ctx, &store.NodeListParams{LiveSince: at.Add(-30 * time.Second)}))
		if len(live) != 1 || live[0].ID != "a" {
			t.Fatalf("live nodes = %+v", live)
		}
		// A heartbeat replaces the row.
		b2 := *a
		b2.Ready, b2.Version, b2.SchemaVersion, b2.LastSeen = false, "v1.1.0", 4, at.Add(time.Second)
		if err := s.NodeHeartbeat(ctx, &store.NodeHeartbeatParams{Node: &b2}); err != nil {
			t.Fatal(err)
		}
		live = must[[]*store.Node](t)(s.NodeList(ctx, &store.NodeListParams{LiveSince: at}))
		if len(live) != 1 || *live[0] != b2 {
			t.Fatalf("after heartbeat: %+v, want %+v", live, b2)
		}
		if n := must[int64](t)(s.NodeDeleteStale(ctx, &store.NodeDeleteStaleParams{Before: at.Add(-30 * time.Second)})); n != 1 {
			t.Fatalf("deleted %d stale nodes, want 1", n)
		}
		if err := s.NodeDelete(ctx, &store.NodeDeleteParams{ID: "a"}); err != nil {
			t.Fatal(err)
		}
		if err := s.NodeDelete(ctx, &store.NodeDeleteParams{ID: "a"}); err != nil {
			t.Fatalf("deleting a missing node: %v", err)
		}
		if all := must[[]*store.Node](t)(s.NodeList(ctx, &store.NodeListParams{})); len(all) != 0 {
			t.Fatalf("nodes left: %+v", all)
		}
	})
	t.Run("NoLeaderIsNotAnError", func(t *testing.T) {
		t.Parallel()
		// Before migrations (River's table missing) and after (no leader
		// elected), inside a transaction too.
		unmigrated := b.newDB(t)(t)
		if id, err := unmigrated.ClusterLeader(t.Context()); id != "" || err != nil {
			t.Fatalf("unmigrated: leader %q, %v", id, err)
		}
		s := b.open(t)
		if id, err := s.ClusterLeader(t.Context()); id != "" || err != nil {
			t.Fatalf("migrated: leader %q, %v", id, err)
		}
		err := s.WithTx(t.Context(), func(tx store.Queries) error {
			if id, err := tx.ClusterLeader(t.Context()); id != "" || err != nil {
				t.Fatalf("in tx: leader %q, %v", id, err)
			}
			_, err := tx.NodeList(t.Context(), &store.NodeListParams{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("InvalidationsAfterCommitOnly", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		got := listen(t, s)
		if err := s.CacheInvalidate(ctx, "bad:topic", "k"); err == nil {
			t.Fatal("a topic with ':' was accepted")
		}
		err := s.WithTx(ctx, func(tx store.Queries) error {
			if err := tx.CacheInvalidate(ctx, store.TopicAppClient, "in/tx"); err != nil {
				return err
			}
			if err := tx.CacheInvalidate(ctx, store.TopicInstanceDomain, "a.example"); err != nil {
				return err
			}
			select {
			case inv := <-got:
				t.Errorf("delivered before commit: %+v", inv)
			default:
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The committing handle's subscribers have it when WithTx returns.
		for _, want := range []store.Invalidation{{Topic: store.TopicAppClient, Key: "in/tx"}, {Topic: store.TopicInstanceDomain, Key: "a.example"}} {
			select {
			case inv := <-got:
				if inv != want {
					t.Fatalf("delivered %+v, want %+v", inv, want)
				}
			default:
				t.Fatalf("%+v not delivered when WithTx returned", want)
			}
		}
		boom := errors.New("boom")
		err = s.WithTx(ctx, func(tx store.Queries) error {
			if err := tx.CacheInvalidate(ctx, store.TopicAppClient, "rolled/back"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		long := strings.Repeat("x", 9000)
		if err := s.CacheInvalidate(ctx, store.TopicInstanceDomain, long); err != nil {
			t.Fatal(err)
		}
		if err := s.CacheInvalidate(ctx, store.TopicSigningKeys, "marker"); err != nil {
			t.Fatal(err)
		}
		// Everything up to the marker (PostgreSQL also echoes the committed
		// ones through LISTEN): never the rolled back one; the long key as
		// itself or as the whole topic.
		deadline := time.After(time.Minute)
		for seenLong := false; ; {
			select {
			case inv := <-got:
				switch {
				case inv.Key == "rolled/back":
					t.Fatal("a rolled back invalidation was delivered")
				case inv.Topic == store.TopicInstanceDomain && (inv.Key == long || inv.Key == ""):
					seenLong = true
				case inv.Key == "marker":
					if !seenLong {
						t.Fatal("long key not delivered before the marker")
					}
					return
				}
			case <-deadline:
				t.Fatal("marker not delivered")
			}
		}
	})
	t.Run("ListenEndsWithContext", func(t *testing.T) {
		t.Parallel()
		s := b.open(t)
		ctx, cancel := context.WithCancel(t.Context())
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() { done <- s.ListenInvalidations(ctx, func() { close(ready) }, func(string, string) {}) }()
		<-ready
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("ListenInvalidations = %v, want context.Canceled", err)
		}
		// The ended subscription no longer receives.
		if err := s.CacheInvalidate(t.Context(), store.TopicAppInstance, iam.NewID()); err != nil {
			t.Fatal(err)
		}
	})
}

// listen subscribes to s's invalidations for the rest of the test and
// returns them on a channel, once the subscription is established.
func listen(t *testing.T, s store.Store) <-chan store.Invalidation {
	t.Helper()
	got := make(chan store.Invalidation, 100)
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := s.ListenInvalidations(ctx, func() { close(ready) }, func(topic, key string) {
			got <- store.Invalidation{Topic: topic, Key: key}
		})
		if ctx.Err() == nil {
			t.Errorf("subscription ended: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case <-done:
		t.FailNow()
	case <-time.After(time.Minute):
		t.Fatal("not subscribed within a minute")
	}
	return got
}
