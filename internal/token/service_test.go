package token_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/token"
)

func newService(t *testing.T, s store.Store, c *testenv.Clock) (*token.Service, string) {
	t.Helper()
	in, err := instance.New(s, c.Now).Create(t.Context(), "test", &iam.Instance{Name: "T", PrimaryDomain: iam.NewID()[24:] + ".test"})
	if err != nil {
		t.Fatal(err)
	}
	return token.New(s, crypto.NewSecretHasher(keyring(t)), c.Now, nil), in.ID
}

// newUser creates a machine user in the instance and returns its ID.
func newUser(t *testing.T, s store.Store, inst string) string {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	o, err := s.OrgCreate(t.Context(), &store.OrgCreateParams{Now: now, Org: &iam.Organization{ID: iam.NewID(), InstanceID: inst, Name: "O", State: iam.StateActive}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.UserCreate(t.Context(), &store.UserCreateParams{Now: now, User: &iam.User{
		ID: iam.NewID(), InstanceID: inst, OrgID: o.ID, Type: iam.UserMachine, LoginName: "bot-" + iam.NewID()[24:],
		State: iam.UserActive, Machine: &iam.MachineProfile{Name: "Bot"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestRefreshRotationRace: of concurrent exchanges of one refresh token
// exactly one succeeds; the others count as reuse and revoke the family,
// including the winner's new token.
func TestRefreshRotationRace(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		c := testenv.NewClock(time.Now().UTC())
		svc, inst := newService(t, s, c)
		ctx := t.Context()
		g := &token.Grant{InstanceID: inst, FamilyID: iam.NewID(), ClientID: "app", Scopes: []string{"openid", "offline_access"}}
		first, err := svc.IssueRefreshToken(ctx, g, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		const racers = 6
		var wg sync.WaitGroup
		results := make(chan error, racers)
		tokens := make(chan string, racers)
		for range racers {
			wg.Go(func() {
				rt, err := svc.RefreshToken(ctx, inst, first)
				if err != nil {
					results <- err
					return
				}
				next, err := svc.RotateRefreshToken(ctx, rt, &token.Grant{InstanceID: inst, ClientID: "app"}, time.Hour)
				if err == nil {
					tokens <- next
				}
				results <- err
			})
		}
		wg.Wait()
		close(results)
		close(tokens)
		ok := 0
		for err := range results {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, token.ErrInvalidGrant):
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d exchanges succeeded, want exactly 1", ok)
		}
		// The losers were a reuse: the winner's token is revoked too.
		for next := range tokens {
			if _, err := svc.RefreshToken(ctx, inst, next); !errors.Is(err, token.ErrInvalidGrant) {
				t.Fatalf("winner's token after the reuse: %v, want invalid grant", err)
			}
		}
		st, err := svc.Status(ctx, inst, token.NewTokenID(g.FamilyID), "", false)
		if err != nil || !st.Revoked {
			t.Fatalf("family status = %+v, %v; want revoked", st, err)
		}
	})
}

// TestCodeSingleUse: a code redeems once; its replay revokes its family.
func TestCodeSingleUse(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		c := testenv.NewClock(time.Now().UTC())
		svc, inst := newService(t, s, c)
		ctx := t.Context()
		r := &iam.AuthRequest{InstanceID: inst, ClientID: "app", RedirectURI: "https://app.example/cb", Scopes: []string{"openid"}, ResponseType: "code", MaxAge: -1}
		if err := svc.CreateAuthRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RedeemCode(ctx, inst, "nope"); !errors.Is(err, token.ErrInvalidGrant) {
			t.Fatalf("unknown code: %v", err)
		}
		uid := newUser(t, s, inst)
		if err := svc.CompleteAuthRequest(ctx, inst, r.ID, uid, []string{"pwd"}); err != nil {
			t.Fatal(err)
		}
		if err := svc.SaveCode(ctx, inst, r.ID, "the-code"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RedeemCode(ctx, inst, "the-code"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RedeemCode(ctx, inst, "the-code"); !errors.Is(err, token.ErrInvalidGrant) {
			t.Fatalf("replay: %v, want invalid grant", err)
		}
		st, err := svc.Status(ctx, inst, token.NewTokenID(r.ID), "", false)
		if err != nil || !st.Revoked {
			t.Fatalf("after a replay the code's family = %+v, %v; want revoked", st, err)
		}
		// A code redeemed after its lifetime is refused.
		r2 := &iam.AuthRequest{InstanceID: inst, ClientID: "app", RedirectURI: "https://app.example/cb", ResponseType: "code", MaxAge: -1}
		if err := svc.CreateAuthRequest(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if err := svc.CompleteAuthRequest(ctx, inst, r2.ID, uid, nil); err != nil {
			t.Fatal(err)
		}
		if err := svc.SaveCode(ctx, inst, r2.ID, "late-code"); err != nil {
			t.Fatal(err)
		}
		c.Add(token.CodeLifetime + time.Second)
		if _, err := svc.RedeemCode(ctx, inst, "late-code"); !errors.Is(err, token.ErrInvalidGrant) {
			t.Fatalf("expired code: %v, want invalid grant", err)
		}
	})
}
