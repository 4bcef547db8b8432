package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// testLogin covers LoginQueries and LoginCleanupQueries.
func (b *bundle) testLogin(t *testing.T) {
	t.Run("SessionLifecycle", b.testSessionLifecycle)
	t.Run("SessionRoundTrips", b.testSessionRoundTrips)
	t.Run("TOTPFactors", b.testTOTPFactors)
	t.Run("TOTPStepConcurrentUse", b.testTOTPConcurrentUse)
	t.Run("RecoveryCodes", b.testRecoveryCodes)
	t.Run("RecoveryCodeConcurrentUse", b.testRecoveryCodeConcurrentUse)
	t.Run("WebAuthn", b.testWebAuthn)
	t.Run("EmailOTPChallenges", b.testEmailOTPChallenges)
	t.Run("EmailOTPConcurrentUse", b.testEmailOTPConcurrentUse)
	t.Run("LoginFailures", b.testLoginFailures)
	t.Run("UserDeleteCascades", b.testLoginUserDeleteCascades)
	t.Run("CleanupInBatches", b.testLoginCleanup)
}

// concurrently runs fn n times at once and returns the errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one of errs is nil and every other is
// loser.
func oneWinner(t *testing.T, what string, errs []error, loser error) {
	t.Helper()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case !errors.Is(err, loser):
			t.Errorf("%s %d: %v, want nil or %v", what, i, err, loser)
		}
	}
	if winners != 1 {
		t.Fatalf("%s: %d of %d concurrent calls succeeded, want exactly 1 (errors %v)", what, winners, len(errs), errs)
	}
}

func newLoginSession(instanceID string, at time.Time) *iam.LoginSession {
	return &iam.LoginSession{
		ID: iam.NewID(), InstanceID: instanceID, TokenHash: []byte("session-" + iam.NewID()),
		CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(24 * time.Hour), IdleExpiresAt: at.Add(2 * time.Hour),
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", IP: "192.0.2.7",
	}
}

