package cluster_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/testenv"
)

// node is one simulated Rampart node: its own store handle (connection
// pool), cache bus, invalidation listener and cached instance service.
type node struct {
	name     string
	st       store.Store
	bus      *cache.Bus
	listener *cluster.InvalidationListener
	insts    *instance.Service
	// delivered receives every domain invalidation the node's bus gets.
	delivered chan string
}

func startNode(t testing.TB, name string, st store.Store, minBackoff time.Duration) *node {
	t.Helper()
	n := &node{name: name, st: st, bus: cache.NewBus(), delivered: make(chan string, 1024)}
	n.listener = cluster.NewInvalidationListener(cluster.InvalidationOptions{Store: st, Bus: n.bus, MinBackoff: minBackoff})
	n.insts = instance.New(st, nil, instance.WithCache(cache.Config{Size: 1000, TTL: time.Hour, Bus: n.bus}))
	n.bus.Handle(store.TopicInstanceDomain, func(domain string) {
		select {
		case n.delivered <- domain:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() { n.listener.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, name+" subscribed", n.listener.Connected)
	return n
}

// await waits until the node's bus received an invalidation of domain.
func (n *node) await(t testing.TB, domain string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case d := <-n.delivered:
			if d == domain {
				return
			}
		case <-deadline:
			t.Fatalf("%s: invalidation of %s not delivered", n.name, domain)
		}
	}
}

func (n *node) drain() {
	for {
		select {
		case <-n.delivered:
		default:
			return
		}
	}
}

// twoNodes starts nodes A and B on one fresh PostgreSQL database, each
// with its own pool; B's connections are named "node-b" (its listener
// "node-b-listener").
func twoNodes(t testing.TB, minBackoff time.Duration) (a, b *node) {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	open := func(name string) store.Store {
		u, _ := url.Parse(dbURL)
		q := u.Query()
		q.Set("application_name", name)
		u.RawQuery = q.Encode()
		s, err := postgres.Open(t.Context(), postgres.Options{URL: u.String(), AppVersion: testenv.AppVersion})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	sa, sb := open("node-a"), open("node-b")
	if err := sa.Migrator().Up(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	return startNode(t, "A", sa, minBackoff), startNode(t, "B", sb, minBackoff)
}

// TestCrossNodeInvalidation: an instance renamed through node A is seen
// fresh by node B at its next request after the invalidation arrives,
// measured over 200 changes (latency from A's commit to B's delivery).
func TestCrossNodeInvalidation(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t, 100*time.Millisecond)
	ctx := t.Context()
	in, err := a.insts.Create(ctx, iam.SystemActor, &iam.Instance{Name: "v0", PrimaryDomain: "shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	const changes = 200
	latencies := make([]time.Duration, 0, changes)
	writes := make([]time.Duration, 0, changes)
	for i := 1; i <= changes; i++ {
		// B caches the current state.
		if got, err := b.insts.GetByHost(ctx, "shop.example"); err != nil || got.Version != in.Version {
			t.Fatalf("change %d: B before = %+v, %v; want version %d", i, got, err, in.Version)
		}
		b.drain()
		in.Name = fmt.Sprint("v", i)
		start := time.Now()
		if in, err = a.insts.Update(ctx, iam.SystemActor, in); err != nil {
			t.Fatal(err)
		}
		writes = append(writes, time.Since(start))
		b.await(t, "shop.example")
		latencies = append(latencies, time.Since(start))
		if got, err := b.insts.GetByHost(ctx, "shop.example"); err != nil || got.Name != in.Name {
			t.Fatalf("change %d: B after invalidation = %+v, %v; want name %s", i, got, err, in.Name)
		}
	}
	slices.Sort(latencies)
	slices.Sort(writes)
	t.Logf("cross-node invalidation over %d changes, from A's Update call to the invalidation on B (PostgreSQL NOTIFY): p50 %s, p99 %s, max %s; A's Update alone: p50 %s, p99 %s",
		changes, latencies[changes/2], latencies[changes*99/100-1], latencies[changes-1], writes[changes/2], writes[changes*99/100-1])
}

// TestListenerReconnect kills node B's listener backend: B flushes and
// bypasses its caches, resubscribes, and serves no stale entry — neither
// one changed while it was disconnected nor after the next write.
func TestListenerReconnect(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t, time.Second)
	ctx := t.Context()
	in, err := a.insts.Create(ctx, iam.SystemActor, &iam.Instance{Name: "before", PrimaryDomain: "shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.insts.GetByHost(ctx, "shop.example"); err != nil || got.Name != "before" {
		t.Fatalf("B = %+v, %v", got, err)
	}
	var n int
	err = a.st.(*postgres.Store).Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'node-b-listener'`).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminated %d listener backends: %v", n, err)
	}
	waitFor(t, "B noticing the lost subscription", func() bool { return b.listener.Resets() == 1 })
	// Changed while B cannot hear about it (B waits a second before
	// resubscribing): B must read it from the database, now and after it
	// has resubscribed.
	in.Name = "while disconnected"
	if in, err = a.insts.Update(ctx, iam.SystemActor, in); err != nil {
		t.Fatal(err)
	}
	if got, err := b.insts.GetByHost(ctx, "shop.example"); err != nil || got.Name != in.Name {
		t.Fatalf("B while disconnected = %+v, %v", got, err)
	}
	waitFor(t, "B resubscribed", b.listener.Connected)
	if got, err := b.insts.GetByHost(ctx, "shop.example"); err != nil || got.Name != in.Name {
		t.Fatalf("B after resubscribing = %+v, %v", got, err)
	}
	// The next write reaches B through the new subscription.
	b.drain()
	in.Name = "after"
	if _, err = a.insts.Update(ctx, iam.SystemActor, in); err != nil {
		t.Fatal(err)
	}
	b.await(t, "shop.example")
	if got, err := b.insts.GetByHost(ctx, "shop.example"); err != nil || got.Name != "after" {
		t.Fatalf("B after the next write = %+v, %v", got, err)
	}
}

// TestLocalInvalidation: on either backend a node sees its own writes at
// once (delivered before the write returns), with no wait.
func TestLocalInvalidation(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		n := startNode(t, "only", s, 100*time.Millisecond)
		in, err := n.insts.Create(ctx, iam.SystemActor, &iam.Instance{Name: "v0", PrimaryDomain: "local.example"})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 20; i++ {
			if _, err := n.insts.GetByHost(ctx, "local.example"); err != nil {
				t.Fatal(err)
			}
			in.Name = fmt.Sprint("v", i)
			if in, err = n.insts.Update(ctx, iam.SystemActor, in); err != nil {
				t.Fatal(err)
			}
			if got, err := n.insts.GetByHost(ctx, "local.example"); err != nil || got.Name != in.Name {
				t.Fatalf("change %d: read %+v, %v; want name %s", i, got, err, in.Name)
			}
		}
	})
}

// BenchmarkCrossNodeInvalidation measures the time from a committed change
// on node A to its invalidation arriving on node B (PostgreSQL), and
// reports p50 and p99.
func BenchmarkCrossNodeInvalidation(bm *testing.B) {
	a, b := twoNodes(bm, 100*time.Millisecond)
	ctx := bm.Context()
	latencies := make([]time.Duration, 0, bm.N)
	for bm.Loop() {
		b.drain()
		key := iam.NewID()
		start := time.Now()
		err := a.st.WithTx(ctx, func(tx store.Queries) error {
			return tx.CacheInvalidate(ctx, store.TopicInstanceDomain, key)
		})
		if err != nil {
			bm.Fatal(err)
		}
		b.await(bm, key)
		latencies = append(latencies, time.Since(start))
	}
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		bm.ReportMetric(float64(latencies[n/2].Microseconds()), "p50-µs")
		bm.ReportMetric(float64(latencies[max(n*99/100-1, 0)].Microseconds()), "p99-µs")
	}
}
