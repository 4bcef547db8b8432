package project_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestProjectLifecycle(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		svc := f.svc
		p, err := svc.CreateProject(ctx, "admin-1", &iam.Project{InstanceID: f.in.ID, OrgID: f.org.ID, Name: "  Shop  ", RoleAssertion: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.ID == "" || p.Name != "Shop" || p.State != iam.StateActive || !p.RoleAssertion || p.Version != 1 || p.OrgID != f.org.ID {
			t.Fatalf("created %+v", p)
		}
		evs := f.events(f.in.ID, iam.EventProjectCreated)
		if len(evs) != 1 || evs[0].Actor != "admin-1" || evs[0].AggregateType != iam.AggregateProject || evs[0].AggregateID != p.ID {
			t.Fatalf("created events %+v", evs)
		}
		got, err := svc.GetProject(ctx, f.in.ID, f.org.ID, p.ID)
		if err != nil || got.ID != p.ID {
			t.Fatalf("get = %+v, %v", got, err)
		}

		// Tenant scoping: another organization or instance does not see it.
		_, err = svc.GetProject(ctx, f.in.ID, f.partner.ID, p.ID)
		wantCode(t, err, iam.NotFound, "")
		_, err = svc.GetProject(ctx, f.other.ID, f.org.ID, p.ID)
		wantCode(t, err, iam.NotFound, "")
		_, err = svc.GetProject(ctx, f.in.ID, f.org.ID, "")
		wantCode(t, err, iam.Invalid, "project_id")

		// Bad input names the field and stores nothing.
		before := f.allEvents()
		for name, tc := range map[string]struct {
			p     *iam.Project
			code  iam.Code
			field string
		}{
			"empty name":      {&iam.Project{InstanceID: f.in.ID, OrgID: f.org.ID, Name: " "}, iam.Invalid, "name"},
			"no org":          {&iam.Project{InstanceID: f.in.ID, Name: "X"}, iam.Invalid, "org_id"},
			"bad state":       {&iam.Project{InstanceID: f.in.ID, OrgID: f.org.ID, Name: "X", State: "gone"}, iam.Invalid, "state"},
			"name taken":      {&iam.Project{InstanceID: f.in.ID, OrgID: f.org.ID, Name: "SHOP"}, iam.AlreadyExists, ""},
			"unknown org":     {&iam.Project{InstanceID: f.in.ID, OrgID: iam.NewID(), Name: "X"}, iam.NotFound, "org_id"},
			"org of other":    {&iam.Project{InstanceID: f.in.ID, OrgID: f.otherOrg.ID, Name: "X"}, iam.NotFound, "org_id"},
			"fixed ID taken":  {&iam.Project{ID: p.ID, InstanceID: f.in.ID, OrgID: f.org.ID, Name: "X"}, iam.AlreadyExists, ""},
			"fixed ID spaces": {&iam.Project{ID: "a b", InstanceID: f.in.ID, OrgID: f.org.ID, Name: "X"}, iam.Invalid, "id"},
		} {
			_, err := svc.CreateProject(ctx, "x", tc.p)
			if !iam.IsCode(err, tc.code) {
				t.Fatalf("%s: err = %v, want %s", name, err, tc.code)
			}
			wantCode(t, err, tc.code, tc.field)
		}
		if n := f.allEvents(); n != before {
			t.Fatalf("failed creates appended %d events", n-before)
		}
		// The same name in another organization, and a fixed ID, are fine.
		fixed, err := svc.CreateProject(ctx, "x", &iam.Project{ID: "fixed-project", InstanceID: f.in.ID, OrgID: f.partner.ID, Name: "shop"})
		if err != nil || fixed.ID != "fixed-project" {
			t.Fatalf("fixed = %+v, %v", fixed, err)
		}

		// Update: state kept when empty, no-op stores nothing, stale loses.
		change := *p
		change.Name, change.RoleAssertion, change.State = "Shop 2", false, ""
		updated, err := svc.UpdateProject(ctx, "admin-2", &change)
		if err != nil || updated.Name != "Shop 2" || updated.RoleAssertion || updated.State != iam.StateActive || updated.Version != 2 {
			t.Fatalf("update = %+v, %v", updated, err)
		}
		same, err := svc.UpdateProject(ctx, "admin-2", updated)
		if err != nil || same.Version != 2 {
			t.Fatalf("no-op update = %+v, %v", same, err)
		}
		_, err = svc.UpdateProject(ctx, "x", p)
		wantCode(t, err, iam.Conflict, "")
		bad := *updated
		bad.Name = ""
		_, err = svc.UpdateProject(ctx, "x", &bad)
		wantCode(t, err, iam.Invalid, "name")
		wrong := *updated
		wrong.OrgID = f.partner.ID
		_, err = svc.UpdateProject(ctx, "x", &wrong)
		wantCode(t, err, iam.NotFound, "")
		wrong = *updated
		wrong.InstanceID = f.other.ID
		_, err = svc.UpdateProject(ctx, "x", &wrong)
		wantCode(t, err, iam.NotFound, "")
		inactive := *updated
		inactive.State = iam.StateInactive
		if got, err := svc.UpdateProject(ctx, "x", &inactive); err != nil || got.State != iam.StateInactive {
			t.Fatalf("deactivate = %+v, %v", got, err)
		}
		changes := f.events(f.in.ID, iam.EventProjectChanged)
		if len(changes) != 2 || changes[0].Actor != "admin-2" {
			t.Fatalf("changed events %+v", changes)
		}
		pl := payload(t, changes[0])
		if pl["before"].(map[string]any)["name"] != "Shop" || pl["after"].(map[string]any)["name"] != "Shop 2" {
			t.Fatalf("changed payload %v", pl)
		}

		// Delete names the version.
		wantCode(t, svc.DeleteProject(ctx, "x", f.in.ID, f.org.ID, p.ID, 2), iam.Conflict, "")
		wantCode(t, svc.DeleteProject(ctx, "x", f.other.ID, f.org.ID, p.ID, 3), iam.NotFound, "")
		wantCode(t, svc.DeleteProject(ctx, "x", f.in.ID, f.partner.ID, p.ID, 3), iam.NotFound, "")
		if err := svc.DeleteProject(ctx, "admin-3", f.in.ID, f.org.ID, p.ID, 3); err != nil {
			t.Fatal(err)
		}
		_, err = svc.GetProject(ctx, f.in.ID, f.org.ID, p.ID)
		wantCode(t, err, iam.NotFound, "")
		if evs := f.events(f.in.ID, iam.EventProjectDeleted); len(evs) != 1 || evs[0].AggregateID != p.ID || evs[0].Actor != "admin-3" {
			t.Fatalf("deleted events %+v", evs)
		}
		if evs := f.events(f.other.ID, ""); len(evs) != 0 {
			t.Fatalf("the other instance has events: %+v", evs)
		}
	})
}

