package store

import (
	"context"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// OIDCQueries hold the protocol state of the OpenID Provider: authorization
// requests and codes, refresh tokens, opaque access tokens, revocation
// records, device authorizations, signing keys and application keys.
//
// Every method is one statement (one round trip) unless it says otherwise;
// the hot paths of the token and introspection endpoints depend on it.
// Methods that take Now compare expiry against it, never against the
// database clock.
type OIDCQueries interface {
	// AuthRequestCreate inserts p.Request (all fields as given).
	// ErrAlreadyExists if the ID is taken.
	AuthRequestCreate(ctx context.Context, p *AuthRequestCreateParams) error
	// AuthRequestGet returns the request if it exists and has not expired
	// (ExpiresAt > Now); ErrNotFound otherwise.
	AuthRequestGet(ctx context.Context, p *AuthRequestGetParams) (*iam.AuthRequest, error)
	// AuthRequestComplete records the authenticated user and sets Done on an
	// unexpired request that is not done yet; ErrNotFound otherwise.
	AuthRequestComplete(ctx context.Context, p *AuthRequestCompleteParams) error
	// AuthRequestSetCode stores the code hash of a done, unexpired request
	// without a code; ErrNotFound if there is no such request, ErrConflict if
	// it already has a code or is not done.
	AuthRequestSetCode(ctx context.Context, p *AuthRequestSetCodeParams) error
	// AuthRequestRedeemCode atomically marks the code redeemed
	// (CodeUsedAt = Now) and returns the request. If the code exists and
	// has not expired but was redeemed before, it returns the request and
	// ErrConflict (a replay). ErrNotFound for an unknown or expired code.
	// Concurrent redemptions of one code: exactly one gets a nil error.
	AuthRequestRedeemCode(ctx context.Context, p *AuthRequestRedeemCodeParams) (*iam.AuthRequest, error)
	// AuthRequestDelete deletes a request; ErrNotFound if absent.
	AuthRequestDelete(ctx context.Context, p *AuthRequestDeleteParams) error

	// RefreshTokenCreate inserts p.Token. ErrAlreadyExists on a duplicate ID
	// or hash.
	RefreshTokenCreate(ctx context.Context, p *RefreshTokenCreateParams) error
	// RefreshTokenGetByHash returns the token with that hash, used or not,
	// expired or not; ErrNotFound if there is none in the instance.
	RefreshTokenGetByHash(ctx context.Context, p *RefreshTokenGetByHashParams) (*iam.RefreshToken, error)
	// RefreshTokenMarkUsed sets UsedAt = Now on a token that is not used;
	// ErrConflict if it was used already (a concurrent rotation or a reuse),
	// ErrNotFound if it does not exist.
	RefreshTokenMarkUsed(ctx context.Context, p *RefreshTokenMarkUsedParams) error
	// RefreshTokenDeleteFamily deletes every refresh token of a family and
	// returns how many.
	RefreshTokenDeleteFamily(ctx context.Context, p *RefreshTokenDeleteFamilyParams) (int, error)
	// RefreshTokenDeleteByUserClient deletes every refresh token of a user
	// for one client and returns the distinct families they belonged to.
	RefreshTokenDeleteByUserClient(ctx context.Context, p *RefreshTokenDeleteByUserClientParams) ([]string, error)

	// AccessTokenCreate inserts an opaque access token's record.
	AccessTokenCreate(ctx context.Context, p *AccessTokenCreateParams) error
	// AccessTokenDelete deletes one; ErrNotFound if absent.
	AccessTokenDelete(ctx context.Context, p *AccessTokenDeleteParams) error

	// RevocationCreate records that a token ID or a family ID is revoked
	// until ExpiresAt. Idempotent: recording an ID again keeps the later
	// expiry.
	RevocationCreate(ctx context.Context, p *RevocationCreateParams) error
	// TokenStatus answers, in one indexed statement, everything the
	// introspection and userinfo endpoints need to know about a token
	// beyond its signature: whether its ID or family is revoked (unexpired
	// revocation records only), the state of its subject user (if UserID
	// is set), and, if Opaque, its unexpired access-token record.
	TokenStatus(ctx context.Context, p *TokenStatusParams) (*TokenStatus, error)

	// DeviceAuthorizationCreate inserts p.Auth. ErrAlreadyExists if the
	// user code is taken by another unexpired authorization of the instance
	// (the caller draws a new code) or the device code hash exists.
	DeviceAuthorizationCreate(ctx context.Context, p *DeviceAuthorizationCreateParams) error
	// DeviceAuthorizationGetByUserCode returns a pending, unexpired
	// authorization; ErrNotFound otherwise.
	DeviceAuthorizationGetByUserCode(ctx context.Context, p *DeviceAuthorizationGetByUserCodeParams) (*iam.DeviceAuthorization, error)
	// DeviceAuthorizationDecide moves a pending, unexpired authorization to
	// approved (with the user) or denied; ErrNotFound otherwise.
	DeviceAuthorizationDecide(ctx context.Context, p *DeviceAuthorizationDecideParams) error
	// DeviceAuthorizationPoll returns the authorization of the client with
	// that device code hash, expired or not. If it is approved it is
	// atomically moved to consumed and returned with State approved, so
	// that tokens are issued once; later polls see consumed. ErrNotFound
	// for an unknown code or another client's code.
	DeviceAuthorizationPoll(ctx context.Context, p *DeviceAuthorizationPollParams) (*iam.DeviceAuthorization, error)

	// SigningKeyList returns the keys with RetireAt > Now, by generation.
	SigningKeyList(ctx context.Context, p *SigningKeyListParams) ([]*iam.SigningKey, error)
	// SigningKeyCreate inserts a key. ErrAlreadyExists if its generation
	// (or ID) exists: another node created that key first.
	SigningKeyCreate(ctx context.Context, p *SigningKeyCreateParams) error

	// ProjectAudience returns what tokens need of a project: whether it
	// asserts roles, and the client IDs of its active applications (sorted),
	// which join the audience of tokens for the project. One statement;
	// ErrNotFound if the instance has no such project.
	ProjectAudience(ctx context.Context, p *ProjectAudienceParams) (*ProjectAudience, error)

	// ApplicationKeyCreate inserts a key of an application (ErrNotFound if
	// the application does not exist in the instance).
	ApplicationKeyCreate(ctx context.Context, p *ApplicationKeyCreateParams) (*iam.ApplicationKey, error)
	// ApplicationKeyGet returns a key of an application; ErrNotFound if the
	// application has no such key.
	ApplicationKeyGet(ctx context.Context, p *ApplicationKeyGetParams) (*iam.ApplicationKey, error)
	// ApplicationKeyList returns an application's keys by ID.
	ApplicationKeyList(ctx context.Context, p *ApplicationKeyListParams) ([]*iam.ApplicationKey, error)
	// ApplicationKeyDelete returns ErrNotFound if the application has no
	// such key.
	ApplicationKeyDelete(ctx context.Context, p *ApplicationKeyDeleteParams) error
}

// OIDCCleanupQueries delete expired protocol state for the cleanup job, with
// the contract of CleanupQueries (batches of at most Limit rows, any
// instance). A row is deleted once its ExpiresAt (RetireAt for signing
// keys) is at or before Before.
type OIDCCleanupQueries interface {
	AuthRequestDeleteExpired(ctx context.Context, p *DeleteBatchParams) (int, error)
	RefreshTokenDeleteExpired(ctx context.Context, p *DeleteBatchParams) (int, error)
	AccessTokenDeleteExpired(ctx context.Context, p *DeleteBatchParams) (int, error)
	RevocationDeleteExpired(ctx context.Context, p *DeleteBatchParams) (int, error)
	DeviceAuthorizationDeleteExpired(ctx context.Context, p *DeleteBatchParams) (int, error)
	SigningKeyDeleteRetired(ctx context.Context, p *DeleteBatchParams) (int, error)
}

// AuthRequestCreateParams holds a new authorization request.
type AuthRequestCreateParams struct {
	Request *iam.AuthRequest
}

// AuthRequestGetParams selects an unexpired request.
type AuthRequestGetParams struct {
	InstanceID string
	ID         string
	Now        time.Time
}

// AuthRequestCompleteParams records the user who authenticated.
type AuthRequestCompleteParams struct {
	InstanceID string
	ID         string
	UserID     string
	AuthTime   time.Time
	AMR        []string
	Now        time.Time
}

// AuthRequestSetCodeParams stores a code's hash.
type AuthRequestSetCodeParams struct {
	InstanceID string
	ID         string
	CodeHash   []byte
	Now        time.Time
}

// AuthRequestRedeemCodeParams redeems a code.
type AuthRequestRedeemCodeParams struct {
	InstanceID string
	CodeHash   []byte
	Now        time.Time
}

// AuthRequestDeleteParams selects a request.
type AuthRequestDeleteParams struct {
	InstanceID string
	ID         string
}

// RefreshTokenCreateParams holds a new refresh token.
type RefreshTokenCreateParams struct {
	Token *iam.RefreshToken
}

// RefreshTokenGetByHashParams selects a refresh token.
type RefreshTokenGetByHashParams struct {
	InstanceID string
	TokenHash  []byte
}

// RefreshTokenMarkUsedParams marks a token used.
type RefreshTokenMarkUsedParams struct {
	InstanceID string
	ID         string
	Now        time.Time
}

// RefreshTokenDeleteFamilyParams selects a family.
type RefreshTokenDeleteFamilyParams struct {
	InstanceID string
	FamilyID   string
}

// RefreshTokenDeleteByUserClientParams selects a user's tokens for a client.
type RefreshTokenDeleteByUserClientParams struct {
	InstanceID string
	UserID     string
	ClientID   string
}

// AccessTokenCreateParams holds an opaque access token's record.
type AccessTokenCreateParams struct {
	Token *iam.AccessToken
}

// AccessTokenDeleteParams selects an opaque access token.
type AccessTokenDeleteParams struct {
	InstanceID string
	ID         string
}

// RevocationCreateParams records a revoked token or family ID.
type RevocationCreateParams struct {
	InstanceID string
	ID         string
	ExpiresAt  time.Time
}

// TokenStatusParams name a token for TokenStatus.
type TokenStatusParams struct {
	InstanceID string
	// TokenID and FamilyID are looked up in the revocation records.
	TokenID  string
	FamilyID string
	// UserID, if set, is the user whose state is returned.
	UserID string
	// Opaque asks for the access-token record with ID TokenID.
	Opaque bool
	Now    time.Time
}

// TokenStatus is the answer of TokenStatus.
type TokenStatus struct {
	// Revoked: an unexpired revocation record names the token or family.
	Revoked bool
	// UserState is the subject user's state; "" if UserID was empty or no
	// such user exists in the instance.
	UserState iam.UserState
	// Opaque is the unexpired access-token record (nil if not asked for,
	// absent or expired).
	Opaque *iam.AccessToken
}

// DeviceAuthorizationCreateParams holds a new device authorization.
type DeviceAuthorizationCreateParams struct {
	Auth *iam.DeviceAuthorization
	Now  time.Time
}

// DeviceAuthorizationGetByUserCodeParams selects a pending authorization.
type DeviceAuthorizationGetByUserCodeParams struct {
	InstanceID string
	UserCode   string
	Now        time.Time
}

// DeviceAuthorizationDecideParams approve or deny a pending authorization.
type DeviceAuthorizationDecideParams struct {
	InstanceID string
	UserCode   string
	Approve    bool
	// UserID, AuthTime and AMR are recorded when approving.
	UserID   string
	AuthTime time.Time
	AMR      []string
	Now      time.Time
}

// DeviceAuthorizationPollParams select the authorization a device polls.
type DeviceAuthorizationPollParams struct {
	InstanceID     string
	ClientID       string
	DeviceCodeHash []byte
	Now            time.Time
}

// SigningKeyListParams select the published keys.
type SigningKeyListParams struct {
	Now time.Time
}

// SigningKeyCreateParams holds a new signing key.
type SigningKeyCreateParams struct {
	Key *iam.SigningKey
}

// ApplicationKeyCreateParams holds a new application key: every field but
// CreatedAt, taken from Now.
type ApplicationKeyCreateParams struct {
	Key *iam.ApplicationKey
	Now time.Time
}

// ApplicationKeyGetParams select one key of an application.
type ApplicationKeyGetParams struct {
	InstanceID string
	AppID      string
	ID         string
}

// ApplicationKeyListParams select an application's keys.
type ApplicationKeyListParams struct {
	InstanceID string
	AppID      string
}

// ApplicationKeyDeleteParams select one key of an application.
type ApplicationKeyDeleteParams struct {
	InstanceID string
	AppID      string
	ID         string
}

// ProjectAudienceParams select a project of an instance (of any
// organization).
type ProjectAudienceParams struct {
	InstanceID string
	ProjectID  string
}

// ProjectAudience is the answer of ProjectAudience.
type ProjectAudience struct {
	ProjectID     string
	RoleAssertion bool
	ClientIDs     []string
}
