package oidc_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/oidc"
	"github.com/rampartiam/rampart/internal/user"
)

// audScope asks for the audience of a project (its resource servers).
func audScope(projectID string) string { return oidc.ScopeProjectPrefix + projectID + ":aud" }

// rolesScope asks for the user's roles of a project.
func rolesScope(projectID string) string { return oidc.ScopeProjectPrefix + projectID + ":roles" }

// revoke revokes a token (RFC 7009) as client a.
func (w *world) revoke(t *testing.T, a *app, tok, hint string) *response {
	t.Helper()
	form := url.Values{"token": {tok}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	var hdr http.Header
	if a.secret != "" {
		hdr = basic(a.ClientID, a.secret)
	} else {
		form.Set("client_id", a.ClientID)
	}
	return w.h.post(t, w.issuer+oidc.PathRevoke, form, hdr)
}

// testIntrospection: RFC 7662 for JWT and opaque tokens, with the rule
// that a resource only sees tokens meant for it as active.
func testIntrospection(t *testing.T, w, _ *world) {
	forAPI := w.tokens(t, w.web, webRedirect, "alice", "openid", audScope(w.apiProj.ID), rolesScope(w.apiProj.ID))
	m := w.introspect(t, w.api, forAPI.AccessToken)
	aud, _ := m["aud"].([]any)
	if !active(m) || m["sub"] != w.alice.ID || m["client_id"] != "web" || m["iss"] != w.issuer || !slices.Contains(aud, any(w.apiProj.ID)) || !slices.Contains(aud, any("api")) {
		t.Errorf("introspection of a token for the api: %v", m)
	}
	if m["token_type"] != "Bearer" || m["exp"] == nil || m["iat"] == nil || !strings.Contains(m["scope"].(string), audScope(w.apiProj.ID)) {
		t.Errorf("introspection fields: %v", m)
	}
	if roles, _ := m[oidc.ClaimRoles].(map[string]any); roles == nil || roles[w.apiProj.ID] == nil {
		t.Errorf("introspection roles: %v", m[oidc.ClaimRoles])
	}
	// A token not meant for the api is inactive for it, active for its
	// own client.
	notForAPI := w.tokens(t, w.web, webRedirect, "alice", "openid")
	if m := w.introspect(t, w.api, notForAPI.AccessToken); active(m) || len(m) != 1 {
		t.Errorf("a token for another audience: %v, want only active=false", m)
	}
	if !active(w.introspect(t, w.web, notForAPI.AccessToken)) {
		t.Error("the client's own token is inactive for it")
	}
	// Client credentials tokens, JWT and opaque.
	apiTok := accessToken(t, w.clientCredentials(t, "api", w.api.secret))
	if !active(w.introspect(t, w.api, apiTok)) || active(w.introspect(t, w.opaque, apiTok)) {
		t.Error("the api's own token: want active for the api only")
	}
	opaqueTok := accessToken(t, w.clientCredentials(t, "opaque", w.opaque.secret))
	if !active(w.introspect(t, w.opaque, opaqueTok)) || active(w.introspect(t, w.api, opaqueTok)) {
		t.Error("an opaque token: want active for its client only")
	}
	// Opaque user tokens (the webopaque app).
	op := w.tokens(t, w.webOpaque, webOpaqueRedirect, "alice", "openid", "email", audScope(w.apiProj.ID))
	if strings.Count(op.AccessToken, ".") == 2 {
		t.Fatalf("webopaque got a JWT access token")
	}
	if m := w.introspect(t, w.api, op.AccessToken); !active(m) || m["sub"] != w.alice.ID || m["client_id"] != "webopaque" {
		t.Errorf("introspection of an opaque user token: %v", m)
	}
	if r := w.userinfo(t, op.AccessToken); r.status != http.StatusOK || r.str("email") != "alice@example.com" {
		t.Errorf("userinfo with an opaque token: %d %s", r.status, r.body)
	}
	// Garbage and tampered tokens.
	tampered := forAPI.AccessToken[:len(forAPI.AccessToken)-4] + "AAAA"
	for _, tok := range []string{"garbage", tampered, strings.Repeat("x", 5000), opaqueTok + "x"} {
		if active(w.introspect(t, w.api, tok)) {
			t.Errorf("token %.20q… is active", tok)
		}
	}
	// The caller must authenticate (RFC 7662 §2.1).
	r := w.h.post(t, w.issuer+oidc.PathIntrospect, url.Values{"token": {forAPI.AccessToken}}, basic("api", "wrong"))
	if r.status != http.StatusUnauthorized || active(r.json()) {
		t.Errorf("introspection with a wrong secret: %d %s", r.status, r.body)
	}
	// Without an authentication attempt 400 is allowed (RFC 6749 §5.2).
	r = w.h.post(t, w.issuer+oidc.PathIntrospect, url.Values{"token": {forAPI.AccessToken}, "client_id": {"api"}}, nil)
	if (r.status != http.StatusUnauthorized && r.status != http.StatusBadRequest) || r.str("error") != "invalid_client" {
		t.Errorf("introspection without a secret: %d %s", r.status, r.body)
	}
	r = w.h.post(t, w.issuer+oidc.PathIntrospect, url.Values{}, basic("api", w.api.secret))
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
}

// testRevocation: RFC 7009 for JWT and opaque access tokens and refresh
// tokens; userinfo refuses revoked tokens.
func testRevocation(t *testing.T, w, _ *world) {
	t.Run("JWTAccessToken", func(t *testing.T) {
		t.Parallel()
		tok := w.tokens(t, w.web, webRedirect, "alice", "openid", "offline_access")
		// Another client may not revoke it.
		if r := w.revoke(t, w.api, tok.AccessToken, "access_token"); r.status == http.StatusOK {
			t.Errorf("another client revoked the token: %s", r.body)
		}
		if !active(w.introspect(t, w.web, tok.AccessToken)) {
			t.Fatal("token inactive before its revocation")
		}
		if r := w.revoke(t, w.web, tok.AccessToken, "access_token"); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		if active(w.introspect(t, w.web, tok.AccessToken)) {
			t.Error("revoked JWT still active")
		}
		if r := w.userinfo(t, tok.AccessToken); r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Errorf("userinfo with a revoked token: %d %v %s", r.status, r.header, r.body)
		}
		// Only that token: the grant's refresh token still works.
		if r := w.refresh(t, w.web, tok.RefreshToken); r.status != http.StatusOK {
			t.Errorf("refresh after revoking the access token: %d %s", r.status, r.body)
		}
	})
	t.Run("OpaqueAccessToken", func(t *testing.T) {
		t.Parallel()
		tok := accessToken(t, w.clientCredentials(t, "opaque", w.opaque.secret))
		if r := w.revoke(t, w.opaque, tok, ""); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		if active(w.introspect(t, w.opaque, tok)) {
			t.Error("revoked opaque token still active")
		}
	})
	t.Run("RefreshToken", func(t *testing.T) {
		t.Parallel()
		tok := w.tokens(t, w.web, webRedirect, "alice", "openid", "offline_access")
		// Another client may not revoke it.
		if r := w.revoke(t, w.api, tok.RefreshToken, "refresh_token"); r.status == http.StatusOK {
			t.Errorf("another client revoked the refresh token: %s", r.body)
		}
		if r := w.revoke(t, w.web, tok.RefreshToken, "refresh_token"); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		wantOAuthError(t, w.refresh(t, w.web, tok.RefreshToken), http.StatusBadRequest, "invalid_grant")
		// RFC 7009 §2.1: the grant's access tokens go with it.
		if active(w.introspect(t, w.web, tok.AccessToken)) {
			t.Error("access token of a revoked grant still active")
		}
		if r := w.userinfo(t, tok.AccessToken); r.status != http.StatusUnauthorized {
			t.Errorf("userinfo with a revoked grant's token: %d %s", r.status, r.body)
		}
	})
	t.Run("RefreshTokenWithAccessTokenHint", func(t *testing.T) {
		t.Parallel()
		// RFC 7009 §2.1: a wrong hint widens the search; it never makes
		// the revocation silently fail.
		tok := w.tokens(t, w.web, webRedirect, "alice", "openid", "offline_access")
		if r := w.revoke(t, w.web, tok.RefreshToken, "access_token"); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		wantOAuthError(t, w.refresh(t, w.web, tok.RefreshToken), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("OpaqueOfAnotherClient", func(t *testing.T) {
		t.Parallel()
		tok := accessToken(t, w.clientCredentials(t, "opaque", w.opaque.secret))
		if r := w.revoke(t, w.api, tok, ""); r.status == http.StatusOK {
			t.Errorf("another client revoked an opaque token: %s", r.body)
		}
		if !active(w.introspect(t, w.opaque, tok)) {
			t.Error("another client's revocation request revoked the opaque token")
		}
	})
	t.Run("UnknownToken", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{"unknown", "rrt_unknown", "a.b.c"} {
			if r := w.revoke(t, w.web, tok, ""); r.status != http.StatusOK {
				t.Errorf("revoke unknown %q: %d %s (RFC 7009 §2.2: 200)", tok, r.status, r.body)
			}
		}
		wantOAuthError(t, w.h.post(t, w.issuer+oidc.PathRevoke, url.Values{"token": {"x"}}, basic("web", "wrong")), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("Userinfo", func(t *testing.T) {
		t.Parallel()
		for _, hdr := range []http.Header{nil, bearer("garbage"), bearer("a.b.c")} {
			if r := w.h.get(t, w.issuer+oidc.PathUserinfo, hdr); r.status != http.StatusUnauthorized {
				t.Errorf("userinfo with %v: %d %s", hdr, r.status, r.body)
			}
		}
		// A client's own token has no user.
		tok := accessToken(t, w.clientCredentials(t, "api", w.api.secret))
		if r := w.userinfo(t, tok); r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
			t.Errorf("userinfo with a client's token: %d %s", r.status, r.body)
		}
	})
}

// testDeactivatedUser: a deactivated user's tokens are inactive at once.
func testDeactivatedUser(t *testing.T, w, _ *world) {
	tok := w.tokens(t, w.web, webRedirect, "carol", "openid", "offline_access")
	if !active(w.introspect(t, w.web, tok.AccessToken)) {
		t.Fatal("inactive before the deactivation")
	}
	ref := user.Ref{InstanceID: w.in.ID, ID: w.carol.ID}
	u, err := w.h.users.Get(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.h.users.SetState(t.Context(), iam.SystemActor, ref, u.Version, iam.UserInactive); err != nil {
		t.Fatal(err)
	}
	if active(w.introspect(t, w.web, tok.AccessToken)) {
		t.Error("a deactivated user's token is active")
	}
	if r := w.userinfo(t, tok.AccessToken); r.status != http.StatusUnauthorized {
		t.Errorf("userinfo of a deactivated user: %d %s", r.status, r.body)
	}
	wantOAuthError(t, w.refresh(t, w.web, tok.RefreshToken), http.StatusBadRequest, "invalid_grant")
}

// testForeignIssuer: instance A's tokens mean nothing at instance B.
func testForeignIssuer(t *testing.T, a, b *world) {
	tok := a.tokens(t, a.web, webRedirect, "alice", "openid", audScope(a.apiProj.ID))
	if !active(a.introspect(t, a.api, tok.AccessToken)) {
		t.Fatal("inactive at its own instance")
	}
	// B has apps with the same client IDs ("web", "api").
	if m := b.introspect(t, b.api, tok.AccessToken); active(m) {
		t.Errorf("A's token active at B: %v", m)
	}
	if m := b.introspect(t, b.web, tok.AccessToken); active(m) {
		t.Errorf("A's token active at B for the same client ID: %v", m)
	}
	if r := b.userinfo(t, tok.AccessToken); r.status != http.StatusUnauthorized {
		t.Errorf("A's token at B's userinfo: %d %s", r.status, r.body)
	}
	cc := accessToken(t, a.clientCredentials(t, "api", a.api.secret))
	if active(b.introspect(t, b.api, cc)) {
		t.Error("A's client token active at B")
	}
	// A's secrets, refresh tokens, codes, login requests and device codes
	// are unknown at B (B has a "web" app too).
	wantOAuthError(t, b.clientCredentials(t, "api", a.api.secret), http.StatusUnauthorized, "invalid_client")
	rt := a.tokens(t, a.web, webRedirect, "alice", "openid", "offline_access")
	wantOAuthError(t, b.refresh(t, b.web, rt.RefreshToken), http.StatusBadRequest, "invalid_grant")
	code := a.code(t, a.oauth2Config(t, a.web, webRedirect, "openid"), "alice")
	r := b.h.post(t, b.issuer+oidc.PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}}, basic("web", b.web.secret))
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	r = a.h.get(t, a.oauth2Config(t, a.web, webRedirect, "openid").AuthCodeURL("st"), nil)
	id := r.location(t, a.issuer).Query().Get("authRequestID")
	r = b.h.post(t, b.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"alice"}, "password": {password}}, b.sameOrigin())
	if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
		t.Errorf("A's login request at B: %d %s", r.status, r.body)
	}
	r = a.h.post(t, a.issuer+oidc.PathDeviceAuthz, url.Values{"client_id": {"device"}, "scope": {"openid"}}, nil)
	r = b.h.post(t, b.issuer+oidc.PathDevice, url.Values{"user_code": {r.str("user_code")}, "login_name": {"alice"}, "password": {password}, "decision": {"allow"}}, b.sameOrigin())
	if r.status != http.StatusBadRequest {
		t.Errorf("A's device code at B: %d %s", r.status, r.body)
	}
}

