package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	rcrypto "github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/token"
	"github.com/rampartiam/rampart/internal/user"
)

// storage implements the library's op.Storage (and its optional
// interfaces) on Rampart's services. Every callback resolves the instance
// from the request context (set by the tenant middleware), so one provider
// serves every instance, each under its own issuer.
type storage struct {
	users    *user.Service
	projects *project.Service
	tokens   *token.Service
	keys     *token.Keys
	secrets  *rcrypto.SecretHasher
	log      *slog.Logger
	loginURL string
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.DeviceAuthorizationStorage     = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
	_ op.JWTProfileTokenStorage         = (*storage)(nil)
)

var errNoInstance = errors.New("no instance in context")

func instanceID(ctx context.Context) (string, error) {
	in := reqctx.Instance(ctx)
	if in == nil {
		return "", errNoInstance
	}
	return in.ID, nil
}

// serverError reports a genuine fault (the library answers server_error);
// everything else a callback returns is the client's problem.
//
// A database outage (iam.Unavailable) answers 503 rather than 500: the
// request may succeed on another node or in a moment, and load balancers
// and clients treat 503 as "retry later".
func serverError(err error) error {
	e := oidc.ErrServerError().WithParent(err)
	if iam.IsCode(err, iam.Unavailable) {
		return op.NewStatusError(e, http.StatusServiceUnavailable)
	}
	return e
}

