package oidc

import (
	"context"
	"errors"
	"net/http"

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

// VerifyClient authenticates the client at the token, revocation and
// device endpoints and enforces its registered grant types (RFC 6749
// §5.2 unauthorized_client). Client assertions (private_key_jwt) are
// accepted for every grant, client_credentials included.
func (s *server) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	grant := r.Form.Get("grant_type")
	var c op.Client
	var err error
	if r.Data.ClientAssertionType == oidc.ClientAssertionTypeJWTAssertion {
		c, err = op.AuthorizePrivateJWTKey(ctx, r.Data.ClientAssertion, s.provider)
		if err == nil && c.AuthMethod() != oidc.AuthMethodPrivateKeyJWT {
			err = oidc.ErrInvalidClient().WithDescription("the client does not authenticate with private_key_jwt")
		}
	} else {
		c, err = s.LegacyServer.VerifyClient(ctx, r)
	}
	if err != nil {
		var oe *oidc.Error
		if errors.As(err, &oe) {
			return nil, err
		}
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	if ac, ok := c.(*appClient); ok && grant != "" && !ac.allowsGrant(grant) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the grant type is not enabled for this client")
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
	req, err := op.VerifyJWTAssertion(ctx, r.Data.Assertion, s.provider.JWTProfileVerifier(ctx))
	if err != nil {
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
	tr := &tokenRequest{subject: u.ID, clientID: u.ID, user: u, scopes: scopes, audience: audience(u.ID, "", scopes)}
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
	for range 3 {
		resp, err := s.LegacyServer.DeviceAuthorization(ctx, r)
		if errors.Is(err, op.ErrDuplicateUserCode) {
			continue
		}
		return resp, err
	}
	return nil, op.NewStatusError(oidc.ErrServerError().WithDescription("could not draw a unique user code"), http.StatusServiceUnavailable)
}

// Introspect (RFC 7662) lets storage see the token itself.
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	memoFrom(ctx).rawToken = r.Data.Token
	return s.LegacyServer.Introspect(ctx, r)
}

// UserInfo lets storage see the token itself.
func (s *server) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	memoFrom(ctx).rawToken = r.Data.AccessToken
	return s.LegacyServer.UserInfo(ctx, r)
}

// Revocation (RFC 7009) lets storage see the token itself.
func (s *server) Revocation(ctx context.Context, r *op.ClientRequest[oidc.RevocationRequest]) (*op.Response, error) {
	memoFrom(ctx).rawToken = r.Data.Token
	return s.LegacyServer.Revocation(ctx, r)
}
