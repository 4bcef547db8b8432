package mfa_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is one test's world: a store, the service on a test clock, an
// instance with an organization, human users and a machine user.
type env struct {
	t     *testing.T
	s     store.Store
	svc   *mfa.Service
	clock *testenv.Clock
	in    *iam.Instance
	org   *iam.Organization
	alice *iam.User
}

func setup(t *testing.T, s store.Store) *env {
	t.Helper()
	raw, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	kr := crypto.NewKeyring(key)
	// The middle of a TOTP step, so that ±1 step is exact.
	start := time.Now().UTC().Truncate(30 * time.Second).Add(15 * time.Second)
	e := &env{t: t, s: s, clock: testenv.NewClock(start)}
	e.svc = mfa.New(s, mfa.Options{Keyring: kr, Secrets: crypto.NewSecretHasher(kr), Now: e.clock.Now})
	ctx := t.Context()
	e.in, err = s.InstanceCreate(ctx, &store.InstanceCreateParams{
		Instance: &iam.Instance{ID: iam.NewID(), Name: "T", PrimaryDomain: iam.NewID()[24:] + ".example", State: iam.InstanceActive}, Now: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.org = e.newOrg()
	e.alice = e.human("alice", true)
	return e
}

func (e *env) newOrg() *iam.Organization {
	e.t.Helper()
	o, err := e.s.OrgCreate(e.t.Context(), &store.OrgCreateParams{
		Org: &iam.Organization{ID: iam.NewID(), InstanceID: e.in.ID, Name: "Org " + iam.NewID(), State: iam.StateActive}, Now: time.Now(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *env) human(login string, verified bool) *iam.User {
	e.t.Helper()
	u, err := e.s.UserCreate(e.t.Context(), &store.UserCreateParams{User: &iam.User{
		ID: iam.NewID(), InstanceID: e.in.ID, OrgID: e.org.ID, Type: iam.UserHuman, LoginName: login, State: iam.UserActive,
		Human: &iam.HumanProfile{Email: login + "@example.com", EmailVerified: verified, GivenName: "Alice", FamilyName: "Example"},
	}, Now: time.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) ref(u *iam.User) mfa.Ref {
	return mfa.Ref{InstanceID: u.InstanceID, OrgID: u.OrgID, ID: u.ID}
}

func (e *env) events(typ string) []*iam.AuditEvent {
	e.t.Helper()
	ev, err := e.s.AuditEventList(e.t.Context(), &store.AuditEventListParams{InstanceID: e.in.ID, EventType: typ})
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

func payload(t *testing.T, ev *iam.AuditEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func wantCode(t *testing.T, what string, err error, code iam.Code) {
	t.Helper()
	if !iam.IsCode(err, code) {
		t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
}

// code returns the TOTP code of secret at the clock's time plus offset.
func (e *env) code(secret string, offset time.Duration) string {
	e.t.Helper()
	c, err := totp.GenerateCodeCustom(secret, e.clock.Now().Add(offset), totp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enrol sets up a confirmed authenticator for u and returns its secret and
// the recovery codes.
func (e *env) enrol(u *iam.User) (string, []string) {
	e.t.Helper()
	en, err := e.svc.BeginTOTP(e.t.Context(), e.ref(u), "Example")
	if err != nil {
		e.t.Fatal(err)
	}
	codes, err := e.svc.ConfirmTOTP(e.t.Context(), u.ID, e.ref(u), e.code(en.Secret, 0))
	if err != nil {
		e.t.Fatal(err)
	}
	return en.Secret, codes
}

func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) { fn(t, setup(t, s)) })
}

var recoveryCodeFormat = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)

func TestTOTPEnrolment(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ref := e.ref(e.alice)
		first, err := e.svc.BeginTOTP(ctx, ref, "")
		if err != nil {
			t.Fatal(err)
		}
		en, err := e.svc.BeginTOTP(ctx, ref, "Example Corp")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(en.URL, "otpauth://totp/Example%20Corp:alice?") || !strings.Contains(en.URL, "secret="+en.Secret) ||
			!strings.Contains(first.URL, "issuer=Rampart") {
			t.Fatalf("URLs %q, %q", first.URL, en.URL)
		}
		img, err := png.Decode(bytes.NewReader(en.QRCodePNG))
		if err != nil || img.Bounds().Dx() != mfa.QRCodeSize || img.Bounds().Dy() != mfa.QRCodeSize {
			t.Fatalf("QR code: %v, %v", img.Bounds(), err)
		}
		// The second enrolment replaced the first; the secret is sealed.
		stored, err := e.s.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: e.in.ID, UserID: e.alice.ID})
		if err != nil || stored.ID != en.FactorID || stored.Verified || bytes.Contains(stored.SecretEncrypted, []byte(en.Secret)) {
			t.Fatalf("stored factor %+v, %v", stored, err)
		}
		wantCode(t, "verify before confirmation", e.svc.VerifyTOTP(ctx, e.in.ID, e.alice.ID, e.code(en.Secret, 0)), iam.FailedPrecondition)
		list, err := e.svc.ListFactors(ctx, ref)
		if err != nil || len(list) != 1 || list[0].Verified || list[0].Type != iam.FactorTOTP {
			t.Fatalf("factors while unconfirmed: %+v, %v", list, err)
		}

		_, err = e.svc.ConfirmTOTP(ctx, e.alice.ID, ref, e.code(first.Secret, 0))
		wantCode(t, "code of the replaced secret", err, iam.Invalid)
		_, err = e.svc.ConfirmTOTP(ctx, e.alice.ID, ref, "12345")
		wantCode(t, "malformed code", err, iam.Invalid)
		codes, err := e.svc.ConfirmTOTP(ctx, e.alice.ID, ref, e.code(en.Secret, -30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if !recoveryCodeFormat.MatchString(c) || seen[c] {
				t.Fatalf("recovery codes %v", codes)
			}
			seen[c] = true
		}
		if len(codes) != 10 {
			t.Fatalf("%d recovery codes", len(codes))
		}
		_, err = e.svc.ConfirmTOTP(ctx, e.alice.ID, ref, e.code(en.Secret, 0))
		wantCode(t, "second confirmation", err, iam.FailedPrecondition)
		_, err = e.svc.BeginTOTP(ctx, ref, "")
		wantCode(t, "second authenticator", err, iam.FailedPrecondition)
		// The step of the confirming code counts as used.
		wantCode(t, "confirming code again", e.svc.VerifyTOTP(ctx, e.in.ID, e.alice.ID, e.code(en.Secret, -30*time.Second)), iam.Unauthenticated)

		list, err = e.svc.ListFactors(ctx, ref)
		if err != nil || len(list) != 2 || !list[0].Verified || list[1].Type != iam.FactorRecoveryCodes || list[1].Remaining != 10 {
			t.Fatalf("factors: %+v, %v", list, err)
		}
		added, generated := e.events(iam.EventUserTOTPAdded), e.events(iam.EventUserRecoveryCodesGenerated)
		if len(added) != 1 || payload(t, added[0])["factor_id"] != en.FactorID || added[0].Actor != e.alice.ID || len(generated) != 1 {
			t.Fatalf("events %+v %+v", added, generated)
		}
		for _, ev := range append(added, generated...) {
			for _, c := range append(codes, en.Secret) {
				if strings.Contains(string(ev.Payload), c) {
					t.Fatalf("secret in event payload %s", ev.Payload)
				}
			}
		}

		// Only human users of the named organization.
		robot, err := e.s.UserCreate(ctx, &store.UserCreateParams{User: &iam.User{ID: iam.NewID(), InstanceID: e.in.ID, OrgID: e.org.ID,
			Type: iam.UserMachine, LoginName: "robot", State: iam.UserActive, Machine: &iam.MachineProfile{Name: "R"}}, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.BeginTOTP(ctx, e.ref(robot), "")
		wantCode(t, "machine user", err, iam.FailedPrecondition)
		_, err = e.svc.BeginTOTP(ctx, mfa.Ref{InstanceID: e.in.ID, OrgID: e.newOrg().ID, ID: e.alice.ID}, "")
		wantCode(t, "user of another organization", err, iam.NotFound)
	})
}

func TestTOTPVerify(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		secret, _ := e.enrol(e.alice)
		verify := func(code string) error { return e.svc.VerifyTOTP(ctx, e.in.ID, e.alice.ID, code) }
		e.clock.Add(30 * time.Second)
		cases := []struct {
			name   string
			offset time.Duration
			ok     bool
		}{
			{"two steps ago", -60 * time.Second, false},
			{"two steps ahead", 60 * time.Second, false},
			{"previous step", -30 * time.Second, false}, // the confirmation used it
			{"current step", 0, true},
			{"current step again", 0, false},
			{"next step", 30 * time.Second, true},
			{"current step after the next", 0, false},
		}
		for _, c := range cases {
			err := verify(e.code(secret, c.offset))
			if (err == nil) != c.ok {
				t.Fatalf("%s: %v, want ok=%v", c.name, err, c.ok)
			}
			if err != nil {
				wantCode(t, c.name, err, iam.Unauthenticated)
			}
		}
		e.clock.Add(90 * time.Second)
		for _, bad := range []string{"", "abcdef", "1234567", "12345"} {
			wantCode(t, "malformed "+bad, verify(bad), iam.Unauthenticated)
		}
		c := e.code(secret, 0)
		if err := verify(c[:3] + " " + c[3:]); err != nil {
			t.Fatalf("code with a space: %v", err)
		}

		// One code, sent eight times at once: accepted once.
		e.clock.Add(30 * time.Second)
		c = e.code(secret, 0)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = verify(c) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantCode(t, "concurrent replay", err, iam.Unauthenticated)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of 8 concurrent uses of one code accepted", ok)
		}
		bob := e.human("bob", true)
		wantCode(t, "user without authenticator", e.svc.VerifyTOTP(ctx, e.in.ID, bob.ID, c), iam.FailedPrecondition)
	})
}

func TestRecoveryCodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ref := e.ref(e.alice)
		_, err := e.svc.RegenerateRecoveryCodes(ctx, "admin", ref)
		wantCode(t, "codes without a factor", err, iam.FailedPrecondition)
		_, codes := e.enrol(e.alice)
		use := func(code string) (int, error) { return e.svc.VerifyRecoveryCode(ctx, e.in.ID, e.alice.ID, code) }
		// Typed loosely: upper case, spaces, no hyphen.
		left, err := use(" " + strings.ToUpper(strings.ReplaceAll(codes[0], "-", " ")) + " ")
		if err != nil || left != 9 {
			t.Fatalf("use = %d, %v", left, err)
		}
		_, err = use(codes[0])
		wantCode(t, "used code", err, iam.Unauthenticated)
		for _, bad := range []string{"", "too-short", "zzzzz-zzzzz-z", "uuuuu-uuuuu"} {
			_, err = use(bad)
			wantCode(t, "bad code "+bad, err, iam.Unauthenticated)
		}
		bob := e.human("bob", true)
		_, err = e.svc.VerifyRecoveryCode(ctx, e.in.ID, bob.ID, codes[1])
		wantCode(t, "another user's code", err, iam.Unauthenticated)
		ev := e.events(iam.EventUserRecoveryCodeUsed)
		if len(ev) != 1 || payload(t, ev[0])["remaining"] != float64(9) {
			t.Fatalf("events %+v", ev)
		}

		fresh, err := e.svc.RegenerateRecoveryCodes(ctx, "admin", ref)
		if err != nil || len(fresh) != 10 {
			t.Fatalf("regenerate = %v, %v", fresh, err)
		}
		_, err = use(codes[1])
		wantCode(t, "replaced code", err, iam.Unauthenticated)

		// One code, sent eight times at once: accepted once.
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { _, errs[i] = use(fresh[0]) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantCode(t, "concurrent reuse", err, iam.Unauthenticated)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of 8 concurrent uses of one recovery code accepted", ok)
		}
	})
}

func TestEmailChallenge(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		unverified := e.human("unverified", false)
		_, err := e.svc.CreateEmailChallenge(ctx, e.in.ID, unverified.ID, 0)
		wantCode(t, "unverified address", err, iam.FailedPrecondition)
		_, err = e.svc.CreateEmailChallenge(ctx, e.in.ID, iam.NewID(), 0)
		wantCode(t, "unknown user", err, iam.NotFound)

		verify := func(code string) error { return e.svc.VerifyEmailChallenge(ctx, e.in.ID, e.alice.ID, code, 3) }
		code, err := e.svc.CreateEmailChallenge(ctx, e.in.ID, e.alice.ID, 0)
		if err != nil || !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
			t.Fatalf("code %q, %v", code, err)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		err = verify(wrong)
		wantCode(t, "wrong code", err, iam.Unauthenticated)
		if !strings.Contains(err.Error(), "2 attempts left") {
			t.Fatalf("message %v", err)
		}
		if err := verify(" " + code + " "); err != nil {
			t.Fatalf("right code: %v", err)
		}
		wantCode(t, "used code", verify(code), iam.Unauthenticated)

		// Attempts run out: even the right code fails then.
		code, _ = e.svc.CreateEmailChallenge(ctx, e.in.ID, e.alice.ID, 0)
		for _, bad := range []string{wrong, "abc", wrong} {
			wantCode(t, "wrong code "+bad, verify(bad), iam.Unauthenticated)
		}
		err = verify(code)
		wantCode(t, "right code after too many wrong ones", err, iam.Unauthenticated)
		if !strings.Contains(err.Error(), "ask for a new code") {
			t.Fatalf("message %v", err)
		}
		// A new code replaces the old one; codes expire.
		old, _ := e.svc.CreateEmailChallenge(ctx, e.in.ID, e.alice.ID, time.Minute)
		code, _ = e.svc.CreateEmailChallenge(ctx, e.in.ID, e.alice.ID, time.Minute)
		if old != code {
			wantCode(t, "replaced code", verify(old), iam.Unauthenticated)
		}
		e.clock.Add(time.Minute)
		wantCode(t, "expired code", verify(code), iam.Unauthenticated)
	})
}