// faultStatus is the HTTP status of a fault: 503 for a database outage,
// else 500.
func faultStatus(err error) int {
	if iam.IsCode(err, iam.Unavailable) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// isFault reports whether err is a fault of ours rather than bad input:
// an iam.Error with code Internal or Unavailable (the services report every
// fault so), an OAuth server_error, or a request without an instance.
// Plain errors of this package (unknown client, wrong secret, inactive
// token) are the caller's problem.
func isFault(err error) bool {
	var ie *iam.Error
	if errors.As(err, &ie) {
		return ie.Code == iam.Internal || ie.Code == iam.Unavailable
	}
	var oe *oidc.Error
	if errors.As(err, &oe) {
		return oe.ErrorType == oidc.ServerError
	}
	return errors.Is(err, errNoInstance)
}

// errUnknownClient is the error for a client ID that names no active
// application of the instance.
var errUnknownClient = &iam.Error{Code: iam.NotFound, Message: "unknown client"}

// grantError maps a token-service error to the OAuth error.
func grantError(err error) error {
	switch {
	case errors.Is(err, token.ErrInvalidGrant):
		return oidc.ErrInvalidGrant().WithDescription("%s", strings.TrimPrefix(err.Error(), token.ErrInvalidGrant.Error()+": ")).WithParent(err)
	case iam.IsCode(err, iam.NotFound):
		return oidc.ErrInvalidGrant().WithParent(err)
	}
	return serverError(err)
}

// app returns the active application with that client ID. The answer is
// remembered for the request, an unknown client's too: a machine user's
// client_credentials request asks for its login name several times.
func (s *storage) app(ctx context.Context, clientID string) (*iam.Application, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	if clientID == "" || len(clientID) > iam.MaxClientIDLength {
		return nil, errUnknownClient
	}
	m := memoFrom(ctx)
	if a, ok := m.apps[clientID]; ok {
		if a == nil {
			return nil, errUnknownClient
		}
		return a, nil
	}
	a, err := s.projects.GetApplicationByClientID(ctx, inst, clientID)
	switch {
	case err != nil && isFault(err):
		return nil, err
	case err != nil:
		m.apps[clientID] = nil
		return nil, fmt.Errorf("%w: %w", errUnknownClient, err)
	case a.State != iam.StateActive:
		m.apps[clientID] = nil
		return nil, fmt.Errorf("%w: application %s is inactive", errUnknownClient, a.ID)
	}
	m.apps[clientID] = a
	return a, nil
}

// audience is the aud of tokens for a client: the client, its project and
// every project named by a project scope — each project with the client IDs
// of its active applications, so that an API application of the project
// accepts the token by its own client ID — and the admin API if asked for.
// Projects the instance does not have are left out. Project data is cached:
// no round trip when warm.
func (s *storage) audience(ctx context.Context, clientID, ownProject string, scopes []string) ([]string, error) {
	aud := []string{clientID}
	add := func(v string) {
		if v != "" && !slices.Contains(aud, v) {
			aud = append(aud, v)
		}
	}
	addProject := func(id string) error {
		inst, err := instanceID(ctx)
		if err != nil {
			return err
		}
		pa, err := s.projects.ProjectAudience(ctx, inst, id)
		switch {
		case err != nil && isFault(err):
			return err
		case err != nil:
			return nil // no such project: nothing to add
		}
		add(id)
		for _, c := range pa.ClientIDs {
			add(c)
		}
		return nil
	}
	if ownProject != "" {
		if err := addProject(ownProject); err != nil {
			return nil, err
		}
	}
	for _, sc := range scopes {
		if id, _, ok := projectScope(sc); ok {
			if err := addProject(id); err != nil {
				return nil, err
			}
		}
		if sc == ScopeAdmin {
			add(AdminAudience)
		}
	}
	return aud, nil
}

func (s *storage) authRequest(ctx context.Context, r *iam.AuthRequest) (*authRequest, error) {
	a, err := s.app(ctx, r.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	aud, err := s.audience(ctx, a.ClientID, a.ProjectID, r.Scopes)
	if err != nil {
		return nil, serverError(err)
	}
	return &authRequest{AuthRequest: r, audience: aud}, nil
}

// CreateAuthRequest stores a request the library has validated, after
// Rampart's own rules: PKCE with S256 where the application requires it
// (RFC 9700 §2.1.1), never the "plain" method, and no silent
// authentication without a session (OpenID Connect Core §3.1.2.6).
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	a, err := s.app(ctx, req.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	switch {
	case req.CodeChallenge == "" && a.PKCERequired && req.ResponseType == oidc.ResponseTypeCode:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge is required (PKCE with S256)")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case slices.Contains(req.Prompt, oidc.PromptNone):
		return nil, oidc.ErrLoginRequired().WithDescription("no login session; prompt=none cannot be satisfied")
	case len(req.State) > 2048 || len(req.Nonce) > 2048 || len(req.LoginHint) > 512:
		return nil, oidc.ErrInvalidRequest().WithDescription("state, nonce or login_hint too long")
	}
	if req.ResponseType != oidc.ResponseTypeCode && !slices.Contains(a.GrantTypes, iam.GrantImplicit) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the implicit flow is not enabled for this client")
	}
	maxAge := int64(-1)
	if req.MaxAge != nil {
		maxAge = int64(*req.MaxAge)
	}
	locales := make([]string, 0, len(req.UILocales))
	for _, l := range req.UILocales {
		locales = append(locales, l.String())
	}
	r := &iam.AuthRequest{
		InstanceID: inst, ClientID: a.ClientID, RedirectURI: req.RedirectURI, Scopes: req.Scopes,
		State: req.State, Nonce: req.Nonce, ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: string(req.CodeChallengeMethod),
		Prompt: req.Prompt, MaxAge: maxAge, LoginHint: req.LoginHint, UILocales: locales,
	}
	if err := s.tokens.CreateAuthRequest(ctx, r); err != nil {
		return nil, serverError(err)
	}
	aud, err := s.audience(ctx, a.ClientID, a.ProjectID, r.Scopes)
	if err != nil {
		return nil, serverError(err)
	}
	return &authRequest{AuthRequest: r, audience: aud}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	r, err := s.tokens.AuthRequest(ctx, inst, id)
	if err != nil {
		if isFault(err) {
			return nil, serverError(err)
		}
		return nil, oidc.ErrInvalidRequest().WithDescription("the login request is unknown or expired").WithParent(err)
	}
	return s.authRequest(ctx, r)
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	if code == "" || len(code) > 1024 {
		return nil, oidc.ErrInvalidGrant().WithDescription("code unknown or expired")
	}
	r, err := s.tokens.RedeemCode(ctx, inst, code)
	if err != nil {
		return nil, grantError(err)
	}
	return s.authRequest(ctx, r)
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	inst, err := instanceID(ctx)
	if err != nil {
		return err
	}
	return s.tokens.SaveCode(ctx, inst, id, code)
}

// DeleteAuthRequest keeps the request: its row, with the code marked
// redeemed, lets a replayed code be recognised until it expires; the
// cleanup job deletes it then.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// grantOf describes what a token request grants, for the tokens it buys.
type grantInfo struct {
	family   string
	clientID string
	userID   string
	user     *iam.User
	scopes   []string
	audience []string
	amr      []string
	authTime time.Time
	refresh  *iam.RefreshToken
}

func grantOf(req op.TokenRequest) grantInfo {
	g := grantInfo{userID: req.GetSubject(), scopes: req.GetScopes(), audience: req.GetAudience()}
	switch r := req.(type) {
	case *authRequest:
		g.family, g.clientID, g.amr, g.authTime = r.ID, r.ClientID, r.AMR, r.AuthTime
	case *refreshRequest:
		g.family, g.clientID, g.amr, g.authTime, g.refresh = r.rt.FamilyID, r.rt.ClientID, r.rt.AMR, r.rt.AuthTime, r.rt
	case *tokenRequest:
		g.family, g.clientID, g.user = iam.NewID(), r.clientID, r.user
		if r.user == nil {
			g.userID = "" // the subject is the client itself
		}
	case *op.DeviceAuthorizationState:
		g.family, g.clientID, g.amr, g.authTime = iam.NewID(), r.ClientID, r.AMR, r.AuthTime
	default:
		g.family = iam.NewID()
	}
	return g
}

// accessToken decides an access token's ID and expiry and, for opaque
// tokens, records it (the only write; JWTs need none).
func (s *storage) accessToken(ctx context.Context, g grantInfo) (string, time.Time, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return "", time.Time{}, serverError(err)
	}
	lifetime, opaque := iam.DefaultAccessTokenLifetime, false
	if a, err := s.app(ctx, g.clientID); err == nil {
		lifetime, opaque = a.AccessTokenLifetime, a.AccessTokenFormat == iam.TokenFormatOpaque
	}
	now := s.tokens.Now()
	id, exp := token.NewTokenID(g.family), now.Add(lifetime)
	if opaque {
		err := s.tokens.CreateOpaqueAccessToken(ctx, &iam.AccessToken{
			ID: id, InstanceID: inst, FamilyID: g.family, ClientID: g.clientID, Subject: subjectOf(g),
			Scopes: g.scopes, Audience: g.audience, CreatedAt: now, ExpiresAt: exp,
		})
		if err != nil {
			return "", time.Time{}, serverError(err)
		}
	}
	return id, exp, nil
}