func (b *bundle) testSessionLifecycle(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	sess := newLoginSession(f.in.ID, at)
	must0(t, s.SessionCreate(ctx, &store.SessionCreateParams{Session: sess}))
	get := func(instanceID string, hash []byte, now time.Time) (*iam.LoginSession, iam.UserState, error) {
		return s.SessionGetByTokenHash(ctx, &store.SessionGetByTokenHashParams{InstanceID: instanceID, TokenHash: hash, Now: now})
	}
	got, state, err := get(f.in.ID, sess.TokenHash, at)
	must0(t, err)
	sameValue(t, "anonymous session", got, sess)
	if state != "" {
		t.Fatalf("user state of an anonymous session = %q", state)
	}
	dup := newLoginSession(f.in.ID, at)
	dup.TokenHash = sess.TokenHash
	wantErr(t, s.SessionCreate(ctx, &store.SessionCreateParams{Session: dup}), store.ErrAlreadyExists)
	wantErr(t, s.SessionCreate(ctx, &store.SessionCreateParams{Session: sess}), store.ErrAlreadyExists)
	foreign := newLoginSession(f.in.ID, at)
	foreign.UserID = f.otherUser.ID
	wantErr(t, s.SessionCreate(ctx, &store.SessionCreateParams{Session: foreign}), store.ErrNotFound)
	for _, c := range []struct {
		name       string
		instanceID string
		hash       []byte
		now        time.Time
	}{
		{"other instance", f.other.ID, sess.TokenHash, at},
		{"unknown hash", f.in.ID, []byte("unknown"), at},
		{"idle expired", f.in.ID, sess.TokenHash, sess.IdleExpiresAt},
		{"expired", f.in.ID, sess.TokenHash, sess.ExpiresAt},
	} {
		if _, _, err := get(c.instanceID, c.hash, c.now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get %s: err = %v, want not found", c.name, err)
		}
	}

	// An idle expiry beyond the absolute one is capped, on create and touch.
	capped := newLoginSession(f.in.ID, at)
	capped.IdleExpiresAt = capped.ExpiresAt.Add(time.Hour)
	must0(t, s.SessionCreate(ctx, &store.SessionCreateParams{Session: capped}))
	got, _, err = get(f.in.ID, capped.TokenHash, at)
	must0(t, err)
	if !got.IdleExpiresAt.Equal(capped.ExpiresAt) {
		t.Fatalf("idle expiry %v, want capped at %v", got.IdleExpiresAt, capped.ExpiresAt)
	}

	touch := func(id string, idle, now time.Time) error {
		return s.SessionTouch(ctx, &store.SessionTouchParams{InstanceID: f.in.ID, ID: id, IdleExpiresAt: idle, Now: now})
	}
	later := at.Add(time.Hour)
	must0(t, touch(sess.ID, later.Add(2*time.Hour), later))
	sess.LastSeenAt, sess.IdleExpiresAt = later, later.Add(2*time.Hour)
	got, _, err = get(f.in.ID, sess.TokenHash, later)
	must0(t, err)
	sameValue(t, "touched session", got, sess)
	must0(t, touch(sess.ID, sess.ExpiresAt.Add(time.Hour), later))
	sess.IdleExpiresAt = sess.ExpiresAt
	got, _, err = get(f.in.ID, sess.TokenHash, later)
	must0(t, err)
	sameValue(t, "session touched beyond its lifetime", got, sess)
	wantErr(t, touch(sess.ID, sess.ExpiresAt, sess.ExpiresAt), store.ErrNotFound)
	wantErr(t, touch(iam.NewID(), later, later), store.ErrNotFound)
	wantErr(t, s.SessionTouch(ctx, &store.SessionTouchParams{InstanceID: f.other.ID, ID: sess.ID, IdleExpiresAt: later, Now: later}), store.ErrNotFound)

	// Authentication: bind the user, rotate the token.
	update := func(instanceID, id, userID string, hash []byte, now time.Time) (*iam.LoginSession, error) {
		return s.SessionUpdateAuth(ctx, &store.SessionUpdateAuthParams{
			InstanceID: instanceID, ID: id, TokenHash: hash, UserID: userID, LoginName: "Alice",
			PasswordVerifiedAt: later, MFAVerifiedAt: later.Add(time.Second), AMR: []string{"pwd", "otp", "mfa"}, Now: now,
		})
	}
	oldHash, newHash := sess.TokenHash, []byte("rotated-"+iam.NewID())
	_, err = update(f.in.ID, sess.ID, f.otherUser.ID, newHash, later)
	wantErr(t, err, store.ErrNotFound)
	_, err = update(f.other.ID, sess.ID, f.otherUser.ID, newHash, later)
	wantErr(t, err, store.ErrNotFound)
	_, err = update(f.in.ID, sess.ID, f.user.ID, capped.TokenHash, later)
	wantErr(t, err, store.ErrAlreadyExists)
	_, err = update(f.in.ID, sess.ID, f.user.ID, newHash, sess.ExpiresAt)
	wantErr(t, err, store.ErrNotFound)
	updated, err := update(f.in.ID, sess.ID, f.user.ID, newHash, later)
	must0(t, err)
	sess.TokenHash, sess.UserID, sess.LoginName = newHash, f.user.ID, "Alice"
	sess.PasswordVerifiedAt, sess.MFAVerifiedAt, sess.AMR = later, later.Add(time.Second), []string{"pwd", "otp", "mfa"}
	sameValue(t, "updated session", updated, sess)
	if _, _, err := get(f.in.ID, oldHash, later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old token after rotation: %v", err)
	}
	got, state, err = get(f.in.ID, newHash, later)
	must0(t, err)
	sameValue(t, "authenticated session", got, sess)
	if state != iam.UserActive {
		t.Fatalf("user state %q, want active", state)
	}
	// Without a token hash the token stays; clearing the user works.
	cleared, err := s.SessionUpdateAuth(ctx, &store.SessionUpdateAuthParams{InstanceID: f.in.ID, ID: sess.ID, Now: later})
	must0(t, err)
	if !slices.Equal(cleared.TokenHash, newHash) || cleared.UserID != "" || cleared.LoginName != "" || cleared.AMR != nil ||
		!cleared.PasswordVerifiedAt.IsZero() || !cleared.MFAVerifiedAt.IsZero() {
		t.Fatalf("cleared session %+v", cleared)
	}

	// Deletion, one and all of a user.
	must0(t, s.SessionDelete(ctx, &store.SessionDeleteParams{InstanceID: f.in.ID, ID: capped.ID}))
	wantErr(t, s.SessionDelete(ctx, &store.SessionDeleteParams{InstanceID: f.in.ID, ID: capped.ID}), store.ErrNotFound)
	wantErr(t, s.SessionDelete(ctx, &store.SessionDeleteParams{InstanceID: f.other.ID, ID: sess.ID}), store.ErrNotFound)
	var mine []*iam.LoginSession
	for range 2 {
		m := newLoginSession(f.in.ID, at)
		m.UserID = f.user.ID
		must0(t, s.SessionCreate(ctx, &store.SessionCreateParams{Session: m}))
		mine = append(mine, m)
	}
	theirs := newLoginSession(f.other.ID, at)
	theirs.UserID = f.otherUser.ID
	must0(t, s.SessionCreate(ctx, &store.SessionCreateParams{Session: theirs}))
	if n := must[int](t)(s.SessionDeleteByUser(ctx, &store.SessionDeleteByUserParams{InstanceID: f.other.ID, UserID: f.user.ID})); n != 0 {
		t.Fatalf("deleted %d sessions through another instance", n)
	}
	if n := must[int](t)(s.SessionDeleteByUser(ctx, &store.SessionDeleteByUserParams{InstanceID: f.in.ID, UserID: f.user.ID})); n != 2 {
		t.Fatalf("deleted %d sessions of the user, want 2", n)
	}
	for _, m := range mine {
		if _, _, err := get(f.in.ID, m.TokenHash, at); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session of the user after deleting all: %v", err)
		}
	}
	_, _, err = get(f.other.ID, theirs.TokenHash, at)
	must0(t, err)
	// The anonymous session (cleared above) is untouched.
	_, _, err = get(f.in.ID, newHash, later)
	must0(t, err)
}