// testEndSession: RP-initiated logout with id_token_hint.
func testEndSession(t *testing.T, w, _ *world) {
	tok := w.tokens(t, w.web, webRedirect, "erin", "openid", "offline_access")
	other := w.tokens(t, w.spa, spaRedirect, "erin", "openid", "offline_access")
	hint, _ := tok.Extra("id_token").(string)
	endSession := func(q url.Values) *response {
		return w.h.get(t, w.issuer+oidc.PathEndSession+"?"+q.Encode(), nil)
	}
	// An unregistered post-logout URI is never redirected to.
	r := endSession(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {unregisteredRedir}, "state": {"st"}})
	if loc := r.header.Get("Location"); strings.Contains(loc, "evil.example") || r.status < 300 || r.status >= 500 {
		t.Errorf("unregistered post_logout_redirect_uri: %d Location %q %s", r.status, loc, r.body)
	}
	r = endSession(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webPostLogout}, "state": {"st"}})
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("end session: %d %s", r.status, r.body)
	}
	if loc := r.location(t, w.issuer); loc.Scheme+"://"+loc.Host+loc.Path != webPostLogout || loc.Query().Get("state") != "st" {
		t.Errorf("end session redirected to %s", loc)
	}
	wantOAuthError(t, w.refresh(t, w.web, tok.RefreshToken), http.StatusBadRequest, "invalid_grant")
	if active(w.introspect(t, w.web, tok.AccessToken)) {
		t.Error("access token active after end session")
	}
	// Only the grants of that client end.
	if r := w.refresh(t, w.spa, other.RefreshToken); r.status != http.StatusOK {
		t.Errorf("another client's refresh after end session: %d %s", r.status, r.body)
	}
	// Without a post-logout URI: the provider's own page.
	r = endSession(url.Values{"id_token_hint": {hint}})
	if loc := r.location(t, w.issuer); loc.Path != oidc.PathLoggedOut {
		t.Errorf("end session without post_logout_redirect_uri went to %s", loc)
	}
	if p := w.h.get(t, w.issuer+oidc.PathLoggedOut, nil); p.status != http.StatusOK {
		t.Errorf("logged-out page: %d", p.status)
	}
	// A hint that is no ID token of ours is refused.
	r = endSession(url.Values{"id_token_hint": {"garbage"}, "post_logout_redirect_uri": {webPostLogout}})
	if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
		t.Errorf("bad id_token_hint: %d %s", r.status, r.body)
	}
}

