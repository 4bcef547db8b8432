package storetest

import (
	"slices"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// mustCreateProject stores an active project with a unique name in the
// organization.
func mustCreateProject(t *testing.T, s store.Queries, instanceID, orgID string) *iam.Project {
	t.Helper()
	p := &iam.Project{ID: iam.NewID(), InstanceID: instanceID, OrgID: orgID, Name: "Project " + iam.NewID(), State: iam.StateActive}
	return must[*iam.Project](t)(s.ProjectCreate(t.Context(), &store.ProjectCreateParams{Project: p, Now: now()}))
}

// mustCreateRoles stores roles with the given keys in the project.
func mustCreateRoles(t *testing.T, s store.Queries, instanceID, projectID string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		r := &iam.ProjectRole{InstanceID: instanceID, ProjectID: projectID, Key: k, DisplayName: "Role " + k}
		must[*iam.ProjectRole](t)(s.ProjectRoleCreate(t.Context(), &store.ProjectRoleCreateParams{Role: r, Now: now()}))
	}
}

func projectNames(list []*iam.Project) []string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.Name
	}
	return out
}

func roleKeys(list []*iam.ProjectRole) []string {
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = r.Key
	}
	return out
}

// testProjects covers the store methods for projects, roles, applications,
// project grants and user grants.
func (b *bundle) testProjects(t *testing.T) {
	t.Run("ProjectCRUD", b.testProjectCRUD)
	t.Run("ProjectListPagesAndFilters", b.testProjectList)
	t.Run("ProjectCrossInstance", b.testProjectCrossInstance)
	t.Run("RoleCRUD", b.testProjectRoleCRUD)
	t.Run("RoleCrossInstance", b.testProjectRoleCrossInstance)
	t.Run("ApplicationCRUD", b.testApplicationCRUD)
	t.Run("ApplicationCrossInstance", b.testApplicationCrossInstance)
	t.Run("ProjectGrantCRUD", b.testProjectGrantCRUD)
	t.Run("ProjectGrantCrossInstance", b.testProjectGrantCrossInstance)
	t.Run("UserGrantCRUD", b.testUserGrantCRUD)
	t.Run("UserGrantCrossInstance", b.testUserGrantCrossInstance)
	t.Run("UserGrantListForUser", b.testUserGrantListForUser)
	t.Run("RoleRemovalCascades", b.testRoleRemovalCascades)
	t.Run("ProjectGrantRoleTrimAndDeleteCascade", b.testProjectGrantCascades)
	t.Run("ProjectDeleteCascades", b.testProjectDeleteCascades)
}

