package oidc

import (
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/rampartiam/rampart/internal/iam"
)

// Scopes beyond OpenID Connect's.
const (
	// ScopeAdmin asks for the admin API's audience (AdminAudience): the
	// access token may then call the admin API as its user.
	ScopeAdmin = "urn:rampart:admin"
	// AdminAudience is the audience the admin API requires of OIDC access
	// tokens.
	AdminAudience = "urn:rampart:admin"
	// ScopeProjectPrefix starts the project scopes:
	// "urn:rampart:project:<id>:aud" adds the project to the audience and
	// "urn:rampart:project:<id>:roles" also puts the user's roles of the
	// project into the tokens (ClaimRoles).
	ScopeProjectPrefix = "urn:rampart:project:"
	// ScopeOwnProjectRoles asks for the roles of the client's own project.
	ScopeOwnProjectRoles = "urn:rampart:project:roles"
	// ClaimRoles holds the user's roles: {"<project id>": ["role", …]}.
	ClaimRoles = "urn:rampart:roles"
)

// projectScope parses "urn:rampart:project:<id>:aud|roles".
func projectScope(s string) (projectID string, roles, ok bool) {
	rest, found := strings.CutPrefix(s, ScopeProjectPrefix)
	if !found {
		return "", false, false
	}
	id, kind, found := strings.Cut(rest, ":")
	if !found || id == "" || len(id) > 64 || (kind != "aud" && kind != "roles") {
		return "", false, false
	}
	return id, kind == "roles", true
}

// scopeAllowed reports whether a non-standard scope is one Rampart knows.
func scopeAllowed(s string) bool {
	if s == ScopeAdmin || s == ScopeOwnProjectRoles {
		return true
	}
	_, _, ok := projectScope(s)
	return ok
}

// appClient adapts an application to op.Client.
type appClient struct {
	app      *iam.Application
	loginURL string
}

var _ op.Client = (*appClient)(nil)

func (c *appClient) GetID() string                    { return c.app.ClientID }
func (c *appClient) RedirectURIs() []string           { return c.app.RedirectURIs }
func (c *appClient) PostLogoutRedirectURIs() []string { return c.app.PostLogoutRedirectURIs }

func (c *appClient) ApplicationType() op.ApplicationType {
	switch c.app.Type {
	case iam.AppTypeNative:
		return op.ApplicationTypeNative
	case iam.AppTypeSPA:
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *appClient) AuthMethod() oidc.AuthMethod {
	switch c.app.AuthMethod {
	case iam.AuthClientSecretPost:
		return oidc.AuthMethodPost
	case iam.AuthPrivateKeyJWT:
		return oidc.AuthMethodPrivateKeyJWT
	case iam.AuthNone:
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *appClient) ResponseTypes() []oidc.ResponseType {
	out := make([]oidc.ResponseType, 0, len(c.app.ResponseTypes))
	for _, r := range c.app.ResponseTypes {
		out = append(out, oidc.ResponseType(r))
	}
	return out
}

func (c *appClient) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.app.GrantTypes))
	for _, g := range c.app.GrantTypes {
		if g == iam.GrantImplicit {
			continue // expressed through response types
		}
		out = append(out, oidc.GrantType(g))
	}
	return out
}

func (c *appClient) LoginURL(id string) string { return c.loginURL + "?authRequestID=" + id }

func (c *appClient) AccessTokenType() op.AccessTokenType {
	if c.app.AccessTokenFormat == iam.TokenFormatOpaque {
		return op.AccessTokenTypeBearer
	}
	return op.AccessTokenTypeJWT
}

func (c *appClient) IDTokenLifetime() time.Duration { return c.app.IDTokenLifetime }

// DevMode relaxes only the library's redirect-URI scheme rules: which
// redirect URIs are acceptable (https, loopback http, private-use schemes
// per RFC 8252) is decided by iam.Application.Validate at registration, and
// the library still requires an exact match with a registered URI.
func (c *appClient) DevMode() bool { return true }

func (c *appClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *appClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *appClient) IsScopeAllowed(scope string) bool { return scopeAllowed(scope) }

// IDTokenUserinfoClaimsAssertion puts the profile and e-mail claims into
// the ID token as well as userinfo, as most relying parties expect.
func (c *appClient) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *appClient) ClockSkew() time.Duration { return 0 }

func (c *appClient) allowsGrant(g string) bool { return slices.Contains(c.app.GrantTypes, g) }

// machineClient is a machine user authenticating with its client secret for
// client_credentials (the client ID is its login name).
type machineClient struct {
	user *iam.User
}

var _ op.Client = (*machineClient)(nil)

func (c *machineClient) GetID() string                       { return c.user.LoginName }
func (c *machineClient) RedirectURIs() []string              { return nil }
func (c *machineClient) PostLogoutRedirectURIs() []string    { return nil }
func (c *machineClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *machineClient) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *machineClient) ResponseTypes() []oidc.ResponseType  { return nil }
func (c *machineClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (c *machineClient) LoginURL(string) string               { return "" }
func (c *machineClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *machineClient) IDTokenLifetime() time.Duration       { return iam.DefaultIDTokenLifetime }
func (c *machineClient) DevMode() bool                        { return false }
func (c *machineClient) IsScopeAllowed(scope string) bool     { return scopeAllowed(scope) }
func (c *machineClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *machineClient) ClockSkew() time.Duration             { return 0 }
func (c *machineClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *machineClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
