package member_test

import (
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type fixture struct {
	s       store.Store
	svc     *member.Service
	in      *iam.Instance
	org     *iam.Organization
	other   *iam.Organization
	project *iam.Project
	users   []*iam.User
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func setup(t *testing.T, s store.Store) *fixture {
	t.Helper()
	ctx := t.Context()
	uniq := iam.NewID
	f := &fixture{s: s, svc: member.New(s, nil)}
	f.in = must[*iam.Instance](t)(s.InstanceCreate(ctx, &store.InstanceCreateParams{
		Instance: &iam.Instance{ID: iam.NewID(), Name: "I", PrimaryDomain: uniq()[24:] + ".example", State: iam.InstanceActive}, Now: clock()}))
	newOrg := func() *iam.Organization {
		return must[*iam.Organization](t)(s.OrgCreate(ctx, &store.OrgCreateParams{
			Org: &iam.Organization{ID: iam.NewID(), InstanceID: f.in.ID, Name: "Org " + uniq(), State: iam.StateActive}, Now: clock()}))
	}
	f.org, f.other = newOrg(), newOrg()
	f.project = must[*iam.Project](t)(s.ProjectCreate(ctx, &store.ProjectCreateParams{
		Project: &iam.Project{ID: iam.NewID(), InstanceID: f.in.ID, OrgID: f.org.ID, Name: "P", State: iam.StateActive}, Now: clock()}))
	for range 3 {
		id := iam.NewID()
		f.users = append(f.users, must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: &iam.User{
			ID: id, InstanceID: f.in.ID, OrgID: f.org.ID, Type: iam.UserHuman, LoginName: "u-" + id, State: iam.UserActive,
			Human: &iam.HumanProfile{Email: id + "@example.com"},
		}, Now: clock()})))
	}
	return f
}

func clock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func asIAM(err error, e **iam.Error) bool { return errors.As(err, e) }

func TestAddListUpdateRemoveWithAudit(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s)
		u := f.users[0]
		added := must[*iam.Membership](t)(f.svc.Add(ctx, "admin", &iam.Membership{
			InstanceID: f.in.ID, Scope: iam.ScopeProject, OrgID: f.org.ID, ProjectID: f.project.ID, UserID: u.ID,
			Roles: []iam.MemberRole{iam.RoleProjectViewer},
		}))
		if added.ID == "" || added.Version != 1 {
			t.Fatalf("added %+v", added)
		}
		target := added.Target()
		list := must[[]*iam.Membership](t)(f.svc.List(ctx, member.ListParams{InstanceID: f.in.ID, Target: target}))
		if len(list) != 1 || list[0].ID != added.ID {
			t.Fatalf("list = %+v", list)
		}
		change := *added
		change.Roles = []iam.MemberRole{iam.RoleProjectOwner}
		updated := must[*iam.Membership](t)(f.svc.Update(ctx, "admin", &change))
		if updated.Version != 2 || updated.Roles[0] != iam.RoleProjectOwner {
			t.Fatalf("updated %+v", updated)
		}
		// Same roles again: nothing stored.
		if same := must[*iam.Membership](t)(f.svc.Update(ctx, "admin", updated)); same.Version != 2 {
			t.Fatalf("no-op update bumped the version: %+v", same)
		}
		// A stale version is a conflict.
		if _, err := f.svc.Update(ctx, "admin", &change); !iam.IsCode(err, iam.Conflict) {
			t.Fatalf("stale update = %v", err)
		}
		byUser := must[[]*iam.Membership](t)(f.svc.ListByUser(ctx, f.in.ID, u.ID))
		if len(byUser) != 1 || byUser[0].ID != added.ID {
			t.Fatalf("by user = %+v", byUser)
		}
		if err := f.svc.Remove(ctx, "admin", f.in.ID, target, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Remove(ctx, "admin", f.in.ID, target, u.ID); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("second remove = %v", err)
		}

		events := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: f.in.ID, AggregateType: iam.AggregateMembership}))
		var types []string
		for _, e := range events {
			types = append(types, e.EventType)
			if e.Actor != "admin" || e.AggregateID != added.ID {
				t.Errorf("event %+v", e)
			}
			var payload map[string]any
			if err := json.Unmarshal(e.Payload, &payload); err != nil {
				t.Fatal(err)
			}
		}
		if want := []string{iam.EventMemberAdded, iam.EventMemberChanged, iam.EventMemberRemoved}; len(types) != 3 || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
			t.Fatalf("events %v, want %v", types, want)
		}
	})
}

