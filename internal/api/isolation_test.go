package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/pquerna/otp/totp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// objects are the IDs of one organization's objects, as requests name
// them.
type objects struct {
	org, grantedOrg                          string
	human, machine, pat, key                 string
	project, role, app, projectGrant, uGrant string
	appKey                                   string
	factor                                   string
}

// call is one request of the isolation table.
type call struct {
	proc string
	// list: an empty answer is as good as not_found.
	list bool
	// orgOnly: the request names no object but the organization (and
	// perhaps a user of any organization), so it cannot mix organizations.
	orgOnly bool
	req     func(o objects, exp *timestamppb.Timestamp) proto.Message
}

var (
	roleReader  = []string{"reader"}
	orgViewer   = []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_ORG_VIEWER}
	orgOwner    = []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_ORG_OWNER}
	active      = adminv1.State_STATE_ACTIVE
	orgTargetOf = func(org string) *adminv1.MemberTarget {
		return &adminv1.MemberTarget{Scope: adminv1.MemberScope_MEMBER_SCOPE_ORGANIZATION, OrgId: org}
	}
)

// isolationCalls names objects of every kind through every method that
// takes an ID, in an order that can also run for real (reads, creates,
// updates, then removals from the leaves up).
func isolationCalls(pem string) []call {
	const p = "/rampart.admin.v1."
	return []call{
		{p + "OrganizationService/GetOrganization", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GetOrganizationRequest{OrgId: o.org}
		}},
		{p + "UserService/GetUser", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GetUserRequest{OrgId: o.org, UserId: o.human}
		}},
		{p + "UserService/ListUsers", true, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListUsersRequest{OrgId: o.org}
		}},
		{p + "UserFactorService/ListUserFactors", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListUserFactorsRequest{OrgId: o.org, UserId: o.human}
		}},
		{p + "UserFactorService/ListUserConsents", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListUserConsentsRequest{OrgId: o.org, UserId: o.human}
		}},
		{p + "UserService/ListPersonalAccessTokens", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListPersonalAccessTokensRequest{OrgId: o.org, UserId: o.machine}
		}},
		{p + "UserService/ListMachineKeys", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListMachineKeysRequest{OrgId: o.org, UserId: o.machine}
		}},
		{p + "ProjectService/GetProject", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GetProjectRequest{OrgId: o.org, ProjectId: o.project}
		}},
		{p + "ProjectService/ListProjects", true, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListProjectsRequest{OrgId: o.org}
		}},
		{p + "ProjectService/ListProjectRoles", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListProjectRolesRequest{OrgId: o.org, ProjectId: o.project}
		}},
		{p + "ProjectService/GetProjectGrant", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GetProjectGrantRequest{OrgId: o.org, ProjectId: o.project, GrantId: o.projectGrant}
		}},
		{p + "ProjectService/ListProjectGrants", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListProjectGrantsRequest{OrgId: o.org, ProjectId: o.project}
		}},
		{p + "ApplicationService/GetApplication", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GetApplicationRequest{OrgId: o.org, ProjectId: o.project, AppId: o.app}
		}},
		{p + "ApplicationService/ListApplications", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListApplicationsRequest{OrgId: o.org, ProjectId: o.project}
		}},
		{p + "ApplicationService/ListApplicationKeys", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListApplicationKeysRequest{OrgId: o.org, ProjectId: o.project, AppId: o.app}
		}},
		{p + "UserGrantService/GetUserGrant", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GetUserGrantRequest{OrgId: o.org, GrantId: o.uGrant}
		}},
		{p + "UserGrantService/ListUserGrants", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListUserGrantsRequest{OrgId: o.org, UserId: o.human}
		}},
		{p + "MembershipService/ListMembers", true, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListMembersRequest{Target: orgTargetOf(o.org)}
		}},
		{p + "AuditService/ListAuditEvents", true, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ListAuditEventsRequest{AggregateId: o.org}
		}},

		// Creates inside the named objects.
		{p + "UserService/CreateHumanUser", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.CreateHumanUserRequest{OrgId: o.org, LoginName: "new-human", Email: "new-human@example.com"}
		}},
		{p + "UserService/CreateMachineUser", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.CreateMachineUserRequest{OrgId: o.org, LoginName: "new-robot", Name: "New robot"}
		}},
		{p + "UserService/AddPersonalAccessToken", false, false, func(o objects, exp *timestamppb.Timestamp) proto.Message {
			return &adminv1.AddPersonalAccessTokenRequest{OrgId: o.org, UserId: o.machine, ExpiresAt: exp}
		}},
		{p + "UserService/AddMachineKey", false, false, func(o objects, exp *timestamppb.Timestamp) proto.Message {
			return &adminv1.AddMachineKeyRequest{OrgId: o.org, UserId: o.machine, PublicKeyPem: pem, ExpiresAt: exp}
		}},
		{p + "ProjectService/CreateProject", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.CreateProjectRequest{OrgId: o.org, Name: "New project"}
		}},
		{p + "ProjectService/AddProjectRole", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.AddProjectRoleRequest{OrgId: o.org, ProjectId: o.project, Key: "writer"}
		}},
		{p + "ProjectService/CreateProjectGrant", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.CreateProjectGrantRequest{OrgId: o.org, ProjectId: o.project, GrantedOrgId: o.grantedOrg, RoleKeys: roleReader}
		}},
		{p + "ApplicationService/CreateApplication", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.CreateApplicationRequest{OrgId: o.org, ProjectId: o.project, Type: adminv1.ApplicationType_APPLICATION_TYPE_API,
				Settings: &adminv1.ApplicationSettings{Name: "New app"}}
		}},
		// For real this is already_exists: populate added the same key.
		{p + "ApplicationService/AddApplicationKey", false, false, func(o objects, exp *timestamppb.Timestamp) proto.Message {
			return &adminv1.AddApplicationKeyRequest{OrgId: o.org, ProjectId: o.project, AppId: o.app, PublicKeyPem: pem, ExpiresAt: exp}
		}},
		{p + "UserGrantService/CreateUserGrant", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.CreateUserGrantRequest{OrgId: o.org, UserId: o.human, ProjectId: o.project, RoleKeys: roleReader}
		}},
		{p + "MembershipService/AddMember", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.AddMemberRequest{Target: orgTargetOf(o.org), UserId: o.machine, Roles: orgViewer}
		}},

		// Updates.
		{p + "OrganizationService/UpdateOrganization", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UpdateOrganizationRequest{OrgId: o.org, Version: 1, Name: "Renamed", State: active}
		}},
		{p + "UserService/UpdateHumanUser", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UpdateHumanUserRequest{OrgId: o.org, UserId: o.human, Version: 1, LoginName: "y-human", Email: "changed@example.com"}
		}},
		{p + "UserService/UpdateMachineUser", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UpdateMachineUserRequest{OrgId: o.org, UserId: o.machine, Version: 1, LoginName: "y-robot", Name: "Renamed"}
		}},
		{p + "UserService/SetUserState", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.SetUserStateRequest{OrgId: o.org, UserId: o.human, Version: 2, State: adminv1.UserState_USER_STATE_ACTIVE}
		}},
		{p + "UserService/SetPassword", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.SetPasswordRequest{OrgId: o.org, UserId: o.human, Password: "another good password"}
		}},
		{p + "UserFactorService/UnlockUser", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UnlockUserRequest{OrgId: o.org, UserId: o.human}
		}},
		{p + "UserFactorService/RevokeUserConsent", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.RevokeUserConsentRequest{OrgId: o.org, UserId: o.human}
		}},
		{p + "UserService/ResetPassword", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ResetPasswordRequest{OrgId: o.org, UserId: o.human}
		}},
		{p + "UserService/GenerateClientSecret", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GenerateClientSecretRequest{OrgId: o.org, UserId: o.machine}
		}},
		{p + "ProjectService/UpdateProject", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UpdateProjectRequest{OrgId: o.org, ProjectId: o.project, Version: 1, Name: "Renamed", State: active}
		}},
		{p + "ProjectService/UpdateProjectRole", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UpdateProjectRoleRequest{OrgId: o.org, ProjectId: o.project, Key: "reader", Version: 1, DisplayName: "Reader"}
		}},
		{p + "ProjectService/UpdateProjectGrant", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UpdateProjectGrantRequest{OrgId: o.org, ProjectId: o.project, GrantId: o.projectGrant, Version: 1, RoleKeys: roleReader, State: active}
		}},
		{p + "ApplicationService/UpdateApplication", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UpdateApplicationRequest{OrgId: o.org, ProjectId: o.project, AppId: o.app, Version: 1,
				Settings: &adminv1.ApplicationSettings{Name: "Renamed"}, State: active}
		}},
		{p + "ApplicationService/RegenerateClientSecret", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.RegenerateClientSecretRequest{OrgId: o.org, ProjectId: o.project, AppId: o.app}
		}},
		{p + "UserGrantService/UpdateUserGrant", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UpdateUserGrantRequest{OrgId: o.org, GrantId: o.uGrant, Version: 1, RoleKeys: roleReader, State: active}
		}},
		{p + "MembershipService/UpdateMember", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.UpdateMemberRequest{Target: orgTargetOf(o.org), UserId: o.human, Version: 1, Roles: orgOwner}
		}},

		// Policies of the organization: read, override, reset.
		{p + "PolicyService/GetLoginPolicy", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GetLoginPolicyRequest{OrgId: o.org}
		}},
		{p + "PolicyService/SetLoginPolicy", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.SetLoginPolicyRequest{OrgId: o.org, AllowUsernamePassword: true, ForceMfa: true,
				AllowedSecondFactors: []adminv1.SecondFactor{adminv1.SecondFactor_SECOND_FACTOR_TOTP},
				SessionLifetime:      durationpb.New(time.Hour), SessionIdleTimeout: durationpb.New(time.Hour)}
		}},
		{p + "PolicyService/ResetLoginPolicy", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ResetLoginPolicyRequest{OrgId: o.org, Version: 1}
		}},
		{p + "PolicyService/GetPasswordPolicy", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GetPasswordPolicyRequest{OrgId: o.org}
		}},
		{p + "PolicyService/SetPasswordPolicy", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.SetPasswordPolicyRequest{OrgId: o.org, MinLength: 12, RequireDigit: true}
		}},
		{p + "PolicyService/ResetPasswordPolicy", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ResetPasswordPolicyRequest{OrgId: o.org, Version: 1}
		}},
		{p + "PolicyService/GetLockoutPolicy", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.GetLockoutPolicyRequest{OrgId: o.org}
		}},
		{p + "PolicyService/SetLockoutPolicy", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.SetLockoutPolicyRequest{OrgId: o.org, MaxPasswordAttempts: 3, MaxOtpAttempts: 3}
		}},
		{p + "PolicyService/ResetLockoutPolicy", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.ResetLockoutPolicyRequest{OrgId: o.org, Version: 1}
		}},

		// Removals, leaves first.
		{p + "MembershipService/RemoveMember", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.RemoveMemberRequest{Target: orgTargetOf(o.org), UserId: o.human}
		}},
		{p + "UserFactorService/RemoveUserFactor", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.RemoveUserFactorRequest{OrgId: o.org, UserId: o.human, FactorId: o.factor}
		}},
		{p + "UserGrantService/DeleteUserGrant", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.DeleteUserGrantRequest{OrgId: o.org, GrantId: o.uGrant, Version: 2}
		}},
		{p + "ApplicationService/RemoveApplicationKey", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.RemoveApplicationKeyRequest{OrgId: o.org, ProjectId: o.project, AppId: o.app, KeyId: o.appKey}
		}},
		{p + "ApplicationService/DeleteApplication", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.DeleteApplicationRequest{OrgId: o.org, ProjectId: o.project, AppId: o.app, Version: 2}
		}},
		{p + "ProjectService/DeleteProjectGrant", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.DeleteProjectGrantRequest{OrgId: o.org, ProjectId: o.project, GrantId: o.projectGrant, Version: 2}
		}},
		{p + "ProjectService/RemoveProjectRole", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.RemoveProjectRoleRequest{OrgId: o.org, ProjectId: o.project, Key: "reader"}
		}},
		{p + "UserService/RemovePersonalAccessToken", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.RemovePersonalAccessTokenRequest{OrgId: o.org, UserId: o.machine, TokenId: o.pat}
		}},
		{p + "UserService/RemoveMachineKey", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.RemoveMachineKeyRequest{OrgId: o.org, UserId: o.machine, KeyId: o.key}
		}},
		{p + "UserService/RemoveClientSecret", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.RemoveClientSecretRequest{OrgId: o.org, UserId: o.machine}
		}},
		{p + "UserService/DeleteUser", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.DeleteUserRequest{OrgId: o.org, UserId: o.human, Version: 5}
		}},
		{p + "ProjectService/DeleteProject", false, false, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.DeleteProjectRequest{OrgId: o.org, ProjectId: o.project, Version: 2}
		}},
		{p + "OrganizationService/DeleteOrganization", false, true, func(o objects, _ *timestamppb.Timestamp) proto.Message {
			return &adminv1.DeleteOrganizationRequest{OrgId: o.org, Version: 2}
		}},
	}
}

func publicKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// populate creates, through the API as w's owner, one object of every kind
// in organization Y of w, and returns their IDs.
func (h *harness) populate(t *testing.T, w *world, keyPEM string) objects {
	t.Helper()
	ctx := t.Context()
	opt := bearer(w.owner())
	users := adminv1connect.NewUserServiceClient(h.client, h.url(w.host), opt)
	projects := adminv1connect.NewProjectServiceClient(h.client, h.url(w.host), opt)
	apps := adminv1connect.NewApplicationServiceClient(h.client, h.url(w.host), opt)
	grants := adminv1connect.NewUserGrantServiceClient(h.client, h.url(w.host), opt)
	members := adminv1connect.NewMembershipServiceClient(h.client, h.url(w.host), opt)
	exp := timestamppb.New(h.clock.Now().Add(time.Hour))
	o := objects{org: w.y.ID, grantedOrg: w.x.ID, project: w.r.ID, role: "reader"}

	human := must[*connect.Response[adminv1.CreateHumanUserResponse]](t)(users.CreateHumanUser(ctx, connect.NewRequest(&adminv1.CreateHumanUserRequest{
		OrgId: o.org, LoginName: "y-human", Email: "y-human@example.com", Password: "a good long password"})))
	o.human = human.Msg.User.Id
	machine := must[*connect.Response[adminv1.CreateMachineUserResponse]](t)(users.CreateMachineUser(ctx, connect.NewRequest(&adminv1.CreateMachineUserRequest{
		OrgId: o.org, LoginName: "y-robot", Name: "Robot"})))
	o.machine = machine.Msg.User.Id
	o.pat = must[*connect.Response[adminv1.AddPersonalAccessTokenResponse]](t)(users.AddPersonalAccessToken(ctx, connect.NewRequest(&adminv1.AddPersonalAccessTokenRequest{
		OrgId: o.org, UserId: o.machine, ExpiresAt: exp}))).Msg.PersonalAccessToken.Id
	o.key = must[*connect.Response[adminv1.AddMachineKeyResponse]](t)(users.AddMachineKey(ctx, connect.NewRequest(&adminv1.AddMachineKeyRequest{
		OrgId: o.org, UserId: o.machine, PublicKeyPem: keyPEM, ExpiresAt: exp}))).Msg.Key.Id
	must[*connect.Response[adminv1.AddProjectRoleResponse]](t)(projects.AddProjectRole(ctx, connect.NewRequest(&adminv1.AddProjectRoleRequest{
		OrgId: o.org, ProjectId: o.project, Key: o.role})))
	o.app = must[*connect.Response[adminv1.CreateApplicationResponse]](t)(apps.CreateApplication(ctx, connect.NewRequest(&adminv1.CreateApplicationRequest{
		OrgId: o.org, ProjectId: o.project, Type: adminv1.ApplicationType_APPLICATION_TYPE_API, Settings: &adminv1.ApplicationSettings{Name: "Service"}}))).Msg.Application.Id
	o.appKey = must[*connect.Response[adminv1.AddApplicationKeyResponse]](t)(apps.AddApplicationKey(ctx, connect.NewRequest(&adminv1.AddApplicationKeyRequest{
		OrgId: o.org, ProjectId: o.project, AppId: o.app, PublicKeyPem: keyPEM}))).Msg.Key.Id
	o.projectGrant = must[*connect.Response[adminv1.CreateProjectGrantResponse]](t)(projects.CreateProjectGrant(ctx, connect.NewRequest(&adminv1.CreateProjectGrantRequest{
		OrgId: o.org, ProjectId: o.project, GrantedOrgId: o.grantedOrg, RoleKeys: roleReader}))).Msg.ProjectGrant.Id
	o.uGrant = must[*connect.Response[adminv1.CreateUserGrantResponse]](t)(grants.CreateUserGrant(ctx, connect.NewRequest(&adminv1.CreateUserGrantRequest{
		OrgId: o.org, UserId: o.human, ProjectId: o.project, RoleKeys: roleReader}))).Msg.UserGrant.Id
	must[*connect.Response[adminv1.AddMemberResponse]](t)(members.AddMember(ctx, connect.NewRequest(&adminv1.AddMemberRequest{
		Target: orgTargetOf(o.org), UserId: o.human, Roles: orgViewer})))
	// Users enrol second factors themselves (no admin API): through the
	// service, an authenticator app for the human.
	ref := mfa.Ref{InstanceID: w.in.ID, OrgID: o.org, ID: o.human}
	enrolment := must[*mfa.TOTPEnrolment](t)(h.factors.BeginTOTP(ctx, ref, ""))
	code := must[string](t)(totp.GenerateCode(enrolment.Secret, h.clock.Now()))
	must[[]string](t)(h.factors.ConfirmTOTP(ctx, o.human, ref, code))
	o.factor = enrolment.FactorID
	// Users consent in the hosted login: through the service.
	if err := h.sessions.GrantConsent(ctx, w.in.ID, o.human, o.app, []string{"openid"}); err != nil {
		t.Fatal(err)
	}
	return o
}

