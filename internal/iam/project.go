package iam

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Audit aggregate types of the project slice. Role events belong to their
// project's aggregate.
const (
	AggregateProject      = "project"
	AggregateApplication  = "app"
	AggregateProjectGrant = "project_grant"
	AggregateUserGrant    = "user_grant"
)

// Audit event types of the project slice.
const (
	EventProjectCreated     = "project.created"
	EventProjectChanged     = "project.changed"
	EventProjectDeleted     = "project.deleted"
	EventProjectRoleAdded   = "project.role_added"
	EventProjectRoleChanged = "project.role_changed"
	EventProjectRoleRemoved = "project.role_removed"

	EventAppCreated           = "app.created"
	EventAppChanged           = "app.changed"
	EventAppDeleted           = "app.deleted"
	EventAppSecretRegenerated = "app.secret_regenerated"

	EventProjectGrantCreated = "project_grant.created"
	EventProjectGrantChanged = "project_grant.changed"
	EventProjectGrantDeleted = "project_grant.deleted"

	EventUserGrantCreated = "user_grant.created"
	EventUserGrantChanged = "user_grant.changed"
	EventUserGrantDeleted = "user_grant.deleted"
)

// Limits of the project slice.
const (
	// MaxProjectNameLength bounds project and application names, in characters.
	MaxProjectNameLength = 200
	// MaxRoleKeyLength bounds project role keys, in bytes (keys are ASCII).
	MaxRoleKeyLength = 200
	// MaxRoleTextLength bounds a role's display name and group, in characters.
	MaxRoleTextLength = 200
	// MaxGrantRoles bounds the role keys of one project or user grant.
	MaxGrantRoles = 200
)

// Project groups applications and defines the roles that user grants give.
// It belongs to one organization (OrgID) and can be granted to others. Its
// name is unique per organization, compared case-insensitively.
type Project struct {
	ID         string
	InstanceID string
	OrgID      string
	Name       string
	// RoleAssertion puts the user's roles of this project into tokens.
	RoleAssertion bool
	State         State
	CreatedAt     time.Time
	ChangedAt     time.Time
	// Version increases by one with every change; updates name the version
	// they read (optimistic concurrency).
	Version int64
}

// Normalize trims the name.
func (p *Project) Normalize() { p.Name = strings.TrimSpace(p.Name) }

// NameKey returns the form in which project names are compared for
// uniqueness and prefix filters.
func (p *Project) NameKey() string { return ProjectNameKey(p.Name) }

// ProjectNameKey returns the case-insensitive comparison form of a project
// name or name prefix: lower-case.
func ProjectNameKey(name string) string { return strings.ToLower(name) }

// Validate reports every problem of the project at once.
func (p *Project) Validate() error {
	var fe FieldErrors
	if p.OrgID == "" {
		fe.Add("org_id", "required")
	}
	validateProjectText(&fe, "name", p.Name, MaxProjectNameLength, true)
	if !p.State.Valid() {
		fe.Add("state", "must be %q or %q", StateActive, StateInactive)
	}
	return fe.Err()
}

// validateProjectText checks a name or label: valid UTF-8, at most maxLen
// characters, no control characters, and not blank if required.
func validateProjectText(fe *FieldErrors, field, v string, maxLen int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		fe.Add(field, "must not be empty")
	case !utf8.ValidString(v):
		fe.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(v) > maxLen:
		fe.Add(field, "must be at most %d characters", maxLen)
	case strings.ContainsFunc(v, unicode.IsControl):
		fe.Add(field, "must not contain control characters")
	}
}

// ProjectRole is a role a project defines; user grants give roles by key,
// and tokens carry the keys.
type ProjectRole struct {
	InstanceID  string
	ProjectID   string
	Key         string
	DisplayName string
	Group       string
	CreatedAt   time.Time
	ChangedAt   time.Time
	Version     int64
}

// Normalize trims display name and group (the key is taken as given).
func (r *ProjectRole) Normalize() {
	r.DisplayName = strings.TrimSpace(r.DisplayName)
	r.Group = strings.TrimSpace(r.Group)
}

