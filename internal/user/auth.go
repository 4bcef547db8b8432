package user

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// The generic answers of the authentication methods: they never say which
// part was wrong, so they cannot be used to probe for login names or tokens.
var (
	errBadToken       = &iam.Error{Code: iam.Unauthenticated, Message: "invalid or expired token"}
	errBadLogin       = &iam.Error{Code: iam.Unauthenticated, Message: "invalid login name or password"}
	errBadClientCreds = &iam.Error{Code: iam.Unauthenticated, Message: "invalid client credentials"}
)

func unauthenticated(generic *iam.Error, cause error) error {
	return &iam.Error{Code: generic.Code, Message: generic.Message, Err: cause}
}

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// AuthenticatePAT returns the active user owning the personal access token
// in the instance. An unknown, expired or malformed token, or a user who is
// not active, is Unauthenticated with one generic message. It costs one
// store round trip (token and user in one query).
func (s *Service) AuthenticatePAT(ctx context.Context, instanceID, token string) (*iam.User, error) {
	if instanceID == "" {
		return nil, errNoInstance
	}
	if token == "" || len(token) > maxTokenLength || strings.ContainsFunc(token, isSpaceOrControl) {
		return nil, unauthenticated(errBadToken, errors.New("malformed token"))
	}
	t, u, err := s.store.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{
		InstanceID: instanceID, Hash: s.secrets.Hash(token),
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, unauthenticated(errBadToken, errors.New("unknown token"))
	case err != nil:
		return nil, store.DomainError(err, "token")
	case !s.clock().Before(t.ExpiresAt):
		return nil, unauthenticated(errBadToken, errors.New("token "+t.ID+" expired"))
	case u.State != iam.UserActive:
		return nil, unauthenticated(errBadToken, errors.New("user "+u.ID+" is "+string(u.State)))
	}
	return u, nil
}

// dummy returns a hash with the current parameters to verify against when
// the login name is unknown, so that the answer takes as long as for a
// known one.
func (s *Service) dummy() string {
	s.dummyOnce.Do(func() {
		h, err := s.passwords.Hash("rampart dummy password")
		if err != nil {
			panic(err) // the parameters were validated with the configuration
		}
		s.dummyHash = h
	})
	return s.dummyHash
}

// CheckPassword returns the active human user with the login name
// (case-insensitive) of the instance if password is theirs. A wrong
// password, an unknown login name, a user without a password, or one who is
// not active is Unauthenticated with one generic message, after the same
// amount of hashing work. When the stored hash has other parameters than
// the service's hasher (or is an imported bcrypt hash), it is replaced,
// keeping the change-required flag, and the updated user is returned.
func (s *Service) CheckPassword(ctx context.Context, instanceID, loginName, password string) (*iam.User, error) {
	u, _, err := s.checkPassword(ctx, instanceID, loginName, password)
	return u, err
}

// PasswordLogin is CheckPassword with the lockout policy (RFC-less but
// OWASP's): a wrong password for an existing user counts against them,
// and at maxAttempts(user's organization) (if positive) the user is
// locked — so an organization's lockout override applies although the
// caller does not know the user yet; a correct one resets the count. The answer is the same generic Unauthenticated error whether
// the name exists, the password is wrong or the user is locked, so the
// login reveals no accounts.
func (s *Service) PasswordLogin(ctx context.Context, instanceID, loginName, password string, maxAttempts func(orgID string) int) (*iam.User, error) {
	u, wrongFor, err := s.checkPassword(ctx, instanceID, loginName, password)
	switch {
	case wrongFor != nil:
		if _, _, lerr := s.RecordFailedLogin(ctx, instanceID, wrongFor.ID, iam.FailurePassword, maxAttempts(wrongFor.OrgID)); lerr != nil && isFaultErr(lerr) {
			return nil, lerr
		}
		return nil, err
	case err != nil:
		return nil, err
	}
	if err := s.ResetFailedLogins(ctx, instanceID, u.ID, iam.FailurePassword); err != nil {
		return nil, err
	}
	return u, nil
}

func isFaultErr(err error) bool {
	c := iam.ErrorCode(err)
	return c == iam.Internal || c == iam.Unavailable
}

