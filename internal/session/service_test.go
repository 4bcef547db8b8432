package session_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/session"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is one test's world: a store, the service on a test clock, an
// instance with two users and a second instance.
type env struct {
	t       *testing.T
	s       store.Store
	svc     *session.Service
	secrets *crypto.SecretHasher
	clock   *testenv.Clock
	in      *iam.Instance
	other   *iam.Instance
	alice   *iam.User
	bob     *iam.User
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
	e := &env{t: t, s: s, secrets: crypto.NewSecretHasher(crypto.NewKeyring(key)),
		clock: testenv.NewClock(time.Now().UTC().Truncate(time.Microsecond))}
	e.svc = session.New(s, session.Options{Secrets: e.secrets, Now: e.clock.Now})
	e.in, e.other = e.instance(), e.instance()
	e.alice, e.bob = e.user(e.in.ID, "alice"), e.user(e.in.ID, "bob")
	return e
}

func (e *env) instance() *iam.Instance {
	e.t.Helper()
	in, err := e.s.InstanceCreate(e.t.Context(), &store.InstanceCreateParams{
		Instance: &iam.Instance{ID: iam.NewID(), Name: "T", PrimaryDomain: iam.NewID()[24:] + ".example", State: iam.InstanceActive},
		Now:      time.Now(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

func (e *env) user(instanceID, login string) *iam.User {
	e.t.Helper()
	ctx := e.t.Context()
	o, err := e.s.OrgCreate(ctx, &store.OrgCreateParams{
		Org: &iam.Organization{ID: iam.NewID(), InstanceID: instanceID, Name: "Org " + iam.NewID(), State: iam.StateActive}, Now: time.Now(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := e.s.UserCreate(ctx, &store.UserCreateParams{User: &iam.User{
		ID: iam.NewID(), InstanceID: instanceID, OrgID: o.ID, Type: iam.UserHuman, LoginName: login, State: iam.UserActive,
		Human: &iam.HumanProfile{Email: login + "@example.com"},
	}, Now: time.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

var lifetimes = session.Lifetimes{Absolute: 8 * time.Hour, Idle: 30 * time.Minute}

func (e *env) create() (*iam.LoginSession, string) {
	e.t.Helper()
	sess, token, err := e.svc.Create(e.t.Context(), e.in.ID, session.Client{UserAgent: "test", IP: "192.0.2.1"}, lifetimes)
	if err != nil {
		e.t.Fatal(err)
	}
	return sess, token
}

func (e *env) get(token string, idle time.Duration) (*iam.LoginSession, error) {
	return e.svc.Get(e.t.Context(), e.in.ID, token, idle)
}

func (e *env) mustGet(token string) *iam.LoginSession {
	e.t.Helper()
	sess, err := e.get(token, lifetimes.Idle)
	if err != nil {
		e.t.Fatalf("get session: %v", err)
	}
	return sess
}

func (e *env) ended(what, token string) {
	e.t.Helper()
	if _, err := e.get(token, lifetimes.Idle); !iam.IsCode(err, iam.Unauthenticated) {
		e.t.Fatalf("%s: get = %v, want unauthenticated", what, err)
	}
}

func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) { fn(t, setup(t, s)) })
}

func TestCreateAndGet(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ua := "Mozilla/5.0\x00\n" + strings.Repeat("é", 400)
		sess, token, err := e.svc.Create(ctx, e.in.ID, session.Client{UserAgent: ua, IP: " 2001:db8::1 "}, lifetimes)
		if err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now().UTC().Truncate(time.Microsecond)
		if !strings.HasPrefix(token, "rls_") || len(token) < 40 {
			t.Fatalf("token %q", token)
		}
		if sess.UserID != "" || !sess.ExpiresAt.Equal(now.Add(8*time.Hour)) || !sess.IdleExpiresAt.Equal(now.Add(30*time.Minute)) ||
			sess.IP != "2001:db8::1" || len(sess.UserAgent) > iam.MaxUserAgentLength || strings.ContainsAny(sess.UserAgent, "\x00\n") {
			t.Fatalf("created %+v", sess)
		}
		// Only the keyed hash is stored.
		stored, _, err := e.s.SessionGetByTokenHash(ctx, &store.SessionGetByTokenHashParams{InstanceID: e.in.ID, TokenHash: e.secrets.Hash(token), Now: now})
		if err != nil || stored.ID != sess.ID || strings.Contains(string(stored.TokenHash), token) {
			t.Fatalf("stored %+v, %v", stored, err)
		}
		if got := e.mustGet(token); got.ID != sess.ID {
			t.Fatalf("get = %+v", got)
		}
		for name, tok := range map[string]string{
			"empty": "", "unknown": crypto.NewSecret("rls_"), "wrong prefix": "rpat_" + token[4:], "too long": token + strings.Repeat("x", 200),
		} {
			e.ended(name, tok)
		}
		if _, err := e.svc.Get(ctx, e.other.ID, token, time.Hour); !iam.IsCode(err, iam.Unauthenticated) {
			t.Fatalf("get through another instance = %v", err)
		}
		if _, _, err := e.svc.Create(ctx, e.in.ID, session.Client{}, session.Lifetimes{}); !iam.IsCode(err, iam.Internal) {
			t.Fatalf("create without lifetime = %v", err)
		}
		// No idle timeout: idle expiry is the absolute one.
		s2, _, err := e.svc.Create(ctx, e.in.ID, session.Client{}, session.Lifetimes{Absolute: time.Hour})
		if err != nil || !s2.IdleExpiresAt.Equal(s2.ExpiresAt) {
			t.Fatalf("create without idle timeout = %+v, %v", s2, err)
		}
	})
}

func TestSlidingIdleTimeout(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		_, token := e.create()
		// Within the touch interval a read is one round trip and writes
		// nothing.
		e.clock.Add(30 * time.Second)
		ctx, rt := store.WithRoundTrips(t.Context())
		sess, err := e.svc.Get(ctx, e.in.ID, token, lifetimes.Idle)
		if err != nil || rt.Load() != 1 || !sess.LastSeenAt.Equal(sess.CreatedAt) {
			t.Fatalf("read within the touch interval: %+v, %v, %d round trips", sess, err, rt.Load())
		}
		// Used every 20 minutes, it outlives its first idle expiry …
		for range 3 {
			e.clock.Add(20 * time.Minute)
			sess = e.mustGet(token)
			now := e.clock.Now().UTC().Truncate(time.Microsecond)
			if !sess.LastSeenAt.Equal(now) || !sess.IdleExpiresAt.Equal(now.Add(30*time.Minute)) {
				t.Fatalf("touched session %+v at %v", sess, now)
			}
		}
		// … and ends after 30 idle minutes.
		e.clock.Add(30 * time.Minute)
		e.ended("idle", token)

		// The absolute lifetime wins over any use.
		_, token = e.create()
		for range 8*3 - 1 {
			e.clock.Add(20 * time.Minute)
			sess = e.mustGet(token)
			if sess.IdleExpiresAt.After(sess.ExpiresAt) {
				t.Fatalf("idle expiry %v after the absolute one %v", sess.IdleExpiresAt, sess.ExpiresAt)
			}
		}
		e.clock.Add(20 * time.Minute)
		e.ended("absolute", token)

		// A shorter idle timeout (the policy changed) applies at the next
		// touch.
		_, token = e.create()
		e.clock.Add(2 * time.Minute)
		if sess, err := e.get(token, 5*time.Minute); err != nil || !sess.IdleExpiresAt.Equal(e.clock.Now().UTC().Truncate(time.Microsecond).Add(5*time.Minute)) {
			t.Fatalf("shorter idle timeout: %+v, %v", sess, err)
		}
	})
}

func TestAuthentication(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		sess, token := e.create()
		named, err := e.svc.SelectLoginName(ctx, e.in.ID, token, " Alice ")
		if err != nil || named.LoginName != "Alice" || named.UserID != "" {
			t.Fatalf("select login name = %+v, %v", named, err)
		}
		if _, err := e.svc.SelectLoginName(ctx, e.in.ID, token, "with space"); !iam.IsCode(err, iam.Invalid) {
			t.Fatalf("invalid login name = %v", err)
		}

		pwd, token2, err := e.svc.MarkPasswordVerified(ctx, e.in.ID, token, e.alice)
		if err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now().UTC().Truncate(time.Microsecond)
		if pwd.ID != sess.ID || pwd.UserID != e.alice.ID || pwd.LoginName != "alice" || !pwd.PasswordVerifiedAt.Equal(now) ||
			pwd.MFAVerified() || !slices.Equal(pwd.AMR, []string{"pwd"}) {
			t.Fatalf("after password: %+v", pwd)
		}
		if token2 == token {
			t.Fatal("token not rotated")
		}
		e.ended("old token after login", token)

		e.clock.Add(time.Minute)
		mfa, token3, err := e.svc.MarkMFAVerified(ctx, e.in.ID, token2, e.alice, iam.AMROTP)
		if err != nil {
			t.Fatal(err)
		}
		if !mfa.MFAVerified() || !mfa.PasswordVerified() || !slices.Equal(mfa.AMR, []string{"pwd", "otp", "mfa"}) ||
			!mfa.AuthTime().Equal(mfa.MFAVerifiedAt) {
			t.Fatalf("after second factor: %+v", mfa)
		}
		e.ended("token before the second factor", token2)
		if got := e.mustGet(token3); got.UserID != e.alice.ID {
			t.Fatalf("get = %+v", got)
		}

		// Another user cannot take over the session …
		if _, _, err := e.svc.MarkPasswordVerified(ctx, e.in.ID, token3, e.bob); !iam.IsCode(err, iam.FailedPrecondition) {
			t.Fatalf("other user's password on alice's session = %v", err)
		}
		other := e.user(e.other.ID, "carol")
		if _, _, err := e.svc.MarkPasswordVerified(ctx, e.in.ID, token3, other); !iam.IsCode(err, iam.Internal) {
			t.Fatalf("user of another instance = %v", err)
		}
		// … until the login name is switched, which drops alice's factors.
		switched, err := e.svc.SelectLoginName(ctx, e.in.ID, token3, "bob")
		if err != nil || switched.UserID != "" || switched.PasswordVerified() || switched.AMR != nil {
			t.Fatalf("switched = %+v, %v", switched, err)
		}
		same, err := e.svc.SelectLoginName(ctx, e.in.ID, token3, "BOB")
		if err != nil || same.LoginName != "BOB" {
			t.Fatalf("same name again = %+v, %v", same, err)
		}
		if _, _, err := e.svc.MarkPasswordVerified(ctx, e.in.ID, token3, e.bob); err != nil {
			t.Fatal(err)
		}

		// A passkey alone binds an anonymous session.
		_, anon := e.create()
		pk, pkToken, err := e.svc.MarkMFAVerified(ctx, e.in.ID, anon, e.bob, iam.AMRHardwareKey, iam.AMRUserPresence)
		if err != nil || pk.UserID != e.bob.ID || pk.PasswordVerified() || !slices.Equal(pk.AMR, []string{"hwk", "user"}) {
			t.Fatalf("passkey login = %+v, %v", pk, err)
		}
		// A password afterwards makes it multi-factor.
		both, _, err := e.svc.MarkPasswordVerified(ctx, e.in.ID, pkToken, e.bob)
		if err != nil || !slices.Equal(both.AMR, []string{"hwk", "user", "pwd", "mfa"}) {
			t.Fatalf("passkey then password = %+v, %v", both, err)
		}
	})
}

func TestInactiveUserEndsSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, token := e.create()
		_, token, err := e.svc.MarkPasswordVerified(ctx, e.in.ID, token, e.alice)
		if err != nil {
			t.Fatal(err)
		}
		locked := e.alice.Clone()
		locked.State = iam.UserLocked
		if _, err := e.s.UserUpdate(ctx, &store.UserUpdateParams{User: locked, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		e.ended("locked user", token)
	})
}

