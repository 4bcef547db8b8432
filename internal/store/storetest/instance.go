package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

func newInstance(name string, domains ...string) *iam.Instance {
	return &iam.Instance{ID: iam.NewID(), Name: name, PrimaryDomain: domains[0], AdditionalDomains: domains[1:], State: iam.InstanceActive}
}

func sameInstance(t *testing.T, got, want *iam.Instance) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.State != want.State || got.PrimaryDomain != want.PrimaryDomain ||
		!slices.Equal(got.AdditionalDomains, want.AdditionalDomains) && len(got.AdditionalDomains)+len(want.AdditionalDomains) > 0 {
		t.Fatalf("instance = %+v, want %+v", got, want)
	}
}

func (b *bundle) testInstances(t *testing.T) {
	t.Run("CreateAndGet", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		at := now()
		in := newInstance("Acme", "acme.example", "login.acme.example", "[::1]")
		got := must[*iam.Instance](t)(s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: in, Now: at}))
		sameInstance(t, got, in)
		if got.Version != 1 || !got.CreatedAt.Equal(at) || !got.ChangedAt.Equal(at) {
			t.Fatalf("created = %+v, want version 1 and times %v", got, at)
		}
		byID := must[*iam.Instance](t)(s.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: in.ID}))
		sameInstance(t, byID, in)
		for _, d := range in.Domains() {
			byDomain := must[*iam.Instance](t)(s.InstanceGetByDomain(ctx, &store.InstanceGetByDomainParams{Domain: d}))
			sameInstance(t, byDomain, in)
		}
		_, err := s.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: iam.NewID()})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.InstanceGetByDomain(ctx, &store.InstanceGetByDomainParams{Domain: "other.example"})
		wantErr(t, err, store.ErrNotFound)
	})
	t.Run("DuplicatesRejectedAtomically", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		a := newInstance("A", "a.example", "shared.example")
		must[*iam.Instance](t)(s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: a, Now: now()}))

		sameID := newInstance("A again", "a2.example")
		sameID.ID = a.ID
		_, err := s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: sameID, Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)

		// The second domain is taken: the instance and its first domain must not
		// be stored either.
		c := newInstance("C", "c.example", "shared.example")
		_, err = s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: c, Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)
		_, err = s.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: c.ID})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.InstanceGetByDomain(ctx, &store.InstanceGetByDomainParams{Domain: "c.example"})
		wantErr(t, err, store.ErrNotFound)
		got := must[*iam.Instance](t)(s.InstanceGetByDomain(ctx, &store.InstanceGetByDomainParams{Domain: "shared.example"}))
		sameInstance(t, got, a)
	})
	t.Run("OneSystemInstance", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		sys := newInstance("System", "sys.example")
		sys.System = true
		got := must[*iam.Instance](t)(s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: sys, Now: now()}))
		if !got.System {
			t.Fatal("system flag not stored")
		}
		plain := must[*iam.Instance](t)(s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: newInstance("Plain", "plain.example"), Now: now()}))
		if plain.System {
			t.Fatal("plain instance is system")
		}
		second := newInstance("Second", "second.example")
		second.System = true
		_, err := s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: second, Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)
	})
	t.Run("ListPagesAndFilters", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		var ids []string
		for i := range 7 {
			in := newInstance(fmt.Sprintf("i%d", i), fmt.Sprintf("i%d.example", i))
			if i%3 == 0 {
				in.State = iam.InstanceInactive
			}
			must[*iam.Instance](t)(s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: in, Now: now()}))
			ids = append(ids, in.ID)
		}
		slices.Sort(ids)
		var got []string
		after := ""
		for page := 0; ; page++ {
			list := must[[]*iam.Instance](t)(s.InstanceList(ctx, &store.InstanceListParams{AfterID: after, Limit: 3}))
			if len(list) > 3 {
				t.Fatalf("page %d has %d items, limit 3", page, len(list))
			}
			if len(list) == 0 {
				break
			}
			for _, in := range list {
				got = append(got, in.ID)
				if in.PrimaryDomain == "" {
					t.Fatalf("listed instance without domain: %+v", in)
				}
			}
			after = list[len(list)-1].ID
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("paged IDs = %v, want %v", got, ids)
		}
		inactive := must[[]*iam.Instance](t)(s.InstanceList(ctx, &store.InstanceListParams{State: iam.InstanceInactive}))
		if len(inactive) != 3 {
			t.Fatalf("inactive = %d, want 3", len(inactive))
		}
		for _, in := range inactive {
			if in.State != iam.InstanceInactive {
				t.Fatalf("state filter returned %+v", in)
			}
		}
	})
	t.Run("UpdateWithOptimisticConcurrency", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := newInstance("Before", "before.example", "keep.example")
		created := must[*iam.Instance](t)(s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: in, Now: now()}))
		other := newInstance("Other", "other.example")
		must[*iam.Instance](t)(s.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: other, Now: now()}))

		change := *created
		change.Name, change.State = "After", iam.InstanceInactive
		change.PrimaryDomain, change.AdditionalDomains = "after.example", []string{"keep.example", "new.example"}
		at := now()
		updated := must[*iam.Instance](t)(s.InstanceUpdate(ctx, &store.InstanceUpdateParams{Instance: &change, Now: at}))
		sameInstance(t, updated, &change)
		if updated.Version != created.Version+1 || !updated.ChangedAt.Equal(at) || !updated.CreatedAt.Equal(created.CreatedAt) {
			t.Fatalf("updated = %+v, want version %d, changed %v", updated, created.Version+1, at)
		}
		_, err := s.InstanceGetByDomain(ctx, &store.InstanceGetByDomainParams{Domain: "before.example"})
		wantErr(t, err, store.ErrNotFound)

		// A writer that read the old version loses.
		stale := *created
		stale.Name = "Lost update"
		_, err = s.InstanceUpdate(ctx, &store.InstanceUpdateParams{Instance: &stale, Now: now()})
		wantErr(t, err, store.ErrConflict)

		missing := change
		missing.ID = iam.NewID()
		_, err = s.InstanceUpdate(ctx, &store.InstanceUpdateParams{Instance: &missing, Now: now()})
		wantErr(t, err, store.ErrNotFound)

		// Taking another instance's domain fails and changes nothing.
		steal := *updated
		steal.Name, steal.AdditionalDomains = "Thief", []string{"other.example"}
		_, err = s.InstanceUpdate(ctx, &store.InstanceUpdateParams{Instance: &steal, Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)
		got := must[*iam.Instance](t)(s.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: in.ID}))
		sameInstance(t, got, updated)
		if got.Version != updated.Version {
			t.Fatalf("failed update changed version to %d", got.Version)
		}
	})
}
