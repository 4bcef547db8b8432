package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	rcrypto "github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Lifetimes of protocol state that is not configured per application.
const (
	// AuthRequestLifetime bounds the time from /authorize to the end of the
	// login (and the time a redeemed code is remembered to detect replay).
	AuthRequestLifetime = 30 * time.Minute
	// CodeLifetime bounds the time from the login to the code's redemption
	// (RFC 6749 §4.1.2: "a maximum authorization code lifetime of 10
	// minutes is RECOMMENDED").
	CodeLifetime = 10 * time.Minute
)

// RefreshTokenPrefix starts every refresh token, so that users and secret
// scanners can tell them apart.
const RefreshTokenPrefix = "rrt_"

// ErrInvalidGrant is wrapped by errors for a code, refresh token or device
// code that is unknown, expired, revoked, replayed or another client's:
// the transport answers invalid_grant (RFC 6749 §5.2).
var ErrInvalidGrant = errors.New("invalid grant")

// ErrDuplicateUserCode: a device user code collided; draw another.
var ErrDuplicateUserCode = errors.New("duplicate user code")

func invalidGrant(why string) error { return fmt.Errorf("%w: %s", ErrInvalidGrant, why) }

// Service keeps the protocol state of the OpenID Provider: authorization
// requests and codes, refresh-token families with rotation and reuse
// detection, opaque access tokens, revocations and device authorizations.
// Secrets (codes, refresh tokens, device codes) are stored only as keyed
// hashes.
type Service struct {
	st      store.Store
	secrets *rcrypto.SecretHasher
	now     func() time.Time
	log     *slog.Logger
}

// New returns a Service. now and log may be nil.
func New(st store.Store, secrets *rcrypto.SecretHasher, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, secrets: secrets, now: now, log: log}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Now returns the service's clock (UTC, microseconds).
func (s *Service) Now() time.Time { return s.clock() }

// NewTokenID returns a token ID in family: "<family>.<unique>". The family
// can be read back with Family, so that a token's revocation check names
// both in one lookup.
func NewTokenID(family string) string { return family + "." + iam.NewID() }

// Family returns the family part of a token ID ("" if it has none).
func Family(tokenID string) string {
	f, _, ok := strings.Cut(tokenID, ".")
	if !ok {
		return ""
	}
	return f
}

// CreateAuthRequest stores a validated authorization request; it assigns
// ID, CreatedAt and ExpiresAt.
func (s *Service) CreateAuthRequest(ctx context.Context, r *iam.AuthRequest) error {
	now := s.clock()
	r.ID = iam.NewID()
	r.CreatedAt = now
	r.ExpiresAt = now.Add(AuthRequestLifetime)
	return store.DomainError(s.st.AuthRequestCreate(ctx, &store.AuthRequestCreateParams{Request: r}), "auth request")
}

// AuthRequest returns an unexpired request (NotFound otherwise).
func (s *Service) AuthRequest(ctx context.Context, instanceID, id string) (*iam.AuthRequest, error) {
	r, err := s.st.AuthRequestGet(ctx, &store.AuthRequestGetParams{InstanceID: instanceID, ID: id, Now: s.clock()})
	return r, store.DomainError(err, "auth request")
}

// CompleteAuthRequest records that userID authenticated for the request
// with the given methods (RFC 8176 amr values).
func (s *Service) CompleteAuthRequest(ctx context.Context, instanceID, id, userID string, amr []string) error {
	now := s.clock()
	err := s.st.AuthRequestComplete(ctx, &store.AuthRequestCompleteParams{
		InstanceID: instanceID, ID: id, UserID: userID, AuthTime: now, AMR: amr, Now: now,
	})
	return store.DomainError(err, "auth request")
}

// CompleteAuthRequestAt is CompleteAuthRequest for a user who
// authenticated earlier (single sign-on from a login session): authTime
// is when they did, the auth_time of the ID token (OpenID Connect Core
// §2).
func (s *Service) CompleteAuthRequestAt(ctx context.Context, instanceID, id, userID string, amr []string, authTime time.Time) error {
	now := s.clock()
	if authTime.IsZero() || authTime.After(now) {
		authTime = now
	}
	err := s.st.AuthRequestComplete(ctx, &store.AuthRequestCompleteParams{
		InstanceID: instanceID, ID: id, UserID: userID, AuthTime: authTime.UTC().Truncate(time.Microsecond), AMR: amr, Now: now,
	})
	return store.DomainError(err, "auth request")
}

