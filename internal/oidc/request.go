package oidc

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/rampartiam/rampart/internal/iam"
)

// authRequest adapts a stored authorization request to op.AuthRequest.
type authRequest struct {
	*iam.AuthRequest
	audience []string
}

var _ op.AuthRequest = (*authRequest)(nil)

func (r *authRequest) GetID() string          { return r.ID }
func (r *authRequest) GetACR() string         { return "" }
func (r *authRequest) GetAMR() []string       { return r.AMR }
func (r *authRequest) GetAudience() []string  { return r.audience }
func (r *authRequest) GetAuthTime() time.Time { return r.AuthTime }
func (r *authRequest) GetClientID() string    { return r.ClientID }
func (r *authRequest) GetNonce() string       { return r.Nonce }
func (r *authRequest) GetRedirectURI() string { return r.RedirectURI }
func (r *authRequest) GetScopes() []string    { return r.Scopes }
func (r *authRequest) GetState() string       { return r.State }
func (r *authRequest) GetSubject() string     { return r.UserID }
func (r *authRequest) Done() bool             { return r.AuthRequest.Done }
func (r *authRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(r.ResponseType)
}
func (r *authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(r.ResponseMode)
}
func (r *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: oidc.CodeChallengeMethod(r.CodeChallengeMethod)}
}

// refreshRequest adapts a refresh token to op.RefreshTokenRequest.
type refreshRequest struct {
	rt     *iam.RefreshToken
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return r.rt.AMR }
func (r *refreshRequest) GetAudience() []string       { return r.rt.Audience }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.rt.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.rt.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.rt.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// tokenRequest is a grant without a browser: client credentials and JWT
// bearer assertions.
type tokenRequest struct {
	subject  string
	clientID string
	audience []string
	scopes   []string
	// user is set when the subject is a (machine) user.
	user *iam.User
}

var _ op.TokenRequest = (*tokenRequest)(nil)

func (r *tokenRequest) GetSubject() string     { return r.subject }
func (r *tokenRequest) GetAudience() []string  { return r.audience }
func (r *tokenRequest) GetScopes() []string    { return r.scopes }
func (r *tokenRequest) GetClientID() string    { return r.clientID }
func (r *tokenRequest) GetAMR() []string       { return nil }
func (r *tokenRequest) GetAuthTime() time.Time { return time.Time{} }
