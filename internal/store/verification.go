package store

import (
	"context"
	"time"
)

// Purposes of verification tokens.
const (
	// PurposeVerifyEmail proves control of the e-mail address in the
	// token's Email field.
	PurposeVerifyEmail = "verify_email"
	// PurposePasswordReset lets the holder set a new password.
	PurposePasswordReset = "password_reset"
)

// VerificationToken is a single-use, expiring token sent to a user by
// e-mail (address verification, password reset). Only its keyed hash is
// stored.
type VerificationToken struct {
	InstanceID string
	TokenHash  []byte
	// Purpose is PurposeVerifyEmail or PurposePasswordReset.
	Purpose string
	UserID  string
	// Email is the address the token was sent to; a verification applies
	// only while the user still has it.
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// VerificationQueries store e-mail verification and password-reset tokens.
// Rows belong to one instance and go with their user and instance.
type VerificationQueries interface {
	// VerificationTokenCreate inserts p.Token. ErrNotFound if the user does
	// not exist in the instance; ErrAlreadyExists if the hash is taken.
	VerificationTokenCreate(ctx context.Context, p *VerificationTokenCreateParams) error
	// VerificationTokenConsume atomically deletes and returns the token of
	// the instance with the hash and purpose if it is alive at Now (before
	// ExpiresAt). ErrNotFound otherwise (unknown, used, expired, another
	// purpose). Concurrent calls with one token: exactly one succeeds.
	VerificationTokenConsume(ctx context.Context, p *VerificationTokenConsumeParams) (*VerificationToken, error)
	// VerificationTokenDeleteByUser deletes every token of the user with
	// the purpose ("" any purpose) and returns how many.
	VerificationTokenDeleteByUser(ctx context.Context, p *VerificationTokenDeleteByUserParams) (int, error)
	// VerificationTokenDeleteExpired deletes a batch of tokens that expired
	// at or before p.Before and returns how many.
	VerificationTokenDeleteExpired(ctx context.Context, p *DeleteBatchParams) (int, error)
}

// VerificationTokenCreateParams holds a token to insert.
type VerificationTokenCreateParams struct {
	Token *VerificationToken
}

// VerificationTokenConsumeParams name a token to use.
type VerificationTokenConsumeParams struct {
	InstanceID string
	Purpose    string
	TokenHash  []byte
	Now        time.Time
}

// VerificationTokenDeleteByUserParams name the tokens of a user.
type VerificationTokenDeleteByUserParams struct {
	InstanceID string
	UserID     string
	// Purpose restricts the deletion; "" deletes all the user's tokens.
	Purpose string
}