func subjectOf(g grantInfo) string {
	if g.userID != "" {
		return g.userID
	}
	return g.clientID
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	return s.accessToken(ctx, grantOf(req))
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, _ string) (string, string, time.Time, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return "", "", time.Time{}, serverError(err)
	}
	g := grantOf(req)
	a, err := s.app(ctx, g.clientID)
	if err != nil {
		return "", "", time.Time{}, oidc.ErrInvalidClient().WithParent(err)
	}
	if g.userID != "" {
		// A refresh must not outlive the user's access.
		u, err := s.user(ctx, g.userID)
		if err != nil {
			return "", "", time.Time{}, err
		}
		if u.State != iam.UserActive {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the user is not active")
		}
	}
	grant := &token.Grant{
		InstanceID: inst, FamilyID: g.family, ClientID: g.clientID, UserID: g.userID,
		Scopes: g.scopes, Audience: g.audience, AMR: g.amr, AuthTime: g.authTime,
	}
	var refresh string
	if g.refresh != nil {
		// RFC 6749 §6: a refresh may narrow the new access token's scope,
		// but the new refresh token's scope is the old one's.
		grant.Scopes = g.refresh.Scopes
		refresh, err = s.tokens.RotateRefreshToken(ctx, g.refresh, grant, a.RefreshTokenLifetime)
	} else {
		refresh, err = s.tokens.IssueRefreshToken(ctx, grant, a.RefreshTokenLifetime)
	}
	if err != nil {
		return "", "", time.Time{}, grantError(err)
	}
	id, exp, err := s.accessToken(ctx, g)
	if err != nil {
		return "", "", time.Time{}, err
	}
	return id, refresh, exp, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, refreshToken string) (op.RefreshTokenRequest, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	rt, err := s.tokens.RefreshToken(ctx, inst, refreshToken)
	if err != nil {
		return nil, grantError(err)
	}
	return &refreshRequest{rt: rt, scopes: rt.Scopes}, nil
}

