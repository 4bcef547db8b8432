package org

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/store"
)

// Service manages organizations.
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

// Create validates and stores a new organization in o.InstanceID, with its
// "org.created" audit event in the same transaction. ID and State default to
// a new ID and active. A name taken in the instance (case-insensitively) is
// AlreadyExists.
func (s *Service) Create(ctx context.Context, actor string, o *iam.Organization) (*iam.Organization, error) {
	c := *o
	if c.InstanceID == "" {
		return nil, errNoInstance
	}
	if c.ID == "" {
		c.ID = iam.NewID()
	}
	if c.State == "" {
		c.State = iam.StateActive
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var out *iam.Organization
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		now := s.clock()
		created, err := tx.OrgCreate(ctx, &store.OrgCreateParams{Org: &c, Now: now})
		if err != nil {
			return err
		}
		out = created
		return appendEvent(ctx, tx, actor, created, iam.EventOrgCreated, map[string]any{"after": snapshot(created)}, now)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, s.whichExists(ctx, &c, err)
	}
	if err != nil {
		return nil, store.DomainError(err, "organization")
	}
	return out, nil
}

// whichExists tells an ID collision from a name collision.
func (s *Service) whichExists(ctx context.Context, o *iam.Organization, cause error) error {
	if _, err := s.store.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: o.InstanceID, ID: o.ID}); err == nil {
		return &iam.Error{Code: iam.AlreadyExists, Field: "id", Message: fmt.Sprintf("an organization with ID %q already exists", o.ID), Err: cause}
	}
	return &iam.Error{Code: iam.AlreadyExists, Field: "name", Message: fmt.Sprintf("an organization named %q already exists in this instance", o.Name), Err: cause}
}

// Get returns the organization id of the instance; NotFound if the instance
// has none.
func (s *Service) Get(ctx context.Context, instanceID, id string) (*iam.Organization, error) {
	if instanceID == "" {
		return nil, errNoInstance
	}
	o, err := s.store.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: instanceID, ID: id})
	if err != nil {
		return nil, store.DomainError(err, "organization")
	}
	return o, nil
}

// ListQuery filters and pages a List call.
type ListQuery struct {
	// NamePrefix keeps organizations whose name starts with it
	// (case-insensitive); the list is then ordered by lower-case name.
	// Otherwise it is ordered by ID.
	NamePrefix string
	// State keeps organizations in that state, if set.
	State iam.State
	// AfterKey and AfterID are the cursor: the sort key (SortKey) and ID of
	// the last organization of the previous page.
	AfterKey, AfterID string
	Limit             int
}

// SortKey returns the cursor key of o in a list ordered as q orders it.
func (q *ListQuery) SortKey(o *iam.Organization) string {
	if q.NamePrefix == "" {
		return ""
	}
	return strings.ToLower(o.Name) // as the store's name_norm
}

// List returns up to q.Limit organizations of the instance.
func (s *Service) List(ctx context.Context, instanceID string, q ListQuery) ([]*iam.Organization, error) {
	if instanceID == "" {
		return nil, errNoInstance
	}
	if q.State != "" && !q.State.Valid() {
		return nil, &iam.Error{Code: iam.Invalid, Field: "state", Message: "unknown state"}
	}
	list, err := s.store.OrgList(ctx, &store.OrgListParams{
		InstanceID: instanceID, NamePrefix: q.NamePrefix, State: q.State,
		AfterKey: q.AfterKey, AfterID: q.AfterID, Limit: q.Limit,
	})
	if err != nil {
		return nil, store.DomainError(err, "organizations")
	}
	return list, nil
}

// Update replaces name and state (an empty State keeps the current one) of
// the organization (o.InstanceID, o.ID), provided o.Version is still its
// current version (else Conflict), with its "org.changed" audit event
// (before and after). An update that changes nothing stores nothing.
func (s *Service) Update(ctx context.Context, actor string, o *iam.Organization) (*iam.Organization, error) {
	c := *o
	if c.InstanceID == "" {
		return nil, errNoInstance
	}
	c.Normalize()
	var out *iam.Organization
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: c.InstanceID, ID: c.ID})
		if err != nil {
			return err
		}
		if c.State == "" {
			c.State = before.State
		}
		if err := c.Validate(); err != nil {
			return err
		}
		if before.Version != c.Version {
			return store.ErrConflict
		}
		if before.Name == c.Name && before.State == c.State {
			out = before
			return nil
		}
		now := s.clock()
		after, err := tx.OrgUpdate(ctx, &store.OrgUpdateParams{Org: &c, Now: now})
		if err != nil {
			return err
		}
		out = after
		return appendEvent(ctx, tx, actor, after, iam.EventOrgChanged,
			map[string]any{"before": snapshot(before), "after": snapshot(after)}, now)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, &iam.Error{Code: iam.AlreadyExists, Field: "name", Message: fmt.Sprintf("an organization named %q already exists in this instance", c.Name), Err: err}
	}
	if err != nil {
		return nil, store.DomainError(err, "organization")
	}
	return out, nil
}

// Delete removes the organization with everything it owns (users,
// projects, applications, grants, memberships), provided version is its
// current version (else Conflict), with its "org.deleted" audit event.
func (s *Service) Delete(ctx context.Context, actor, instanceID, id string, version int64) error {
	if instanceID == "" {
		return errNoInstance
	}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: instanceID, ID: id})
		if err != nil {
			return err
		}
		if before.Version != version {
			return store.ErrConflict
		}
		// The organization's users go with it: one of them must not be the
		// last instance owner.
		err = member.EnsureOwnerRemains(ctx, tx, instanceID, func(o *iam.Membership) (bool, error) {
			u, err := tx.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: instanceID, ID: o.UserID})
			if err != nil {
				return false, err
			}
			return u.OrgID == id, nil
		})
		if err != nil {
			return err
		}
		if err := tx.OrgDelete(ctx, &store.OrgDeleteParams{InstanceID: instanceID, ID: id, Version: version}); err != nil {
			return err
		}
		// Its projects and their applications went with it (cascade).
		if err := tx.CacheInvalidate(ctx, store.TopicAppInstance, instanceID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, actor, before, iam.EventOrgDeleted, map[string]any{"before": snapshot(before)}, s.clock())
	})
	return store.DomainError(err, "organization")
}

var errNoInstance = &iam.Error{Code: iam.Internal, Message: "internal error", Err: errors.New("org: no instance given")}

func snapshot(o *iam.Organization) map[string]any {
	return map[string]any{"name": o.Name, "state": o.State, "version": o.Version}
}

func appendEvent(ctx context.Context, tx store.Queries, actor string, o *iam.Organization, typ string, payload any, now time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode audit payload: %w", err)
	}
	_, err = tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
		InstanceID: o.InstanceID, Actor: actor, AggregateType: iam.AggregateOrg, AggregateID: o.ID,
		EventType: typ, Payload: body, Now: now,
	})
	return err
}
