package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	rcrypto "github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/token"
	"github.com/rampartiam/rampart/internal/user"
)

// Paths of the provider's endpoints (also in the discovery document).
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathAuthorize     = "/oauth/authorize"
	PathToken         = "/oauth/token"
	PathIntrospect    = "/oauth/introspect"
	PathUserinfo      = "/oauth/userinfo"
	PathRevoke        = "/oauth/revoke"
	PathEndSession    = "/oauth/end_session"
	PathKeys          = "/oauth/keys"
	PathDeviceAuthz   = "/oauth/device_authorization"
	PathLogin         = "/ui/login"
	PathDevice        = "/ui/device"
	PathLoggedOut     = "/ui/logged-out"
	maxProtocolBody   = 64 << 10
	deviceLifetime    = 10 * time.Minute
	devicePollSeconds = 5
)

// Options configure the provider.
type Options struct {
	Users    *user.Service
	Projects *project.Service
	Tokens   *token.Service
	Keys     *token.Keys
	Keyring  *rcrypto.Keyring
	Secrets  *rcrypto.SecretHasher
	// ExternalURL decides the scheme of every issuer (an instance's issuer
	// is scheme://<the Host it was reached at>).
	ExternalURL string
	Log         *slog.Logger
}

// Provider is Rampart's OpenID Provider: the library's op.Provider on
// Rampart's storage, plus the minimal login and device pages.
type Provider struct {
	op      *op.Provider
	srv     *server
	st      *storage
	handler http.Handler
	scheme  string
	log     *slog.Logger
}

// cryptoPurpose derives the key the library encrypts authorization codes
// and opaque access tokens with; every node derives the same key.
const cryptoPurpose = "rampart oidc token encryption v1"

// New builds the provider.
func New(o Options) (*Provider, error) {
	u, err := url.Parse(o.ExternalURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("oidc: external URL %q: want http(s)://host", o.ExternalURL)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	st := &storage{users: o.Users, projects: o.Projects, tokens: o.Tokens, keys: o.Keys, secrets: o.Secrets, log: o.Log, loginURL: PathLogin}
	var key [32]byte
	copy(key[:], o.Keyring.DeriveKey(cryptoPurpose))
	cfg := &op.Config{
		CryptoKey:                key,
		DefaultLogoutRedirectURI: PathLoggedOut,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		AuthMethodPrivateKeyJWT:  true,
		GrantTypeRefreshToken:    true,
		RequestObjectSupported:   false,
		SupportedUILocales:       []language.Tag{language.English, language.German},
		SupportedScopes: []string{
			oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess,
			ScopeAdmin, ScopeOwnProjectRoles,
		},
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime: deviceLifetime, PollInterval: devicePollSeconds * time.Second,
			UserFormPath: PathDevice, UserCode: op.UserCodeBase20,
		},
	}
	scheme := u.Scheme
	issuer := func(bool) (op.IssuerFromRequest, error) {
		return func(r *http.Request) string { return scheme + "://" + r.Host }, nil
	}
	opts := []op.Option{op.WithLogger(o.Log)}
	if scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(cfg, st, issuer, opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	endpoints := op.Endpoints{
		Authorization:       op.NewEndpoint(strings.TrimPrefix(PathAuthorize, "/")),
		Token:               op.NewEndpoint(strings.TrimPrefix(PathToken, "/")),
		Introspection:       op.NewEndpoint(strings.TrimPrefix(PathIntrospect, "/")),
		Userinfo:            op.NewEndpoint(strings.TrimPrefix(PathUserinfo, "/")),
		Revocation:          op.NewEndpoint(strings.TrimPrefix(PathRevoke, "/")),
		EndSession:          op.NewEndpoint(strings.TrimPrefix(PathEndSession, "/")),
		JwksURI:             op.NewEndpoint(strings.TrimPrefix(PathKeys, "/")),
		DeviceAuthorization: op.NewEndpoint(strings.TrimPrefix(PathDeviceAuthz, "/")),
	}
	srv := &server{LegacyServer: op.NewLegacyServer(provider, endpoints), provider: provider, st: st}
	p := &Provider{op: provider, srv: srv, st: st, scheme: scheme, log: o.Log}
	inner := op.RegisterLegacyServer(srv, op.AuthorizeCallbackHandler(provider))
	p.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if postOnly(w, r) {
			return // answered
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxProtocolBody)
		}
		if r.URL.Path == PathUserinfo {
			w = &bearerChallenge{ResponseWriter: w}
		}
		inner.ServeHTTP(w, r.WithContext(withMemo(r.Context())))
	})
	return p, nil
}

