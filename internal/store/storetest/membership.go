package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// memberFixture is an instance with an organization, a project of it and
// two users, the things memberships refer to.
type memberFixture struct {
	in      *iam.Instance
	org     *iam.Organization
	project *iam.Project
	alice   *iam.User
	bob     *iam.User
}

func (b *bundle) memberFixture(t *testing.T, s store.Store) *memberFixture {
	t.Helper()
	f := &memberFixture{in: b.instance(t, s)}
	f.org = mustCreateOrg(t, s, f.in.ID)
	f.project = must[*iam.Project](t)(s.ProjectCreate(t.Context(), &store.ProjectCreateParams{
		Project: &iam.Project{ID: iam.NewID(), InstanceID: f.in.ID, OrgID: f.org.ID, Name: "Project " + iam.NewID(), State: iam.StateActive},
		Now:     now(),
	}))
	f.alice = mustCreateUser(t, s, f.in.ID, f.org.ID)
	f.bob = mustCreateUser(t, s, f.in.ID, f.org.ID)
	return f
}

func (f *memberFixture) membership(scope iam.MemberScope, user *iam.User, roles ...iam.MemberRole) *iam.Membership {
	m := &iam.Membership{ID: iam.NewID(), InstanceID: f.in.ID, Scope: scope, UserID: user.ID, Roles: roles}
	switch scope {
	case iam.ScopeOrg:
		m.OrgID = f.org.ID
	case iam.ScopeProject:
		m.OrgID, m.ProjectID = f.org.ID, f.project.ID
	}
	return m
}

func mustAddMember(t *testing.T, s store.Queries, m *iam.Membership) *iam.Membership {
	t.Helper()
	return must[*iam.Membership](t)(s.MembershipCreate(t.Context(), &store.MembershipCreateParams{Membership: m, Now: now()}))
}

func getParams(m *iam.Membership) *store.MembershipGetParams {
	return &store.MembershipGetParams{InstanceID: m.InstanceID, Scope: m.Scope, OrgID: m.OrgID, ProjectID: m.ProjectID, UserID: m.UserID}
}

func sameMembership(t *testing.T, got, want *iam.Membership) {
	t.Helper()
	if got.ID != want.ID || got.InstanceID != want.InstanceID || got.Scope != want.Scope || got.OrgID != want.OrgID ||
		got.ProjectID != want.ProjectID || got.UserID != want.UserID || !slices.Equal(got.Roles, want.Roles) {
		t.Fatalf("membership = %+v, want %+v", got, want)
	}
}

