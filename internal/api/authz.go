package api

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/rampartiam/rampart/internal/access"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	c "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// TargetFrom says where a request names what it acts on.
type TargetFrom int

// Where targets come from.
const (
	// Instance: the request acts on the instance as a whole (or on all
	// instances); only instance roles apply.
	Instance TargetFrom = iota
	// Org: the request's org_id field. An empty org_id targets the
	// instance.
	Org
	// OrgProject: the request's org_id and project_id fields. An empty
	// project_id targets the organization.
	OrgProject
	// MemberTarget: the request's target field (a MemberTarget): the
	// instance, its org_id, or its org_id and project_id, by its scope. An
	// unknown scope targets the instance.
	MemberTarget
)

// Rule is what a procedure needs: a permission on a target.
type Rule struct {
	Permission access.Permission
	Target     TargetFrom
}

// Rules is the authorization table of the admin API: every procedure,
// keyed by its full name, with the permission it needs and where its
// target is. A procedure missing here is denied to everyone; a test
// checks that every method of every service has an entry.
var Rules = map[string]Rule{
	c.InstanceServiceCreateInstanceProcedure: {access.SystemInstanceWrite, Instance},
	c.InstanceServiceGetInstanceProcedure:    {access.SystemInstanceRead, Instance},
	c.InstanceServiceListInstancesProcedure:  {access.SystemInstanceRead, Instance},
	c.InstanceServiceUpdateInstanceProcedure: {access.SystemInstanceWrite, Instance},
	c.InstanceServiceGetMyInstanceProcedure:  {access.InstanceRead, Instance},

	c.AuditServiceListAuditEventsProcedure: {access.AuditRead, Instance},

	// The nodes serve every instance: like listing instances, reserved for
	// the system instance.
	c.ClusterServiceListNodesProcedure: {access.SystemInstanceRead, Instance},

	c.OrganizationServiceCreateOrganizationProcedure: {access.OrgWrite, Instance},
	c.OrganizationServiceListOrganizationsProcedure:  {access.OrgRead, Instance},
	c.OrganizationServiceGetOrganizationProcedure:    {access.OrgRead, Org},
	c.OrganizationServiceUpdateOrganizationProcedure: {access.OrgWrite, Org},
	c.OrganizationServiceDeleteOrganizationProcedure: {access.OrgWrite, Org},

	c.UserServiceCreateHumanUserProcedure:           {access.UserWrite, Org},
	c.UserServiceCreateMachineUserProcedure:         {access.UserWrite, Org},
	c.UserServiceGetUserProcedure:                   {access.UserRead, Org},
	c.UserServiceListUsersProcedure:                 {access.UserRead, Org},
	c.UserServiceUpdateHumanUserProcedure:           {access.UserWrite, Org},
	c.UserServiceUpdateMachineUserProcedure:         {access.UserWrite, Org},
	c.UserServiceSetUserStateProcedure:              {access.UserWrite, Org},
	c.UserServiceDeleteUserProcedure:                {access.UserWrite, Org},
	c.UserServiceSetPasswordProcedure:               {access.UserCredentialWrite, Org},
	c.UserServiceResetPasswordProcedure:             {access.UserCredentialWrite, Org},
	c.UserServiceGenerateClientSecretProcedure:      {access.UserCredentialWrite, Org},
	c.UserServiceRemoveClientSecretProcedure:        {access.UserCredentialWrite, Org},
	c.UserServiceAddPersonalAccessTokenProcedure:    {access.UserCredentialWrite, Org},
	c.UserServiceListPersonalAccessTokensProcedure:  {access.UserRead, Org},
	c.UserServiceRemovePersonalAccessTokenProcedure: {access.UserCredentialWrite, Org},
	c.UserServiceAddMachineKeyProcedure:             {access.UserCredentialWrite, Org},
	c.UserServiceListMachineKeysProcedure:           {access.UserRead, Org},
	c.UserServiceRemoveMachineKeyProcedure:          {access.UserCredentialWrite, Org},

	// Second factors and lockout are credentials of the user.
	c.UserFactorServiceListUserFactorsProcedure:   {access.UserRead, Org},
	c.UserFactorServiceRemoveUserFactorProcedure:  {access.UserCredentialWrite, Org},
	c.UserFactorServiceUnlockUserProcedure:        {access.UserCredentialWrite, Org},
	c.UserFactorServiceListUserConsentsProcedure:  {access.UserRead, Org},
	c.UserFactorServiceRevokeUserConsentProcedure: {access.UserCredentialWrite, Org},

	// Creating and listing projects acts on the organization: project
	// roles apply to existing projects only.
	c.ProjectServiceCreateProjectProcedure:      {access.ProjectWrite, Org},
	c.ProjectServiceListProjectsProcedure:       {access.ProjectRead, Org},
	c.ProjectServiceGetProjectProcedure:         {access.ProjectRead, OrgProject},
	c.ProjectServiceUpdateProjectProcedure:      {access.ProjectWrite, OrgProject},
	c.ProjectServiceDeleteProjectProcedure:      {access.ProjectWrite, OrgProject},
	c.ProjectServiceAddProjectRoleProcedure:     {access.ProjectWrite, OrgProject},
	c.ProjectServiceListProjectRolesProcedure:   {access.ProjectRead, OrgProject},
	c.ProjectServiceUpdateProjectRoleProcedure:  {access.ProjectWrite, OrgProject},
	c.ProjectServiceRemoveProjectRoleProcedure:  {access.ProjectWrite, OrgProject},
	c.ProjectServiceCreateProjectGrantProcedure: {access.GrantWrite, OrgProject},
	c.ProjectServiceGetProjectGrantProcedure:    {access.GrantRead, OrgProject},
	c.ProjectServiceListProjectGrantsProcedure:  {access.GrantRead, OrgProject},
	c.ProjectServiceUpdateProjectGrantProcedure: {access.GrantWrite, OrgProject},
	c.ProjectServiceDeleteProjectGrantProcedure: {access.GrantWrite, OrgProject},

	c.ApplicationServiceCreateApplicationProcedure:      {access.AppWrite, OrgProject},
	c.ApplicationServiceGetApplicationProcedure:         {access.AppRead, OrgProject},
	c.ApplicationServiceListApplicationsProcedure:       {access.AppRead, OrgProject},
	c.ApplicationServiceUpdateApplicationProcedure:      {access.AppWrite, OrgProject},
	c.ApplicationServiceDeleteApplicationProcedure:      {access.AppWrite, OrgProject},
	c.ApplicationServiceRegenerateClientSecretProcedure: {access.AppWrite, OrgProject},
	c.ApplicationServiceAddApplicationKeyProcedure:      {access.AppWrite, OrgProject},
	c.ApplicationServiceListApplicationKeysProcedure:    {access.AppRead, OrgProject},
	c.ApplicationServiceRemoveApplicationKeyProcedure:   {access.AppWrite, OrgProject},

	// A user grant lives in the user's organization (org_id); creating one
	// and listing by project_id also name the project, so that owners of a
	// project of that organization may grant its roles.
	c.UserGrantServiceCreateUserGrantProcedure: {access.GrantWrite, OrgProject},
	c.UserGrantServiceListUserGrantsProcedure:  {access.GrantRead, OrgProject},
	c.UserGrantServiceGetUserGrantProcedure:    {access.GrantRead, Org},
	c.UserGrantServiceUpdateUserGrantProcedure: {access.GrantWrite, Org},
	c.UserGrantServiceDeleteUserGrantProcedure: {access.GrantWrite, Org},

	// The request's instance's SMTP settings: instance owners change them
	// (and send test e-mails, which costs and can annoy), viewers read.
	c.InstanceSettingsServiceGetSMTPSettingsProcedure:    {access.InstanceRead, Instance},
	c.InstanceSettingsServiceSetSMTPSettingsProcedure:    {access.InstanceWrite, Instance},
	c.InstanceSettingsServiceDeleteSMTPSettingsProcedure: {access.InstanceWrite, Instance},
	c.InstanceSettingsServiceSendTestEmailProcedure:      {access.InstanceWrite, Instance},

	c.MembershipServiceAddMemberProcedure:    {access.MemberWrite, MemberTarget},
	c.MembershipServiceListMembersProcedure:  {access.MemberRead, MemberTarget},
	c.MembershipServiceUpdateMemberProcedure: {access.MemberWrite, MemberTarget},
	c.MembershipServiceRemoveMemberProcedure: {access.MemberWrite, MemberTarget},

	// Policies without org_id are the instance's: org.write on the
	// instance is held by instance owners only, org.read by instance
	// owners and viewers. With org_id they are that organization's
	// override: its owners change it, its viewers read it.
	c.PolicyServiceGetLoginPolicyProcedure:      {access.OrgRead, Org},
	c.PolicyServiceSetLoginPolicyProcedure:      {access.OrgWrite, Org},
	c.PolicyServiceResetLoginPolicyProcedure:    {access.OrgWrite, Org},
	c.PolicyServiceGetPasswordPolicyProcedure:   {access.OrgRead, Org},
	c.PolicyServiceSetPasswordPolicyProcedure:   {access.OrgWrite, Org},
	c.PolicyServiceResetPasswordPolicyProcedure: {access.OrgWrite, Org},
	c.PolicyServiceGetLockoutPolicyProcedure:    {access.OrgRead, Org},
	c.PolicyServiceSetLockoutPolicyProcedure:    {access.OrgWrite, Org},
	c.PolicyServiceResetLockoutPolicyProcedure:  {access.OrgWrite, Org},
	// Branding is an instance setting.
	c.PolicyServiceGetBrandingProcedure:   {access.InstanceRead, Instance},
	c.PolicyServiceSetBrandingProcedure:   {access.InstanceWrite, Instance},
	c.PolicyServiceResetBrandingProcedure: {access.InstanceWrite, Instance},
}