// emptyList reports whether the first repeated field of a List response is
// empty.
func emptyList(m *dynamicpb.Message) bool {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); fd.IsList() {
			return m.Get(fd).List().Len() == 0
		}
	}
	return false
}

// TestIsolation requests objects of organization Y of instance A:
//
//   - through instance B's host with B's owner token: not_found (or an
//     empty list) for every method that takes an ID;
//   - in A by the owner of organization X naming Y: permission_denied;
//   - in A by the owner of X naming X with Y's object IDs: not_found (or an
//     empty list);
//   - finally in A by A's owner, for real: never not_found, which proves
//     that every request of the table names existing objects.
func TestIsolation(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		a := h.newWorld(t, "A", "a.test", false)
		b := h.newWorld(t, "B", "b.test", false)
		keyPEM := publicKeyPEM(t)
		objs := h.populate(t, a, keyPEM)
		methods := adminMethods(t)
		calls := isolationCalls(keyPEM)
		exp := timestamppb.New(h.clock.Now().Add(2 * time.Hour))
		covered := map[string]bool{}

		do := func(host, token string, c call, o objects) (*dynamicpb.Message, error) {
			md, ok := methods[c.proc]
			if !ok {
				t.Fatalf("no method %s", c.proc)
			}
			covered[c.proc] = true
			return h.invoke(ctx, host, token, md, c.req(o, exp))
		}
		hidden := func(what string, c call, res *dynamicpb.Message, err error) {
			t.Helper()
			if c.list && err == nil && emptyList(res) {
				return
			}
			if connect.CodeOf(err) != connect.CodeNotFound || err == nil {
				t.Errorf("%s %s: %v (response %v), want not_found", what, c.proc, err, res)
			}
		}

		for _, c := range calls {
			res, err := do(b.host, b.owner(), c, objs)
			hidden("through B:", c, res, err)
		}
		for _, c := range calls {
			_, err := do(a.host, a.tokens[iam.RoleOrgOwner], c, objs)
			if connect.CodeOf(err) != connect.CodePermissionDenied || err == nil {
				t.Errorf("X's owner naming Y: %s: %v, want permission_denied", c.proc, err)
			}
		}
		mixed := objs
		mixed.org, mixed.grantedOrg = a.x.ID, a.y.ID
		for _, c := range calls {
			if c.orgOnly || c.proc == "/rampart.admin.v1.AuditService/ListAuditEvents" {
				continue
			}
			res, err := do(a.host, a.tokens[iam.RoleOrgOwner], c, mixed)
			hidden("X's owner naming X with Y's IDs:", c, res, err)
		}
		// Nothing changed in A: Y's objects are all there (proved by the
		// real run below, which finds every one of them).
		for _, c := range calls {
			res, err := do(a.host, a.owner(), c, objs)
			switch connect.CodeOf(err) {
			case connect.CodeNotFound, connect.CodePermissionDenied, connect.CodeInvalidArgument, connect.CodeUnauthenticated, connect.CodeInternal, connect.CodeUnknown:
				if err != nil {
					t.Errorf("for real in A: %s: %v", c.proc, err)
				}
			}
			if err == nil && c.list && emptyList(res) {
				t.Errorf("for real in A: %s listed nothing", c.proc)
			}
		}
		// Every method that takes an ID is in the table.
		for proc, md := range methods {
			takesID := false
			for i := range md.Input().Fields().Len() {
				name := string(md.Input().Fields().Get(i).Name())
				takesID = takesID || name == "org_id" || name == "target"
			}
			if takesID && !covered[proc] {
				t.Errorf("%s takes an organization but is not in the isolation table", proc)
			}
		}
		if logs := h.logs.String(); strings.Contains(logs, "internal error") {
			t.Errorf("internal errors were logged:\n%s", logs)
		}
	})
}
