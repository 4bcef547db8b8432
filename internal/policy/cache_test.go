package policy_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/policy"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// TestGetEffectiveCacheAndRoundTrips: GetEffective takes one round trip on
// a miss and none on a hit; every change through the service, at the
// instance or an organization, is visible at the next call.
func TestGetEffectiveCacheAndRoundTrips(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s, policy.Options{Cache: caches(t, s)})
		get := func(orgID string) (*iam.Policies, int64) {
			t.Helper()
			rctx, rt := store.WithRoundTrips(ctx)
			ps, err := f.svc.GetEffective(rctx, f.in.ID, orgID)
			if err != nil {
				t.Fatal(err)
			}
			return ps, rt.Load()
		}
		if _, n := get(f.x.ID); n != 1 {
			t.Fatalf("miss took %d round trips, want 1", n)
		}
		ps, n := get(f.x.ID)
		if n != 0 {
			t.Fatalf("hit took %d round trips, want 0", n)
		}
		// Callers get copies.
		ps.Login.AllowedSecondFactors[0] = "mutated"
		ps.Branding.ProductName = "mutated"
		if again, _ := get(f.x.ID); again.Login.AllowedSecondFactors[0] != iam.SecondFactorTOTP || again.Branding.ProductName != iam.DefaultProductName {
			t.Fatal("a caller's change reached the cache")
		}
		// Behind the service's back: still the cached answer.
		if _, err := s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: f.in.ID, Kind: iam.PolicyPassword, Body: json.RawMessage(`{"min_length": 20}`), Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if got, _ := get(f.x.ID); got.Password.MinLength != iam.DefaultPasswordMinLength {
			t.Fatalf("not served from the cache: %+v", got.Password)
		}
		// A change of the instance's policy through the service.
		if _, err := f.svc.SetPassword(ctx, "admin", f.in.ID, "", &iam.PasswordPolicy{MinLength: 12, Version: 1}); err != nil {
			t.Fatal(err)
		}
		if got, _ := get(f.x.ID); got.Password.MinLength != 12 || got.Password.Version != 2 {
			t.Fatalf("after the instance's change: %+v", got.Password)
		}
		// An organization's override and its reset.
		if _, n := get(""); n != 1 {
			t.Fatalf("instance miss took %d round trips", n)
		}
		if _, err := f.svc.SetPassword(ctx, "admin", f.in.ID, f.x.ID, &iam.PasswordPolicy{MinLength: 30}); err != nil {
			t.Fatal(err)
		}
		if got, _ := get(f.x.ID); got.Password.MinLength != 30 {
			t.Fatalf("after X's override: %+v", got.Password)
		}
		if got, _ := get(""); got.Password.MinLength != 12 {
			t.Fatalf("instance after X's override: %+v", got.Password)
		}
		if _, err := f.svc.Reset(ctx, "admin", f.in.ID, f.x.ID, iam.PolicyPassword, 1); err != nil {
			t.Fatal(err)
		}
		if got, _ := get(f.x.ID); got.Password.MinLength != 12 {
			t.Fatalf("after X's reset: %+v", got.Password)
		}
		// Another instance's entries survive a change; all of this
		// instance's go.
		if _, n := get(f.y.ID); n != 1 {
			t.Fatalf("Y's miss took %d round trips", n)
		}
		other := func() int64 {
			rctx, rt := store.WithRoundTrips(ctx)
			if _, err := f.svc.GetEffective(rctx, f.other.ID, ""); err != nil {
				t.Fatal(err)
			}
			return rt.Load()
		}
		other()
		if _, err := f.svc.SetBranding(ctx, "admin", f.in.ID, &iam.Branding{ProductName: "A", PrimaryColor: "#000000"}); err != nil {
			t.Fatal(err)
		}
		if n := other(); n != 0 {
			t.Fatalf("another instance's change dropped this one's entry: %d round trips", n)
		}
		if got, n := get(f.y.ID); n != 1 || got.Branding.ProductName != "A" {
			t.Fatalf("Y after the branding change: %+v, %d round trips", got.Branding, n)
		}
	})
}