// SaveCode stores the hash of the code issued for a completed request.
func (s *Service) SaveCode(ctx context.Context, instanceID, id, code string) error {
	err := s.st.AuthRequestSetCode(ctx, &store.AuthRequestSetCodeParams{
		InstanceID: instanceID, ID: id, CodeHash: s.secrets.Hash(code), Now: s.clock(),
	})
	return store.DomainError(err, "auth request")
}

// RedeemCode redeems an authorization code once. A code presented again
// revokes every token issued from it (RFC 6749 §4.1.2) and, like an
// unknown or expired code, yields ErrInvalidGrant.
func (s *Service) RedeemCode(ctx context.Context, instanceID, code string) (*iam.AuthRequest, error) {
	now := s.clock()
	r, err := s.st.AuthRequestRedeemCode(ctx, &store.AuthRequestRedeemCodeParams{
		InstanceID: instanceID, CodeHash: s.secrets.Hash(code), Now: now,
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		s.log.Warn("authorization code replayed; revoking its tokens", "instance", instanceID, "client", r.ClientID, "auth_request", r.ID)
		if err := s.RevokeFamily(ctx, instanceID, r.ID); err != nil {
			return nil, err
		}
		return nil, invalidGrant("code already used")
	case errors.Is(err, store.ErrNotFound):
		return nil, invalidGrant("code unknown or expired")
	case err != nil:
		return nil, store.DomainError(err, "auth request")
	case !r.Done || now.Sub(later(r.AuthTime, r.CreatedAt)) > CodeLifetime:
		// The code was issued when the request was completed: at the login
		// (AuthTime), or for a single sign-on no earlier than the request.
		return nil, invalidGrant("code expired")
	}
	return r, nil
}

// Grant is what a refresh token carries forward to the tokens it buys.
type Grant struct {
	InstanceID string
	FamilyID   string
	ClientID   string
	UserID     string
	Scopes     []string
	Audience   []string
	AMR        []string
	AuthTime   time.Time
}

func (s *Service) newRefreshToken(g *Grant, lifetime time.Duration, now time.Time) (*iam.RefreshToken, string) {
	token := rcrypto.NewSecret(RefreshTokenPrefix)
	return &iam.RefreshToken{
		ID: iam.NewID(), InstanceID: g.InstanceID, FamilyID: g.FamilyID, TokenHash: s.secrets.Hash(token),
		ClientID: g.ClientID, UserID: g.UserID, Scopes: g.Scopes, Audience: g.Audience, AMR: g.AMR,
		AuthTime: g.AuthTime, CreatedAt: now, ExpiresAt: now.Add(lifetime),
	}, token
}

// IssueRefreshToken starts or continues a family with a fresh token and
// returns the token.
func (s *Service) IssueRefreshToken(ctx context.Context, g *Grant, lifetime time.Duration) (string, error) {
	rt, token := s.newRefreshToken(g, lifetime, s.clock())
	err := s.st.RefreshTokenCreate(ctx, &store.RefreshTokenCreateParams{Token: rt})
	return token, store.DomainError(err, "refresh token")
}

// RefreshToken returns the current refresh token of the instance for the
// token string. A token that was already exchanged is a reuse (RFC 9700
// §4.14.2): its whole family is revoked. Unknown, expired and reused
// tokens yield ErrInvalidGrant.
func (s *Service) RefreshToken(ctx context.Context, instanceID, token string) (*iam.RefreshToken, error) {
	if !strings.HasPrefix(token, RefreshTokenPrefix) || len(token) > 200 {
		return nil, invalidGrant("not a refresh token")
	}
	rt, err := s.st.RefreshTokenGetByHash(ctx, &store.RefreshTokenGetByHashParams{InstanceID: instanceID, TokenHash: s.secrets.Hash(token)})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, invalidGrant("refresh token unknown or revoked")
	case err != nil:
		return nil, store.DomainError(err, "refresh token")
	case !rt.UsedAt.IsZero():
		s.log.Warn("refresh token reused; revoking its family", "instance", instanceID, "client", rt.ClientID, "user", rt.UserID, "family", rt.FamilyID)
		if err := s.RevokeFamily(ctx, instanceID, rt.FamilyID); err != nil {
			return nil, err
		}
		return nil, invalidGrant("refresh token already used")
	case !s.clock().Before(rt.ExpiresAt):
		return nil, invalidGrant("refresh token expired")
	}
	return rt, nil
}