// testSessionRoundTrips pins the hot path: reading a session costs one
// round trip.
func (b *bundle) testSessionRoundTrips(t *testing.T) {
	t.Parallel()
	f := b.oidcFixture(t)
	sess := newLoginSession(f.in.ID, f.at)
	sess.UserID = f.user.ID
	must0(t, f.s.SessionCreate(t.Context(), &store.SessionCreateParams{Session: sess}))
	ctx, rt := store.WithRoundTrips(t.Context())
	if _, _, err := f.s.SessionGetByTokenHash(ctx, &store.SessionGetByTokenHashParams{InstanceID: f.in.ID, TokenHash: sess.TokenHash, Now: f.at}); err != nil {
		t.Fatal(err)
	}
	if got := rt.Load(); got != 1 {
		t.Fatalf("session read took %d round trips, want 1", got)
	}
}

func newTOTPFactor(instanceID, userID string, at time.Time) *iam.TOTPFactor {
	return &iam.TOTPFactor{ID: iam.NewID(), InstanceID: instanceID, UserID: userID, SecretEncrypted: []byte("sealed-" + iam.NewID()), CreatedAt: at}
}

func (b *bundle) testTOTPFactors(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s := f.s
	get := func(instanceID, userID string) (*iam.TOTPFactor, error) {
		return s.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: instanceID, UserID: userID})
	}
	_, err := get(f.in.ID, f.user.ID)
	wantErr(t, err, store.ErrNotFound)
	fac := newTOTPFactor(f.in.ID, f.user.ID, f.at)
	must0(t, s.TOTPFactorCreate(ctx, &store.TOTPFactorCreateParams{Factor: fac}))
	sameValue(t, "created factor", must[*iam.TOTPFactor](t)(get(f.in.ID, f.user.ID)), fac)
	wantErr(t, s.TOTPFactorCreate(ctx, &store.TOTPFactorCreateParams{Factor: newTOTPFactor(f.in.ID, f.user.ID, f.at)}), store.ErrAlreadyExists)
	wantErr(t, s.TOTPFactorCreate(ctx, &store.TOTPFactorCreateParams{Factor: newTOTPFactor(f.in.ID, f.otherUser.ID, f.at)}), store.ErrNotFound)
	_, err = get(f.other.ID, f.user.ID)
	wantErr(t, err, store.ErrNotFound)

	use := func(instanceID string, step int64) error {
		return s.TOTPFactorUseStep(ctx, &store.TOTPFactorUseStepParams{InstanceID: instanceID, UserID: f.user.ID, Step: step})
	}
	confirm := func(instanceID, id string, step int64) error {
		return s.TOTPFactorConfirm(ctx, &store.TOTPFactorConfirmParams{InstanceID: instanceID, UserID: f.user.ID, ID: id, Step: step})
	}
	wantErr(t, use(f.in.ID, 100), store.ErrNotFound) // not verified yet
	wantErr(t, confirm(f.in.ID, iam.NewID(), 100), store.ErrNotFound)
	wantErr(t, confirm(f.other.ID, fac.ID, 100), store.ErrNotFound)
	must0(t, confirm(f.in.ID, fac.ID, 100))
	wantErr(t, confirm(f.in.ID, fac.ID, 101), store.ErrConflict)
	fac.Verified, fac.LastUsedStep = true, 100
	sameValue(t, "confirmed factor", must[*iam.TOTPFactor](t)(get(f.in.ID, f.user.ID)), fac)
	for _, step := range []int64{99, 100} {
		wantErr(t, use(f.in.ID, step), store.ErrConflict)
	}
	must0(t, use(f.in.ID, 102))
	wantErr(t, use(f.in.ID, 101), store.ErrConflict)
	wantErr(t, use(f.in.ID, 102), store.ErrConflict)
	wantErr(t, use(f.other.ID, 103), store.ErrNotFound)
	fac.LastUsedStep = 102
	sameValue(t, "used factor", must[*iam.TOTPFactor](t)(get(f.in.ID, f.user.ID)), fac)

	del := func(instanceID, userID, id string) error {
		return s.TOTPFactorDelete(ctx, &store.TOTPFactorDeleteParams{InstanceID: instanceID, UserID: userID, ID: id})
	}
	wantErr(t, del(f.other.ID, f.user.ID, fac.ID), store.ErrNotFound)
	wantErr(t, del(f.in.ID, f.user.ID, iam.NewID()), store.ErrNotFound)
	must0(t, del(f.in.ID, f.user.ID, fac.ID))
	_, err = get(f.in.ID, f.user.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, del(f.in.ID, f.user.ID, fac.ID), store.ErrNotFound)
	// After removal the user may enrol again.
	must0(t, s.TOTPFactorCreate(ctx, &store.TOTPFactorCreateParams{Factor: newTOTPFactor(f.in.ID, f.user.ID, f.at)}))
}

func (b *bundle) testTOTPConcurrentUse(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	fac := newTOTPFactor(f.in.ID, f.user.ID, f.at)
	must0(t, f.s.TOTPFactorCreate(ctx, &store.TOTPFactorCreateParams{Factor: fac}))
	must0(t, f.s.TOTPFactorConfirm(ctx, &store.TOTPFactorConfirmParams{InstanceID: f.in.ID, UserID: f.user.ID, ID: fac.ID, Step: 1}))
	errs := concurrently(8, func(int) error {
		return f.s.TOTPFactorUseStep(ctx, &store.TOTPFactorUseStepParams{InstanceID: f.in.ID, UserID: f.user.ID, Step: 2})
	})
	oneWinner(t, "use of one TOTP step", errs, store.ErrConflict)
}

