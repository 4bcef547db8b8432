package oidc_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/login"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/oidc"
	"github.com/rampartiam/rampart/internal/user"
)

// idClaims are the claims the tests read from ID tokens and userinfo.
type idClaims struct {
	Subject           string              `json:"sub"`
	Email             string              `json:"email"`
	EmailVerified     bool                `json:"email_verified"`
	Name              string              `json:"name"`
	PreferredUsername string              `json:"preferred_username"`
	Nonce             string              `json:"nonce"`
	Roles             map[string][]string `json:"urn:rampart:roles"`
}

// verifyIDToken verifies the ID token of tok with go-oidc for clientID.
func verifyIDToken(t *testing.T, w *world, p *gooidc.Provider, clientID string, tok *oauth2.Token) (*gooidc.IDToken, idClaims) {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no id_token in the token response")
	}
	idt, err := p.VerifierContext(w.h.ctx(t), &gooidc.Config{ClientID: clientID}).Verify(w.h.ctx(t), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return idt, c
}

// testCodeFlow: the authorization code flow with PKCE for a confidential
// web app, a public SPA and a native app on a loopback port; ID token,
// userinfo and refresh with the client libraries; claims by scope.
func testCodeFlow(t *testing.T, w, _ *world) {
	t.Run("Web", func(t *testing.T) {
		t.Parallel()
		ctx := w.h.ctx(t)
		p := w.provider(t)
		cfg := w.oauth2Config(t, w.web, webRedirect, gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess, oidc.ScopeOwnProjectRoles)
		if p.Endpoint().TokenURL != cfg.Endpoint.TokenURL || p.Endpoint().AuthURL != cfg.Endpoint.AuthURL {
			t.Fatalf("discovery endpoints %+v, want %+v", p.Endpoint(), cfg.Endpoint)
		}
		verifier, nonce := oauth2.GenerateVerifier(), rand.Text()
		code := w.code(t, cfg, "alice", oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce))
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		idt, c := verifyIDToken(t, w, p, "web", tok)
		if c.Nonce != nonce || idt.Subject != w.alice.ID {
			t.Errorf("ID token nonce %q sub %q, want %q %q", c.Nonce, idt.Subject, nonce, w.alice.ID)
		}
		if !slices.Contains(idt.Audience, "web") || !slices.Contains(idt.Audience, w.proj.ID) {
			t.Errorf("ID token aud %v, want the client and its project", idt.Audience)
		}
		if c.Email != "alice@example.com" || !c.EmailVerified || c.Name != "Alice Example" || c.PreferredUsername != "alice" {
			t.Errorf("ID token claims %+v", c)
		}
		if got := c.Roles[w.proj.ID]; !slices.Equal(got, []string{"reader"}) || len(c.Roles) != 1 {
			t.Errorf("ID token roles %v, want {%s: [reader]}", c.Roles, w.proj.ID)
		}
		if tok.RefreshToken == "" || !strings.HasPrefix(tok.RefreshToken, "rrt_") {
			t.Errorf("refresh token %q, want one (offline_access)", tok.RefreshToken)
		}
		at := unverifiedClaims(t, tok.AccessToken)
		if at["sub"] != w.alice.ID || at["client_id"] != "web" || at["iss"] != w.issuer {
			t.Errorf("access token claims %v", at)
		}
		if r, ok := at[oidc.ClaimRoles].(map[string]any); !ok || r[w.proj.ID] == nil {
			t.Errorf("access token roles %v", at[oidc.ClaimRoles])
		}
		// The access token verifies with the JWKS.
		if _, err := gooidc.NewRemoteKeySet(ctx, w.issuer+oidc.PathKeys).VerifySignature(ctx, tok.AccessToken); err != nil {
			t.Errorf("access token signature: %v", err)
		}

		ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		var uc idClaims
		if err := ui.Claims(&uc); err != nil {
			t.Fatal(err)
		}
		if ui.Subject != w.alice.ID || ui.Email != "alice@example.com" || !ui.EmailVerified || !slices.Equal(uc.Roles[w.proj.ID], []string{"reader"}) {
			t.Errorf("userinfo %+v %+v", ui, uc)
		}

		// TokenSource refreshes an expired token (rotation).
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		next, err := cfg.TokenSource(ctx, &expired).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if next.AccessToken == tok.AccessToken || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
			t.Errorf("refresh did not rotate: %+v", next)
		}
		if _, c2 := verifyIDToken(t, w, p, "web", next); c2.Subject != w.alice.ID || c2.Email != c.Email {
			t.Errorf("refreshed ID token claims %+v", c2)
		}
		if _, err := p.UserInfo(ctx, oauth2.StaticTokenSource(next)); err != nil {
			t.Errorf("userinfo with the refreshed token: %v", err)
		}
	})

	t.Run("ClaimsByScope", func(t *testing.T) {
		t.Parallel()
		ctx := w.h.ctx(t)
		p := w.provider(t)
		for _, c := range []struct {
			scopes             []string
			wantEmail, wantNam bool
		}{
			{[]string{"openid"}, false, false},
			{[]string{"openid", "email"}, true, false},
			{[]string{"openid", "profile"}, false, true},
		} {
			tok := w.tokens(t, w.web, webRedirect, "alice", c.scopes...)
			if tok.RefreshToken != "" {
				t.Errorf("scopes %v: refresh token without offline_access", c.scopes)
			}
			_, idc := verifyIDToken(t, w, p, "web", tok)
			ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var uc idClaims
			_ = ui.Claims(&uc)
			for what, got := range map[string]idClaims{"ID token": idc, "userinfo": uc} {
				if (got.Email != "") != c.wantEmail || (got.Name != "") != c.wantNam {
					t.Errorf("scopes %v: %s claims %+v", c.scopes, what, got)
				}
				if got.Roles != nil {
					t.Errorf("scopes %v: %s has roles %v without a roles scope", c.scopes, what, got.Roles)
				}
			}
		}
	})

	t.Run("SPA", func(t *testing.T) {
		t.Parallel()
		tok := w.tokens(t, w.spa, spaRedirect, "alice", "openid", "offline_access")
		_, c := verifyIDToken(t, w, w.provider(t), "spa", tok)
		if c.Subject != w.alice.ID || tok.RefreshToken == "" {
			t.Errorf("spa tokens: %+v %+v", c, tok)
		}
		// A public client refreshes with its client ID alone.
		if r := w.refresh(t, w.spa, tok.RefreshToken); r.status != http.StatusOK {
			t.Errorf("spa refresh: %d %s", r.status, r.body)
		}
	})

	t.Run("NativeLoopback", func(t *testing.T) {
		t.Parallel()
		// RFC 8252 §7.3: any port on the registered loopback redirect.
		redirect := "http://127.0.0.1:49152/cb"
		tok := w.tokens(t, w.native, redirect, "alice", "openid")
		if _, c := verifyIDToken(t, w, w.provider(t), "native", tok); c.Subject != w.alice.ID {
			t.Errorf("native ID token sub %q", c.Subject)
		}
	})

	t.Run("PrivateKeyJWTCode", func(t *testing.T) {
		t.Parallel()
		// A confidential client authenticating with private_key_jwt
		// (RFC 7523 §2.2) redeems its code with a client assertion.
		cfg := w.oauth2Config(t, w.pkjwt, pkjwtRedirect, "openid")
		code := w.code(t, cfg, "alice")
		now := time.Now()
		r := w.h.post(t, w.issuer+oidc.PathToken, url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {pkjwtRedirect},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion(t, w.pkjwt.key, w.pkjwt.keyID, jwtClaims("pkjwt", "pkjwt", w.issuer+oidc.PathToken, now, time.Minute))},
		}, nil)
		if r.status != http.StatusOK || r.str("id_token") == "" {
			t.Fatalf("code exchange with private_key_jwt: %d %s", r.status, r.body)
		}
	})
}

