package user

import (
	"context"
	"errors"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Lifetimes of the tokens sent by e-mail.
const (
	VerifyEmailLifetime   = 24 * time.Hour
	PasswordResetLifetime = time.Hour
)

// Prefixes of the tokens sent by e-mail.
const (
	VerifyEmailPrefix   = "rve_"
	PasswordResetPrefix = "rpr_"
)

// Audit events of the e-mail flows.
const (
	EventUserEmailVerified         = "user.email_verified"
	EventUserPasswordResetSent     = "user.password_reset_sent"
	EventUserVerificationEmailSent = "user.verification_email_sent"
)

// Notify queues the e-mail that carries a token to u, in tx: the token is
// stored if and only if the message is queued (mail.Service.Enqueue with
// tx). token is "" for notices without one (password changed).
type Notify func(ctx context.Context, tx store.Queries, u *iam.User, token string) error

// errBadLink is the one answer for an unknown, used or expired token.
var errBadLink = &iam.Error{Code: iam.NotFound, Message: "this link is invalid or has expired"}

// IssueEmailVerification creates a verification token for the current
// e-mail address of the human user named by ref (valid for
// VerifyEmailLifetime) and calls notify with it in the same transaction,
// with a "user.verification_email_sent" event. FailedPrecondition for a
// user without an e-mail address or whose address is verified already.
func (s *Service) IssueEmailVerification(ctx context.Context, actor string, ref Ref, notify Notify) error {
	_, err := s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		switch {
		case u.Type != iam.UserHuman:
			return nil, nil, errHumanOnly
		case u.Human.Email == "":
			return nil, nil, &iam.Error{Code: iam.FailedPrecondition, Message: "the user has no e-mail address"}
		case u.Human.EmailVerified:
			return nil, nil, &iam.Error{Code: iam.FailedPrecondition, Message: "the e-mail address is verified already"}
		}
		token, err := s.issue(ctx, tx, u, store.PurposeVerifyEmail, VerifyEmailPrefix, VerifyEmailLifetime, now)
		if err != nil {
			return nil, nil, err
		}
		if err := notify(ctx, tx, u, token); err != nil {
			return nil, nil, err
		}
		return u, &event{EventUserVerificationEmailSent, map[string]any{"email": u.Human.Email}}, nil
	})
	return err
}

// issue stores the keyed hash of a new token and returns the token.
func (s *Service) issue(ctx context.Context, tx store.Queries, u *iam.User, purpose, prefix string, ttl time.Duration, now time.Time) (string, error) {
	token := crypto.NewSecret(prefix)
	err := tx.VerificationTokenCreate(ctx, &store.VerificationTokenCreateParams{Token: &store.VerificationToken{
		InstanceID: u.InstanceID, TokenHash: s.secrets.Hash(token), Purpose: purpose, UserID: u.ID, Email: u.Human.Email,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}})
	if err != nil {
		return "", err
	}
	return token, nil
}

// consume uses up a token of the purpose in tx and loads its user;
// errBadLink if the token is unknown, used or expired, or its user is
// gone or not active.
func (s *Service) consume(ctx context.Context, tx store.Queries, instanceID, purpose, token string, now time.Time) (*store.VerificationToken, *iam.User, error) {
	if instanceID == "" {
		return nil, nil, errNoInstance
	}
	if len(token) > 128 || token == "" {
		return nil, nil, errBadLink
	}
	v, err := tx.VerificationTokenConsume(ctx, &store.VerificationTokenConsumeParams{
		InstanceID: instanceID, Purpose: purpose, TokenHash: s.secrets.Hash(token), Now: now,
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errBadLink
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := get(ctx, tx, Ref{InstanceID: instanceID, ID: v.UserID})
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.State != iam.UserActive || u.Human == nil)) {
		return nil, nil, errBadLink
	}
	return v, u, err
}

// VerifyEmail uses up an e-mail verification token and marks the address
// it was sent to verified, with a "user.email_verified" event. A token
// that is unknown, used or expired, or whose address the user no longer
// has, is NotFound and changes nothing. It returns the user.
func (s *Service) VerifyEmail(ctx context.Context, instanceID, token string) (*iam.User, error) {
	var out *iam.User
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		now := s.clock()
		v, u, err := s.consume(ctx, tx, instanceID, store.PurposeVerifyEmail, token, now)
		if err != nil {
			return err
		}
		if u.Human.Email != v.Email {
			return errBadLink
		}
		if u.Human.EmailVerified {
			out = u
			return nil
		}
		before := snapshot(u)
		nu := *u
		h := *u.Human
		h.EmailVerified = true
		nu.Human = &h
		after, err := tx.UserUpdate(ctx, &store.UserUpdateParams{User: &nu, Now: now})
		if err != nil {
			return err
		}
		out = after
		return appendEvent(ctx, tx, after.ID, after, &event{EventUserEmailVerified, map[string]any{
			"email": v.Email, "before": before, "after": snapshot(after),
		}}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "user")
	}
	return out, nil
}