func TestLogout(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, token := e.create()
		if err := e.svc.Logout(ctx, e.in.ID, token); err != nil {
			t.Fatal(err)
		}
		e.ended("logged out", token)
		if err := e.svc.Logout(ctx, e.in.ID, token); err != nil {
			t.Fatalf("second logout = %v", err)
		}
		if err := e.svc.Logout(ctx, e.in.ID, "garbage"); err != nil {
			t.Fatalf("logout with garbage = %v", err)
		}

		login := func(u *iam.User) string {
			_, tok := e.create()
			_, tok, err := e.svc.MarkPasswordVerified(ctx, e.in.ID, tok, u)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		a1, a2, b1 := login(e.alice), login(e.alice), login(e.bob)
		_, anon := e.create()
		n, err := e.svc.LogoutEverywhere(ctx, "admin", e.in.ID, e.alice.ID)
		if err != nil || n != 2 {
			t.Fatalf("logout everywhere = %d, %v", n, err)
		}
		e.ended("alice's first session", a1)
		e.ended("alice's second session", a2)
		e.mustGet(b1)
		e.mustGet(anon)
		ev, err := e.s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: e.in.ID, EventType: iam.EventUserSessionsEnded})
		if err != nil || len(ev) != 1 || ev[0].AggregateID != e.alice.ID || ev[0].Actor != "admin" {
			t.Fatalf("events %+v, %v", ev, err)
		}
		var payload map[string]any
		if err := json.Unmarshal(ev[0].Payload, &payload); err != nil || payload["sessions"] != float64(2) {
			t.Fatalf("payload %s", ev[0].Payload)
		}
		if n, err := e.svc.LogoutEverywhere(ctx, "admin", e.in.ID, e.alice.ID); err != nil || n != 0 {
			t.Fatalf("again = %d, %v", n, err)
		}
		if ev, _ := e.s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: e.in.ID, EventType: iam.EventUserSessionsEnded}); len(ev) != 1 {
			t.Fatalf("nothing ended but %d events", len(ev))
		}
	})
}
