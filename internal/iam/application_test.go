package iam

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestApp(t AppType, mutate func(a *Application)) *Application {
	a := &Application{ID: "app", InstanceID: "in", OrgID: "org", ProjectID: "p", Name: "App", Type: t, ClientID: "client-1"}
	switch t {
	case AppTypeWeb, AppTypeSPA:
		a.RedirectURIs = []string{"https://app.example/cb"}
	case AppTypeNative:
		a.RedirectURIs = []string{"com.example.app:/cb"}
	}
	if mutate != nil {
		mutate(a)
	}
	a.ApplyDefaults()
	return a
}

func TestApplicationDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ      AppType
		auth     AppAuthMethod
		grants   []string
		response []string
		pkce     bool
	}{
		{AppTypeWeb, AuthClientSecretBasic, []string{GrantAuthorizationCode, GrantRefreshToken}, []string{ResponseCode}, false},
		{AppTypeNative, AuthNone, []string{GrantAuthorizationCode, GrantRefreshToken}, []string{ResponseCode}, true},
		{AppTypeSPA, AuthNone, []string{GrantAuthorizationCode, GrantRefreshToken}, []string{ResponseCode}, true},
		{AppTypeAPI, AuthClientSecretBasic, []string{GrantClientCredentials}, nil, false},
	} {
		a := newTestApp(tc.typ, nil)
		if a.AuthMethod != tc.auth || !slices.Equal(a.GrantTypes, tc.grants) || !slices.Equal(a.ResponseTypes, tc.response) ||
			a.PKCERequired != tc.pkce || a.AccessTokenFormat != TokenFormatJWT || a.State != StateActive ||
			a.AccessTokenLifetime != time.Hour || a.IDTokenLifetime != time.Hour || a.RefreshTokenLifetime != 720*time.Hour {
			t.Errorf("%s defaults = %+v", tc.typ, a)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("%s defaults invalid: %v", tc.typ, err)
		}
	}
	// Values set are kept; PKCE is forced for public clients only.
	a := newTestApp(AppTypeSPA, func(a *Application) { a.PKCERequired = false; a.AccessTokenFormat = TokenFormatOpaque })
	if !a.PKCERequired || a.AccessTokenFormat != TokenFormatOpaque {
		t.Errorf("spa: %+v", a)
	}
	if newTestApp(AppTypeWeb, nil).PKCERequired {
		t.Error("web PKCE forced")
	}
	// implicit is never a default; response types follow explicit grants.
	a = newTestApp(AppTypeWeb, func(a *Application) { a.GrantTypes = []string{GrantClientCredentials} })
	if len(a.ResponseTypes) != 0 {
		t.Errorf("response types %v without authorization_code", a.ResponseTypes)
	}
}

