package iam

import (
	"slices"
	"time"
)

// MemberScope is what a membership administers.
type MemberScope string

// Membership scopes.
const (
	ScopeInstance MemberScope = "instance"
	ScopeOrg      MemberScope = "org"
	ScopeProject  MemberScope = "project"
)

// MemberRole is an administrative role.
type MemberRole string

// Administrative roles; each is valid on memberships of one scope.
const (
	RoleInstanceOwner  MemberRole = "INSTANCE_OWNER"
	RoleInstanceViewer MemberRole = "INSTANCE_VIEWER"
	RoleOrgOwner       MemberRole = "ORG_OWNER"
	RoleOrgViewer      MemberRole = "ORG_VIEWER"
	RoleProjectOwner   MemberRole = "PROJECT_OWNER"
	RoleProjectViewer  MemberRole = "PROJECT_VIEWER"
)

// AllMemberRoles lists every role, for exhaustive tests.
var AllMemberRoles = []MemberRole{RoleInstanceOwner, RoleInstanceViewer, RoleOrgOwner, RoleOrgViewer, RoleProjectOwner, RoleProjectViewer}

// Scope returns the scope the role belongs to.
func (r MemberRole) Scope() MemberScope {
	switch r {
	case RoleInstanceOwner, RoleInstanceViewer:
		return ScopeInstance
	case RoleOrgOwner, RoleOrgViewer:
		return ScopeOrg
	case RoleProjectOwner, RoleProjectViewer:
		return ScopeProject
	}
	return ""
}

// Membership grants a user administrative roles on the instance, one
// organization (OrgID) or one project (OrgID, ProjectID).
type Membership struct {
	ID         string
	InstanceID string
	Scope      MemberScope
	OrgID      string // set for org and project scope
	ProjectID  string // set for project scope
	UserID     string
	Roles      []MemberRole
	CreatedAt  time.Time
	ChangedAt  time.Time
	Version    int64
}

// MemberTarget is what a membership administers: the instance, one
// organization (OrgID) or one project (OrgID, ProjectID).
type MemberTarget struct {
	Scope     MemberScope
	OrgID     string
	ProjectID string
}

// Target returns the membership's target.
func (m *Membership) Target() MemberTarget {
	return MemberTarget{Scope: m.Scope, OrgID: m.OrgID, ProjectID: m.ProjectID}
}

// Validate reports every problem of the target at once.
func (t MemberTarget) Validate() error {
	var fe FieldErrors
	t.validate(&fe)
	return fe.Err()
}

func (t MemberTarget) validate(fe *FieldErrors) {
	switch t.Scope {
	case ScopeInstance:
		if t.OrgID != "" || t.ProjectID != "" {
			fe.Add("target", "an instance membership names no organization or project")
		}
	case ScopeOrg:
		if t.OrgID == "" {
			fe.Add("target.org_id", "required for an organization membership")
		}
		if t.ProjectID != "" {
			fe.Add("target.project_id", "must be empty for an organization membership")
		}
	case ScopeProject:
		if t.OrgID == "" {
			fe.Add("target.org_id", "required for a project membership")
		}
		if t.ProjectID == "" {
			fe.Add("target.project_id", "required for a project membership")
		}
	default:
		fe.Add("target.scope", "must be instance, organization or project")
	}
}

// Validate reports every problem of the membership at once.
func (m *Membership) Validate() error {
	var fe FieldErrors
	m.Target().validate(&fe)
	if m.UserID == "" {
		fe.Add("user_id", "required")
	}
	if len(m.Roles) == 0 {
		fe.Add("roles", "at least one role is required")
	}
	for i, r := range m.Roles {
		if r.Scope() == "" {
			fe.Add("roles", "unknown role %q", r)
		} else if m.Scope != "" && r.Scope() != m.Scope {
			fe.Add("roles", "role %s cannot be given on a %s membership", r, m.Scope)
		}
		if slices.Contains(m.Roles[:i], r) {
			fe.Add("roles", "role %s is listed twice", r)
		}
	}
	return fe.Err()
}

// HasRole reports whether the membership includes role.
func (m *Membership) HasRole(role MemberRole) bool { return slices.Contains(m.Roles, role) }

// AggregateMembership is the audit aggregate type of memberships.
const AggregateMembership = "membership"

// Membership event types.
const (
	EventMemberAdded   = "member.added"
	EventMemberChanged = "member.changed"
	EventMemberRemoved = "member.removed"
)

// Principal is the authenticated caller of an API request.
type Principal struct {
	InstanceID string
	UserID     string
	// Memberships are the caller's memberships in InstanceID.
	Memberships []*Membership
	// SystemInstance reports whether InstanceID is the system instance.
	SystemInstance bool
}