// RequestPasswordReset sends a password reset token (valid for
// PasswordResetLifetime) to the active human user with the login name, if
// there is one with an e-mail address: notify is called with it in the
// token's transaction, with a "user.password_reset_sent" event. For anyone
// else it does nothing and returns nil as well, so callers cannot tell
// (no enumeration); only faults are errors.
func (s *Service) RequestPasswordReset(ctx context.Context, instanceID, loginName string, notify Notify) error {
	return s.requestByLoginName(ctx, instanceID, loginName, notify, byLoginName{
		purpose: store.PurposePasswordReset, prefix: PasswordResetPrefix, ttl: PasswordResetLifetime, event: EventUserPasswordResetSent,
	})
}

// RequestEmailVerification sends a new e-mail verification token (valid
// for VerifyEmailLifetime) to the active human user with the login name,
// if there is one whose e-mail address is not verified yet; the user's
// earlier verification tokens stop working. notify is called in the
// token's transaction, with a "user.verification_email_sent" event. For
// anyone else it does nothing and returns nil as well (no enumeration).
func (s *Service) RequestEmailVerification(ctx context.Context, instanceID, loginName string, notify Notify) error {
	return s.requestByLoginName(ctx, instanceID, loginName, notify, byLoginName{
		purpose: store.PurposeVerifyEmail, prefix: VerifyEmailPrefix, ttl: VerifyEmailLifetime, event: EventUserVerificationEmailSent,
		unverifiedOnly: true, replace: true,
	})
}

// byLoginName describes a token sent to a user named by login name.
type byLoginName struct {
	purpose, prefix string
	ttl             time.Duration
	event           string
	// unverifiedOnly skips users whose address is verified already.
	unverifiedOnly bool
	// replace deletes the user's earlier tokens of the purpose.
	replace bool
}

func (s *Service) requestByLoginName(ctx context.Context, instanceID, loginName string, notify Notify, b byLoginName) error {
	if instanceID == "" {
		return errNoInstance
	}
	if loginName == "" || len(loginName) > 320 {
		return nil
	}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		u, err := tx.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: instanceID, LoginName: loginName})
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if u.Type != iam.UserHuman || u.State != iam.UserActive || u.Human == nil || u.Human.Email == "" || (b.unverifiedOnly && u.Human.EmailVerified) {
			return nil
		}
		if b.replace {
			if _, err := tx.VerificationTokenDeleteByUser(ctx, &store.VerificationTokenDeleteByUserParams{InstanceID: instanceID, UserID: u.ID, Purpose: b.purpose}); err != nil {
				return err
			}
		}
		now := s.clock()
		token, err := s.issue(ctx, tx, u, b.purpose, b.prefix, b.ttl, now)
		if err != nil {
			return err
		}
		if err := notify(ctx, tx, u, token); err != nil {
			return err
		}
		return appendEvent(ctx, tx, u.ID, u, &event{b.event, map[string]any{"email": u.Human.Email}}, now)
	})
	if err != nil {
		return store.DomainError(err, "user")
	}
	return nil
}

// CheckPasswordResetToken reports whether token is a live password reset
// token, without using it up: NotFound if not.
func (s *Service) CheckPasswordResetToken(ctx context.Context, instanceID, token string) error {
	errCheck := errors.New("roll back")
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, _, err := s.consume(ctx, tx, instanceID, store.PurposePasswordReset, token, s.clock()); err != nil {
			return err
		}
		return errCheck // roll back: the token stays usable
	})
	if errors.Is(err, errCheck) {
		return nil
	}
	return store.DomainError(err, "user")
}

// CompletePasswordReset uses up a password reset token and sets password
// (checked against the basic password rule; callers check the password
// policy first) on its user, with a "user.password_set" event (reason
// "reset_by_email"); the user's other reset tokens are deleted and notify
// (with token "") is called in the same transaction to queue a notice. A
// token that is unknown, used or expired is NotFound and changes nothing.
// It returns the user; the caller ends the user's sessions.
func (s *Service) CompletePasswordReset(ctx context.Context, instanceID, token, password string, notify Notify) (*iam.User, error) {
	if p := checkPassword(password); p != "" {
		return nil, &iam.Error{Code: iam.Invalid, Field: "password", Message: p}
	}
	hash, err := s.passwords.Hash(password)
	if err != nil {
		return nil, &iam.Error{Code: iam.Internal, Message: "internal error", Err: err}
	}
	var out *iam.User
	err = s.store.WithTx(ctx, func(tx store.Queries) error {
		now := s.clock()
		_, u, err := s.consume(ctx, tx, instanceID, store.PurposePasswordReset, token, now)
		if err != nil {
			return err
		}
		after, err := tx.UserSetPassword(ctx, &store.UserSetPasswordParams{
			InstanceID: u.InstanceID, ID: u.ID, Hash: hash, Version: u.Version, Now: now,
		})
		if err != nil {
			return err
		}
		if _, err := tx.VerificationTokenDeleteByUser(ctx, &store.VerificationTokenDeleteByUserParams{
			InstanceID: u.InstanceID, UserID: u.ID, Purpose: store.PurposePasswordReset,
		}); err != nil {
			return err
		}
		if notify != nil {
			if err := notify(ctx, tx, after, ""); err != nil {
				return err
			}
		}
		out = after
		return appendEvent(ctx, tx, u.ID, after, &event{iam.EventUserPasswordSet, map[string]any{
			"password": redacted, "change_required": false, "reason": "reset_by_email", "version": after.Version,
		}}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "user")
	}
	return out, nil
}
