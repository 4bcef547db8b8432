package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/rampartiam/rampart/internal/oidc"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/token"
)

// TestProviderClock runs the cases that move the clock, on a harness of
// their own per backend: expired authorization requests and codes, and
// signing key rotation. They run in sequence on one clock.
func TestProviderClock(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			clock := testenv.NewClock(time.Now().UTC())
			keys := token.KeyOptions{Rotation: time.Hour, Lead: 10 * time.Minute, Refresh: 24 * time.Hour}
			h := newHarness(t, b, testenv.NewStore(t, b), harnessOptions{now: clock.Now, keys: keys})
			w := h.seed(t, "A", "tenant-a.test", true)
			start := clock.Now()
			t.Run("ExpiredAuthRequest", func(t *testing.T) { testExpiredAuthRequest(t, w, clock) })
			t.Run("ExpiredCode", func(t *testing.T) { testExpiredCode(t, w, clock) })
			t.Run("KeyRotation", func(t *testing.T) { testKeyRotation(t, w, clock, start) })
		})
	}
}

// testExpiredAuthRequest: a login request expires after
// token.AuthRequestLifetime.
func testExpiredAuthRequest(t *testing.T, w *world, clock *testenv.Clock) {
	r := w.h.get(t, w.oauth2Config(t, w.web, webRedirect, "openid").AuthCodeURL("st"), nil)
	id := r.location(t, w.issuer).Query().Get("authRequestID")
	clock.Add(token.AuthRequestLifetime + time.Second)
	r = w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"alice"}, "password": {password}}, w.sameOrigin())
	if r.status != http.StatusBadRequest || r.header.Get("Location") != "" || !strings.Contains(string(r.body), "expired") {
		t.Errorf("login on an expired request: %d %s", r.status, r.body)
	}
	if r := w.h.get(t, w.h.issuer(w.host)+"/oauth/authorize/callback?id="+id, nil); r.status < 400 || r.status >= 500 {
		t.Errorf("callback of an expired request: %d %s", r.status, r.body)
	}
}

// testExpiredCode: a code is redeemable for token.CodeLifetime.
func testExpiredCode(t *testing.T, w *world, clock *testenv.Clock) {
	cfg := w.oauth2Config(t, w.web, webRedirect, "openid")
	code := w.code(t, cfg, "alice")
	clock.Add(token.CodeLifetime + time.Second)
	r := w.h.post(t, w.issuer+oidc.PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}}, basic("web", w.web.secret))
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
}

// jwks fetches the published key IDs.
func (w *world) jwks(t *testing.T) []string {
	t.Helper()
	r := w.h.get(t, w.issuer+oidc.PathKeys, nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.body, &set); err != nil || r.status != http.StatusOK {
		t.Fatalf("JWKS: %d %s", r.status, r.body)
	}
	var ids []string
	for _, k := range set.Keys {
		ids = append(ids, k.KeyID)
	}
	return ids
}

// testKeyRotation: a successor key is published Lead before it signs;
// tokens of the old key verify with the JWKS until the key retires.
func testKeyRotation(t *testing.T, w *world, clock *testenv.Clock, start time.Time) {
	ctx := w.h.ctx(t)
	verify := func(tok string) error {
		// A fresh key set each time: no cached keys.
		_, err := gooidc.NewRemoteKeySet(ctx, w.issuer+oidc.PathKeys).VerifySignature(ctx, tok)
		return err
	}
	cc := func() string { return accessToken(t, w.clientCredentials(t, "api", w.api.secret)) }
	first := w.jwks(t)
	if len(first) != 1 {
		t.Fatalf("JWKS %v, want one key", first)
	}
	old := first[0]
	tok1 := cc()
	if kid := jwtHeaderKID(t, tok1); kid != old {
		t.Fatalf("signed with %s, want %s", kid, old)
	}

	// Within Lead of the end of the key's window: the successor is
	// published but does not sign yet.
	clock.Set(start.Add(time.Hour - 8*time.Minute))
	if err := w.h.keys.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	ids := w.jwks(t)
	if len(ids) != 2 || !slices.Contains(ids, old) {
		t.Fatalf("JWKS after Ensure %v, want the old key and its successor", ids)
	}
	next := ids[0]
	if next == old {
		next = ids[1]
	}
	tok2 := cc()
	if kid := jwtHeaderKID(t, tok2); kid != old {
		t.Errorf("the successor signs before its time: %s", kid)
	}
	// Ensure is idempotent.
	if err := w.h.keys.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := w.jwks(t); len(got) != 2 {
		t.Errorf("JWKS after a second Ensure %v", got)
	}

	// Past the old key's window and the lead: the successor signs, and the
	// old key's tokens still verify.
	clock.Set(start.Add(time.Hour + 11*time.Minute))
	tok3 := cc()
	if kid := jwtHeaderKID(t, tok3); kid != next {
		t.Errorf("signed with %s after the rotation, want %s", kid, next)
	}
	for i, tok := range []string{tok1, tok2, tok3} {
		if err := verify(tok); err != nil {
			t.Errorf("token %d does not verify after the rotation: %v", i+1, err)
		}
	}
	if err := w.h.provider.Ready(t.Context()); err != nil {
		t.Errorf("not ready after the rotation: %v", err)
	}

	// Once the old key retires (its tokens have all expired) it leaves the
	// JWKS.
	clock.Set(start.Add(time.Hour + token.MaxSignedTokenLifetime + time.Minute))
	if err := w.h.keys.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ids := w.jwks(t); slices.Contains(ids, old) || !slices.Contains(ids, next) {
		t.Errorf("JWKS after the old key retired: %v", ids)
	}
	if err := verify(tok1); err == nil {
		t.Error("a token of the retired key still verifies")
	}
	if err := verify(cc()); err != nil {
		t.Errorf("a new token does not verify: %v", err)
	}
}
