package policy_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/policy"
	"github.com/rampartiam/rampart/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fixture is a service on a fresh store with two instances: in (with the
// organizations x and y) and other (with otherOrg).
type fixture struct {
	t         *testing.T
	s         store.Store
	svc       *policy.Service
	in, other *iam.Instance
	x, y      *iam.Organization
	otherOrg  *iam.Organization
}

func setup(t *testing.T, s store.Store, o policy.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, s: s, svc: policy.New(s, o)}
	f.in, f.other = f.instance(), f.instance()
	f.x, f.y = f.newOrg(f.in.ID), f.newOrg(f.in.ID)
	f.otherOrg = f.newOrg(f.other.ID)
	return f
}

func (f *fixture) instance() *iam.Instance {
	f.t.Helper()
	in := &iam.Instance{ID: iam.NewID(), Name: "Tenant", PrimaryDomain: iam.NewID()[24:] + ".example", State: iam.InstanceActive}
	out, err := f.s.InstanceCreate(f.t.Context(), &store.InstanceCreateParams{Instance: in, Now: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) newOrg(instanceID string) *iam.Organization {
	f.t.Helper()
	o := &iam.Organization{ID: iam.NewID(), InstanceID: instanceID, Name: "Org " + iam.NewID(), State: iam.StateActive}
	out, err := f.s.OrgCreate(f.t.Context(), &store.OrgCreateParams{Org: o, Now: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// events returns the instance's audit events of a type, oldest first.
func (f *fixture) events(typ string) []*iam.AuditEvent {
	f.t.Helper()
	list, err := f.s.AuditEventList(f.t.Context(), &store.AuditEventListParams{InstanceID: f.in.ID, EventType: typ})
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

// effective returns the effective policies of the org (or instance).
func (f *fixture) effective(orgID string) *iam.Policies {
	f.t.Helper()
	ps, err := f.svc.GetEffective(f.t.Context(), f.in.ID, orgID)
	if err != nil {
		f.t.Fatal(err)
	}
	return ps
}

// wantCode fails unless err carries code and, if field is set, names it.
func wantCode(t *testing.T, err error, code iam.Code, field string) {
	t.Helper()
	if !iam.IsCode(err, code) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if field != "" && !strings.Contains(err.Error(), field+": ") {
		t.Fatalf("err = %v, want it to name %s", err, field)
	}
}

func payload(t *testing.T, ev *iam.AuditEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

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
