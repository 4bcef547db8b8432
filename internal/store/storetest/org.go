package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// mustCreateOrg stores an active organization with a unique name in the
// instance, for tests of data that an organization owns.
func mustCreateOrg(t *testing.T, s store.Queries, instanceID string) *iam.Organization {
	t.Helper()
	o := &iam.Organization{ID: iam.NewID(), InstanceID: instanceID, Name: "Org " + iam.NewID(), State: iam.StateActive}
	return must[*iam.Organization](t)(s.OrgCreate(t.Context(), &store.OrgCreateParams{Org: o, Now: now()}))
}

func orgIDs(orgs []*iam.Organization) []string {
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.ID
	}
	return ids
}

func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// testOrgs covers the store methods for organizations.
func (b *bundle) testOrgs(t *testing.T) {
	t.Run("CreateGetUpdateDelete", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		at := now()
		o := &iam.Organization{ID: iam.NewID(), InstanceID: in.ID, Name: "Acme Corp", State: iam.StateActive}
		got := must[*iam.Organization](t)(s.OrgCreate(ctx, &store.OrgCreateParams{Org: o, Now: at}))
		if got.ID != o.ID || got.InstanceID != in.ID || got.Name != o.Name || got.State != o.State ||
			got.Version != 1 || !got.CreatedAt.Equal(at) || !got.ChangedAt.Equal(at) {
			t.Fatalf("created = %+v", got)
		}
		byID := must[*iam.Organization](t)(s.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: in.ID, ID: o.ID}))
		if *byID != *got {
			t.Fatalf("get = %+v, want %+v", byID, got)
		}
		_, err := s.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: in.ID, ID: iam.NewID()})
		wantErr(t, err, store.ErrNotFound)

		later := at.Add(time.Second)
		upd := *got
		upd.Name, upd.State = "Acme Inc", iam.StateInactive
		after := must[*iam.Organization](t)(s.OrgUpdate(ctx, &store.OrgUpdateParams{Org: &upd, Now: later}))
		if after.Name != "Acme Inc" || after.State != iam.StateInactive || after.Version != 2 ||
			!after.ChangedAt.Equal(later) || !after.CreatedAt.Equal(at) {
			t.Fatalf("updated = %+v", after)
		}
		// Stale version.
		_, err = s.OrgUpdate(ctx, &store.OrgUpdateParams{Org: &upd, Now: later})
		wantErr(t, err, store.ErrConflict)
		err = s.OrgDelete(ctx, &store.OrgDeleteParams{InstanceID: in.ID, ID: o.ID, Version: 1})
		wantErr(t, err, store.ErrConflict)
		// Unknown.
		ghost := upd
		ghost.ID = iam.NewID()
		_, err = s.OrgUpdate(ctx, &store.OrgUpdateParams{Org: &ghost, Now: later})
		wantErr(t, err, store.ErrNotFound)
		err = s.OrgDelete(ctx, &store.OrgDeleteParams{InstanceID: in.ID, ID: ghost.ID, Version: 1})
		wantErr(t, err, store.ErrNotFound)

		if err := s.OrgDelete(ctx, &store.OrgDeleteParams{InstanceID: in.ID, ID: o.ID, Version: 2}); err != nil {
			t.Fatal(err)
		}
		_, err = s.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: in.ID, ID: o.ID})
		wantErr(t, err, store.ErrNotFound)
	})
	t.Run("NameUniqueCaseInsensitive", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in, other := b.instance(t, s), b.instance(t, s)
		a := &iam.Organization{ID: iam.NewID(), InstanceID: in.ID, Name: "Acme", State: iam.StateActive}
		must[*iam.Organization](t)(s.OrgCreate(ctx, &store.OrgCreateParams{Org: a, Now: now()}))
		_, err := s.OrgCreate(ctx, &store.OrgCreateParams{Org: &iam.Organization{ID: iam.NewID(), InstanceID: in.ID, Name: "ACME", State: iam.StateActive}, Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)
		dupID := *a
		dupID.Name = "Other"
		_, err = s.OrgCreate(ctx, &store.OrgCreateParams{Org: &dupID, Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)
		// The same name in another instance is fine.
		must[*iam.Organization](t)(s.OrgCreate(ctx, &store.OrgCreateParams{Org: &iam.Organization{ID: iam.NewID(), InstanceID: other.ID, Name: "acme", State: iam.StateActive}, Now: now()}))
		// Renaming onto a taken name.
		b2 := must[*iam.Organization](t)(s.OrgCreate(ctx, &store.OrgCreateParams{Org: &iam.Organization{ID: iam.NewID(), InstanceID: in.ID, Name: "Beta", State: iam.StateActive}, Now: now()}))
		b2.Name = "aCmE"
		_, err = s.OrgUpdate(ctx, &store.OrgUpdateParams{Org: b2, Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)
	})
	t.Run("CrossInstanceIsolation", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		a, bi := b.instance(t, s), b.instance(t, s)
		o := mustCreateOrg(t, s, a.ID)
		_, err := s.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: bi.ID, ID: o.ID})
		wantErr(t, err, store.ErrNotFound)
		if l := must[[]*iam.Organization](t)(s.OrgList(ctx, &store.OrgListParams{InstanceID: bi.ID})); len(l) != 0 {
			t.Fatalf("list through other instance = %v", orgIDs(l))
		}
		if l := must[[]*iam.Organization](t)(s.OrgList(ctx, &store.OrgListParams{InstanceID: bi.ID, NamePrefix: "org"})); len(l) != 0 {
			t.Fatalf("prefix list through other instance = %v", orgIDs(l))
		}
		moved := *o
		moved.InstanceID, moved.Name = bi.ID, "Hijacked"
		_, err = s.OrgUpdate(ctx, &store.OrgUpdateParams{Org: &moved, Now: now()})
		wantErr(t, err, store.ErrNotFound)
		err = s.OrgDelete(ctx, &store.OrgDeleteParams{InstanceID: bi.ID, ID: o.ID, Version: o.Version})
		wantErr(t, err, store.ErrNotFound)
		got := must[*iam.Organization](t)(s.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: a.ID, ID: o.ID}))
		if *got != *o {
			t.Fatalf("after foreign update/delete = %+v, want unchanged %+v", got, o)
		}
	})
	t.Run("ListPagesAndFilters", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		names := []string{"beta", "Alpha Two", "alpha one", "ALPHA three", "gamma", "Alphabet", "alp"}
		var byID []string
		byName := map[string]string{}
		for i, n := range names {
			st := iam.StateActive
			if i%3 == 2 {
				st = iam.StateInactive
			}
			o := must[*iam.Organization](t)(s.OrgCreate(ctx, &store.OrgCreateParams{Org: &iam.Organization{ID: iam.NewID(), InstanceID: in.ID, Name: n, State: st}, Now: now()}))
			byID = append(byID, o.ID)
			byName[n] = o.ID
		}
		// By ID, in pages of 3.
		var got []string
		after := ""
		for {
			page := must[[]*iam.Organization](t)(s.OrgList(ctx, &store.OrgListParams{InstanceID: in.ID, AfterID: after, Limit: 3}))
			got = append(got, orgIDs(page)...)
			if len(page) < 3 {
				break
			}
			after = page[len(page)-1].ID
		}
		sameIDs(t, "list by id", got, sortedCopy(byID))
		// Case-insensitive prefix, ordered by lower-case name, in pages of 2.
		want := []string{byName["alpha one"], byName["ALPHA three"], byName["Alpha Two"], byName["Alphabet"]}
		got = nil
		var key, id string
		for {
			page := must[[]*iam.Organization](t)(s.OrgList(ctx, &store.OrgListParams{InstanceID: in.ID, NamePrefix: "ALPHA", AfterKey: key, AfterID: id, Limit: 2}))
			got = append(got, orgIDs(page)...)
			if len(page) < 2 {
				break
			}
			last := page[len(page)-1]
			key, id = strings.ToLower(last.Name), last.ID
		}
		sameIDs(t, "prefix list", got, want)
		// State filter combined with the prefix.
		inactive := must[[]*iam.Organization](t)(s.OrgList(ctx, &store.OrgListParams{InstanceID: in.ID, NamePrefix: "al", State: iam.StateInactive}))
		sameIDs(t, "inactive alphas", orgIDs(inactive), []string{byName["alpha one"], byName["Alphabet"]})
		active := must[[]*iam.Organization](t)(s.OrgList(ctx, &store.OrgListParams{InstanceID: in.ID, State: iam.StateActive}))
		if len(active) != 5 {
			t.Fatalf("active = %d orgs, want 5", len(active))
		}
		none := must[[]*iam.Organization](t)(s.OrgList(ctx, &store.OrgListParams{InstanceID: in.ID, NamePrefix: "zeta"}))
		if len(none) != 0 {
			t.Fatalf("prefix zeta = %v", orgIDs(none))
		}
	})
	t.Run("DeleteCascadesToUsers", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		o := mustCreateOrg(t, s, in.ID)
		u := mustCreateUser(t, s, in.ID, o.ID)
		if err := s.OrgDelete(ctx, &store.OrgDeleteParams{InstanceID: in.ID, ID: o.ID, Version: o.Version}); err != nil {
			t.Fatal(err)
		}
		_, err := s.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: in.ID, ID: u.ID})
		wantErr(t, err, store.ErrNotFound)
	})
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