// TestApplicationRules is the table of the client rules documented on
// Application: each case starts from a type's defaults, changes something
// and expects success or a problem with field and message fragments.
func TestApplicationRules(t *testing.T) {
	t.Parallel()
	long := "https://app.example/" + strings.Repeat("a", MaxRedirectURILength)
	many := make([]string, MaxRedirectURIs+1)
	for i := range many {
		many[i] = "https://app.example/cb" + strings.Repeat("x", i)
	}
	for _, tc := range []struct {
		name   string
		typ    AppType
		mutate func(a *Application)
		field  string // "" for valid
		msg    string
	}{
		// Types, names, client IDs.
		{"web defaults", AppTypeWeb, nil, "", ""},
		{"unknown type", "desktop", func(a *Application) { a.RedirectURIs = nil; a.GrantTypes = []string{GrantJWTBearer} }, "type", "web, native, spa or api"},
		{"empty name", AppTypeWeb, func(a *Application) { a.Name = "  " }, "settings.name", "empty"},
		{"long name", AppTypeWeb, func(a *Application) { a.Name = strings.Repeat("n", 201) }, "settings.name", "200"},
		{"control in name", AppTypeWeb, func(a *Application) { a.Name = "a\nb" }, "settings.name", "control"},
		{"fixed client ID", AppTypeWeb, func(a *Application) { a.ClientID = "my-app@example.com_1.0~x" }, "", ""},
		{"client ID with colon", AppTypeWeb, func(a *Application) { a.ClientID = "a:b" }, "client_id", "may contain only"},
		{"client ID too long", AppTypeWeb, func(a *Application) { a.ClientID = strings.Repeat("c", 201) }, "client_id", "200"},
		{"no org", AppTypeWeb, func(a *Application) { a.OrgID = "" }, "org_id", "required"},
		{"no project", AppTypeWeb, func(a *Application) { a.ProjectID = "" }, "project_id", "required"},
		{"bad state", AppTypeWeb, func(a *Application) { a.State = "deleted" }, "state", ""},

		// Authentication methods: confidentiality follows the type.
		{"web post", AppTypeWeb, func(a *Application) { a.AuthMethod = AuthClientSecretPost }, "", ""},
		{"web private key", AppTypeWeb, func(a *Application) { a.AuthMethod = AuthPrivateKeyJWT }, "", ""},
		{"web none", AppTypeWeb, func(a *Application) { a.AuthMethod = AuthNone }, "settings.auth_method", "confidential"},
		{"api none", AppTypeAPI, func(a *Application) { a.AuthMethod = AuthNone }, "settings.auth_method", "confidential"},
		{"native secret", AppTypeNative, func(a *Application) { a.AuthMethod = AuthClientSecretBasic }, "settings.auth_method", "RFC 8252 §8.5"},
		{"spa private key", AppTypeSPA, func(a *Application) { a.AuthMethod = AuthPrivateKeyJWT }, "settings.auth_method", "public"},
		{"unknown method", AppTypeWeb, func(a *Application) { a.AuthMethod = "tls_client_auth" }, "settings.auth_method", "must be"},

		// Grant types.
		{"unknown grant", AppTypeWeb, func(a *Application) { a.GrantTypes = []string{GrantAuthorizationCode, "password"} }, "settings.grant_types", `"password"`},
		{"duplicate grant", AppTypeWeb, func(a *Application) { a.GrantTypes = []string{GrantAuthorizationCode, GrantAuthorizationCode} }, "settings.grant_types", "twice"},
		{"spa client credentials", AppTypeSPA, func(a *Application) { a.GrantTypes = []string{GrantAuthorizationCode, GrantClientCredentials} }, "settings.grant_types", "RFC 6749 §4.4"},
		{"native client credentials", AppTypeNative, func(a *Application) { a.GrantTypes = []string{GrantClientCredentials} }, "settings.grant_types", "public clients"},
		{"web client credentials", AppTypeWeb, func(a *Application) { a.GrantTypes = []string{GrantAuthorizationCode, GrantClientCredentials} }, "", ""},
		{"api authorization code", AppTypeAPI, func(a *Application) {
			a.GrantTypes = []string{GrantAuthorizationCode}
			a.ResponseTypes = []string{ResponseCode}
			a.RedirectURIs = []string{"https://api.example/cb"}
		}, "settings.grant_types", "no end user"},
		{"api implicit", AppTypeAPI, func(a *Application) { a.GrantTypes = []string{GrantClientCredentials, GrantImplicit} }, "settings.grant_types", "implicit"},
		{"api device", AppTypeAPI, func(a *Application) { a.GrantTypes = []string{GrantDeviceCode} }, "settings.grant_types", "device_code"},
		{"api token exchange", AppTypeAPI, func(a *Application) {
			a.GrantTypes = []string{GrantClientCredentials, GrantTokenExchange, GrantJWTBearer}
		}, "", ""},
		{"api refresh with exchange", AppTypeAPI, func(a *Application) { a.GrantTypes = []string{GrantTokenExchange, GrantRefreshToken} }, "", ""},
		{"api refresh with client credentials", AppTypeAPI, func(a *Application) { a.GrantTypes = []string{GrantClientCredentials, GrantRefreshToken} }, "settings.grant_types", "issues refresh tokens"},
		{"refresh alone", AppTypeWeb, func(a *Application) { a.GrantTypes = []string{GrantRefreshToken}; a.RedirectURIs = nil }, "settings.grant_types", "issues refresh tokens"},
		{"native device flow", AppTypeNative, func(a *Application) {
			a.GrantTypes = []string{GrantDeviceCode, GrantRefreshToken}
			a.RedirectURIs = nil
		}, "", ""},
		{"native implicit", AppTypeNative, func(a *Application) {
			a.GrantTypes = []string{GrantAuthorizationCode, GrantImplicit}
			a.ResponseTypes = []string{ResponseCode, ResponseIDToken}
		}, "settings.grant_types", "RFC 8252 §8.2"},
		{"no grants", AppTypeAPI, func(a *Application) { a.GrantTypes = []string{}; a.Type = "" }, "settings.grant_types", "at least one"},

		// Response types, consistent with grants.
		{"web implicit explicit", AppTypeWeb, func(a *Application) {
			a.GrantTypes = []string{GrantAuthorizationCode, GrantImplicit}
			a.ResponseTypes = []string{ResponseCode, ResponseIDToken, ResponseIDTokenToken}
		}, "", ""},
		{"spa implicit only", AppTypeSPA, func(a *Application) {
			a.GrantTypes = []string{GrantImplicit}
			a.ResponseTypes = []string{ResponseIDToken}
		}, "", ""},
		{"implicit without response type", AppTypeWeb, func(a *Application) { a.GrantTypes = []string{GrantAuthorizationCode, GrantImplicit} }, "settings.response_types", "implicit grant type needs"},
		{"id_token without implicit", AppTypeWeb, func(a *Application) { a.ResponseTypes = []string{ResponseCode, ResponseIDToken} }, "settings.response_types", "needs the implicit"},
		{"code without authorization_code", AppTypeWeb, func(a *Application) {
			a.GrantTypes = []string{GrantClientCredentials}
			a.ResponseTypes = []string{ResponseCode}
			a.RedirectURIs = nil
		}, "settings.response_types", "code needs the authorization_code"},
		{"authorization_code without code", AppTypeWeb, func(a *Application) {
			a.GrantTypes = []string{GrantAuthorizationCode, GrantImplicit}
			a.ResponseTypes = []string{ResponseIDToken}
		}, "settings.response_types", "needs the code response type"},
		{"plain token response", AppTypeWeb, func(a *Application) { a.ResponseTypes = []string{ResponseCode, "token"} }, "settings.response_types", "unknown response type"},
		{"duplicate response", AppTypeWeb, func(a *Application) { a.ResponseTypes = []string{ResponseCode, ResponseCode} }, "settings.response_types", "twice"},

		// Redirect URIs.
		{"missing redirect", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{} }, "settings.redirect_uris", "at least one"},
		{"redirect without redirect grant", AppTypeWeb, func(a *Application) { a.GrantTypes = []string{GrantClientCredentials} }, "settings.redirect_uris", "remove them"},
		{"api redirect", AppTypeAPI, func(a *Application) { a.RedirectURIs = []string{"https://api.example/cb"} }, "settings.redirect_uris", "remove them"},
		{"web http remote", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"http://app.example/cb"} }, "settings.redirect_uris", "loopback"},
		{"web http localhost", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"http://localhost:8080/cb"} }, "", ""},
		{"web http 127.0.0.1", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"http://127.0.0.1/cb"} }, "", ""},
		{"web http [::1]", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"http://[::1]:3000/cb"} }, "", ""},
		{"web http 127.0.0.2", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"http://127.0.0.2/cb"} }, "settings.redirect_uris", "loopback"},
		{"web localhost suffix trick", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"http://localhost.evil.example/cb"} }, "settings.redirect_uris", "loopback"},
		{"web custom scheme", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"com.example.app:/cb"} }, "settings.redirect_uris", "https"},
		{"web with query", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"https://app.example/cb?tenant=1"} }, "", ""},
		{"fragment", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"https://app.example/cb#x"} }, "settings.redirect_uris", "fragment"},
		{"wildcard host", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"https://*.app.example/cb"} }, "settings.redirect_uris", "wildcards"},
		{"wildcard path", AppTypeSPA, func(a *Application) { a.RedirectURIs = []string{"https://app.example/*"} }, "settings.redirect_uris", "wildcards"},
		{"relative", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"/cb"} }, "settings.redirect_uris", "absolute"},
		{"user info", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"https://user:pw@app.example/cb"} }, "settings.redirect_uris", "user information"},
		{"https without host", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"https:///cb"} }, "settings.redirect_uris", "host"},
		{"space", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"https://app.example/c b"} }, "settings.redirect_uris", "spaces"},
		{"javascript", AppTypeSPA, func(a *Application) { a.RedirectURIs = []string{"javascript:alert(1)"} }, "settings.redirect_uris", "https"},
		{"too long", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{long} }, "settings.redirect_uris", "2048"},
		{"too many", AppTypeWeb, func(a *Application) { a.RedirectURIs = many }, "settings.redirect_uris", "at most 32"},
		{"exactly 32", AppTypeWeb, func(a *Application) { a.RedirectURIs = many[:32] }, "", ""},
		{"duplicate", AppTypeWeb, func(a *Application) { a.RedirectURIs = []string{"https://a.example/cb", "https://a.example/cb"} }, "settings.redirect_uris", "twice"},
		{"spa http loopback", AppTypeSPA, func(a *Application) { a.RedirectURIs = []string{"http://localhost:5173/"} }, "", ""},
		{"spa http remote", AppTypeSPA, func(a *Application) { a.RedirectURIs = []string{"http://spa.example/"} }, "settings.redirect_uris", "loopback"},
		{"native private-use", AppTypeNative, func(a *Application) {
			a.RedirectURIs = []string{"com.example.app:/oauth2redirect/provider", "com.example.app://callback"}
		}, "", ""},
		{"native https claimed", AppTypeNative, func(a *Application) { a.RedirectURIs = []string{"https://app.example/native/cb"} }, "", ""},
		{"native loopback ip", AppTypeNative, func(a *Application) { a.RedirectURIs = []string{"http://127.0.0.1:51000/cb", "http://[::1]/cb"} }, "", ""},
		{"native localhost", AppTypeNative, func(a *Application) { a.RedirectURIs = []string{"http://localhost:51000/cb"} }, "settings.redirect_uris", "RFC 8252 §8.3"},
		{"native scheme without dot", AppTypeNative, func(a *Application) { a.RedirectURIs = []string{"myapp:/cb"} }, "settings.redirect_uris", "reverse domain-name"},
		{"native scheme without path", AppTypeNative, func(a *Application) { a.RedirectURIs = []string{"com.example.app:"} }, "settings.redirect_uris", "path"},
		{"native http remote", AppTypeNative, func(a *Application) { a.RedirectURIs = []string{"http://app.example/cb"} }, "settings.redirect_uris", "loopback"},

		// Post-logout redirect URIs.
		{"post logout ok", AppTypeWeb, func(a *Application) { a.PostLogoutRedirectURIs = []string{"https://app.example/", "http://localhost/"} }, "", ""},
		{"post logout http", AppTypeWeb, func(a *Application) { a.PostLogoutRedirectURIs = []string{"http://app.example/"} }, "settings.post_logout_redirect_uris", "loopback"},
		{"post logout fragment", AppTypeSPA, func(a *Application) { a.PostLogoutRedirectURIs = []string{"https://app.example/#/bye"} }, "settings.post_logout_redirect_uris", "fragment"},
		{"post logout native scheme", AppTypeNative, func(a *Application) { a.PostLogoutRedirectURIs = []string{"com.example.app:/logout"} }, "", ""},
		{"post logout api", AppTypeAPI, func(a *Application) { a.PostLogoutRedirectURIs = []string{"https://api.example/"} }, "settings.post_logout_redirect_uris", "api"},

		// Token format and lifetimes.
		{"opaque", AppTypeAPI, func(a *Application) { a.AccessTokenFormat = TokenFormatOpaque }, "", ""},
		{"bad format", AppTypeWeb, func(a *Application) { a.AccessTokenFormat = "paseto" }, "settings.access_token_format", "jwt or opaque"},
		{"access min", AppTypeWeb, func(a *Application) { a.AccessTokenLifetime = time.Minute }, "", ""},
		{"access too short", AppTypeWeb, func(a *Application) { a.AccessTokenLifetime = 59 * time.Second }, "settings.access_token_lifetime", "between 1m and 24h"},
		{"access too long", AppTypeWeb, func(a *Application) { a.AccessTokenLifetime = 24*time.Hour + 1 }, "settings.access_token_lifetime", "24h"},
		{"access negative", AppTypeWeb, func(a *Application) { a.AccessTokenLifetime = -time.Hour }, "settings.access_token_lifetime", ""},
		{"id max", AppTypeWeb, func(a *Application) { a.IDTokenLifetime = 24 * time.Hour }, "", ""},
		{"id too short", AppTypeWeb, func(a *Application) { a.IDTokenLifetime = time.Second }, "settings.id_token_lifetime", "1m"},
		{"refresh max", AppTypeWeb, func(a *Application) { a.RefreshTokenLifetime = 8760 * time.Hour }, "", ""},
		{"refresh too short", AppTypeWeb, func(a *Application) { a.RefreshTokenLifetime = 59 * time.Minute }, "settings.refresh_token_lifetime", "between 1h and 8760h"},
		{"refresh too long", AppTypeWeb, func(a *Application) { a.RefreshTokenLifetime = 8761 * time.Hour }, "settings.refresh_token_lifetime", "8760h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestApp(tc.typ, tc.mutate)
			err := a.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want valid", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != Invalid {
				t.Fatalf("Validate = %v, want Invalid %s", err, tc.field)
			}
			full := e.Error()
			if !strings.Contains(full, tc.field+": ") || !strings.Contains(full, tc.msg) {
				t.Fatalf("Validate = %q, want field %s with %q", full, tc.field, tc.msg)
			}
		})
	}
}

