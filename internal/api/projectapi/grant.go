package projectapi

import (
	"context"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// userGrantServer implements UserGrantService in the request's instance.
type userGrantServer struct {
	svc *project.Service
}

var _ adminv1connect.UserGrantServiceHandler = (*userGrantServer)(nil)

// NewUserGrantServer returns the UserGrantService handler.
func NewUserGrantServer(p *project.Service) adminv1connect.UserGrantServiceHandler {
	return &userGrantServer{svc: p}
}

// CreateUserGrant gives a user roles of a project.
func (s *userGrantServer) CreateUserGrant(ctx context.Context, req *connect.Request[adminv1.CreateUserGrantRequest]) (*connect.Response[adminv1.CreateUserGrantResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	out, err := s.svc.CreateUserGrant(ctx, reqctx.Actor(ctx), &iam.UserGrant{
		InstanceID: instance, OrgID: m.OrgId, UserID: m.UserId, ProjectID: m.ProjectId, RoleKeys: m.RoleKeys,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.CreateUserGrantResponse{UserGrant: userGrantToProto(out)}), nil
}

// GetUserGrant returns a user grant of an organization.
func (s *userGrantServer) GetUserGrant(ctx context.Context, req *connect.Request[adminv1.GetUserGrantRequest]) (*connect.Response[adminv1.GetUserGrantResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.svc.GetUserGrant(ctx, instance, req.Msg.OrgId, req.Msg.GrantId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetUserGrantResponse{UserGrant: userGrantToProto(out)}), nil
}

// ListUserGrants pages through the user grants of an organization.
func (s *userGrantServer) ListUserGrants(ctx context.Context, req *connect.Request[adminv1.ListUserGrantsRequest]) (*connect.Response[adminv1.ListUserGrantsResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	size, cur, err := apiutil.Page(m.PageSize, m.PageToken)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.ListUserGrants(ctx, project.ListUserGrantsParams{
		InstanceID: instance, OrgID: m.OrgId, UserID: m.UserId, ProjectID: m.ProjectId, AfterID: cur.ID, Limit: size,
	})
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListUserGrantsResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(g *iam.UserGrant) apiutil.Cursor { return apiutil.Cursor{ID: g.ID} }),
	}
	for _, g := range list {
		out.UserGrants = append(out.UserGrants, userGrantToProto(g))
	}
	return connect.NewResponse(out), nil
}

// UpdateUserGrant replaces the roles and (unless UNSPECIFIED) the state of
// a user grant.
func (s *userGrantServer) UpdateUserGrant(ctx context.Context, req *connect.Request[adminv1.UpdateUserGrantRequest]) (*connect.Response[adminv1.UpdateUserGrantResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	st, err := state(m.State)
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateUserGrant(ctx, reqctx.Actor(ctx), &iam.UserGrant{
		InstanceID: instance, OrgID: m.OrgId, ID: m.GrantId, Version: m.Version, RoleKeys: m.RoleKeys, State: st,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateUserGrantResponse{UserGrant: userGrantToProto(out)}), nil
}

// DeleteUserGrant deletes a user grant.
func (s *userGrantServer) DeleteUserGrant(ctx context.Context, req *connect.Request[adminv1.DeleteUserGrantRequest]) (*connect.Response[adminv1.DeleteUserGrantResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.DeleteUserGrant(ctx, reqctx.Actor(ctx), instance, req.Msg.OrgId, req.Msg.GrantId, req.Msg.Version); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.DeleteUserGrantResponse{}), nil
}
