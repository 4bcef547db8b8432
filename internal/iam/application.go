package iam

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AppType is the kind of OAuth client an application is. It decides whether
// the client is confidential or public (RFC 6749 §2.1) and which redirect
// URIs, grant types and authentication methods it may use.
type AppType string

// Application types.
const (
	// AppTypeWeb is a server-side web application: a confidential client
	// that keeps its credentials on a server.
	AppTypeWeb AppType = "web"
	// AppTypeNative is a native or mobile application: a public client
	// (RFC 8252 §8.5), always with PKCE.
	AppTypeNative AppType = "native"
	// AppTypeSPA is a single-page application running in a browser: a
	// public client, always with PKCE.
	AppTypeSPA AppType = "spa"
	// AppTypeAPI is an API or service acting on its own behalf: a
	// confidential client without an end user (client credentials,
	// introspection, token exchange).
	AppTypeAPI AppType = "api"
)

// Valid reports whether t is a known type.
func (t AppType) Valid() bool {
	return t == AppTypeWeb || t == AppTypeNative || t == AppTypeSPA || t == AppTypeAPI
}

// Public reports whether applications of this type are public clients: code
// that runs on the user's device cannot keep a secret (RFC 6749 §2.1,
// RFC 8252 §8.5), so they authenticate with "none" and must use PKCE.
func (t AppType) Public() bool { return t == AppTypeNative || t == AppTypeSPA }

// AppAuthMethod is how a client authenticates at the token endpoint
// (the token_endpoint_auth_method of OpenID Connect Dynamic Client
// Registration §2).
type AppAuthMethod string

// Client authentication methods.
const (
	AuthClientSecretBasic AppAuthMethod = "client_secret_basic"
	AuthClientSecretPost  AppAuthMethod = "client_secret_post"
	AuthPrivateKeyJWT     AppAuthMethod = "private_key_jwt"
	AuthNone              AppAuthMethod = "none"
)

// Valid reports whether m is a known method.
func (m AppAuthMethod) Valid() bool {
	return m == AuthClientSecretBasic || m == AuthClientSecretPost || m == AuthPrivateKeyJWT || m == AuthNone
}

// UsesSecret reports whether clients with this method authenticate with a
// server-generated client secret.
func (m AppAuthMethod) UsesSecret() bool {
	return m == AuthClientSecretBasic || m == AuthClientSecretPost
}

// AccessTokenFormat is the format of the access tokens issued to a client.
type AccessTokenFormat string

// Access token formats.
const (
	// TokenFormatJWT: self-contained signed JWTs (RFC 9068), verifiable by
	// resource servers without a round trip.
	TokenFormatJWT AccessTokenFormat = "jwt"
	// TokenFormatOpaque: random references, checked by introspection
	// (RFC 7662) and revocable at once.
	TokenFormatOpaque AccessTokenFormat = "opaque"
)

// Valid reports whether f is a known format.
func (f AccessTokenFormat) Valid() bool { return f == TokenFormatJWT || f == TokenFormatOpaque }

// OAuth grant types an application may be allowed.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantImplicit          = "implicit"
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// AllGrantTypes lists every supported grant type.
var AllGrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantImplicit, GrantJWTBearer, GrantDeviceCode, GrantTokenExchange}

// OAuth/OpenID Connect response types an application may be allowed.
const (
	ResponseCode         = "code"
	ResponseIDToken      = "id_token"
	ResponseIDTokenToken = "id_token token"
)

// AllResponseTypes lists every supported response type.
var AllResponseTypes = []string{ResponseCode, ResponseIDToken, ResponseIDTokenToken}

// Token lifetime defaults and bounds.
const (
	DefaultAccessTokenLifetime  = time.Hour
	DefaultIDTokenLifetime      = time.Hour
	DefaultRefreshTokenLifetime = 720 * time.Hour

	MinAccessTokenLifetime  = time.Minute
	MaxAccessTokenLifetime  = 24 * time.Hour
	MinIDTokenLifetime      = time.Minute
	MaxIDTokenLifetime      = 24 * time.Hour
	MinRefreshTokenLifetime = time.Hour
	MaxRefreshTokenLifetime = 8760 * time.Hour
)