// checkPassword is CheckPassword, also returning the active user whose
// password was wrong (for the lockout count).
func (s *Service) checkPassword(ctx context.Context, instanceID, loginName, password string) (*iam.User, *iam.User, error) {
	if instanceID == "" {
		return nil, nil, errNoInstance
	}
	u, err := s.store.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: instanceID, LoginName: strings.TrimSpace(loginName)})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, store.DomainError(err, "user")
	}
	if u == nil || u.Type != iam.UserHuman || u.PasswordHash == "" || len(password) > 4*MaxPasswordLength {
		_, _, _ = s.passwords.Verify(password, s.dummy())
		return nil, nil, unauthenticated(errBadLogin, errors.New("no such user with a password"))
	}
	ok, rehash, verr := s.passwords.Verify(password, u.PasswordHash)
	switch {
	case verr != nil:
		return nil, nil, unauthenticated(errBadLogin, verr)
	case !ok && u.State == iam.UserActive:
		return nil, u, unauthenticated(errBadLogin, errors.New("wrong password for user "+u.ID))
	case !ok:
		return nil, nil, unauthenticated(errBadLogin, errors.New("wrong password for user "+u.ID))
	case u.State != iam.UserActive:
		return nil, nil, unauthenticated(errBadLogin, errors.New("user "+u.ID+" is "+string(u.State)))
	}
	if rehash {
		if after, err := s.rehash(ctx, u, password); err == nil {
			u = after
		}
		// A failed rehash (a concurrent change) is no reason to refuse a
		// correct password: the next login tries again.
	}
	return u, nil, nil
}

// rehash replaces u's password hash with one of the current parameters,
// provided u is unchanged since it was read.
func (s *Service) rehash(ctx context.Context, u *iam.User, password string) (*iam.User, error) {
	hash, err := s.passwords.Hash(password)
	if err != nil {
		return nil, err
	}
	var out *iam.User
	err = s.store.WithTx(ctx, func(tx store.Queries) error {
		now := s.clock()
		after, err := tx.UserSetPassword(ctx, &store.UserSetPasswordParams{
			InstanceID: u.InstanceID, ID: u.ID, Hash: hash, ChangeRequired: u.Human.PasswordChangeRequired, Version: u.Version, Now: now,
		})
		if err != nil {
			return err
		}
		out = after
		return appendEvent(ctx, tx, iam.SystemActor, after, &event{iam.EventUserPasswordSet, map[string]any{
			"password": redacted, "change_required": after.Human.PasswordChangeRequired, "reason": "rehash", "version": after.Version,
		}}, now)
	})
	return out, err
}

// VerifyClientSecret returns the active machine user whose login name is
// clientID if secret is its client secret (compared in constant time).
// Anything else is Unauthenticated with one generic message.
func (s *Service) VerifyClientSecret(ctx context.Context, instanceID, clientID, secret string) (*iam.User, error) {
	if instanceID == "" {
		return nil, errNoInstance
	}
	if clientID == "" || secret == "" || len(secret) > maxTokenLength {
		return nil, unauthenticated(errBadClientCreds, errors.New("malformed client credentials"))
	}
	u, err := s.store.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: instanceID, LoginName: clientID})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, unauthenticated(errBadClientCreds, errors.New("unknown client"))
	case err != nil:
		return nil, store.DomainError(err, "user")
	case u.Type != iam.UserMachine || u.SecretHash == nil:
		return nil, unauthenticated(errBadClientCreds, errors.New("user "+u.ID+" has no client secret"))
	case !s.secrets.Verify(secret, u.SecretHash):
		return nil, unauthenticated(errBadClientCreds, errors.New("wrong client secret for user "+u.ID))
	case u.State != iam.UserActive:
		return nil, unauthenticated(errBadClientCreds, errors.New("user "+u.ID+" is "+string(u.State)))
	}
	return u, nil
}

// MachineKey returns the unexpired key keyID of the active machine user
// userID, for verifying a JWT assertion signed by it (RFC 7523). Anything
// else is Unauthenticated with one generic message.
func (s *Service) MachineKey(ctx context.Context, instanceID, userID, keyID string) (*iam.MachineKey, error) {
	if instanceID == "" {
		return nil, errNoInstance
	}
	if userID == "" || keyID == "" || len(userID) > maxTokenLength || len(keyID) > maxTokenLength {
		return nil, unauthenticated(errBadClientCreds, errors.New("malformed key reference"))
	}
	k, err := s.store.MachineKeyGetByID(ctx, &store.MachineKeyGetByIDParams{InstanceID: instanceID, UserID: userID, ID: keyID})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, unauthenticated(errBadClientCreds, errors.New("unknown machine key"))
	case err != nil:
		return nil, store.DomainError(err, "machine key")
	case !k.ExpiresAt.IsZero() && !s.clock().Before(k.ExpiresAt):
		return nil, unauthenticated(errBadClientCreds, errors.New("machine key "+k.ID+" expired"))
	}
	u, err := s.store.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: instanceID, ID: userID})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, unauthenticated(errBadClientCreds, errors.New("unknown user"))
	case err != nil:
		return nil, store.DomainError(err, "user")
	case u.Type != iam.UserMachine || u.State != iam.UserActive:
		return nil, unauthenticated(errBadClientCreds, errors.New("user "+u.ID+" is not an active machine user"))
	}
	return k, nil
}