func TestWebAuthn(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		wu, err := e.svc.WebAuthnUser(ctx, e.in.ID, e.alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(wu.WebAuthnID()) != iam.WebAuthnUserHandleLength || wu.WebAuthnName() != "alice" ||
			wu.WebAuthnDisplayName() != "Alice Example" || len(wu.Credentials) != 0 || bytes.Contains(wu.WebAuthnID(), []byte(e.alice.ID)) {
			t.Fatalf("WebAuthn user %+v", wu)
		}
		again, err := e.svc.WebAuthnUser(ctx, e.in.ID, e.alice.ID)
		if err != nil || !bytes.Equal(again.Handle, wu.Handle) {
			t.Fatalf("handle not stable: %x, %x, %v", again.Handle, wu.Handle, err)
		}
		cred := &iam.WebAuthnCredential{CredentialID: []byte("cred-1"), PublicKey: []byte{1, 2, 3}, AttestationType: "none",
			AAGUID: make([]byte, 16), SignCount: 1, Transports: []string{"internal", "hybrid"}, Attachment: "platform",
			UserPresent: true, UserVerified: true, BackupEligible: true, BackupState: true}
		added, err := e.svc.AddWebAuthnCredential(ctx, e.alice.ID, e.ref(e.alice), cred)
		if err != nil || added.ID == "" || added.Name != mfa.DefaultWebAuthnName || added.UserID != e.alice.ID || added.CreatedAt.IsZero() {
			t.Fatalf("added %+v, %v", added, err)
		}
		_, err = e.svc.AddWebAuthnCredential(ctx, e.alice.ID, e.ref(e.alice), cred)
		wantCode(t, "same credential again", err, iam.AlreadyExists)
		bad := cred.Clone()
		bad.CredentialID, bad.Name = nil, "bad\x00name"
		_, err = e.svc.AddWebAuthnCredential(ctx, e.alice.ID, e.ref(e.alice), bad)
		wantCode(t, "invalid credential", err, iam.Invalid)

		byHandle, err := e.svc.WebAuthnUserByHandle(ctx, e.in.ID, wu.Handle)
		if err != nil || byHandle.User.ID != e.alice.ID || len(byHandle.Credentials) != 1 || len(byHandle.CredentialIDs()) != 1 {
			t.Fatalf("by handle %+v, %v", byHandle, err)
		}
		_, err = e.svc.WebAuthnUserByHandle(ctx, e.in.ID, []byte("unknown"))
		wantCode(t, "unknown handle", err, iam.NotFound)
		got, err := e.svc.WebAuthnCredentialByID(ctx, e.in.ID, []byte("cred-1"))
		if err != nil || got.ID != added.ID {
			t.Fatalf("by credential ID %+v, %v", got, err)
		}
		_, err = e.svc.WebAuthnCredentialByID(ctx, e.in.ID, []byte("cred-2"))
		wantCode(t, "unknown credential", err, iam.NotFound)
		e.clock.Add(time.Minute)
		if err := e.svc.RecordWebAuthnUse(ctx, e.in.ID, e.alice.ID, added.ID, 7, false); err != nil {
			t.Fatal(err)
		}
		got, _ = e.svc.WebAuthnCredentialByID(ctx, e.in.ID, []byte("cred-1"))
		if got.SignCount != 7 || got.BackupState || !got.LastUsedAt.Equal(e.clock.Now().UTC().Truncate(time.Microsecond)) {
			t.Fatalf("after use %+v", got)
		}
		wantCode(t, "use of unknown credential", e.svc.RecordWebAuthnUse(ctx, e.in.ID, e.alice.ID, iam.NewID(), 1, false), iam.NotFound)
		ev := e.events(iam.EventUserWebAuthnAdded)
		if len(ev) != 1 || payload(t, ev[0])["factor_id"] != added.ID {
			t.Fatalf("events %+v", ev)
		}

		// Recovery codes are available with a security key alone.
		if codes, err := e.svc.RegenerateRecoveryCodes(ctx, e.alice.ID, e.ref(e.alice)); err != nil || len(codes) != 10 {
			t.Fatalf("recovery codes with a security key: %v, %v", codes, err)
		}
		for i := 1; i < mfa.MaxWebAuthnCredentials; i++ {
			c := cred.Clone()
			c.CredentialID, c.Name = []byte{byte(i), 'x'}, "Key"
			if _, err := e.svc.AddWebAuthnCredential(ctx, e.alice.ID, e.ref(e.alice), c); err != nil {
				t.Fatal(err)
			}
		}
		over := cred.Clone()
		over.CredentialID = []byte("one too many")
		_, err = e.svc.AddWebAuthnCredential(ctx, e.alice.ID, e.ref(e.alice), over)
		wantCode(t, "too many credentials", err, iam.FailedPrecondition)
	})
}