func TestListProjects(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		for _, n := range []string{"beta", "Alpha", "alps", "Gamma"} {
			if _, err := f.svc.CreateProject(ctx, "x", &iam.Project{InstanceID: f.in.ID, OrgID: f.org.ID, Name: n}); err != nil {
				t.Fatal(err)
			}
		}
		f.project(f.partner.ID)
		var names []string
		params := project.ListProjectsParams{InstanceID: f.in.ID, OrgID: f.org.ID, Limit: 3}
		for {
			list, err := f.svc.ListProjects(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range list {
				names = append(names, p.Name)
			}
			if len(list) < params.Limit {
				break
			}
			params.AfterKey, params.AfterID = list[len(list)-1].NameKey(), list[len(list)-1].ID
		}
		if !slices.Equal(names, []string{"Alpha", "alps", "beta", "Gamma"}) {
			t.Fatalf("names = %v", names)
		}
		list, err := f.svc.ListProjects(ctx, project.ListProjectsParams{InstanceID: f.in.ID, OrgID: f.org.ID, NamePrefix: "AL"})
		if err != nil || len(list) != 2 {
			t.Fatalf("prefix list = %v, %v", list, err)
		}
		_, err = f.svc.ListProjects(ctx, project.ListProjectsParams{InstanceID: f.in.ID, OrgID: f.org.ID, State: "bogus"})
		wantCode(t, err, iam.Invalid, "state")
		_, err = f.svc.ListProjects(ctx, project.ListProjectsParams{InstanceID: f.other.ID, OrgID: f.org.ID})
		wantCode(t, err, iam.NotFound, "org_id")
		_, err = f.svc.ListProjects(ctx, project.ListProjectsParams{InstanceID: f.in.ID})
		wantCode(t, err, iam.Invalid, "org_id")
	})
}

