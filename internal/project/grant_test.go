package project_test

import (
	"slices"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestProjectGrants(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		p := f.project(f.org.ID, "a", "b", "c")
		third := f.newOrg(f.in.ID)

		g, err := f.svc.CreateProjectGrant(ctx, "admin", &iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: f.partner.ID, RoleKeys: []string{"b", "a"}})
		if err != nil {
			t.Fatal(err)
		}
		if g.ID == "" || g.State != iam.StateActive || !slices.Equal(g.RoleKeys, []string{"a", "b"}) || g.Version != 1 {
			t.Fatalf("created %+v", g)
		}
		if evs := f.events(f.in.ID, iam.EventProjectGrantCreated); len(evs) != 1 || evs[0].AggregateType != iam.AggregateProjectGrant || evs[0].AggregateID != g.ID {
			t.Fatalf("created events %+v", evs)
		}

		before := f.allEvents()
		for name, tc := range map[string]struct {
			g     *iam.ProjectGrant
			code  iam.Code
			field string
		}{
			"to the owner":      {&iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: f.org.ID}, iam.Invalid, "granted_org_id"},
			"unknown role":      {&iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: third.ID, RoleKeys: []string{"a", "z"}}, iam.Invalid, "role_keys"},
			"bad role key":      {&iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: third.ID, RoleKeys: []string{"a b"}}, iam.Invalid, "role_keys"},
			"twice":             {&iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: f.partner.ID}, iam.AlreadyExists, "granted_org_id"},
			"unknown org":       {&iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: iam.NewID()}, iam.NotFound, "granted_org_id"},
			"org of other inst": {&iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: f.otherOrg.ID}, iam.NotFound, "granted_org_id"},
			"not the owner":     {&iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.partner.ID, ProjectID: p.ID, GrantedOrgID: third.ID}, iam.NotFound, "project_id"},
			"other instance":    {&iam.ProjectGrant{InstanceID: f.other.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: f.partner.ID}, iam.NotFound, "project_id"},
		} {
			_, err := f.svc.CreateProjectGrant(ctx, "x", tc.g)
			if !iam.IsCode(err, tc.code) {
				t.Fatalf("%s: err = %v, want %s", name, err, tc.code)
			}
			wantCode(t, err, tc.code, tc.field)
		}
		if n := f.allEvents(); n != before {
			t.Fatalf("failed creates appended %d events", n-before)
		}

		got, err := f.svc.GetProjectGrant(ctx, f.in.ID, f.org.ID, p.ID, g.ID)
		if err != nil || got.GrantedOrgID != f.partner.ID {
			t.Fatalf("get = %+v, %v", got, err)
		}
		_, err = f.svc.GetProjectGrant(ctx, f.in.ID, f.partner.ID, p.ID, g.ID)
		wantCode(t, err, iam.NotFound, "")
		_, err = f.svc.GetProjectGrant(ctx, f.other.ID, f.org.ID, p.ID, g.ID)
		wantCode(t, err, iam.NotFound, "")
		g2, err := f.svc.CreateProjectGrant(ctx, "admin", &iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: third.ID})
		if err != nil {
			t.Fatal(err)
		}
		list, err := f.svc.ListProjectGrants(ctx, project.ListProjectGrantsParams{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID})
		if err != nil || len(list) != 2 || list[0].ID != min(g.ID, g2.ID) || list[1].ID != max(g.ID, g2.ID) {
			t.Fatalf("list = %v, %v", list, err)
		}
		_, err = f.svc.ListProjectGrants(ctx, project.ListProjectGrantsParams{InstanceID: f.in.ID, OrgID: f.partner.ID, ProjectID: p.ID})
		wantCode(t, err, iam.NotFound, "project_id")

		// Update: roles must stay within the project's; dropped roles leave
		// the user grants made under the grant.
		u := f.newUser(f.in.ID, f.partner.ID)
		ug, err := f.svc.CreateUserGrant(ctx, "x", &iam.UserGrant{InstanceID: f.in.ID, OrgID: f.partner.ID, UserID: u.ID, ProjectID: p.ID, RoleKeys: []string{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		change := *g
		change.RoleKeys, change.State = []string{"b", "c"}, ""
		updated, err := f.svc.UpdateProjectGrant(ctx, "admin-2", &change)
		if err != nil || !slices.Equal(updated.RoleKeys, []string{"b", "c"}) || updated.State != iam.StateActive || updated.Version != 2 {
			t.Fatalf("update = %+v, %v", updated, err)
		}
		gotUG, err := f.svc.GetUserGrant(ctx, f.in.ID, f.partner.ID, ug.ID)
		if err != nil || !slices.Equal(gotUG.RoleKeys, []string{"b"}) {
			t.Fatalf("user grant after the project grant lost a = %+v, %v", gotUG, err)
		}
		if same, err := f.svc.UpdateProjectGrant(ctx, "admin-2", &iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, ID: g.ID,
			Version: 2, RoleKeys: []string{"c", "b"}}); err != nil || same.Version != 2 {
			t.Fatalf("no-op update = %+v, %v", same, err)
		}
		_, err = f.svc.UpdateProjectGrant(ctx, "x", g)
		wantCode(t, err, iam.Conflict, "")
		bad := *updated
		bad.RoleKeys = []string{"z"}
		_, err = f.svc.UpdateProjectGrant(ctx, "x", &bad)
		wantCode(t, err, iam.Invalid, "role_keys")
		wrong := *updated
		wrong.OrgID = f.partner.ID
		_, err = f.svc.UpdateProjectGrant(ctx, "x", &wrong)
		wantCode(t, err, iam.NotFound, "")
		wrong = *updated
		wrong.InstanceID = f.other.ID
		_, err = f.svc.UpdateProjectGrant(ctx, "x", &wrong)
		wantCode(t, err, iam.NotFound, "")
		if evs := f.events(f.in.ID, iam.EventProjectGrantChanged); len(evs) != 1 || evs[0].Actor != "admin-2" {
			t.Fatalf("changed events %+v", evs)
		}

		// Delete takes the user grants made under it along.
		wantCode(t, f.svc.DeleteProjectGrant(ctx, "x", f.in.ID, f.org.ID, p.ID, g.ID, 1), iam.Conflict, "")
		wantCode(t, f.svc.DeleteProjectGrant(ctx, "x", f.in.ID, f.partner.ID, p.ID, g.ID, 2), iam.NotFound, "")
		if err := f.svc.DeleteProjectGrant(ctx, "admin-3", f.in.ID, f.org.ID, p.ID, g.ID, 2); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.GetUserGrant(ctx, f.in.ID, f.partner.ID, ug.ID)
		wantCode(t, err, iam.NotFound, "")
		if evs := f.events(f.in.ID, iam.EventProjectGrantDeleted); len(evs) != 1 || evs[0].AggregateID != g.ID {
			t.Fatalf("deleted events %+v", evs)
		}
	})
}