func (b *bundle) testProjectCRUD(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	org := mustCreateOrg(t, s, in.ID)
	other := mustCreateOrg(t, s, in.ID)

	at := now()
	p := &iam.Project{ID: iam.NewID(), InstanceID: in.ID, OrgID: org.ID, Name: "Shop", RoleAssertion: true, State: iam.StateActive}
	created := must[*iam.Project](t)(s.ProjectCreate(ctx, &store.ProjectCreateParams{Project: p, Now: at}))
	if created.ID != p.ID || created.InstanceID != in.ID || created.OrgID != org.ID || created.Name != "Shop" || !created.RoleAssertion ||
		created.State != iam.StateActive || created.Version != 1 || !created.CreatedAt.Equal(at) || !created.ChangedAt.Equal(at) {
		t.Fatalf("created = %+v", created)
	}
	got := must[*iam.Project](t)(s.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: in.ID, OrgID: org.ID, ID: p.ID}))
	if *got != *created {
		t.Fatalf("get = %+v, want %+v", got, created)
	}
	// The project is not found through another organization.
	_, err := s.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: in.ID, OrgID: other.ID, ID: p.ID})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: in.ID, OrgID: org.ID, ID: iam.NewID()})
	wantErr(t, err, store.ErrNotFound)

	// Uniqueness: ID, and name per organization case-insensitively.
	dup := *p
	dup.Name = "Other name"
	_, err = s.ProjectCreate(ctx, &store.ProjectCreateParams{Project: &dup, Now: now()})
	wantErr(t, err, store.ErrAlreadyExists)
	sameName := &iam.Project{ID: iam.NewID(), InstanceID: in.ID, OrgID: org.ID, Name: "SHOP", State: iam.StateActive}
	_, err = s.ProjectCreate(ctx, &store.ProjectCreateParams{Project: sameName, Now: now()})
	wantErr(t, err, store.ErrAlreadyExists)
	sameName.OrgID = other.ID
	must[*iam.Project](t)(s.ProjectCreate(ctx, &store.ProjectCreateParams{Project: sameName, Now: now()}))
	// An unknown organization is a missing reference.
	orphan := &iam.Project{ID: iam.NewID(), InstanceID: in.ID, OrgID: iam.NewID(), Name: "Orphan", State: iam.StateActive}
	_, err = s.ProjectCreate(ctx, &store.ProjectCreateParams{Project: orphan, Now: now()})
	wantErr(t, err, store.ErrNotFound)

	// Update with optimistic concurrency.
	change := *created
	change.Name, change.RoleAssertion, change.State = "Shop 2", false, iam.StateInactive
	at2 := now()
	updated := must[*iam.Project](t)(s.ProjectUpdate(ctx, &store.ProjectUpdateParams{Project: &change, Now: at2}))
	if updated.Name != "Shop 2" || updated.RoleAssertion || updated.State != iam.StateInactive || updated.Version != 2 ||
		!updated.ChangedAt.Equal(at2) || !updated.CreatedAt.Equal(at) {
		t.Fatalf("updated = %+v", updated)
	}
	stale := *created
	stale.Name = "Lost"
	_, err = s.ProjectUpdate(ctx, &store.ProjectUpdateParams{Project: &stale, Now: now()})
	wantErr(t, err, store.ErrConflict)
	wrongOrg := *updated
	wrongOrg.OrgID = other.ID
	_, err = s.ProjectUpdate(ctx, &store.ProjectUpdateParams{Project: &wrongOrg, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	taken := *updated
	third := mustCreateProject(t, s, in.ID, org.ID)
	taken.Name = third.Name
	_, err = s.ProjectUpdate(ctx, &store.ProjectUpdateParams{Project: &taken, Now: now()})
	wantErr(t, err, store.ErrAlreadyExists)
	got = must[*iam.Project](t)(s.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: in.ID, OrgID: org.ID, ID: p.ID}))
	if *got != *updated {
		t.Fatalf("failed updates changed the project: %+v, want %+v", got, updated)
	}

	// Delete with optimistic concurrency.
	wantErr(t, s.ProjectDelete(ctx, &store.ProjectDeleteParams{InstanceID: in.ID, OrgID: org.ID, ID: p.ID, Version: 1}), store.ErrConflict)
	wantErr(t, s.ProjectDelete(ctx, &store.ProjectDeleteParams{InstanceID: in.ID, OrgID: other.ID, ID: p.ID, Version: 2}), store.ErrNotFound)
	if err := s.ProjectDelete(ctx, &store.ProjectDeleteParams{InstanceID: in.ID, OrgID: org.ID, ID: p.ID, Version: 2}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: in.ID, OrgID: org.ID, ID: p.ID})
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.ProjectDelete(ctx, &store.ProjectDeleteParams{InstanceID: in.ID, OrgID: org.ID, ID: p.ID, Version: 2}), store.ErrNotFound)
}

