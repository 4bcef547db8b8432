package access

import (
	"fmt"

	"github.com/rampartiam/rampart/internal/iam"
)

// Permission names one kind of action of the admin API.
type Permission string

// The permissions. *.read permits reading, *.write creating, changing and
// deleting.
const (
	// SystemInstanceRead and SystemInstanceWrite manage ALL instances of the
	// deployment; only INSTANCE_OWNER of the system instance holds them.
	SystemInstanceRead  Permission = "system.instance.read"
	SystemInstanceWrite Permission = "system.instance.write"
	// InstanceRead and InstanceWrite concern the request's own instance.
	InstanceRead  Permission = "instance.read"
	InstanceWrite Permission = "instance.write"
	OrgRead       Permission = "org.read"
	OrgWrite      Permission = "org.write"
	UserRead      Permission = "user.read"
	UserWrite     Permission = "user.write"
	// UserCredentialWrite sets passwords, client secrets, personal access
	// tokens and machine keys of users.
	UserCredentialWrite Permission = "user.credential.write"
	ProjectRead         Permission = "project.read"
	ProjectWrite        Permission = "project.write"
	AppRead             Permission = "app.read"
	AppWrite            Permission = "app.write"
	// GrantRead and GrantWrite cover project grants and user grants.
	GrantRead   Permission = "grant.read"
	GrantWrite  Permission = "grant.write"
	MemberRead  Permission = "member.read"
	MemberWrite Permission = "member.write"
	AuditRead   Permission = "audit.read"
)

// AllPermissions lists every permission, for exhaustive tests.
var AllPermissions = []Permission{
	SystemInstanceRead, SystemInstanceWrite, InstanceRead, InstanceWrite,
	OrgRead, OrgWrite, UserRead, UserWrite, UserCredentialWrite,
	ProjectRead, ProjectWrite, AppRead, AppWrite, GrantRead, GrantWrite,
	MemberRead, MemberWrite, AuditRead,
}

// Target is what a request acts on: an organization, a project of an
// organization, or (both empty) the instance as a whole.
type Target struct {
	OrgID     string
	ProjectID string
}

// String describes the target for error messages.
func (t Target) String() string {
	switch {
	case t.OrgID == "":
		return "the instance"
	case t.ProjectID == "":
		return fmt.Sprintf("organization %q", t.OrgID)
	}
	return fmt.Sprintf("project %q of organization %q", t.ProjectID, t.OrgID)
}

func set(perms ...Permission) map[Permission]bool {
	m := make(map[Permission]bool, len(perms))
	for _, p := range perms {
		m[p] = true
	}
	return m
}

// rolePermissions are the permissions of each role within the scope of its
// membership. The system permissions are added for INSTANCE_OWNER of the
// system instance only (see grants).
var rolePermissions = map[iam.MemberRole]map[Permission]bool{
	iam.RoleInstanceOwner: set(InstanceRead, InstanceWrite, OrgRead, OrgWrite, UserRead, UserWrite, UserCredentialWrite,
		ProjectRead, ProjectWrite, AppRead, AppWrite, GrantRead, GrantWrite, MemberRead, MemberWrite, AuditRead),
	iam.RoleInstanceViewer: set(InstanceRead, OrgRead, UserRead, ProjectRead, AppRead, GrantRead, MemberRead, AuditRead),
	iam.RoleOrgOwner: set(OrgRead, OrgWrite, UserRead, UserWrite, UserCredentialWrite,
		ProjectRead, ProjectWrite, AppRead, AppWrite, GrantRead, GrantWrite, MemberRead, MemberWrite),
	iam.RoleOrgViewer:     set(OrgRead, UserRead, ProjectRead, AppRead, GrantRead, MemberRead),
	iam.RoleProjectOwner:  set(ProjectRead, ProjectWrite, AppRead, AppWrite, GrantRead, GrantWrite, MemberRead, MemberWrite),
	iam.RoleProjectViewer: set(ProjectRead, AppRead, GrantRead, MemberRead),
}

// grants reports whether role holds perm (within its membership's scope).
func grants(role iam.MemberRole, perm Permission, systemInstance bool) bool {
	if perm == SystemInstanceRead || perm == SystemInstanceWrite {
		return systemInstance && role == iam.RoleInstanceOwner
	}
	return rolePermissions[role][perm]
}

// applies reports whether membership m covers target t.
func applies(m *iam.Membership, t Target) bool {
	switch m.Scope {
	case iam.ScopeInstance:
		return true
	case iam.ScopeOrg:
		return t.OrgID != "" && t.OrgID == m.OrgID
	case iam.ScopeProject:
		return t.OrgID != "" && t.ProjectID != "" && t.OrgID == m.OrgID && t.ProjectID == m.ProjectID
	}
	return false
}

// Allowed reports whether the principal holds perm on target. A nil
// principal holds nothing; memberships of another instance than the
// principal's, and roles that do not belong to their membership's scope,
// are ignored.
func Allowed(p *iam.Principal, perm Permission, target Target) bool {
	if p == nil {
		return false
	}
	for _, m := range p.Memberships {
		if m == nil || m.InstanceID != p.InstanceID || !applies(m, target) {
			continue
		}
		for _, r := range m.Roles {
			if r.Scope() == m.Scope && grants(r, perm, p.SystemInstance) {
				return true
			}
		}
	}
	return false
}

// Check returns nil if the principal holds perm on target, an
// iam.Unauthenticated error for a nil principal, and otherwise an
// iam.PermissionDenied error naming the missing permission and the target
// as the request named it (never what exists or what the caller holds).
func Check(p *iam.Principal, perm Permission, target Target) error {
	if p == nil {
		return iam.Errorf(iam.Unauthenticated, "authentication required")
	}
	if Allowed(p, perm, target) {
		return nil
	}
	on := target.String()
	if perm == SystemInstanceRead || perm == SystemInstanceWrite {
		on = "all instances (reserved for owners of the system instance)"
	}
	return iam.Errorf(iam.PermissionDenied, "missing permission %q on %s", perm, on)
}
