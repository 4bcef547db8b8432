package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Consents of users to applications that require it
// (iam.Application.ConsentRequired): an approval is remembered per user and
// application and covers the scopes approved; a request for a scope not yet
// approved asks again, and the new approval adds to the old.

// Consented reports whether the user has approved every one of scopes for
// the application.
func (s *Service) Consented(ctx context.Context, instanceID, userID, appID string, scopes []string) (bool, error) {
	c, err := s.store.ConsentGet(ctx, &store.ConsentGetParams{InstanceID: instanceID, UserID: userID, AppID: appID})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, store.DomainError(err, "consent")
	}
	for _, sc := range scopes {
		if !slices.Contains(c.Scopes, sc) {
			return false, nil
		}
	}
	return true, nil
}

// GrantConsent remembers the user's approval of scopes for the
// application, in addition to the scopes approved before, with a
// "user.consent_granted" event (actor: the user) in the same transaction.
func (s *Service) GrantConsent(ctx context.Context, instanceID, userID, appID string, scopes []string) error {
	now := s.clock()
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		all := slices.Clone(scopes)
		old, err := tx.ConsentGet(ctx, &store.ConsentGetParams{InstanceID: instanceID, UserID: userID, AppID: appID})
		switch {
		case err == nil:
			all = append(all, old.Scopes...)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		slices.Sort(all)
		all = slices.Compact(all)
		if err := tx.ConsentPut(ctx, &store.ConsentPutParams{Consent: &store.Consent{
			InstanceID: instanceID, UserID: userID, AppID: appID, Scopes: all, GrantedAt: now,
		}}); err != nil {
			return err
		}
		return appendConsentEvent(ctx, tx, instanceID, userID, userID, iam.EventUserConsentGranted,
			map[string]any{"app_id": appID, "scopes": all}, now)
	})
	return store.DomainError(err, "consent")
}

// Consents lists the user's consents.
func (s *Service) Consents(ctx context.Context, instanceID, userID string) ([]*store.Consent, error) {
	list, err := s.store.ConsentList(ctx, &store.ConsentListParams{InstanceID: instanceID, UserID: userID})
	if err != nil {
		return nil, store.DomainError(err, "consents")
	}
	return list, nil
}

// RevokeConsent forgets the user's consent to the application (every
// consent of the user when appID is "") and returns how many there were,
// with a "user.consent_revoked" event by actor when there was any. The
// next login to such an application asks again; tokens already issued are
// not revoked by this.
func (s *Service) RevokeConsent(ctx context.Context, actor, instanceID, userID, appID string) (int, error) {
	var n int
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		var err error
		n, err = tx.ConsentDelete(ctx, &store.ConsentDeleteParams{InstanceID: instanceID, UserID: userID, AppID: appID})
		if err != nil || n == 0 {
			return err
		}
		return appendConsentEvent(ctx, tx, instanceID, actor, userID, iam.EventUserConsentRevoked,
			map[string]any{"app_id": appID, "consents": n}, s.clock())
	})
	if err != nil {
		return 0, store.DomainError(err, "consent")
	}
	return n, nil
}

func appendConsentEvent(ctx context.Context, tx store.Queries, instanceID, actor, userID, event string, payload map[string]any, now time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode audit payload: %w", err)
	}
	_, err = tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
		InstanceID: instanceID, Actor: actor, AggregateType: iam.AggregateUser, AggregateID: userID,
		EventType: event, Payload: body, Now: now,
	})
	return err
}
