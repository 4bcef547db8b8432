package storetest

import (
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/store"
)

// testVerification covers VerificationQueries.
func (b *bundle) testVerification(t *testing.T) {
	t.Run("Lifecycle", b.testVerificationLifecycle)
	t.Run("ConcurrentUse", b.testVerificationConcurrentUse)
}

func (b *bundle) testVerificationLifecycle(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	create := func(instanceID, userID, purpose string, hash []byte, ttl time.Duration) error {
		return s.VerificationTokenCreate(ctx, &store.VerificationTokenCreateParams{Token: &store.VerificationToken{
			InstanceID: instanceID, TokenHash: hash, Purpose: purpose, UserID: userID, Email: "a@example.com",
			CreatedAt: at, ExpiresAt: at.Add(ttl),
		}})
	}
	consume := func(instanceID, purpose string, hash []byte, now time.Time) (*store.VerificationToken, error) {
		return s.VerificationTokenConsume(ctx, &store.VerificationTokenConsumeParams{
			InstanceID: instanceID, Purpose: purpose, TokenHash: hash, Now: now,
		})
	}

	// A user of another instance is not found; a taken hash is refused.
	wantErr(t, create(f.in.ID, f.otherUser.ID, store.PurposeVerifyEmail, []byte("h1"), time.Hour), store.ErrNotFound)
	must0(t, create(f.in.ID, f.user.ID, store.PurposeVerifyEmail, []byte("h1"), time.Hour))
	wantErr(t, create(f.in.ID, f.user.ID, store.PurposePasswordReset, []byte("h1"), time.Hour), store.ErrAlreadyExists)

	// Wrong instance, purpose or hash, or expired: not found, not used up.
	for name, try := range map[string]func() error{
		"other instance": func() error { _, err := consume(f.other.ID, store.PurposeVerifyEmail, []byte("h1"), at); return err },
		"other purpose":  func() error { _, err := consume(f.in.ID, store.PurposePasswordReset, []byte("h1"), at); return err },
		"other hash":     func() error { _, err := consume(f.in.ID, store.PurposeVerifyEmail, []byte("h2"), at); return err },
		"expired": func() error {
			_, err := consume(f.in.ID, store.PurposeVerifyEmail, []byte("h1"), at.Add(time.Hour))
			return err
		},
	} {
		if err := try(); err == nil {
			t.Fatalf("%s: consumed", name)
		} else {
			wantErr(t, err, store.ErrNotFound)
		}
	}
	v, err := consume(f.in.ID, store.PurposeVerifyEmail, []byte("h1"), at)
	must0(t, err)
	if v.UserID != f.user.ID || v.Email != "a@example.com" || v.Purpose != store.PurposeVerifyEmail || string(v.TokenHash) != "h1" ||
		!v.CreatedAt.Equal(at) || !v.ExpiresAt.Equal(at.Add(time.Hour)) || v.InstanceID != f.in.ID {
		t.Fatalf("consumed %+v", v)
	}
	_, err = consume(f.in.ID, store.PurposeVerifyEmail, []byte("h1"), at)
	wantErr(t, err, store.ErrNotFound)

	// Deleting by user, per purpose or all.
	must0(t, create(f.in.ID, f.user.ID, store.PurposePasswordReset, []byte("r1"), time.Hour))
	must0(t, create(f.in.ID, f.user.ID, store.PurposePasswordReset, []byte("r2"), time.Hour))
	must0(t, create(f.in.ID, f.user.ID, store.PurposeVerifyEmail, []byte("v1"), time.Hour))
	n, err := s.VerificationTokenDeleteByUser(ctx, &store.VerificationTokenDeleteByUserParams{InstanceID: f.other.ID, UserID: f.user.ID})
	must0(t, err)
	if n != 0 {
		t.Fatalf("deleted %d tokens through another instance", n)
	}
	n, err = s.VerificationTokenDeleteByUser(ctx, &store.VerificationTokenDeleteByUserParams{
		InstanceID: f.in.ID, UserID: f.user.ID, Purpose: store.PurposePasswordReset,
	})
	must0(t, err)
	if n != 2 {
		t.Fatalf("deleted %d reset tokens, want 2", n)
	}
	_, err = consume(f.in.ID, store.PurposePasswordReset, []byte("r1"), at)
	wantErr(t, err, store.ErrNotFound)
	n, err = s.VerificationTokenDeleteByUser(ctx, &store.VerificationTokenDeleteByUserParams{InstanceID: f.in.ID, UserID: f.user.ID})
	must0(t, err)
	if n != 1 {
		t.Fatalf("deleted %d tokens, want 1", n)
	}

	// Expired tokens are cleaned up in batches.
	for i := range 3 {
		must0(t, create(f.in.ID, f.user.ID, store.PurposeVerifyEmail, []byte{'e', byte(i)}, time.Minute))
	}
	must0(t, create(f.in.ID, f.user.ID, store.PurposeVerifyEmail, []byte("live"), 2*time.Hour))
	total := 0
	for {
		n, err := s.VerificationTokenDeleteExpired(ctx, &store.DeleteBatchParams{Before: at.Add(time.Hour), Limit: 2})
		must0(t, err)
		if n > 2 {
			t.Fatalf("batch deleted %d, limit 2", n)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 3 {
		t.Fatalf("cleanup deleted %d, want 3", total)
	}
	_, err = consume(f.in.ID, store.PurposeVerifyEmail, []byte("live"), at)
	must0(t, err)
}

func (b *bundle) testVerificationConcurrentUse(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	must0(t, f.s.VerificationTokenCreate(ctx, &store.VerificationTokenCreateParams{Token: &store.VerificationToken{
		InstanceID: f.in.ID, TokenHash: []byte("once"), Purpose: store.PurposePasswordReset, UserID: f.user.ID,
		CreatedAt: f.at, ExpiresAt: f.at.Add(time.Hour),
	}}))
	errs := concurrently(8, func(int) error {
		_, err := f.s.VerificationTokenConsume(ctx, &store.VerificationTokenConsumeParams{
			InstanceID: f.in.ID, Purpose: store.PurposePasswordReset, TokenHash: []byte("once"), Now: f.at,
		})
		return err
	})
	oneWinner(t, "consume", errs, store.ErrNotFound)
}
