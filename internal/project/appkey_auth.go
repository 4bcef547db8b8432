package project

import (
	"context"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// GetApplicationKey returns key keyID of application appID, for verifying
// a client assertion (private_key_jwt). Expiry is the caller's to check.
func (s *Service) GetApplicationKey(ctx context.Context, instanceID, appID, keyID string) (*iam.ApplicationKey, error) {
	k, err := s.store.ApplicationKeyGet(ctx, &store.ApplicationKeyGetParams{InstanceID: instanceID, AppID: appID, ID: keyID})
	if err != nil {
		return nil, store.DomainError(err, "application key")
	}
	return k, nil
}
