package instance_test

import (
	"context"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// caches returns a cache config whose bus is fed by a running
// invalidation listener on s, and stops it when the test ends.
func caches(t *testing.T, s store.Store) (cache.Config, context.CancelFunc) {
	t.Helper()
	bus := cache.NewBus()
	l := cluster.NewInvalidationListener(cluster.InvalidationOptions{Store: s, Bus: bus})
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	for deadline := time.Now().Add(time.Minute); !l.Connected(); {
		if time.Now().After(deadline) {
			t.Fatal("invalidation listener not connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cache.Config{Size: 100, TTL: time.Hour, Bus: bus}, stop
}

func TestGetByHostCache(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		cfg, stop := caches(t, s)
		svc := instance.New(s, nil, instance.WithCache(cfg))
		in, err := svc.Create(ctx, iam.SystemActor, &iam.Instance{Name: "A", PrimaryDomain: "a.example", AdditionalDomains: []string{"login.a.example"}})
		if err != nil {
			t.Fatal(err)
		}
		get := func(host string) (*iam.Instance, error) {
			t.Helper()
			return svc.GetByHost(ctx, host)
		}
		if got, err := get("A.example:8443"); err != nil || got.Name != "A" {
			t.Fatalf("GetByHost = %+v, %v", got, err)
		}
		// A change behind the service's back (no invalidation) is not seen:
		// the answer comes from the cache. Callers get copies.
		sneaky := *in
		sneaky.Name, sneaky.Version = "Sneaky", 1
		if _, err := s.InstanceUpdate(ctx, &store.InstanceUpdateParams{Instance: &sneaky, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		got, _ := get("a.example")
		if got.Name != "A" {
			t.Fatalf("not served from the cache: %+v", got)
		}
		got.AdditionalDomains[0] = "mutated"
		if again, _ := get("a.example"); again.AdditionalDomains[0] != "login.a.example" {
			t.Fatal("a caller's change reached the cache")
		}
		// A change through the service invalidates every old and new domain
		// before Update returns.
		if _, err := get("login.a.example"); err != nil {
			t.Fatal(err)
		}
		_, err = svc.Update(ctx, iam.SystemActor, &iam.Instance{ID: in.ID, Version: 2, Name: "A2", PrimaryDomain: "a.example", AdditionalDomains: []string{"new.a.example"}})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := get("a.example"); err != nil || got.Name != "A2" {
			t.Fatalf("after update: %+v, %v", got, err)
		}
		if _, err := get("login.a.example"); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("removed domain still resolves: %v", err)
		}
		if got, err := get("new.a.example"); err != nil || got.Name != "A2" {
			t.Fatalf("new domain: %+v, %v", got, err)
		}
		// Without the subscription the cache is bypassed.
		stop()
		sneaky.Name, sneaky.Version, sneaky.AdditionalDomains = "Direct", 3, []string{"new.a.example"}
		if _, err := s.InstanceUpdate(ctx, &store.InstanceUpdateParams{Instance: &sneaky, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if got, _ := get("a.example"); got.Name != "Direct" {
			t.Fatalf("suspended cache served %+v", got)
		}
	})
}
