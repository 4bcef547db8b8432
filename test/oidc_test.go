package test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// The clients and users of testdata/oidc-init.yaml.
const (
	rpUser          = "carol"
	rpPassword      = "carol-test-password-1"
	rpWebClient     = "orders-web"
	rpWebSecret     = "rcs_test-only-web-secret-0123456789abcdef"
	rpAPIClient     = "orders-api"
	rpAPISecret     = "rcs_test-only-api-secret-0123456789abcdef"
	rpDeviceClient  = "orders-tv"
	rpMachine       = "svc-bot"
	rpMachineSecret = "rcs_test-only-machine-secret-0123456789abcdef"
	rolesClaim      = "urn:rampart:roles"
)

// TestOIDCRelyingParties drives a real `rampart start --init` process the
// way third-party relying parties do, with go-oidc and x/oauth2 and
// nothing of Rampart's: every client, user, project and grant comes from
// testdata/oidc-init.yaml alone. A web client runs the authorization code
// flow with PKCE through the login page, verifies the ID token, calls
// userinfo, refreshes, revokes (RFC 7009) and logs out (RP-initiated
// logout); its resource server (the api application) introspects (RFC
// 7662); services use client credentials as an application and as a
// machine user; a TV runs the device flow (RFC 8628). Then the node
// restarts on the same file: nothing is created twice, the signing key is
// kept, tokens issued before verify and introspect after.
func TestOIDCRelyingParties(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backendEnv) {
		cb := newCallbackServer(t)
		initFile := renderOIDCInit(t, cb.URL)
		addr := freeAddr(t)
		startOn := func() *proc {
			p := startProc(t, append(b.env, "RAMPART_HTTP_ADDR="+addr), "start", "--init", initFile)
			p.addr = addr
			p.waitReady()
			return p
		}
		n := startOn()
		rp := newRelyingParty(t, "http://"+addr, cb.URL)
		// The primary domain is the same instance under its own issuer.
		_, port, _ := strings.Cut(addr, ":")
		if _, err := oidc.NewProvider(rp.ctx, "http://localhost:"+port); err != nil {
			t.Fatalf("discovery at the primary domain: %v", err)
		}

		// Services first: the api application's token names its project,
		// whose audience scope the web client then asks for.
		apiTok := rp.serviceClients(t)
		rp.webClient(t)
		deviceTok := rp.deviceClient(t)

		kid := jwtKeyID(t, apiTok.AccessToken)
		if !slices.Contains(rp.jwksKeyIDs(t), kid) {
			t.Fatalf("kid %s of the access token is not in the JWKS", kid)
		}

		n.signal(syscall.SIGTERM)
		if code := n.exitCode(60 * time.Second); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d", code)
		}
		n2 := startOn()
		if logs := n2.stderr.String(); !strings.Contains(logs, `msg="init file applied" created=0 `) {
			t.Fatalf("the second start with the same init file created objects:\n%s", logs)
		}
		// Same issuer (same address), same key: tokens of the first run
		// verify against the JWKS a new relying party fetches.
		rp2 := newRelyingParty(t, "http://"+addr, cb.URL)
		if ids := rp2.jwksKeyIDs(t); !slices.Contains(ids, kid) {
			t.Fatalf("after the restart the JWKS has keys %v, not %s", ids, kid)
		}
		rp2.verifyAccessToken(t, apiTok.AccessToken, rpAPIClient)
		if _, err := rp2.provider.Verifier(&oidc.Config{ClientID: rpDeviceClient}).Verify(rp2.ctx, idToken(t, deviceTok)); err != nil {
			t.Fatalf("ID token of the first run after the restart: %v", err)
		}
		if got := rp2.introspect(t, apiTok.AccessToken); got["active"] != true {
			t.Fatalf("introspection after the restart = %v", got)
		}
		// The clients declared by the file still work after it was applied
		// again: a fresh login and a fresh service token.
		rp2.apiProject = rp.apiProject
		tok := rp2.login(t, rp2.webConfig())
		rp2.verifyAccessToken(t, tok.AccessToken, rpWebClient)
		rp2.serviceToken(t, rpAPIClient, rpAPISecret)
	})
}

// callbackServer is the relying party's own redirect target.
type callbackServer struct{ *httptest.Server }

