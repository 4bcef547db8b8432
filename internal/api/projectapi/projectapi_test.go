package projectapi_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rampartiam/rampart/internal/api/projectapi"
	"github.com/rampartiam/rampart/internal/crypto"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fixture holds the three handlers on one store with two instances: ctx
// resolves to in (organizations org and partner), otherCtx to other.
type fixture struct {
	t        *testing.T
	s        store.Store
	projects adminv1connect.ProjectServiceHandler
	apps     adminv1connect.ApplicationServiceHandler
	grants   adminv1connect.UserGrantServiceHandler
	secrets  *crypto.SecretHasher
	in       *iam.Instance
	other    *iam.Instance
	ctx      context.Context
	otherCtx context.Context
	org      *iam.Organization
	partner  *iam.Organization
}

func setup(t *testing.T, s store.Store) *fixture {
	t.Helper()
	raw, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s: s, secrets: crypto.NewSecretHasher(crypto.NewKeyring(key))}
	svc := project.New(s, project.Options{Secrets: f.secrets})
	f.projects, f.apps, f.grants = projectapi.NewProjectServer(svc), projectapi.NewApplicationServer(svc), projectapi.NewUserGrantServer(svc)
	f.in, f.other = f.instance(), f.instance()
	actor := reqctx.WithPrincipal(t.Context(), &iam.Principal{InstanceID: f.in.ID, UserID: "admin-user"})
	f.ctx = reqctx.WithInstance(actor, f.in)
	f.otherCtx = reqctx.WithInstance(t.Context(), f.other)
	f.org, f.partner = f.newOrg(f.in.ID), f.newOrg(f.in.ID)
	f.newOrg(f.other.ID)
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