func TestUserGrants(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		own := f.project(f.org.ID, "a", "b", "c")
		shared := f.project(f.org.ID, "x", "y", "z")
		private := f.project(f.org.ID, "p")
		pg, err := f.svc.CreateProjectGrant(ctx, "x", &iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: shared.ID, GrantedOrgID: f.partner.ID, RoleKeys: []string{"x", "y"}})
		if err != nil {
			t.Fatal(err)
		}
		u := f.newUser(f.in.ID, f.org.ID)
		pu := f.newUser(f.in.ID, f.partner.ID)

		// A grant on a project of the user's organization.
		g, err := f.svc.CreateUserGrant(ctx, "admin", &iam.UserGrant{InstanceID: f.in.ID, OrgID: f.org.ID, UserID: u.ID, ProjectID: own.ID,
			ProjectGrantID: "ignored", RoleKeys: []string{"c", "a"}})
		if err != nil {
			t.Fatal(err)
		}
		if g.ProjectGrantID != "" || !slices.Equal(g.RoleKeys, []string{"a", "c"}) || g.State != iam.StateActive || g.Version != 1 {
			t.Fatalf("own grant %+v", g)
		}
		// A grant through the project grant: its ID is filled in.
		pgu, err := f.svc.CreateUserGrant(ctx, "admin", &iam.UserGrant{InstanceID: f.in.ID, OrgID: f.partner.ID, UserID: pu.ID, ProjectID: shared.ID, RoleKeys: []string{"y"}})
		if err != nil || pgu.ProjectGrantID != pg.ID {
			t.Fatalf("granted grant = %+v, %v", pgu, err)
		}
		evs := f.events(f.in.ID, iam.EventUserGrantCreated)
		if len(evs) != 2 || evs[0].AggregateType != iam.AggregateUserGrant || evs[0].AggregateID != g.ID || evs[0].Actor != "admin" {
			t.Fatalf("created events %+v", evs)
		}

		before := f.allEvents()
		for name, tc := range map[string]struct {
			g     *iam.UserGrant
			code  iam.Code
			field string
		}{
			"role not in project":       {&iam.UserGrant{InstanceID: f.in.ID, OrgID: f.org.ID, UserID: u.ID, ProjectID: shared.ID, RoleKeys: []string{"a"}}, iam.Invalid, "role_keys"},
			"role not in project grant": {&iam.UserGrant{InstanceID: f.in.ID, OrgID: f.partner.ID, UserID: f.newUser(f.in.ID, f.partner.ID).ID, ProjectID: shared.ID, RoleKeys: []string{"z"}}, iam.Invalid, "role_keys"},
			"project not granted":       {&iam.UserGrant{InstanceID: f.in.ID, OrgID: f.partner.ID, UserID: pu.ID, ProjectID: private.ID}, iam.NotFound, "project_id"},
			"unknown project":           {&iam.UserGrant{InstanceID: f.in.ID, OrgID: f.org.ID, UserID: u.ID, ProjectID: iam.NewID()}, iam.NotFound, "project_id"},
			"user of another org":       {&iam.UserGrant{InstanceID: f.in.ID, OrgID: f.org.ID, UserID: pu.ID, ProjectID: private.ID}, iam.NotFound, "user_id"},
			"user of another instance":  {&iam.UserGrant{InstanceID: f.other.ID, OrgID: f.org.ID, UserID: u.ID, ProjectID: private.ID}, iam.NotFound, "user_id"},
			"twice":                     {&iam.UserGrant{InstanceID: f.in.ID, OrgID: f.org.ID, UserID: u.ID, ProjectID: own.ID}, iam.AlreadyExists, "project_id"},
			"duplicate key":             {&iam.UserGrant{InstanceID: f.in.ID, OrgID: f.org.ID, UserID: u.ID, ProjectID: private.ID, RoleKeys: []string{"p", "p"}}, iam.Invalid, "role_keys"},
			"no user":                   {&iam.UserGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: private.ID}, iam.Invalid, "user_id"},
		} {
			_, err := f.svc.CreateUserGrant(ctx, "x", tc.g)
			if !iam.IsCode(err, tc.code) {
				t.Fatalf("%s: err = %v, want %s", name, err, tc.code)
			}
			wantCode(t, err, tc.code, tc.field)
		}
		if n := f.allEvents(); n != before {
			t.Fatalf("failed creates appended %d events", n-before)
		}

		// An inactive project grant cannot be used for new user grants.
		pg2, err := f.svc.CreateProjectGrant(ctx, "x", &iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: private.ID, GrantedOrgID: f.partner.ID, State: iam.StateInactive})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.CreateUserGrant(ctx, "x", &iam.UserGrant{InstanceID: f.in.ID, OrgID: f.partner.ID, UserID: pu.ID, ProjectID: private.ID})
		wantCode(t, err, iam.FailedPrecondition, "")
		act := *pg2
		act.State = iam.StateActive
		if _, err := f.svc.UpdateProjectGrant(ctx, "x", &act); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreateUserGrant(ctx, "x", &iam.UserGrant{InstanceID: f.in.ID, OrgID: f.partner.ID, UserID: pu.ID, ProjectID: private.ID}); err != nil {
			t.Fatalf("after activating the project grant: %v", err)
		}

		// Reads are scoped by instance and organization.
		got, err := f.svc.GetUserGrant(ctx, f.in.ID, f.org.ID, g.ID)
		if err != nil || got.UserID != u.ID {
			t.Fatalf("get = %+v, %v", got, err)
		}
		_, err = f.svc.GetUserGrant(ctx, f.in.ID, f.partner.ID, g.ID)
		wantCode(t, err, iam.NotFound, "")
		_, err = f.svc.GetUserGrant(ctx, f.other.ID, f.org.ID, g.ID)
		wantCode(t, err, iam.NotFound, "")
		list, err := f.svc.ListUserGrants(ctx, project.ListUserGrantsParams{InstanceID: f.in.ID, OrgID: f.partner.ID, ProjectID: shared.ID})
		if err != nil || len(list) != 1 || list[0].ID != pgu.ID {
			t.Fatalf("list = %v, %v", list, err)
		}
		list, err = f.svc.ListUserGrants(ctx, project.ListUserGrantsParams{InstanceID: f.in.ID, OrgID: f.org.ID, UserID: u.ID})
		if err != nil || len(list) != 1 || list[0].ID != g.ID {
			t.Fatalf("list by user = %v, %v", list, err)
		}
		_, err = f.svc.ListUserGrants(ctx, project.ListUserGrantsParams{InstanceID: f.other.ID, OrgID: f.org.ID})
		wantCode(t, err, iam.NotFound, "org_id")
		forUser, err := f.svc.ListUserGrantsForUser(ctx, f.in.ID, pu.ID, "", true)
		if err != nil || len(forUser) != 2 {
			t.Fatalf("for user = %v, %v", forUser, err)
		}

		// Update: bounded by the project's roles or the project grant's.
		change := *g
		change.RoleKeys, change.State = []string{"b"}, iam.StateInactive
		updated, err := f.svc.UpdateUserGrant(ctx, "admin-2", &change)
		if err != nil || !slices.Equal(updated.RoleKeys, []string{"b"}) || updated.State != iam.StateInactive || updated.Version != 2 {
			t.Fatalf("update = %+v, %v", updated, err)
		}
		if same, err := f.svc.UpdateUserGrant(ctx, "admin-2", &iam.UserGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ID: g.ID, Version: 2, RoleKeys: []string{"b"}}); err != nil || same.Version != 2 {
			t.Fatalf("no-op update = %+v, %v", same, err)
		}
		_, err = f.svc.UpdateUserGrant(ctx, "x", g)
		wantCode(t, err, iam.Conflict, "")
		bad := *updated
		bad.RoleKeys = []string{"x"}
		_, err = f.svc.UpdateUserGrant(ctx, "x", &bad)
		wantCode(t, err, iam.Invalid, "role_keys")
		viaGrant := *pgu
		viaGrant.RoleKeys = []string{"x", "z"}
		_, err = f.svc.UpdateUserGrant(ctx, "x", &viaGrant)
		wantCode(t, err, iam.Invalid, "role_keys")
		viaGrant.RoleKeys = []string{"x", "y"}
		if got, err := f.svc.UpdateUserGrant(ctx, "x", &viaGrant); err != nil || !slices.Equal(got.RoleKeys, []string{"x", "y"}) {
			t.Fatalf("update within the project grant = %+v, %v", got, err)
		}
		wrong := *updated
		wrong.OrgID = f.partner.ID
		_, err = f.svc.UpdateUserGrant(ctx, "x", &wrong)
		wantCode(t, err, iam.NotFound, "")
		wrong = *updated
		wrong.InstanceID = f.other.ID
		_, err = f.svc.UpdateUserGrant(ctx, "x", &wrong)
		wantCode(t, err, iam.NotFound, "")
		if evs := f.events(f.in.ID, iam.EventUserGrantChanged); len(evs) != 2 || evs[0].Actor != "admin-2" {
			t.Fatalf("changed events %+v", evs)
		}

		wantCode(t, f.svc.DeleteUserGrant(ctx, "x", f.in.ID, f.org.ID, g.ID, 1), iam.Conflict, "")
		wantCode(t, f.svc.DeleteUserGrant(ctx, "x", f.in.ID, f.partner.ID, g.ID, 2), iam.NotFound, "")
		wantCode(t, f.svc.DeleteUserGrant(ctx, "x", f.other.ID, f.org.ID, g.ID, 2), iam.NotFound, "")
		if err := f.svc.DeleteUserGrant(ctx, "admin-3", f.in.ID, f.org.ID, g.ID, 2); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(f.in.ID, iam.EventUserGrantDeleted); len(evs) != 1 || evs[0].AggregateID != g.ID {
			t.Fatalf("deleted events %+v", evs)
		}
	})
}