func TestRemoveFactor(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ref := e.ref(e.alice)
		e.enrol(e.alice)
		key, err := e.svc.AddWebAuthnCredential(ctx, e.alice.ID, ref, &iam.WebAuthnCredential{CredentialID: []byte("k"), PublicKey: []byte{1}, Name: "YubiKey"})
		if err != nil {
			t.Fatal(err)
		}
		list, err := e.svc.ListFactors(ctx, ref)
		if err != nil || len(list) != 3 || list[1].Type != iam.FactorWebAuthn || list[1].Name != "YubiKey" {
			t.Fatalf("factors %+v, %v", list, err)
		}
		totpID := list[0].ID

		wantCode(t, "unknown factor", e.svc.RemoveFactor(ctx, "admin", ref, iam.NewID()), iam.NotFound)
		wantCode(t, "no factor ID", e.svc.RemoveFactor(ctx, "admin", ref, ""), iam.Invalid)
		wantCode(t, "other organization", e.svc.RemoveFactor(ctx, "admin", mfa.Ref{InstanceID: e.in.ID, OrgID: e.newOrg().ID, ID: e.alice.ID}, totpID), iam.NotFound)

		// The authenticator goes; the key and the recovery codes stay.
		if err := e.svc.RemoveFactor(ctx, "admin", ref, totpID); err != nil {
			t.Fatal(err)
		}
		list, _ = e.svc.ListFactors(ctx, ref)
		if len(list) != 2 || list[0].ID != key.ID || list[1].Remaining != 10 {
			t.Fatalf("after removing the authenticator: %+v", list)
		}
		// The last factor takes the recovery codes with it.
		if err := e.svc.RemoveFactor(ctx, "admin", ref, key.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ = e.svc.ListFactors(ctx, ref); len(list) != 0 {
			t.Fatalf("after removing every factor: %+v", list)
		}
		for _, typ := range []string{iam.EventUserTOTPRemoved, iam.EventUserWebAuthnRemoved, iam.EventUserRecoveryCodesRemoved} {
			if ev := e.events(typ); len(ev) != 1 || ev[0].Actor != "admin" {
				t.Fatalf("%s events: %+v", typ, ev)
			}
		}
		wantCode(t, "no recovery codes", e.svc.RemoveFactor(ctx, "admin", ref, iam.RecoveryCodesFactorID), iam.NotFound)

		// Recovery codes can be removed on their own.
		e.enrol(e.alice)
		if err := e.svc.RemoveFactor(ctx, "admin", ref, iam.RecoveryCodesFactorID); err != nil {
			t.Fatal(err)
		}
		if list, _ = e.svc.ListFactors(ctx, ref); len(list) != 1 || list[0].Type != iam.FactorTOTP {
			t.Fatalf("after removing the recovery codes: %+v", list)
		}
	})
}
