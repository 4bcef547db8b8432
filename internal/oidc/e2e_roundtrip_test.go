package oidc_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/rampartiam/rampart/internal/oidc"
)

// testRoundTrips pins the database round trips (statements, BEGIN and
// COMMIT) of each endpoint and grant, counted per request by the harness,
// and logs them as a table. Applications and instances are cached (as on
// a node), so the first request of a client is warmed up first.
//
// Where the counts are (PostgreSQL):
//   - client_credentials of an app with JWTs: none (cached app, keys in
//     memory); with opaque tokens the token's record is the one write.
//   - machine user client_credentials: the client ID is first looked up as
//     an application (unknown client IDs are not cached), then the user.
//   - introspection: TokenStatus, one statement (revocation, user state,
//     opaque record).
//   - code exchange: redeem the code, read the user, read the client's
//     project (does it assert roles?), store the refresh token.
//   - refresh: read the token, rotate it (BEGIN, mark used, insert,
//     COMMIT), read the user, read the project.
//   - userinfo: TokenStatus, the user, the project (or the user's grants
//     when the roles scope names the project).
//   - device poll: consume the authorization, the user, the project.
//
// The project read (role assertion) is the avoidable one in the user
// grants: it goes when projects are cached like applications.
func testRoundTrips(t *testing.T, w, _ *world) {
	const tag = "roundtrips"
	c := w.h.probeClient(tag)
	ctx := clientCtx(t.Context(), c)
	send := func(method, path string, form url.Values, hdr http.Header) *response {
		t.Helper()
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		req, err := http.NewRequestWithContext(t.Context(), method, w.issuer+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		return do(t, c, req)
	}
	// rt picks the maximum for the backend. SQLite runs every write in its
	// own BEGIN IMMEDIATE … COMMIT (a write outside a transaction costs 3).
	rt := func(postgres, sqlite int64) int64 {
		if w.h.backend == "sqlite" {
			return sqlite
		}
		return postgres
	}
	type row struct {
		name string
		n    int64
		max  int64
	}
	var rows []row
	measure := func(name, path string, max int64, fn func() *response) *response {
		t.Helper()
		r := fn()
		if r.status >= 400 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		n := w.h.roundTrips(t, tag, path)
		rows = append(rows, row{name, n, max})
		if n > max {
			t.Errorf("%s: %d round trips, want at most %d", name, n, max)
		}
		return r
	}

	// Warm the caches: the instance by host and every client used below.
	for _, a := range []*app{w.api, w.opaque, w.web, w.device} {
		send(http.MethodPost, oidc.PathToken, url.Values{"grant_type": {"client_credentials"}}, basic(a.ClientID, a.secret))
	}

	measure("discovery", oidc.PathDiscovery, rt(0, 0), func() *response { return send(http.MethodGet, oidc.PathDiscovery, nil, nil) })
	measure("jwks", oidc.PathKeys, rt(0, 0), func() *response { return send(http.MethodGet, oidc.PathKeys, nil, nil) })
	ccForm := url.Values{"grant_type": {"client_credentials"}, "scope": {audScope(w.apiProj.ID)}}
	jwt := accessToken(t, measure("client_credentials (api app, JWT)", oidc.PathToken, rt(0, 0), func() *response {
		return send(http.MethodPost, oidc.PathToken, ccForm, basic("api", w.api.secret))
	}))
	opaque := accessToken(t, measure("client_credentials (opaque app)", oidc.PathToken, rt(1, 3), func() *response {
		return send(http.MethodPost, oidc.PathToken, ccForm, basic("opaque", w.opaque.secret))
	}))
	measure("client_credentials (machine user)", oidc.PathToken, rt(2, 2), func() *response {
		return send(http.MethodPost, oidc.PathToken, url.Values{"grant_type": {"client_credentials"}}, basic("svc", w.svcSecret))
	})
	measure("introspection (JWT)", oidc.PathIntrospect, rt(1, 1), func() *response {
		return send(http.MethodPost, oidc.PathIntrospect, url.Values{"token": {jwt}}, basic("api", w.api.secret))
	})
	measure("introspection (opaque)", oidc.PathIntrospect, rt(1, 1), func() *response {
		return send(http.MethodPost, oidc.PathIntrospect, url.Values{"token": {opaque}}, basic("opaque", w.opaque.secret))
	})

	// The code flow, step by step.
	cfg := w.oauth2Config(t, w.web, webRedirect, "openid", "profile", "offline_access")
	verifier := oauth2.GenerateVerifier()
	authURL, _ := url.Parse(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	r := measure("authorize", oidc.PathAuthorize, rt(1, 3), func() *response { return send(http.MethodGet, authURL.RequestURI(), nil, nil) })
	id := r.location(t, w.issuer).Query().Get("authRequestID")
	measure("login page (GET)", oidc.PathLogin, rt(1, 1), func() *response { return send(http.MethodGet, oidc.PathLogin+"?authRequestID="+id, nil, nil) })
	r = measure("login (POST)", oidc.PathLogin, rt(9, 17), func() *response {
		return send(http.MethodPost, oidc.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"alice"}, "password": {password}}, w.sameOrigin())
	})
	cb := r.location(t, w.issuer)
	r = measure("authorize callback", cb.Path, rt(2, 4), func() *response { return send(http.MethodGet, cb.RequestURI(), nil, nil) })
	code := r.location(t, w.issuer).Query().Get("code")
	var tok *oauth2.Token
	measure("code exchange (openid profile offline_access)", oidc.PathToken, rt(3, 7), func() *response {
		var err error
		if tok, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Fatalf("exchange: %v", err)
		}
		return &response{status: http.StatusOK}
	})
	measure("refresh (rotation)", oidc.PathToken, rt(6, 6), func() *response {
		return send(http.MethodPost, oidc.PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, basic("web", w.web.secret))
	})
	measure("userinfo", oidc.PathUserinfo, rt(2, 2), func() *response { return send(http.MethodGet, oidc.PathUserinfo, nil, bearer(tok.AccessToken)) })
	// With the roles of the client's own project: one more read.
	rolesTok := w.tokens(t, w.web, webRedirect, "alice", "openid", oidc.ScopeOwnProjectRoles)
	measure("userinfo (with roles)", oidc.PathUserinfo, rt(3, 3), func() *response {
		return send(http.MethodGet, oidc.PathUserinfo, nil, bearer(rolesTok.AccessToken))
	})
	measure("revocation (JWT)", oidc.PathRevoke, rt(1, 3), func() *response {
		return send(http.MethodPost, oidc.PathRevoke, url.Values{"token": {rolesTok.AccessToken}, "token_type_hint": {"access_token"}}, basic("web", w.web.secret))
	})

	// The device flow: the poll that gets the tokens.
	dcfg := w.oauth2Config(t, w.device, "", "openid")
	da, err := dcfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.h.post(t, w.issuer+oidc.PathDevice, url.Values{"user_code": {da.UserCode}, "login_name": {"alice"}, "password": {password}, "decision": {"allow"}}, w.sameOrigin())
	measure("device poll (approved)", oidc.PathToken, rt(2, 4), func() *response {
		return send(http.MethodPost, oidc.PathToken, url.Values{"grant_type": {grantDeviceCode}, "device_code": {da.DeviceCode}, "client_id": {"device"}}, nil)
	})

	var b strings.Builder
	fmt.Fprintf(&b, "%s: database round trips per request\n", w.h.backend)
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-48s %2d  (max %d)\n", r.name+":", r.n, r.max)
	}
	t.Log(b.String())
}
