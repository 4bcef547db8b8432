package member

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

// Service manages memberships.
type Service struct {
	store store.Store
	now   func() time.Time
}

// New returns a Service. now is the clock (time.Now if nil).
func New(s store.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Add validates and stores a new membership of m.UserID on m's target in
// instance m.InstanceID with m.Roles, with its "member.added" audit event in
// the same transaction. The organization, project (of that organization)
// and user must exist in the instance (NotFound naming the field); a user
// has at most one membership per target (AlreadyExists).
func (s *Service) Add(ctx context.Context, actor string, m *iam.Membership) (*iam.Membership, error) {
	m = clone(m)
	m.ID = iam.NewID()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var out *iam.Membership
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if err := checkExists(ctx, tx, m); err != nil {
			return err
		}
		now := s.clock()
		created, err := tx.MembershipCreate(ctx, &store.MembershipCreateParams{Membership: m, Now: now})
		if err != nil {
			return err
		}
		out = created
		return appendEvent(ctx, tx, actor, created, iam.EventMemberAdded, map[string]any{"after": snapshot(created)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "membership")
	}
	return out, nil
}

// checkExists verifies that m's target and user exist in its instance.
func checkExists(ctx context.Context, tx store.Queries, m *iam.Membership) error {
	notFound := func(err error, field, what string) error {
		if errors.Is(err, store.ErrNotFound) {
			return &iam.Error{Code: iam.NotFound, Field: field, Message: what + " not found", Err: err}
		}
		return err
	}
	switch m.Scope {
	case iam.ScopeOrg:
		if _, err := tx.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: m.InstanceID, ID: m.OrgID}); err != nil {
			return notFound(err, "target.org_id", "organization")
		}
	case iam.ScopeProject:
		if _, err := tx.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: m.InstanceID, OrgID: m.OrgID, ID: m.ProjectID}); err != nil {
			return notFound(err, "target.project_id", "project")
		}
	}
	if _, err := tx.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: m.InstanceID, ID: m.UserID}); err != nil {
		return notFound(err, "user_id", "user")
	}
	return nil
}

// ListParams select memberships of one target of an instance.
type ListParams struct {
	InstanceID string
	Target     iam.MemberTarget
	// UserID, if set, keeps only that user's membership.
	UserID string
	// AfterID is the cursor: the ID of the last membership of the previous
	// page ("" for the first page). Results are ordered by ID.
	AfterID string
	Limit   int
}

// List returns up to p.Limit memberships of the target after the cursor.
func (s *Service) List(ctx context.Context, p ListParams) ([]*iam.Membership, error) {
	if err := p.Target.Validate(); err != nil {
		return nil, err
	}
	list, err := s.store.MembershipList(ctx, &store.MembershipListParams{
		InstanceID: p.InstanceID, Scope: p.Target.Scope, OrgID: p.Target.OrgID, ProjectID: p.Target.ProjectID,
		UserID: p.UserID, AfterID: p.AfterID, Limit: p.Limit,
	})
	if err != nil {
		return nil, store.DomainError(err, "memberships")
	}
	return list, nil
}

// ListByUser returns every membership of the user in the instance, for
// authorization: one indexed query.
func (s *Service) ListByUser(ctx context.Context, instanceID, userID string) ([]*iam.Membership, error) {
	list, err := s.store.MembershipListByUser(ctx, &store.MembershipListByUserParams{InstanceID: instanceID, UserID: userID})
	if err != nil {
		return nil, store.DomainError(err, "memberships")
	}
	return list, nil
}

// Update replaces the roles of the membership of m.UserID on m's target,
// provided m.Version is still its version (else Conflict), with its
// "member.changed" audit event in the same transaction. Taking
// INSTANCE_OWNER from the instance's last owner fails with
// FailedPrecondition. An update that changes nothing stores nothing.
func (s *Service) Update(ctx context.Context, actor string, m *iam.Membership) (*iam.Membership, error) {
	m = clone(m)
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var out *iam.Membership
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := get(ctx, tx, m)
		if err != nil {
			return err
		}
		if before.Version != m.Version {
			return store.ErrConflict
		}
		if sameRoles(before.Roles, m.Roles) {
			out = before
			return nil
		}
		if before.HasRole(iam.RoleInstanceOwner) && !m.HasRole(iam.RoleInstanceOwner) {
			if err := ensureAnotherOwner(ctx, tx, before); err != nil {
				return err
			}
		}
		now := s.clock()
		after, err := tx.MembershipUpdate(ctx, &store.MembershipUpdateParams{
			InstanceID: before.InstanceID, ID: before.ID, Version: before.Version, Roles: m.Roles, Now: now,
		})
		if err != nil {
			return err
		}
		out = after
		return appendEvent(ctx, tx, actor, after, iam.EventMemberChanged,
			map[string]any{"before": snapshot(before), "after": snapshot(after)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "membership")
	}
	return out, nil
}