// TerminateSession ends the user's grants to the client (RP-initiated
// logout): its refresh tokens and the access tokens of their families are
// revoked. Login sessions arrive with the hosted login.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	inst, err := instanceID(ctx)
	if err != nil {
		return err
	}
	if userID == "" {
		return nil
	}
	return s.tokens.RevokeUserClient(ctx, inst, userID, clientID)
}

// refreshRef is the token ID GetRefreshTokenInfo hands to RevokeToken.
const refreshRef = "refresh/"

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, tok string) (string, string, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return "", "", err
	}
	rt, err := s.tokens.RefreshTokenInfo(ctx, inst, tok)
	if err != nil {
		if errors.Is(err, token.ErrInvalidGrant) {
			return "", "", op.ErrInvalidRefreshToken
		}
		return "", "", err
	}
	return rt.UserID, refreshRef + rt.FamilyID + "/" + rt.ClientID, nil
}

// RevokeToken revokes (RFC 7009) a refresh token's whole grant, or one
// access token. Only the client a refresh token was issued to may revoke
// it; unknown tokens are no error (RFC 7009 §2.2).
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	inst, err := instanceID(ctx)
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if ref, ok := strings.CutPrefix(tokenOrID, refreshRef); ok {
		family, owner, _ := strings.Cut(ref, "/")
		if owner != clientID {
			return oidc.ErrUnauthorizedClient().WithDescription("the token was issued to another client")
		}
		if err := s.tokens.RevokeFamily(ctx, inst, family); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	if userID == "" || token.Family(tokenOrID) == "" {
		return nil // not a token of ours: nothing to revoke
	}
	var exp time.Time
	if claims := rawClaims(ctx); claims != nil {
		if claims.ClientID != "" && claims.ClientID != clientID {
			return oidc.ErrUnauthorizedClient().WithDescription("the token was issued to another client")
		}
		exp = claims.Expiration.AsTime()
	} else {
		// An opaque token: its record names the client (RFC 7009 §2.1:
		// only the client it was issued to may revoke it).
		st, err := s.tokens.Status(ctx, inst, tokenOrID, "", true)
		if err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		if st.Opaque == nil {
			return nil // expired or revoked already
		}
		if st.Opaque.ClientID != clientID {
			return oidc.ErrUnauthorizedClient().WithDescription("the token was issued to another client")
		}
	}
	revoke := s.tokens.RevokeAccessToken
	if !exp.IsZero() {
		revoke = s.tokens.RevokeSignedAccessToken // a JWT: no record to delete
	}
	if err := revoke(ctx, inst, tokenOrID, exp); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	set, err := s.keys.Set(ctx)
	if err != nil {
		return nil, err
	}
	k := set.Signer(s.tokens.Now())
	if k == nil {
		return nil, errors.New("no signing key")
	}
	return signingKey{k}, nil
}