func (b *bundle) testProjectList(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	org := mustCreateOrg(t, s, in.ID)
	other := mustCreateOrg(t, s, in.ID)
	names := []string{"alpine", "Beta", "ALPS", "Alpha", "Éclair", "gamma", "écu", "al"}
	for i, n := range names {
		p := &iam.Project{ID: iam.NewID(), InstanceID: in.ID, OrgID: org.ID, Name: n, State: iam.StateActive}
		if i%3 == 1 {
			p.State = iam.StateInactive
		}
		must[*iam.Project](t)(s.ProjectCreate(ctx, &store.ProjectCreateParams{Project: p, Now: now()}))
	}
	mustCreateProject(t, s, in.ID, other.ID)
	sorted := []string{"al", "Alpha", "alpine", "ALPS", "Beta", "gamma", "Éclair", "écu"}

	var got []string
	var afterKey, afterID string
	for page := 0; page < 10; page++ {
		list := must[[]*iam.Project](t)(s.ProjectList(ctx, &store.ProjectListParams{InstanceID: in.ID, OrgID: org.ID, AfterKey: afterKey, AfterID: afterID, Limit: 3}))
		if len(list) > 3 {
			t.Fatalf("page of %d, limit 3", len(list))
		}
		if len(list) == 0 {
			break
		}
		got = append(got, projectNames(list)...)
		last := list[len(list)-1]
		afterKey, afterID = last.NameKey(), last.ID
	}
	projSameList(t, "paged names", got, sorted)

	for _, tc := range []struct {
		prefix string
		state  iam.State
		want   []string
	}{
		{"AL", "", []string{"al", "Alpha", "alpine", "ALPS"}},
		{"alp", "", []string{"Alpha", "alpine", "ALPS"}},
		{"alpi", "", []string{"alpine"}},
		{"É", "", []string{"Éclair", "écu"}},
		{"écl", "", []string{"Éclair"}},
		{"z", "", nil},
		{"", iam.StateInactive, []string{"al", "Beta", "Éclair"}},
		{"al", iam.StateActive, []string{"Alpha", "alpine", "ALPS"}},
	} {
		list := must[[]*iam.Project](t)(s.ProjectList(ctx, &store.ProjectListParams{InstanceID: in.ID, OrgID: org.ID, NamePrefix: tc.prefix, State: tc.state}))
		projSameList(t, "prefix "+tc.prefix+" state "+string(tc.state), projectNames(list), tc.want)
	}
	// Pagination within a prefix.
	first := must[[]*iam.Project](t)(s.ProjectList(ctx, &store.ProjectListParams{InstanceID: in.ID, OrgID: org.ID, NamePrefix: "al", Limit: 2}))
	second := must[[]*iam.Project](t)(s.ProjectList(ctx, &store.ProjectListParams{InstanceID: in.ID, OrgID: org.ID, NamePrefix: "al",
		AfterKey: first[1].NameKey(), AfterID: first[1].ID, Limit: 2}))
	projSameList(t, "prefix pages", append(projectNames(first), projectNames(second)...), []string{"al", "Alpha", "alpine", "ALPS"})
}