func (f *fixture) newUser(orgID string) *iam.User {
	f.t.Helper()
	id := iam.NewID()
	u := &iam.User{ID: id, InstanceID: f.in.ID, OrgID: orgID, Type: iam.UserHuman, LoginName: "user-" + id, State: iam.UserActive,
		Human: &iam.HumanProfile{Email: "user-" + id + "@example.com"}}
	out, err := f.s.UserCreate(f.t.Context(), &store.UserCreateParams{User: u, Now: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
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

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func req[T any](m *T) *connect.Request[T] { return connect.NewRequest(m) }

func TestProjectService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f := setup(t, s)
		ps := f.projects

		// Projects.
		created := must[*connect.Response[adminv1.CreateProjectResponse]](t)(ps.CreateProject(f.ctx, req(&adminv1.CreateProjectRequest{OrgId: f.org.ID, Name: "Shop", RoleAssertion: true}))).Msg.Project
		if created.Id == "" || created.Name != "Shop" || !created.RoleAssertion || created.State != adminv1.State_STATE_ACTIVE || created.Version != 1 || created.CreatedAt == nil {
			t.Fatalf("created %v", created)
		}
		events, _ := s.AuditEventList(f.ctx, &store.AuditEventListParams{InstanceID: f.in.ID, EventType: iam.EventProjectCreated})
		if len(events) != 1 || events[0].Actor != "admin-user" {
			t.Fatalf("events %+v", events)
		}
		_, err := ps.CreateProject(f.ctx, req(&adminv1.CreateProjectRequest{OrgId: f.org.ID}))
		wantCode(t, err, iam.Invalid, "name")
		_, err = ps.CreateProject(f.otherCtx, req(&adminv1.CreateProjectRequest{OrgId: f.org.ID, Name: "X"}))
		wantCode(t, err, iam.NotFound, "org_id")

		got := must[*connect.Response[adminv1.GetProjectResponse]](t)(ps.GetProject(f.ctx, req(&adminv1.GetProjectRequest{OrgId: f.org.ID, ProjectId: created.Id}))).Msg.Project
		if got.Id != created.Id {
			t.Fatalf("get %v", got)
		}
		_, err = ps.GetProject(f.ctx, req(&adminv1.GetProjectRequest{OrgId: f.partner.ID, ProjectId: created.Id}))
		wantCode(t, err, iam.NotFound, "")
		_, err = ps.GetProject(f.otherCtx, req(&adminv1.GetProjectRequest{OrgId: f.org.ID, ProjectId: created.Id}))
		wantCode(t, err, iam.NotFound, "")
		_, err = ps.GetProject(f.ctx, req(&adminv1.GetProjectRequest{OrgId: f.org.ID}))
		wantCode(t, err, iam.Invalid, "project_id")

		for _, n := range []string{"Alpha", "alps", "Beta"} {
			must[*connect.Response[adminv1.CreateProjectResponse]](t)(ps.CreateProject(f.ctx, req(&adminv1.CreateProjectRequest{OrgId: f.org.ID, Name: n})))
		}
		var names []string
		token := ""
		for range 10 {
			res := must[*connect.Response[adminv1.ListProjectsResponse]](t)(ps.ListProjects(f.ctx, req(&adminv1.ListProjectsRequest{OrgId: f.org.ID, PageSize: 3, PageToken: token}))).Msg
			for _, p := range res.Projects {
				names = append(names, p.Name)
			}
			if token = res.NextPageToken; token == "" {
				break
			}
		}
		if strings.Join(names, ",") != "Alpha,alps,Beta,Shop" {
			t.Fatalf("paged names %v", names)
		}
		prefixed := must[*connect.Response[adminv1.ListProjectsResponse]](t)(ps.ListProjects(f.ctx, req(&adminv1.ListProjectsRequest{OrgId: f.org.ID, NamePrefix: "AL", State: adminv1.State_STATE_ACTIVE}))).Msg
		if len(prefixed.Projects) != 2 || prefixed.NextPageToken != "" {
			t.Fatalf("prefixed %v", prefixed)
		}
		_, err = ps.ListProjects(f.ctx, req(&adminv1.ListProjectsRequest{OrgId: f.org.ID, PageSize: -1, PageToken: "garbage", State: adminv1.State(9)}))
		for _, field := range []string{"page_size", "page_token", "state"} {
			if !iam.IsCode(err, iam.Invalid) || !strings.Contains(err.Error(), field) {
				t.Fatalf("bad list request: %v lacks %s", err, field)
			}
		}
		_, err = ps.ListProjects(f.otherCtx, req(&adminv1.ListProjectsRequest{OrgId: f.org.ID}))
		wantCode(t, err, iam.NotFound, "org_id")

		updated := must[*connect.Response[adminv1.UpdateProjectResponse]](t)(ps.UpdateProject(f.ctx, req(&adminv1.UpdateProjectRequest{
			OrgId: f.org.ID, ProjectId: created.Id, Version: 1, Name: "Shop 2", State: adminv1.State_STATE_INACTIVE}))).Msg.Project
		if updated.Name != "Shop 2" || updated.RoleAssertion || updated.State != adminv1.State_STATE_INACTIVE || updated.Version != 2 {
			t.Fatalf("updated %v", updated)
		}
		_, err = ps.UpdateProject(f.ctx, req(&adminv1.UpdateProjectRequest{OrgId: f.org.ID, ProjectId: created.Id, Version: 1, Name: "Lost"}))
		wantCode(t, err, iam.Conflict, "")
		_, err = ps.UpdateProject(f.ctx, req(&adminv1.UpdateProjectRequest{OrgId: f.org.ID, ProjectId: created.Id, Version: 2, Name: ""}))
		wantCode(t, err, iam.Invalid, "name")
		_, err = ps.UpdateProject(f.otherCtx, req(&adminv1.UpdateProjectRequest{OrgId: f.org.ID, ProjectId: created.Id, Version: 2, Name: "X"}))
		wantCode(t, err, iam.NotFound, "")

		// Roles.
		role := must[*connect.Response[adminv1.AddProjectRoleResponse]](t)(ps.AddProjectRole(f.ctx, req(&adminv1.AddProjectRoleRequest{
			OrgId: f.org.ID, ProjectId: created.Id, Key: "shop:admin", DisplayName: "Admin", Group: "staff"}))).Msg.Role
		if role.Key != "shop:admin" || role.ProjectId != created.Id || role.Version != 1 {
			t.Fatalf("role %v", role)
		}
		must[*connect.Response[adminv1.AddProjectRoleResponse]](t)(ps.AddProjectRole(f.ctx, req(&adminv1.AddProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id, Key: "shop:viewer"})))
		must[*connect.Response[adminv1.AddProjectRoleResponse]](t)(ps.AddProjectRole(f.ctx, req(&adminv1.AddProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id, Key: "billing"})))
		_, err = ps.AddProjectRole(f.ctx, req(&adminv1.AddProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id, Key: "bad key"}))
		wantCode(t, err, iam.Invalid, "key")
		_, err = ps.AddProjectRole(f.otherCtx, req(&adminv1.AddProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id, Key: "k"}))
		wantCode(t, err, iam.NotFound, "project_id")
		var keys []string
		token = ""
		for range 10 {
			res := must[*connect.Response[adminv1.ListProjectRolesResponse]](t)(ps.ListProjectRoles(f.ctx, req(&adminv1.ListProjectRolesRequest{OrgId: f.org.ID, ProjectId: created.Id, PageSize: 2, PageToken: token}))).Msg
			for _, r := range res.Roles {
				keys = append(keys, r.Key)
			}
			if token = res.NextPageToken; token == "" {
				break
			}
		}
		if strings.Join(keys, ",") != "billing,shop:admin,shop:viewer" {
			t.Fatalf("paged keys %v", keys)
		}
		byPrefix := must[*connect.Response[adminv1.ListProjectRolesResponse]](t)(ps.ListProjectRoles(f.ctx, req(&adminv1.ListProjectRolesRequest{OrgId: f.org.ID, ProjectId: created.Id, KeyPrefix: "shop:"}))).Msg
		if len(byPrefix.Roles) != 2 {
			t.Fatalf("by prefix %v", byPrefix)
		}
		_, err = ps.ListProjectRoles(f.ctx, req(&adminv1.ListProjectRolesRequest{OrgId: f.partner.ID, ProjectId: created.Id}))
		wantCode(t, err, iam.NotFound, "project_id")
		changedRole := must[*connect.Response[adminv1.UpdateProjectRoleResponse]](t)(ps.UpdateProjectRole(f.ctx, req(&adminv1.UpdateProjectRoleRequest{
			OrgId: f.org.ID, ProjectId: created.Id, Key: "shop:admin", Version: 1, DisplayName: "Administrator"}))).Msg.Role
		if changedRole.DisplayName != "Administrator" || changedRole.Group != "" || changedRole.Version != 2 {
			t.Fatalf("changed role %v", changedRole)
		}
		_, err = ps.UpdateProjectRole(f.ctx, req(&adminv1.UpdateProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id, Key: "shop:admin", Version: 2, Group: strings.Repeat("g", 201)}))
		wantCode(t, err, iam.Invalid, "group")
		_, err = ps.UpdateProjectRole(f.otherCtx, req(&adminv1.UpdateProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id, Key: "shop:admin", Version: 2}))
		wantCode(t, err, iam.NotFound, "")
		must[*connect.Response[adminv1.RemoveProjectRoleResponse]](t)(ps.RemoveProjectRole(f.ctx, req(&adminv1.RemoveProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id, Key: "billing"})))
		_, err = ps.RemoveProjectRole(f.ctx, req(&adminv1.RemoveProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id, Key: "billing"}))
		wantCode(t, err, iam.NotFound, "")
		_, err = ps.RemoveProjectRole(f.ctx, req(&adminv1.RemoveProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id}))
		wantCode(t, err, iam.Invalid, "key")
		_, err = ps.RemoveProjectRole(f.otherCtx, req(&adminv1.RemoveProjectRoleRequest{OrgId: f.org.ID, ProjectId: created.Id, Key: "shop:viewer"}))
		wantCode(t, err, iam.NotFound, "")

		// Project grants.
		pg := must[*connect.Response[adminv1.CreateProjectGrantResponse]](t)(ps.CreateProjectGrant(f.ctx, req(&adminv1.CreateProjectGrantRequest{
			OrgId: f.org.ID, ProjectId: created.Id, GrantedOrgId: f.partner.ID, RoleKeys: []string{"shop:viewer"}}))).Msg.ProjectGrant
		if pg.Id == "" || pg.OrgId != f.org.ID || pg.GrantedOrgId != f.partner.ID || strings.Join(pg.RoleKeys, ",") != "shop:viewer" || pg.State != adminv1.State_STATE_ACTIVE {
			t.Fatalf("project grant %v", pg)
		}
		_, err = ps.CreateProjectGrant(f.ctx, req(&adminv1.CreateProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id, GrantedOrgId: f.newOrg(f.in.ID).ID, RoleKeys: []string{"nope"}}))
		wantCode(t, err, iam.Invalid, "role_keys")
		_, err = ps.CreateProjectGrant(f.ctx, req(&adminv1.CreateProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id}))
		wantCode(t, err, iam.Invalid, "granted_org_id")
		_, err = ps.CreateProjectGrant(f.otherCtx, req(&adminv1.CreateProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id, GrantedOrgId: f.partner.ID}))
		wantCode(t, err, iam.NotFound, "project_id")
		gotPG := must[*connect.Response[adminv1.GetProjectGrantResponse]](t)(ps.GetProjectGrant(f.ctx, req(&adminv1.GetProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id, GrantId: pg.Id}))).Msg.ProjectGrant
		if gotPG.Id != pg.Id {
			t.Fatalf("get project grant %v", gotPG)
		}
		_, err = ps.GetProjectGrant(f.ctx, req(&adminv1.GetProjectGrantRequest{OrgId: f.partner.ID, ProjectId: created.Id, GrantId: pg.Id}))
		wantCode(t, err, iam.NotFound, "")
		_, err = ps.GetProjectGrant(f.otherCtx, req(&adminv1.GetProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id, GrantId: pg.Id}))
		wantCode(t, err, iam.NotFound, "")
		_, err = ps.GetProjectGrant(f.ctx, req(&adminv1.GetProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id}))
		wantCode(t, err, iam.Invalid, "grant_id")
		list := must[*connect.Response[adminv1.ListProjectGrantsResponse]](t)(ps.ListProjectGrants(f.ctx, req(&adminv1.ListProjectGrantsRequest{OrgId: f.org.ID, ProjectId: created.Id, PageSize: 1}))).Msg
		if len(list.ProjectGrants) != 1 || list.NextPageToken == "" {
			t.Fatalf("list project grants %v", list)
		}
		next := must[*connect.Response[adminv1.ListProjectGrantsResponse]](t)(ps.ListProjectGrants(f.ctx, req(&adminv1.ListProjectGrantsRequest{OrgId: f.org.ID, ProjectId: created.Id, PageToken: list.NextPageToken}))).Msg
		if len(next.ProjectGrants) != 0 {
			t.Fatalf("second page %v", next)
		}
		_, err = ps.ListProjectGrants(f.otherCtx, req(&adminv1.ListProjectGrantsRequest{OrgId: f.org.ID, ProjectId: created.Id}))
		wantCode(t, err, iam.NotFound, "project_id")
		upPG := must[*connect.Response[adminv1.UpdateProjectGrantResponse]](t)(ps.UpdateProjectGrant(f.ctx, req(&adminv1.UpdateProjectGrantRequest{
			OrgId: f.org.ID, ProjectId: created.Id, GrantId: pg.Id, Version: 1, RoleKeys: []string{"shop:admin", "shop:viewer"}, State: adminv1.State_STATE_INACTIVE}))).Msg.ProjectGrant
		if len(upPG.RoleKeys) != 2 || upPG.State != adminv1.State_STATE_INACTIVE || upPG.Version != 2 {
			t.Fatalf("updated project grant %v", upPG)
		}
		_, err = ps.UpdateProjectGrant(f.ctx, req(&adminv1.UpdateProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id, GrantId: pg.Id, Version: 2, RoleKeys: []string{"x y"}}))
		wantCode(t, err, iam.Invalid, "role_keys")
		_, err = ps.UpdateProjectGrant(f.otherCtx, req(&adminv1.UpdateProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id, GrantId: pg.Id, Version: 2}))
		wantCode(t, err, iam.NotFound, "")
		_, err = ps.DeleteProjectGrant(f.ctx, req(&adminv1.DeleteProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id, GrantId: pg.Id, Version: 1}))
		wantCode(t, err, iam.Conflict, "")
		_, err = ps.DeleteProjectGrant(f.otherCtx, req(&adminv1.DeleteProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id, GrantId: pg.Id, Version: 2}))
		wantCode(t, err, iam.NotFound, "")
		must[*connect.Response[adminv1.DeleteProjectGrantResponse]](t)(ps.DeleteProjectGrant(f.ctx, req(&adminv1.DeleteProjectGrantRequest{OrgId: f.org.ID, ProjectId: created.Id, GrantId: pg.Id, Version: 2})))

		// Delete the project.
		_, err = ps.DeleteProject(f.otherCtx, req(&adminv1.DeleteProjectRequest{OrgId: f.org.ID, ProjectId: created.Id, Version: 2}))
		wantCode(t, err, iam.NotFound, "")
		_, err = ps.DeleteProject(f.ctx, req(&adminv1.DeleteProjectRequest{OrgId: f.org.ID, ProjectId: created.Id, Version: 1}))
		wantCode(t, err, iam.Conflict, "")
		_, err = ps.DeleteProject(f.ctx, req(&adminv1.DeleteProjectRequest{OrgId: f.org.ID}))
		wantCode(t, err, iam.Invalid, "project_id")
		must[*connect.Response[adminv1.DeleteProjectResponse]](t)(ps.DeleteProject(f.ctx, req(&adminv1.DeleteProjectRequest{OrgId: f.org.ID, ProjectId: created.Id, Version: 2})))
		_, err = ps.GetProject(f.ctx, req(&adminv1.GetProjectRequest{OrgId: f.org.ID, ProjectId: created.Id}))
		wantCode(t, err, iam.NotFound, "")
	})
}

