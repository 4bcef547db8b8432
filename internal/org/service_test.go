package org_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func newInstance(t *testing.T, s store.Store) *iam.Instance {
	t.Helper()
	in, err := s.InstanceCreate(t.Context(), &store.InstanceCreateParams{
		Instance: &iam.Instance{ID: iam.NewID(), Name: "T", PrimaryDomain: iam.NewID()[24:] + ".example", State: iam.InstanceActive},
		Now:      time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func events(t *testing.T, s store.Store, instanceID, aggregateID string) []*iam.AuditEvent {
	t.Helper()
	ev, err := s.AuditEventList(t.Context(), &store.AuditEventListParams{InstanceID: instanceID, AggregateType: iam.AggregateOrg, AggregateID: aggregateID})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestLifecycleWithAudit(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := org.New(s, nil)
		in := newInstance(t, s)
		o, err := svc.Create(ctx, "admin", &iam.Organization{InstanceID: in.ID, Name: "  Acme  "})
		if err != nil {
			t.Fatal(err)
		}
		if o.ID == "" || o.Name != "Acme" || o.State != iam.StateActive || o.Version != 1 {
			t.Fatalf("created %+v", o)
		}
		got, err := svc.Get(ctx, in.ID, o.ID)
		if err != nil || *got != *o {
			t.Fatalf("get = %+v, %v", got, err)
		}

		// Update: name only (state kept), then no-op, then stale.
		ch := *o
		ch.Name, ch.State = "Acme Corp", ""
		up, err := svc.Update(ctx, "admin2", &ch)
		if err != nil || up.Name != "Acme Corp" || up.State != iam.StateActive || up.Version != 2 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		same, err := svc.Update(ctx, "admin2", up)
		if err != nil || same.Version != 2 {
			t.Fatalf("no-op update = %+v, %v", same, err)
		}
		if _, err := svc.Update(ctx, "admin2", &ch); !iam.IsCode(err, iam.Conflict) {
			t.Fatalf("stale update = %v", err)
		}
		if err := svc.Delete(ctx, "admin3", in.ID, o.ID, 1); !iam.IsCode(err, iam.Conflict) {
			t.Fatalf("stale delete = %v", err)
		}
		if err := svc.Delete(ctx, "admin3", in.ID, o.ID, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctx, in.ID, o.ID); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("get deleted = %v", err)
		}
		if err := svc.Delete(ctx, "admin3", in.ID, o.ID, 2); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("delete again = %v", err)
		}

		ev := events(t, s, in.ID, o.ID)
		if len(ev) != 3 {
			t.Fatalf("%d events, want created, changed, deleted", len(ev))
		}
		for i, want := range []struct{ typ, actor string }{{iam.EventOrgCreated, "admin"}, {iam.EventOrgChanged, "admin2"}, {iam.EventOrgDeleted, "admin3"}} {
			if ev[i].EventType != want.typ || ev[i].Actor != want.actor {
				t.Fatalf("event %d = %+v, want %+v", i, ev[i], want)
			}
		}
		var payload struct{ Before, After map[string]any }
		if err := json.Unmarshal(ev[1].Payload, &payload); err != nil {
			t.Fatal(err)
		}
		if payload.Before["name"] != "Acme" || payload.After["name"] != "Acme Corp" {
			t.Fatalf("changed payload %s", ev[1].Payload)
		}
	})
}

