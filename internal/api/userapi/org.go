package userapi

import (
	"context"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// organizationServer implements OrganizationService on org.Service.
type organizationServer struct {
	svc *org.Service
}

var _ adminv1connect.OrganizationServiceHandler = (*organizationServer)(nil)

// NewOrganizationServer returns the OrganizationService handler.
func NewOrganizationServer(o *org.Service) adminv1connect.OrganizationServiceHandler {
	return &organizationServer{svc: o}
}

func orgToProto(o *iam.Organization) *adminv1.Organization {
	return &adminv1.Organization{
		Id: o.ID, Name: o.Name, State: apiutil.StateToProto(o.State),
		CreatedAt: apiutil.Timestamp(o.CreatedAt), ChangedAt: apiutil.Timestamp(o.ChangedAt), Version: o.Version,
	}
}

// CreateOrganization creates an active organization in the request's
// instance.
func (s *organizationServer) CreateOrganization(ctx context.Context, req *connect.Request[adminv1.CreateOrganizationRequest]) (*connect.Response[adminv1.CreateOrganizationResponse], error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.svc.Create(ctx, reqctx.Actor(ctx), &iam.Organization{InstanceID: inst, Name: req.Msg.Name})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.CreateOrganizationResponse{Organization: orgToProto(o)}), nil
}

// GetOrganization returns an organization of the request's instance.
func (s *organizationServer) GetOrganization(ctx context.Context, req *connect.Request[adminv1.GetOrganizationRequest]) (*connect.Response[adminv1.GetOrganizationResponse], error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	if err := required("org_id", req.Msg.OrgId); err != nil {
		return nil, err
	}
	o, err := s.svc.Get(ctx, inst, req.Msg.OrgId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetOrganizationResponse{Organization: orgToProto(o)}), nil
}

// ListOrganizations pages the organizations of the request's instance.
func (s *organizationServer) ListOrganizations(ctx context.Context, req *connect.Request[adminv1.ListOrganizationsRequest]) (*connect.Response[adminv1.ListOrganizationsResponse], error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	size, cur, err := apiutil.Page(m.PageSize, m.PageToken)
	if err != nil {
		return nil, err
	}
	state, err := apiutil.StateFromProto(m.State, "state")
	if err != nil {
		return nil, err
	}
	q := org.ListQuery{NamePrefix: m.NamePrefix, State: state, AfterKey: cur.Key, AfterID: cur.ID, Limit: size}
	list, err := s.svc.List(ctx, inst, q)
	if err != nil {
		return nil, err
	}
	resp := &adminv1.ListOrganizationsResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(o *iam.Organization) apiutil.Cursor {
			return apiutil.Cursor{Key: q.SortKey(o), ID: o.ID}
		}),
	}
	for _, o := range list {
		resp.Organizations = append(resp.Organizations, orgToProto(o))
	}
	return connect.NewResponse(resp), nil
}

// UpdateOrganization renames an organization and/or changes its state
// (STATE_UNSPECIFIED keeps it).
func (s *organizationServer) UpdateOrganization(ctx context.Context, req *connect.Request[adminv1.UpdateOrganizationRequest]) (*connect.Response[adminv1.UpdateOrganizationResponse], error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := required("org_id", m.OrgId); err != nil {
		return nil, err
	}
	state, err := apiutil.StateFromProto(m.State, "state")
	if err != nil {
		return nil, err
	}
	o, err := s.svc.Update(ctx, reqctx.Actor(ctx), &iam.Organization{InstanceID: inst, ID: m.OrgId, Name: m.Name, State: state, Version: m.Version})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateOrganizationResponse{Organization: orgToProto(o)}), nil
}

// DeleteOrganization deletes an organization with everything it owns.
func (s *organizationServer) DeleteOrganization(ctx context.Context, req *connect.Request[adminv1.DeleteOrganizationRequest]) (*connect.Response[adminv1.DeleteOrganizationResponse], error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	if err := required("org_id", req.Msg.OrgId); err != nil {
		return nil, err
	}
	if err := s.svc.Delete(ctx, reqctx.Actor(ctx), inst, req.Msg.OrgId, req.Msg.Version); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.DeleteOrganizationResponse{}), nil
}