// Redirect URI limits.
const (
	MaxRedirectURIs      = 32
	MaxRedirectURILength = 2048
	// MaxClientIDLength bounds fixed client IDs.
	MaxClientIDLength = 200
)

// Application is an OAuth 2.0 / OpenID Connect client of a project.
//
// Its rules, checked by Validate after ApplyDefaults has filled what the
// caller left empty, follow RFC 6749, RFC 8252 (native apps), RFC 9700
// (the OAuth 2.0 Security Best Current Practice) and OpenID Connect:
//
//   - Confidentiality is decided by the type. Native and SPA applications
//     are public clients: their code runs on the user's device and cannot
//     keep a secret (RFC 6749 §2.1, RFC 8252 §8.5), so their auth method is
//     always "none" and PKCE is forced on (RFC 9700 §2.1.1, RFC 8252 §8.1).
//     Web and API applications are confidential and must authenticate
//     (client_secret_basic, client_secret_post or private_key_jwt): "none" is
//     refused for them.
//   - Grant types are a subset of AllGrantTypes, without duplicates, at
//     least one. Public clients cannot use client_credentials (RFC 6749
//     §4.4: confidential clients only). API applications have no end user
//     and no user agent: no authorization_code, implicit or device_code.
//     Native applications cannot use implicit (RFC 8252 §8.2: PKCE'd code
//     flow instead). refresh_token needs a grant that may issue refresh
//     tokens (authorization_code, device_code, jwt-bearer, token-exchange):
//     implicit must not (RFC 6749 §4.2.2) and client_credentials should not
//     (§4.4.3). implicit is never a default, only allowed when asked for
//     (RFC 9700 §2.1.2 discourages tokens in the authorization response).
//   - Response types are a subset of AllResponseTypes, consistent with the
//     grant types: "code" if and only if authorization_code; "id_token" and
//     "id_token token" only with implicit, and implicit needs one of them.
//     Plain "token" (the OAuth implicit grant) is not supported (RFC 9700
//     §2.1.2).
//   - Redirect URIs are required when authorization_code or implicit is
//     allowed and refused otherwise (RFC 6749 §3.1.2). Each is an absolute
//     URI without fragment (§3.1.2), without wildcards or user info, compared
//     exactly at authorization time (RFC 9700 §4.1.3). By type: web — https,
//     or http on localhost, 127.0.0.1 or [::1] for development; spa — https
//     or http on those loopback hosts; native — a private-use scheme in
//     reverse domain-name form such as com.example.app:/cb (RFC 8252 §7.1),
//     https (§7.2), or http on the loopback IP literals 127.0.0.1 or [::1]
//     (§7.3; "localhost" is NOT RECOMMENDED, §8.3). At most 32 URIs of at
//     most 2048 characters, no duplicates.
//   - Post-logout redirect URIs follow the same scheme rules and limits; API
//     applications have none (nobody logs in).
//   - Lifetimes: access and ID tokens 1 minute to 24 hours (default 1 hour),
//     refresh tokens 1 hour to 8760 hours (default 720 hours).
//   - The client ID is generated unless a fixed one is given (bootstrap):
//     1 to 200 letters, digits, '.', '_', '~', '@' or '-'.
//   - Client secrets exist only for client_secret_basic and
//     client_secret_post; they are generated by the server (256 bits),
//     shown once and stored only as a keyed hash (SecretHash).
type Application struct {
	ID         string
	InstanceID string
	OrgID      string
	ProjectID  string
	Name       string
	Type       AppType
	ClientID   string
	// SecretHash is the keyed hash of the client secret, nil if the client
	// has none.
	SecretHash             []byte
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string
	ResponseTypes          []string
	AuthMethod             AppAuthMethod
	AccessTokenFormat      AccessTokenFormat
	AccessTokenLifetime    time.Duration
	IDTokenLifetime        time.Duration
	RefreshTokenLifetime   time.Duration
	// PKCERequired makes the authorization endpoint refuse requests without
	// a code_challenge (RFC 7636). Always true for public clients.
	PKCERequired bool
	// ConsentRequired makes the hosted login ask the user to approve the
	// scopes the application asks for before it gets a code or token (for
	// third-party applications). An approval is remembered per user and
	// application and covers the scopes approved; more scopes ask again.
	ConsentRequired bool
	State           State
	CreatedAt       time.Time
	ChangedAt       time.Time
	// Version increases by one with every change; updates name the version
	// they read (optimistic concurrency).
	Version int64
}

