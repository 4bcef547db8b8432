package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Options configure a Service.
type Options struct {
	// Keyring seals TOTP secrets. Required.
	Keyring *crypto.Keyring
	// Secrets hashes recovery codes and e-mail codes. Required.
	Secrets *crypto.SecretHasher
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service manages the second factors of users.
type Service struct {
	store   store.Store
	keyring *crypto.Keyring
	secrets *crypto.SecretHasher
	now     func() time.Time
}

// New returns a Service. It panics if o.Keyring or o.Secrets is nil.
func New(s store.Store, o Options) *Service {
	if o.Keyring == nil || o.Secrets == nil {
		panic("mfa.New: Options.Keyring and Options.Secrets are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: s, keyring: o.Keyring, secrets: o.Secrets, now: o.Now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Ref names a user as a request does: its instance, optionally its
// organization ("" accepts any organization of the instance), and its ID.
type Ref struct {
	InstanceID string
	OrgID      string
	ID         string
}

var (
	errNoInstance = &iam.Error{Code: iam.Internal, Message: "internal error", Err: errors.New("mfa: no instance given")}
	errHumanOnly  = &iam.Error{Code: iam.FailedPrecondition, Message: "only human users have second factors"}
)

func internal(err error) error {
	return &iam.Error{Code: iam.Internal, Message: "internal error", Err: err}
}

// human loads the human user named by ref through q.
func human(ctx context.Context, q store.Queries, ref Ref) (*iam.User, error) {
	if ref.InstanceID == "" {
		return nil, errNoInstance
	}
	if ref.ID == "" {
		return nil, &iam.Error{Code: iam.Invalid, Field: "user_id", Message: "required"}
	}
	u, err := q.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: ref.InstanceID, OrgID: ref.OrgID, ID: ref.ID})
	if err != nil {
		return nil, store.DomainError(err, "user")
	}
	if u.Type != iam.UserHuman {
		return nil, errHumanOnly
	}
	return u, nil
}

// event is an audit event to append for a user.
type event struct {
	typ     string
	payload map[string]any
}

// appendEvents appends the events for user u by actor through tx.
func appendEvents(ctx context.Context, tx store.Queries, actor string, u *iam.User, now time.Time, events ...event) error {
	for _, ev := range events {
		body, err := json.Marshal(ev.payload)
		if err != nil {
			return fmt.Errorf("encode audit payload: %w", err)
		}
		if _, err := tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
			InstanceID: u.InstanceID, Actor: actor, AggregateType: iam.AggregateUser, AggregateID: u.ID,
			EventType: ev.typ, Payload: body, Now: now,
		}); err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in a transaction on the human user named by ref (loaded in
// the transaction) and maps store errors once.
func (s *Service) tx(ctx context.Context, ref Ref, what string, fn func(tx store.Queries, u *iam.User, now time.Time) error) error {
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		u, err := human(ctx, tx, ref)
		if err != nil {
			return err
		}
		return fn(tx, u, s.clock())
	})
	return store.DomainError(err, what)
}

// ListFactors returns the factors of the user named by ref: the TOTP
// authenticator (also while its enrolment is unconfirmed), the WebAuthn
// credentials, and the recovery codes if any are left. No secrets.
func (s *Service) ListFactors(ctx context.Context, ref Ref) ([]*iam.Factor, error) {
	u, err := human(ctx, s.store, ref)
	if err != nil {
		return nil, err
	}
	var out []*iam.Factor
	totp, err := s.store.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: u.InstanceID, UserID: u.ID})
	switch {
	case err == nil:
		out = append(out, &iam.Factor{ID: totp.ID, Type: iam.FactorTOTP, Verified: totp.Verified, CreatedAt: totp.CreatedAt})
	case !errors.Is(err, store.ErrNotFound):
		return nil, store.DomainError(err, "TOTP factor")
	}
	creds, err := s.store.WebAuthnCredentialList(ctx, &store.WebAuthnCredentialListParams{InstanceID: u.InstanceID, UserID: u.ID})
	if err != nil {
		return nil, store.DomainError(err, "WebAuthn credentials")
	}
	for _, c := range creds {
		out = append(out, &iam.Factor{ID: c.ID, Type: iam.FactorWebAuthn, Name: c.Name, Verified: true, CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt})
	}
	n, err := s.store.RecoveryCodeCount(ctx, &store.RecoveryCodeCountParams{InstanceID: u.InstanceID, UserID: u.ID})
	if err != nil {
		return nil, store.DomainError(err, "recovery codes")
	}
	if n > 0 {
		out = append(out, &iam.Factor{ID: iam.RecoveryCodesFactorID, Type: iam.FactorRecoveryCodes, Verified: true, Remaining: n})
	}
	return out, nil
}