func codeHashes(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("code-%d-%s", i, iam.NewID()))
	}
	return out
}

func (b *bundle) testRecoveryCodes(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s := f.s
	count := func(instanceID, userID string) int {
		t.Helper()
		return must[int](t)(s.RecoveryCodeCount(ctx, &store.RecoveryCodeCountParams{InstanceID: instanceID, UserID: userID}))
	}
	consume := func(instanceID, userID string, hash []byte) (int, error) {
		return s.RecoveryCodeConsume(ctx, &store.RecoveryCodeConsumeParams{InstanceID: instanceID, UserID: userID, Hash: hash})
	}
	replace := func(instanceID, userID string, hashes [][]byte) error {
		return s.RecoveryCodesReplace(ctx, &store.RecoveryCodesReplaceParams{InstanceID: instanceID, UserID: userID, Hashes: hashes, Now: f.at})
	}
	if n := count(f.in.ID, f.user.ID); n != 0 {
		t.Fatalf("codes before any: %d", n)
	}
	first := codeHashes(10)
	must0(t, replace(f.in.ID, f.user.ID, first))
	wantErr(t, replace(f.in.ID, f.otherUser.ID, codeHashes(2)), store.ErrNotFound)
	wantErr(t, replace(f.in.ID, f.user.ID, [][]byte{first[0], first[0]}), store.ErrAlreadyExists)
	if n := count(f.in.ID, f.user.ID); n != 10 {
		t.Fatalf("codes after a failed replacement: %d, want the 10 from before", n)
	}
	if n := count(f.other.ID, f.user.ID); n != 0 {
		t.Fatalf("codes through another instance: %d", n)
	}
	if left := must[int](t)(consume(f.in.ID, f.user.ID, first[3])); left != 9 {
		t.Fatalf("codes left after one use: %d, want 9", left)
	}
	for _, c := range []struct {
		name               string
		instanceID, userID string
		hash               []byte
	}{
		{"used code", f.in.ID, f.user.ID, first[3]},
		{"unknown code", f.in.ID, f.user.ID, []byte("unknown")},
		{"other instance", f.other.ID, f.user.ID, first[4]},
		{"other user", f.other.ID, f.otherUser.ID, first[4]},
	} {
		if _, err := consume(c.instanceID, c.userID, c.hash); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("consume %s: err = %v, want not found", c.name, err)
		}
	}
	second := codeHashes(10)
	must0(t, replace(f.in.ID, f.user.ID, second))
	if _, err := consume(f.in.ID, f.user.ID, first[4]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a replaced code still works: %v", err)
	}
	if left := must[int](t)(consume(f.in.ID, f.user.ID, second[9])); left != 9 {
		t.Fatalf("codes left: %d, want 9", left)
	}
	must0(t, replace(f.in.ID, f.user.ID, nil))
	if n := count(f.in.ID, f.user.ID); n != 0 {
		t.Fatalf("codes after removing all: %d", n)
	}
}

func (b *bundle) testRecoveryCodeConcurrentUse(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	hashes := codeHashes(10)
	must0(t, f.s.RecoveryCodesReplace(ctx, &store.RecoveryCodesReplaceParams{InstanceID: f.in.ID, UserID: f.user.ID, Hashes: hashes, Now: f.at}))
	lefts := make([]int, 8)
	errs := concurrently(8, func(i int) error {
		var err error
		lefts[i], err = f.s.RecoveryCodeConsume(ctx, &store.RecoveryCodeConsumeParams{InstanceID: f.in.ID, UserID: f.user.ID, Hash: hashes[0]})
		return err
	})
	oneWinner(t, "use of one recovery code", errs, store.ErrNotFound)
	for i, err := range errs {
		if err == nil && lefts[i] != 9 {
			t.Fatalf("winner saw %d codes left, want 9", lefts[i])
		}
	}
}

func newWebAuthnCredential(instanceID, userID string, at time.Time) *iam.WebAuthnCredential {
	return &iam.WebAuthnCredential{
		ID: iam.NewID(), InstanceID: instanceID, UserID: userID, CredentialID: []byte("cred-" + iam.NewID()),
		PublicKey: []byte{0xa5, 0x01, 0x02, 0x03, 0x26}, AttestationType: "none", AAGUID: make([]byte, 16),
		SignCount: 4294967295, Transports: []string{"usb", "nfc"}, Attachment: "cross-platform",
		UserPresent: true, UserVerified: true, BackupEligible: true, BackupState: false, Name: "YubiKey 5", CreatedAt: at,
	}
}

