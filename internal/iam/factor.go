package iam

import "time"

// Events of a user's authentication factors, sessions and lockout (aggregate
// "user"). Payloads name factors by ID and never hold secrets, codes or
// hashes.
const (
	EventUserTOTPAdded              = "user.totp_added"
	EventUserTOTPRemoved            = "user.totp_removed"
	EventUserWebAuthnAdded          = "user.webauthn_added"
	EventUserWebAuthnRemoved        = "user.webauthn_removed"
	EventUserRecoveryCodesGenerated = "user.recovery_codes_generated"
	EventUserRecoveryCodesRemoved   = "user.recovery_codes_removed"
	EventUserRecoveryCodeUsed       = "user.recovery_code_used"
	EventUserLocked                 = "user.locked"
	EventUserUnlocked               = "user.unlocked"
	EventUserSessionsEnded          = "user.sessions_ended"
	EventUserConsentGranted         = "user.consent_granted"
	EventUserConsentRevoked         = "user.consent_revoked"
)

// FactorType names a kind of second factor.
type FactorType string

// Factor types.
const (
	FactorTOTP          FactorType = "totp"
	FactorWebAuthn      FactorType = "webauthn"
	FactorRecoveryCodes FactorType = "recovery_codes"
)

// RecoveryCodesFactorID names a user's set of recovery codes where a factor
// ID is expected (lists, removal).
const RecoveryCodesFactorID = "recovery_codes"

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

// MaxFactorNameLength caps the name of a WebAuthn credential, in
// characters.
const MaxFactorNameLength = 100

// Factor summarizes an enrolled factor for lists: what it is and when it
// was used, never its secret.
type Factor struct {
	// ID is the TOTP factor's or WebAuthn credential's ID, or
	// RecoveryCodesFactorID.
	ID   string
	Type FactorType
	// Name is the user's name of a WebAuthn credential.
	Name string
	// Verified is false for a TOTP factor whose enrolment was not
	// confirmed with a code yet.
	Verified bool
	// Remaining counts the unused recovery codes.
	Remaining int
	CreatedAt time.Time
	// LastUsedAt is zero if the factor was never used (or, for TOTP and
	// recovery codes, is not tracked).
	LastUsedAt time.Time
}

// TOTPFactor is a time-based one-time password authenticator (RFC 6238) of
// a user: at most one per user. Its shared secret is encrypted with the
// master key (associated data "totp:" + ID).
type TOTPFactor struct {
	ID         string
	InstanceID string
	UserID     string
	// SecretEncrypted is the base32 secret, sealed by crypto.Keyring.
	SecretEncrypted []byte
	// Verified is set once the user confirmed the enrolment with a code;
	// unverified factors do not count as a second factor.
	Verified bool
	// LastUsedStep is the highest time step (Unix time / period) whose code
	// was accepted; a code of this step or an earlier one is refused, so
	// no code works twice.
	LastUsedStep int64
	CreatedAt    time.Time
}

// TOTPSecretAAD returns the associated data the secret of the TOTP factor
// id is sealed with.
func TOTPSecretAAD(id string) []byte { return []byte("totp:" + id) }

// WebAuthnCredential is a public-key credential (a passkey or security
// key) registered by a user through WebAuthn. Credential IDs are unique per
// instance. Nothing in it is secret.
type WebAuthnCredential struct {
	ID         string
	InstanceID string
	UserID     string
	// CredentialID is the authenticator's credential ID.
	CredentialID []byte
	// PublicKey is the COSE-encoded credential public key.
	PublicKey       []byte
	AttestationType string
	// AAGUID identifies the authenticator model (16 bytes, may be zero).
	AAGUID []byte
	// SignCount is the authenticator's signature counter as last seen.
	SignCount uint32
	// Transports are the transports the authenticator reported ("usb",
	// "nfc", "ble", "internal", "hybrid").
	Transports []string
	// Attachment is "platform", "cross-platform" or "".
	Attachment string
	// The authenticator data flags at registration (BackupState also at
	// each use).
	UserPresent    bool
	UserVerified   bool
	BackupEligible bool
	BackupState    bool
	// Name is what the user calls the credential ("YubiKey", "iPhone").
	Name      string
	CreatedAt time.Time
	// LastUsedAt is zero until the credential is first used to log in.
	LastUsedAt time.Time
}

// Clone returns a deep copy of c.
func (c *WebAuthnCredential) Clone() *WebAuthnCredential {
	out := *c
	out.CredentialID = append([]byte(nil), c.CredentialID...)
	out.PublicKey = append([]byte(nil), c.PublicKey...)
	out.AAGUID = append([]byte(nil), c.AAGUID...)
	if c.Transports != nil {
		out.Transports = append([]string(nil), c.Transports...)
	}
	return &out
}

// WebAuthnUserHandleLength is the length of the random user handle
// (WebAuthn user.id) of every user; the WebAuthn spec allows at most 64
// bytes and advises against personal data.
const WebAuthnUserHandleLength = 32

// LoginFailureKind names what a failed login attempt failed at; each kind
// has its own count and its own maximum in the lockout policy.
type LoginFailureKind string

// Kinds of failed login attempts.
const (
	// FailurePassword: a wrong password.
	FailurePassword LoginFailureKind = "password"
	// FailureOTP: a wrong one-time code (TOTP, e-mail or recovery code).
	FailureOTP LoginFailureKind = "otp"
)

// Valid reports whether k is a known kind.
func (k LoginFailureKind) Valid() bool { return k == FailurePassword || k == FailureOTP }

// EmailOTPChallenge is a one-time code sent to a user's verified e-mail
// address: at most one per user, replaced by a new one, deleted when used.
type EmailOTPChallenge struct {
	InstanceID string
	UserID     string
	// CodeHash is the keyed hash of the code (bound to the user).
	CodeHash  []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	// Attempts counts wrong codes entered for this challenge.
	Attempts int
}