func newCallbackServer(t *testing.T) *callbackServer {
	t.Helper()
	mux := http.NewServeMux()
	for _, path := range []string{"/callback", "/logged-out"} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "rp "+path)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &callbackServer{srv}
}

// renderOIDCInit writes testdata/oidc-init.yaml with ${CALLBACK} replaced
// by the callback server's origin.
func renderOIDCInit(t *testing.T, callback string) string {
	t.Helper()
	tmpl, err := os.ReadFile("testdata/oidc-init.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "oidc-init.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(tmpl), "${CALLBACK}", callback)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// relyingParty holds what a relying party knows of the provider.
type relyingParty struct {
	issuer   string
	callback string
	ctx      context.Context // carries the HTTP client for go-oidc and oauth2
	http     *http.Client
	provider *oidc.Provider
	meta     struct {
		Introspection string `json:"introspection_endpoint"`
		Revocation    string `json:"revocation_endpoint"`
		EndSession    string `json:"end_session_endpoint"`
		JWKS          string `json:"jwks_uri"`
	}
	apiProject    string // project of the api application
	ordersProject string // project of the web and device applications
}

func newRelyingParty(t *testing.T, issuer, callback string) *relyingParty {
	t.Helper()
	rp := &relyingParty{issuer: issuer, callback: callback, http: &http.Client{Timeout: 15 * time.Second}}
	rp.ctx = oidc.ClientContext(t.Context(), rp.http)
	p, err := oidc.NewProvider(rp.ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp.provider = p
	if err := p.Claims(&rp.meta); err != nil {
		t.Fatal(err)
	}
	if rp.meta.Introspection == "" || rp.meta.Revocation == "" || rp.meta.EndSession == "" || p.Endpoint().DeviceAuthURL == "" {
		t.Fatalf("discovery lacks endpoints: %+v, device %q", rp.meta, p.Endpoint().DeviceAuthURL)
	}
	return rp
}

// serviceClients gets tokens with client credentials as the api
// application and as the machine user, and checks them against the JWKS
// and introspection. It returns the api application's token.
func (rp *relyingParty) serviceClients(t *testing.T) *oauth2.Token {
	t.Helper()
	apiTok := rp.serviceToken(t, rpAPIClient, rpAPISecret)
	claims := rp.verifyAccessToken(t, apiTok.AccessToken, rpAPIClient)
	if claims.Subject != rpAPIClient || claims.ClientID != rpAPIClient || len(claims.Audience) != 2 {
		t.Fatalf("api application token claims = %+v, want sub and client_id %s and aud [client, project]", claims, rpAPIClient)
	}
	rp.apiProject = claims.Audience[1]
	if got := rp.introspect(t, apiTok.AccessToken); got["active"] != true || got["sub"] != rpAPIClient {
		t.Fatalf("introspection of the api application's own token = %v", got)
	}

	botTok := rp.serviceToken(t, rpMachine, rpMachineSecret, "profile")
	bot := rp.verifyAccessToken(t, botTok.AccessToken, rpMachine)
	if bot.Subject == rpMachine || bot.Subject == "" || bot.ClientID != rpMachine || bot.Scope != "profile" {
		t.Fatalf("machine user token claims = %+v, want the user ID as sub, client_id %s, scope profile", bot, rpMachine)
	}
	// The machine user's token is not meant for the api application.
	if got := rp.introspect(t, botTok.AccessToken); got["active"] != false {
		t.Fatalf("introspection of a token for another audience = %v, want inactive", got)
	}

	for _, tc := range []struct{ name, id, secret, want string }{
		{"wrong secret", rpAPIClient, "rcs_wrong-secret-0123456789abcdef0123", "invalid_client"},
		{"grant not enabled", rpWebClient, rpWebSecret, "unauthorized_client"},
		{"unknown machine user", "nobody", rpMachineSecret, "invalid_client"},
	} {
		cfg := clientcredentials.Config{ClientID: tc.id, ClientSecret: tc.secret, TokenURL: rp.provider.Endpoint().TokenURL}
		_, err := cfg.Token(rp.ctx)
		if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != tc.want {
			t.Errorf("client credentials, %s: err = %v, want %s", tc.name, err, tc.want)
		}
	}
	return apiTok
}

func (rp *relyingParty) serviceToken(t *testing.T, id, secret string, scopes ...string) *oauth2.Token {
	t.Helper()
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: rp.provider.Endpoint().TokenURL, Scopes: scopes}
	tok, err := cfg.Token(rp.ctx)
	if err != nil {
		t.Fatalf("client credentials as %s: %v", id, err)
	}
	return tok
}

// accessClaims are the claims of a JWT access token (RFC 9068).
type accessClaims struct {
	Issuer   string              `json:"iss"`
	Subject  string              `json:"sub"`
	Audience audience            `json:"aud"`
	ClientID string              `json:"client_id"`
	Scope    string              `json:"scope"`
	JWTID    string              `json:"jti"`
	Roles    map[string][]string `json:"urn:rampart:roles"`
}

// audience decodes aud as a string or an array.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// verifyAccessToken checks a JWT access token's signature against the
// provider's JWKS (go-oidc's RemoteKeySet), its issuer, expiry and that
// aud names the resource.
func (rp *relyingParty) verifyAccessToken(t *testing.T, raw, resource string) accessClaims {
	t.Helper()
	keys := oidc.NewRemoteKeySet(rp.ctx, rp.meta.JWKS)
	payload, err := keys.VerifySignature(rp.ctx, raw)
	if err != nil {
		t.Fatalf("access token signature: %v", err)
	}
	if _, err := oidc.NewVerifier(rp.issuer, keys, &oidc.Config{ClientID: resource}).Verify(rp.ctx, raw); err != nil {
		t.Fatalf("access token for %s: %v", resource, err)
	}
	var c accessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (rp *relyingParty) jwksKeyIDs(t *testing.T) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			KeyID string `json:"kid"`
		} `json:"keys"`
	}
	resp, err := rp.http.Get(rp.meta.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range set.Keys {
		ids = append(ids, k.KeyID)
	}
	return ids
}

