package instance_test

import (
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestCreateUpdateWithAudit(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := instance.New(s, nil)
		created, err := svc.Create(ctx, "admin-1", &iam.Instance{Name: " Acme ", PrimaryDomain: "ACME.example", AdditionalDomains: []string{"login.acme.example"}})
		if err != nil {
			t.Fatal(err)
		}
		if created.ID == "" || created.State != iam.InstanceActive || created.PrimaryDomain != "acme.example" || created.Name != "Acme" || created.Version != 1 {
			t.Fatalf("created %+v", created)
		}
		byHost, err := svc.GetByHost(ctx, "Login.Acme.Example:8443")
		if err != nil || byHost.ID != created.ID {
			t.Fatalf("GetByHost = %+v, %v", byHost, err)
		}

		change := *created
		change.Name = "Acme Corp"
		updated, err := svc.Update(ctx, "admin-2", &change)
		if err != nil || updated.Version != 2 || updated.Name != "Acme Corp" {
			t.Fatalf("update = %+v, %v", updated, err)
		}
		// Same content again: no new version, no event.
		same, err := svc.Update(ctx, "admin-2", updated)
		if err != nil || same.Version != 2 {
			t.Fatalf("no-op update = %+v, %v", same, err)
		}
		// A lost update is a Conflict, not an overwrite.
		stale := *created
		stale.Name = "Stale"
		if _, err := svc.Update(ctx, "admin-3", &stale); !iam.IsCode(err, iam.Conflict) {
			t.Fatalf("stale update = %v, want conflict", err)
		}

		events, err := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: created.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 {
			t.Fatalf("%d events, want created + changed", len(events))
		}
		if e := events[0]; e.EventType != iam.EventInstanceCreated || e.Actor != "admin-1" || e.AggregateID != created.ID {
			t.Fatalf("created event %+v", e)
		}
		var payload struct{ Before, After map[string]any }
		if err := json.Unmarshal(events[1].Payload, &payload); err != nil {
			t.Fatal(err)
		}
		if events[1].Actor != "admin-2" || payload.Before["name"] != "Acme" || payload.After["name"] != "Acme Corp" {
			t.Fatalf("changed event %+v payload %+v", events[1], payload)
		}
	})
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := instance.New(s, nil)
		a, err := svc.Create(ctx, "x", &iam.Instance{Name: "A", PrimaryDomain: "a.example"})
		if err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]*iam.Instance{
			"invalid":      {Name: "", PrimaryDomain: "not a domain"},
			"domain taken": {Name: "B", PrimaryDomain: "b.example", AdditionalDomains: []string{"A.EXAMPLE"}},
		} {
			_, err := svc.Create(ctx, "x", in)
			if err == nil {
				t.Fatalf("%s: created", name)
			}
			if c := iam.ErrorCode(err); c != iam.Invalid && c != iam.AlreadyExists {
				t.Fatalf("%s: code %q", name, c)
			}
		}
		list, err := svc.List(ctx, "", 0, "")
		if err != nil || len(list) != 1 || list[0].ID != a.ID {
			t.Fatalf("list after bad input = %v, %v", list, err)
		}
		if _, err := svc.GetByHost(ctx, "unknown.example"); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("unknown host = %v", err)
		}
		if _, err := svc.List(ctx, "", 0, "bogus"); !iam.IsCode(err, iam.Invalid) {
			t.Fatalf("bogus state = %v", err)
		}
	})
}

// TestConcurrentUpdatesOneWins runs writers that all read version 1: exactly
// one may win, the others get Conflict, and exactly one change event exists.
func TestConcurrentUpdatesOneWins(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := instance.New(s, nil)
		in, err := svc.Create(ctx, "x", &iam.Instance{Name: "A", PrimaryDomain: "a.example"})
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c := *in
				c.Name = "writer " + string(rune('a'+i))
				_, errs[i] = svc.Update(ctx, "x", &c)
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !iam.IsCode(err, iam.Conflict):
				t.Fatalf("unexpected error %v", err)
			}
		}
		events, _ := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: in.ID, EventType: iam.EventInstanceChanged})
		if wins != 1 || len(events) != 1 {
			t.Fatalf("%d winners, %d change events; want 1 and 1", wins, len(events))
		}
	})
}

func TestHostDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Example.COM": "example.com", "example.com:8080": "example.com", "[::1]:8080": "[::1]",
		"[::1]": "[::1]", "127.0.0.1:1": "127.0.0.1", "example.com.": "example.com",
	} {
		if got := instance.HostDomain(in); got != want {
			t.Errorf("HostDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
