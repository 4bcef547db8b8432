package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// projSameList fails unless two string lists are equal (nil equals empty).
func projSameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// projSorted returns the IDs sorted: lists are in ID order, and IDs made in
// the same millisecond need not sort by creation.
func projSorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

func newProjectGrant(instanceID, orgID, projectID, grantedOrgID string, roles ...string) *iam.ProjectGrant {
	return &iam.ProjectGrant{ID: iam.NewID(), InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, GrantedOrgID: grantedOrgID, RoleKeys: roles, State: iam.StateActive}
}

func newUserGrant(instanceID, orgID, userID, projectID, projectGrantID string, roles ...string) *iam.UserGrant {
	return &iam.UserGrant{ID: iam.NewID(), InstanceID: instanceID, OrgID: orgID, UserID: userID, ProjectID: projectID, ProjectGrantID: projectGrantID, RoleKeys: roles, State: iam.StateActive}
}

func grantIDs[T any](list []T, id func(T) string) []string {
	out := make([]string, len(list))
	for i, g := range list {
		out[i] = id(g)
	}
	return out
}

func pgID(g *iam.ProjectGrant) string { return g.ID }

func ugID(g *iam.UserGrant) string { return g.ID }

func (b *bundle) testProjectGrantCRUD(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	owner, partner, third := mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, in.ID)
	p := mustCreateProject(t, s, in.ID, owner.ID)
	q := mustCreateProject(t, s, in.ID, owner.ID)
	mustCreateRoles(t, s, in.ID, p.ID, "a", "b", "c")

	at := now()
	g := newProjectGrant(in.ID, owner.ID, p.ID, partner.ID, "c", "a")
	created := must[*iam.ProjectGrant](t)(s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: g, Now: at}))
	if created.ID != g.ID || created.OrgID != owner.ID || created.ProjectID != p.ID || created.GrantedOrgID != partner.ID ||
		created.State != iam.StateActive || created.Version != 1 || !created.CreatedAt.Equal(at) {
		t.Fatalf("created = %+v", created)
	}
	projSameList(t, "roles", created.RoleKeys, []string{"a", "c"})
	for name, params := range map[string]*store.ProjectGrantGetParams{
		"by id":          {InstanceID: in.ID, ID: g.ID},
		"by org":         {InstanceID: in.ID, OrgID: owner.ID, ID: g.ID},
		"by org+project": {InstanceID: in.ID, OrgID: owner.ID, ProjectID: p.ID, ID: g.ID},
	} {
		got := must[*iam.ProjectGrant](t)(s.ProjectGrantGet(ctx, params))
		if got.ID != g.ID || !slices.Equal(got.RoleKeys, created.RoleKeys) {
			t.Fatalf("%s: %+v", name, got)
		}
	}
	for name, params := range map[string]*store.ProjectGrantGetParams{
		"granted org as owner": {InstanceID: in.ID, OrgID: partner.ID, ID: g.ID},
		"other project":        {InstanceID: in.ID, ProjectID: q.ID, ID: g.ID},
		"unknown":              {InstanceID: in.ID, ID: iam.NewID()},
	} {
		_, err := s.ProjectGrantGet(ctx, params)
		if err == nil {
			t.Fatalf("%s: found", name)
		}
		wantErr(t, err, store.ErrNotFound)
	}

	// One grant per project and organization; references must exist; roles
	// are stored with the grant or not at all.
	_, err := s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: newProjectGrant(in.ID, owner.ID, p.ID, partner.ID), Now: now()})
	wantErr(t, err, store.ErrAlreadyExists)
	for name, bad := range map[string]*iam.ProjectGrant{
		"unknown role":         newProjectGrant(in.ID, owner.ID, p.ID, third.ID, "a", "nope"),
		"role of other proj":   newProjectGrant(in.ID, owner.ID, q.ID, third.ID, "a"),
		"unknown granted org":  newProjectGrant(in.ID, owner.ID, p.ID, iam.NewID()),
		"project of other org": newProjectGrant(in.ID, partner.ID, p.ID, third.ID),
	} {
		_, err := s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: bad, Now: now()})
		if err == nil {
			t.Fatalf("%s: created", name)
		}
		wantErr(t, err, store.ErrNotFound)
		_, err = s.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: in.ID, ID: bad.ID})
		wantErr(t, err, store.ErrNotFound)
	}

	// List filters and pages.
	g2 := must[*iam.ProjectGrant](t)(s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: newProjectGrant(in.ID, owner.ID, p.ID, third.ID), Now: now()}))
	g3 := must[*iam.ProjectGrant](t)(s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: newProjectGrant(in.ID, owner.ID, q.ID, partner.ID), Now: now()}))
	for name, tc := range map[string]struct {
		p    store.ProjectGrantListParams
		want []string
	}{
		"project p":   {store.ProjectGrantListParams{OrgID: owner.ID, ProjectID: p.ID}, projSorted(g.ID, g2.ID)},
		"owner":       {store.ProjectGrantListParams{OrgID: owner.ID}, projSorted(g.ID, g2.ID, g3.ID)},
		"granted to":  {store.ProjectGrantListParams{GrantedOrgID: partner.ID}, projSorted(g.ID, g3.ID)},
		"p to third":  {store.ProjectGrantListParams{ProjectID: p.ID, GrantedOrgID: third.ID}, []string{g2.ID}},
		"wrong owner": {store.ProjectGrantListParams{OrgID: partner.ID}, nil},
		"after first": {store.ProjectGrantListParams{OrgID: owner.ID, AfterID: projSorted(g.ID, g2.ID, g3.ID)[0], Limit: 1}, projSorted(g.ID, g2.ID, g3.ID)[1:2]},
	} {
		tc.p.InstanceID = in.ID
		list := must[[]*iam.ProjectGrant](t)(s.ProjectGrantList(ctx, &tc.p))
		projSameList(t, name, grantIDs(list, pgID), tc.want)
	}

	// Locking reads work inside a transaction.
	err = s.WithTx(ctx, func(tx store.Queries) error {
		locked, err := tx.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: g.ID, ForUpdate: true})
		if err != nil {
			return err
		}
		projSameList(t, "locked roles", locked.RoleKeys, []string{"a", "c"})
		list, err := tx.ProjectGrantList(ctx, &store.ProjectGrantListParams{InstanceID: in.ID, ProjectID: p.ID, GrantedOrgID: partner.ID, Limit: 1, ForUpdate: true})
		if err != nil {
			return err
		}
		projSameList(t, "locked list", grantIDs(list, pgID), []string{g.ID})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Update replaces roles and state atomically.
	change := *created
	change.RoleKeys, change.State = []string{"b"}, iam.StateInactive
	updated := must[*iam.ProjectGrant](t)(s.ProjectGrantUpdate(ctx, &store.ProjectGrantUpdateParams{Grant: &change, Now: now()}))
	projSameList(t, "updated roles", updated.RoleKeys, []string{"b"})
	if updated.State != iam.StateInactive || updated.Version != 2 {
		t.Fatalf("updated = %+v", updated)
	}
	_, err = s.ProjectGrantUpdate(ctx, &store.ProjectGrantUpdateParams{Grant: created, Now: now()})
	wantErr(t, err, store.ErrConflict)
	badRole := *updated
	badRole.RoleKeys = []string{"a", "nope"}
	_, err = s.ProjectGrantUpdate(ctx, &store.ProjectGrantUpdateParams{Grant: &badRole, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	got := must[*iam.ProjectGrant](t)(s.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: in.ID, ID: g.ID}))
	projSameList(t, "roles after failed update", got.RoleKeys, []string{"b"})
	if got.Version != 2 {
		t.Fatalf("failed update changed version to %d", got.Version)
	}
	cleared := *updated
	cleared.RoleKeys = nil
	got = must[*iam.ProjectGrant](t)(s.ProjectGrantUpdate(ctx, &store.ProjectGrantUpdateParams{Grant: &cleared, Now: now()}))
	projSameList(t, "cleared roles", got.RoleKeys, nil)

	wantErr(t, s.ProjectGrantDelete(ctx, &store.ProjectGrantDeleteParams{InstanceID: in.ID, OrgID: owner.ID, ProjectID: p.ID, ID: g.ID, Version: 2}), store.ErrConflict)
	wantErr(t, s.ProjectGrantDelete(ctx, &store.ProjectGrantDeleteParams{InstanceID: in.ID, OrgID: partner.ID, ProjectID: p.ID, ID: g.ID, Version: 3}), store.ErrNotFound)
	if err := s.ProjectGrantDelete(ctx, &store.ProjectGrantDeleteParams{InstanceID: in.ID, OrgID: owner.ID, ProjectID: p.ID, ID: g.ID, Version: 3}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: in.ID, ID: g.ID})
	wantErr(t, err, store.ErrNotFound)
}

