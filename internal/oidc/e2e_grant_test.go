package oidc_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/rampartiam/rampart/internal/oidc"
)

const (
	grantJWTBearer  = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	assertionType   = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// testRefreshRotation: every refresh rotates the token; presenting a used
// one (RFC 9700 §4.14.2) revokes the whole family, access tokens included.
func testRefreshRotation(t *testing.T, w, _ *world) {
	tok := w.tokens(t, w.web, webRedirect, "alice", "openid", "offline_access")
	r := w.refresh(t, w.web, tok.RefreshToken)
	at2, rt2 := accessToken(t, r), r.str("refresh_token")
	if rt2 == "" || rt2 == tok.RefreshToken {
		t.Fatalf("refresh did not rotate: %s", r.body)
	}
	if r.str("id_token") == "" {
		t.Error("a refresh with scope openid returns an ID token (OpenID Connect Core §12.2)")
	}
	r = w.refresh(t, w.web, rt2)
	at3, rt3 := accessToken(t, r), r.str("refresh_token")
	for _, at := range []string{tok.AccessToken, at2, at3} {
		if !active(w.introspect(t, w.web, at)) {
			t.Fatal("an access token of the family is inactive before the reuse")
		}
	}
	// Reuse of the first (used) token.
	wantOAuthError(t, w.refresh(t, w.web, tok.RefreshToken), http.StatusBadRequest, "invalid_grant")
	// The current one is revoked with the family.
	wantOAuthError(t, w.refresh(t, w.web, rt3), http.StatusBadRequest, "invalid_grant")
	for i, at := range []string{tok.AccessToken, at2, at3} {
		if active(w.introspect(t, w.web, at)) {
			t.Errorf("access token %d of the family is still active after the reuse", i+1)
		}
	}
	// A refresh may narrow the scope of its access token; the new refresh
	// token keeps the grant's scope (RFC 6749 §6).
	wide := w.tokens(t, w.web, webRedirect, "alice", "openid", "email", "offline_access")
	r = w.h.post(t, w.issuer+oidc.PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {wide.RefreshToken}, "scope": {"openid"}}, basic("web", w.web.secret))
	if c := unverifiedClaims(t, accessToken(t, r)); c["scope"] != "openid" {
		t.Errorf("narrowed access token scope %v", c["scope"])
	}
	r = w.refresh(t, w.web, r.str("refresh_token"))
	if c := unverifiedClaims(t, accessToken(t, r)); c["scope"] != "openid email offline_access" {
		t.Errorf("scope after a narrowed refresh %v, want the grant's", c["scope"])
	}
	// Another client cannot use a refresh token.
	other := w.tokens(t, w.web, webRedirect, "alice", "openid", "offline_access")
	wantOAuthError(t, w.refresh(t, w.spa, other.RefreshToken), http.StatusBadRequest, "invalid_grant")
	for _, bad := range []string{"rrt_unknown", "not-a-refresh-token", strings.Repeat("x", 300)} {
		wantOAuthError(t, w.refresh(t, w.web, bad), http.StatusBadRequest, "invalid_grant")
	}
}

