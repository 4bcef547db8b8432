package store

import (
	"context"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// ProjectQueries store projects, project roles, applications, project
// grants and user grants.
//
// Every method is scoped by InstanceID; rows of another instance are never
// found, listed, changed or referenced. A reference to a row that does not
// exist in the instance (an organization, project, role, user or project
// grant) makes a create or update fail with ErrNotFound and change nothing.
type ProjectQueries interface {
	// ProjectCreate inserts a project and returns it as stored.
	ProjectCreate(ctx context.Context, p *ProjectCreateParams) (*iam.Project, error)
	// ProjectGetByID returns ErrNotFound unless the project exists in the
	// instance and belongs to the organization.
	ProjectGetByID(ctx context.Context, p *ProjectGetByIDParams) (*iam.Project, error)
	// ProjectList returns at most Limit projects of an organization after
	// the cursor, ordered by name key and ID.
	ProjectList(ctx context.Context, p *ProjectListParams) ([]*iam.Project, error)
	// ProjectUpdate replaces the mutable fields at the given version.
	ProjectUpdate(ctx context.Context, p *ProjectUpdateParams) (*iam.Project, error)
	// ProjectDelete deletes a project with everything under it.
	ProjectDelete(ctx context.Context, p *ProjectDeleteParams) error

	// ProjectRoleCreate inserts a role and returns it as stored.
	ProjectRoleCreate(ctx context.Context, p *ProjectRoleCreateParams) (*iam.ProjectRole, error)
	// ProjectRoleGet returns ErrNotFound for an unknown project or key.
	ProjectRoleGet(ctx context.Context, p *ProjectRoleGetParams) (*iam.ProjectRole, error)
	// ProjectRoleList returns at most Limit roles of a project after the
	// cursor, ordered by key.
	ProjectRoleList(ctx context.Context, p *ProjectRoleListParams) ([]*iam.ProjectRole, error)
	// ProjectRoleUpdate replaces display name and group at the given version.
	ProjectRoleUpdate(ctx context.Context, p *ProjectRoleUpdateParams) (*iam.ProjectRole, error)
	// ProjectRoleDelete deletes a role and removes it from every grant.
	ProjectRoleDelete(ctx context.Context, p *ProjectRoleDeleteParams) error

	// ApplicationCreate inserts an application and returns it as stored.
	ApplicationCreate(ctx context.Context, p *ApplicationCreateParams) (*iam.Application, error)
	// ApplicationGetByID returns ErrNotFound unless the application exists
	// in the project of the organization.
	ApplicationGetByID(ctx context.Context, p *ApplicationGetByIDParams) (*iam.Application, error)
	// ApplicationGetByClientID returns the application with the client ID in
	// the instance, in one query; ErrNotFound if none.
	ApplicationGetByClientID(ctx context.Context, p *ApplicationGetByClientIDParams) (*iam.Application, error)
	// ApplicationList returns at most Limit applications of a project after
	// AfterID, ordered by ID.
	ApplicationList(ctx context.Context, p *ApplicationListParams) ([]*iam.Application, error)
	// ApplicationUpdate replaces the mutable fields at the given version.
	ApplicationUpdate(ctx context.Context, p *ApplicationUpdateParams) (*iam.Application, error)
	// ApplicationSetSecretHash replaces the client secret hash.
	ApplicationSetSecretHash(ctx context.Context, p *ApplicationSetSecretHashParams) (*iam.Application, error)
	// ApplicationDelete deletes an application at the given version.
	ApplicationDelete(ctx context.Context, p *ApplicationDeleteParams) error

	// ProjectGrantCreate inserts a project grant with its roles atomically.
	ProjectGrantCreate(ctx context.Context, p *ProjectGrantCreateParams) (*iam.ProjectGrant, error)
	// ProjectGrantGet returns ErrNotFound for an unknown grant.
	ProjectGrantGet(ctx context.Context, p *ProjectGrantGetParams) (*iam.ProjectGrant, error)
	// ProjectGrantList returns at most Limit project grants after AfterID,
	// ordered by ID.
	ProjectGrantList(ctx context.Context, p *ProjectGrantListParams) ([]*iam.ProjectGrant, error)
	// ProjectGrantUpdate replaces roles and state at the given version,
	// atomically.
	ProjectGrantUpdate(ctx context.Context, p *ProjectGrantUpdateParams) (*iam.ProjectGrant, error)
	// ProjectGrantDelete deletes a project grant and its user grants.
	ProjectGrantDelete(ctx context.Context, p *ProjectGrantDeleteParams) error

	// UserGrantCreate inserts a user grant with its roles atomically.
	UserGrantCreate(ctx context.Context, p *UserGrantCreateParams) (*iam.UserGrant, error)
	// UserGrantGet returns ErrNotFound unless the grant exists in the
	// organization.
	UserGrantGet(ctx context.Context, p *UserGrantGetParams) (*iam.UserGrant, error)
	// UserGrantList returns at most Limit user grants after AfterID,
	// ordered by ID.
	UserGrantList(ctx context.Context, p *UserGrantListParams) ([]*iam.UserGrant, error)
	// UserGrantUpdate replaces roles and state at the given version,
	// atomically.
	UserGrantUpdate(ctx context.Context, p *UserGrantUpdateParams) (*iam.UserGrant, error)
	// UserGrantDelete deletes a user grant at the given version.
	UserGrantDelete(ctx context.Context, p *UserGrantDeleteParams) error
	// UserGrantListForUser returns the grants of a user (at most
	// MaxListLimit), ordered by project ID and ID, in one query.
	UserGrantListForUser(ctx context.Context, p *UserGrantListForUserParams) ([]*iam.UserGrant, error)
}

// ProjectCreateParams holds a new project: ID, InstanceID, OrgID, Name,
// RoleAssertion and State are taken from it; the version is set to 1.
// ErrAlreadyExists if the ID or the name (case-insensitively) is taken in
// the organization; ErrNotFound if the organization does not exist.
type ProjectCreateParams struct {
	Project *iam.Project
	Now     time.Time
}

// ProjectGetByIDParams selects a project of an organization. All three
// fields are required: a project of another organization is not found.
type ProjectGetByIDParams struct {
	InstanceID string
	OrgID      string
	ID         string
}

// ProjectListParams pages through the projects of an organization, ordered
// by name key (iam.ProjectNameKey) and ID.
type ProjectListParams struct {
	InstanceID string
	OrgID      string
	// NamePrefix filters by case-insensitive name prefix if set.
	NamePrefix string
	// State filters by state if set.
	State iam.State
	// AfterKey and AfterID are the name key and ID of the last project of
	// the previous page; empty for the first page.
	AfterKey string
	AfterID  string
	Limit    int
}

// ProjectUpdateParams replaces Name, RoleAssertion and State of the project
// (InstanceID, OrgID, ID) whose current version is Project.Version, and
// increments the version. ErrNotFound, ErrConflict on a version mismatch,
// ErrAlreadyExists if the new name is taken in the organization.
type ProjectUpdateParams struct {
	Project *iam.Project
	Now     time.Time
}

// ProjectDeleteParams deletes a project at Version with everything that
// belongs to it (roles, applications, project grants, user grants,
// memberships). ErrNotFound, or ErrConflict on a version mismatch.
type ProjectDeleteParams struct {
	InstanceID string
	OrgID      string
	ID         string
	Version    int64
}

// ProjectRoleCreateParams holds a new role of Role.ProjectID; the version is
// set to 1. ErrAlreadyExists if the key is taken in the project, ErrNotFound
// if the project does not exist.
type ProjectRoleCreateParams struct {
	Role *iam.ProjectRole
	Now  time.Time
}

// ProjectRoleGetParams selects a role by project and key.
type ProjectRoleGetParams struct {
	InstanceID string
	ProjectID  string
	Key        string
}

// ProjectRoleListParams pages through the roles of a project, ordered by key.
type ProjectRoleListParams struct {
	InstanceID string
	ProjectID  string
	// KeyPrefix filters by (case-sensitive) key prefix if set.
	KeyPrefix string
	// Keys, if not nil, restricts the result to these keys.
	Keys []string
	// AfterKey is the key of the last role of the previous page.
	AfterKey string
	Limit    int
}

// ProjectRoleUpdateParams replaces DisplayName and Group of the role
// (InstanceID, ProjectID, Key) whose current version is Role.Version, and
// increments the version. ErrNotFound or ErrConflict.
type ProjectRoleUpdateParams struct {
	Role *iam.ProjectRole
	Now  time.Time
}

// ProjectRoleDeleteParams deletes a role; the database removes it from
// every project grant and user grant in the same statement. Version 0
// deletes whatever the current version; another version must match
// (ErrConflict). ErrNotFound for an unknown role.
type ProjectRoleDeleteParams struct {
	InstanceID string
	ProjectID  string
	Key        string
	Version    int64
}

// ApplicationCreateParams holds a new application: every field but the
// timestamps and version is taken from it; the version is set to 1.
// ErrAlreadyExists if the ID or the client ID is taken in the instance,
// ErrNotFound if the project does not exist in OrgID.
type ApplicationCreateParams struct {
	Application *iam.Application
	Now         time.Time
}

// ApplicationGetByIDParams selects an application of a project of an
// organization; all fields are required.
type ApplicationGetByIDParams struct {
	InstanceID string
	OrgID      string
	ProjectID  string
	ID         string
}

// ApplicationGetByClientIDParams selects an application by client ID, in one
// query (the OAuth client authentication path).
type ApplicationGetByClientIDParams struct {
	InstanceID string
	ClientID   string
}

// ApplicationListParams pages through the applications of a project,
// ordered by ID.
type ApplicationListParams struct {
	InstanceID string
	OrgID      string
	ProjectID  string
	AfterID    string
	Limit      int
}

// ApplicationUpdateParams replaces the mutable fields of the application
// (InstanceID, OrgID, ProjectID, ID) whose current version is
// Application.Version: Name, SecretHash, the URI, grant and response type
// lists, AuthMethod, AccessTokenFormat, the lifetimes, PKCERequired and
// State; Type and ClientID never change. Increments the version.
// ErrNotFound or ErrConflict.
type ApplicationUpdateParams struct {
	Application *iam.Application
	Now         time.Time
}

// ApplicationSetSecretHashParams replaces the client secret hash of an
// application, whatever its version, and increments the version.
// ErrNotFound for an unknown application.
type ApplicationSetSecretHashParams struct {
	InstanceID string
	OrgID      string
	ProjectID  string
	ID         string
	SecretHash []byte
	Now        time.Time
}

// ApplicationDeleteParams deletes an application at Version. ErrNotFound or
// ErrConflict.
type ApplicationDeleteParams struct {
	InstanceID string
	OrgID      string
	ProjectID  string
	ID         string
	Version    int64
}

// ProjectGrantCreateParams holds a new project grant with its role keys,
// stored in one transaction; the version is set to 1. ErrAlreadyExists if the
// ID is taken or the project is already granted to GrantedOrgID; ErrNotFound
// if the project (in OrgID), the granted organization or a role does not
// exist.
type ProjectGrantCreateParams struct {
	Grant *iam.ProjectGrant
	Now   time.Time
}

// ProjectGrantGetParams selects a project grant by ID. OrgID (the owner) and
// ProjectID, if set, must match.
type ProjectGrantGetParams struct {
	InstanceID string
	OrgID      string
	ProjectID  string
	ID         string
	// ForUpdate locks the grant until the transaction ends, so that its
	// roles cannot change while the caller relies on them (PostgreSQL;
	// SQLite transactions are serialized anyway).
	ForUpdate bool
}

// ProjectGrantListParams pages through project grants, ordered by ID,
// matching every set filter.
type ProjectGrantListParams struct {
	InstanceID string
	// OrgID is the organization owning the project.
	OrgID        string
	ProjectID    string
	GrantedOrgID string
	AfterID      string
	Limit        int
	// ForUpdate locks the listed grants until the transaction ends
	// (PostgreSQL; SQLite transactions are serialized anyway).
	ForUpdate bool
}

// ProjectGrantUpdateParams replaces RoleKeys and State of the grant
// (InstanceID, OrgID, ProjectID, ID) whose current version is Grant.Version
// and increments the version. Role keys dropped from the grant are dropped,
// in the same transaction, from the user grants made under it.
// ErrNotFound (also for an unknown role) or ErrConflict.
type ProjectGrantUpdateParams struct {
	Grant *iam.ProjectGrant
	Now   time.Time
}

// ProjectGrantDeleteParams deletes a project grant at Version, with the user
// grants made under it. ErrNotFound or ErrConflict.
type ProjectGrantDeleteParams struct {
	InstanceID string
	OrgID      string
	ProjectID  string
	ID         string
	Version    int64
}

// UserGrantCreateParams holds a new user grant with its role keys, stored in
// one transaction; the version is set to 1. ErrAlreadyExists if the ID is
// taken or the user already has a grant on the project; ErrNotFound if the
// user, project, project grant or a role does not exist. The store does not
// check that OrgID is the user's organization or that the roles are within
// the project grant's: the service does.
type UserGrantCreateParams struct {
	Grant *iam.UserGrant
	Now   time.Time
}

// UserGrantGetParams selects a user grant of an organization (the user's).
type UserGrantGetParams struct {
	InstanceID string
	OrgID      string
	ID         string
}

// UserGrantListParams pages through user grants, ordered by ID, matching
// every set filter.
type UserGrantListParams struct {
	InstanceID string
	OrgID      string
	UserID     string
	ProjectID  string
	AfterID    string
	Limit      int
}

// UserGrantUpdateParams replaces RoleKeys and State of the grant
// (InstanceID, OrgID, ID) whose current version is Grant.Version and
// increments the version. ErrNotFound (also for an unknown role) or
// ErrConflict.
type UserGrantUpdateParams struct {
	Grant *iam.UserGrant
	Now   time.Time
}

// UserGrantDeleteParams deletes a user grant at Version. ErrNotFound or
// ErrConflict.
type UserGrantDeleteParams struct {
	InstanceID string
	OrgID      string
	ID         string
	Version    int64
}

// UserGrantListForUserParams selects the grants of one user, for tokens.
type UserGrantListForUserParams struct {
	InstanceID string
	UserID     string
	// ProjectID restricts the result to one project if set.
	ProjectID string
	// ActiveOnly returns only grants that are in effect: the user grant, its
	// project and its project grant (if any) are active.
	ActiveOnly bool
}