func membershipIDs(ms []*iam.Membership) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// testMemberships covers the store methods for administrative memberships.
func (b *bundle) testMemberships(t *testing.T) {
	t.Run("CreateAndGetEveryScope", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		f := b.memberFixture(t, s)
		at := now()
		for _, m := range []*iam.Membership{
			f.membership(iam.ScopeInstance, f.alice, iam.RoleInstanceOwner, iam.RoleInstanceViewer),
			f.membership(iam.ScopeOrg, f.alice, iam.RoleOrgViewer),
			f.membership(iam.ScopeProject, f.alice, iam.RoleProjectOwner),
		} {
			got := must[*iam.Membership](t)(s.MembershipCreate(ctx, &store.MembershipCreateParams{Membership: m, Now: at}))
			sameMembership(t, got, m)
			if got.Version != 1 || !got.CreatedAt.Equal(at) || !got.ChangedAt.Equal(at) {
				t.Fatalf("created = %+v, want version 1 at %v", got, at)
			}
			sameMembership(t, must[*iam.Membership](t)(s.MembershipGet(ctx, getParams(m))), m)
		}
		// Same user, other target or other user: not found.
		other := f.membership(iam.ScopeOrg, f.bob)
		_, err := s.MembershipGet(ctx, getParams(other))
		wantErr(t, err, store.ErrNotFound)
		other = f.membership(iam.ScopeProject, f.alice)
		other.ProjectID = iam.NewID()
		_, err = s.MembershipGet(ctx, getParams(other))
		wantErr(t, err, store.ErrNotFound)
	})
	t.Run("OnePerUserAndTarget", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		f := b.memberFixture(t, s)
		for _, scope := range []iam.MemberScope{iam.ScopeInstance, iam.ScopeOrg, iam.ScopeProject} {
			first := mustAddMember(t, s, f.membership(scope, f.alice, iam.MemberRole("X")))
			_, err := s.MembershipCreate(ctx, &store.MembershipCreateParams{Membership: f.membership(scope, f.alice, iam.MemberRole("Y")), Now: now()})
			wantErr(t, err, store.ErrAlreadyExists)
			sameID := f.membership(scope, f.bob)
			sameID.ID = first.ID
			_, err = s.MembershipCreate(ctx, &store.MembershipCreateParams{Membership: sameID, Now: now()})
			wantErr(t, err, store.ErrAlreadyExists)
		}
	})
	t.Run("ListFiltersAndPages", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		f := b.memberFixture(t, s)
		var orgMembers []string
		for range 5 {
			u := mustCreateUser(t, s, f.in.ID, f.org.ID)
			orgMembers = append(orgMembers, mustAddMember(t, s, f.membership(iam.ScopeOrg, u, iam.RoleOrgViewer)).ID)
		}
		owner := mustAddMember(t, s, f.membership(iam.ScopeInstance, f.alice, iam.RoleInstanceOwner))
		viewer := mustAddMember(t, s, f.membership(iam.ScopeInstance, f.bob, iam.RoleInstanceViewer))
		proj := mustAddMember(t, s, f.membership(iam.ScopeProject, f.alice, iam.RoleProjectViewer))

		var got []string
		after := ""
		for {
			page := must[[]*iam.Membership](t)(s.MembershipList(ctx, &store.MembershipListParams{
				InstanceID: f.in.ID, Scope: iam.ScopeOrg, OrgID: f.org.ID, AfterID: after, Limit: 2,
			}))
			if len(page) > 2 {
				t.Fatalf("page of %d, limit 2", len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, membershipIDs(page)...)
			after = page[len(page)-1].ID
		}
		sameIDs(t, "org members", got, sortedCopy(orgMembers))

		list := func(p store.MembershipListParams) []string {
			p.InstanceID = f.in.ID
			return membershipIDs(must[[]*iam.Membership](t)(s.MembershipList(ctx, &p)))
		}
		sameIDs(t, "instance members", list(store.MembershipListParams{Scope: iam.ScopeInstance}), sortedCopy([]string{owner.ID, viewer.ID}))
		sameIDs(t, "owners", list(store.MembershipListParams{Scope: iam.ScopeInstance, Role: iam.RoleInstanceOwner}), []string{owner.ID})
		sameIDs(t, "bob on the instance", list(store.MembershipListParams{Scope: iam.ScopeInstance, UserID: f.bob.ID}), []string{viewer.ID})
		sameIDs(t, "project members", list(store.MembershipListParams{Scope: iam.ScopeProject, OrgID: f.org.ID, ProjectID: f.project.ID}), []string{proj.ID})
		sameIDs(t, "project of another org", list(store.MembershipListParams{Scope: iam.ScopeProject, OrgID: iam.NewID(), ProjectID: f.project.ID}), nil)
		sameIDs(t, "every target", list(store.MembershipListParams{}), sortedCopy(append([]string{owner.ID, viewer.ID, proj.ID}, orgMembers...)))
		sameIDs(t, "alice anywhere", list(store.MembershipListParams{UserID: f.alice.ID}), sortedCopy([]string{owner.ID, proj.ID}))

		byUser := must[[]*iam.Membership](t)(s.MembershipListByUser(ctx, &store.MembershipListByUserParams{InstanceID: f.in.ID, UserID: f.alice.ID}))
		sameIDs(t, "by user", membershipIDs(byUser), sortedCopy([]string{owner.ID, proj.ID}))
		sameMembership(t, byUser[slices.IndexFunc(byUser, func(m *iam.Membership) bool { return m.ID == proj.ID })], proj)
	})
	t.Run("UpdateAndDeleteWithOptimisticConcurrency", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		f := b.memberFixture(t, s)
		m := mustAddMember(t, s, f.membership(iam.ScopeOrg, f.alice, iam.RoleOrgViewer))
		at := now()
		upd := must[*iam.Membership](t)(s.MembershipUpdate(ctx, &store.MembershipUpdateParams{
			InstanceID: f.in.ID, ID: m.ID, Version: m.Version, Roles: []iam.MemberRole{iam.RoleOrgOwner, iam.RoleOrgViewer}, Now: at,
		}))
		if upd.Version != 2 || !upd.ChangedAt.Equal(at) || !upd.CreatedAt.Equal(m.CreatedAt) ||
			!slices.Equal(upd.Roles, []iam.MemberRole{iam.RoleOrgOwner, iam.RoleOrgViewer}) {
			t.Fatalf("updated = %+v", upd)
		}
		_, err := s.MembershipUpdate(ctx, &store.MembershipUpdateParams{InstanceID: f.in.ID, ID: m.ID, Version: m.Version, Roles: []iam.MemberRole{"lost"}, Now: now()})
		wantErr(t, err, store.ErrConflict)
		_, err = s.MembershipUpdate(ctx, &store.MembershipUpdateParams{InstanceID: f.in.ID, ID: iam.NewID(), Version: 1, Roles: []iam.MemberRole{"x"}, Now: now()})
		wantErr(t, err, store.ErrNotFound)

		wantErr(t, s.MembershipDelete(ctx, &store.MembershipDeleteParams{InstanceID: f.in.ID, ID: m.ID, Version: m.Version}), store.ErrConflict)
		wantErr(t, s.MembershipDelete(ctx, &store.MembershipDeleteParams{InstanceID: f.in.ID, ID: iam.NewID(), Version: 1}), store.ErrNotFound)
		if err := s.MembershipDelete(ctx, &store.MembershipDeleteParams{InstanceID: f.in.ID, ID: m.ID, Version: upd.Version}); err != nil {
			t.Fatal(err)
		}
		_, err = s.MembershipGet(ctx, getParams(m))
		wantErr(t, err, store.ErrNotFound)
	})
	t.Run("CrossInstanceIsolation", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		f := b.memberFixture(t, s)
		other := b.instance(t, s)
		m := mustAddMember(t, s, f.membership(iam.ScopeProject, f.alice, iam.RoleProjectOwner))
		inst := mustAddMember(t, s, f.membership(iam.ScopeInstance, f.alice, iam.RoleInstanceOwner))

		for _, x := range []*iam.Membership{m, inst} {
			p := getParams(x)
			p.InstanceID = other.ID
			_, err := s.MembershipGet(ctx, p)
			wantErr(t, err, store.ErrNotFound)
			_, err = s.MembershipUpdate(ctx, &store.MembershipUpdateParams{InstanceID: other.ID, ID: x.ID, Version: x.Version, Roles: []iam.MemberRole{"stolen"}, Now: now()})
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.MembershipDelete(ctx, &store.MembershipDeleteParams{InstanceID: other.ID, ID: x.ID, Version: x.Version}), store.ErrNotFound)
			sameMembership(t, must[*iam.Membership](t)(s.MembershipGet(ctx, getParams(x))), x)
		}
		for _, p := range []store.MembershipListParams{{}, {Scope: iam.ScopeInstance}, {Scope: iam.ScopeProject, OrgID: f.org.ID, ProjectID: f.project.ID}, {UserID: f.alice.ID}} {
			p.InstanceID = other.ID
			if got := must[[]*iam.Membership](t)(s.MembershipList(ctx, &p)); len(got) != 0 {
				t.Fatalf("list %+v through another instance = %v", p, membershipIDs(got))
			}
		}
		if got := must[[]*iam.Membership](t)(s.MembershipListByUser(ctx, &store.MembershipListByUserParams{InstanceID: other.ID, UserID: f.alice.ID})); len(got) != 0 {
			t.Fatalf("list by user through another instance = %v", membershipIDs(got))
		}
		// A membership cannot refer to another instance's user, org or project.
		for _, bad := range []*iam.Membership{
			{ID: iam.NewID(), InstanceID: other.ID, Scope: iam.ScopeInstance, UserID: f.alice.ID, Roles: []iam.MemberRole{iam.RoleInstanceOwner}},
			{ID: iam.NewID(), InstanceID: f.in.ID, Scope: iam.ScopeInstance, UserID: iam.NewID(), Roles: []iam.MemberRole{iam.RoleInstanceOwner}},
			{ID: iam.NewID(), InstanceID: f.in.ID, Scope: iam.ScopeOrg, OrgID: iam.NewID(), UserID: f.bob.ID, Roles: []iam.MemberRole{iam.RoleOrgOwner}},
			{ID: iam.NewID(), InstanceID: f.in.ID, Scope: iam.ScopeProject, OrgID: f.org.ID, ProjectID: iam.NewID(), UserID: f.bob.ID, Roles: []iam.MemberRole{iam.RoleProjectOwner}},
		} {
			if _, err := s.MembershipCreate(ctx, &store.MembershipCreateParams{Membership: bad, Now: now()}); err == nil {
				t.Fatalf("created membership with a dangling reference: %+v", bad)
			}
		}
	})
	t.Run("DeletedWithUserOrgOrProject", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		f := b.memberFixture(t, s)
		byAlice := mustAddMember(t, s, f.membership(iam.ScopeInstance, f.alice, iam.RoleInstanceOwner))
		onProject := mustAddMember(t, s, f.membership(iam.ScopeProject, f.bob, iam.RoleProjectOwner))
		onOrg := mustAddMember(t, s, f.membership(iam.ScopeOrg, f.bob, iam.RoleOrgOwner))
		bobInstance := mustAddMember(t, s, f.membership(iam.ScopeInstance, f.bob, iam.RoleInstanceViewer))
		gone := func(m *iam.Membership) {
			t.Helper()
			_, err := s.MembershipGet(ctx, getParams(m))
			wantErr(t, err, store.ErrNotFound)
		}
		if err := s.UserDelete(ctx, &store.UserDeleteParams{InstanceID: f.in.ID, ID: f.alice.ID, Version: f.alice.Version}); err != nil {
			t.Fatal(err)
		}
		gone(byAlice)
		if err := s.ProjectDelete(ctx, &store.ProjectDeleteParams{InstanceID: f.in.ID, OrgID: f.org.ID, ID: f.project.ID, Version: f.project.Version}); err != nil {
			t.Fatal(err)
		}
		gone(onProject)
		sameMembership(t, must[*iam.Membership](t)(s.MembershipGet(ctx, getParams(onOrg))), onOrg)
		org := must[*iam.Organization](t)(s.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: f.in.ID, ID: f.org.ID}))
		if err := s.OrgDelete(ctx, &store.OrgDeleteParams{InstanceID: f.in.ID, ID: org.ID, Version: org.Version}); err != nil {
			t.Fatal(err)
		}
		gone(onOrg)
		gone(bobInstance) // bob belonged to the organization
	})
	t.Run("ForUpdateSerializesOwnerRemoval", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		f := b.memberFixture(t, s)
		owners := []*iam.Membership{
			mustAddMember(t, s, f.membership(iam.ScopeInstance, f.alice, iam.RoleInstanceOwner)),
			mustAddMember(t, s, f.membership(iam.ScopeInstance, f.bob, iam.RoleInstanceOwner)),
		}
		// Two transactions each remove "their" owner if another remains: at
		// most one may succeed, whatever the interleaving.
		errLast := errors.New("last owner")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, mine := range owners {
			wg.Go(func() {
				errs[i] = s.WithTx(ctx, func(tx store.Queries) error {
					list, err := tx.MembershipList(ctx, &store.MembershipListParams{
						InstanceID: f.in.ID, Scope: iam.ScopeInstance, Role: iam.RoleInstanceOwner, ForUpdate: true,
					})
					if err != nil {
						return err
					}
					if !slices.ContainsFunc(list, func(m *iam.Membership) bool { return m.ID != mine.ID }) {
						return errLast
					}
					return tx.MembershipDelete(ctx, &store.MembershipDeleteParams{InstanceID: f.in.ID, ID: mine.ID, Version: mine.Version})
				})
			})
		}
		wg.Wait()
		left := must[[]*iam.Membership](t)(s.MembershipList(context.Background(), &store.MembershipListParams{
			InstanceID: f.in.ID, Scope: iam.ScopeInstance, Role: iam.RoleInstanceOwner,
		}))
		if len(left) != 1 {
			t.Fatalf("owners left = %d (errors %v), want exactly 1", len(left), errs)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, errLast) && !errors.Is(err, store.ErrConflict) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}