func (s *storage) SignatureAlgorithms(ctx context.Context) ([]jose.SignatureAlgorithm, error) {
	set, err := s.keys.Set(ctx)
	if err != nil {
		return nil, err
	}
	var algs []jose.SignatureAlgorithm
	for _, k := range set.Keys {
		if !slices.Contains(algs, k.Algorithm) {
			algs = append(algs, k.Algorithm)
		}
	}
	return algs, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	set, err := s.keys.Set(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]op.Key, 0, len(set.Keys))
	for _, k := range set.Keys {
		keys = append(keys, publicKey{k})
	}
	return keys, nil
}

type signingKey struct{ k *token.Key }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.k.Algorithm }
func (k signingKey) Key() any                                    { return k.k.Private }
func (k signingKey) ID() string                                  { return k.k.ID }

type publicKey struct{ k *token.Key }

func (k publicKey) ID() string                         { return k.k.ID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.k.Algorithm }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.k.Public }

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	a, err := s.app(ctx, clientID)
	if err != nil {
		if isFault(err) {
			return nil, serverError(err)
		}
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	return &appClient{app: a, loginURL: s.loginURL}, nil
}

// AuthorizeClientIDSecret checks a client secret with the keyed fast hash
// (server-generated secrets have 256 bits; a slow KDF adds nothing).
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	a, err := s.app(ctx, clientID)
	switch {
	case err != nil && isFault(err):
		return serverError(err)
	case err != nil:
		return err
	case !a.AuthMethod.UsesSecret() || a.SecretHash == nil:
		return errors.New("client does not authenticate with a secret")
	case secret == "" || len(secret) > 512 || !s.secrets.Verify(secret, a.SecretHash):
		return errors.New("wrong client secret")
	}
	return nil
}

// ClientCredentials authenticates a client_credentials request: an
// application allowed that grant, or else a machine user by login name and
// client secret.
func (s *storage) ClientCredentials(ctx context.Context, clientID, secret string) (op.Client, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	a, err := s.app(ctx, clientID)
	if err == nil {
		c := &appClient{app: a, loginURL: s.loginURL}
		if !c.allowsGrant(iam.GrantClientCredentials) {
			return nil, oidc.ErrUnauthorizedClient().WithDescription("client_credentials is not enabled for this client")
		}
		if err := s.AuthorizeClientIDSecret(ctx, clientID, secret); err != nil {
			return nil, err
		}
		return c, nil
	}
	if isFault(err) {
		return nil, serverError(err)
	}
	u, err := s.users.VerifyClientSecret(ctx, inst, clientID, secret)
	if err != nil {
		if isFault(err) {
			return nil, serverError(err)
		}
		return nil, err
	}
	m := memoFrom(ctx)
	m.machine = u
	m.users[u.ID] = u
	return &machineClient{user: u}, nil
}

// serviceScopes keeps the scopes a grant without a user agent may carry.
func serviceScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		switch {
		case s == oidc.ScopeOpenID || s == oidc.ScopeOfflineAccess:
		case s == oidc.ScopeProfile || s == oidc.ScopeEmail || scopeAllowed(s):
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	scopes = serviceScopes(scopes)
	if m := memoFrom(ctx); m.machine != nil && m.machine.LoginName == clientID {
		aud, err := s.audience(ctx, clientID, "", scopes)
		if err != nil {
			return nil, serverError(err)
		}
		return &tokenRequest{subject: m.machine.ID, clientID: clientID, user: m.machine, scopes: scopes, audience: aud}, nil
	}
	a, err := s.app(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	aud, err := s.audience(ctx, clientID, a.ProjectID, scopes)
	if err != nil {
		return nil, serverError(err)
	}
	return &tokenRequest{subject: clientID, clientID: clientID, scopes: scopes, audience: aud}, nil
}

// JWTProfileTokenType: JWT bearer grants get JWT access tokens.
func (s *storage) JWTProfileTokenType(context.Context, op.TokenRequest) (op.AccessTokenType, error) {
	return op.AccessTokenTypeJWT, nil
}

// GetKeyByIDAndClientID returns the public key of an application that
// verifies its client assertion (private_key_jwt client authentication,
// RFC 7523 §2.2). Only application keys: machine users' keys verify JWT
// bearer grants (machineKeys), so that neither kind of key can stand in
// for the other when a client ID equals a user ID.
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	a, err := s.app(ctx, clientID)
	if err != nil {
		return nil, err
	}
	k, err := s.projects.GetApplicationKey(ctx, inst, a.ID, keyID)
	if err != nil {
		return nil, err
	}
	if !k.ExpiresAt.IsZero() && !s.tokens.Now().Before(k.ExpiresAt) {
		return nil, errors.New("application key expired")
	}
	return jsonWebKey(k.PublicKeyPEM, keyID)
}

