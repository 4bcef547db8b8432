package project_test

import (
	"context"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// caches returns a cache config whose bus is fed by a running
// invalidation listener on s until the test ends.
func caches(t *testing.T, s store.Store) cache.Config {
	t.Helper()
	bus := cache.NewBus()
	l := cluster.NewInvalidationListener(cluster.InvalidationOptions{Store: s, Bus: bus})
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(time.Minute); !l.Connected(); {
		if time.Now().After(deadline) {
			t.Fatal("invalidation listener not connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cache.Config{Size: 100, TTL: time.Hour, Bus: bus}
}

// TestApplicationCache: GetApplicationByClientID is served from the cache
// and every change of an application — update, secret regeneration,
// delete, and the cascades of project and organization deletion — is
// visible at the next lookup.
func TestApplicationCache(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s)
		f.svc = project.New(s, project.Options{Secrets: f.secrets, Cache: caches(t, s)})
		orgs := org.New(s, nil)

		newApp := func(orgID string) (*iam.Project, *iam.Application) {
			t.Helper()
			p := f.project(orgID)
			a := webApp(f, p.ID)
			a.OrgID = orgID
			app, _, err := f.svc.CreateApplication(ctx, "admin", a, "")
			if err != nil {
				t.Fatal(err)
			}
			return p, app
		}
		get := func(a *iam.Application) (*iam.Application, error) {
			t.Helper()
			return f.svc.GetApplicationByClientID(ctx, a.InstanceID, a.ClientID)
		}
		_, app := newApp(f.org.ID)
		if _, err := get(app); err != nil {
			t.Fatal(err)
		}
		// Behind the service's back: still the cached answer.
		sneaky := *app
		sneaky.Name = "Sneaky"
		if _, err := s.ApplicationUpdate(ctx, &store.ApplicationUpdateParams{Application: &sneaky, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if got, _ := get(app); got.Name != app.Name {
			t.Fatalf("not served from the cache: %q", got.Name)
		}
		// Update through the service.
		upd := *app
		upd.Name, upd.Version = "Renamed", 2
		if _, err := f.svc.UpdateApplication(ctx, "admin", &upd); err != nil {
			t.Fatal(err)
		}
		if got, err := get(app); err != nil || got.Name != "Renamed" {
			t.Fatalf("after update: %+v, %v", got, err)
		}
		// Secret regeneration.
		before, _ := get(app)
		regen, secret, err := f.svc.RegenerateClientSecret(ctx, "admin", app.InstanceID, app.OrgID, app.ProjectID, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := get(app); got.Version != regen.Version || got.Version == before.Version || !f.secrets.Verify(secret, got.SecretHash) {
			t.Fatalf("after secret regeneration: version %d, want %d, secret verifies: %v", got.Version, regen.Version, f.secrets.Verify(secret, got.SecretHash))
		}
		// Delete.
		if err := f.svc.DeleteApplication(ctx, "admin", app.InstanceID, app.OrgID, app.ProjectID, app.ID, regen.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := get(app); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("deleted app: %v", err)
		}
		// Project deletion cascades.
		_, app2 := newApp(f.org.ID)
		if _, err := get(app2); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteProject(ctx, "admin", f.in.ID, f.org.ID, app2.ProjectID, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := get(app2); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("app of a deleted project: %v", err)
		}
		// Organization deletion cascades.
		_, app3 := newApp(f.partner.ID)
		if _, err := get(app3); err != nil {
			t.Fatal(err)
		}
		if err := orgs.Delete(ctx, "admin", f.in.ID, f.partner.ID, f.partner.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := get(app3); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("app of a deleted organization: %v", err)
		}
	})
}
