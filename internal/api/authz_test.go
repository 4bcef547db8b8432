package api_test

import (
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/rampartiam/rampart/internal/access"
	"github.com/rampartiam/rampart/internal/api"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// variant is one way of filling a request's target fields, with the target
// the test expects the API to authorize against.
type variant struct {
	name   string
	target access.Target
	fill   func(m protoreflect.Message)
}

func setString(m protoreflect.Message, name protoreflect.Name, v string) {
	if fd := m.Descriptor().Fields().ByName(name); fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsList() {
		m.Set(fd, protoreflect.ValueOfString(v))
	}
}

// staleVersions sets every version field to a version no object has, so
// that no mutation of the matrix can succeed by accident.
func staleVersions(m protoreflect.Message) {
	if fd := m.Descriptor().Fields().ByName("version"); fd != nil && fd.Kind() == protoreflect.Int64Kind {
		m.Set(fd, protoreflect.ValueOfInt64(1<<40))
	}
}

func orgProject(org, project string) func(protoreflect.Message) {
	return func(m protoreflect.Message) {
		setString(m, "org_id", org)
		setString(m, "project_id", project)
	}
}

func memberTarget(scope adminv1.MemberScope, org, project string) func(protoreflect.Message) {
	return func(m protoreflect.Message) {
		fd := m.Descriptor().Fields().ByName("target")
		t := m.Mutable(fd).Message()
		t.Set(t.Descriptor().Fields().ByName("scope"), protoreflect.ValueOfEnum(protoreflect.EnumNumber(scope)))
		setString(t, "org_id", org)
		setString(t, "project_id", project)
	}
}

// variants lists the target variants of a rule kind in world w: the
// targets the roles of w are (and are not) meant to reach.
func variants(w *world, kind api.TargetFrom) []variant {
	x, y, p, q, r := w.x.ID, w.y.ID, w.p.ID, w.q.ID, w.r.ID
	switch kind {
	case api.Org:
		return []variant{
			{"org X", access.Target{OrgID: x}, orgProject(x, "")},
			{"org Y", access.Target{OrgID: y}, orgProject(y, "")},
			{"no org", access.Target{}, orgProject("", "")},
		}
	case api.OrgProject:
		return []variant{
			{"X/P", access.Target{OrgID: x, ProjectID: p}, orgProject(x, p)},
			{"X/Q", access.Target{OrgID: x, ProjectID: q}, orgProject(x, q)},
			{"X only", access.Target{OrgID: x}, orgProject(x, "")},
			{"Y/R", access.Target{OrgID: y, ProjectID: r}, orgProject(y, r)},
			{"Y/P (P is X's)", access.Target{OrgID: y, ProjectID: p}, orgProject(y, p)},
			{"P without org", access.Target{}, orgProject("", p)},
		}
	case api.MemberTarget:
		return []variant{
			{"instance", access.Target{}, memberTarget(adminv1.MemberScope_MEMBER_SCOPE_INSTANCE, "", "")},
			{"org X", access.Target{OrgID: x}, memberTarget(adminv1.MemberScope_MEMBER_SCOPE_ORGANIZATION, x, "")},
			{"org Y", access.Target{OrgID: y}, memberTarget(adminv1.MemberScope_MEMBER_SCOPE_ORGANIZATION, y, "")},
			{"project X/P", access.Target{OrgID: x, ProjectID: p}, memberTarget(adminv1.MemberScope_MEMBER_SCOPE_PROJECT, x, p)},
			{"project X/Q", access.Target{OrgID: x, ProjectID: q}, memberTarget(adminv1.MemberScope_MEMBER_SCOPE_PROJECT, x, q)},
			{"project Y/P", access.Target{OrgID: y, ProjectID: p}, memberTarget(adminv1.MemberScope_MEMBER_SCOPE_PROJECT, y, p)},
			{"org scope naming X and P", access.Target{OrgID: x}, memberTarget(adminv1.MemberScope_MEMBER_SCOPE_ORGANIZATION, x, p)},
			{"no scope naming X", access.Target{}, memberTarget(adminv1.MemberScope_MEMBER_SCOPE_UNSPECIFIED, x, "")},
		}
	}
	return []variant{{"instance", access.Target{}, func(protoreflect.Message) {}}}
}

var matrixRoles = append([]iam.MemberRole{""}, iam.AllMemberRoles...)

// TestAuthorizationMatrix calls every method of the admin API, over HTTP
// with the Connect Go client, as a user of every role (and as one without
// any), on targets inside and outside the role's scope, and checks that
// the call is denied exactly when the table and the permission model say
// so. Any other outcome (invalid_argument, not_found, aborted, success,
// unimplemented) counts as authorized; internal errors and unauthenticated
// answers fail the test.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	methods := adminMethods(t)
	procs := make([]string, 0, len(methods))
	for p := range methods {
		procs = append(procs, p)
	}
	slices.Sort(procs)
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		sys := h.newWorld(t, "System", "sys.test", true)
		a := h.newWorld(t, "A", "a.test", false)
		calls, denied := 0, 0
		for _, w := range []*world{a, sys} {
			for _, proc := range procs {
				// The system instance differs only for instance and cluster
				// management.
				if w == sys && !systemService(proc) {
					continue
				}
				md, rule := methods[proc], api.Rules[proc]
				for _, v := range variants(w, rule.Target) {
					for _, role := range matrixRoles {
						token := w.tokens[role]
						if role == "" {
							token = w.noRole
						}
						req := dynamicpb.NewMessage(md.Input())
						v.fill(req)
						staleVersions(req)
						_, err := h.invoke(ctx, w.host, token, md, req)
						calls++
						want := access.Allowed(w.principal(role), rule.Permission, v.target)
						var code connect.Code // 0: success
						if err != nil {
							code = connect.CodeOf(err)
						}
						switch {
						case !want && code != connect.CodePermissionDenied:
							t.Errorf("%s %s as %q on %s: %v, want permission_denied", w.in.Name, proc, role, v.name, err)
						case want && (code == connect.CodePermissionDenied || code == connect.CodeUnauthenticated || code == connect.CodeInternal || code == connect.CodeUnknown):
							t.Errorf("%s %s as %q on %s: %v, want authorized", w.in.Name, proc, role, v.name, err)
						case !want:
							denied++
						}
					}
				}
			}
		}
		t.Logf("%d calls, %d denied", calls, denied)
		if strings.Contains(h.logs.String(), "internal error") {
			t.Errorf("internal errors were logged:\n%s", h.logs.String())
		}
	})
}