func jsonWebKey(pemKey, keyID string) (*jose.JSONWebKey, error) {
	pub, err := parsePublicKeyPEM(pemKey)
	if err != nil {
		return nil, err
	}
	return &jose.JSONWebKey{Key: pub, KeyID: keyID, Use: "sig"}, nil
}

// machineKeys looks up machine users' keys for JWT bearer assertions
// (RFC 7523 §2.1), whose issuer is the user's ID.
type machineKeys struct{ s *storage }

func (m machineKeys) GetKeyByIDAndClientID(ctx context.Context, keyID, userID string) (*jose.JSONWebKey, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	k, err := m.s.users.MachineKey(ctx, inst, userID, keyID)
	if err != nil {
		return nil, err
	}
	return jsonWebKey(k.PublicKeyPEM, keyID)
}

func (s *storage) ValidateJWTProfileScopes(ctx context.Context, userID string, scopes []string) ([]string, error) {
	return serviceScopes(scopes), nil
}

func (s *storage) Health(ctx context.Context) error { return nil }

// user loads a user of the instance once per request.
func (s *storage) user(ctx context.Context, id string) (*iam.User, error) {
	m := memoFrom(ctx)
	if u, ok := m.users[id]; ok {
		return u, nil
	}
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	u, err := s.users.Get(ctx, user.Ref{InstanceID: inst, ID: id})
	if err != nil {
		if isFault(err) {
			return nil, serverError(err)
		}
		return nil, oidc.ErrInvalidGrant().WithDescription("the user does not exist").WithParent(err)
	}
	m.users[id] = u
	return u, nil
}

// roleProjects lists the projects whose roles go into tokens: those named
// by roles scopes, and the client's own project if asked for or if the
// project asserts roles on authentication.
func (s *storage) roleProjects(ctx context.Context, clientID string, scopes []string) []string {
	var ids []string
	add := func(id string) {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, sc := range scopes {
		if id, roles, ok := projectScope(sc); ok && roles {
			add(id)
		}
	}
	a, err := s.app(ctx, clientID)
	if err != nil {
		return ids
	}
	if slices.Contains(scopes, ScopeOwnProjectRoles) {
		add(a.ProjectID)
	} else if inst, err := instanceID(ctx); err == nil {
		if p, err := s.projects.ProjectAudience(ctx, inst, a.ProjectID); err == nil && p.RoleAssertion {
			add(a.ProjectID)
		}
	}
	return ids
}

// roles returns the user's active roles in the projects ({project: roles}),
// read once per request.
func (s *storage) roles(ctx context.Context, userID, clientID string, scopes []string) (map[string][]string, error) {
	if userID == "" {
		return nil, nil
	}
	m := memoFrom(ctx)
	key := userID + "\x00" + clientID + "\x00" + strings.Join(scopes, " ")
	if r, ok := m.roles[key]; ok {
		return r, nil
	}
	projects := s.roleProjects(ctx, clientID, scopes)
	if len(projects) == 0 {
		m.roles[key] = nil
		return nil, nil
	}
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	grants, err := s.projects.ListUserGrantsForUser(ctx, inst, userID, "", true)
	if err != nil {
		return nil, serverError(err)
	}
	out := map[string][]string{}
	for _, p := range projects {
		out[p] = []string{}
	}
	for _, g := range grants {
		if _, ok := out[g.ProjectID]; ok {
			for _, k := range g.RoleKeys {
				if !slices.Contains(out[g.ProjectID], k) {
					out[g.ProjectID] = append(out[g.ProjectID], k)
				}
			}
		}
	}
	m.roles[key] = out
	return out, nil
}

// setUserinfo fills the standard claims of u that the scopes allow
// (OpenID Connect Core §5.4).
func setUserinfo(info *oidc.UserInfo, u *iam.User, scopes []string) {
	info.Subject = u.ID
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			info.PreferredUsername = u.LoginName
			info.UpdatedAt = oidc.FromTime(u.ChangedAt)
			if h := u.Human; h != nil {
				info.GivenName, info.FamilyName = h.GivenName, h.FamilyName
				info.Name = strings.TrimSpace(h.GivenName + " " + h.FamilyName)
				if h.PreferredLanguage != "" {
					if tag, err := language.Parse(h.PreferredLanguage); err == nil {
						info.Locale = oidc.NewLocale(tag)
					}
				}
			}
			if m := u.Machine; m != nil {
				info.Name = m.Name
			}
		case oidc.ScopeEmail:
			if h := u.Human; h != nil && h.Email != "" {
				info.Email, info.EmailVerified = h.Email, oidc.Bool(h.EmailVerified)
			}
		}
	}
}