func (b *bundle) testWebAuthn(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at

	// User handles: stored once, stable, unique per instance.
	ensure := func(instanceID, userID string, handle []byte) ([]byte, error) {
		return s.WebAuthnUserHandleEnsure(ctx, &store.WebAuthnUserHandleEnsureParams{InstanceID: instanceID, UserID: userID, Handle: handle})
	}
	lookup := func(instanceID string, handle []byte) (string, error) {
		return s.WebAuthnUserHandleLookup(ctx, &store.WebAuthnUserHandleLookupParams{InstanceID: instanceID, Handle: handle})
	}
	h1 := []byte("handle-1-" + iam.NewID())
	sameValue(t, "first handle", must[[]byte](t)(ensure(f.in.ID, f.user.ID, h1)), h1)
	sameValue(t, "handle asked again", must[[]byte](t)(ensure(f.in.ID, f.user.ID, []byte("another"))), h1)
	_, err := ensure(f.in.ID, f.otherUser.ID, []byte("x"))
	wantErr(t, err, store.ErrNotFound)
	second := mustCreateUser(t, s, f.in.ID, f.org.ID)
	_, err = ensure(f.in.ID, second.ID, h1)
	wantErr(t, err, store.ErrAlreadyExists)
	// The same handle in another instance is another user's business.
	sameValue(t, "handle in other instance", must[[]byte](t)(ensure(f.other.ID, f.otherUser.ID, h1)), h1)
	if id := must[string](t)(lookup(f.in.ID, h1)); id != f.user.ID {
		t.Fatalf("lookup = %q, want %q", id, f.user.ID)
	}
	if id := must[string](t)(lookup(f.other.ID, h1)); id != f.otherUser.ID {
		t.Fatalf("lookup in other instance = %q, want %q", id, f.otherUser.ID)
	}
	_, err = lookup(f.in.ID, []byte("unknown"))
	wantErr(t, err, store.ErrNotFound)
	hs := concurrently(8, func(i int) error {
		_, err := ensure(f.in.ID, second.ID, []byte(fmt.Sprintf("race-%d-%s", i, iam.NewID())))
		return err
	})
	for _, err := range hs {
		must0(t, err)
	}
	raced := must[[]byte](t)(ensure(f.in.ID, second.ID, []byte("late")))
	if id := must[string](t)(lookup(f.in.ID, raced)); id != second.ID {
		t.Fatalf("raced handle belongs to %q", id)
	}

	// Credentials.
	list := func(instanceID, userID string) []*iam.WebAuthnCredential {
		t.Helper()
		return must[[]*iam.WebAuthnCredential](t)(s.WebAuthnCredentialList(ctx, &store.WebAuthnCredentialListParams{InstanceID: instanceID, UserID: userID}))
	}
	byCred := func(instanceID string, credID []byte) (*iam.WebAuthnCredential, error) {
		return s.WebAuthnCredentialGetByCredentialID(ctx, &store.WebAuthnCredentialGetByCredentialIDParams{InstanceID: instanceID, CredentialID: credID})
	}
	create := func(c *iam.WebAuthnCredential) error {
		return s.WebAuthnCredentialCreate(ctx, &store.WebAuthnCredentialCreateParams{Credential: c})
	}
	c1 := newWebAuthnCredential(f.in.ID, f.user.ID, at)
	c2 := newWebAuthnCredential(f.in.ID, f.user.ID, at)
	c2.AAGUID, c2.Transports, c2.Attachment, c2.SignCount, c2.UserVerified, c2.BackupEligible = nil, nil, "", 0, false, false
	must0(t, create(c1))
	must0(t, create(c2))
	byID := []*iam.WebAuthnCredential{c1, c2}
	slices.SortFunc(byID, func(a, b *iam.WebAuthnCredential) int { return strings.Compare(a.ID, b.ID) })
	sameValue(t, "credentials", list(f.in.ID, f.user.ID), byID)
	if l := list(f.other.ID, f.user.ID); len(l) != 0 {
		t.Fatalf("credentials through another instance: %v", l)
	}
	sameValue(t, "credential by ID", must[*iam.WebAuthnCredential](t)(byCred(f.in.ID, c1.CredentialID)), c1)
	_, err = byCred(f.other.ID, c1.CredentialID)
	wantErr(t, err, store.ErrNotFound)
	dup := newWebAuthnCredential(f.in.ID, second.ID, at)
	dup.CredentialID = c1.CredentialID
	wantErr(t, create(dup), store.ErrAlreadyExists)
	wantErr(t, create(newWebAuthnCredential(f.in.ID, f.otherUser.ID, at)), store.ErrNotFound)
	elsewhere := newWebAuthnCredential(f.other.ID, f.otherUser.ID, at)
	elsewhere.CredentialID = c1.CredentialID
	must0(t, create(elsewhere))

	usedAt := at.Add(time.Minute)
	use := func(instanceID, userID, id string) error {
		return s.WebAuthnCredentialUpdateUsage(ctx, &store.WebAuthnCredentialUpdateUsageParams{InstanceID: instanceID, UserID: userID,
			ID: id, SignCount: 42, BackupState: true, Now: usedAt})
	}
	must0(t, use(f.in.ID, f.user.ID, c2.ID))
	wantErr(t, use(f.other.ID, f.user.ID, c2.ID), store.ErrNotFound)
	wantErr(t, use(f.in.ID, second.ID, c2.ID), store.ErrNotFound)
	c2.SignCount, c2.BackupState, c2.LastUsedAt = 42, true, usedAt
	sameValue(t, "used credential", must[*iam.WebAuthnCredential](t)(byCred(f.in.ID, c2.CredentialID)), c2)

	del := func(instanceID, userID, id string) error {
		return s.WebAuthnCredentialDelete(ctx, &store.WebAuthnCredentialDeleteParams{InstanceID: instanceID, UserID: userID, ID: id})
	}
	wantErr(t, del(f.other.ID, f.user.ID, c1.ID), store.ErrNotFound)
	wantErr(t, del(f.in.ID, second.ID, c1.ID), store.ErrNotFound)
	must0(t, del(f.in.ID, f.user.ID, c1.ID))
	wantErr(t, del(f.in.ID, f.user.ID, c1.ID), store.ErrNotFound)
	sameValue(t, "credentials after deletion", list(f.in.ID, f.user.ID), []*iam.WebAuthnCredential{c2})
	sameValue(t, "other instance's credential", must[*iam.WebAuthnCredential](t)(byCred(f.other.ID, c1.CredentialID)), elsewhere)
}