// adminClient calls the admin API's UserService with a bearer token.
func (w *world) listUsers(t *testing.T, tok string) (*adminv1.ListUsersResponse, error) {
	t.Helper()
	c := adminv1connect.NewUserServiceClient(w.h.client, w.issuer)
	req := connect.NewRequest(&adminv1.ListUsersRequest{})
	req.Header().Set("Authorization", "Bearer "+tok)
	res, err := c.ListUsers(t.Context(), req)
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// testAdminAPI: OIDC access tokens for the admin audience authenticate at
// the admin API.
func testAdminAPI(t *testing.T, w, b *world) {
	tok := w.tokens(t, w.web, webRedirect, "alice", "openid", oidc.ScopeAdmin)
	res, err := w.listUsers(t, tok.AccessToken)
	if err != nil {
		t.Fatalf("ListUsers with an admin token: %v", err)
	}
	if !slices.ContainsFunc(res.Users, func(u *adminv1.User) bool { return u.GetLoginName() == "alice" }) {
		t.Errorf("ListUsers: %v", res.Users)
	}
	unauthenticated := func(what, tok string, w *world) {
		t.Helper()
		if _, err := w.listUsers(t, tok); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("%s: %v, want unauthenticated", what, err)
		}
	}
	plain := w.tokens(t, w.web, webRedirect, "alice", "openid")
	unauthenticated("token without the admin audience", plain.AccessToken, w)
	unauthenticated("client token with the admin scope", accessToken(t, w.clientCredentials(t, "api", w.api.secret, oidc.ScopeAdmin)), w)
	unauthenticated("garbage", "garbage", w)
	unauthenticated("A's admin token at B", tok.AccessToken, b)
	// A machine user's admin token authenticates; without memberships it
	// may do nothing.
	svcTok := accessToken(t, w.clientCredentials(t, "svc", w.svcSecret, oidc.ScopeAdmin))
	if _, err := w.listUsers(t, svcTok); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("machine user without membership: %v, want permission denied", err)
	}
	if r := w.revoke(t, w.web, tok.AccessToken, "access_token"); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	unauthenticated("revoked admin token", tok.AccessToken, w)

	// Opaque admin tokens work alike.
	op := w.tokens(t, w.webOpaque, webOpaqueRedirect, "alice", "openid", oidc.ScopeAdmin)
	if _, err := w.listUsers(t, op.AccessToken); err != nil {
		t.Errorf("ListUsers with an opaque admin token: %v", err)
	}
	if r := w.revoke(t, w.webOpaque, op.AccessToken, ""); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	unauthenticated("revoked opaque admin token", op.AccessToken, w)
	plainOpaque := w.tokens(t, w.webOpaque, webOpaqueRedirect, "alice", "openid")
	unauthenticated("opaque token without the admin audience", plainOpaque.AccessToken, w)
}