// authorizeURL builds an /oauth/authorize URL by hand.
func (w *world) authorizeURL(q url.Values) string {
	return w.issuer + oidc.PathAuthorize + "?" + q.Encode()
}

// errorRedirect asserts an error redirect (RFC 6749 §4.1.2.1) to redirect.
func errorRedirect(t *testing.T, r *response, base, redirect, code, state string) {
	t.Helper()
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("got %d %s, want an error redirect", r.status, r.body)
	}
	u := r.location(t, base)
	if got := u.Scheme + "://" + u.Host + u.Path; got != redirect || u.Query().Get("error") != code || u.Query().Get("state") != state {
		t.Fatalf("redirected to %s, want %s with error=%s and the state", u, redirect, code)
	}
}

// noRedirect asserts that the authorization endpoint answered itself,
// redirecting nowhere.
func noRedirect(t *testing.T, r *response) {
	t.Helper()
	if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
		t.Fatalf("got %d (Location %q) %s, want 400 without a redirect", r.status, r.header.Get("Location"), r.body)
	}
}

// testCodeFlowNegative: every way the code flow must refuse.
func testCodeFlowNegative(t *testing.T, w, _ *world) {
	ctx := w.h.ctx(t)
	webCfg := func(scopes ...string) *oauth2.Config {
		return w.oauth2Config(t, w.web, webRedirect, append([]string{"openid"}, scopes...)...)
	}
	exchangeErr := func(t *testing.T, cfg *oauth2.Config, code string, opts ...oauth2.AuthCodeOption) {
		t.Helper()
		_, err := cfg.Exchange(ctx, code, opts...)
		re, ok := err.(*oauth2.RetrieveError)
		if !ok || re.ErrorCode != "invalid_grant" || re.Response.StatusCode != http.StatusBadRequest {
			t.Fatalf("exchange: %v, want invalid_grant", err)
		}
	}

	t.Run("PKCEMismatch", func(t *testing.T) {
		t.Parallel()
		cfg := webCfg()
		code := w.code(t, cfg, "alice", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		exchangeErr(t, cfg, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	})
	t.Run("MissingVerifier", func(t *testing.T) {
		t.Parallel()
		cfg := webCfg()
		code := w.code(t, cfg, "alice", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		_, err := cfg.Exchange(ctx, code)
		if re, ok := err.(*oauth2.RetrieveError); !ok || (re.ErrorCode != "invalid_request" && re.ErrorCode != "invalid_grant") {
			t.Fatalf("exchange without the verifier: %v, want invalid_request or invalid_grant", err)
		}
	})
	t.Run("VerifierWithoutChallenge", func(t *testing.T) {
		t.Parallel()
		cfg := webCfg()
		code := w.code(t, cfg, "alice")
		exchangeErr(t, cfg, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	})
	t.Run("ConfidentialWithoutPKCE", func(t *testing.T) {
		t.Parallel()
		// PKCE is optional for this confidential client.
		cfg := webCfg()
		if _, err := cfg.Exchange(ctx, w.code(t, cfg, "alice")); err != nil {
			t.Fatalf("exchange without PKCE: %v", err)
		}
	})
	t.Run("PlainChallengeMethod", func(t *testing.T) {
		t.Parallel()
		r := w.h.get(t, w.authorizeURL(url.Values{"client_id": {"web"}, "redirect_uri": {webRedirect}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"s1"}, "code_challenge": {oauth2.GenerateVerifier()}, "code_challenge_method": {"plain"}}), nil)
		errorRedirect(t, r, w.issuer, webRedirect, "invalid_request", "s1")
	})
	t.Run("PublicClientWithoutChallenge", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ client, redirect string }{{"spa", spaRedirect}, {"native", nativeRedirect}} {
			r := w.h.get(t, w.authorizeURL(url.Values{"client_id": {c.client}, "redirect_uri": {c.redirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"st"}}), nil)
			errorRedirect(t, r, w.issuer, c.redirect, "invalid_request", "st")
		}
	})
	t.Run("CodeReplay", func(t *testing.T) {
		t.Parallel()
		cfg := webCfg("offline_access")
		verifier := oauth2.GenerateVerifier()
		code := w.code(t, cfg, "alice", oauth2.S256ChallengeOption(verifier))
		first, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if !active(w.introspect(t, w.web, first.AccessToken)) {
			t.Fatal("the first exchange's access token is inactive before the replay")
		}
		exchangeErr(t, cfg, code, oauth2.VerifierOption(verifier))
		// RFC 6749 §4.1.2: the tokens issued from the code are revoked.
		if active(w.introspect(t, w.web, first.AccessToken)) {
			t.Error("the first exchange's access token is still active after the replay")
		}
		wantOAuthError(t, w.refresh(t, w.web, first.RefreshToken), http.StatusBadRequest, "invalid_grant")
		if r := w.userinfo(t, first.AccessToken); r.status != http.StatusUnauthorized {
			t.Errorf("userinfo after the replay: %d %s", r.status, r.body)
		}
	})
	t.Run("CodeOfAnotherClient", func(t *testing.T) {
		t.Parallel()
		verifier := oauth2.GenerateVerifier()
		code := w.code(t, webCfg(), "alice", oauth2.S256ChallengeOption(verifier))
		// The SPA (public: no secret needed) presents the web app's code.
		exchangeErr(t, w.oauth2Config(t, w.spa, webRedirect), code, oauth2.VerifierOption(verifier))
	})
	t.Run("WrongRedirectAtToken", func(t *testing.T) {
		t.Parallel()
		verifier := oauth2.GenerateVerifier()
		code := w.code(t, webCfg(), "alice", oauth2.S256ChallengeOption(verifier))
		other := webCfg()
		other.RedirectURL = "https://web.example/other"
		exchangeErr(t, other, code, oauth2.VerifierOption(verifier))
	})
	t.Run("UnregisteredRedirect", func(t *testing.T) {
		t.Parallel()
		for _, redirect := range []string{unregisteredRedir, webRedirect + "/x", webRedirect + "?a=b", "http://127.0.0.1:1/cb", "", "javascript:alert(1)"} {
			r := w.h.get(t, w.authorizeURL(url.Values{"client_id": {"web"}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"x"}}), nil)
			noRedirect(t, r)
		}
		// Not even for a native client: only the registered loopback path.
		noRedirect(t, w.h.get(t, w.authorizeURL(url.Values{"client_id": {"native"}, "redirect_uri": {"http://127.0.0.1:5000/other"}, "response_type": {"code"}, "scope": {"openid"}}), nil))
		// RFC 8252 §7.3 lets only the port vary: not the scheme, the host
		// (another loopback address, "localhost") or user info.
		for _, redirect := range []string{"http://localhost/cb", "https://127.0.0.1/cb", "http://127.0.0.2/cb", "http://[::1]/cb", "http://user@127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb?x=1"} {
			noRedirect(t, w.h.get(t, w.authorizeURL(url.Values{"client_id": {"native"}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"}}), nil))
		}
	})
	t.Run("UnknownClientAtAuthorize", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{"nope", "", strings.Repeat("x", 300)} {
			noRedirect(t, w.h.get(t, w.authorizeURL(url.Values{"client_id": {id}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"}}), nil))
		}
	})
	t.Run("WrongClientSecret", func(t *testing.T) {
		t.Parallel()
		verifier := oauth2.GenerateVerifier()
		code := w.code(t, webCfg(), "alice", oauth2.S256ChallengeOption(verifier))
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}, "code_verifier": {verifier}}
		wantOAuthError(t, w.h.post(t, w.issuer+oidc.PathToken, form, basic("web", "wrong")), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, w.h.post(t, w.issuer+oidc.PathToken, form, basic("web", "")), http.StatusUnauthorized, "invalid_client")
		// The code survives a failed client authentication.
		if r := w.h.post(t, w.issuer+oidc.PathToken, form, basic("web", w.web.secret)); r.status != http.StatusOK {
			t.Errorf("exchange after a failed client authentication: %d %s", r.status, r.body)
		}
	})
	t.Run("UnknownClientAtToken", func(t *testing.T) {
		t.Parallel()
		form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {webRedirect}}
		wantOAuthError(t, w.h.post(t, w.issuer+oidc.PathToken, form, basic("nope", "secret")), http.StatusUnauthorized, "invalid_client")
		form.Set("client_id", "nope")
		wantOAuthError(t, w.h.post(t, w.issuer+oidc.PathToken, form, nil), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("Scopes", func(t *testing.T) {
		t.Parallel()
		// Unknown scopes are dropped, not granted.
		tok := w.tokens(t, w.web, webRedirect, "alice", "openid", "offline_access", "bogus", "urn:rampart:project::aud", "urn:rampart:nope")
		at := unverifiedClaims(t, tok.AccessToken)
		if got := at["scope"]; got != "openid offline_access" {
			t.Errorf("granted scope %q, want the known scopes only", got)
		}
		// A refresh may narrow the scope but never widen it (RFC 6749 §6).
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {"openid email"}}
		wantOAuthError(t, w.h.post(t, w.issuer+oidc.PathToken, form, basic("web", w.web.secret)), http.StatusBadRequest, "invalid_scope")
		// An authorization request without scope is refused (to the client).
		r := w.h.get(t, w.authorizeURL(url.Values{"client_id": {"web"}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "state": {"s"}}), nil)
		errorRedirect(t, r, w.issuer, webRedirect, "invalid_request", "s")
	})
	t.Run("MalformedAuthorize", func(t *testing.T) {
		t.Parallel()
		r := w.h.get(t, w.authorizeURL(url.Values{"client_id": {"web"}, "redirect_uri": {webRedirect}, "scope": {"openid"}, "state": {"s"}}), nil)
		errorRedirect(t, r, w.issuer, webRedirect, "invalid_request", "s")
		r = w.h.get(t, w.authorizeURL(url.Values{"client_id": {"web"}, "redirect_uri": {webRedirect}, "response_type": {"token"}, "scope": {"openid"}, "state": {"s"}}), nil)
		errorRedirect(t, r, w.issuer, webRedirect, "unauthorized_client", "s")
		r = w.h.get(t, w.authorizeURL(url.Values{"client_id": {"web"}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}, "prompt": {"none"}}), nil)
		errorRedirect(t, r, w.issuer, webRedirect, "login_required", "s")
		r = w.h.get(t, w.authorizeURL(url.Values{"client_id": {"web"}, "redirect_uri": {webRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}, "request": {"eyJhbGciOiJub25lIn0.e30."}}), nil)
		errorRedirect(t, r, w.issuer, webRedirect, "request_not_supported", "s")
		// The device-only client has no redirect URI at all.
		noRedirect(t, w.h.get(t, w.authorizeURL(url.Values{"client_id": {"device"}, "redirect_uri": {nativeRedirect}, "response_type": {"code"}, "scope": {"openid"}}), nil))
	})
}

// testLoginPage: the minimal login page's protections and failures.
func testLoginPage(t *testing.T, w, _ *world) {
	start := func(t *testing.T) string {
		t.Helper()
		r := w.h.get(t, w.oauth2Config(t, w.web, webRedirect, "openid").AuthCodeURL("st"), nil)
		return r.location(t, w.issuer).Query().Get("authRequestID")
	}
	form := func(id, pw string) url.Values {
		return url.Values{"authRequestID": {id}, "login_name": {"alice"}, "password": {pw}}
	}
	t.Run("CrossSite", func(t *testing.T) {
		t.Parallel()
		id := start(t)
		h := http.Header{}
		h.Set("Origin", "http://evil.test")
		r := w.h.post(t, w.issuer+oidc.PathLogin, form(id, password), h)
		if r.status != http.StatusForbidden || r.header.Get("Location") != "" {
			t.Errorf("cross-origin POST: %d %s", r.status, r.body)
		}
		h = http.Header{}
		h.Set("Sec-Fetch-Site", "cross-site")
		if r := w.h.post(t, w.issuer+oidc.PathLogin, form(id, password), h); r.status != http.StatusForbidden {
			t.Errorf("cross-site POST: %d %s", r.status, r.body)
		}
		// The request is still usable from the page itself.
		if r := w.h.post(t, w.issuer+oidc.PathLogin, form(id, password), w.sameOrigin()); r.status != http.StatusSeeOther {
			t.Errorf("same-origin POST: %d %s", r.status, r.body)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		id := start(t)
		for _, f := range []url.Values{form(id, "wrong password"), {"authRequestID": {id}, "login_name": {"nobody"}, "password": {password}}, {"authRequestID": {id}, "login_name": {"svc"}, "password": {password}}} {
			r := w.h.post(t, w.issuer+oidc.PathLogin, f, w.sameOrigin())
			if r.status != http.StatusUnauthorized || r.header.Get("Location") != "" || !strings.Contains(string(r.body), "login name or password is wrong") {
				t.Errorf("wrong credentials: %d %q %s", r.status, r.header.Get("Location"), r.body)
			}
			if !strings.Contains(string(r.body), `value="`+id+`"`) {
				t.Error("the page does not keep the login request")
			}
		}
	})
	t.Run("UnknownRequest", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{"", "nope", strings.Repeat("a", 100)} {
			if r := w.h.get(t, w.issuer+oidc.PathLogin+"?authRequestID="+url.QueryEscape(id), nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "invalid or has expired") {
				t.Errorf("unknown request %q: %d %s", id, r.status, r.body)
			}
		}
	})
	t.Run("CompletedTwice", func(t *testing.T) {
		t.Parallel()
		id := start(t)
		if r := w.h.post(t, w.issuer+oidc.PathLogin, form(id, password), w.sameOrigin()); r.status != http.StatusSeeOther {
			t.Fatalf("login: %d %s", r.status, r.body)
		}
		if r := w.h.post(t, w.issuer+oidc.PathLogin, form(id, password), w.sameOrigin()); r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
			t.Errorf("second login: %d %s", r.status, r.body)
		}
	})
	t.Run("Method", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, w.issuer+oidc.PathLogin, nil)
		if r := do(t, w.h.client, req); r.status != http.StatusMethodNotAllowed {
			t.Errorf("DELETE: %d", r.status)
		}
	})
	t.Run("Headers", func(t *testing.T) {
		t.Parallel()
		r := w.h.get(t, w.issuer+oidc.PathLogin+"?authRequestID="+start(t), nil)
		for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Cache-Control"} {
			if r.header.Get(k) == "" {
				t.Errorf("login page without %s", k)
			}
		}
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP %q allows scripts from elsewhere or inline code", csp)
		}
	})
	t.Run("Lockout", func(t *testing.T) {
		t.Parallel()
		// A user of their own: the default lockout policy locks after 10
		// wrong passwords in a row, and then even the right one fails with
		// the same message (nothing tells an attacker the account exists or
		// is locked).
		ctx := t.Context()
		login := "mallory-" + strings.ToLower(rand.Text()[:8])
		u, err := w.h.users.CreateHuman(ctx, iam.SystemActor, &user.NewHuman{
			InstanceID: w.in.ID, OrgID: w.org.ID, LoginName: login, Password: password,
			Profile: iam.HumanProfile{Email: login + "@example.com"},
		})
		if err != nil {
			t.Fatal(err)
		}
		try := func(pw string) *response {
			return w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {start(t)}, "login_name": {login}, "password": {pw}}, w.sameOrigin())
		}
		max := iam.DefaultLockoutPolicy().MaxPasswordAttempts
		// Wrong passwords below the limit do not lock; a success resets.
		for range max - 1 {
			if r := try("wrong password!"); r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", r.status)
			}
		}
		if r := try(password); r.status != http.StatusSeeOther {
			t.Fatalf("right password below the limit: %d %s", r.status, r.body)
		}
		var denied string
		for i := range max {
			r := try("wrong password!")
			if r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d", i, r.status)
			}
			denied = string(r.body)
		}
		r := try(password)
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "The login name or password is wrong") {
			t.Fatalf("right password after the lockout: %d %s", r.status, r.body)
		}
		if strings.Contains(strings.ToLower(denied), "lock") || strings.Contains(strings.ToLower(string(r.body)), "lock") {
			t.Fatal("the page tells that the account is locked")
		}
		got, err := w.h.users.Get(ctx, user.Ref{InstanceID: w.in.ID, ID: u.ID})
		if err != nil || got.State != iam.UserLocked {
			t.Fatalf("user after %d wrong passwords: %v, %v", max, got.State, err)
		}
	})
	t.Run("SessionSingleSignOn", func(t *testing.T) {
		t.Parallel()
		startWith := func(t *testing.T, opts ...oauth2.AuthCodeOption) string {
			t.Helper()
			r := w.h.get(t, w.oauth2Config(t, w.web, webRedirect, "openid").AuthCodeURL("st", opts...), nil)
			return r.location(t, w.issuer).Query().Get("authRequestID")
		}
		r := w.h.post(t, w.issuer+oidc.PathLogin, form(startWith(t), password), w.sameOrigin())
		if r.status != http.StatusSeeOther {
			t.Fatalf("login: %d %s", r.status, r.body)
		}
		var cookie *http.Cookie
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == login.CookieName {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Value == "" {
			t.Fatalf("session cookie = %+v", cookie)
		}
		withCookie := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}
		// A second authorization request goes straight back to the client.
		r = w.h.get(t, w.issuer+oidc.PathLogin+"?authRequestID="+startWith(t), withCookie)
		if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "/oauth/authorize/callback") {
			t.Fatalf("single sign-on: %d %s", r.status, r.body)
		}
		// prompt=login and an exceeded max_age ask again.
		for _, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0")} {
			if r := w.h.get(t, w.issuer+oidc.PathLogin+"?authRequestID="+startWith(t, opt), withCookie); r.status != http.StatusOK || !strings.Contains(string(r.body), `id="login_name"`) {
				t.Fatalf("forced login: %d %s", r.status, r.body)
			}
		}
		// A forged or stale cookie is no session.
		if r := w.h.get(t, w.issuer+oidc.PathLogin+"?authRequestID="+startWith(t), http.Header{"Cookie": {login.CookieName + "=rls_forged"}}); r.status != http.StatusOK {
			t.Fatalf("forged cookie: %d", r.status)
		}
		// RP-initiated logout ends the browser's session.
		r = w.h.get(t, w.issuer+oidc.PathEndSession, withCookie)
		if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), " "), login.CookieName+"=;") {
			t.Fatalf("end session did not clear the cookie: %v", r.header)
		}
		if r := w.h.get(t, w.issuer+oidc.PathLogin+"?authRequestID="+startWith(t), withCookie); r.status != http.StatusOK {
			t.Fatalf("login after logout: %d, want the form", r.status)
		}
	})
	t.Run("ChangePasswordOnFirstLogin", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		name := "newbie-" + strings.ToLower(rand.Text()[:8])
		if _, err := w.h.users.CreateHuman(ctx, iam.SystemActor, &user.NewHuman{
			InstanceID: w.in.ID, OrgID: w.org.ID, LoginName: name, Password: password,
			Profile: iam.HumanProfile{Email: name + "@example.com", PasswordChangeRequired: true},
		}); err != nil {
			t.Fatal(err)
		}
		id := start(t)
		r := w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "login_name": {name}, "password": {password}}, w.sameOrigin())
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `id="new_password"`) {
			t.Fatalf("first login: %d %s", r.status, r.body)
		}
		var cookie string
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == login.CookieName {
				cookie = c.Name + "=" + c.Value
			}
		}
		h := w.sameOrigin()
		h.Set("Cookie", cookie)
		change := func(pw, confirm string) *response {
			return w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "step": {"change_password"}, "new_password": {pw}, "confirm_password": {confirm}}, h)
		}
		for _, c := range []struct{ pw, confirm string }{{"short", "short"}, {"a-good-new-password", "another-one-entirely"}, {password, password}} {
			if r := change(c.pw, c.confirm); r.status != http.StatusBadRequest {
				t.Fatalf("bad new password %q: %d %s", c.pw, r.status, r.body)
			}
		}
		// Without the session the step is refused.
		if r := w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "step": {"change_password"}, "new_password": {"a-good-new-password"}, "confirm_password": {"a-good-new-password"}}, w.sameOrigin()); r.status != http.StatusUnauthorized {
			t.Fatalf("change without a session: %d", r.status)
		}
		if r := change("a-good-new-password", "a-good-new-password"); r.status != http.StatusSeeOther {
			t.Fatalf("change: %d %s", r.status, r.body)
		}
		if _, err := w.h.users.CheckPassword(ctx, w.in.ID, name, "a-good-new-password"); err != nil {
			t.Fatalf("the new password does not work: %v", err)
		}
	})
	t.Run("TOTPSecondStep", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		name := "totp-" + strings.ToLower(rand.Text()[:8])
		u, err := w.h.users.CreateHuman(ctx, iam.SystemActor, &user.NewHuman{
			InstanceID: w.in.ID, OrgID: w.org.ID, LoginName: name, Password: password,
			Profile: iam.HumanProfile{Email: name + "@example.com"},
		})
		if err != nil {
			t.Fatal(err)
		}
		ref := mfa.Ref{InstanceID: w.in.ID, ID: u.ID}
		en, err := w.h.factors.BeginTOTP(ctx, ref, "Test")
		if err != nil {
			t.Fatal(err)
		}
		code := func(at time.Time) string {
			c, err := totp.GenerateCodeCustom(en.Secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		recovery, err := w.h.factors.ConfirmTOTP(ctx, u.ID, ref, code(time.Now()))
		if err != nil || len(recovery) == 0 {
			t.Fatalf("confirm TOTP: %v", err)
		}
		// The password alone does not finish the login: the code step follows.
		login := func() (string, http.Header) {
			id := start(t)
			r := w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "login_name": {name}, "password": {password}}, w.sameOrigin())
			if r.status != http.StatusOK || !strings.Contains(string(r.body), `name="step" value="totp"`) {
				t.Fatalf("password of a TOTP user: %d %s", r.status, r.body)
			}
			h := w.sameOrigin()
			for _, c := range (&http.Response{Header: r.header}).Cookies() {
				if c.Name == login.CookieName {
					h.Set("Cookie", c.Name+"="+c.Value)
				}
			}
			return id, h
		}
		id, h := login()
		step := func(v url.Values) *response {
			v.Set("authRequestID", id)
			v.Set("step", "totp")
			return w.h.post(t, w.issuer+oidc.PathLogin, v, h)
		}
		if r := step(url.Values{"code": {"000000"}}); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong code: %d", r.status)
		}
		// Without the session's cookie the step is refused.
		if r := w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "step": {"totp"}, "code": {code(time.Now().Add(30 * time.Second))}}, w.sameOrigin()); r.status != http.StatusUnauthorized {
			t.Fatalf("code without the session: %d", r.status)
		}
		// The confirmation used this period's code: the next one passes (±1
		// period), the same one would be a replay.
		if r := step(url.Values{"code": {code(time.Now().Add(30 * time.Second))}}); r.status != http.StatusSeeOther {
			t.Fatalf("right code: %d %s", r.status, r.body)
		}
		// A recovery code works once, instead of the code.
		id, h = login()
		if r := step(url.Values{"recovery_code": {recovery[0]}}); r.status != http.StatusSeeOther {
			t.Fatalf("recovery code: %d %s", r.status, r.body)
		}
		id, h = login()
		if r := step(url.Values{"recovery_code": {recovery[0]}}); r.status != http.StatusUnauthorized {
			t.Fatalf("recovery code reused: %d", r.status)
		}
	})
	t.Run("PasskeyAttacks", func(t *testing.T) {
		t.Parallel()
		// Adding a passkey needs a signed-in browser.
		if r := w.h.get(t, w.issuer+login.PathPasskeys, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("passkeys page without a session: %d", r.status)
		}
		// A forged or replayed ceremony, or a garbage assertion, signs no
		// one in: the passkey page comes back with an error, no cookie.
		id := start(t)
		for _, v := range []url.Values{
			{"ceremony": {"forged"}, "credential": {"{}"}},
			{"ceremony": {""}, "credential": {`{"id":"x","rawId":"eA","type":"public-key","response":{}}`}},
		} {
			v.Set("authRequestID", id)
			v.Set("step", "passkey_login")
			r := w.h.post(t, w.issuer+oidc.PathLogin, v, w.sameOrigin())
			if r.status == http.StatusSeeOther || strings.Contains(strings.Join(r.header.Values("Set-Cookie"), " "), login.CookieName+"=rls_") {
				t.Fatalf("forged passkey login: %d %v", r.status, r.header)
			}
			if !strings.Contains(string(r.body), "could not be used") {
				t.Fatalf("forged passkey login page: %s", r.body)
			}
		}
		// The login page offers passkeys (policy default), and the passkey
		// page carries a sealed ceremony, not readable session data.
		r := w.h.get(t, w.issuer+oidc.PathLogin+"?passkey=1&authRequestID="+id, nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `data-webauthn="get"`) || strings.Contains(string(r.body), "challenge&#34;:&#34;") && strings.Contains(string(r.body), `name="ceremony" value=""`) {
			t.Fatalf("passkey page: %d %s", r.status, r.body)
		}
	})
	t.Run("TwoSteps", func(t *testing.T) {
		t.Parallel()
		id := start(t)
		// Step one names the user; every name, existing or not, gets the
		// same password step: the page reveals no accounts.
		for _, name := range []string{"alice", "nobody-" + id} {
			r := w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "login_name": {name}}, w.sameOrigin())
			if r.status != http.StatusOK || !strings.Contains(string(r.body), `id="password"`) || !strings.Contains(string(r.body), name) {
				t.Errorf("step one for %q: %d %s", name, r.status, r.body)
			}
		}
		// German for a German browser.
		h := w.sameOrigin()
		h.Set("Accept-Language", "de-DE,de;q=0.9")
		if r := w.h.post(t, w.issuer+oidc.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"alice"}}, h); !strings.Contains(string(r.body), "Passwort") {
			t.Errorf("German password step: %s", r.body)
		}
	})
}
