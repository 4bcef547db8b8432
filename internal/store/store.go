package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// Sentinel errors. Backends map their native errors to these in one function;
// services translate them to iam.Error codes.
var (
	// ErrNotFound: the addressed row does not exist (in this instance).
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists: a unique constraint was violated.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict: an update named a version that is no longer current
	// (optimistic concurrency), or the transaction lost a serialization race.
	ErrConflict = errors.New("store: version conflict")
	// ErrUnavailable: the database could not be reached.
	ErrUnavailable = errors.New("store: database unavailable")
)

// Store is a connection to one database.
type Store interface {
	Queries
	Invalidations

	// WithTx runs fn in one transaction: everything fn does through tx
	// commits together or not at all. If fn returns an error or panics, the
	// transaction is rolled back and the error (or panic) propagates. fn may
	// be called again if the database reports a retryable conflict, so it
	// must not have side effects outside tx.
	WithTx(ctx context.Context, fn func(tx Queries) error) error

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	// Migrator returns the schema migrator of this backend.
	Migrator() Migrator

	// Backend names the backend: "sqlite" or "postgres".
	Backend() string

	// Close releases all connections.
	Close() error
}

// Queries are the data operations. Outside WithTx each call is its own
// transaction. Every method on tenant data takes the instance ID and
// touches nothing outside that instance.
type Queries interface {
	InstanceQueries
	AuditQueries
	OrgQueries
	UserQueries
	ProjectQueries
	MembershipQueries
	ClusterQueries
	CleanupQueries
	OIDCQueries
	OIDCCleanupQueries
	EmailQueries
	PolicyQueries
	LoginQueries
	VerificationQueries
	ConsentQueries
}

// InstanceQueries store instances.
type InstanceQueries interface {
	// InstanceCreate inserts an instance and its domains. Returns
	// ErrAlreadyExists if the ID or any domain is taken.
	InstanceCreate(ctx context.Context, p *InstanceCreateParams) (*iam.Instance, error)
	// InstanceGetByID returns ErrNotFound for an unknown ID.
	InstanceGetByID(ctx context.Context, p *InstanceGetByIDParams) (*iam.Instance, error)
	// InstanceGetByDomain finds the instance owning the (normalized) domain,
	// primary or additional. Returns ErrNotFound if none does.
	InstanceGetByDomain(ctx context.Context, p *InstanceGetByDomainParams) (*iam.Instance, error)
	// InstanceList returns instances ordered by ID, after AfterID, at most
	// Limit of them.
	InstanceList(ctx context.Context, p *InstanceListParams) ([]*iam.Instance, error)
	// InstanceUpdate replaces the mutable fields of the instance whose
	// version is p.Version and increments the version. Returns ErrNotFound
	// for an unknown ID, ErrConflict if the version differs, and
	// ErrAlreadyExists if a new domain is taken by another instance.
	InstanceUpdate(ctx context.Context, p *InstanceUpdateParams) (*iam.Instance, error)
}

// AuditQueries store the append-only audit log.
type AuditQueries interface {
	// AuditEventAppend appends an event and returns it with ID and CreatedAt
	// set. Call it in the same transaction as the change it records.
	AuditEventAppend(ctx context.Context, p *AuditEventAppendParams) (*iam.AuditEvent, error)
	// AuditEventList returns events of one instance matching every set
	// filter, in ID order (ascending, or descending if Descending), starting
	// after the cursor AfterID (0: from the start), at most Limit of them.
	AuditEventList(ctx context.Context, p *AuditEventListParams) ([]*iam.AuditEvent, error)
}

// InstanceCreateParams holds a new instance; ID, name, domains, state,
// the system flag and the timestamp are taken from it. Version is set to 1.
// At most one instance may be the system instance (ErrAlreadyExists).
type InstanceCreateParams struct {
	Instance *iam.Instance
	Now      time.Time
}

// InstanceGetByIDParams selects an instance by ID.
type InstanceGetByIDParams struct {
	ID string
}

// InstanceGetByDomainParams selects an instance by one of its domains.
type InstanceGetByDomainParams struct {
	Domain string
}

// InstanceListParams pages through instances.
type InstanceListParams struct {
	AfterID string
	Limit   int
	// State filters by state if set.
	State iam.InstanceState
}

// InstanceUpdateParams replaces name, domains and state of the instance
// Instance.ID whose current version is Instance.Version.
type InstanceUpdateParams struct {
	Instance *iam.Instance
	Now      time.Time
}

// AuditEventAppendParams is an event to append.
type AuditEventAppendParams struct {
	InstanceID    string
	Actor         string
	AggregateType string
	AggregateID   string
	EventType     string
	Payload       json.RawMessage
	Now           time.Time
}

// AuditEventListParams filters and pages audit events of one instance.
type AuditEventListParams struct {
	InstanceID    string
	AggregateType string
	AggregateID   string
	Actor         string
	EventType     string
	// From and To bound CreatedAt: From <= CreatedAt < To, if set.
	From, To   time.Time
	AfterID    int64
	Descending bool
	Limit      int
}

// MaxListLimit caps Limit of every List method; 0 or more means this.
const MaxListLimit = 1000

// ClampLimit returns limit bounded to 1..MaxListLimit, MaxListLimit for <= 0.
func ClampLimit(limit int) int {
	if limit <= 0 || limit > MaxListLimit {
		return MaxListLimit
	}
	return limit
}