// SetUserinfoFromScopes is deprecated in the library; SetUserinfoFromRequest
// does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims and roles.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	u, err := s.user(ctx, req.GetSubject())
	if err != nil {
		return err
	}
	setUserinfo(info, u, scopes)
	roles, err := s.roles(ctx, u.ID, req.GetClientID(), req.GetScopes())
	if err != nil {
		return err
	}
	if roles != nil {
		info.AppendClaims(ClaimRoles, roles)
	}
	return nil
}

// GetPrivateClaimsFromRequest adds the scope (RFC 9068 §2.2.3) and, for
// users, their roles to JWT access tokens.
func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	claims := map[string]any{}
	if sc := req.GetScopes(); len(sc) > 0 {
		claims["scope"] = strings.Join(sc, " ")
	}
	g := grantOf(req)
	if g.userID != "" {
		roles, err := s.roles(ctx, g.userID, g.clientID, g.scopes)
		if err != nil {
			return nil, err
		}
		if roles != nil {
			claims[ClaimRoles] = roles
		}
	}
	return claims, nil
}

// GetPrivateClaimsFromScopes is the library's fallback for requests
// GetPrivateClaimsFromRequest does not see; it adds nothing.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// StoreDeviceAuthorization stores a device authorization (RFC 8628 §3.2).
func (s *storage) StoreDeviceAuthorization(ctx context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	inst, err := instanceID(ctx)
	if err != nil {
		return err
	}
	err = s.tokens.CreateDeviceAuthorization(ctx, inst, clientID, deviceCode, userCode, expires, scopes)
	if errors.Is(err, token.ErrDuplicateUserCode) {
		return op.ErrDuplicateUserCode
	}
	return err
}

// GetDeviceAuthorizatonState answers a device's poll (RFC 8628 §3.4/3.5).
// An approved authorization is handed out once.
func (s *storage) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.tokens.PollDevice(ctx, inst, clientID, deviceCode)
	if err != nil {
		return nil, err
	}
	st := &op.DeviceAuthorizationState{ClientID: d.ClientID, Scopes: d.Scopes, Expires: d.ExpiresAt}
	switch d.State {
	case iam.DeviceApproved:
		if !s.tokens.Now().Before(d.ExpiresAt) {
			return st, nil // approved too late: the library answers expired_token
		}
		a, err := s.app(ctx, clientID)
		if err != nil {
			return nil, err
		}
		st.Done, st.Subject, st.AMR, st.AuthTime = true, d.UserID, d.AMR, d.AuthTime
		if st.Audience, err = s.audience(ctx, a.ClientID, a.ProjectID, d.Scopes); err != nil {
			return nil, err
		}
	case iam.DeviceDenied:
		st.Denied = true
	case iam.DeviceConsumed:
		return nil, errors.New("device code already used")
	}
	return st, nil
}