func TestInvalidAndDuplicate(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := org.New(s, nil)
		in := newInstance(t, s)
		for _, tc := range []struct {
			o     iam.Organization
			field string
		}{
			{iam.Organization{Name: "   "}, "name"},
			{iam.Organization{Name: strings.Repeat("x", 201)}, "name"},
			{iam.Organization{Name: "ok", State: "deleted"}, "state"},
		} {
			tc.o.InstanceID = in.ID
			_, err := svc.Create(ctx, "a", &tc.o)
			var e *iam.Error
			if !iam.IsCode(err, iam.Invalid) || !asErr(err, &e) || e.Field != tc.field {
				t.Fatalf("create %+v = %v, want Invalid on %s", tc.o, err, tc.field)
			}
		}
		if _, err := svc.Create(ctx, "a", &iam.Organization{InstanceID: in.ID, Name: strings.Repeat("é", 200)}); err != nil {
			t.Fatalf("200 characters: %v", err)
		}
		a, err := svc.Create(ctx, "a", &iam.Organization{InstanceID: in.ID, Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Create(ctx, "a", &iam.Organization{InstanceID: in.ID, Name: "ACME"})
		var e *iam.Error
		if !iam.IsCode(err, iam.AlreadyExists) || !asErr(err, &e) || e.Field != "name" {
			t.Fatalf("duplicate name = %v", err)
		}
		_, err = svc.Create(ctx, "a", &iam.Organization{InstanceID: in.ID, ID: a.ID, Name: "Other"})
		if !iam.IsCode(err, iam.AlreadyExists) || !asErr(err, &e) || e.Field != "id" {
			t.Fatalf("duplicate id = %v", err)
		}
		b, _ := svc.Create(ctx, "a", &iam.Organization{InstanceID: in.ID, Name: "Beta"})
		ren := *b
		ren.Name = "acme"
		if _, err := svc.Update(ctx, "a", &ren); !iam.IsCode(err, iam.AlreadyExists) {
			t.Fatalf("rename onto taken name = %v", err)
		}
		bad := *b
		bad.Name = ""
		if _, err := svc.Update(ctx, "a", &bad); !iam.IsCode(err, iam.Invalid) {
			t.Fatalf("update with empty name = %v", err)
		}
		// Failures leave no audit trace: only the three successful creations.
		all, _ := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: in.ID})
		if len(all) != 3 {
			t.Fatalf("%d events, want 3 creations", len(all))
		}
	})
}

func TestCrossInstance(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := org.New(s, nil)
		a, b := newInstance(t, s), newInstance(t, s)
		o, err := svc.Create(ctx, "x", &iam.Organization{InstanceID: a.ID, Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctx, b.ID, o.ID); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("get via other instance = %v", err)
		}
		moved := *o
		moved.InstanceID = b.ID
		if _, err := svc.Update(ctx, "x", &moved); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("update via other instance = %v", err)
		}
		if err := svc.Delete(ctx, "x", b.ID, o.ID, o.Version); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("delete via other instance = %v", err)
		}
		if l, err := svc.List(ctx, b.ID, org.ListQuery{}); err != nil || len(l) != 0 {
			t.Fatalf("list via other instance = %v, %v", l, err)
		}
		// The same name is free in the other instance.
		if _, err := svc.Create(ctx, "x", &iam.Organization{InstanceID: b.ID, Name: "acme"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctx, "", o.ID); err == nil {
			t.Fatal("get without instance succeeded")
		}
	})
}

func TestListPages(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := org.New(s, nil)
		in := newInstance(t, s)
		for _, n := range []string{"Bravo", "alpha", "Alpine", "charlie", "ALTO"} {
			if _, err := svc.Create(ctx, "x", &iam.Organization{InstanceID: in.ID, Name: n}); err != nil {
				t.Fatal(err)
			}
		}
		q := org.ListQuery{NamePrefix: "AL", Limit: 2}
		var names []string
		for {
			page, err := svc.List(ctx, in.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page {
				names = append(names, o.Name)
			}
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.AfterKey, q.AfterID = q.SortKey(last), last.ID
		}
		if strings.Join(names, ",") != "alpha,Alpine,ALTO" {
			t.Fatalf("prefix pages = %v", names)
		}
		if _, err := svc.List(ctx, in.ID, org.ListQuery{State: "gone"}); !iam.IsCode(err, iam.Invalid) {
			t.Fatalf("bad state = %v", err)
		}
	})
}

func asErr(err error, target **iam.Error) bool { return errors.As(err, target) }