func (b *bundle) testEmailOTPChallenges(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	put := func(instanceID, userID string, hash []byte) error {
		return s.EmailOTPChallengePut(ctx, &store.EmailOTPChallengePutParams{Challenge: &iam.EmailOTPChallenge{
			InstanceID: instanceID, UserID: userID, CodeHash: hash, CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute), Attempts: 7,
		}})
	}
	consume := func(instanceID string, hash []byte, now time.Time) (*store.EmailOTPConsumeResult, error) {
		return s.EmailOTPChallengeConsume(ctx, &store.EmailOTPChallengeConsumeParams{
			InstanceID: instanceID, UserID: f.user.ID, CodeHash: hash, MaxAttempts: 3, Now: now,
		})
	}
	wrong := func(want int) {
		t.Helper()
		r, err := consume(f.in.ID, []byte("wrong"), at)
		must0(t, err)
		if r.OK || r.Attempts != want {
			t.Fatalf("wrong code: %+v, want attempts %d", r, want)
		}
	}
	_, err := consume(f.in.ID, []byte("code-1"), at)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, put(f.in.ID, f.otherUser.ID, []byte("code-1")), store.ErrNotFound)
	must0(t, put(f.in.ID, f.user.ID, []byte("code-1")))
	wrong(1) // a new challenge starts at zero attempts
	wrong(2)
	_, err = consume(f.other.ID, []byte("code-1"), at)
	wantErr(t, err, store.ErrNotFound)
	_, err = consume(f.in.ID, []byte("code-1"), at.Add(10*time.Minute))
	wantErr(t, err, store.ErrNotFound)
	r, err := consume(f.in.ID, []byte("code-1"), at)
	must0(t, err)
	if !r.OK {
		t.Fatalf("right code: %+v", r)
	}
	_, err = consume(f.in.ID, []byte("code-1"), at)
	wantErr(t, err, store.ErrNotFound)

	// Attempts run out; a new challenge starts over.
	must0(t, put(f.in.ID, f.user.ID, []byte("code-2")))
	wrong(1)
	wrong(2)
	wrong(3)
	_, err = consume(f.in.ID, []byte("code-2"), at)
	wantErr(t, err, store.ErrNotFound)
	must0(t, put(f.in.ID, f.user.ID, []byte("code-3")))
	_, err = consume(f.in.ID, []byte("code-2"), at) // replaced: a wrong code now
	must0(t, err)
	r, err = consume(f.in.ID, []byte("code-3"), at)
	must0(t, err)
	if !r.OK {
		t.Fatalf("code of the replacing challenge: %+v", r)
	}
}