func TestApplicationService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f := setup(t, s)
		p := must[*connect.Response[adminv1.CreateProjectResponse]](t)(f.projects.CreateProject(f.ctx, req(&adminv1.CreateProjectRequest{OrgId: f.org.ID, Name: "Shop"}))).Msg.Project
		as := f.apps

		res := must[*connect.Response[adminv1.CreateApplicationResponse]](t)(as.CreateApplication(f.ctx, req(&adminv1.CreateApplicationRequest{
			OrgId: f.org.ID, ProjectId: p.Id, Type: adminv1.ApplicationType_APPLICATION_TYPE_WEB,
			Settings: &adminv1.ApplicationSettings{Name: "Web", RedirectUris: []string{"https://shop.example/cb"}, AccessTokenLifetime: durationpb.New(10 * time.Minute)},
		}))).Msg
		app := res.Application
		if res.ClientSecret == "" || !app.HasClientSecret || app.ClientId == "" || app.Type != adminv1.ApplicationType_APPLICATION_TYPE_WEB ||
			app.AuthMethod != adminv1.AuthMethod_AUTH_METHOD_CLIENT_SECRET_BASIC || app.AccessTokenFormat != adminv1.AccessTokenFormat_ACCESS_TOKEN_FORMAT_JWT ||
			app.AccessTokenLifetime.AsDuration() != 10*time.Minute || app.IdTokenLifetime.AsDuration() != time.Hour ||
			app.RefreshTokenLifetime.AsDuration() != 720*time.Hour || strings.Join(app.GrantTypes, ",") != "authorization_code,refresh_token" ||
			strings.Join(app.ResponseTypes, ",") != "code" || app.State != adminv1.State_STATE_ACTIVE {
			t.Fatalf("created %v", res)
		}
		stored, err := s.ApplicationGetByClientID(f.ctx, &store.ApplicationGetByClientIDParams{InstanceID: f.in.ID, ClientID: app.ClientId})
		if err != nil || !f.secrets.Verify(res.ClientSecret, stored.SecretHash) {
			t.Fatalf("stored secret hash does not verify: %v", err)
		}
		spa := must[*connect.Response[adminv1.CreateApplicationResponse]](t)(as.CreateApplication(f.ctx, req(&adminv1.CreateApplicationRequest{
			OrgId: f.org.ID, ProjectId: p.Id, Type: adminv1.ApplicationType_APPLICATION_TYPE_SPA,
			Settings: &adminv1.ApplicationSettings{Name: "SPA", RedirectUris: []string{"http://localhost:5173/"}},
		}))).Msg
		if spa.ClientSecret != "" || spa.Application.HasClientSecret || !spa.Application.PkceRequired || spa.Application.AuthMethod != adminv1.AuthMethod_AUTH_METHOD_NONE {
			t.Fatalf("spa %v", spa)
		}
		for name, tc := range map[string]struct {
			ctx   context.Context
			r     *adminv1.CreateApplicationRequest
			code  iam.Code
			field string
		}{
			"no type": {f.ctx, &adminv1.CreateApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id,
				Settings: &adminv1.ApplicationSettings{Name: "X", RedirectUris: []string{"https://x.example/"}}}, iam.Invalid, "type"},
			"bad redirect": {f.ctx, &adminv1.CreateApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, Type: adminv1.ApplicationType_APPLICATION_TYPE_WEB,
				Settings: &adminv1.ApplicationSettings{Name: "X", RedirectUris: []string{"http://x.example/"}}}, iam.Invalid, "settings.redirect_uris"},
			"bad duration": {f.ctx, &adminv1.CreateApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, Type: adminv1.ApplicationType_APPLICATION_TYPE_API,
				Settings: &adminv1.ApplicationSettings{Name: "X", IdTokenLifetime: &durationpb.Duration{Seconds: 1, Nanos: -1}}}, iam.Invalid, "settings.id_token_lifetime"},
			"unknown auth method": {f.ctx, &adminv1.CreateApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, Type: adminv1.ApplicationType_APPLICATION_TYPE_API,
				Settings: &adminv1.ApplicationSettings{Name: "X", AuthMethod: adminv1.AuthMethod(42)}}, iam.Invalid, "settings.auth_method"},
			"public none for api": {f.ctx, &adminv1.CreateApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, Type: adminv1.ApplicationType_APPLICATION_TYPE_API,
				Settings: &adminv1.ApplicationSettings{Name: "X", AuthMethod: adminv1.AuthMethod_AUTH_METHOD_NONE}}, iam.Invalid, "settings.auth_method"},
			"other instance": {f.otherCtx, &adminv1.CreateApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, Type: adminv1.ApplicationType_APPLICATION_TYPE_API,
				Settings: &adminv1.ApplicationSettings{Name: "X"}}, iam.NotFound, "project_id"},
			"other org": {f.ctx, &adminv1.CreateApplicationRequest{OrgId: f.partner.ID, ProjectId: p.Id, Type: adminv1.ApplicationType_APPLICATION_TYPE_API,
				Settings: &adminv1.ApplicationSettings{Name: "X"}}, iam.NotFound, "project_id"},
		} {
			_, err := as.CreateApplication(tc.ctx, req(tc.r))
			if !iam.IsCode(err, tc.code) {
				t.Fatalf("%s: %v, want %s", name, err, tc.code)
			}
			wantCode(t, err, tc.code, tc.field)
		}

		got := must[*connect.Response[adminv1.GetApplicationResponse]](t)(as.GetApplication(f.ctx, req(&adminv1.GetApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id}))).Msg.Application
		if got.ClientId != app.ClientId {
			t.Fatalf("get %v", got)
		}
		_, err = as.GetApplication(f.otherCtx, req(&adminv1.GetApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id}))
		wantCode(t, err, iam.NotFound, "")
		_, err = as.GetApplication(f.ctx, req(&adminv1.GetApplicationRequest{OrgId: f.partner.ID, ProjectId: p.Id, AppId: app.Id}))
		wantCode(t, err, iam.NotFound, "")
		_, err = as.GetApplication(f.ctx, req(&adminv1.GetApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id}))
		wantCode(t, err, iam.Invalid, "app_id")

		first := must[*connect.Response[adminv1.ListApplicationsResponse]](t)(as.ListApplications(f.ctx, req(&adminv1.ListApplicationsRequest{OrgId: f.org.ID, ProjectId: p.Id, PageSize: 1}))).Msg
		second := must[*connect.Response[adminv1.ListApplicationsResponse]](t)(as.ListApplications(f.ctx, req(&adminv1.ListApplicationsRequest{OrgId: f.org.ID, ProjectId: p.Id, PageSize: 1, PageToken: first.NextPageToken}))).Msg
		if len(first.Applications) != 1 || len(second.Applications) != 1 || first.Applications[0].Id == second.Applications[0].Id {
			t.Fatalf("pages %v / %v", first, second)
		}
		_, err = as.ListApplications(f.otherCtx, req(&adminv1.ListApplicationsRequest{OrgId: f.org.ID, ProjectId: p.Id}))
		wantCode(t, err, iam.NotFound, "project_id")
		_, err = as.ListApplications(f.ctx, req(&adminv1.ListApplicationsRequest{OrgId: f.org.ID, ProjectId: p.Id, PageSize: 5000}))
		wantCode(t, err, iam.Invalid, "page_size")

		updated := must[*connect.Response[adminv1.UpdateApplicationResponse]](t)(as.UpdateApplication(f.ctx, req(&adminv1.UpdateApplicationRequest{
			OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, Version: app.Version, State: adminv1.State_STATE_INACTIVE,
			Settings: &adminv1.ApplicationSettings{Name: "Web 2", RedirectUris: []string{"https://shop.example/cb2"},
				AuthMethod: adminv1.AuthMethod_AUTH_METHOD_CLIENT_SECRET_POST, AccessTokenFormat: adminv1.AccessTokenFormat_ACCESS_TOKEN_FORMAT_OPAQUE},
		}))).Msg.Application
		if updated.Name != "Web 2" || updated.State != adminv1.State_STATE_INACTIVE || updated.AuthMethod != adminv1.AuthMethod_AUTH_METHOD_CLIENT_SECRET_POST ||
			updated.AccessTokenFormat != adminv1.AccessTokenFormat_ACCESS_TOKEN_FORMAT_OPAQUE || updated.AccessTokenLifetime.AsDuration() != time.Hour ||
			!updated.HasClientSecret || updated.ClientId != app.ClientId || updated.Version != 2 {
			t.Fatalf("updated %v", updated)
		}
		_, err = as.UpdateApplication(f.ctx, req(&adminv1.UpdateApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, Version: 2,
			Settings: &adminv1.ApplicationSettings{Name: "Web", RedirectUris: []string{"https://shop.example/cb#frag"}}}))
		wantCode(t, err, iam.Invalid, "settings.redirect_uris")
		_, err = as.UpdateApplication(f.ctx, req(&adminv1.UpdateApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, Version: 1,
			Settings: &adminv1.ApplicationSettings{Name: "Web", RedirectUris: []string{"https://shop.example/cb"}}}))
		wantCode(t, err, iam.Conflict, "")
		_, err = as.UpdateApplication(f.otherCtx, req(&adminv1.UpdateApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, Version: 2,
			Settings: &adminv1.ApplicationSettings{Name: "Web", RedirectUris: []string{"https://shop.example/cb"}}}))
		wantCode(t, err, iam.NotFound, "")

		regen := must[*connect.Response[adminv1.RegenerateClientSecretResponse]](t)(as.RegenerateClientSecret(f.ctx, req(&adminv1.RegenerateClientSecretRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id}))).Msg
		if regen.ClientId != app.ClientId || regen.ClientSecret == "" || regen.ClientSecret == res.ClientSecret {
			t.Fatalf("regenerated %v", regen)
		}
		_, err = as.RegenerateClientSecret(f.ctx, req(&adminv1.RegenerateClientSecretRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: spa.Application.Id}))
		wantCode(t, err, iam.FailedPrecondition, "")
		_, err = as.RegenerateClientSecret(f.otherCtx, req(&adminv1.RegenerateClientSecretRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id}))
		wantCode(t, err, iam.NotFound, "")

		_, err = as.DeleteApplication(f.ctx, req(&adminv1.DeleteApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, Version: 2}))
		wantCode(t, err, iam.Conflict, "")
		_, err = as.DeleteApplication(f.otherCtx, req(&adminv1.DeleteApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, Version: 3}))
		wantCode(t, err, iam.NotFound, "")
		_, err = as.DeleteApplication(f.ctx, req(&adminv1.DeleteApplicationRequest{ProjectId: p.Id, AppId: app.Id, Version: 3}))
		wantCode(t, err, iam.Invalid, "org_id")
		must[*connect.Response[adminv1.DeleteApplicationResponse]](t)(as.DeleteApplication(f.ctx, req(&adminv1.DeleteApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, Version: 3})))
		_, err = as.GetApplication(f.ctx, req(&adminv1.GetApplicationRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id}))
		wantCode(t, err, iam.NotFound, "")
	})
}

