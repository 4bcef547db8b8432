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
