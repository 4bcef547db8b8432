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

// applicationServer implements ApplicationService in the request's instance.
type applicationServer struct {
	svc *project.Service
}

var _ adminv1connect.ApplicationServiceHandler = (*applicationServer)(nil)

// NewApplicationServer returns the ApplicationService handler.
func NewApplicationServer(p *project.Service) adminv1connect.ApplicationServiceHandler {
	return &applicationServer{svc: p}
}

// CreateApplication creates an OIDC client and returns its secret once.
func (s *applicationServer) CreateApplication(ctx context.Context, req *connect.Request[adminv1.CreateApplicationRequest]) (*connect.Response[adminv1.CreateApplicationResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	a := &iam.Application{InstanceID: instance, OrgID: m.OrgId, ProjectID: m.ProjectId}
	typ, typeErr := appType(m.Type)
	a.Type = typ
	if err := apiutil.Collect(typeErr, settings(a, m.Settings)); err != nil {
		return nil, err
	}
	out, secret, err := s.svc.CreateApplication(ctx, reqctx.Actor(ctx), a, "")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.CreateApplicationResponse{Application: appToProto(out), ClientSecret: secret}), nil
}

// GetApplication returns an application of a project.
func (s *applicationServer) GetApplication(ctx context.Context, req *connect.Request[adminv1.GetApplicationRequest]) (*connect.Response[adminv1.GetApplicationResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.svc.GetApplication(ctx, instance, req.Msg.OrgId, req.Msg.ProjectId, req.Msg.AppId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetApplicationResponse{Application: appToProto(out)}), nil
}

// ListApplications pages through the applications of a project.
func (s *applicationServer) ListApplications(ctx context.Context, req *connect.Request[adminv1.ListApplicationsRequest]) (*connect.Response[adminv1.ListApplicationsResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	size, cur, err := apiutil.Page(m.PageSize, m.PageToken)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.ListApplications(ctx, project.ListApplicationsParams{
		InstanceID: instance, OrgID: m.OrgId, ProjectID: m.ProjectId, AfterID: cur.ID, Limit: size,
	})
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListApplicationsResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(a *iam.Application) apiutil.Cursor { return apiutil.Cursor{ID: a.ID} }),
	}
	for _, a := range list {
		out.Applications = append(out.Applications, appToProto(a))
	}
	return connect.NewResponse(out), nil
}

// UpdateApplication replaces the settings and (unless UNSPECIFIED) the state
// of an application; settings left empty take the type's defaults.
func (s *applicationServer) UpdateApplication(ctx context.Context, req *connect.Request[adminv1.UpdateApplicationRequest]) (*connect.Response[adminv1.UpdateApplicationResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	a := &iam.Application{InstanceID: instance, OrgID: m.OrgId, ProjectID: m.ProjectId, ID: m.AppId, Version: m.Version}
	st, stateErr := state(m.State)
	a.State = st
	if err := apiutil.Collect(stateErr, settings(a, m.Settings)); err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateApplication(ctx, reqctx.Actor(ctx), a)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateApplicationResponse{Application: appToProto(out)}), nil
}

// DeleteApplication deletes an application.
func (s *applicationServer) DeleteApplication(ctx context.Context, req *connect.Request[adminv1.DeleteApplicationRequest]) (*connect.Response[adminv1.DeleteApplicationResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := s.svc.DeleteApplication(ctx, reqctx.Actor(ctx), instance, m.OrgId, m.ProjectId, m.AppId, m.Version); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.DeleteApplicationResponse{}), nil
}

// RegenerateClientSecret replaces the client secret and returns the new one
// once.
func (s *applicationServer) RegenerateClientSecret(ctx context.Context, req *connect.Request[adminv1.RegenerateClientSecretRequest]) (*connect.Response[adminv1.RegenerateClientSecretResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	out, secret, err := s.svc.RegenerateClientSecret(ctx, reqctx.Actor(ctx), instance, m.OrgId, m.ProjectId, m.AppId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.RegenerateClientSecretResponse{ClientId: out.ClientID, ClientSecret: secret}), nil
}

// AddApplicationKey registers a public key for private_key_jwt.
func (s *applicationServer) AddApplicationKey(ctx context.Context, req *connect.Request[adminv1.AddApplicationKeyRequest]) (*connect.Response[adminv1.AddApplicationKeyResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	exp, err := apiutil.Time(m.ExpiresAt, "expires_at")
	if err != nil {
		return nil, err
	}
	k, err := s.svc.AddApplicationKey(ctx, reqctx.Actor(ctx), instance, m.OrgId, m.ProjectId, m.AppId, m.PublicKeyPem, exp)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.AddApplicationKeyResponse{Key: appKeyToProto(k)}), nil
}

// ListApplicationKeys pages through the public keys of an application.
func (s *applicationServer) ListApplicationKeys(ctx context.Context, req *connect.Request[adminv1.ListApplicationKeysRequest]) (*connect.Response[adminv1.ListApplicationKeysResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	size, cur, err := apiutil.Page(m.PageSize, m.PageToken)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.ListApplicationKeys(ctx, project.ListApplicationKeysParams{
		InstanceID: instance, OrgID: m.OrgId, ProjectID: m.ProjectId, AppID: m.AppId, AfterID: cur.ID, Limit: size,
	})
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListApplicationKeysResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(k *iam.ApplicationKey) apiutil.Cursor { return apiutil.Cursor{ID: k.ID} }),
	}
	for _, k := range list {
		out.Keys = append(out.Keys, appKeyToProto(k))
	}
	return connect.NewResponse(out), nil
}

// RemoveApplicationKey deletes a public key of an application.
func (s *applicationServer) RemoveApplicationKey(ctx context.Context, req *connect.Request[adminv1.RemoveApplicationKeyRequest]) (*connect.Response[adminv1.RemoveApplicationKeyResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := s.svc.RemoveApplicationKey(ctx, reqctx.Actor(ctx), instance, m.OrgId, m.ProjectId, m.AppId, m.KeyId); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.RemoveApplicationKeyResponse{}), nil
}

func appKeyToProto(k *iam.ApplicationKey) *adminv1.ApplicationKey {
	return &adminv1.ApplicationKey{
		Id: k.ID, AppId: k.AppID, PublicKeyPem: k.PublicKeyPEM,
		ExpiresAt: apiutil.Timestamp(k.ExpiresAt), CreatedAt: apiutil.Timestamp(k.CreatedAt),
	}
}