func TestUserGrantService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f := setup(t, s)
		p := must[*connect.Response[adminv1.CreateProjectResponse]](t)(f.projects.CreateProject(f.ctx, req(&adminv1.CreateProjectRequest{OrgId: f.org.ID, Name: "Shop"}))).Msg.Project
		for _, k := range []string{"a", "b"} {
			must[*connect.Response[adminv1.AddProjectRoleResponse]](t)(f.projects.AddProjectRole(f.ctx, req(&adminv1.AddProjectRoleRequest{OrgId: f.org.ID, ProjectId: p.Id, Key: k})))
		}
		pg := must[*connect.Response[adminv1.CreateProjectGrantResponse]](t)(f.projects.CreateProjectGrant(f.ctx, req(&adminv1.CreateProjectGrantRequest{
			OrgId: f.org.ID, ProjectId: p.Id, GrantedOrgId: f.partner.ID, RoleKeys: []string{"a"}}))).Msg.ProjectGrant
		u, pu := f.newUser(f.org.ID), f.newUser(f.partner.ID)
		gs := f.grants

		own := must[*connect.Response[adminv1.CreateUserGrantResponse]](t)(gs.CreateUserGrant(f.ctx, req(&adminv1.CreateUserGrantRequest{
			OrgId: f.org.ID, UserId: u.ID, ProjectId: p.Id, RoleKeys: []string{"b", "a"}}))).Msg.UserGrant
		if own.Id == "" || own.ProjectGrantId != "" || strings.Join(own.RoleKeys, ",") != "a,b" || own.State != adminv1.State_STATE_ACTIVE || own.Version != 1 {
			t.Fatalf("own grant %v", own)
		}
		granted := must[*connect.Response[adminv1.CreateUserGrantResponse]](t)(gs.CreateUserGrant(f.ctx, req(&adminv1.CreateUserGrantRequest{
			OrgId: f.partner.ID, UserId: pu.ID, ProjectId: p.Id, RoleKeys: []string{"a"}}))).Msg.UserGrant
		if granted.ProjectGrantId != pg.Id {
			t.Fatalf("granted grant %v", granted)
		}
		pu2 := f.newUser(f.partner.ID)
		_, err := gs.CreateUserGrant(f.ctx, req(&adminv1.CreateUserGrantRequest{OrgId: f.partner.ID, UserId: pu2.ID, ProjectId: p.Id, RoleKeys: []string{"b"}}))
		wantCode(t, err, iam.Invalid, "role_keys")
		must[*connect.Response[adminv1.CreateUserGrantResponse]](t)(gs.CreateUserGrant(f.ctx, req(&adminv1.CreateUserGrantRequest{OrgId: f.partner.ID, UserId: pu2.ID, ProjectId: p.Id})))
		_, err = gs.CreateUserGrant(f.ctx, req(&adminv1.CreateUserGrantRequest{OrgId: f.org.ID, ProjectId: p.Id}))
		wantCode(t, err, iam.Invalid, "user_id")
		_, err = gs.CreateUserGrant(f.otherCtx, req(&adminv1.CreateUserGrantRequest{OrgId: f.org.ID, UserId: u.ID, ProjectId: p.Id}))
		wantCode(t, err, iam.NotFound, "user_id")

		got := must[*connect.Response[adminv1.GetUserGrantResponse]](t)(gs.GetUserGrant(f.ctx, req(&adminv1.GetUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id}))).Msg.UserGrant
		if got.Id != own.Id || got.UserId != u.ID {
			t.Fatalf("get %v", got)
		}
		_, err = gs.GetUserGrant(f.ctx, req(&adminv1.GetUserGrantRequest{OrgId: f.partner.ID, GrantId: own.Id}))
		wantCode(t, err, iam.NotFound, "")
		_, err = gs.GetUserGrant(f.otherCtx, req(&adminv1.GetUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id}))
		wantCode(t, err, iam.NotFound, "")
		_, err = gs.GetUserGrant(f.ctx, req(&adminv1.GetUserGrantRequest{GrantId: own.Id}))
		wantCode(t, err, iam.Invalid, "org_id")

		list := must[*connect.Response[adminv1.ListUserGrantsResponse]](t)(gs.ListUserGrants(f.ctx, req(&adminv1.ListUserGrantsRequest{OrgId: f.partner.ID, ProjectId: p.Id}))).Msg
		if len(list.UserGrants) != 2 || list.NextPageToken != "" {
			t.Fatalf("list %v", list)
		}
		page1 := must[*connect.Response[adminv1.ListUserGrantsResponse]](t)(gs.ListUserGrants(f.ctx, req(&adminv1.ListUserGrantsRequest{OrgId: f.partner.ID, PageSize: 1}))).Msg
		page2 := must[*connect.Response[adminv1.ListUserGrantsResponse]](t)(gs.ListUserGrants(f.ctx, req(&adminv1.ListUserGrantsRequest{OrgId: f.partner.ID, PageSize: 1, PageToken: page1.NextPageToken}))).Msg
		if len(page1.UserGrants) != 1 || len(page2.UserGrants) != 1 || page1.UserGrants[0].Id == page2.UserGrants[0].Id {
			t.Fatalf("pages %v / %v", page1, page2)
		}
		byUser := must[*connect.Response[adminv1.ListUserGrantsResponse]](t)(gs.ListUserGrants(f.ctx, req(&adminv1.ListUserGrantsRequest{OrgId: f.partner.ID, UserId: pu.ID}))).Msg
		if len(byUser.UserGrants) != 1 || byUser.UserGrants[0].Id != granted.Id {
			t.Fatalf("by user %v", byUser)
		}
		_, err = gs.ListUserGrants(f.otherCtx, req(&adminv1.ListUserGrantsRequest{OrgId: f.org.ID}))
		wantCode(t, err, iam.NotFound, "org_id")

		updated := must[*connect.Response[adminv1.UpdateUserGrantResponse]](t)(gs.UpdateUserGrant(f.ctx, req(&adminv1.UpdateUserGrantRequest{
			OrgId: f.org.ID, GrantId: own.Id, Version: 1, RoleKeys: []string{"b"}, State: adminv1.State_STATE_INACTIVE}))).Msg.UserGrant
		if strings.Join(updated.RoleKeys, ",") != "b" || updated.State != adminv1.State_STATE_INACTIVE || updated.Version != 2 {
			t.Fatalf("updated %v", updated)
		}
		_, err = gs.UpdateUserGrant(f.ctx, req(&adminv1.UpdateUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id, Version: 2, RoleKeys: []string{"zz"}}))
		wantCode(t, err, iam.Invalid, "role_keys")
		_, err = gs.UpdateUserGrant(f.ctx, req(&adminv1.UpdateUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id, Version: 2, State: adminv1.State(7)}))
		wantCode(t, err, iam.Invalid, "state")
		_, err = gs.UpdateUserGrant(f.ctx, req(&adminv1.UpdateUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id, Version: 1}))
		wantCode(t, err, iam.Conflict, "")
		_, err = gs.UpdateUserGrant(f.otherCtx, req(&adminv1.UpdateUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id, Version: 2}))
		wantCode(t, err, iam.NotFound, "")

		_, err = gs.DeleteUserGrant(f.ctx, req(&adminv1.DeleteUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id, Version: 1}))
		wantCode(t, err, iam.Conflict, "")
		_, err = gs.DeleteUserGrant(f.otherCtx, req(&adminv1.DeleteUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id, Version: 2}))
		wantCode(t, err, iam.NotFound, "")
		_, err = gs.DeleteUserGrant(f.ctx, req(&adminv1.DeleteUserGrantRequest{OrgId: f.org.ID, Version: 2}))
		wantCode(t, err, iam.Invalid, "grant_id")
		must[*connect.Response[adminv1.DeleteUserGrantResponse]](t)(gs.DeleteUserGrant(f.ctx, req(&adminv1.DeleteUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id, Version: 2})))
		_, err = gs.GetUserGrant(f.ctx, req(&adminv1.GetUserGrantRequest{OrgId: f.org.ID, GrantId: own.Id}))
		wantCode(t, err, iam.NotFound, "")
	})
}

// TestNoInstanceInContext: a handler reached without the tenant middleware
// fails instead of guessing an instance.
func TestNoInstanceInContext(t *testing.T) {
	t.Parallel()
	s := testenv.NewStore(t, "sqlite")
	svc := project.New(s, project.Options{})
	if _, err := projectapi.NewProjectServer(svc).GetProject(t.Context(), req(&adminv1.GetProjectRequest{OrgId: "o", ProjectId: "p"})); err == nil {
		t.Fatal("no error without an instance")
	}
	if _, err := projectapi.NewApplicationServer(svc).GetApplication(t.Context(), req(&adminv1.GetApplicationRequest{})); err == nil {
		t.Fatal("no error without an instance")
	}
	if _, err := projectapi.NewUserGrantServer(svc).GetUserGrant(t.Context(), req(&adminv1.GetUserGrantRequest{})); err == nil {
		t.Fatal("no error without an instance")
	}
}
