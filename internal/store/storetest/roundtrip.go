package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// testRoundTrips pins the round trips both backends count for a context
// from store.WithRoundTrips: every statement, BEGIN and COMMIT.
func (b *bundle) testRoundTrips(t *testing.T) {
	t.Parallel()
	s := b.open(t)
	in := b.instance(t, s)
	u := mustCreateUser(t, s, in.ID, mustCreateOrg(t, s, in.ID).ID)
	for _, c := range []struct {
		name string
		run  func(ctx context.Context) error
		want int64
	}{
		{"read", func(ctx context.Context) error {
			_, err := s.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: in.ID})
			return err
		}, 1},
		{"read not found", func(ctx context.Context) error {
			_, err := s.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: iam.NewID()})
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}, 1},
		{"token status", func(ctx context.Context) error {
			_, err := s.TokenStatus(ctx, &store.TokenStatusParams{InstanceID: in.ID, TokenID: "f.t", FamilyID: "f",
				UserID: u.ID, Opaque: true, Now: now()})
			return err
		}, 1},
		{"transaction with one write", func(ctx context.Context) error {
			return s.WithTx(ctx, func(tx store.Queries) error {
				return tx.RevocationCreate(ctx, &store.RevocationCreateParams{InstanceID: in.ID, ID: iam.NewID(), ExpiresAt: now().Add(time.Hour)})
			})
		}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, rt := store.WithRoundTrips(t.Context())
			if err := c.run(ctx); err != nil {
				t.Fatal(err)
			}
			if got := rt.Load(); got != c.want {
				t.Fatalf("round trips = %d, want %d", got, c.want)
			}
		})
	}
}