// Public reports whether the application is a public client.
func (a *Application) Public() bool { return a.Type.Public() }

// Normalize trims the name.
func (a *Application) Normalize() { a.Name = strings.TrimSpace(a.Name) }

// ApplyDefaults fills the settings the caller left at their zero value with
// the defaults of the application's type, and forces PKCE for public
// clients:
//
//	        auth method          grant types                        response types
//	web     client_secret_basic  authorization_code, refresh_token  code
//	native  none                 authorization_code, refresh_token  code
//	spa     none                 authorization_code, refresh_token  code
//	api     client_secret_basic  client_credentials                 —
//
// Response types default to "code" when authorization_code is allowed;
// access token format to jwt; lifetimes to 1h / 1h / 720h; state to active.
// Values the caller set are kept even when invalid: Validate reports them.
func (a *Application) ApplyDefaults() {
	if a.AuthMethod == "" {
		if a.Type.Public() {
			a.AuthMethod = AuthNone
		} else {
			a.AuthMethod = AuthClientSecretBasic
		}
	}
	if len(a.GrantTypes) == 0 {
		switch a.Type {
		case AppTypeWeb, AppTypeNative, AppTypeSPA:
			a.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
		case AppTypeAPI:
			a.GrantTypes = []string{GrantClientCredentials}
		}
	}
	if len(a.ResponseTypes) == 0 && slices.Contains(a.GrantTypes, GrantAuthorizationCode) {
		a.ResponseTypes = []string{ResponseCode}
	}
	if a.AccessTokenFormat == "" {
		a.AccessTokenFormat = TokenFormatJWT
	}
	if a.AccessTokenLifetime == 0 {
		a.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if a.IDTokenLifetime == 0 {
		a.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if a.RefreshTokenLifetime == 0 {
		a.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	if a.Type.Public() {
		a.PKCERequired = true
	}
	if a.State == "" {
		a.State = StateActive
	}
}

// Validate reports every problem of the application at once. Settings are
// named as in the API ("settings.redirect_uris"). See Application for the
// rules.
func (a *Application) Validate() error {
	var fe FieldErrors
	if a.OrgID == "" {
		fe.Add("org_id", "required")
	}
	if a.ProjectID == "" {
		fe.Add("project_id", "required")
	}
	if !a.Type.Valid() {
		fe.Add("type", "must be web, native, spa or api")
	}
	if msg := ValidateClientID(a.ClientID); msg != "" {
		fe.Add("client_id", "%s", msg)
	}
	validateProjectText(&fe, "settings.name", a.Name, MaxProjectNameLength, true)
	a.validateAuthMethod(&fe)
	a.validateGrantTypes(&fe)
	a.validateResponseTypes(&fe)
	a.validateRedirectURIs(&fe)
	if !a.AccessTokenFormat.Valid() {
		fe.Add("settings.access_token_format", "must be jwt or opaque")
	}
	validateAppLifetime(&fe, "settings.access_token_lifetime", a.AccessTokenLifetime, MinAccessTokenLifetime, MaxAccessTokenLifetime)
	validateAppLifetime(&fe, "settings.id_token_lifetime", a.IDTokenLifetime, MinIDTokenLifetime, MaxIDTokenLifetime)
	validateAppLifetime(&fe, "settings.refresh_token_lifetime", a.RefreshTokenLifetime, MinRefreshTokenLifetime, MaxRefreshTokenLifetime)
	if a.Type.Public() && !a.PKCERequired {
		fe.Add("settings.pkce_required", "public clients must use PKCE (RFC 9700 §2.1.1)")
	}
	if !a.State.Valid() {
		fe.Add("state", "must be %q or %q", StateActive, StateInactive)
	}
	return fe.Err()
}

func (a *Application) validateAuthMethod(fe *FieldErrors) {
	const field = "settings.auth_method"
	switch {
	case !a.AuthMethod.Valid():
		fe.Add(field, "must be client_secret_basic, client_secret_post, private_key_jwt or none")
	case !a.Type.Valid():
	case a.Type.Public() && a.AuthMethod != AuthNone:
		fe.Add(field, "%s applications are public clients and cannot keep credentials: use none (RFC 8252 §8.5)", a.Type)
	case !a.Type.Public() && a.AuthMethod == AuthNone:
		fe.Add(field, "%s applications are confidential clients and must authenticate: none is only for native and spa applications", a.Type)
	}
}

// grantsIssuingRefreshTokens may issue a refresh token alongside the access
// token.
var grantsIssuingRefreshTokens = []string{GrantAuthorizationCode, GrantDeviceCode, GrantJWTBearer, GrantTokenExchange}

func (a *Application) validateGrantTypes(fe *FieldErrors) {
	const field = "settings.grant_types"
	if len(a.GrantTypes) == 0 {
		fe.Add(field, "at least one grant type is required")
		return
	}
	for i, g := range a.GrantTypes {
		switch {
		case !slices.Contains(AllGrantTypes, g):
			fe.Add(field, "unknown grant type %q", g)
		case slices.Contains(a.GrantTypes[:i], g):
			fe.Add(field, "%q is listed twice", g)
		case a.Type.Public() && g == GrantClientCredentials:
			fe.Add(field, "public clients (%s) cannot use client_credentials (RFC 6749 §4.4)", a.Type)
		case a.Type == AppTypeAPI && (g == GrantAuthorizationCode || g == GrantImplicit || g == GrantDeviceCode):
			fe.Add(field, "api applications have no end user and cannot use %s", g)
		case a.Type == AppTypeNative && g == GrantImplicit:
			fe.Add(field, "native applications use authorization_code with PKCE, not implicit (RFC 8252 §8.2)")
		}
	}
	if slices.Contains(a.GrantTypes, GrantRefreshToken) && !slices.ContainsFunc(a.GrantTypes, func(g string) bool {
		return slices.Contains(grantsIssuingRefreshTokens, g)
	}) {
		fe.Add(field, "refresh_token needs a grant type that issues refresh tokens: authorization_code, device_code, jwt-bearer or token-exchange")
	}
}

func (a *Application) validateResponseTypes(fe *FieldErrors) {
	const field = "settings.response_types"
	code := slices.Contains(a.GrantTypes, GrantAuthorizationCode)
	implicit := slices.Contains(a.GrantTypes, GrantImplicit)
	for i, r := range a.ResponseTypes {
		switch {
		case !slices.Contains(AllResponseTypes, r):
			fe.Add(field, "unknown response type %q: use code, id_token or \"id_token token\"", r)
		case slices.Contains(a.ResponseTypes[:i], r):
			fe.Add(field, "%q is listed twice", r)
		case r == ResponseCode && !code:
			fe.Add(field, "code needs the authorization_code grant type")
		case r != ResponseCode && !implicit:
			fe.Add(field, "%q needs the implicit grant type", r)
		}
	}
	if code && !slices.Contains(a.ResponseTypes, ResponseCode) {
		fe.Add(field, "the authorization_code grant type needs the code response type")
	}
	if implicit && !slices.Contains(a.ResponseTypes, ResponseIDToken) && !slices.Contains(a.ResponseTypes, ResponseIDTokenToken) {
		fe.Add(field, "the implicit grant type needs the response type id_token or \"id_token token\"")
	}
}

func (a *Application) validateRedirectURIs(fe *FieldErrors) {
	redirecting := slices.Contains(a.GrantTypes, GrantAuthorizationCode) || slices.Contains(a.GrantTypes, GrantImplicit)
	switch {
	case redirecting && len(a.RedirectURIs) == 0:
		fe.Add("settings.redirect_uris", "at least one redirect URI is required for authorization_code and implicit (RFC 6749 §3.1.2)")
	case !redirecting && len(a.RedirectURIs) > 0:
		fe.Add("settings.redirect_uris", "redirect URIs are used only by the authorization_code and implicit grant types; remove them")
	default:
		a.validateURIList(fe, "settings.redirect_uris", a.RedirectURIs)
	}
	if a.Type == AppTypeAPI && len(a.PostLogoutRedirectURIs) > 0 {
		fe.Add("settings.post_logout_redirect_uris", "api applications have no end-user sessions to log out of")
	} else {
		a.validateURIList(fe, "settings.post_logout_redirect_uris", a.PostLogoutRedirectURIs)
	}
}

func (a *Application) validateURIList(fe *FieldErrors, field string, uris []string) {
	if len(uris) > MaxRedirectURIs {
		fe.Add(field, "at most %d URIs", MaxRedirectURIs)
		return
	}
	for i, u := range uris {
		if msg := ValidateRedirectURI(a.Type, u); msg != "" {
			fe.Add(field, "%q: %s", clipURI(u, 100), msg)
		} else if slices.Contains(uris[:i], u) {
			fe.Add(field, "%q is listed twice", clipURI(u, 100))
		}
	}
}

// clipURI shortens a URI for an error message.
func clipURI(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ValidateRedirectURI returns "" when u is an acceptable redirect (or
// post-logout redirect) URI for an application of type t, else a user-safe
// description of the problem. See Application for the rules.
func ValidateRedirectURI(t AppType, u string) string {
	switch {
	case u == "":
		return "must not be empty"
	case len(u) > MaxRedirectURILength:
		return fmt.Sprintf("must be at most %d characters", MaxRedirectURILength)
	case strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "must not contain spaces or control characters"
	case strings.Contains(u, "#"):
		return "must not contain a fragment (RFC 6749 §3.1.2)"
	case strings.Contains(u, "*"):
		return "wildcards are not allowed: register each URI exactly (RFC 9700 §4.1.3)"
	}
	p, err := url.Parse(u)
	if err != nil {
		return "is not a valid URI"
	}
	if p.Scheme == "" {
		return "must be an absolute URI with a scheme (RFC 6749 §3.1.2)"
	}
	if p.User != nil {
		return "must not contain user information"
	}
	switch p.Scheme {
	case "https":
		if p.Hostname() == "" {
			return "must name a host"
		}
		return ""
	case "http":
		host := strings.ToLower(p.Hostname())
		switch {
		case host == "":
			return "must name a host"
		case t == AppTypeNative && (host == "127.0.0.1" || host == "::1"):
			return ""
		case t == AppTypeNative && host == "localhost":
			return "native applications must use the loopback IP literal 127.0.0.1 or [::1] instead of localhost (RFC 8252 §8.3)"
		case t != AppTypeNative && (host == "localhost" || host == "127.0.0.1" || host == "::1"):
			return ""
		}
		return "http is allowed only on loopback hosts (localhost, 127.0.0.1, [::1]); use https"
	}
	if t != AppTypeNative {
		return "must use https (or http on a loopback host)"
	}
	// RFC 8252 §7.1: a private-use URI scheme based on a domain name under
	// the app's control, in reverse order, e.g. com.example.app:/callback.
	if !strings.Contains(p.Scheme, ".") {
		return "native applications use https, http on 127.0.0.1 or [::1], or a private-use scheme in reverse domain-name form such as com.example.app:/callback (RFC 8252 §7.1)"
	}
	if p.Host == "" && p.Path == "" && p.Opaque == "" {
		return "must have a path after the scheme, like com.example.app:/callback"
	}
	return ""
}

// ValidateClientID returns "" when id is an acceptable client ID: 1 to 200
// letters, digits, '.', '_', '~', '@' or '-'.
func ValidateClientID(id string) string {
	if id == "" {
		return "must not be empty"
	}
	if len(id) > MaxClientIDLength {
		return fmt.Sprintf("must be at most %d characters", MaxClientIDLength)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '~' || c == '@' || c == '-') {
			return "may contain only letters, digits, '.', '_', '~', '@' and '-'"
		}
	}
	return ""
}

func validateAppLifetime(fe *FieldErrors, field string, d, minD, maxD time.Duration) {
	if d < minD || d > maxD {
		fe.Add(field, "must be between %s and %s", appDuration(minD), appDuration(maxD))
	}
}

// appDuration formats a bound as "1m" or "24h".
func appDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}
