package user

import (
	"context"
	"errors"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// lockRetries bounds the retries of RecordFailedLogin when the user row
// changed between its read and its update (optimistic concurrency).
const lockRetries = 3

// RecordFailedLogin counts a failed login of the user of the kind (a
// wrong password, or a wrong one-time code; each kind has its own count
// and maximum in the lockout policy) and returns the new count. When
// maxAttempts is positive and the count reaches it, an active user is
// locked in the same transaction, with a "user.locked" event by the
// system, and locked is true. A locked user cannot log in (CheckPassword
// refuses every non-active user) and their sessions end (the session
// service refuses sessions of non-active users) until an administrator
// calls Unlock.
//
// Locking does not apply the last-owner rule of SetState: an attacker
// must not get unlimited guesses at an owner's password. Keep a second
// owner, or a machine user with a token, to unlock an owner.
func (s *Service) RecordFailedLogin(ctx context.Context, instanceID, userID string, kind iam.LoginFailureKind, maxAttempts int) (count int, locked bool, err error) {
	if instanceID == "" {
		return 0, false, errNoInstance
	}
	if !kind.Valid() {
		return 0, false, &iam.Error{Code: iam.Internal, Message: "internal error", Err: errors.New("user: unknown failure kind " + string(kind))}
	}
	for attempt := 1; ; attempt++ {
		count, locked, err = s.recordFailedLogin(ctx, instanceID, userID, kind, maxAttempts)
		if !errors.Is(err, store.ErrConflict) || attempt == lockRetries || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return 0, false, store.DomainError(err, "user")
	}
	return count, locked, nil
}

func (s *Service) recordFailedLogin(ctx context.Context, instanceID, userID string, kind iam.LoginFailureKind, maxAttempts int) (count int, locked bool, err error) {
	err = s.store.WithTx(ctx, func(tx store.Queries) error {
		now := s.clock()
		count, locked = 0, false
		var err error
		count, err = tx.LoginFailureIncrement(ctx, &store.LoginFailureParams{InstanceID: instanceID, UserID: userID, Kind: kind, Now: now})
		if err != nil || maxAttempts <= 0 || count < maxAttempts {
			return err
		}
		u, err := tx.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: instanceID, ID: userID})
		if err != nil || u.State != iam.UserActive {
			return err
		}
		c := u.Clone()
		c.State = iam.UserLocked
		after, err := tx.UserUpdate(ctx, &store.UserUpdateParams{User: c, Now: now})
		if err != nil {
			return err
		}
		locked = true
		return appendEvent(ctx, tx, iam.SystemActor, after, &event{iam.EventUserLocked, map[string]any{
			"reason": "too many failed logins", "kind": kind, "failed_attempts": count, "max_attempts": maxAttempts, "version": after.Version,
		}}, now)
	})
	return count, locked, err
}

// ResetFailedLogins sets the user's count of failed logins of the kind to
// zero, as a successful password (or one-time code) does; kind "" resets
// every kind.
func (s *Service) ResetFailedLogins(ctx context.Context, instanceID, userID string, kind iam.LoginFailureKind) error {
	if instanceID == "" {
		return errNoInstance
	}
	err := s.store.LoginFailureReset(ctx, &store.LoginFailureParams{InstanceID: instanceID, UserID: userID, Kind: kind})
	return store.DomainError(err, "user")
}

// FailureCounts are a user's counts of failed logins since the last
// success or unlock.
type FailureCounts struct {
	Password int
	OTP      int
}

// FailedLogins returns the counts of failed logins of the user named by
// ref.
func (s *Service) FailedLogins(ctx context.Context, ref Ref) (FailureCounts, error) {
	u, err := s.Get(ctx, ref)
	if err != nil {
		return FailureCounts{}, err
	}
	return failureCounts(ctx, s.store, u)
}

func failureCounts(ctx context.Context, q store.Queries, u *iam.User) (FailureCounts, error) {
	var out FailureCounts
	for kind, dst := range map[iam.LoginFailureKind]*int{iam.FailurePassword: &out.Password, iam.FailureOTP: &out.OTP} {
		n, err := q.LoginFailureGet(ctx, &store.LoginFailureParams{InstanceID: u.InstanceID, UserID: u.ID, Kind: kind})
		if err != nil {
			return FailureCounts{}, store.DomainError(err, "user")
		}
		*dst = n
	}
	return out, nil
}

// Unlock makes a locked user named by ref active again, with a
// "user.unlocked" event by actor, and resets the counts of failed logins
// of every kind (also of a user who is not locked). A user who is inactive stays
// inactive.
func (s *Service) Unlock(ctx context.Context, actor string, ref Ref) (*iam.User, error) {
	return s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		failed, err := failureCounts(ctx, tx, u)
		if err != nil {
			return nil, nil, err
		}
		if err := tx.LoginFailureReset(ctx, &store.LoginFailureParams{InstanceID: u.InstanceID, UserID: u.ID}); err != nil {
			return nil, nil, err
		}
		if u.State != iam.UserLocked {
			return nil, nil, nil
		}
		c := u.Clone()
		c.State = iam.UserActive
		after, err := tx.UserUpdate(ctx, &store.UserUpdateParams{User: c, Now: now})
		if err != nil {
			return nil, nil, err
		}
		return after, &event{iam.EventUserUnlocked, map[string]any{
			"failed_password_attempts": failed.Password, "failed_otp_attempts": failed.OTP, "version": after.Version,
		}}, nil
	})
}
