package store

import (
	"context"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// LoginQueries store the state of the hosted login: browser sessions,
// second factors (TOTP authenticators, recovery codes, WebAuthn credentials
// and user handles), e-mail one-time-code challenges and failed-login
// counters.
//
// Every row belongs to one instance and, where it names a user, goes with
// the user (and the instance) when they are deleted. Secrets are stored
// only as keyed hashes or master-key ciphertexts; the store never sees a
// plaintext secret. Methods that take Now compare expiry against it, never
// against the database clock. Unless a method says otherwise it is one
// statement; the "atomic" methods are safe against concurrent callers
// without a surrounding transaction.
type LoginQueries interface {
	LoginCleanupQueries

	// SessionCreate inserts p.Session with all its fields; IdleExpiresAt is
	// stored capped at ExpiresAt. ErrAlreadyExists if the ID or the token
	// hash is taken, ErrNotFound if UserID names no user of the instance.
	SessionCreate(ctx context.Context, p *SessionCreateParams) error
	// SessionGetByTokenHash returns, in one round trip, the session with
	// the token hash if it is alive at Now (before ExpiresAt and
	// IdleExpiresAt), and the state of its user ("" for an anonymous
	// session). ErrNotFound for an unknown or expired session.
	SessionGetByTokenHash(ctx context.Context, p *SessionGetByTokenHashParams) (*iam.LoginSession, iam.UserState, error)
	// SessionTouch sets LastSeenAt to Now and IdleExpiresAt (capped at
	// ExpiresAt) of a session alive at Now; ErrNotFound otherwise. Callers
	// throttle it: one write per session every so often, not per request.
	SessionTouch(ctx context.Context, p *SessionTouchParams) error
	// SessionUpdateAuth replaces the authentication state (user, login
	// name, verification times, AMR) and, if TokenHash is set, the token
	// hash of a session alive at Now, and returns the session.
	// ErrNotFound if there is no such session or UserID names no user of
	// the instance; ErrAlreadyExists if the new token hash is taken.
	SessionUpdateAuth(ctx context.Context, p *SessionUpdateAuthParams) (*iam.LoginSession, error)
	// SessionDelete deletes a session; ErrNotFound if absent.
	SessionDelete(ctx context.Context, p *SessionDeleteParams) error
	// SessionDeleteByUser deletes every session of a user and returns how
	// many.
	SessionDeleteByUser(ctx context.Context, p *SessionDeleteByUserParams) (int, error)

	// TOTPFactorCreate inserts p.Factor. ErrAlreadyExists if the user has a
	// TOTP factor (verified or not) or the ID is taken; ErrNotFound if the
	// user does not exist in the instance.
	TOTPFactorCreate(ctx context.Context, p *TOTPFactorCreateParams) error
	// TOTPFactorGet returns the user's TOTP factor; ErrNotFound if none.
	TOTPFactorGet(ctx context.Context, p *TOTPFactorGetParams) (*iam.TOTPFactor, error)
	// TOTPFactorConfirm atomically marks the user's unverified factor ID
	// verified and records Step as its last used step. ErrNotFound if the
	// user has no such factor, ErrConflict if it is verified already
	// (concurrent confirmations: exactly one succeeds).
	TOTPFactorConfirm(ctx context.Context, p *TOTPFactorConfirmParams) error
	// TOTPFactorUseStep atomically records Step as the last used step of
	// the user's verified factor, provided it is later than the recorded
	// one (UPDATE … WHERE last_used_step < Step). ErrConflict if Step or a
	// later step was used already (a replayed code), ErrNotFound if the
	// user has no verified factor. Concurrent calls with one step: exactly
	// one succeeds.
	TOTPFactorUseStep(ctx context.Context, p *TOTPFactorUseStepParams) error
	// TOTPFactorDelete deletes the user's factor ID; ErrNotFound if absent.
	TOTPFactorDelete(ctx context.Context, p *TOTPFactorDeleteParams) error

	// RecoveryCodesReplace atomically replaces the user's recovery codes by
	// p.Hashes (none: removes them all). ErrNotFound if the user does not
	// exist in the instance (when there are hashes to insert);
	// ErrAlreadyExists on duplicate hashes.
	RecoveryCodesReplace(ctx context.Context, p *RecoveryCodesReplaceParams) error
	// RecoveryCodeConsume atomically deletes the user's code with the hash
	// and returns how many codes the user has left. ErrNotFound if the user
	// has no such code (unknown or used). Concurrent calls with one code:
	// exactly one succeeds.
	RecoveryCodeConsume(ctx context.Context, p *RecoveryCodeConsumeParams) (int, error)
	// RecoveryCodeCount returns how many unused codes the user has.
	RecoveryCodeCount(ctx context.Context, p *RecoveryCodeCountParams) (int, error)

	// WebAuthnUserHandleEnsure returns the user's WebAuthn user handle,
	// storing p.Handle first if the user has none yet (concurrent calls
	// all return the one stored). ErrNotFound if the user does not exist in
	// the instance; ErrAlreadyExists if p.Handle belongs to another user.
	WebAuthnUserHandleEnsure(ctx context.Context, p *WebAuthnUserHandleEnsureParams) ([]byte, error)
	// WebAuthnUserHandleLookup returns the ID of the user with the handle;
	// ErrNotFound if no user of the instance has it.
	WebAuthnUserHandleLookup(ctx context.Context, p *WebAuthnUserHandleLookupParams) (string, error)
	// WebAuthnCredentialCreate inserts p.Credential. ErrAlreadyExists if
	// its ID or credential ID is taken in the instance, ErrNotFound if the
	// user does not exist in the instance.
	WebAuthnCredentialCreate(ctx context.Context, p *WebAuthnCredentialCreateParams) error
	// WebAuthnCredentialList returns a user's credentials ordered by ID.
	WebAuthnCredentialList(ctx context.Context, p *WebAuthnCredentialListParams) ([]*iam.WebAuthnCredential, error)
	// WebAuthnCredentialGetByCredentialID returns the credential of the
	// instance with the authenticator's credential ID; ErrNotFound if none.
	WebAuthnCredentialGetByCredentialID(ctx context.Context, p *WebAuthnCredentialGetByCredentialIDParams) (*iam.WebAuthnCredential, error)
	// WebAuthnCredentialUpdateUsage records a use of the user's credential
	// ID: sign count, backup state and LastUsedAt. ErrNotFound if absent.
	WebAuthnCredentialUpdateUsage(ctx context.Context, p *WebAuthnCredentialUpdateUsageParams) error
	// WebAuthnCredentialDelete deletes the user's credential ID;
	// ErrNotFound if absent.
	WebAuthnCredentialDelete(ctx context.Context, p *WebAuthnCredentialDeleteParams) error

	// EmailOTPChallengePut creates the user's e-mail challenge or replaces
	// the existing one (with zero attempts). ErrNotFound if the user does
	// not exist in the instance.
	EmailOTPChallengePut(ctx context.Context, p *EmailOTPChallengePutParams) error
	// EmailOTPChallengeConsume checks a code against the user's challenge,
	// atomically: if the challenge is alive at Now, has had fewer than
	// MaxAttempts wrong codes and CodeHash matches, it is deleted and the
	// result is OK; if the hash does not match, its attempts are
	// incremented and returned. ErrNotFound if the user has no live
	// challenge with attempts left. Concurrent calls with the right code:
	// exactly one is OK.
	EmailOTPChallengeConsume(ctx context.Context, p *EmailOTPChallengeConsumeParams) (*EmailOTPConsumeResult, error)

	// LoginFailureIncrement atomically adds one to the user's count of
	// failed logins of p.Kind and returns the new count. ErrNotFound if the
	// user does not exist in the instance.
	LoginFailureIncrement(ctx context.Context, p *LoginFailureParams) (int, error)
	// LoginFailureReset sets the user's count of failed logins of p.Kind
	// (of every kind if Kind is "") to zero.
	LoginFailureReset(ctx context.Context, p *LoginFailureParams) error
	// LoginFailureGet returns the user's count of failed logins of p.Kind
	// (0 if none were recorded).
	LoginFailureGet(ctx context.Context, p *LoginFailureParams) (int, error)
}

// LoginCleanupQueries delete expired login state for the cleanup job, with
// the contract of CleanupQueries (batches of at most Limit rows, any
// instance).
type LoginCleanupQueries interface {
	// SessionDeleteExpired deletes sessions whose IdleExpiresAt (never
	// later than ExpiresAt) is at or before Before.
	SessionDeleteExpired(ctx context.Context, p *DeleteBatchParams) (int, error)
	// EmailOTPChallengeDeleteExpired deletes challenges whose ExpiresAt is
	// at or before Before.
	EmailOTPChallengeDeleteExpired(ctx context.Context, p *DeleteBatchParams) (int, error)
}

// SessionCreateParams holds a new session.
type SessionCreateParams struct {
	Session *iam.LoginSession
}

// SessionGetByTokenHashParams select a live session by its token hash.
type SessionGetByTokenHashParams struct {
	InstanceID string
	TokenHash  []byte
	Now        time.Time
}

// SessionTouchParams extend a session's idle expiry.
type SessionTouchParams struct {
	InstanceID    string
	ID            string
	IdleExpiresAt time.Time
	Now           time.Time
}

// SessionUpdateAuthParams replace a session's authentication state.
type SessionUpdateAuthParams struct {
	InstanceID string
	ID         string
	// TokenHash, if set, replaces the token hash (the token is rotated).
	TokenHash          []byte
	UserID             string
	LoginName          string
	PasswordVerifiedAt time.Time
	MFAVerifiedAt      time.Time
	AMR                []string
	Now                time.Time
}

// SessionDeleteParams select a session.
type SessionDeleteParams struct {
	InstanceID string
	ID         string
}

// SessionDeleteByUserParams select a user's sessions.
type SessionDeleteByUserParams struct {
	InstanceID string
	UserID     string
}

// TOTPFactorCreateParams holds a new TOTP factor.
type TOTPFactorCreateParams struct {
	Factor *iam.TOTPFactor
}

// TOTPFactorGetParams select a user's TOTP factor.
type TOTPFactorGetParams struct {
	InstanceID string
	UserID     string
}

// TOTPFactorConfirmParams confirm the enrolment of a TOTP factor.
type TOTPFactorConfirmParams struct {
	InstanceID string
	UserID     string
	ID         string
	Step       int64
}

// TOTPFactorUseStepParams record the use of a TOTP code of time step Step.
type TOTPFactorUseStepParams struct {
	InstanceID string
	UserID     string
	Step       int64
}

// TOTPFactorDeleteParams select a user's TOTP factor.
type TOTPFactorDeleteParams struct {
	InstanceID string
	UserID     string
	ID         string
}

// RecoveryCodesReplaceParams hold a user's new recovery code hashes.
type RecoveryCodesReplaceParams struct {
	InstanceID string
	UserID     string
	Hashes     [][]byte
	Now        time.Time
}

// RecoveryCodeConsumeParams name a recovery code of a user by its hash.
type RecoveryCodeConsumeParams struct {
	InstanceID string
	UserID     string
	Hash       []byte
}

// RecoveryCodeCountParams select a user's recovery codes.
type RecoveryCodeCountParams struct {
	InstanceID string
	UserID     string
}

// WebAuthnUserHandleEnsureParams hold a candidate handle for a user.
type WebAuthnUserHandleEnsureParams struct {
	InstanceID string
	UserID     string
	Handle     []byte
}

// WebAuthnUserHandleLookupParams select a user by WebAuthn user handle.
type WebAuthnUserHandleLookupParams struct {
	InstanceID string
	Handle     []byte
}

// WebAuthnCredentialCreateParams hold a new credential.
type WebAuthnCredentialCreateParams struct {
	Credential *iam.WebAuthnCredential
}

// WebAuthnCredentialListParams select a user's credentials.
type WebAuthnCredentialListParams struct {
	InstanceID string
	UserID     string
}

// WebAuthnCredentialGetByCredentialIDParams select a credential by the
// authenticator's credential ID.
type WebAuthnCredentialGetByCredentialIDParams struct {
	InstanceID   string
	CredentialID []byte
}

// WebAuthnCredentialUpdateUsageParams record a use of a credential.
type WebAuthnCredentialUpdateUsageParams struct {
	InstanceID  string
	UserID      string
	ID          string
	SignCount   uint32
	BackupState bool
	Now         time.Time
}

// WebAuthnCredentialDeleteParams select a user's credential.
type WebAuthnCredentialDeleteParams struct {
	InstanceID string
	UserID     string
	ID         string
}

// EmailOTPChallengePutParams hold a user's new challenge (Attempts is
// ignored: a new challenge starts at zero).
type EmailOTPChallengePutParams struct {
	Challenge *iam.EmailOTPChallenge
}

// EmailOTPChallengeConsumeParams check a code against a user's challenge.
type EmailOTPChallengeConsumeParams struct {
	InstanceID string
	UserID     string
	CodeHash   []byte
	// MaxAttempts is the number of wrong codes after which the challenge
	// accepts nothing; values below 1 mean 1.
	MaxAttempts int
	Now         time.Time
}

// EmailOTPConsumeResult is the answer of EmailOTPChallengeConsume.
type EmailOTPConsumeResult struct {
	// OK: the code matched and the challenge is used up.
	OK bool
	// Attempts is the count of wrong codes after this call (when not OK).
	Attempts int
}

// LoginFailureParams select a user's failed-login counter of one kind.
type LoginFailureParams struct {
	InstanceID string
	UserID     string
	Kind       iam.LoginFailureKind
	// Now is recorded as the time of the last failure (Increment only).
	Now time.Time
}