// errNoFactor answers a removal of a factor the user does not have.
func errNoFactor(cause error) error {
	return &iam.Error{Code: iam.NotFound, Field: "factor_id", Message: "factor not found", Err: cause}
}

// RemoveFactor removes a factor of the user named by ref: the TOTP
// authenticator or a WebAuthn credential by its ID, or the recovery codes
// by iam.RecoveryCodesFactorID. Removing the last second factor removes
// the recovery codes too (they only stand in for a factor). Each removal
// appends its event.
func (s *Service) RemoveFactor(ctx context.Context, actor string, ref Ref, factorID string) error {
	if factorID == "" {
		return &iam.Error{Code: iam.Invalid, Field: "factor_id", Message: "required"}
	}
	return s.tx(ctx, ref, "factor", func(tx store.Queries, u *iam.User, now time.Time) error {
		if factorID == iam.RecoveryCodesFactorID {
			n, err := tx.RecoveryCodeCount(ctx, &store.RecoveryCodeCountParams{InstanceID: u.InstanceID, UserID: u.ID})
			if err != nil {
				return err
			}
			if n == 0 {
				return errNoFactor(errors.New("no recovery codes"))
			}
			return s.removeRecoveryCodes(ctx, tx, actor, u, now, "removed")
		}
		totp, err := tx.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: u.InstanceID, UserID: u.ID})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var ev event
		if totp != nil && totp.ID == factorID {
			if err := tx.TOTPFactorDelete(ctx, &store.TOTPFactorDeleteParams{InstanceID: u.InstanceID, UserID: u.ID, ID: factorID}); err != nil {
				return err
			}
			totp, ev = nil, event{iam.EventUserTOTPRemoved, map[string]any{"factor_id": factorID}}
		} else {
			err := tx.WebAuthnCredentialDelete(ctx, &store.WebAuthnCredentialDeleteParams{InstanceID: u.InstanceID, UserID: u.ID, ID: factorID})
			if errors.Is(err, store.ErrNotFound) {
				return errNoFactor(err)
			}
			if err != nil {
				return err
			}
			ev = event{iam.EventUserWebAuthnRemoved, map[string]any{"factor_id": factorID}}
		}
		if err := appendEvents(ctx, tx, actor, u, now, ev); err != nil {
			return err
		}
		// Recovery codes outlive no factor.
		if totp != nil && totp.Verified {
			return nil
		}
		creds, err := tx.WebAuthnCredentialList(ctx, &store.WebAuthnCredentialListParams{InstanceID: u.InstanceID, UserID: u.ID})
		if err != nil || len(creds) > 0 {
			return err
		}
		n, err := tx.RecoveryCodeCount(ctx, &store.RecoveryCodeCountParams{InstanceID: u.InstanceID, UserID: u.ID})
		if err != nil || n == 0 {
			return err
		}
		return s.removeRecoveryCodes(ctx, tx, actor, u, now, "last factor removed")
	})
}

func (s *Service) removeRecoveryCodes(ctx context.Context, tx store.Queries, actor string, u *iam.User, now time.Time, reason string) error {
	if err := tx.RecoveryCodesReplace(ctx, &store.RecoveryCodesReplaceParams{InstanceID: u.InstanceID, UserID: u.ID, Now: now}); err != nil {
		return err
	}
	return appendEvents(ctx, tx, actor, u, now, event{iam.EventUserRecoveryCodesRemoved, map[string]any{"reason": reason}})
}