func jwtKeyID(t *testing.T, raw string) string {
	t.Helper()
	header, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KeyID string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil || h.KeyID == "" {
		t.Fatalf("JWT header %s: %v", b, err)
	}
	return h.KeyID
}

func idToken(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no id_token in the token response")
	}
	return raw
}

// webConfig is the web application's client configuration: its own
// project's roles, and the api application's project in the audience.
func (rp *relyingParty) webConfig() *oauth2.Config {
	return &oauth2.Config{
		ClientID: rpWebClient, ClientSecret: rpWebSecret, Endpoint: rp.provider.Endpoint(),
		RedirectURL: rp.callback + "/callback",
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess, "urn:rampart:project:roles",
			"urn:rampart:project:" + rp.apiProject + ":aud"},
	}
}

// login runs the authorization code flow with PKCE (RFC 7636) as a browser
// would: /oauth/authorize redirects to the login page, the form is posted
// (same-origin), and the redirects end at the relying party's callback,
// whose code is exchanged with the verifier.
func (rp *relyingParty) login(t *testing.T, cfg *oauth2.Config) *oauth2.Token {
	t.Helper()
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	resp, err := rp.http.Get(cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	authRequestID := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/login" || authRequestID == "" {
		t.Fatalf("authorize ended at %d %s:\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	loginURL := resp.Request.URL.ResolveReference(&url.URL{Path: "/ui/login"}).String()
	form := url.Values{"authRequestID": {authRequestID}, "login_name": {rpUser}, "password": {rpPassword}}

	// A form posted from another site is refused (CSRF).
	if status, body := rp.post(t, loginURL, form, "", "", "http://evil.example"); status != http.StatusForbidden {
		t.Fatalf("cross-origin login post = %d %s", status, body)
	}
	req, err := http.NewRequestWithContext(rp.ctx, http.MethodPost, loginURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", rp.issuer)
	resp, err = rp.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	final := resp.Request.URL
	if resp.StatusCode != http.StatusOK || final.String() != cfg.RedirectURL+"?"+final.RawQuery || string(body) != "rp /callback" {
		t.Fatalf("login ended at %d %s: %s", resp.StatusCode, final, body)
	}
	q := final.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("callback query %v, want state %s and a code", q, state)
	}
	tok, err := cfg.Exchange(rp.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	id, err := rp.provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(rp.ctx, idToken(t, tok))
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if id.Nonce != nonce {
		t.Fatalf("ID token nonce %q, want %q", id.Nonce, nonce)
	}
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return tok
}

// webClient is the confidential web application's life: login, userinfo,
// introspection by the resource server, revocation of the access token,
// refresh, revocation of the refresh token, and RP-initiated logout.
func (rp *relyingParty) webClient(t *testing.T) {
	t.Helper()
	cfg := rp.webConfig()
	tok := rp.login(t, cfg)
	id, err := rp.provider.Verifier(&oidc.Config{ClientID: rpWebClient}).Verify(rp.ctx, idToken(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	var idc struct {
		PreferredUsername string              `json:"preferred_username"`
		Email             string              `json:"email"`
		EmailVerified     bool                `json:"email_verified"`
		Name              string              `json:"name"`
		Roles             map[string][]string `json:"urn:rampart:roles"`
	}
	if err := id.Claims(&idc); err != nil {
		t.Fatal(err)
	}
	if len(id.Audience) < 3 || id.Audience[0] != rpWebClient || !slices.Contains(id.Audience, rp.apiProject) {
		t.Fatalf("ID token aud = %v, want [%s, its project, %s]", id.Audience, rpWebClient, rp.apiProject)
	}
	rp.ordersProject = id.Audience[1]
	wantRoles := map[string][]string{rp.ordersProject: {"orders.read", "orders.write"}}
	if idc.PreferredUsername != rpUser || idc.Email != "carol@rp.example" || !idc.EmailVerified || idc.Name != "Carol Client" ||
		!rolesEqual(idc.Roles, wantRoles) {
		t.Fatalf("ID token claims = %+v, want carol with roles %v", idc, wantRoles)
	}

	// userinfo (OpenID Connect Core §5.3).
	info, err := rp.provider.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var infoRoles struct {
		Roles map[string][]string `json:"urn:rampart:roles"`
	}
	if err := info.Claims(&infoRoles); err != nil {
		t.Fatal(err)
	}
	if info.Subject != id.Subject || info.Email != "carol@rp.example" || !info.EmailVerified || !rolesEqual(infoRoles.Roles, wantRoles) {
		t.Fatalf("userinfo = %+v roles %v", info, infoRoles.Roles)
	}

	// The resource server introspects the access token meant for it.
	at := rp.verifyAccessToken(t, tok.AccessToken, rp.apiProject)
	got := rp.introspect(t, tok.AccessToken)
	if got["active"] != true || got["sub"] != id.Subject || got["client_id"] != rpWebClient || got["jti"] != at.JWTID ||
		got["iss"] != rp.issuer || !strings.Contains(asString(got["scope"]), "offline_access") || got[rolesClaim] == nil {
		t.Fatalf("introspection = %v", got)
	}
	// RFC 7009: the client revokes its access token; the grant lives on.
	rp.revoke(t, rpWebClient, rpWebSecret, tok.AccessToken, "access_token")
	if got := rp.introspect(t, tok.AccessToken); got["active"] != false {
		t.Fatalf("introspection after revocation = %v", got)
	}
	if _, err := rp.provider.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo accepted a revoked access token")
	}

	// Refresh through the client library: the refresh token rotates.
	stale := *tok
	stale.Expiry = time.Now().Add(-time.Minute)
	tok2, err := cfg.TokenSource(rp.ctx, &stale).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not issue a new access token and a rotated refresh token")
	}
	if got := rp.introspect(t, tok2.AccessToken); got["active"] != true || got["sub"] != id.Subject {
		t.Fatalf("introspection of the refreshed token = %v", got)
	}
	// RFC 7009 for the refresh token: the whole grant ends.
	rp.revoke(t, rpWebClient, rpWebSecret, tok2.RefreshToken, "refresh_token")
	stale2 := *tok2
	stale2.Expiry = time.Now().Add(-time.Minute)
	_, err = cfg.TokenSource(rp.ctx, &stale2).Token()
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("refresh with a revoked refresh token: err = %v, want invalid_grant", err)
	}
	if got := rp.introspect(t, tok2.AccessToken); got["active"] != false {
		t.Fatalf("access token of a revoked grant: introspection = %v", got)
	}

	// RP-initiated logout of a second login: back at the registered
	// post-logout URI with the state, the grant ended.
	tok3 := rp.login(t, cfg)
	q := url.Values{"id_token_hint": {idToken(t, tok3)}, "post_logout_redirect_uri": {rp.callback + "/logged-out"}, "state": {"bye"}}
	resp, err := rp.http.Get(rp.meta.EndSession + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != rp.callback+"/logged-out?state=bye" || string(body) != "rp /logged-out" {
		t.Fatalf("end session ended at %d %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	stale3 := *tok3
	stale3.Expiry = time.Now().Add(-time.Minute)
	if _, err := cfg.TokenSource(rp.ctx, &stale3).Token(); err == nil {
		t.Fatal("refresh after logout succeeded")
	}
	if got := rp.introspect(t, tok3.AccessToken); got["active"] != false {
		t.Fatalf("access token after logout: introspection = %v", got)
	}
}

// deviceClient runs the device authorization grant (RFC 8628) for the
// native application; the test approves on /ui/device as the user would.
func (rp *relyingParty) deviceClient(t *testing.T) *oauth2.Token {
	t.Helper()
	cfg := &oauth2.Config{ClientID: rpDeviceClient, Endpoint: rp.provider.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess}}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client
	da, err := cfg.DeviceAuth(rp.ctx)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if da.UserCode == "" || !strings.HasPrefix(da.VerificationURI, rp.issuer+"/ui/device") {
		t.Fatalf("device authorization response = %+v", da)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}, "client_id": {rpDeviceClient}}
	if status, body := rp.post(t, rp.provider.Endpoint().TokenURL, poll, "", "", ""); status != http.StatusBadRequest || !strings.Contains(body, "authorization_pending") {
		t.Fatalf("poll before approval = %d %s", status, body)
	}
	approve := url.Values{"user_code": {da.UserCode}, "login_name": {rpUser}, "password": {rpPassword}, "decision": {"allow"}}
	if status, body := rp.post(t, rp.issuer+"/ui/device", approve, "", "", rp.issuer); status != http.StatusOK || !strings.Contains(body, "Your device is connected") {
		t.Fatalf("approval = %d %s", status, body)
	}
	tok, err := cfg.DeviceAccessToken(rp.ctx, da)
	if err != nil {
		t.Fatalf("device access token: %v", err)
	}
	id, err := rp.provider.Verifier(&oidc.Config{ClientID: rpDeviceClient}).Verify(rp.ctx, idToken(t, tok))
	if err != nil {
		t.Fatalf("device flow ID token: %v", err)
	}
	at := rp.verifyAccessToken(t, tok.AccessToken, rpDeviceClient)
	if at.Subject != id.Subject || tok.RefreshToken == "" {
		t.Fatalf("device flow tokens: access sub %q, ID sub %q, refresh token %q", at.Subject, id.Subject, tok.RefreshToken)
	}
	// Asked without the api project's audience scope, the token is not
	// meant for the resource server, which therefore sees it inactive.
	if slices.Contains(at.Audience, rp.apiProject) {
		t.Fatalf("device flow token aud %v names the api project without the scope", at.Audience)
	}
	if got := rp.introspect(t, tok.AccessToken); got["active"] != false {
		t.Fatalf("introspection of a token for another audience = %v, want inactive", got)
	}
	// The device code is handed out once.
	if status, body := rp.post(t, rp.provider.Endpoint().TokenURL, poll, "", "", ""); status != http.StatusBadRequest || !strings.Contains(body, `"error":"`) {
		t.Fatalf("second redemption of the device code = %d %s", status, body)
	}
	return tok
}

// introspect asks the introspection endpoint (RFC 7662) about a token as
// the api application, the resource server.
func (rp *relyingParty) introspect(t *testing.T, tok string) map[string]any {
	t.Helper()
	status, body := rp.post(t, rp.meta.Introspection, url.Values{"token": {tok}}, rpAPIClient, rpAPISecret, "")
	if status != http.StatusOK {
		t.Fatalf("introspection = %d %s", status, body)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("introspection %s: %v", body, err)
	}
	return out
}

func (rp *relyingParty) revoke(t *testing.T, clientID, secret, tok, hint string) {
	t.Helper()
	if status, body := rp.post(t, rp.meta.Revocation, url.Values{"token": {tok}, "token_type_hint": {hint}}, clientID, secret, ""); status != http.StatusOK {
		t.Fatalf("revocation of the %s = %d %s", hint, status, body)
	}
}

// post sends a form with optional basic auth and Origin header, following
// redirects, and returns the final status and body.
func (rp *relyingParty) post(t *testing.T, target string, form url.Values, user, password, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(rp.ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(password))
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := rp.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func rolesEqual(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g := slices.Clone(got[k])
		slices.Sort(g)
		if !slices.Equal(g, w) {
			return false
		}
	}
	return true
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}