// Remove deletes the membership of userID on target in the instance, with
// its "member.removed" audit event in the same transaction. Removing the
// instance's last INSTANCE_OWNER fails with FailedPrecondition.
func (s *Service) Remove(ctx context.Context, actor, instanceID string, target iam.MemberTarget, userID string) error {
	if err := target.Validate(); err != nil {
		return err
	}
	if userID == "" {
		return &iam.Error{Code: iam.Invalid, Field: "user_id", Message: "required"}
	}
	key := &iam.Membership{InstanceID: instanceID, Scope: target.Scope, OrgID: target.OrgID, ProjectID: target.ProjectID, UserID: userID}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := get(ctx, tx, key)
		if err != nil {
			return err
		}
		if before.HasRole(iam.RoleInstanceOwner) {
			if err := ensureAnotherOwner(ctx, tx, before); err != nil {
				return err
			}
		}
		if err := tx.MembershipDelete(ctx, &store.MembershipDeleteParams{InstanceID: instanceID, ID: before.ID, Version: before.Version}); err != nil {
			return err
		}
		return appendEvent(ctx, tx, actor, before, iam.EventMemberRemoved, map[string]any{"before": snapshot(before)}, s.clock())
	})
	return store.DomainError(err, "membership")
}

func get(ctx context.Context, tx store.Queries, m *iam.Membership) (*iam.Membership, error) {
	return tx.MembershipGet(ctx, &store.MembershipGetParams{
		InstanceID: m.InstanceID, Scope: m.Scope, OrgID: m.OrgID, ProjectID: m.ProjectID, UserID: m.UserID,
	})
}

// ensureAnotherOwner fails unless the instance has an INSTANCE_OWNER other
// than the one of membership m.
func ensureAnotherOwner(ctx context.Context, tx store.Queries, m *iam.Membership) error {
	return EnsureOwnerRemains(ctx, tx, m.InstanceID, func(o *iam.Membership) (bool, error) { return o.ID == m.ID, nil })
}

// EnsureOwnerRemains fails with FailedPrecondition unless some INSTANCE_OWNER
// membership of the instance is not leaving. Services call it inside the
// transaction that removes or disables owners (deleting or deactivating a
// user, deleting an organization, demoting a member): the owners' rows are
// locked until the transaction ends, so two transactions removing the last
// two owners cannot both succeed.
func EnsureOwnerRemains(ctx context.Context, tx store.Queries, instanceID string, leaving func(owner *iam.Membership) (bool, error)) error {
	owners, err := tx.MembershipList(ctx, &store.MembershipListParams{
		InstanceID: instanceID, Scope: iam.ScopeInstance, Role: iam.RoleInstanceOwner, Limit: store.MaxListLimit, ForUpdate: true,
	})
	if err != nil {
		return err
	}
	for _, o := range owners {
		gone, err := leaving(o)
		if err != nil {
			return err
		}
		if !gone {
			return nil
		}
	}
	if len(owners) == 0 {
		return nil // nobody to lock out (e.g. an instance being set up)
	}
	return iam.Errorf(iam.FailedPrecondition, "this would remove the instance's last INSTANCE_OWNER; make another user INSTANCE_OWNER first")
}

func sameRoles(a, b []iam.MemberRole) bool {
	if len(a) != len(b) {
		return false
	}
	for _, r := range a {
		if !slices.Contains(b, r) {
			return false
		}
	}
	return true
}

func clone(m *iam.Membership) *iam.Membership {
	c := *m
	c.Roles = slices.Clone(m.Roles)
	return &c
}

func snapshot(m *iam.Membership) map[string]any {
	return map[string]any{
		"scope": m.Scope, "org_id": m.OrgID, "project_id": m.ProjectID, "user_id": m.UserID,
		"roles": m.Roles, "version": m.Version,
	}
}

func appendEvent(ctx context.Context, tx store.Queries, actor string, m *iam.Membership, typ string, payload any, now time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode audit payload: %w", err)
	}
	_, err = tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
		InstanceID: m.InstanceID, Actor: actor, AggregateType: iam.AggregateMembership, AggregateID: m.ID,
		EventType: typ, Payload: body, Now: now,
	})
	return err
}