// RotateRefreshToken exchanges current (as returned by RefreshToken) for a
// successor in the same family, atomically: of two concurrent exchanges of
// one token exactly one succeeds; the other is a reuse and revokes the
// family. The successor gets the full lifetime (a sliding window: a client
// that keeps refreshing stays signed in; one idle for lifetime does not).
func (s *Service) RotateRefreshToken(ctx context.Context, current *iam.RefreshToken, g *Grant, lifetime time.Duration) (string, error) {
	now := s.clock()
	g.FamilyID = current.FamilyID
	next, token := s.newRefreshToken(g, lifetime, now)
	err := s.st.WithTx(ctx, func(tx store.Queries) error {
		if err := tx.RefreshTokenMarkUsed(ctx, &store.RefreshTokenMarkUsedParams{InstanceID: current.InstanceID, ID: current.ID, Now: now}); err != nil {
			return err
		}
		return tx.RefreshTokenCreate(ctx, &store.RefreshTokenCreateParams{Token: next})
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		if err := s.RevokeFamily(ctx, current.InstanceID, current.FamilyID); err != nil {
			return "", err
		}
		return "", invalidGrant("refresh token already used")
	case errors.Is(err, store.ErrNotFound):
		return "", invalidGrant("refresh token revoked")
	case err != nil:
		return "", store.DomainError(err, "refresh token")
	}
	return token, nil
}

// RefreshTokenInfo returns the refresh token for token in the instance,
// used or not (for revocation), or ErrInvalidGrant.
func (s *Service) RefreshTokenInfo(ctx context.Context, instanceID, token string) (*iam.RefreshToken, error) {
	if !strings.HasPrefix(token, RefreshTokenPrefix) || len(token) > 200 {
		return nil, invalidGrant("not a refresh token")
	}
	rt, err := s.st.RefreshTokenGetByHash(ctx, &store.RefreshTokenGetByHashParams{InstanceID: instanceID, TokenHash: s.secrets.Hash(token)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidGrant("refresh token unknown")
	}
	return rt, store.DomainError(err, "refresh token")
}

// RevokeFamily revokes a grant: its refresh tokens are deleted and a
// revocation record rejects every access token of the family until the
// longest-lived of them has expired.
func (s *Service) RevokeFamily(ctx context.Context, instanceID, familyID string) error {
	until := s.clock().Add(MaxSignedTokenLifetime)
	err := s.st.WithTx(ctx, func(tx store.Queries) error {
		if _, err := tx.RefreshTokenDeleteFamily(ctx, &store.RefreshTokenDeleteFamilyParams{InstanceID: instanceID, FamilyID: familyID}); err != nil {
			return err
		}
		return tx.RevocationCreate(ctx, &store.RevocationCreateParams{InstanceID: instanceID, ID: familyID, ExpiresAt: until})
	})
	return store.DomainError(err, "token")
}

// RevokeAccessToken revokes one access token by ID: a revocation record for
// JWTs, and the record of an opaque token is deleted.
func (s *Service) RevokeAccessToken(ctx context.Context, instanceID, tokenID string, expiresAt time.Time) error {
	if expiresAt.IsZero() {
		expiresAt = s.clock().Add(MaxSignedTokenLifetime)
	}
	err := s.st.WithTx(ctx, func(tx store.Queries) error {
		if err := tx.AccessTokenDelete(ctx, &store.AccessTokenDeleteParams{InstanceID: instanceID, ID: tokenID}); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.RevocationCreate(ctx, &store.RevocationCreateParams{InstanceID: instanceID, ID: tokenID, ExpiresAt: expiresAt})
	})
	return store.DomainError(err, "token")
}

// RevokeSignedAccessToken revokes one JWT access token by ID until it
// expires: a revocation record, one statement (a JWT has no record to
// delete, unlike an opaque token: RevokeAccessToken).
func (s *Service) RevokeSignedAccessToken(ctx context.Context, instanceID, tokenID string, expiresAt time.Time) error {
	if expiresAt.IsZero() {
		expiresAt = s.clock().Add(MaxSignedTokenLifetime)
	}
	err := s.st.RevocationCreate(ctx, &store.RevocationCreateParams{InstanceID: instanceID, ID: tokenID, ExpiresAt: expiresAt})
	return store.DomainError(err, "token")
}

// RevokeUserClient ends a user's grants to one client (RP-initiated
// logout): every refresh-token family of the pair is revoked, with the
// access tokens of those families.
func (s *Service) RevokeUserClient(ctx context.Context, instanceID, userID, clientID string) error {
	until := s.clock().Add(MaxSignedTokenLifetime)
	err := s.st.WithTx(ctx, func(tx store.Queries) error {
		families, err := tx.RefreshTokenDeleteByUserClient(ctx, &store.RefreshTokenDeleteByUserClientParams{InstanceID: instanceID, UserID: userID, ClientID: clientID})
		if err != nil {
			return err
		}
		for _, f := range families {
			if err := tx.RevocationCreate(ctx, &store.RevocationCreateParams{InstanceID: instanceID, ID: f, ExpiresAt: until}); err != nil {
				return err
			}
		}
		return nil
	})
	return store.DomainError(err, "token")
}

// CreateOpaqueAccessToken records an opaque access token.
func (s *Service) CreateOpaqueAccessToken(ctx context.Context, t *iam.AccessToken) error {
	return store.DomainError(s.st.AccessTokenCreate(ctx, &store.AccessTokenCreateParams{Token: t}), "access token")
}

// Status answers in one round trip whether a token (by ID and family) is
// revoked, its user's state and, for opaque tokens, its record.
func (s *Service) Status(ctx context.Context, instanceID, tokenID, userID string, opaque bool) (*store.TokenStatus, error) {
	st, err := s.st.TokenStatus(ctx, &store.TokenStatusParams{
		InstanceID: instanceID, TokenID: tokenID, FamilyID: Family(tokenID), UserID: userID, Opaque: opaque, Now: s.clock(),
	})
	return st, store.DomainError(err, "token")
}

// NormalizeUserCode canonicalizes a device user code as typed by a user:
// letters upper-cased, separators dropped.
func NormalizeUserCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() > 64 {
			break
		}
	}
	return b.String()
}