func (b *bundle) testEmailOTPConcurrentUse(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	must0(t, f.s.EmailOTPChallengePut(ctx, &store.EmailOTPChallengePutParams{Challenge: &iam.EmailOTPChallenge{
		InstanceID: f.in.ID, UserID: f.user.ID, CodeHash: []byte("code"), CreatedAt: f.at, ExpiresAt: f.at.Add(time.Minute),
	}}))
	errs := concurrently(8, func(int) error {
		r, err := f.s.EmailOTPChallengeConsume(ctx, &store.EmailOTPChallengeConsumeParams{InstanceID: f.in.ID, UserID: f.user.ID,
			CodeHash: []byte("code"), MaxAttempts: 5, Now: f.at})
		if err == nil && !r.OK {
			return fmt.Errorf("right code counted as wrong: %+v", r)
		}
		return err
	})
	oneWinner(t, "use of one e-mail code", errs, store.ErrNotFound)

	// Concurrent wrong codes never exceed the maximum.
	must0(t, f.s.EmailOTPChallengePut(ctx, &store.EmailOTPChallengePutParams{Challenge: &iam.EmailOTPChallenge{
		InstanceID: f.in.ID, UserID: f.user.ID, CodeHash: []byte("code"), CreatedAt: f.at, ExpiresAt: f.at.Add(time.Minute),
	}}))
	counted := 0
	var mu sync.Mutex
	for _, err := range concurrently(8, func(int) error {
		r, err := f.s.EmailOTPChallengeConsume(ctx, &store.EmailOTPChallengeConsumeParams{InstanceID: f.in.ID, UserID: f.user.ID,
			CodeHash: []byte("wrong"), MaxAttempts: 5, Now: f.at})
		if err == nil {
			mu.Lock()
			counted++
			mu.Unlock()
			if r.OK || r.Attempts > 5 {
				return fmt.Errorf("wrong code: %+v", r)
			}
		}
		return err
	}) {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if counted != 5 {
		t.Fatalf("%d wrong attempts counted, want 5 (the maximum)", counted)
	}
}

func (b *bundle) testLoginFailures(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s := f.s
	p := func(instanceID, userID string) *store.LoginFailureParams {
		return &store.LoginFailureParams{InstanceID: instanceID, UserID: userID, Kind: iam.FailurePassword, Now: f.at}
	}
	otp := &store.LoginFailureParams{InstanceID: f.in.ID, UserID: f.user.ID, Kind: iam.FailureOTP, Now: f.at}
	if n := must[int](t)(s.LoginFailureGet(ctx, p(f.in.ID, f.user.ID))); n != 0 {
		t.Fatalf("failures before any: %d", n)
	}
	for want := 1; want <= 3; want++ {
		if n := must[int](t)(s.LoginFailureIncrement(ctx, p(f.in.ID, f.user.ID))); n != want {
			t.Fatalf("increment = %d, want %d", n, want)
		}
	}
	_, err := s.LoginFailureIncrement(ctx, p(f.in.ID, f.otherUser.ID))
	wantErr(t, err, store.ErrNotFound)
	// Kinds count apart.
	for want := 1; want <= 2; want++ {
		if n := must[int](t)(s.LoginFailureIncrement(ctx, otp)); n != want {
			t.Fatalf("OTP increment = %d, want %d", n, want)
		}
	}
	if n := must[int](t)(s.LoginFailureGet(ctx, otp)); n != 2 {
		t.Fatalf("OTP failures = %d, want 2", n)
	}
	if n := must[int](t)(s.LoginFailureGet(ctx, p(f.other.ID, f.user.ID))); n != 0 {
		t.Fatalf("failures through another instance: %d", n)
	}
	must0(t, s.LoginFailureReset(ctx, p(f.other.ID, f.user.ID)))
	if n := must[int](t)(s.LoginFailureGet(ctx, p(f.in.ID, f.user.ID))); n != 3 {
		t.Fatalf("failures after another instance's reset: %d, want 3", n)
	}
	must0(t, s.LoginFailureReset(ctx, p(f.in.ID, f.user.ID)))
	must0(t, s.LoginFailureReset(ctx, p(f.in.ID, f.user.ID)))
	if n := must[int](t)(s.LoginFailureGet(ctx, p(f.in.ID, f.user.ID))); n != 0 {
		t.Fatalf("failures after reset: %d", n)
	}
	if n := must[int](t)(s.LoginFailureGet(ctx, otp)); n != 2 {
		t.Fatalf("OTP failures after a password reset: %d, want 2", n)
	}
	must0(t, s.LoginFailureReset(ctx, &store.LoginFailureParams{InstanceID: f.in.ID, UserID: f.user.ID}))
	if n := must[int](t)(s.LoginFailureGet(ctx, otp)); n != 0 {
		t.Fatalf("OTP failures after resetting every kind: %d", n)
	}

	// Concurrent increments each get their own count.
	counts := make([]int, 8)
	for _, err := range concurrently(8, func(i int) error {
		var err error
		counts[i], err = s.LoginFailureIncrement(ctx, p(f.in.ID, f.user.ID))
		return err
	}) {
		must0(t, err)
	}
	slices.Sort(counts)
	sameValue(t, "concurrent counts", counts, []int{1, 2, 3, 4, 5, 6, 7, 8})
}

func (b *bundle) testLoginUserDeleteCascades(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	keep := mustCreateUser(t, s, f.in.ID, f.org.ID)
	var sessions []*iam.LoginSession
	for _, u := range []*iam.User{f.user, keep} {
		sess := newLoginSession(f.in.ID, at)
		sess.UserID = u.ID
		must0(t, s.SessionCreate(ctx, &store.SessionCreateParams{Session: sess}))
		sessions = append(sessions, sess)
		must0(t, s.TOTPFactorCreate(ctx, &store.TOTPFactorCreateParams{Factor: newTOTPFactor(f.in.ID, u.ID, at)}))
		must0(t, s.RecoveryCodesReplace(ctx, &store.RecoveryCodesReplaceParams{InstanceID: f.in.ID, UserID: u.ID, Hashes: codeHashes(2), Now: at}))
		must[[]byte](t)(s.WebAuthnUserHandleEnsure(ctx, &store.WebAuthnUserHandleEnsureParams{InstanceID: f.in.ID, UserID: u.ID, Handle: []byte(u.ID)}))
		must0(t, s.WebAuthnCredentialCreate(ctx, &store.WebAuthnCredentialCreateParams{Credential: newWebAuthnCredential(f.in.ID, u.ID, at)}))
		must0(t, s.EmailOTPChallengePut(ctx, &store.EmailOTPChallengePutParams{Challenge: &iam.EmailOTPChallenge{
			InstanceID: f.in.ID, UserID: u.ID, CodeHash: []byte("c"), CreatedAt: at, ExpiresAt: at.Add(time.Minute)}}))
		must[int](t)(s.LoginFailureIncrement(ctx, &store.LoginFailureParams{InstanceID: f.in.ID, UserID: u.ID, Kind: iam.FailureOTP, Now: at}))
	}
	must0(t, s.UserDelete(ctx, &store.UserDeleteParams{InstanceID: f.in.ID, ID: f.user.ID, Version: f.user.Version}))
	for i, u := range []*iam.User{f.user, keep} {
		gone := i == 0
		_, _, err := s.SessionGetByTokenHash(ctx, &store.SessionGetByTokenHashParams{InstanceID: f.in.ID, TokenHash: sessions[i].TokenHash, Now: at})
		_, terr := s.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: f.in.ID, UserID: u.ID})
		_, herr := s.WebAuthnUserHandleLookup(ctx, &store.WebAuthnUserHandleLookupParams{InstanceID: f.in.ID, Handle: []byte(u.ID)})
		codes := must[int](t)(s.RecoveryCodeCount(ctx, &store.RecoveryCodeCountParams{InstanceID: f.in.ID, UserID: u.ID}))
		creds := must[[]*iam.WebAuthnCredential](t)(s.WebAuthnCredentialList(ctx, &store.WebAuthnCredentialListParams{InstanceID: f.in.ID, UserID: u.ID}))
		failures := must[int](t)(s.LoginFailureGet(ctx, &store.LoginFailureParams{InstanceID: f.in.ID, UserID: u.ID, Kind: iam.FailureOTP}))
		_, cerr := s.EmailOTPChallengeConsume(ctx, &store.EmailOTPChallengeConsumeParams{InstanceID: f.in.ID, UserID: u.ID, CodeHash: []byte("c"), MaxAttempts: 1, Now: at})
		got := []bool{err == nil, terr == nil, herr == nil, codes > 0, len(creds) > 0, failures > 0, cerr == nil}
		for j, present := range got {
			if present == gone {
				t.Errorf("user %d (deleted %v): row kind %d present = %v", i, gone, j, present)
			}
		}
	}
}