func TestProjectRoles(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		svc := f.svc
		p := f.project(f.org.ID)
		r, err := svc.AddProjectRole(ctx, "admin", f.org.ID, &iam.ProjectRole{InstanceID: f.in.ID, ProjectID: p.ID, Key: "shop:admin", DisplayName: " Admin ", Group: "staff"})
		if err != nil || r.Key != "shop:admin" || r.DisplayName != "Admin" || r.Version != 1 {
			t.Fatalf("add = %+v, %v", r, err)
		}
		evs := f.events(f.in.ID, iam.EventProjectRoleAdded)
		if len(evs) != 1 || evs[0].AggregateType != iam.AggregateProject || evs[0].AggregateID != p.ID || payload(t, evs[0])["after"].(map[string]any)["key"] != "shop:admin" {
			t.Fatalf("role added events %+v", evs)
		}

		before := f.allEvents()
		for name, tc := range map[string]struct {
			org   string
			r     *iam.ProjectRole
			code  iam.Code
			field string
		}{
			"bad key":        {f.org.ID, &iam.ProjectRole{InstanceID: f.in.ID, ProjectID: p.ID, Key: "shop admin"}, iam.Invalid, "key"},
			"long name":      {f.org.ID, &iam.ProjectRole{InstanceID: f.in.ID, ProjectID: p.ID, Key: "k", DisplayName: strings.Repeat("d", 201)}, iam.Invalid, "display_name"},
			"taken":          {f.org.ID, &iam.ProjectRole{InstanceID: f.in.ID, ProjectID: p.ID, Key: "shop:admin"}, iam.AlreadyExists, ""},
			"wrong org":      {f.partner.ID, &iam.ProjectRole{InstanceID: f.in.ID, ProjectID: p.ID, Key: "k"}, iam.NotFound, "project_id"},
			"wrong instance": {f.org.ID, &iam.ProjectRole{InstanceID: f.other.ID, ProjectID: p.ID, Key: "k"}, iam.NotFound, "project_id"},
		} {
			_, err := svc.AddProjectRole(ctx, "x", tc.org, tc.r)
			if !iam.IsCode(err, tc.code) {
				t.Fatalf("%s: err = %v, want %s", name, err, tc.code)
			}
			wantCode(t, err, tc.code, tc.field)
		}
		if n := f.allEvents(); n != before {
			t.Fatalf("failed adds appended %d events", n-before)
		}

		for _, k := range []string{"shop:viewer", "billing"} {
			if _, err := svc.AddProjectRole(ctx, "admin", f.org.ID, &iam.ProjectRole{InstanceID: f.in.ID, ProjectID: p.ID, Key: k}); err != nil {
				t.Fatal(err)
			}
		}
		list, err := svc.ListProjectRoles(ctx, project.ListProjectRolesParams{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, KeyPrefix: "shop:"})
		if err != nil || len(list) != 2 || list[0].Key != "shop:admin" || list[1].Key != "shop:viewer" {
			t.Fatalf("list = %v, %v", list, err)
		}
		list, err = svc.ListProjectRoles(ctx, project.ListProjectRolesParams{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, AfterKey: "billing", Limit: 1})
		if err != nil || len(list) != 1 || list[0].Key != "shop:admin" {
			t.Fatalf("page = %v, %v", list, err)
		}
		_, err = svc.ListProjectRoles(ctx, project.ListProjectRolesParams{InstanceID: f.in.ID, OrgID: f.partner.ID, ProjectID: p.ID})
		wantCode(t, err, iam.NotFound, "project_id")

		change := *r
		change.DisplayName, change.Group = "Administrator", ""
		updated, err := svc.UpdateProjectRole(ctx, "admin", f.org.ID, &change)
		if err != nil || updated.DisplayName != "Administrator" || updated.Group != "" || updated.Version != 2 {
			t.Fatalf("update = %+v, %v", updated, err)
		}
		if same, err := svc.UpdateProjectRole(ctx, "admin", f.org.ID, updated); err != nil || same.Version != 2 {
			t.Fatalf("no-op update = %+v, %v", same, err)
		}
		_, err = svc.UpdateProjectRole(ctx, "admin", f.org.ID, r)
		wantCode(t, err, iam.Conflict, "")
		_, err = svc.UpdateProjectRole(ctx, "admin", f.partner.ID, updated)
		wantCode(t, err, iam.NotFound, "project_id")
		missing := *updated
		missing.Key = "nope"
		_, err = svc.UpdateProjectRole(ctx, "admin", f.org.ID, &missing)
		wantCode(t, err, iam.NotFound, "")
		if evs := f.events(f.in.ID, iam.EventProjectRoleChanged); len(evs) != 1 {
			t.Fatalf("%d role changed events, want 1", len(evs))
		}

		wantCode(t, svc.RemoveProjectRole(ctx, "admin", f.in.ID, f.partner.ID, p.ID, "billing"), iam.NotFound, "project_id")
		wantCode(t, svc.RemoveProjectRole(ctx, "admin", f.other.ID, f.org.ID, p.ID, "billing"), iam.NotFound, "project_id")
		wantCode(t, svc.RemoveProjectRole(ctx, "admin", f.in.ID, f.org.ID, p.ID, "nope"), iam.NotFound, "")
		wantCode(t, svc.RemoveProjectRole(ctx, "admin", f.in.ID, f.org.ID, p.ID, ""), iam.Invalid, "key")
		if err := svc.RemoveProjectRole(ctx, "admin", f.in.ID, f.org.ID, p.ID, "billing"); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(f.in.ID, iam.EventProjectRoleRemoved); len(evs) != 1 || payload(t, evs[0])["before"].(map[string]any)["key"] != "billing" {
			t.Fatalf("role removed events %+v", evs)
		}
	})
}