func TestAddValidatesAndChecksReferences(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s)
		other := setup(t, s) // another instance
		u := f.users[0]
		for _, tc := range []struct {
			name  string
			m     iam.Membership
			code  iam.Code
			field string
		}{
			{"no roles", iam.Membership{Scope: iam.ScopeInstance, UserID: u.ID}, iam.Invalid, "roles"},
			{"role of another scope", iam.Membership{Scope: iam.ScopeOrg, OrgID: f.org.ID, UserID: u.ID, Roles: []iam.MemberRole{iam.RoleInstanceOwner}}, iam.Invalid, "roles"},
			{"no scope", iam.Membership{UserID: u.ID, Roles: []iam.MemberRole{iam.RoleOrgOwner}}, iam.Invalid, "target.scope"},
			{"unknown user", iam.Membership{Scope: iam.ScopeInstance, UserID: iam.NewID(), Roles: []iam.MemberRole{iam.RoleInstanceViewer}}, iam.NotFound, "user_id"},
			{"user of another instance", iam.Membership{Scope: iam.ScopeInstance, UserID: other.users[0].ID, Roles: []iam.MemberRole{iam.RoleInstanceViewer}}, iam.NotFound, "user_id"},
			{"unknown org", iam.Membership{Scope: iam.ScopeOrg, OrgID: iam.NewID(), UserID: u.ID, Roles: []iam.MemberRole{iam.RoleOrgOwner}}, iam.NotFound, "target.org_id"},
			{"org of another instance", iam.Membership{Scope: iam.ScopeOrg, OrgID: other.org.ID, UserID: u.ID, Roles: []iam.MemberRole{iam.RoleOrgOwner}}, iam.NotFound, "target.org_id"},
			{"project of another org", iam.Membership{Scope: iam.ScopeProject, OrgID: f.other.ID, ProjectID: f.project.ID, UserID: u.ID, Roles: []iam.MemberRole{iam.RoleProjectOwner}}, iam.NotFound, "target.project_id"},
			{"project of another instance", iam.Membership{Scope: iam.ScopeProject, OrgID: other.org.ID, ProjectID: other.project.ID, UserID: u.ID, Roles: []iam.MemberRole{iam.RoleProjectOwner}}, iam.NotFound, "target.project_id"},
		} {
			m := tc.m
			m.InstanceID = f.in.ID
			_, err := f.svc.Add(ctx, "admin", &m)
			var ie *iam.Error
			if !asIAM(err, &ie) || ie.Code != tc.code || ie.Field != tc.field {
				t.Errorf("%s: err = %v, want %s on %s", tc.name, err, tc.code, tc.field)
			}
		}
		// A user of another organization of the instance may administer this one.
		outsider := must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: &iam.User{
			ID: iam.NewID(), InstanceID: f.in.ID, OrgID: f.other.ID, Type: iam.UserMachine, LoginName: "robot-" + iam.NewID(),
			State: iam.UserActive, Machine: &iam.MachineProfile{Name: "Robot"},
		}, Now: clock()}))
		m := &iam.Membership{InstanceID: f.in.ID, Scope: iam.ScopeOrg, OrgID: f.org.ID, UserID: outsider.ID, Roles: []iam.MemberRole{iam.RoleOrgViewer}}
		must[*iam.Membership](t)(f.svc.Add(ctx, "admin", m))
		if _, err := f.svc.Add(ctx, "admin", m); !iam.IsCode(err, iam.AlreadyExists) {
			t.Fatalf("duplicate = %v", err)
		}
		if n := len(must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: f.in.ID, AggregateType: iam.AggregateMembership}))); n != 1 {
			t.Fatalf("%d audit events, want 1 (failed adds record nothing)", n)
		}
	})
}