// testClientCredentials: applications (secret, private_key_jwt, opaque
// tokens) and machine users (login name and secret).
func testClientCredentials(t *testing.T, w, _ *world) {
	ctx := w.h.ctx(t)
	keySet := gooidc.NewRemoteKeySet(ctx, w.issuer+oidc.PathKeys)
	t.Run("App", func(t *testing.T) {
		t.Parallel()
		cfg := clientcredentials.Config{ClientID: "api", ClientSecret: w.api.secret, TokenURL: w.issuer + oidc.PathToken, Scopes: []string{"openid", "profile"}}
		tok, err := cfg.Token(ctx)
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		if _, err := keySet.VerifySignature(ctx, tok.AccessToken); err != nil {
			t.Fatalf("signature: %v", err)
		}
		c := unverifiedClaims(t, tok.AccessToken)
		aud, _ := c["aud"].([]any)
		if c["sub"] != "api" || c["client_id"] != "api" || !slices.Contains(aud, any("api")) || !slices.Contains(aud, any(w.apiProj.ID)) {
			t.Errorf("claims %v", c)
		}
		if c["scope"] != "profile" || tok.RefreshToken != "" || tok.Extra("id_token") != nil {
			t.Errorf("scope %v, refresh %q, id_token %v: want no openid, no refresh and no ID token", c["scope"], tok.RefreshToken, tok.Extra("id_token"))
		}
		wantOAuthError(t, w.clientCredentials(t, "api", "wrong"), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("MachineUser", func(t *testing.T) {
		t.Parallel()
		cfg := clientcredentials.Config{ClientID: "svc", ClientSecret: w.svcSecret, TokenURL: w.issuer + oidc.PathToken, Scopes: []string{oidc.ScopeAdmin}}
		tok, err := cfg.Token(ctx)
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		if _, err := keySet.VerifySignature(ctx, tok.AccessToken); err != nil {
			t.Fatalf("signature: %v", err)
		}
		c := unverifiedClaims(t, tok.AccessToken)
		if aud, _ := c["aud"].([]any); c["sub"] != w.svc.ID || !slices.Contains(aud, any(oidc.AdminAudience)) {
			t.Errorf("claims %v", c)
		}
		wantOAuthError(t, w.clientCredentials(t, "svc", "wrong"), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, w.clientCredentials(t, "alice", password), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("PrivateKeyJWT", func(t *testing.T) {
		t.Parallel()
		post := func(claimsAud, keyID, iss string) *response {
			return w.h.post(t, w.issuer+oidc.PathToken, url.Values{
				"grant_type": {"client_credentials"}, "client_assertion_type": {assertionType},
				"client_assertion": {assertion(t, w.pkjwt.key, keyID, jwtClaims(iss, iss, claimsAud, time.Now(), time.Minute))},
			}, nil)
		}
		for _, aud := range []string{w.issuer, w.issuer + oidc.PathToken} {
			r := post(aud, w.pkjwt.keyID, "pkjwt")
			if c := unverifiedClaims(t, accessToken(t, r)); c["sub"] != "pkjwt" {
				t.Errorf("claims %v", c)
			}
		}
		// Wrong key ID, wrong audience, another client as issuer.
		wantOAuthError(t, post(w.issuer, "nokey", "pkjwt"), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, post("https://elsewhere.example", w.pkjwt.keyID, "pkjwt"), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, post(w.issuer, w.pkjwt.keyID, "api"), http.StatusUnauthorized, "invalid_client")
		// Signed by another key under the right key ID.
		r := w.h.post(t, w.issuer+oidc.PathToken, url.Values{
			"grant_type": {"client_credentials"}, "client_assertion_type": {assertionType},
			"client_assertion": {assertion(t, otherRSAKey(), w.pkjwt.keyID, jwtClaims("pkjwt", "pkjwt", w.issuer, time.Now(), time.Minute))},
		}, nil)
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
		// A secret is no way in for a private_key_jwt client.
		wantOAuthError(t, w.clientCredentials(t, "pkjwt", "anything"), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("Opaque", func(t *testing.T) {
		t.Parallel()
		tok := accessToken(t, w.clientCredentials(t, "opaque", w.opaque.secret))
		if strings.Count(tok, ".") == 2 {
			t.Fatalf("opaque app got a JWT: %s", tok)
		}
		m := w.introspect(t, w.opaque, tok)
		if !active(m) || m["sub"] != "opaque" || m["client_id"] != "opaque" {
			t.Errorf("introspection %v", m)
		}
	})
}

// testJWTBearer: the JWT bearer grant (RFC 7523 §2.1) for a machine user.
func testJWTBearer(t *testing.T, w, _ *world) {
	post := func(t *testing.T, assertionJWT, scope string) *response {
		return w.h.post(t, w.issuer+oidc.PathToken, url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertionJWT}, "scope": {scope}}, nil)
	}
	now := time.Now()
	good := assertion(t, w.svcKey, w.svcKeyID, jwtClaims(w.svc.ID, w.svc.ID, w.issuer, now, time.Minute))
	r := post(t, good, "openid profile "+oidc.ScopeAdmin)
	tok := accessToken(t, r)
	c := unverifiedClaims(t, tok)
	if aud, _ := c["aud"].([]any); c["sub"] != w.svc.ID || !slices.Contains(aud, any(oidc.AdminAudience)) || c["scope"] != "profile "+oidc.ScopeAdmin {
		t.Errorf("claims %v", c)
	}
	if _, err := gooidc.NewRemoteKeySet(w.h.ctx(t), w.issuer+oidc.PathKeys).VerifySignature(w.h.ctx(t), tok); err != nil {
		t.Errorf("signature: %v", err)
	}
	for name, bad := range map[string]string{
		"OtherKey":      assertion(t, otherRSAKey(), w.svcKeyID, jwtClaims(w.svc.ID, w.svc.ID, w.issuer, now, time.Minute)),
		"UnknownKey":    assertion(t, w.svcKey, "nokey", jwtClaims(w.svc.ID, w.svc.ID, w.issuer, now, time.Minute)),
		"Expired":       assertion(t, w.svcKey, w.svcKeyID, jwtClaims(w.svc.ID, w.svc.ID, w.issuer, now.Add(-time.Hour), time.Minute)),
		"WrongAudience": assertion(t, w.svcKey, w.svcKeyID, jwtClaims(w.svc.ID, w.svc.ID, "https://elsewhere.example", now, time.Minute)),
		"SubNotIss":     assertion(t, w.svcKey, w.svcKeyID, jwtClaims(w.svc.ID, w.alice.ID, w.issuer, now, time.Minute)),
		"HumanSubject":  assertion(t, w.svcKey, w.svcKeyID, jwtClaims(w.alice.ID, w.alice.ID, w.issuer, now, time.Minute)),
		"Garbage":       "not.a.jwt",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			wantOAuthError(t, post(t, bad, "openid"), http.StatusBadRequest, "invalid_grant")
		})
	}
	t.Run("MissingAssertion", func(t *testing.T) {
		t.Parallel()
		wantOAuthError(t, post(t, "", "openid"), http.StatusBadRequest, "invalid_request")
	})
}

// testDeviceFlow: the device authorization grant (RFC 8628) with
// x/oauth2's DeviceAuth and DeviceAccessToken and the device page.
func testDeviceFlow(t *testing.T, w, _ *world) {
	ctx := w.h.ctx(t)
	cfg := w.oauth2Config(t, w.device, "", "openid", "offline_access")
	decide := func(t *testing.T, userCode, decision string) *response {
		t.Helper()
		return w.h.post(t, w.issuer+oidc.PathDevice, url.Values{"user_code": {userCode}, "login_name": {"alice"}, "password": {password}, "decision": {decision}}, w.sameOrigin())
	}
	poll := func(t *testing.T, deviceCode string) *response {
		t.Helper()
		return w.h.post(t, w.issuer+oidc.PathToken, url.Values{"grant_type": {grantDeviceCode}, "device_code": {deviceCode}, "client_id": {"device"}}, nil)
	}
	t.Run("Allow", func(t *testing.T) {
		t.Parallel()
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatalf("device authorization: %v", err)
		}
		if da.VerificationURI != w.issuer+oidc.PathDevice || da.UserCode == "" || da.DeviceCode == "" {
			t.Fatalf("device authorization response %+v", da)
		}
		wantOAuthError(t, poll(t, da.DeviceCode), http.StatusBadRequest, "authorization_pending")
		page := w.h.get(t, da.VerificationURIComplete, nil)
		if page.status != http.StatusOK || !strings.Contains(string(page.body), da.UserCode) {
			t.Fatalf("device page: %d %s", page.status, page.body)
		}
		// The page accepts the code as typed: lower case, without the dash.
		typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
		if r := decide(t, typed, "allow"); r.status != http.StatusOK || !strings.Contains(string(r.body), "connected") {
			t.Fatalf("allow: %d %s", r.status, r.body)
		}
		// Approved before the first poll: the client's first poll (after
		// one interval) gets the tokens.
		da.Interval = 1
		tok, err := cfg.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatalf("device access token: %v", err)
		}
		if c := unverifiedClaims(t, tok.AccessToken); c["sub"] != w.alice.ID || c["client_id"] != "device" {
			t.Errorf("claims %v", c)
		}
		if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
			t.Errorf("want a refresh token and an ID token: %+v", tok)
		}
		if _, c := verifyIDToken(t, w, w.provider(t), "device", tok); c.Subject != w.alice.ID {
			t.Errorf("ID token sub %q", c.Subject)
		}
		// Tokens are handed out once.
		r := poll(t, da.DeviceCode)
		if r.status != http.StatusBadRequest || r.str("access_token") != "" || r.str("error") != "invalid_grant" {
			t.Errorf("second poll: %d %s", r.status, r.body)
		}
		if r := w.refresh(t, w.device, tok.RefreshToken); r.status != http.StatusOK {
			t.Errorf("refresh of the device's token: %d %s", r.status, r.body)
		}
	})
	t.Run("Deny", func(t *testing.T) {
		t.Parallel()
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r := decide(t, da.UserCode, "deny"); r.status != http.StatusOK || !strings.Contains(string(r.body), "denied") {
			t.Fatalf("deny: %d %s", r.status, r.body)
		}
		da.Interval = 1
		_, err = cfg.DeviceAccessToken(ctx, da)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
			t.Fatalf("device access token after deny: %v", err)
		}
		// A decided code cannot be decided again.
		if r := decide(t, da.UserCode, "allow"); r.status != http.StatusBadRequest {
			t.Errorf("second decision: %d %s", r.status, r.body)
		}
	})
	t.Run("UnknownCode", func(t *testing.T) {
		t.Parallel()
		for _, code := range []string{"BBBB-BBBB", "", strings.Repeat("Z", 40)} {
			r := decide(t, code, "allow")
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "unknown or has expired") {
				t.Errorf("unknown code %q: %d %s", code, r.status, r.body)
			}
		}
		wantOAuthError(t, poll(t, "unknown-device-code"), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := w.h.post(t, w.issuer+oidc.PathDevice, url.Values{"user_code": {da.UserCode}, "login_name": {"alice"}, "password": {"nope nope"}, "decision": {"allow"}}, w.sameOrigin())
		if r.status != http.StatusUnauthorized {
			t.Errorf("wrong password: %d %s", r.status, r.body)
		}
		wantOAuthError(t, poll(t, da.DeviceCode), http.StatusBadRequest, "authorization_pending")
		h := http.Header{}
		h.Set("Origin", "http://evil.test")
		r = w.h.post(t, w.issuer+oidc.PathDevice, url.Values{"user_code": {da.UserCode}, "login_name": {"alice"}, "password": {password}, "decision": {"allow"}}, h)
		if r.status != http.StatusForbidden {
			t.Errorf("cross-site device decision: %d %s", r.status, r.body)
		}
	})
	t.Run("UnknownScopes", func(t *testing.T) {
		t.Parallel()
		r := w.h.post(t, w.issuer+oidc.PathDeviceAuthz, url.Values{"client_id": {"device"}, "scope": {"openid bogus urn:rampart:nope"}}, nil)
		if r.status != http.StatusOK {
			t.Fatalf("device authorization: %d %s", r.status, r.body)
		}
		decide(t, r.str("user_code"), "allow")
		tok := accessToken(t, poll(t, r.str("device_code")))
		if c := unverifiedClaims(t, tok); c["scope"] != "openid" {
			t.Errorf("device token scope %v, want unknown scopes dropped", c["scope"])
		}
	})
	t.Run("NotEnabled", func(t *testing.T) {
		t.Parallel()
		r := w.h.post(t, w.issuer+oidc.PathDeviceAuthz, url.Values{"scope": {"openid"}}, basic("web", w.web.secret))
		wantOAuthError(t, r, http.StatusBadRequest, "unauthorized_client")
	})
}

// testTokenEndpointErrors: RFC 6749 §5.2 errors of the token endpoint.
func testTokenEndpointErrors(t *testing.T, w, _ *world) {
	tokenURL := w.issuer + oidc.PathToken
	cases := []struct {
		name   string
		form   url.Values
		header http.Header
		status int
		code   string
	}{
		{"UnsupportedGrant", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {password}}, basic("web", w.web.secret), 400, "unsupported_grant_type"},
		{"TokenExchange", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {"x"}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}, basic("web", w.web.secret), 400, "unsupported_grant_type"},
		{"MissingGrant", url.Values{}, basic("web", w.web.secret), 400, "invalid_request"},
		{"ClientCredentialsForWeb", url.Values{"grant_type": {"client_credentials"}}, basic("web", w.web.secret), 400, "unauthorized_client"},
		{"ClientCredentialsForPublic", url.Values{"grant_type": {"client_credentials"}, "client_id": {"native"}}, nil, 400, "unauthorized_client"},
		{"CodeForAPI", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {webRedirect}}, basic("api", w.api.secret), 400, "unauthorized_client"},
		{"RefreshForAPI", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rrt_x"}}, basic("api", w.api.secret), 400, "unauthorized_client"},
		{"DeviceForWeb", url.Values{"grant_type": {grantDeviceCode}, "device_code": {"x"}}, basic("web", w.web.secret), 400, "unauthorized_client"},
		{"CodeMissing", url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {webRedirect}}, basic("web", w.web.secret), 400, "invalid_request"},
		{"RedirectMissing", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, basic("web", w.web.secret), 400, "invalid_request"},
		{"RefreshMissing", url.Values{"grant_type": {"refresh_token"}}, basic("web", w.web.secret), 400, "invalid_request"},
		{"UnknownCode", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {webRedirect}}, basic("web", w.web.secret), 400, "invalid_grant"},
		{"NoClient", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {webRedirect}}, nil, 400, "invalid_request"},
		{"TwoAuthMethods", url.Values{"grant_type": {"client_credentials"}, "client_id": {"api"}, "client_secret": {w.api.secret}}, basic("api", w.api.secret), 400, "invalid_request"},
		{"BadAssertionType", url.Values{"grant_type": {"client_credentials"}, "client_assertion": {"x"}, "client_assertion_type": {"nope"}}, nil, 400, "invalid_request"},
		{"PublicClientSecretless", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {spaRedirect}, "client_id": {"spa"}}, nil, 400, "invalid_grant"},
		// The registered token_endpoint_auth_method is enforced: api is
		// client_secret_basic, so its secret in the body is refused.
		{"BasicClientSecretInBody", url.Values{"grant_type": {"client_credentials"}, "client_id": {"api"}, "client_secret": {w.api.secret}}, nil, 401, "invalid_client"},
		{"PostClientSecretInHeader", url.Values{"grant_type": {"client_credentials"}}, basic("post", w.post.secret), 401, "invalid_client"},
		{"ConfidentialWithoutSecret", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {webRedirect}, "client_id": {"web"}}, nil, 401, "invalid_client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			wantOAuthError(t, w.h.post(t, tokenURL, c.form, c.header), c.status, c.code)
		})
	}
	t.Run("PostClientSecretInBody", func(t *testing.T) {
		t.Parallel()
		r := w.h.post(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"post"}, "client_secret": {w.post.secret}}, nil)
		if r.status != http.StatusOK || r.str("access_token") == "" {
			t.Errorf("client_secret_post: %d %s", r.status, r.body)
		}
	})
	t.Run("OversizedBody", func(t *testing.T) {
		t.Parallel()
		r := w.h.post(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "pad": {strings.Repeat("a", 70<<10)}}, basic("api", w.api.secret))
		if r.status != http.StatusBadRequest && r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: %d %s", r.status, r.body)
		}
	})
	t.Run("NotInTheURI", func(t *testing.T) {
		t.Parallel()
		// RFC 6749 §3.2: POST only; §2.3.1: credentials never in the URI.
		for _, path := range []string{oidc.PathToken, oidc.PathIntrospect, oidc.PathRevoke, oidc.PathDeviceAuthz} {
			r := w.h.get(t, w.issuer+path+"?grant_type=client_credentials&token=x", basic("api", w.api.secret))
			wantOAuthError(t, r, http.StatusMethodNotAllowed, "invalid_request")
			r = w.h.post(t, w.issuer+path+"?client_secret="+url.QueryEscape(w.api.secret), url.Values{"grant_type": {"client_credentials"}, "client_id": {"api"}, "token": {"x"}}, nil)
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
		}
	})
}
