package storetest

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// testOIDCCleanup runs every OIDCCleanupQueries method over rows of two
// instances: six expired rows (the last exactly at the cut-off) go in two
// batches of at most four, the live ones stay.
func (b *bundle) testOIDCCleanup(t *testing.T) {
	type kind struct {
		name string
		// add stores a row expiring at exp and returns whether it is
		// still stored.
		add func(t *testing.T, s store.Store, instanceID string, exp time.Time) (stored func() bool)
		del func(s store.Store) func(ctx context.Context, p *store.DeleteBatchParams) (int, error)
	}
	found := func(t *testing.T, err error) bool {
		t.Helper()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	var generation atomic.Int64
	kinds := []kind{
		{"AuthRequests", func(t *testing.T, s store.Store, instanceID string, exp time.Time) func() bool {
			r := newAuthRequest(instanceID, exp.Add(-time.Hour))
			r.ExpiresAt = exp
			must0(t, s.AuthRequestCreate(t.Context(), &store.AuthRequestCreateParams{Request: r}))
			return func() bool {
				_, err := s.AuthRequestGet(t.Context(), &store.AuthRequestGetParams{InstanceID: instanceID, ID: r.ID, Now: r.CreatedAt})
				return found(t, err)
			}
		}, func(s store.Store) func(context.Context, *store.DeleteBatchParams) (int, error) {
			return s.AuthRequestDeleteExpired
		}},
		{"RefreshTokens", func(t *testing.T, s store.Store, instanceID string, exp time.Time) func() bool {
			r := newRefreshToken(instanceID, "", "web", "fam", exp.Add(-time.Hour))
			r.ExpiresAt = exp
			must0(t, s.RefreshTokenCreate(t.Context(), &store.RefreshTokenCreateParams{Token: r}))
			return func() bool {
				_, err := s.RefreshTokenGetByHash(t.Context(), &store.RefreshTokenGetByHashParams{InstanceID: instanceID, TokenHash: r.TokenHash})
				return found(t, err)
			}
		}, func(s store.Store) func(context.Context, *store.DeleteBatchParams) (int, error) {
			return s.RefreshTokenDeleteExpired
		}},
		{"AccessTokens", func(t *testing.T, s store.Store, instanceID string, exp time.Time) func() bool {
			a := &iam.AccessToken{ID: "f." + iam.NewID(), InstanceID: instanceID, FamilyID: "f", ClientID: "c", Subject: "s",
				CreatedAt: exp.Add(-time.Hour), ExpiresAt: exp}
			must0(t, s.AccessTokenCreate(t.Context(), &store.AccessTokenCreateParams{Token: a}))
			return func() bool {
				st := must[*store.TokenStatus](t)(s.TokenStatus(t.Context(), &store.TokenStatusParams{InstanceID: instanceID,
					TokenID: a.ID, Opaque: true, Now: a.CreatedAt}))
				return st.Opaque != nil
			}
		}, func(s store.Store) func(context.Context, *store.DeleteBatchParams) (int, error) {
			return s.AccessTokenDeleteExpired
		}},
		{"Revocations", func(t *testing.T, s store.Store, instanceID string, exp time.Time) func() bool {
			id := iam.NewID()
			must0(t, s.RevocationCreate(t.Context(), &store.RevocationCreateParams{InstanceID: instanceID, ID: id, ExpiresAt: exp}))
			return func() bool {
				st := must[*store.TokenStatus](t)(s.TokenStatus(t.Context(), &store.TokenStatusParams{InstanceID: instanceID,
					TokenID: id, Now: exp.Add(-time.Hour)}))
				return st.Revoked
			}
		}, func(s store.Store) func(context.Context, *store.DeleteBatchParams) (int, error) {
			return s.RevocationDeleteExpired
		}},
		{"DeviceAuthorizations", func(t *testing.T, s store.Store, instanceID string, exp time.Time) func() bool {
			d := newDeviceAuth(instanceID, iam.NewID(), exp.Add(-time.Hour))
			d.ExpiresAt = exp
			must0(t, s.DeviceAuthorizationCreate(t.Context(), &store.DeviceAuthorizationCreateParams{Auth: d, Now: d.CreatedAt}))
			return func() bool {
				_, err := s.DeviceAuthorizationPoll(t.Context(), &store.DeviceAuthorizationPollParams{InstanceID: instanceID,
					ClientID: d.ClientID, DeviceCodeHash: d.DeviceCodeHash, Now: d.CreatedAt})
				return found(t, err)
			}
		}, func(s store.Store) func(context.Context, *store.DeleteBatchParams) (int, error) {
			return s.DeviceAuthorizationDeleteExpired
		}},
		{"SigningKeys", func(t *testing.T, s store.Store, _ string, exp time.Time) func() bool {
			k := newSigningKey(generation.Add(1), exp.Add(-2*time.Hour), 2*time.Hour)
			must0(t, s.SigningKeyCreate(t.Context(), &store.SigningKeyCreateParams{Key: k}))
			return func() bool {
				keys := must[[]*iam.SigningKey](t)(s.SigningKeyList(t.Context(), &store.SigningKeyListParams{Now: k.CreatedAt}))
				return slices.ContainsFunc(keys, func(g *iam.SigningKey) bool { return g.ID == k.ID })
			}
		}, func(s store.Store) func(context.Context, *store.DeleteBatchParams) (int, error) {
			return s.SigningKeyDeleteRetired
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			s, ctx := b.open(t), t.Context()
			cut := now()
			var expired, live []func() bool
			for _, in := range []*iam.Instance{b.instance(t, s), b.instance(t, s)} {
				for _, exp := range []time.Time{cut.Add(-24 * time.Hour), cut.Add(-time.Second), cut} {
					expired = append(expired, k.add(t, s, in.ID, exp))
				}
				for _, exp := range []time.Time{cut.Add(time.Microsecond), cut.Add(time.Hour)} {
					live = append(live, k.add(t, s, in.ID, exp))
				}
			}
			del := k.del(s)
			var batches []int
			for {
				n := must[int](t)(del(ctx, &store.DeleteBatchParams{Before: cut, Limit: 4}))
				batches = append(batches, n)
				if n < 4 {
					break
				}
			}
			if !slices.Equal(batches, []int{4, 2}) {
				t.Fatalf("batches deleted %v, want [4 2] (6 expired rows, limit 4)", batches)
			}
			for i, stored := range expired {
				if stored() {
					t.Errorf("expired row %d still stored", i)
				}
			}
			for i, stored := range live {
				if !stored() {
					t.Errorf("live row %d deleted", i)
				}
			}
		})
	}
}