func (b *bundle) testProjectGrantCrossInstance(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	a, bi := b.instance(t, s), b.instance(t, s)
	ownerA, partnerA := mustCreateOrg(t, s, a.ID), mustCreateOrg(t, s, a.ID)
	orgB := mustCreateOrg(t, s, bi.ID)
	p := mustCreateProject(t, s, a.ID, ownerA.ID)
	mustCreateRoles(t, s, a.ID, p.ID, "a")
	g := must[*iam.ProjectGrant](t)(s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: newProjectGrant(a.ID, ownerA.ID, p.ID, partnerA.ID, "a"), Now: now()}))

	_, err := s.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: bi.ID, ID: g.ID})
	wantErr(t, err, store.ErrNotFound)
	if list := must[[]*iam.ProjectGrant](t)(s.ProjectGrantList(ctx, &store.ProjectGrantListParams{InstanceID: bi.ID})); len(list) != 0 {
		t.Fatal("instance B lists project grants of A")
	}
	change := *g
	change.InstanceID, change.RoleKeys = bi.ID, nil
	_, err = s.ProjectGrantUpdate(ctx, &store.ProjectGrantUpdateParams{Grant: &change, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.ProjectGrantDelete(ctx, &store.ProjectGrantDeleteParams{InstanceID: bi.ID, OrgID: ownerA.ID, ProjectID: p.ID, ID: g.ID, Version: 1}), store.ErrNotFound)
	got := must[*iam.ProjectGrant](t)(s.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: a.ID, ID: g.ID}))
	projSameList(t, "roles", got.RoleKeys, []string{"a"})
	if got.Version != 1 {
		t.Fatal("grant changed through another instance")
	}
	// A grant of A's project to an organization of B, or from B to A's
	// project, references rows that do not exist in the grant's instance.
	for name, bad := range map[string]*iam.ProjectGrant{
		"granted org of B":     newProjectGrant(a.ID, ownerA.ID, p.ID, orgB.ID),
		"project of A from B":  newProjectGrant(bi.ID, ownerA.ID, p.ID, orgB.ID),
		"roles of A's project": newProjectGrant(bi.ID, orgB.ID, p.ID, ownerA.ID, "a"),
	} {
		_, err := s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: bad, Now: now()})
		if err == nil {
			t.Fatalf("%s: created", name)
		}
		wantErr(t, err, store.ErrNotFound)
	}
}