// Target field names.
const (
	fieldOrgID     = "org_id"
	fieldProjectID = "project_id"
	fieldTarget    = "target"
	fieldScope     = "scope"
)

// stringField returns the string field name of m, "" if m has none.
func stringField(m protoreflect.Message, name protoreflect.Name) string {
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return ""
	}
	return m.Get(fd).String()
}

// target extracts the access target of a request message by rule.
func (r Rule) target(msg proto.Message) access.Target {
	m := msg.ProtoReflect()
	switch r.Target {
	case Org:
		return access.Target{OrgID: stringField(m, fieldOrgID)}
	case OrgProject:
		t := access.Target{OrgID: stringField(m, fieldOrgID), ProjectID: stringField(m, fieldProjectID)}
		if t.OrgID == "" {
			t.ProjectID = ""
		}
		return t
	case MemberTarget:
		fd := m.Descriptor().Fields().ByName(fieldTarget)
		if fd == nil || fd.Message() == nil || !m.Has(fd) {
			return access.Target{}
		}
		tm := m.Get(fd).Message()
		sfd := tm.Descriptor().Fields().ByName(fieldScope)
		if sfd == nil || sfd.Kind() != protoreflect.EnumKind {
			return access.Target{}
		}
		switch adminv1.MemberScope(tm.Get(sfd).Enum()) {
		case adminv1.MemberScope_MEMBER_SCOPE_ORGANIZATION:
			return access.Target{OrgID: stringField(tm, fieldOrgID)}
		case adminv1.MemberScope_MEMBER_SCOPE_PROJECT:
			t := access.Target{OrgID: stringField(tm, fieldOrgID), ProjectID: stringField(tm, fieldProjectID)}
			if t.OrgID == "" {
				t.ProjectID = ""
			}
			return t
		}
	}
	return access.Target{}
}

// authzInterceptor checks every call against the rules table.
type authzInterceptor struct {
	rules map[string]Rule
}

func (a *authzInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := a.authorize(ctx, req.Spec().Procedure, req.Any()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// authorize returns nil if the context's principal may call procedure with
// the request message. Procedures missing from the table are denied.
func (a *authzInterceptor) authorize(ctx context.Context, procedure string, msg any) error {
	rule, ok := a.rules[procedure]
	pm, isProto := msg.(proto.Message)
	if !ok || !isProto {
		return fmt.Errorf("admin API: no authorization rule for %s", procedure)
	}
	return access.Check(reqctx.Principal(ctx), rule.Permission, rule.target(pm))
}

func (a *authzInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler refuses every streaming call (see authnInterceptor).
func (a *authzInterceptor) WrapStreamingHandler(connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(context.Context, connect.StreamingHandlerConn) error {
		return connect.NewError(connect.CodeUnimplemented, errors.New("streaming calls are not supported"))
	}
}