func TestLastInstanceOwnerStays(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s)
		instance := iam.MemberTarget{Scope: iam.ScopeInstance}
		add := func(u *iam.User, roles ...iam.MemberRole) *iam.Membership {
			return must[*iam.Membership](t)(f.svc.Add(ctx, "admin", &iam.Membership{InstanceID: f.in.ID, Scope: iam.ScopeInstance, UserID: u.ID, Roles: roles}))
		}
		a := add(f.users[0], iam.RoleInstanceOwner)
		add(f.users[1], iam.RoleInstanceViewer)
		if err := f.svc.Remove(ctx, "admin", f.in.ID, instance, a.UserID); !iam.IsCode(err, iam.FailedPrecondition) {
			t.Fatalf("removing the last owner = %v", err)
		}
		demote := *a
		demote.Roles = []iam.MemberRole{iam.RoleInstanceViewer}
		if _, err := f.svc.Update(ctx, "admin", &demote); !iam.IsCode(err, iam.FailedPrecondition) {
			t.Fatalf("demoting the last owner = %v", err)
		}
		// Adding a role to the last owner is fine.
		keep := *a
		keep.Roles = []iam.MemberRole{iam.RoleInstanceOwner, iam.RoleInstanceViewer}
		a = must[*iam.Membership](t)(f.svc.Update(ctx, "admin", &keep))

		// With a second owner, one of them may go, but not both, even at once.
		b := add(f.users[2], iam.RoleInstanceOwner)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, m := range []*iam.Membership{a, b} {
			wg.Go(func() { errs[i] = f.svc.Remove(ctx, "admin", f.in.ID, instance, m.UserID) })
		}
		wg.Wait()
		owners := must[[]*iam.Membership](t)(s.MembershipList(ctx, &store.MembershipListParams{InstanceID: f.in.ID, Scope: iam.ScopeInstance, Role: iam.RoleInstanceOwner}))
		if len(owners) != 1 {
			t.Fatalf("%d owners left (errors %v), want 1", len(owners), errs)
		}
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
				if !iam.IsCode(err, iam.FailedPrecondition) && !iam.IsCode(err, iam.Conflict) {
					t.Fatalf("unexpected error %v", err)
				}
			}
		}
		if failed != 1 {
			t.Fatalf("errors %v, want exactly one refusal", errs)
		}
	})
}

func TestListValidatesTargetAndIsScoped(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s)
		other := setup(t, s)
		must[*iam.Membership](t)(f.svc.Add(ctx, "admin", &iam.Membership{InstanceID: f.in.ID, Scope: iam.ScopeOrg, OrgID: f.org.ID, UserID: f.users[0].ID, Roles: []iam.MemberRole{iam.RoleOrgOwner}}))
		if _, err := f.svc.List(ctx, member.ListParams{InstanceID: f.in.ID, Target: iam.MemberTarget{Scope: iam.ScopeOrg}}); !iam.IsCode(err, iam.Invalid) {
			t.Fatalf("list without org = %v", err)
		}
		got := must[[]*iam.Membership](t)(f.svc.List(ctx, member.ListParams{InstanceID: other.in.ID, Target: iam.MemberTarget{Scope: iam.ScopeOrg, OrgID: f.org.ID}}))
		if len(got) != 0 {
			t.Fatalf("listed through another instance: %+v", got)
		}
		if err := f.svc.Remove(ctx, "admin", other.in.ID, iam.MemberTarget{Scope: iam.ScopeOrg, OrgID: f.org.ID}, f.users[0].ID); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("remove through another instance = %v", err)
		}
		if err := f.svc.Remove(ctx, "admin", f.in.ID, iam.MemberTarget{Scope: iam.ScopeOrg, OrgID: f.org.ID}, ""); !iam.IsCode(err, iam.Invalid) {
			t.Fatalf("remove without user = %v", err)
		}
	})
}