func (b *bundle) testUserGrantCRUD(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	owner, partner := mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, in.ID)
	p := mustCreateProject(t, s, in.ID, owner.ID)
	q := mustCreateProject(t, s, in.ID, owner.ID)
	mustCreateRoles(t, s, in.ID, p.ID, "a", "b", "c")
	mustCreateRoles(t, s, in.ID, q.ID, "x")
	pg := must[*iam.ProjectGrant](t)(s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: newProjectGrant(in.ID, owner.ID, p.ID, partner.ID, "a", "b"), Now: now()}))
	u1, u2 := mustCreateUser(t, s, in.ID, owner.ID), mustCreateUser(t, s, in.ID, owner.ID)
	pu := mustCreateUser(t, s, in.ID, partner.ID)

	at := now()
	g := newUserGrant(in.ID, owner.ID, u1.ID, p.ID, "", "c", "a")
	created := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: g, Now: at}))
	if created.ID != g.ID || created.OrgID != owner.ID || created.UserID != u1.ID || created.ProjectID != p.ID || created.ProjectGrantID != "" ||
		created.State != iam.StateActive || created.Version != 1 || !created.CreatedAt.Equal(at) {
		t.Fatalf("created = %+v", created)
	}
	projSameList(t, "roles", created.RoleKeys, []string{"a", "c"})
	viaGrant := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(in.ID, partner.ID, pu.ID, p.ID, pg.ID, "b"), Now: now()}))
	if viaGrant.ProjectGrantID != pg.ID {
		t.Fatalf("project grant ID = %q", viaGrant.ProjectGrantID)
	}
	noRoles := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(in.ID, owner.ID, u1.ID, q.ID, ""), Now: now()}))
	projSameList(t, "no roles", noRoles.RoleKeys, nil)

	got := must[*iam.UserGrant](t)(s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: g.ID}))
	if fmt.Sprint(*got) != fmt.Sprint(*created) {
		t.Fatalf("get = %+v, want %+v", got, created)
	}
	_, err := s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: partner.ID, ID: g.ID})
	wantErr(t, err, store.ErrNotFound)

	// One grant per user and project; references must exist; atomic roles.
	_, err = s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(in.ID, owner.ID, u1.ID, p.ID, ""), Now: now()})
	wantErr(t, err, store.ErrAlreadyExists)
	for name, bad := range map[string]*iam.UserGrant{
		"unknown role":          newUserGrant(in.ID, owner.ID, u2.ID, p.ID, "", "a", "nope"),
		"role of other project": newUserGrant(in.ID, owner.ID, u2.ID, p.ID, "", "x"),
		"unknown user":          newUserGrant(in.ID, owner.ID, iam.NewID(), p.ID, ""),
		"unknown project":       newUserGrant(in.ID, owner.ID, u2.ID, iam.NewID(), ""),
		"unknown project grant": newUserGrant(in.ID, owner.ID, u2.ID, p.ID, iam.NewID()),
	} {
		_, err := s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: bad, Now: now()})
		if err == nil {
			t.Fatalf("%s: created", name)
		}
		wantErr(t, err, store.ErrNotFound)
		_, err = s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: bad.ID})
		wantErr(t, err, store.ErrNotFound)
	}

	// List filters and pages.
	g4 := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(in.ID, owner.ID, u2.ID, p.ID, "", "b"), Now: now()}))
	for name, tc := range map[string]struct {
		p    store.UserGrantListParams
		want []string
	}{
		"owner org":       {store.UserGrantListParams{OrgID: owner.ID}, projSorted(g.ID, noRoles.ID, g4.ID)},
		"partner org":     {store.UserGrantListParams{OrgID: partner.ID}, []string{viaGrant.ID}},
		"user u1":         {store.UserGrantListParams{OrgID: owner.ID, UserID: u1.ID}, projSorted(g.ID, noRoles.ID)},
		"project p":       {store.UserGrantListParams{ProjectID: p.ID}, projSorted(g.ID, viaGrant.ID, g4.ID)},
		"owner project p": {store.UserGrantListParams{OrgID: owner.ID, ProjectID: p.ID}, projSorted(g.ID, g4.ID)},
		"page":            {store.UserGrantListParams{OrgID: owner.ID, AfterID: projSorted(g.ID, noRoles.ID, g4.ID)[0], Limit: 1}, projSorted(g.ID, noRoles.ID, g4.ID)[1:2]},
	} {
		tc.p.InstanceID = in.ID
		list := must[[]*iam.UserGrant](t)(s.UserGrantList(ctx, &tc.p))
		projSameList(t, name, grantIDs(list, ugID), tc.want)
	}

	// Update.
	change := *created
	change.RoleKeys, change.State = []string{"b", "c"}, iam.StateInactive
	updated := must[*iam.UserGrant](t)(s.UserGrantUpdate(ctx, &store.UserGrantUpdateParams{Grant: &change, Now: now()}))
	projSameList(t, "updated roles", updated.RoleKeys, []string{"b", "c"})
	if updated.State != iam.StateInactive || updated.Version != 2 {
		t.Fatalf("updated = %+v", updated)
	}
	_, err = s.UserGrantUpdate(ctx, &store.UserGrantUpdateParams{Grant: created, Now: now()})
	wantErr(t, err, store.ErrConflict)
	// The project of the stored grant bounds the roles, whatever the caller
	// says it is.
	sneaky := *updated
	sneaky.ProjectID, sneaky.RoleKeys = q.ID, []string{"x"}
	_, err = s.UserGrantUpdate(ctx, &store.UserGrantUpdateParams{Grant: &sneaky, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	wrongOrg := *updated
	wrongOrg.OrgID = partner.ID
	_, err = s.UserGrantUpdate(ctx, &store.UserGrantUpdateParams{Grant: &wrongOrg, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	got = must[*iam.UserGrant](t)(s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: g.ID}))
	projSameList(t, "roles after failed updates", got.RoleKeys, []string{"b", "c"})
	if got.Version != 2 {
		t.Fatalf("failed update changed version to %d", got.Version)
	}

	wantErr(t, s.UserGrantDelete(ctx, &store.UserGrantDeleteParams{InstanceID: in.ID, OrgID: owner.ID, ID: g.ID, Version: 1}), store.ErrConflict)
	wantErr(t, s.UserGrantDelete(ctx, &store.UserGrantDeleteParams{InstanceID: in.ID, OrgID: partner.ID, ID: g.ID, Version: 2}), store.ErrNotFound)
	if err := s.UserGrantDelete(ctx, &store.UserGrantDeleteParams{InstanceID: in.ID, OrgID: owner.ID, ID: g.ID, Version: 2}); err != nil {
		t.Fatal(err)
	}
	_, err = s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: g.ID})
	wantErr(t, err, store.ErrNotFound)
}

