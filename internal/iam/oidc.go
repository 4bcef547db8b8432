package iam

import "time"

// Rows of the OpenID Connect / OAuth 2.0 protocol state. They are created and
// consumed by internal/oidc; they carry no business rules of their own.

// AuthRequest is an authorization request (RFC 6749 §4.1.1, OpenID Connect
// Core §3.1.2.1) from the moment /authorize accepted it until its code is
// redeemed or it expires. The row outlives the redemption (CodeUsedAt set)
// until ExpiresAt, so that a replayed code is recognised (RFC 6749 §4.1.2:
// tokens issued from a code used twice should be revoked).
type AuthRequest struct {
	ID         string
	InstanceID string
	ClientID   string
	// The request parameters, as validated at /authorize.
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	// MaxAge is the max_age parameter in seconds; -1 when absent.
	MaxAge    int64
	LoginHint string
	UILocales []string
	// Set once the user has authenticated (Done).
	UserID   string
	AuthTime time.Time
	AMR      []string
	Done     bool
	// CodeHash is the keyed hash of the authorization code; nil until a code
	// was issued.
	CodeHash []byte
	// CodeUsedAt is when the code was redeemed; zero until then.
	CodeUsedAt time.Time
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// RefreshToken is an issued refresh token (stored by keyed hash only).
// Tokens rotate: every use marks the token used and issues a successor in
// the same family; a used token presented again revokes the whole family
// (RFC 9700 §4.14.2).
type RefreshToken struct {
	ID         string
	InstanceID string
	// FamilyID groups a token with its predecessors and successors; it is
	// the grant the first token came from (e.g. the auth request ID).
	FamilyID  string
	TokenHash []byte
	ClientID  string
	UserID    string
	Scopes    []string
	Audience  []string
	AMR       []string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when the token was exchanged; zero while it is current.
	UsedAt time.Time
}

// AccessToken is the server-side record of an opaque access token. JWT
// access tokens have no row (only a Revocation when revoked).
type AccessToken struct {
	// ID is the token ID ("<family>.<id>"), also inside the opaque token.
	ID         string
	InstanceID string
	FamilyID   string
	ClientID   string
	Subject    string
	Scopes     []string
	Audience   []string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// DeviceState is the state of a device authorization (RFC 8628).
type DeviceState string

// Device authorization states.
const (
	DevicePending  DeviceState = "pending"
	DeviceApproved DeviceState = "approved"
	DeviceDenied   DeviceState = "denied"
	// DeviceConsumed: approved, and the device has fetched its tokens.
	DeviceConsumed DeviceState = "consumed"
)

// DeviceAuthorization is a device authorization request (RFC 8628 §3.1).
type DeviceAuthorization struct {
	InstanceID string
	// DeviceCodeHash is the keyed hash of the device code.
	DeviceCodeHash []byte
	// UserCode is what the user types on the verification page; unique per
	// instance among unexpired authorizations.
	UserCode  string
	ClientID  string
	Scopes    []string
	State     DeviceState
	UserID    string
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SigningKey is a token signing key pair. Keys are global (shared by all
// instances; tokens differ by issuer). A key is published in JWKS from
// CreatedAt until RetireAt, signs from NotBefore until NotAfter, and
// RetireAt is at least NotAfter plus the longest token lifetime.
type SigningKey struct {
	// ID is the JWK key ID ("kid").
	ID string
	// Generation numbers keys 1, 2, 3…; unique, so that two nodes racing to
	// create the same key create it once.
	Generation int64
	// Algorithm is the JWS algorithm (RS256, ES256).
	Algorithm string
	// PrivateKey is the PKCS#8 DER private key, encrypted with the master
	// key.
	PrivateKey []byte
	// PublicKey is the public JWK (JSON).
	PublicKey []byte
	CreatedAt time.Time
	NotBefore time.Time
	NotAfter  time.Time
	RetireAt  time.Time
}

// ApplicationKey is a public key an application signs its client
// assertions with (private_key_jwt, RFC 7523 §2.2).
type ApplicationKey struct {
	ID           string
	InstanceID   string
	AppID        string
	PublicKeyPEM string
	// ExpiresAt is zero for keys that do not expire.
	ExpiresAt time.Time
	CreatedAt time.Time
}
