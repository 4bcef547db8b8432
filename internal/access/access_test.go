package access

import (
	"strings"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
)

// want lists, independently of the implementation, the permissions each
// role holds within its scope.
var want = map[iam.MemberRole]string{
	iam.RoleInstanceOwner:  "instance.read instance.write org.read org.write user.read user.write user.credential.write project.read project.write app.read app.write grant.read grant.write member.read member.write audit.read",
	iam.RoleInstanceViewer: "instance.read org.read user.read project.read app.read grant.read member.read audit.read",
	iam.RoleOrgOwner:       "org.read org.write user.read user.write user.credential.write project.read project.write app.read app.write grant.read grant.write member.read member.write",
	iam.RoleOrgViewer:      "org.read user.read project.read app.read grant.read member.read",
	iam.RoleProjectOwner:   "project.read project.write app.read app.write grant.read grant.write member.read member.write",
	iam.RoleProjectViewer:  "project.read app.read grant.read member.read",
}

const (
	instA, instB = "inst-a", "inst-b"
	orgX, orgY   = "org-x", "org-y"
	projP, projQ = "proj-p", "proj-q"
)

// targets are the request targets every case is checked against, with the
// scopes of memberships (on org X / project P of org X) that cover them.
var targets = []struct {
	name       string
	t          Target
	orgCovers  bool // an org X membership applies
	projCovers bool // a project P (of X) membership applies
}{
	{"instance-wide", Target{}, false, false},
	{"org X", Target{OrgID: orgX}, true, false},
	{"org Y", Target{OrgID: orgY}, false, false},
	{"project P of X", Target{OrgID: orgX, ProjectID: projP}, true, true},
	{"project Q of X", Target{OrgID: orgX, ProjectID: projQ}, true, false},
	{"project P of Y", Target{OrgID: orgY, ProjectID: projP}, false, false},
	{"project P without org", Target{ProjectID: projP}, false, false},
}

func membership(role iam.MemberRole) *iam.Membership {
	m := &iam.Membership{InstanceID: instA, Scope: role.Scope(), UserID: "u", Roles: []iam.MemberRole{role}}
	switch m.Scope {
	case iam.ScopeOrg:
		m.OrgID = orgX
	case iam.ScopeProject:
		m.OrgID, m.ProjectID = orgX, projP
	}
	return m
}

func TestCheckEveryRolePermissionAndTarget(t *testing.T) {
	t.Parallel()
	for _, system := range []bool{false, true} {
		for _, role := range append([]iam.MemberRole{""}, iam.AllMemberRoles...) {
			p := &iam.Principal{InstanceID: instA, UserID: "u", SystemInstance: system}
			if role != "" {
				p.Memberships = []*iam.Membership{membership(role)}
			}
			held := map[Permission]bool{}
			for _, w := range strings.Fields(want[role]) {
				held[Permission(w)] = true
			}
			if role == iam.RoleInstanceOwner && system {
				held[SystemInstanceRead], held[SystemInstanceWrite] = true, true
			}
			for _, perm := range AllPermissions {
				for _, tg := range targets {
					covered := role != "" && (role.Scope() == iam.ScopeInstance ||
						role.Scope() == iam.ScopeOrg && tg.orgCovers ||
						role.Scope() == iam.ScopeProject && tg.projCovers)
					wantOK := covered && held[perm]
					err := Check(p, perm, tg.t)
					if Allowed(p, perm, tg.t) != (err == nil) {
						t.Fatalf("Allowed and Check disagree for %s %s %s", role, perm, tg.name)
					}
					if wantOK && err != nil || !wantOK && !iam.IsCode(err, iam.PermissionDenied) {
						t.Errorf("system=%v role=%q perm=%s target=%s: err = %v, want allowed=%v", system, role, perm, tg.name, err, wantOK)
					}
				}
			}
		}
	}
}

func TestEveryRoleAndPermissionIsListed(t *testing.T) {
	t.Parallel()
	for _, role := range iam.AllMemberRoles {
		for _, w := range strings.Fields(want[role]) {
			found := false
			for _, p := range AllPermissions {
				found = found || string(p) == w
			}
			if !found {
				t.Errorf("role %s: %q is not in AllPermissions", role, w)
			}
		}
		if len(rolePermissions[role]) != len(strings.Fields(want[role])) {
			t.Errorf("role %s grants %d permissions, the test expects %d", role, len(rolePermissions[role]), len(strings.Fields(want[role])))
		}
	}
	if len(rolePermissions) != len(iam.AllMemberRoles) {
		t.Errorf("rolePermissions has %d roles, want %d", len(rolePermissions), len(iam.AllMemberRoles))
	}
}