// TestRemoveRoleCascadesIntoGrants: removing a role takes it out of project
// grants and user grants, with no extra code in the service.
func TestRemoveRoleCascadesIntoGrants(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		p := f.project(f.org.ID, "a", "b")
		pg, err := f.svc.CreateProjectGrant(ctx, "x", &iam.ProjectGrant{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, GrantedOrgID: f.partner.ID, RoleKeys: []string{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		u := f.newUser(f.in.ID, f.partner.ID)
		ug, err := f.svc.CreateUserGrant(ctx, "x", &iam.UserGrant{InstanceID: f.in.ID, OrgID: f.partner.ID, UserID: u.ID, ProjectID: p.ID, RoleKeys: []string{"b", "a"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RemoveProjectRole(ctx, "x", f.in.ID, f.org.ID, p.ID, "a"); err != nil {
			t.Fatal(err)
		}
		gotPG, err := f.svc.GetProjectGrant(ctx, f.in.ID, f.org.ID, p.ID, pg.ID)
		if err != nil || !slices.Equal(gotPG.RoleKeys, []string{"b"}) {
			t.Fatalf("project grant = %+v, %v", gotPG, err)
		}
		gotUG, err := f.svc.GetUserGrant(ctx, f.in.ID, f.partner.ID, ug.ID)
		if err != nil || !slices.Equal(gotUG.RoleKeys, []string{"b"}) {
			t.Fatalf("user grant = %+v, %v", gotUG, err)
		}
	})
}
