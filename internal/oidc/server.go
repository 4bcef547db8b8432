package oidc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/rampartiam/rampart/internal/iam"
)

// server is the library's LegacyServer with Rampart's stricter rules where
// the library is lenient. Everything not overridden is the library's.
type server struct {
	*op.LegacyServer
	provider *op.Provider
	st       *storage
}

// VerifyAuthRequest is the library's, with a stricter redirect URI rule
// for loopback redirects: the library lets a native client's loopback
// redirect URI differ from the registered one in scheme, host and port,
// RFC 8252 §7.3 only in the port. A redirect URI that is not registered is
// refused without redirecting (RFC 6749 §4.1.2.1).
func (s *server) VerifyAuthRequest(ctx context.Context, r *op.Request[oidc.AuthRequest]) (*op.ClientRequest[oidc.AuthRequest], error) {
	cr, err := s.LegacyServer.VerifyAuthRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	if uri := cr.Data.RedirectURI; uri != "" && !slices.Contains(cr.Client.RedirectURIs(), uri) && !loopbackRedirect(cr.Client.RedirectURIs(), uri) {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("the redirect_uri is not registered for this client")
	}
	return cr, nil
}

// loopbackRedirect reports whether uri is a registered loopback redirect
// URI with another port (RFC 8252 §7.3): http, the same IP literal, path
// and query, no user info or fragment.
func loopbackRedirect(registered []string, uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, reg := range registered {
		ru, err := url.Parse(reg)
		if err == nil && ru.Scheme == "http" && ru.Hostname() == u.Hostname() && ru.Path == u.Path && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

// VerifyClient authenticates the client at the token, revocation and
// device endpoints and enforces its registered grant types (RFC 6749
// §5.2 unauthorized_client). Client assertions (private_key_jwt) are
// accepted for every grant, client_credentials included. A failed client
// authentication is invalid_client with status 401 (RFC 6749 §5.2).
func (s *server) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	grant := r.Form.Get("grant_type")
	if grant == iam.GrantTokenExchange && !s.provider.GrantTypeTokenExchangeSupported() {
		return nil, oidc.ErrUnsupportedGrantType().WithDescription("token exchange is not supported")
	}
	var c op.Client
	var err error
	if r.Data.ClientAssertionType == oidc.ClientAssertionTypeJWTAssertion {
		c, err = s.clientAssertion(ctx, r.Data.ClientAssertion)
	} else {
		c, err = s.LegacyServer.VerifyClient(ctx, r)
	}
	if err != nil {
		oe := new(oidc.Error)
		if !errors.As(err, &oe) {
			oe = oidc.ErrInvalidClient().WithParent(err)
		}
		if oe.ErrorType == oidc.InvalidClient {
			return nil, op.NewStatusError(oe, http.StatusUnauthorized)
		}
		return nil, err
	}
	if ac, ok := c.(*appClient); ok {
		if err := registeredMethod(ac, r); err != nil {
			return nil, op.NewStatusError(err, http.StatusUnauthorized)
		}
		if grant != "" && !ac.allowsGrant(grant) {
			return nil, oidc.ErrUnauthorizedClient().WithDescription("the grant type is not enabled for this client")
		}
	}
	return c, nil
}

// registeredMethod enforces the client's registered authentication method
// (token_endpoint_auth_method, OpenID Connect Dynamic Client Registration
// §2): a client registered for client_secret_basic must not send its secret
// in the body, one registered for client_secret_post not in the header.
func registeredMethod(c *appClient, r *op.Request[op.ClientCredentials]) error {
	inBody := r.Form.Get("client_secret") != ""
	switch c.app.AuthMethod {
	case iam.AuthClientSecretBasic:
		if inBody {
			return oidc.ErrInvalidClient().WithDescription("the client is registered for client_secret_basic: send the secret in the Authorization header")
		}
	case iam.AuthClientSecretPost:
		if !inBody && r.Data.ClientSecret != "" {
			return oidc.ErrInvalidClient().WithDescription("the client is registered for client_secret_post: send the secret in the request body")
		}
	}
	return nil
}

// DeviceToken answers a device's poll (RFC 8628 §3.4, §3.5) like the
// library, but with the right error for a device code that is unknown,
// another client's or already redeemed (invalid_grant; the library says
// access_denied, which the RFC keeps for a user's refusal).
func (s *server) DeviceToken(ctx context.Context, r *op.ClientRequest[oidc.DeviceAccessTokenRequest]) (*op.Response, error) {
	if ac, ok := r.Client.(*appClient); !ok || !ac.allowsGrant(iam.GrantDeviceCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the device flow is not enabled for this client")
	}
	state, err := s.st.GetDeviceAuthorizatonState(ctx, r.Client.GetID(), r.Data.DeviceCode)
	switch {
	case err != nil && isFault(err):
		return nil, err
	case err != nil:
		return nil, oidc.ErrInvalidGrant().WithDescription("the device code is unknown or was already used").WithParent(err)
	case state.Denied:
		return nil, oidc.ErrAccessDenied().WithDescription("the user denied the request")
	case state.Done:
		resp, err := op.CreateDeviceTokenResponse(ctx, state, s.provider, r.Client)
		if err != nil {
			return nil, err
		}
		return op.NewResponse(resp), nil
	case !s.st.tokens.Now().Before(state.Expires):
		return nil, oidc.ErrExpiredDeviceCode()
	}
	return nil, oidc.ErrAuthorizationPending()
}

// clientAssertion authenticates a client by its assertion (RFC 7523 §2.2,
// private_key_jwt): signed by one of the application's keys, iss = sub =
// client ID, aud the issuer or the token endpoint (§3).
func (s *server) clientAssertion(ctx context.Context, assertion string) (op.Client, error) {
	issuer := op.IssuerFromContext(ctx)
	aud := issuer
	var claims oidc.JWTTokenRequest
	if _, err := oidc.ParseToken(assertion, &claims); err == nil &&
		!slices.Contains(claims.Audience, issuer) && slices.Contains(claims.Audience, issuer+PathToken) {
		aud = issuer + PathToken
	}
	req, err := op.VerifyJWTAssertion(ctx, assertion, op.NewJWTProfileVerifier(s.st, aud, time.Hour, time.Second))
	if err != nil {
		if isFault(err) {
			return nil, serverError(err)
		}
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	c, err := s.st.GetClientByClientID(ctx, req.Issuer)
	if err != nil {
		return nil, err
	}
	if c.AuthMethod() != oidc.AuthMethodPrivateKeyJWT {
		return nil, oidc.ErrInvalidClient().WithDescription("the client does not authenticate with private_key_jwt")
	}
	return c, nil
}

// CodeExchange redeems an authorization code (RFC 6749 §4.1.3). Unlike the
// library, a code issued with a PKCE challenge is only redeemed with its
// verifier, and a verifier without a challenge is refused (RFC 9700
// §2.1.1, PKCE downgrade).
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	authReq, err := op.AuthRequestByCode(ctx, s.provider.Storage(), r.Data.Code)
	if err != nil {
		return nil, err
	}
	challenge := authReq.GetCodeChallenge()
	switch {
	case challenge == nil && r.Data.CodeVerifier != "":
		return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier given but no code_challenge was")
	case challenge != nil:
		if err := op.AuthorizeCodeChallenge(r.Data.CodeVerifier, challenge); err != nil {
			return nil, err
		}
	}
	if r.Client.GetID() != authReq.GetClientID() {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was issued to another client")
	}
	if r.Data.RedirectURI != authReq.GetRedirectURI() {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not match the authorization request")
	}
	resp, err := op.CreateTokenResponse(ctx, authReq, r.Client, s.provider, true, r.Data.Code, "")
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// JWTProfile answers the JWT bearer grant (RFC 7523 §2.1) for machine
// users: the assertion is signed with one of the user's keys and its
// issuer and subject are the user's ID.
func (s *server) JWTProfile(ctx context.Context, r *op.Request[oidc.JWTProfileGrantRequest]) (*op.Response, error) {
	verifier := op.NewJWTProfileVerifier(machineKeys{s.st}, op.IssuerFromContext(ctx), time.Hour, time.Second)
	req, err := op.VerifyJWTAssertion(ctx, r.Data.Assertion, verifier)
	if err != nil {
		if isFault(err) {
			return nil, serverError(err)
		}
		return nil, oidc.ErrInvalidGrant().WithParent(err).WithDescription("assertion invalid")
	}
	if req.Issuer != req.Subject {
		return nil, oidc.ErrInvalidGrant().WithDescription("the assertion's iss and sub must both be the user's ID")
	}
	u, err := s.st.user(ctx, req.Subject)
	if err != nil {
		return nil, err
	}
	if u.Type != iam.UserMachine || u.State != iam.UserActive {
		return nil, oidc.ErrInvalidGrant().WithDescription("the assertion's subject is not an active machine user")
	}
	scopes := serviceScopes(r.Data.Scope)
	aud, err := s.st.audience(ctx, u.ID, "", scopes)
	if err != nil {
		return nil, serverError(err)
	}
	tr := &tokenRequest{subject: u.ID, clientID: u.ID, user: u, scopes: scopes, audience: aud}
	resp, err := op.CreateJWTTokenResponse(ctx, tr, s.provider)
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// DeviceAuthorization starts the device flow (RFC 8628 §3.1) for clients
// allowed the device grant, drawing a new user code on a collision.
func (s *server) DeviceAuthorization(ctx context.Context, r *op.ClientRequest[oidc.DeviceAuthorizationRequest]) (*op.Response, error) {
	if ac, ok := r.Client.(*appClient); !ok || !ac.allowsGrant(iam.GrantDeviceCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the device flow is not enabled for this client")
	}
	// Unknown scopes are dropped, as at the authorization endpoint (the
	// library stores the device request's scopes as given).
	r.Data.Scopes = slices.DeleteFunc(slices.Clone(r.Data.Scopes), func(sc string) bool {
		switch sc {
		case oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess:
			return false
		}
		return !scopeAllowed(sc)
	})
	for range 3 {
		resp, err := s.LegacyServer.DeviceAuthorization(ctx, r)
		if errors.Is(err, op.ErrDuplicateUserCode) {
			continue
		}
		return resp, err
	}
	return nil, op.NewStatusError(oidc.ErrServerError().WithDescription("could not draw a unique user code"), http.StatusServiceUnavailable)
}

// Introspect (RFC 7662) lets storage see the token itself. A caller that
// fails to authenticate gets invalid_client with status 401 (§2.1). A
// fault while checking the token is server_error (503 while the database
// is down), not "active": false.
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	m := memoFrom(ctx)
	m.rawToken = r.Data.Token
	resp, err := s.LegacyServer.Introspect(ctx, r)
	if m.fault != nil {
		return nil, op.NewStatusError(oidc.ErrServerError().WithDescription("the token cannot be checked now; retry later").WithParent(m.fault), faultStatus(m.fault))
	}
	var oe *oidc.Error
	if err != nil && errors.As(err, &oe) && (oe.ErrorType == oidc.InvalidClient || oe.ErrorType == oidc.UnauthorizedClient) {
		return nil, op.NewStatusError(oidc.ErrInvalidClient().WithParent(err), http.StatusUnauthorized)
	}
	return resp, err
}

// UserInfo lets storage see the token itself. A token that is revoked,
// expired, of a deactivated user or of another issuer is invalid_token
// with status 401 (RFC 6750 §3.1), not the library's 403; a valid token
// without a user or without scope openid is insufficient_scope (403).
func (s *server) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	memoFrom(ctx).rawToken = r.Data.AccessToken
	resp, err := s.LegacyServer.UserInfo(ctx, r)
	switch {
	case err == nil:
		return resp, nil
	case errors.Is(err, errNoUserinfo):
		return nil, op.NewStatusError(&oidc.Error{ErrorType: "insufficient_scope", Description: errNoUserinfo.Error()}, http.StatusForbidden)
	case isFault(err):
		return nil, op.NewStatusError(oidc.ErrServerError().WithParent(err), faultStatus(err))
	}
	return nil, op.NewStatusError(&oidc.Error{ErrorType: "invalid_token", Description: "the access token is invalid"}, http.StatusUnauthorized)
}

// Revocation (RFC 7009) lets storage see the token itself.
//
// The token_type_hint is ignored: the library trusts a hint of
// "access_token" and then never finds a refresh token, which it reports as
// revoked; RFC 7009 §2.1 requires the search to extend to every type.
// Telling the types apart costs nothing (refresh tokens have a prefix).
func (s *server) Revocation(ctx context.Context, r *op.ClientRequest[oidc.RevocationRequest]) (*op.Response, error) {
	memoFrom(ctx).rawToken = r.Data.Token
	r.Data.TokenTypeHint = ""
	return s.LegacyServer.Revocation(ctx, r)
}