// CreateDeviceAuthorization stores a device authorization (RFC 8628 §3.2).
func (s *Service) CreateDeviceAuthorization(ctx context.Context, instanceID, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	now := s.clock()
	err := s.st.DeviceAuthorizationCreate(ctx, &store.DeviceAuthorizationCreateParams{Now: now, Auth: &iam.DeviceAuthorization{
		InstanceID: instanceID, DeviceCodeHash: s.secrets.Hash(deviceCode), UserCode: NormalizeUserCode(userCode),
		ClientID: clientID, Scopes: scopes, State: iam.DevicePending, CreatedAt: now, ExpiresAt: expires.UTC(),
	}})
	if errors.Is(err, store.ErrAlreadyExists) {
		return ErrDuplicateUserCode
	}
	return store.DomainError(err, "device authorization")
}

// DeviceAuthorizationByUserCode returns a pending authorization (NotFound
// otherwise).
func (s *Service) DeviceAuthorizationByUserCode(ctx context.Context, instanceID, userCode string) (*iam.DeviceAuthorization, error) {
	d, err := s.st.DeviceAuthorizationGetByUserCode(ctx, &store.DeviceAuthorizationGetByUserCodeParams{
		InstanceID: instanceID, UserCode: NormalizeUserCode(userCode), Now: s.clock(),
	})
	return d, store.DomainError(err, "device authorization")
}

// DecideDevice approves (for userID) or denies a pending authorization.
func (s *Service) DecideDevice(ctx context.Context, instanceID, userCode string, approve bool, userID string, amr []string) error {
	now := s.clock()
	err := s.st.DeviceAuthorizationDecide(ctx, &store.DeviceAuthorizationDecideParams{
		InstanceID: instanceID, UserCode: NormalizeUserCode(userCode), Approve: approve, UserID: userID, AuthTime: now, AMR: amr, Now: now,
	})
	return store.DomainError(err, "device authorization")
}

// PollDevice returns the state of a device authorization for the polling
// client; an approved one is returned once (then it is consumed).
func (s *Service) PollDevice(ctx context.Context, instanceID, clientID, deviceCode string) (*iam.DeviceAuthorization, error) {
	d, err := s.st.DeviceAuthorizationPoll(ctx, &store.DeviceAuthorizationPollParams{
		InstanceID: instanceID, ClientID: clientID, DeviceCodeHash: s.secrets.Hash(deviceCode), Now: s.clock(),
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidGrant("device code unknown")
	}
	return d, store.DomainError(err, "device authorization")
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