func (b *bundle) testProjectCrossInstance(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	a, bi := b.instance(t, s), b.instance(t, s)
	orgA := mustCreateOrg(t, s, a.ID)
	orgB := mustCreateOrg(t, s, bi.ID)
	p := mustCreateProject(t, s, a.ID, orgA.ID)

	_, err := s.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: bi.ID, OrgID: orgA.ID, ID: p.ID})
	wantErr(t, err, store.ErrNotFound)
	if list := must[[]*iam.Project](t)(s.ProjectList(ctx, &store.ProjectListParams{InstanceID: bi.ID, OrgID: orgA.ID})); len(list) != 0 {
		t.Fatalf("instance B lists %d projects of A", len(list))
	}
	change := *p
	change.InstanceID, change.Name = bi.ID, "Hijacked"
	_, err = s.ProjectUpdate(ctx, &store.ProjectUpdateParams{Project: &change, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.ProjectDelete(ctx, &store.ProjectDeleteParams{InstanceID: bi.ID, OrgID: orgA.ID, ID: p.ID, Version: p.Version}), store.ErrNotFound)
	got := must[*iam.Project](t)(s.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: a.ID, OrgID: orgA.ID, ID: p.ID}))
	if *got != *p {
		t.Fatalf("project changed through another instance: %+v", got)
	}
	// A project of instance B cannot belong to an organization of A, and the
	// same ID may exist in both instances.
	cross := &iam.Project{ID: iam.NewID(), InstanceID: bi.ID, OrgID: orgA.ID, Name: "Cross", State: iam.StateActive}
	_, err = s.ProjectCreate(ctx, &store.ProjectCreateParams{Project: cross, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	twin := &iam.Project{ID: p.ID, InstanceID: bi.ID, OrgID: orgB.ID, Name: p.Name, State: iam.StateActive}
	must[*iam.Project](t)(s.ProjectCreate(ctx, &store.ProjectCreateParams{Project: twin, Now: now()}))
}

func (b *bundle) testProjectRoleCRUD(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	org := mustCreateOrg(t, s, in.ID)
	p := mustCreateProject(t, s, in.ID, org.ID)
	q := mustCreateProject(t, s, in.ID, org.ID)

	at := now()
	r := &iam.ProjectRole{InstanceID: in.ID, ProjectID: p.ID, Key: "shop:admin", DisplayName: "Admin", Group: "staff"}
	created := must[*iam.ProjectRole](t)(s.ProjectRoleCreate(ctx, &store.ProjectRoleCreateParams{Role: r, Now: at}))
	if created.Key != r.Key || created.DisplayName != "Admin" || created.Group != "staff" || created.Version != 1 || !created.CreatedAt.Equal(at) || created.ProjectID != p.ID {
		t.Fatalf("created = %+v", created)
	}
	_, err := s.ProjectRoleCreate(ctx, &store.ProjectRoleCreateParams{Role: r, Now: now()})
	wantErr(t, err, store.ErrAlreadyExists)
	// Keys are case-sensitive and per project.
	mustCreateRoles(t, s, in.ID, p.ID, "Shop:Admin")
	mustCreateRoles(t, s, in.ID, q.ID, "shop:admin")
	_, err = s.ProjectRoleCreate(ctx, &store.ProjectRoleCreateParams{Role: &iam.ProjectRole{InstanceID: in.ID, ProjectID: iam.NewID(), Key: "x"}, Now: now()})
	wantErr(t, err, store.ErrNotFound)

	got := must[*iam.ProjectRole](t)(s.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: in.ID, ProjectID: p.ID, Key: "shop:admin"}))
	if *got != *created {
		t.Fatalf("get = %+v, want %+v", got, created)
	}
	_, err = s.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: in.ID, ProjectID: p.ID, Key: "nope"})
	wantErr(t, err, store.ErrNotFound)

	mustCreateRoles(t, s, in.ID, p.ID, "shop:viewer", "shop.editor", "billing", "shop_x", "shop")
	all := []string{"Shop:Admin", "billing", "shop", "shop.editor", "shop:admin", "shop:viewer", "shop_x"}
	var paged []string
	after := ""
	for page := 0; page < 10; page++ {
		list := must[[]*iam.ProjectRole](t)(s.ProjectRoleList(ctx, &store.ProjectRoleListParams{InstanceID: in.ID, ProjectID: p.ID, AfterKey: after, Limit: 3}))
		if len(list) == 0 {
			break
		}
		paged = append(paged, roleKeys(list)...)
		after = list[len(list)-1].Key
	}
	projSameList(t, "paged roles", paged, all)
	for prefix, want := range map[string][]string{
		"shop":  {"shop", "shop.editor", "shop:admin", "shop:viewer", "shop_x"},
		"shop:": {"shop:admin", "shop:viewer"},
		"Shop":  {"Shop:Admin"},
		"zzz":   nil,
	} {
		list := must[[]*iam.ProjectRole](t)(s.ProjectRoleList(ctx, &store.ProjectRoleListParams{InstanceID: in.ID, ProjectID: p.ID, KeyPrefix: prefix}))
		projSameList(t, "prefix "+prefix, roleKeys(list), want)
	}
	byKeys := must[[]*iam.ProjectRole](t)(s.ProjectRoleList(ctx, &store.ProjectRoleListParams{InstanceID: in.ID, ProjectID: p.ID, Keys: []string{"billing", "shop", "missing"}}))
	projSameList(t, "by keys", roleKeys(byKeys), []string{"billing", "shop"})
	none := must[[]*iam.ProjectRole](t)(s.ProjectRoleList(ctx, &store.ProjectRoleListParams{InstanceID: in.ID, ProjectID: p.ID, Keys: []string{}}))
	if len(none) != 0 {
		t.Fatalf("empty key set listed %v", roleKeys(none))
	}

	change := *created
	change.DisplayName, change.Group = "Administrator", ""
	updated := must[*iam.ProjectRole](t)(s.ProjectRoleUpdate(ctx, &store.ProjectRoleUpdateParams{Role: &change, Now: now()}))
	if updated.DisplayName != "Administrator" || updated.Group != "" || updated.Version != 2 {
		t.Fatalf("updated = %+v", updated)
	}
	_, err = s.ProjectRoleUpdate(ctx, &store.ProjectRoleUpdateParams{Role: created, Now: now()})
	wantErr(t, err, store.ErrConflict)
	missing := change
	missing.Key = "nope"
	_, err = s.ProjectRoleUpdate(ctx, &store.ProjectRoleUpdateParams{Role: &missing, Now: now()})
	wantErr(t, err, store.ErrNotFound)

	wantErr(t, s.ProjectRoleDelete(ctx, &store.ProjectRoleDeleteParams{InstanceID: in.ID, ProjectID: p.ID, Key: "shop:admin", Version: 1}), store.ErrConflict)
	if err := s.ProjectRoleDelete(ctx, &store.ProjectRoleDeleteParams{InstanceID: in.ID, ProjectID: p.ID, Key: "shop:admin", Version: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.ProjectRoleDelete(ctx, &store.ProjectRoleDeleteParams{InstanceID: in.ID, ProjectID: p.ID, Key: "billing"}); err != nil {
		t.Fatalf("delete without version: %v", err)
	}
	wantErr(t, s.ProjectRoleDelete(ctx, &store.ProjectRoleDeleteParams{InstanceID: in.ID, ProjectID: p.ID, Key: "billing"}), store.ErrNotFound)
	// The other project's role of the same key is untouched.
	must[*iam.ProjectRole](t)(s.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: in.ID, ProjectID: q.ID, Key: "shop:admin"}))
}

