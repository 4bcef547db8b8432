package mfa

import (
	"context"
	"errors"

	"github.com/rampartiam/rampart/internal/store"
)

// HasVerifiedTOTP reports whether the user has a confirmed TOTP factor:
// the login asks for a code then. One store round trip.
func (s *Service) HasVerifiedTOTP(ctx context.Context, instanceID, userID string) (bool, error) {
	if instanceID == "" {
		return false, errNoInstance
	}
	f, err := s.store.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: instanceID, UserID: userID})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, store.DomainError(err, "TOTP factor")
	}
	return f.Verified, nil
}

// HasWebAuthnCredentials reports whether the user has registered a
// passkey or security key: the login asks for one after the password then.
// One store round trip (and, unlike WebAuthnUser, no user handle is
// created).
func (s *Service) HasWebAuthnCredentials(ctx context.Context, instanceID, userID string) (bool, error) {
	if instanceID == "" {
		return false, errNoInstance
	}
	creds, err := s.store.WebAuthnCredentialList(ctx, &store.WebAuthnCredentialListParams{InstanceID: instanceID, UserID: userID})
	if err != nil {
		return false, store.DomainError(err, "WebAuthn credentials")
	}
	return len(creds) > 0, nil
}
