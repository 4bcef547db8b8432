package mfa

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// E-mail code parameters.
const (
	// EmailCodeDigits is the length of an e-mail code.
	EmailCodeDigits = 6
	// DefaultEmailCodeLifetime is how long an e-mail code works unless the
	// caller says otherwise.
	DefaultEmailCodeLifetime = 10 * time.Minute
	// DefaultEmailCodeAttempts is how many wrong codes a challenge takes
	// unless the caller says otherwise.
	DefaultEmailCodeAttempts = 5
)

// emailHash binds an e-mail code to its user.
func (s *Service) emailHash(instanceID, userID, code string) []byte {
	return s.secrets.Hash("email_otp:" + instanceID + ":" + userID + ":" + code)
}

// CreateEmailChallenge creates a one-time code for the human user with a
// verified e-mail address and returns it for the caller to send (the code
// is stored only as a keyed hash). It replaces the user's previous
// challenge. lifetime 0 means DefaultEmailCodeLifetime. A user without a
// verified address is FailedPrecondition.
func (s *Service) CreateEmailChallenge(ctx context.Context, instanceID, userID string, lifetime time.Duration) (string, error) {
	u, err := human(ctx, s.store, Ref{InstanceID: instanceID, ID: userID})
	if err != nil {
		return "", err
	}
	if u.Human.Email == "" || !u.Human.EmailVerified {
		return "", &iam.Error{Code: iam.FailedPrecondition, Message: "the e-mail address is not verified; codes are sent to verified addresses only"}
	}
	if lifetime <= 0 {
		lifetime = DefaultEmailCodeLifetime
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", internal(fmt.Errorf("draw e-mail code: %w", err))
	}
	code := fmt.Sprintf("%0*d", EmailCodeDigits, n.Int64())
	now := s.clock()
	err = s.store.EmailOTPChallengePut(ctx, &store.EmailOTPChallengePutParams{Challenge: &iam.EmailOTPChallenge{
		InstanceID: instanceID, UserID: userID, CodeHash: s.emailHash(instanceID, userID, code), CreatedAt: now, ExpiresAt: now.Add(lifetime),
	}})
	if err != nil {
		return "", store.DomainError(err, "user")
	}
	return code, nil
}

// VerifyEmailChallenge checks a code against the user's challenge. The
// right code uses the challenge up (once, even when sent concurrently). A
// wrong code counts an attempt; after maxAttempts wrong codes (0 means
// DefaultEmailCodeAttempts), or once the code expired, the challenge
// accepts nothing and the user must ask for a new code. Every failure is
// Unauthenticated, with a message saying what to do.
func (s *Service) VerifyEmailChallenge(ctx context.Context, instanceID, userID, code string, maxAttempts int) error {
	if instanceID == "" {
		return errNoInstance
	}
	if maxAttempts <= 0 {
		maxAttempts = DefaultEmailCodeAttempts
	}
	code = strings.TrimSpace(code)
	if len(code) != EmailCodeDigits || strings.Trim(code, "0123456789") != "" {
		// Malformed input counts like a wrong code: hash something that
		// never matches.
		code = "malformed"
	}
	r, err := s.store.EmailOTPChallengeConsume(ctx, &store.EmailOTPChallengeConsumeParams{
		InstanceID: instanceID, UserID: userID, CodeHash: s.emailHash(instanceID, userID, code), MaxAttempts: maxAttempts, Now: s.clock(),
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &iam.Error{Code: iam.Unauthenticated, Message: "the code has expired or was used up; ask for a new code", Err: err}
	case err != nil:
		return store.DomainError(err, "e-mail code")
	case r.OK:
		return nil
	case r.Attempts >= maxAttempts:
		return &iam.Error{Code: iam.Unauthenticated, Message: "too many wrong codes; ask for a new code"}
	}
	left := maxAttempts - r.Attempts
	msg := fmt.Sprintf("the code is wrong; %d attempts left", left)
	if left == 1 {
		msg = "the code is wrong; 1 attempt left"
	}
	return &iam.Error{Code: iam.Unauthenticated, Message: msg}
}