// Validate reports every problem of the role at once.
func (r *ProjectRole) Validate() error {
	var fe FieldErrors
	if r.ProjectID == "" {
		fe.Add("project_id", "required")
	}
	if msg := ValidateRoleKey(r.Key); msg != "" {
		fe.Add("key", "%s", msg)
	}
	validateProjectText(&fe, "display_name", r.DisplayName, MaxRoleTextLength, false)
	validateProjectText(&fe, "group", r.Group, MaxRoleTextLength, false)
	return fe.Err()
}

// ValidateRoleKey returns "" when key is a valid role key (1 to 200 letters,
// digits, '.', '_', ':' or '-'), else a user-safe description of the problem.
func ValidateRoleKey(key string) string {
	if key == "" {
		return "must not be empty"
	}
	if len(key) > MaxRoleKeyLength {
		return "must be at most 200 characters"
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return "may contain only letters, digits, '.', '_', ':' and '-'"
		}
	}
	return ""
}

// validateRoleKeys checks a grant's role list: valid, distinct keys.
func validateRoleKeys(fe *FieldErrors, keys []string) {
	if len(keys) > MaxGrantRoles {
		fe.Add("role_keys", "at most %d roles", MaxGrantRoles)
		return
	}
	for i, k := range keys {
		if msg := ValidateRoleKey(k); msg != "" {
			fe.Add("role_keys", "%q: %s", k, msg)
		} else if slices.Contains(keys[:i], k) {
			fe.Add("role_keys", "%q is listed twice", k)
		}
	}
}

// ProjectGrant grants a project of OrgID, with a subset of its roles, to
// another organization of the instance (GrantedOrgID), whose administrators
// may then give those roles to their users. One grant exists per project and
// granted organization.
type ProjectGrant struct {
	ID         string
	InstanceID string
	// OrgID owns the project.
	OrgID        string
	ProjectID    string
	GrantedOrgID string
	// RoleKeys are sorted; each is a role of the project.
	RoleKeys  []string
	State     State
	CreatedAt time.Time
	ChangedAt time.Time
	Version   int64
}

// Validate reports every problem of the grant that needs no other entity.
func (g *ProjectGrant) Validate() error {
	var fe FieldErrors
	if g.OrgID == "" {
		fe.Add("org_id", "required")
	}
	if g.ProjectID == "" {
		fe.Add("project_id", "required")
	}
	switch {
	case g.GrantedOrgID == "":
		fe.Add("granted_org_id", "required")
	case g.GrantedOrgID == g.OrgID:
		fe.Add("granted_org_id", "must differ from the organization that owns the project")
	}
	validateRoleKeys(&fe, g.RoleKeys)
	if !g.State.Valid() {
		fe.Add("state", "must be %q or %q", StateActive, StateInactive)
	}
	return fe.Err()
}

// UserGrant gives a user roles of a project. It lives in the user's
// organization (OrgID). The project belongs to OrgID, or was granted to it by
// the project grant ProjectGrantID, whose roles bound the grantable ones.
// One grant exists per user and project.
type UserGrant struct {
	ID         string
	InstanceID string
	// OrgID is the user's organization.
	OrgID     string
	UserID    string
	ProjectID string
	// ProjectGrantID is set when the project belongs to another organization.
	ProjectGrantID string
	// RoleKeys are sorted; each is a role of the project (and of the project
	// grant, if any).
	RoleKeys  []string
	State     State
	CreatedAt time.Time
	ChangedAt time.Time
	Version   int64
}

// Validate reports every problem of the grant that needs no other entity.
func (g *UserGrant) Validate() error {
	var fe FieldErrors
	if g.OrgID == "" {
		fe.Add("org_id", "required")
	}
	if g.UserID == "" {
		fe.Add("user_id", "required")
	}
	if g.ProjectID == "" {
		fe.Add("project_id", "required")
	}
	validateRoleKeys(&fe, g.RoleKeys)
	if !g.State.Valid() {
		fe.Add("state", "must be %q or %q", StateActive, StateInactive)
	}
	return fe.Err()
}
