package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// TopicPolicy is the cache invalidation topic of policies: key is an
// instance ID; a policy of the instance or of one of its organizations
// changed.
const TopicPolicy = "policy"

// PolicyQueries store policies (login, password, lockout, branding) as JSON
// bodies, one row per (instance, organization, kind): the instance's policy
// has OrgID "", an organization's override names the organization. What a
// body holds and which kinds may be overridden is the service's business;
// the store keeps bodies as they are given (JSON objects).
//
// Every method is scoped by InstanceID and, when it succeeds, one
// statement (one round trip); telling ErrNotFound from ErrConflict takes a
// second. An organization's rows go with the organization when it is
// deleted, an instance's with the instance.
type PolicyQueries interface {
	// PolicyGet returns the organization's row of the kind if OrgID is set
	// and it has one, else the instance's row, else ErrNotFound.
	PolicyGet(ctx context.Context, p *PolicyGetParams) (*Policy, error)
	// PolicyListEffective returns every row that can apply to the
	// organization OrgID (to the instance if OrgID is ""): the instance's
	// rows and that organization's rows, of every kind, ordered by kind with
	// the instance's row first. It never returns rows of other
	// organizations.
	PolicyListEffective(ctx context.Context, p *PolicyListEffectiveParams) ([]*Policy, error)
	// PolicyPut stores the body of one (instance, organization, kind) row
	// and returns the row as stored. With Version 0 it inserts the row at
	// version 1: ErrConflict if the row exists (somebody created it first).
	// Otherwise it replaces the body of the row whose version is Version
	// and increments the version: ErrNotFound if there is no row,
	// ErrConflict if its version differs. ErrNotFound if the instance or the
	// organization does not exist.
	PolicyPut(ctx context.Context, p *PolicyPutParams) (*Policy, error)
	// PolicyDelete deletes the (instance, organization, kind) row at
	// Version: ErrNotFound if there is none, ErrConflict if its version
	// differs.
	PolicyDelete(ctx context.Context, p *PolicyDeleteParams) error
}

// Policy is a stored policy row.
type Policy struct {
	InstanceID string
	// OrgID is "" for the instance's policy.
	OrgID string
	Kind  iam.PolicyKind
	// Body is the policy as a JSON object.
	Body      json.RawMessage
	CreatedAt time.Time
	ChangedAt time.Time
	// Version increases by one with every change (optimistic concurrency).
	Version int64
}

// PolicyGetParams select the row of a kind that applies to an
// organization (OrgID "": to the instance).
type PolicyGetParams struct {
	InstanceID string
	OrgID      string
	Kind       iam.PolicyKind
}

// PolicyListEffectiveParams select the rows that can apply to an
// organization (OrgID "": to the instance).
type PolicyListEffectiveParams struct {
	InstanceID string
	OrgID      string
}

// PolicyPutParams hold one row's new body. Version is the version the
// caller read, 0 to create the row.
type PolicyPutParams struct {
	InstanceID string
	OrgID      string
	Kind       iam.PolicyKind
	Body       json.RawMessage
	Version    int64
	Now        time.Time
}

// PolicyDeleteParams select one row at a version.
type PolicyDeleteParams struct {
	InstanceID string
	OrgID      string
	Kind       iam.PolicyKind
	Version    int64
}