func (b *bundle) testUserGrantCrossInstance(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	a, bi := b.instance(t, s), b.instance(t, s)
	orgA, orgB := mustCreateOrg(t, s, a.ID), mustCreateOrg(t, s, bi.ID)
	pA, pB := mustCreateProject(t, s, a.ID, orgA.ID), mustCreateProject(t, s, bi.ID, orgB.ID)
	mustCreateRoles(t, s, a.ID, pA.ID, "a")
	mustCreateRoles(t, s, bi.ID, pB.ID, "a")
	uA, uB := mustCreateUser(t, s, a.ID, orgA.ID), mustCreateUser(t, s, bi.ID, orgB.ID)
	g := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(a.ID, orgA.ID, uA.ID, pA.ID, "", "a"), Now: now()}))

	_, err := s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: bi.ID, OrgID: orgA.ID, ID: g.ID})
	wantErr(t, err, store.ErrNotFound)
	if list := must[[]*iam.UserGrant](t)(s.UserGrantList(ctx, &store.UserGrantListParams{InstanceID: bi.ID})); len(list) != 0 {
		t.Fatal("instance B lists user grants of A")
	}
	if list := must[[]*iam.UserGrant](t)(s.UserGrantListForUser(ctx, &store.UserGrantListForUserParams{InstanceID: bi.ID, UserID: uA.ID})); len(list) != 0 {
		t.Fatal("instance B lists user grants of A's user")
	}
	change := *g
	change.InstanceID, change.RoleKeys = bi.ID, nil
	_, err = s.UserGrantUpdate(ctx, &store.UserGrantUpdateParams{Grant: &change, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.UserGrantDelete(ctx, &store.UserGrantDeleteParams{InstanceID: bi.ID, OrgID: orgA.ID, ID: g.ID, Version: 1}), store.ErrNotFound)
	got := must[*iam.UserGrant](t)(s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: a.ID, OrgID: orgA.ID, ID: g.ID}))
	projSameList(t, "roles", got.RoleKeys, []string{"a"})

	// Composite foreign keys: a grant of instance B cannot point at A's
	// project or user, even with a role key that exists in both.
	for name, bad := range map[string]*iam.UserGrant{
		"project of A": newUserGrant(bi.ID, orgB.ID, uB.ID, pA.ID, "", "a"),
		"user of A":    newUserGrant(bi.ID, orgB.ID, uA.ID, pB.ID, "", "a"),
	} {
		_, err := s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: bad, Now: now()})
		if err == nil {
			t.Fatalf("%s: created", name)
		}
		wantErr(t, err, store.ErrNotFound)
	}
}