// testLoginCleanup runs every LoginCleanupQueries method over rows of two
// instances: six expired rows (the last exactly at the cut-off) go in two
// batches of at most four, the live ones stay.
func (b *bundle) testLoginCleanup(t *testing.T) {
	type kind struct {
		name string
		add  func(t *testing.T, s store.Store, instanceID, userID string, exp time.Time) (stored func() bool)
		del  func(s store.Store) func(ctx context.Context, p *store.DeleteBatchParams) (int, error)
	}
	kinds := []kind{
		{"Sessions", func(t *testing.T, s store.Store, instanceID, _ string, exp time.Time) func() bool {
			sess := newLoginSession(instanceID, exp.Add(-time.Hour))
			sess.ExpiresAt, sess.IdleExpiresAt = exp.Add(time.Hour), exp // idle expiry decides
			must0(t, s.SessionCreate(t.Context(), &store.SessionCreateParams{Session: sess}))
			return func() bool {
				// Read at creation: alive then, so found means stored.
				_, _, err := s.SessionGetByTokenHash(t.Context(), &store.SessionGetByTokenHashParams{InstanceID: instanceID,
					TokenHash: sess.TokenHash, Now: sess.CreatedAt})
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Fatal(err)
				}
				return err == nil
			}
		}, func(s store.Store) func(context.Context, *store.DeleteBatchParams) (int, error) {
			return s.SessionDeleteExpired
		}},
		{"EmailOTPChallenges", func(t *testing.T, s store.Store, instanceID, _ string, exp time.Time) func() bool {
			// One challenge per user: each row gets its own user.
			org := mustCreateOrg(t, s, instanceID)
			u := mustCreateUser(t, s, instanceID, org.ID)
			must0(t, s.EmailOTPChallengePut(t.Context(), &store.EmailOTPChallengePutParams{Challenge: &iam.EmailOTPChallenge{
				InstanceID: instanceID, UserID: u.ID, CodeHash: []byte("c"), CreatedAt: exp.Add(-time.Hour), ExpiresAt: exp}}))
			return func() bool {
				// A wrong code at creation time counts an attempt on a
				// stored challenge and is not found otherwise.
				_, err := s.EmailOTPChallengeConsume(t.Context(), &store.EmailOTPChallengeConsumeParams{InstanceID: instanceID,
					UserID: u.ID, CodeHash: []byte("wrong"), MaxAttempts: 100, Now: exp.Add(-time.Hour)})
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Fatal(err)
				}
				return err == nil
			}
		}, func(s store.Store) func(context.Context, *store.DeleteBatchParams) (int, error) {
			return s.EmailOTPChallengeDeleteExpired
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
					expired = append(expired, k.add(t, s, in.ID, "", exp))
				}
				for _, exp := range []time.Time{cut.Add(time.Microsecond), cut.Add(time.Hour)} {
					live = append(live, k.add(t, s, in.ID, "", exp))
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