func TestCheckEdgeCases(t *testing.T) {
	t.Parallel()
	owner := func(instance string) *iam.Membership {
		return &iam.Membership{InstanceID: instance, Scope: iam.ScopeInstance, UserID: "u", Roles: []iam.MemberRole{iam.RoleInstanceOwner}}
	}
	for _, tc := range []struct {
		name   string
		p      *iam.Principal
		perm   Permission
		target Target
		want   iam.Code // "" for allowed
	}{
		{"nil principal", nil, OrgRead, Target{OrgID: orgX}, iam.Unauthenticated},
		{"no memberships", &iam.Principal{InstanceID: instA, UserID: "u"}, OrgRead, Target{}, iam.PermissionDenied},
		{"membership of another instance is ignored", &iam.Principal{InstanceID: instA, Memberships: []*iam.Membership{owner(instB)}}, OrgRead, Target{}, iam.PermissionDenied},
		{"nil membership is ignored", &iam.Principal{InstanceID: instA, Memberships: []*iam.Membership{nil, owner(instA)}}, OrgRead, Target{}, ""},
		{"role of the wrong scope is ignored", &iam.Principal{InstanceID: instA, Memberships: []*iam.Membership{
			{InstanceID: instA, Scope: iam.ScopeOrg, OrgID: orgX, Roles: []iam.MemberRole{iam.RoleInstanceOwner}}}}, OrgRead, Target{}, iam.PermissionDenied},
		{"unknown scope is ignored", &iam.Principal{InstanceID: instA, Memberships: []*iam.Membership{
			{InstanceID: instA, Scope: "galaxy", Roles: []iam.MemberRole{iam.RoleInstanceOwner}}}}, OrgRead, Target{}, iam.PermissionDenied},
		{"org membership with empty org matches nothing", &iam.Principal{InstanceID: instA, Memberships: []*iam.Membership{
			{InstanceID: instA, Scope: iam.ScopeOrg, Roles: []iam.MemberRole{iam.RoleOrgOwner}}}}, OrgRead, Target{}, iam.PermissionDenied},
		{"project membership with empty ids matches nothing", &iam.Principal{InstanceID: instA, Memberships: []*iam.Membership{
			{InstanceID: instA, Scope: iam.ScopeProject, Roles: []iam.MemberRole{iam.RoleProjectOwner}}}}, ProjectRead, Target{}, iam.PermissionDenied},
		{"system owner manages all instances", &iam.Principal{InstanceID: instA, SystemInstance: true, Memberships: []*iam.Membership{owner(instA)}}, SystemInstanceWrite, Target{}, ""},
		{"owner of another instance does not", &iam.Principal{InstanceID: instA, Memberships: []*iam.Membership{owner(instA)}}, SystemInstanceWrite, Target{}, iam.PermissionDenied},
		{"roles of several memberships combine", &iam.Principal{InstanceID: instA, Memberships: []*iam.Membership{
			membership(iam.RoleProjectViewer), {InstanceID: instA, Scope: iam.ScopeOrg, OrgID: orgY, Roles: []iam.MemberRole{iam.RoleOrgOwner}}}}, UserWrite, Target{OrgID: orgY}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tc.p, tc.perm, tc.target)
			if iam.ErrorCode(err) != tc.want {
				t.Fatalf("Check = %v, want code %q", err, tc.want)
			}
		})
	}
}

func TestDeniedMessageNamesPermissionAndTargetOnly(t *testing.T) {
	t.Parallel()
	p := &iam.Principal{InstanceID: instA, UserID: "u", Memberships: []*iam.Membership{membership(iam.RoleOrgViewer)}}
	for _, tc := range []struct {
		perm   Permission
		target Target
		want   string
	}{
		{UserWrite, Target{OrgID: orgX}, `missing permission "user.write" on organization "org-x"`},
		{AppWrite, Target{OrgID: orgX, ProjectID: projP}, `missing permission "app.write" on project "proj-p" of organization "org-x"`},
		{AuditRead, Target{}, `missing permission "audit.read" on the instance`},
		{SystemInstanceRead, Target{}, `missing permission "system.instance.read" on all instances`},
	} {
		err := Check(p, tc.perm, tc.target)
		var e *iam.Error
		if !iamAs(err, &e) || !strings.HasPrefix(e.Message, tc.want) {
			t.Errorf("Check(%s, %v) = %v, want message starting %q", tc.perm, tc.target, err, tc.want)
		}
		if strings.Contains(err.Error(), "ORG_VIEWER") {
			t.Errorf("message reveals the caller's roles: %v", err)
		}
	}
}

func iamAs(err error, e **iam.Error) bool {
	ie, ok := err.(*iam.Error)
	*e = ie
	return ok
}
