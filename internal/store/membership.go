package store

import (
	"context"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// MembershipQueries store administrative memberships. A membership is
// identified by its target (instance, organization or project) and user:
// a user has at most one membership per target (ErrAlreadyExists).
// Deleting the user, organization or project deletes its memberships.
type MembershipQueries interface {
	// MembershipCreate inserts a membership. Returns ErrAlreadyExists if the
	// ID is taken or the user already has a membership on the target. The
	// user, organization and project must exist in the instance (the
	// service checks; the schema enforces it with foreign keys).
	MembershipCreate(ctx context.Context, p *MembershipCreateParams) (*iam.Membership, error)
	// MembershipGet returns the membership of a user on a target, or
	// ErrNotFound.
	MembershipGet(ctx context.Context, p *MembershipGetParams) (*iam.Membership, error)
	// MembershipList returns memberships of one instance matching every set
	// filter, ordered by ID, after AfterID, at most Limit of them.
	MembershipList(ctx context.Context, p *MembershipListParams) ([]*iam.Membership, error)
	// MembershipListByUser returns every membership of a user in one
	// instance, ordered by ID. It is the authorization hot path: one
	// indexed query.
	MembershipListByUser(ctx context.Context, p *MembershipListByUserParams) ([]*iam.Membership, error)
	// MembershipUpdate replaces the roles and increments the version.
	// Returns ErrNotFound for an unknown membership, ErrConflict if the
	// version differs.
	MembershipUpdate(ctx context.Context, p *MembershipUpdateParams) (*iam.Membership, error)
	// MembershipDelete deletes a membership. Returns ErrNotFound for an
	// unknown membership, ErrConflict if the version differs.
	MembershipDelete(ctx context.Context, p *MembershipDeleteParams) error
}

// MembershipCreateParams holds a new membership: ID, InstanceID, Scope,
// OrgID, ProjectID, UserID and Roles are taken from it; CreatedAt and
// ChangedAt are set to Now and Version to 1.
type MembershipCreateParams struct {
	Membership *iam.Membership
	Now        time.Time
}

// MembershipGetParams selects the membership of UserID on one target:
// Scope with OrgID (org and project scope) and ProjectID (project scope).
type MembershipGetParams struct {
	InstanceID string
	Scope      iam.MemberScope
	OrgID      string
	ProjectID  string
	UserID     string
}

// MembershipListParams filters and pages the memberships of one target.
type MembershipListParams struct {
	InstanceID string
	// Scope, OrgID and ProjectID name the target; Scope "" lists the
	// memberships of every target of the instance.
	Scope     iam.MemberScope
	OrgID     string
	ProjectID string
	// UserID, if set, keeps only that user's memberships.
	UserID string
	// Role, if set, keeps only memberships that include the role.
	Role iam.MemberRole
	// AfterID is the cursor (a membership ID); results are ordered by ID.
	AfterID string
	Limit   int
	// ForUpdate locks the returned rows until the enclosing transaction
	// ends, so that a concurrent transaction that reads them with
	// ForUpdate too waits and then sees the change (PostgreSQL SELECT ...
	// FOR UPDATE; SQLite serializes write transactions anyway). Use it only
	// inside WithTx.
	ForUpdate bool
}

// MembershipListByUserParams selects every membership of one user in one
// instance: the authorization hot path, served by an index.
type MembershipListByUserParams struct {
	InstanceID string
	UserID     string
}

// MembershipUpdateParams replaces the roles of membership ID whose current
// version is Version, and increments the version.
type MembershipUpdateParams struct {
	InstanceID string
	ID         string
	Version    int64
	Roles      []iam.MemberRole
	Now        time.Time
}

// MembershipDeleteParams deletes membership ID whose current version is
// Version.
type MembershipDeleteParams struct {
	InstanceID string
	ID         string
	Version    int64
}