func (b *bundle) testProjectRoleCrossInstance(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	a, bi := b.instance(t, s), b.instance(t, s)
	orgA := mustCreateOrg(t, s, a.ID)
	p := mustCreateProject(t, s, a.ID, orgA.ID)
	mustCreateRoles(t, s, a.ID, p.ID, "admin")

	_, err := s.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: bi.ID, ProjectID: p.ID, Key: "admin"})
	wantErr(t, err, store.ErrNotFound)
	if list := must[[]*iam.ProjectRole](t)(s.ProjectRoleList(ctx, &store.ProjectRoleListParams{InstanceID: bi.ID, ProjectID: p.ID})); len(list) != 0 {
		t.Fatalf("instance B lists roles of A: %v", roleKeys(list))
	}
	_, err = s.ProjectRoleUpdate(ctx, &store.ProjectRoleUpdateParams{Role: &iam.ProjectRole{InstanceID: bi.ID, ProjectID: p.ID, Key: "admin", DisplayName: "x", Version: 1}, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.ProjectRoleDelete(ctx, &store.ProjectRoleDeleteParams{InstanceID: bi.ID, ProjectID: p.ID, Key: "admin"}), store.ErrNotFound)
	// A role of instance B cannot be added to a project of A.
	_, err = s.ProjectRoleCreate(ctx, &store.ProjectRoleCreateParams{Role: &iam.ProjectRole{InstanceID: bi.ID, ProjectID: p.ID, Key: "evil"}, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	got := must[*iam.ProjectRole](t)(s.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: a.ID, ProjectID: p.ID, Key: "admin"}))
	if got.Version != 1 || got.DisplayName != "Role admin" {
		t.Fatalf("role changed through another instance: %+v", got)
	}
}