// TestApplicationPublicPKCE: PKCE cannot be switched off for public clients
// once defaults ran, and Validate insists if they did not.
func TestApplicationPublicPKCE(t *testing.T) {
	t.Parallel()
	a := newTestApp(AppTypeNative, nil)
	a.PKCERequired = false
	err := a.Validate()
	if err == nil || !strings.Contains(err.Error(), "settings.pkce_required") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestApplicationReportsEveryProblem(t *testing.T) {
	t.Parallel()
	a := newTestApp(AppTypeSPA, func(a *Application) {
		a.Name = ""
		a.AuthMethod = AuthClientSecretPost
		a.GrantTypes = []string{GrantAuthorizationCode, GrantClientCredentials}
		a.RedirectURIs = []string{"http://spa.example/cb"}
		a.AccessTokenLifetime = time.Second
	})
	err := a.Validate()
	for _, want := range []string{"settings.name", "settings.auth_method", "settings.grant_types", "settings.redirect_uris", "settings.access_token_lifetime"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, lacks %s", err, want)
		}
	}
}

func TestProjectRoleAndGrantValidation(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"admin": "", "shop:admin": "", "a.b_c-d:E9": "", strings.Repeat("k", 200): "",
		"": "empty", strings.Repeat("k", 201): "200", "a b": "may contain only", "ä": "may contain only", "a/b": "may contain only",
	} {
		got := ValidateRoleKey(key)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("ValidateRoleKey(%q) = %q, want %q", key, got, want)
		}
	}
	r := &ProjectRole{ProjectID: "p", Key: "bad key", DisplayName: strings.Repeat("d", 201), Group: "g\x00"}
	err := r.Validate()
	for _, want := range []string{"key:", "display_name:", "group:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("role Validate = %v, lacks %s", err, want)
		}
	}
	pg := &ProjectGrant{OrgID: "o", ProjectID: "p", GrantedOrgID: "o", RoleKeys: []string{"a", "a", "b c"}, State: StateActive}
	err = pg.Validate()
	for _, want := range []string{"granted_org_id: must differ", "listed twice", `"b c"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("project grant Validate = %v, lacks %s", err, want)
		}
	}
	ug := &UserGrant{OrgID: "o", State: "x"}
	err = ug.Validate()
	for _, want := range []string{"user_id", "project_id", "state"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("user grant Validate = %v, lacks %s", err, want)
		}
	}
	p := &Project{OrgID: "o", Name: " Shop ", State: StateActive}
	p.Normalize()
	if err := p.Validate(); err != nil || p.Name != "Shop" || p.NameKey() != "shop" {
		t.Fatalf("project %+v: %v", p, err)
	}
}
