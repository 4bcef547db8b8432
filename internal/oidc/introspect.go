package oidc

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/rampartiam/rampart/internal/iam"
)

var errInactive = errors.New("token inactive")

// errNoUserinfo: a valid token that userinfo does not serve (no user, or
// not issued for OpenID Connect).
var errNoUserinfo = errors.New("the token has no user or was not issued with scope openid")

// rawClaims returns the claims of the JWT being introspected, revoked or
// presented to userinfo — the library has verified its signature, expiry
// and issuer before storage sees it — or nil for an opaque token.
func rawClaims(ctx context.Context) *oidc.AccessTokenClaims {
	raw := memoFrom(ctx).rawToken
	if strings.Count(raw, ".") != 2 {
		return nil
	}
	claims := new(oidc.AccessTokenClaims)
	if _, err := oidc.ParseToken(raw, claims); err != nil {
		return nil
	}
	return claims
}

// tokenView is what introspection and userinfo know of a valid token.
type tokenView struct {
	subject  string
	clientID string
	scopes   []string
	audience []string
	claims   *oidc.AccessTokenClaims // nil for opaque tokens
	opaque   *iam.AccessToken
	userID   string // "" when the subject is the client itself
}

// checkToken decides whether a token whose signature (JWT) or encryption
// (opaque) the library has checked is still active: not revoked, by ID or
// by family; its user (if any) still exists and is active; its opaque
// record unexpired. One database round trip.
func (s *storage) checkToken(ctx context.Context, tokenID, subject string) (*tokenView, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	claims := rawClaims(ctx)
	st, err := s.tokens.Status(ctx, inst, tokenID, subject, claims == nil)
	if err != nil {
		return nil, err
	}
	if st.Revoked {
		return nil, errInactive
	}
	v := &tokenView{subject: subject, claims: claims, opaque: st.Opaque}
	if claims != nil {
		if tokenID != claims.JWTID || subject != claims.Subject {
			return nil, errInactive
		}
		v.clientID, v.audience = claims.ClientID, claims.Audience
		v.scopes = claims.Scopes
		if sc, ok := claims.Claims["scope"].(string); ok && len(v.scopes) == 0 {
			v.scopes = strings.Fields(sc)
		}
	} else {
		if st.Opaque == nil || st.Opaque.Subject != subject {
			return nil, errInactive
		}
		v.clientID, v.audience, v.scopes = st.Opaque.ClientID, st.Opaque.Audience, st.Opaque.Scopes
	}
	switch {
	case st.UserState == iam.UserActive:
		v.userID = subject
	case st.UserState != "":
		return nil, errInactive // the user was deactivated or locked
	case subject != v.clientID:
		return nil, errInactive // the user was deleted
	default:
		// The client's own token (client credentials of an application):
		// it lives as long as the application is active.
		if _, err := s.app(ctx, v.clientID); err != nil {
			if isFault(err) {
				return nil, err
			}
			return nil, errInactive
		}
	}
	return v, nil
}

// SetIntrospectionFromToken answers RFC 7662 introspection. A token is
// reported active only to a resource it is meant for: the caller's client
// ID or project must be in its audience.
//
// The library reports every error of this callback as an inactive token;
// a fault is noted in the request's memo so that Introspect answers an
// error instead (a resource server must not take "the database is down"
// for "the token was revoked").
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	v, err := s.checkToken(ctx, tokenID, subject)
	if err != nil {
		if isFault(err) {
			memoFrom(ctx).fault = err
		}
		return err
	}
	caller, err := s.app(ctx, clientID)
	if err != nil {
		if isFault(err) {
			memoFrom(ctx).fault = err
		}
		return err
	}
	if !slices.Contains(v.audience, caller.ClientID) && !slices.Contains(v.audience, caller.ProjectID) {
		return errInactive
	}
	resp.Scope = v.scopes
	resp.ClientID = v.clientID
	resp.TokenType = oidc.BearerToken
	resp.Subject = v.subject
	resp.Audience = v.audience
	resp.Issuer = op.IssuerFromContext(ctx)
	resp.JWTID = tokenID
	if c := v.claims; c != nil {
		resp.Expiration, resp.IssuedAt, resp.NotBefore = c.Expiration, c.IssuedAt, c.NotBefore
		resp.AuthTime, resp.AuthenticationMethodsReferences = c.AuthTime, c.AuthenticationMethodsReferences
		if roles, ok := c.Claims[ClaimRoles]; ok {
			resp.Claims = map[string]any{ClaimRoles: roles}
		}
	} else {
		resp.Expiration, resp.IssuedAt = oidc.FromTime(v.opaque.ExpiresAt), oidc.FromTime(v.opaque.CreatedAt)
	}
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint (OpenID Connect Core
// §5.3) for an active token of a user.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	v, err := s.checkToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if v.userID == "" || !slices.Contains(v.scopes, oidc.ScopeOpenID) {
		return errNoUserinfo
	}
	u, err := s.user(ctx, v.userID)
	if err != nil {
		return err
	}
	setUserinfo(info, u, v.scopes)
	roles, err := s.roles(ctx, u.ID, v.clientID, v.scopes)
	if err != nil {
		return err
	}
	if roles != nil {
		info.AppendClaims(ClaimRoles, roles)
	}
	return nil
}

// parsePublicKeyPEM parses a PKIX public key in PEM.
func parsePublicKeyPEM(s string) (any, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM public key")
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}