// postOnly answers a request to an endpoint that takes its parameters in
// a POST body only — token, introspection, revocation and device
// authorization — if it is not such a POST, and reports whether it did.
// RFC 6749 §3.2 requires POST at the token endpoint and §2.3.1 forbids
// credentials in the request URI, where they would reach access logs; the
// library would take them from the query of any method. CORS preflights
// (OPTIONS) pass.
func postOnly(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case PathToken, PathIntrospect, PathRevoke, PathDeviceAuthz:
	default:
		return false
	}
	switch {
	case r.Method == http.MethodOptions:
		return false
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", "POST")
		writeOAuthError(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("use POST"))
		return true
	case r.URL.RawQuery != "":
		writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("parameters belong in the request body, not the URI"))
		return true
	}
	return false
}

func writeOAuthError(w http.ResponseWriter, status int, e *oidc.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// Issuer returns the issuer for a request: the external URL's scheme and
// the Host the request came to.
func (p *Provider) Issuer(r *http.Request) string { return p.scheme + "://" + r.Host }

// Routes returns the handlers to mount, by pattern, behind the tenant
// middleware (which puts the instance into the context).
func (p *Provider) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		PathDiscovery: p.handler,
		"/oauth/":     p.handler,
	}
}

// Ready reports whether the provider can sign tokens (its readiness check).
func (p *Provider) Ready(ctx context.Context) error {
	set, err := p.st.keys.Set(ctx)
	if err != nil {
		return err
	}
	if set.Signer(p.st.tokens.Now()) == nil {
		return errors.New("no signing key")
	}
	return nil
}

// CallbackURL is where the login pages send the browser once the user has
// authenticated: the library's authorize callback, which issues the code.
func (p *Provider) CallbackURL(r *http.Request, authRequestID string) string {
	ctx := op.ContextWithIssuer(r.Context(), p.Issuer(r))
	return p.srv.AuthCallbackURL()(ctx, authRequestID)
}

// adminUser authenticates an OIDC access token for the admin API: a JWT
// or opaque token of this instance's issuer whose audience includes
// AdminAudience, unexpired and unrevoked, of an active user.
func (p *Provider) adminUser(ctx context.Context, instanceID, tok string) (*iam.User, error) {
	ctx = withMemo(ctx)
	var tokenID, subject string
	if plain, err := p.op.Crypto().Decrypt(tok); err == nil {
		id, sub, ok := strings.Cut(plain, ":")
		if !ok {
			return nil, errInactive
		}
		tokenID, subject = id, sub
	} else {
		claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, tok, p.op.AccessTokenVerifier(ctx))
		if err != nil {
			return nil, errInactive
		}
		tokenID, subject = claims.JWTID, claims.Subject
		memoFrom(ctx).rawToken = tok
	}
	v, err := p.st.checkToken(ctx, tokenID, subject)
	if err != nil {
		return nil, err
	}
	if v.userID == "" || !slices.Contains(v.audience, AdminAudience) {
		return nil, errors.New("the token is not for the admin API (scope " + ScopeAdmin + ")")
	}
	return p.st.user(ctx, v.userID)
}

// WithIssuer puts the request's issuer into the context, for handlers
// outside the provider that verify its tokens (the admin API).
func (p *Provider) WithIssuer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(op.ContextWithIssuer(r.Context(), p.Issuer(r))))
	})
}

// AdminAuthenticator returns the admin API's authenticator: personal
// access tokens (prefix "rpat_") go to pat, everything else must be an
// OIDC access token for AdminAudience. Failures are iam.Unauthenticated.
func (p *Provider) AdminAuthenticator(pat func(ctx context.Context, instanceID, token string) (*iam.User, error)) func(ctx context.Context, instanceID, token string) (*iam.User, error) {
	return func(ctx context.Context, instanceID, tok string) (*iam.User, error) {
		if strings.HasPrefix(tok, "rpat_") {
			return pat(ctx, instanceID, tok)
		}
		if len(tok) > 8<<10 {
			return nil, &iam.Error{Code: iam.Unauthenticated, Message: "invalid access token"}
		}
		u, err := p.adminUser(ctx, instanceID, tok)
		switch {
		case err != nil && isFault(err):
			return nil, err
		case err != nil:
			return nil, &iam.Error{Code: iam.Unauthenticated, Message: "invalid access token", Err: err}
		case u.InstanceID != instanceID || u.State != iam.UserActive:
			return nil, &iam.Error{Code: iam.Unauthenticated, Message: "invalid access token"}
		}
		return u, nil
	}
}

// bearerChallenge adds the WWW-Authenticate challenge RFC 6750 §3 requires
// of a protected resource's 401 and 403 answers (userinfo).
type bearerChallenge struct {
	http.ResponseWriter
}

func (b *bearerChallenge) WriteHeader(status int) {
	switch status {
	case http.StatusUnauthorized:
		b.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	case http.StatusForbidden:
		b.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
	}
	b.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (b *bearerChallenge) Unwrap() http.ResponseWriter { return b.ResponseWriter }