func (b *bundle) testUserGrantListForUser(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	owner, partner := mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, in.ID)
	u := mustCreateUser(t, s, in.ID, partner.ID)
	other := mustCreateUser(t, s, in.ID, partner.ID)

	// Four projects of the owner granted to the partner, one of the partner.
	var projects []*iam.Project
	var grants []*iam.ProjectGrant
	for range 4 {
		p := mustCreateProject(t, s, in.ID, owner.ID)
		mustCreateRoles(t, s, in.ID, p.ID, "r")
		projects = append(projects, p)
		grants = append(grants, must[*iam.ProjectGrant](t)(s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: newProjectGrant(in.ID, owner.ID, p.ID, partner.ID, "r"), Now: now()})))
	}
	own := mustCreateProject(t, s, in.ID, partner.ID)
	mustCreateRoles(t, s, in.ID, own.ID, "r")
	var ugs []*iam.UserGrant
	for i, p := range projects {
		ugs = append(ugs, must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(in.ID, partner.ID, u.ID, p.ID, grants[i].ID, "r"), Now: now()})))
	}
	ownGrant := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(in.ID, partner.ID, u.ID, own.ID, "", "r"), Now: now()}))
	must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(in.ID, partner.ID, other.ID, own.ID, "", "r"), Now: now()}))

	// Take three out of effect: the user grant, the project, the project grant.
	ug := *ugs[1]
	ug.State = iam.StateInactive
	must[*iam.UserGrant](t)(s.UserGrantUpdate(ctx, &store.UserGrantUpdateParams{Grant: &ug, Now: now()}))
	p := *projects[2]
	p.State = iam.StateInactive
	must[*iam.Project](t)(s.ProjectUpdate(ctx, &store.ProjectUpdateParams{Project: &p, Now: now()}))
	pg := *grants[3]
	pg.State = iam.StateInactive
	must[*iam.ProjectGrant](t)(s.ProjectGrantUpdate(ctx, &store.ProjectGrantUpdateParams{Grant: &pg, Now: now()}))

	byProject := func(list []*iam.UserGrant) []string { return grantIDs(list, ugID) }
	all := must[[]*iam.UserGrant](t)(s.UserGrantListForUser(ctx, &store.UserGrantListForUserParams{InstanceID: in.ID, UserID: u.ID}))
	want := []*iam.UserGrant{ugs[0], ugs[1], ugs[2], ugs[3], ownGrant}
	slices.SortFunc(want, func(a, b *iam.UserGrant) int {
		if a.ProjectID != b.ProjectID {
			return strings.Compare(a.ProjectID, b.ProjectID)
		}
		return strings.Compare(a.ID, b.ID)
	})
	projSameList(t, "all grants", byProject(all), grantIDs(want, ugID))
	for _, g := range all {
		projSameList(t, "roles of "+g.ID, g.RoleKeys, []string{"r"})
	}
	active := must[[]*iam.UserGrant](t)(s.UserGrantListForUser(ctx, &store.UserGrantListForUserParams{InstanceID: in.ID, UserID: u.ID, ActiveOnly: true}))
	wantActive := slices.DeleteFunc(slices.Clone(want), func(g *iam.UserGrant) bool {
		return g.ID == ugs[1].ID || g.ID == ugs[2].ID || g.ID == ugs[3].ID
	})
	projSameList(t, "active grants", byProject(active), grantIDs(wantActive, ugID))
	one := must[[]*iam.UserGrant](t)(s.UserGrantListForUser(ctx, &store.UserGrantListForUserParams{InstanceID: in.ID, UserID: u.ID, ProjectID: own.ID, ActiveOnly: true}))
	projSameList(t, "one project", byProject(one), []string{ownGrant.ID})
	none := must[[]*iam.UserGrant](t)(s.UserGrantListForUser(ctx, &store.UserGrantListForUserParams{InstanceID: in.ID, UserID: u.ID, ProjectID: projects[2].ID, ActiveOnly: true}))
	projSameList(t, "inactive project", byProject(none), nil)
}