// TestAuthorizationSpotChecks spells out a few decisions of the matrix, so
// that a change to the permission model that the matrix would follow
// silently shows up here.
func TestAuthorizationSpotChecks(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		sys := h.newWorld(t, "System", "sys.test", true)
		a := h.newWorld(t, "A", "a.test", false)
		methods := adminMethods(t)
		for _, tc := range []struct {
			w      *world
			role   iam.MemberRole
			proc   string
			fill   func(protoreflect.Message)
			denied bool
		}{
			{sys, iam.RoleInstanceOwner, "/rampart.admin.v1.InstanceService/ListInstances", nil, false},
			{sys, iam.RoleInstanceViewer, "/rampart.admin.v1.InstanceService/ListInstances", nil, true},
			{a, iam.RoleInstanceOwner, "/rampart.admin.v1.InstanceService/ListInstances", nil, true},
			{a, iam.RoleInstanceOwner, "/rampart.admin.v1.InstanceService/CreateInstance", nil, true},
			{a, iam.RoleInstanceViewer, "/rampart.admin.v1.InstanceService/GetMyInstance", nil, false},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.InstanceService/GetMyInstance", nil, true},
			{a, iam.RoleInstanceViewer, "/rampart.admin.v1.AuditService/ListAuditEvents", nil, false},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.AuditService/ListAuditEvents", nil, true},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.OrganizationService/ListOrganizations", nil, true},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.UserService/CreateHumanUser", orgProject(a.x.ID, ""), false},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.UserService/CreateHumanUser", orgProject(a.y.ID, ""), true},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.UserService/ListUsers", orgProject("", ""), true},
			{a, iam.RoleOrgViewer, "/rampart.admin.v1.UserService/SetPassword", orgProject(a.x.ID, ""), true},
			{a, iam.RoleOrgViewer, "/rampart.admin.v1.UserService/GetUser", orgProject(a.x.ID, ""), false},
			{a, iam.RoleProjectOwner, "/rampart.admin.v1.ProjectService/CreateProject", orgProject(a.x.ID, ""), true},
			{a, iam.RoleProjectOwner, "/rampart.admin.v1.ApplicationService/CreateApplication", orgProject(a.x.ID, a.p.ID), false},
			{a, iam.RoleProjectOwner, "/rampart.admin.v1.ApplicationService/CreateApplication", orgProject(a.x.ID, a.q.ID), true},
			{a, iam.RoleProjectViewer, "/rampart.admin.v1.ApplicationService/UpdateApplication", orgProject(a.x.ID, a.p.ID), true},
			{a, iam.RoleProjectOwner, "/rampart.admin.v1.ApplicationService/AddApplicationKey", orgProject(a.x.ID, a.p.ID), false},
			{a, iam.RoleProjectViewer, "/rampart.admin.v1.ApplicationService/AddApplicationKey", orgProject(a.x.ID, a.p.ID), true},
			{a, iam.RoleProjectViewer, "/rampart.admin.v1.ApplicationService/ListApplicationKeys", orgProject(a.x.ID, a.p.ID), false},
			{a, iam.RoleOrgViewer, "/rampart.admin.v1.ApplicationService/RemoveApplicationKey", orgProject(a.x.ID, a.p.ID), true},
			{a, iam.RoleProjectOwner, "/rampart.admin.v1.MembershipService/AddMember", memberTarget(adminv1.MemberScope_MEMBER_SCOPE_PROJECT, a.x.ID, a.p.ID), false},
			{a, iam.RoleProjectOwner, "/rampart.admin.v1.MembershipService/AddMember", memberTarget(adminv1.MemberScope_MEMBER_SCOPE_ORGANIZATION, a.x.ID, ""), true},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.MembershipService/AddMember", memberTarget(adminv1.MemberScope_MEMBER_SCOPE_INSTANCE, "", ""), true},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.PolicyService/SetLoginPolicy", orgProject(a.x.ID, ""), false},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.PolicyService/SetLoginPolicy", orgProject("", ""), true},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.PolicyService/ResetPasswordPolicy", orgProject(a.y.ID, ""), true},
			{a, iam.RoleOrgViewer, "/rampart.admin.v1.PolicyService/GetLockoutPolicy", orgProject(a.x.ID, ""), false},
			{a, iam.RoleOrgViewer, "/rampart.admin.v1.PolicyService/SetLockoutPolicy", orgProject(a.x.ID, ""), true},
			{a, iam.RoleInstanceViewer, "/rampart.admin.v1.PolicyService/GetLoginPolicy", orgProject("", ""), false},
			{a, iam.RoleInstanceViewer, "/rampart.admin.v1.PolicyService/SetLoginPolicy", orgProject("", ""), true},
			{a, iam.RoleInstanceOwner, "/rampart.admin.v1.PolicyService/SetPasswordPolicy", orgProject(a.y.ID, ""), false},
			{a, iam.RoleInstanceViewer, "/rampart.admin.v1.PolicyService/GetBranding", nil, false},
			{a, iam.RoleInstanceViewer, "/rampart.admin.v1.PolicyService/SetBranding", nil, true},
			{a, iam.RoleOrgOwner, "/rampart.admin.v1.PolicyService/GetBranding", nil, true},
		} {
			md := methods[tc.proc]
			req := dynamicpb.NewMessage(md.Input())
			if tc.fill != nil {
				tc.fill(req)
			}
			staleVersions(req)
			_, err := h.invoke(ctx, tc.w.host, tc.w.tokens[tc.role], md, req)
			if got := connect.CodeOf(err) == connect.CodePermissionDenied; got != tc.denied {
				t.Errorf("%s %s as %s: %v, want denied=%v", tc.w.in.Name, tc.proc, tc.role, err, tc.denied)
			}
		}
	})
}