func (b *bundle) testRoleRemovalCascades(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	owner := mustCreateOrg(t, s, in.ID)
	partner := mustCreateOrg(t, s, in.ID)
	p := mustCreateProject(t, s, in.ID, owner.ID)
	mustCreateRoles(t, s, in.ID, p.ID, "a", "b", "c")
	pg := must[*iam.ProjectGrant](t)(s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: &iam.ProjectGrant{
		ID: iam.NewID(), InstanceID: in.ID, OrgID: owner.ID, ProjectID: p.ID, GrantedOrgID: partner.ID, RoleKeys: []string{"a", "b"}, State: iam.StateActive,
	}, Now: now()}))
	ownUser := mustCreateUser(t, s, in.ID, owner.ID)
	partnerUser := mustCreateUser(t, s, in.ID, partner.ID)
	ug1 := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: &iam.UserGrant{
		ID: iam.NewID(), InstanceID: in.ID, OrgID: owner.ID, UserID: ownUser.ID, ProjectID: p.ID, RoleKeys: []string{"a", "b", "c"}, State: iam.StateActive,
	}, Now: now()}))
	ug2 := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: &iam.UserGrant{
		ID: iam.NewID(), InstanceID: in.ID, OrgID: partner.ID, UserID: partnerUser.ID, ProjectID: p.ID, ProjectGrantID: pg.ID, RoleKeys: []string{"b", "a"}, State: iam.StateActive,
	}, Now: now()}))
	if !slices.Equal(ug2.RoleKeys, []string{"a", "b"}) {
		t.Fatalf("role keys not sorted: %v", ug2.RoleKeys)
	}

	if err := s.ProjectRoleDelete(ctx, &store.ProjectRoleDeleteParams{InstanceID: in.ID, ProjectID: p.ID, Key: "b"}); err != nil {
		t.Fatal(err)
	}
	gotPG := must[*iam.ProjectGrant](t)(s.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: in.ID, ID: pg.ID}))
	projSameList(t, "project grant roles", gotPG.RoleKeys, []string{"a"})
	got1 := must[*iam.UserGrant](t)(s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: ug1.ID}))
	projSameList(t, "own user grant roles", got1.RoleKeys, []string{"a", "c"})
	got2 := must[*iam.UserGrant](t)(s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: partner.ID, ID: ug2.ID}))
	projSameList(t, "partner user grant roles", got2.RoleKeys, []string{"a"})
}

func (b *bundle) testProjectDeleteCascades(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	owner := mustCreateOrg(t, s, in.ID)
	partner := mustCreateOrg(t, s, in.ID)
	p := mustCreateProject(t, s, in.ID, owner.ID)
	keep := mustCreateProject(t, s, in.ID, owner.ID)
	mustCreateRoles(t, s, in.ID, p.ID, "a")
	mustCreateRoles(t, s, in.ID, keep.ID, "a")
	app := mustCreateApp(t, s, in.ID, owner.ID, p.ID)
	keptApp := mustCreateApp(t, s, in.ID, owner.ID, keep.ID)
	pg := must[*iam.ProjectGrant](t)(s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: &iam.ProjectGrant{
		ID: iam.NewID(), InstanceID: in.ID, OrgID: owner.ID, ProjectID: p.ID, GrantedOrgID: partner.ID, RoleKeys: []string{"a"}, State: iam.StateActive,
	}, Now: now()}))
	u := mustCreateUser(t, s, in.ID, owner.ID)
	ug := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: &iam.UserGrant{
		ID: iam.NewID(), InstanceID: in.ID, OrgID: owner.ID, UserID: u.ID, ProjectID: p.ID, RoleKeys: []string{"a"}, State: iam.StateActive,
	}, Now: now()}))
	keptUG := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: &iam.UserGrant{
		ID: iam.NewID(), InstanceID: in.ID, OrgID: owner.ID, UserID: u.ID, ProjectID: keep.ID, RoleKeys: []string{"a"}, State: iam.StateActive,
	}, Now: now()}))

	if err := s.ProjectDelete(ctx, &store.ProjectDeleteParams{InstanceID: in.ID, OrgID: owner.ID, ID: p.ID, Version: p.Version}); err != nil {
		t.Fatal(err)
	}
	_, err := s.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: in.ID, ProjectID: p.ID, Key: "a"})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ApplicationGetByClientID(ctx, &store.ApplicationGetByClientIDParams{InstanceID: in.ID, ClientID: app.ClientID})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: in.ID, ID: pg.ID})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: ug.ID})
	wantErr(t, err, store.ErrNotFound)
	// The other project keeps everything.
	must[*iam.Application](t)(s.ApplicationGetByClientID(ctx, &store.ApplicationGetByClientIDParams{InstanceID: in.ID, ClientID: keptApp.ClientID}))
	got := must[*iam.UserGrant](t)(s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: keptUG.ID}))
	projSameList(t, "kept grant roles", got.RoleKeys, []string{"a"})
}
