package api

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// instanceServer implements InstanceService on instance.Service.
type instanceServer struct {
	svc *instance.Service
}

var _ adminv1connect.InstanceServiceHandler = (*instanceServer)(nil)

// NewInstanceServer returns the InstanceService handler.
func NewInstanceServer(svc *instance.Service) adminv1connect.InstanceServiceHandler {
	return &instanceServer{svc: svc}
}

func instanceToProto(in *iam.Instance) *adminv1.Instance {
	state := adminv1.State_STATE_UNSPECIFIED
	switch in.State {
	case iam.InstanceActive:
		state = adminv1.State_STATE_ACTIVE
	case iam.InstanceInactive:
		state = adminv1.State_STATE_INACTIVE
	}
	return &adminv1.Instance{
		Id: in.ID, Name: in.Name, PrimaryDomain: in.PrimaryDomain, AdditionalDomains: in.AdditionalDomains,
		State: state, System: in.System, CreatedAt: apiutil.Timestamp(in.CreatedAt), ChangedAt: apiutil.Timestamp(in.ChangedAt),
		Version: in.Version,
	}
}

// instanceState converts an API state; UNSPECIFIED becomes "".
func instanceState(s adminv1.State) (iam.InstanceState, error) {
	st, err := apiutil.StateFromProto(s, "state")
	return iam.InstanceState(st), err
}

func required(field, value string) error {
	if value == "" {
		return &iam.Error{Code: iam.Invalid, Field: field, Message: "required"}
	}
	return nil
}

// CreateInstance creates a (non-system) instance.
func (s *instanceServer) CreateInstance(ctx context.Context, req *connect.Request[adminv1.CreateInstanceRequest]) (*connect.Response[adminv1.CreateInstanceResponse], error) {
	m := req.Msg
	in, err := s.svc.Create(ctx, reqctx.Actor(ctx), &iam.Instance{
		Name: m.Name, PrimaryDomain: m.PrimaryDomain, AdditionalDomains: m.AdditionalDomains,
		State: iam.InstanceActive, System: false,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.CreateInstanceResponse{Instance: instanceToProto(in)}), nil
}

// GetInstance returns any instance by ID.
func (s *instanceServer) GetInstance(ctx context.Context, req *connect.Request[adminv1.GetInstanceRequest]) (*connect.Response[adminv1.GetInstanceResponse], error) {
	if err := required("instance_id", req.Msg.InstanceId); err != nil {
		return nil, err
	}
	in, err := s.svc.Get(ctx, req.Msg.InstanceId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetInstanceResponse{Instance: instanceToProto(in)}), nil
}

// GetMyInstance returns the request's instance.
func (s *instanceServer) GetMyInstance(ctx context.Context, _ *connect.Request[adminv1.GetMyInstanceRequest]) (*connect.Response[adminv1.GetMyInstanceResponse], error) {
	in := reqctx.Instance(ctx)
	if in == nil {
		return nil, errors.New("admin API: no instance in the request context")
	}
	return connect.NewResponse(&adminv1.GetMyInstanceResponse{Instance: instanceToProto(in)}), nil
}

// ListInstances pages through all instances, ordered by ID.
func (s *instanceServer) ListInstances(ctx context.Context, req *connect.Request[adminv1.ListInstancesRequest]) (*connect.Response[adminv1.ListInstancesResponse], error) {
	size, cur, err := apiutil.Page(req.Msg.PageSize, req.Msg.PageToken)
	if err != nil {
		return nil, err
	}
	state, err := instanceState(req.Msg.State)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.List(ctx, cur.ID, size, state)
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListInstancesResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(in *iam.Instance) apiutil.Cursor { return apiutil.Cursor{ID: in.ID} }),
	}
	for _, in := range list {
		out.Instances = append(out.Instances, instanceToProto(in))
	}
	return connect.NewResponse(out), nil
}

// UpdateInstance replaces name, domains and (unless UNSPECIFIED) state.
func (s *instanceServer) UpdateInstance(ctx context.Context, req *connect.Request[adminv1.UpdateInstanceRequest]) (*connect.Response[adminv1.UpdateInstanceResponse], error) {
	m := req.Msg
	if err := required("instance_id", m.InstanceId); err != nil {
		return nil, err
	}
	state, err := instanceState(m.State)
	if err != nil {
		return nil, err
	}
	in, err := s.svc.Update(ctx, reqctx.Actor(ctx), &iam.Instance{
		ID: m.InstanceId, Version: m.Version, Name: m.Name, PrimaryDomain: m.PrimaryDomain,
		AdditionalDomains: m.AdditionalDomains, State: state,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateInstanceResponse{Instance: instanceToProto(in)}), nil
}