func (b *bundle) testProjectGrantCascades(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	owner, partner := mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, in.ID)
	p := mustCreateProject(t, s, in.ID, owner.ID)
	mustCreateRoles(t, s, in.ID, p.ID, "a", "b", "c")
	pg := must[*iam.ProjectGrant](t)(s.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: newProjectGrant(in.ID, owner.ID, p.ID, partner.ID, "a", "b", "c"), Now: now()}))
	pu := mustCreateUser(t, s, in.ID, partner.ID)
	ou := mustCreateUser(t, s, in.ID, owner.ID)
	viaGrant := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(in.ID, partner.ID, pu.ID, p.ID, pg.ID, "a", "b"), Now: now()}))
	direct := must[*iam.UserGrant](t)(s.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: newUserGrant(in.ID, owner.ID, ou.ID, p.ID, "", "a", "b"), Now: now()}))

	// Dropping role b from the project grant drops it from the user grants
	// made under it, and from no other.
	change := *pg
	change.RoleKeys = []string{"a", "c"}
	must[*iam.ProjectGrant](t)(s.ProjectGrantUpdate(ctx, &store.ProjectGrantUpdateParams{Grant: &change, Now: now()}))
	got := must[*iam.UserGrant](t)(s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: partner.ID, ID: viaGrant.ID}))
	projSameList(t, "roles under the project grant", got.RoleKeys, []string{"a"})
	got = must[*iam.UserGrant](t)(s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: direct.ID}))
	projSameList(t, "roles of the direct grant", got.RoleKeys, []string{"a", "b"})

	// Deleting the project grant deletes the user grants made under it.
	if err := s.ProjectGrantDelete(ctx, &store.ProjectGrantDeleteParams{InstanceID: in.ID, OrgID: owner.ID, ProjectID: p.ID, ID: pg.ID, Version: 2}); err != nil {
		t.Fatal(err)
	}
	_, err := s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: partner.ID, ID: viaGrant.ID})
	wantErr(t, err, store.ErrNotFound)
	must[*iam.UserGrant](t)(s.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: in.ID, OrgID: owner.ID, ID: direct.ID}))
}
