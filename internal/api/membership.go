package api

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// membershipServer implements MembershipService on member.Service, in the
// request's instance.
type membershipServer struct {
	svc *member.Service
}

var _ adminv1connect.MembershipServiceHandler = (*membershipServer)(nil)

// NewMembershipServer returns the MembershipService handler.
func NewMembershipServer(svc *member.Service) adminv1connect.MembershipServiceHandler {
	return &membershipServer{svc: svc}
}

var (
	scopeFromProto = map[adminv1.MemberScope]iam.MemberScope{
		adminv1.MemberScope_MEMBER_SCOPE_INSTANCE:     iam.ScopeInstance,
		adminv1.MemberScope_MEMBER_SCOPE_ORGANIZATION: iam.ScopeOrg,
		adminv1.MemberScope_MEMBER_SCOPE_PROJECT:      iam.ScopeProject,
	}
	roleFromProto = map[adminv1.MemberRole]iam.MemberRole{
		adminv1.MemberRole_MEMBER_ROLE_INSTANCE_OWNER:  iam.RoleInstanceOwner,
		adminv1.MemberRole_MEMBER_ROLE_INSTANCE_VIEWER: iam.RoleInstanceViewer,
		adminv1.MemberRole_MEMBER_ROLE_ORG_OWNER:       iam.RoleOrgOwner,
		adminv1.MemberRole_MEMBER_ROLE_ORG_VIEWER:      iam.RoleOrgViewer,
		adminv1.MemberRole_MEMBER_ROLE_PROJECT_OWNER:   iam.RoleProjectOwner,
		adminv1.MemberRole_MEMBER_ROLE_PROJECT_VIEWER:  iam.RoleProjectViewer,
	}
)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	scopeToProto = invert(scopeFromProto)
	roleToProto  = invert(roleFromProto)
)

// memberTarget converts an API target; an unknown scope becomes "", which
// validation reports as target.scope.
func memberTarget(t *adminv1.MemberTarget) iam.MemberTarget {
	return iam.MemberTarget{Scope: scopeFromProto[t.GetScope()], OrgID: t.GetOrgId(), ProjectID: t.GetProjectId()}
}

func memberRoles(roles []adminv1.MemberRole) ([]iam.MemberRole, error) {
	out := make([]iam.MemberRole, 0, len(roles))
	for _, r := range roles {
		role, ok := roleFromProto[r]
		if !ok {
			return nil, &iam.Error{Code: iam.Invalid, Field: "roles", Message: "unknown role " + r.String()}
		}
		out = append(out, role)
	}
	return out, nil
}

func membershipToProto(m *iam.Membership) *adminv1.Membership {
	out := &adminv1.Membership{
		Target:    &adminv1.MemberTarget{Scope: scopeToProto[m.Scope], OrgId: m.OrgID, ProjectId: m.ProjectID},
		UserId:    m.UserID,
		CreatedAt: apiutil.Timestamp(m.CreatedAt), ChangedAt: apiutil.Timestamp(m.ChangedAt),
		Version: m.Version,
	}
	for _, r := range m.Roles {
		out.Roles = append(out.Roles, roleToProto[r])
	}
	return out
}

func instanceID(ctx context.Context) (string, error) {
	in := reqctx.Instance(ctx)
	if in == nil {
		return "", errors.New("admin API: no instance in the request context")
	}
	return in.ID, nil
}

func newMembership(instance string, t *adminv1.MemberTarget, userID string, roles []adminv1.MemberRole) (*iam.Membership, error) {
	rs, err := memberRoles(roles)
	if err != nil {
		return nil, err
	}
	target := memberTarget(t)
	return &iam.Membership{
		InstanceID: instance, Scope: target.Scope, OrgID: target.OrgID, ProjectID: target.ProjectID,
		UserID: userID, Roles: rs,
	}, nil
}

// AddMember gives a user roles on a target.
func (s *membershipServer) AddMember(ctx context.Context, req *connect.Request[adminv1.AddMemberRequest]) (*connect.Response[adminv1.AddMemberResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m, err := newMembership(instance, req.Msg.Target, req.Msg.UserId, req.Msg.Roles)
	if err != nil {
		return nil, err
	}
	out, err := s.svc.Add(ctx, reqctx.Actor(ctx), m)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.AddMemberResponse{Membership: membershipToProto(out)}), nil
}

// ListMembers pages through the memberships of a target, ordered by
// creation.
func (s *membershipServer) ListMembers(ctx context.Context, req *connect.Request[adminv1.ListMembersRequest]) (*connect.Response[adminv1.ListMembersResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	size, cur, err := apiutil.Page(req.Msg.PageSize, req.Msg.PageToken)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.List(ctx, member.ListParams{
		InstanceID: instance, Target: memberTarget(req.Msg.Target), UserID: req.Msg.UserId, AfterID: cur.ID, Limit: size,
	})
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListMembersResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(m *iam.Membership) apiutil.Cursor { return apiutil.Cursor{ID: m.ID} }),
	}
	for _, m := range list {
		out.Memberships = append(out.Memberships, membershipToProto(m))
	}
	return connect.NewResponse(out), nil
}

// UpdateMember replaces the roles of a membership.
func (s *membershipServer) UpdateMember(ctx context.Context, req *connect.Request[adminv1.UpdateMemberRequest]) (*connect.Response[adminv1.UpdateMemberResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m, err := newMembership(instance, req.Msg.Target, req.Msg.UserId, req.Msg.Roles)
	if err != nil {
		return nil, err
	}
	m.Version = req.Msg.Version
	out, err := s.svc.Update(ctx, reqctx.Actor(ctx), m)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateMemberResponse{Membership: membershipToProto(out)}), nil
}

// RemoveMember deletes a membership.
func (s *membershipServer) RemoveMember(ctx context.Context, req *connect.Request[adminv1.RemoveMemberRequest]) (*connect.Response[adminv1.RemoveMemberResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.Remove(ctx, reqctx.Actor(ctx), instance, memberTarget(req.Msg.Target), req.Msg.UserId); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.RemoveMemberResponse{}), nil
}
