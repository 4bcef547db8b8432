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

// projectServer implements ProjectService in the request's instance.
type projectServer struct {
	svc *project.Service
}

var _ adminv1connect.ProjectServiceHandler = (*projectServer)(nil)

// NewProjectServer returns the ProjectService handler: projects, their
// roles and project grants.
func NewProjectServer(p *project.Service) adminv1connect.ProjectServiceHandler {
	return &projectServer{svc: p}
}

// CreateProject creates a project of an organization.
func (s *projectServer) CreateProject(ctx context.Context, req *connect.Request[adminv1.CreateProjectRequest]) (*connect.Response[adminv1.CreateProjectResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	out, err := s.svc.CreateProject(ctx, reqctx.Actor(ctx), &iam.Project{InstanceID: instance, OrgID: m.OrgId, Name: m.Name, RoleAssertion: m.RoleAssertion})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.CreateProjectResponse{Project: projectToProto(out)}), nil
}

// GetProject returns a project of an organization.
func (s *projectServer) GetProject(ctx context.Context, req *connect.Request[adminv1.GetProjectRequest]) (*connect.Response[adminv1.GetProjectResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.svc.GetProject(ctx, instance, req.Msg.OrgId, req.Msg.ProjectId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetProjectResponse{Project: projectToProto(out)}), nil
}

// ListProjects pages through the projects of an organization by name.
func (s *projectServer) ListProjects(ctx context.Context, req *connect.Request[adminv1.ListProjectsRequest]) (*connect.Response[adminv1.ListProjectsResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	size, cur, pageErr := apiutil.Page(m.PageSize, m.PageToken)
	st, stateErr := state(m.State)
	if err := apiutil.Collect(pageErr, stateErr); err != nil {
		return nil, err
	}
	list, err := s.svc.ListProjects(ctx, project.ListProjectsParams{
		InstanceID: instance, OrgID: m.OrgId, NamePrefix: m.NamePrefix, State: st, AfterKey: cur.Key, AfterID: cur.ID, Limit: size,
	})
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListProjectsResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(p *iam.Project) apiutil.Cursor { return apiutil.Cursor{Key: p.NameKey(), ID: p.ID} }),
	}
	for _, p := range list {
		out.Projects = append(out.Projects, projectToProto(p))
	}
	return connect.NewResponse(out), nil
}

// UpdateProject replaces name, role assertion and (unless UNSPECIFIED) state.
func (s *projectServer) UpdateProject(ctx context.Context, req *connect.Request[adminv1.UpdateProjectRequest]) (*connect.Response[adminv1.UpdateProjectResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	st, err := state(m.State)
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateProject(ctx, reqctx.Actor(ctx), &iam.Project{
		InstanceID: instance, OrgID: m.OrgId, ID: m.ProjectId, Version: m.Version, Name: m.Name, RoleAssertion: m.RoleAssertion, State: st,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateProjectResponse{Project: projectToProto(out)}), nil
}

// DeleteProject deletes a project with everything under it.
func (s *projectServer) DeleteProject(ctx context.Context, req *connect.Request[adminv1.DeleteProjectRequest]) (*connect.Response[adminv1.DeleteProjectResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.DeleteProject(ctx, reqctx.Actor(ctx), instance, req.Msg.OrgId, req.Msg.ProjectId, req.Msg.Version); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.DeleteProjectResponse{}), nil
}

// AddProjectRole adds a role to a project.
func (s *projectServer) AddProjectRole(ctx context.Context, req *connect.Request[adminv1.AddProjectRoleRequest]) (*connect.Response[adminv1.AddProjectRoleResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	out, err := s.svc.AddProjectRole(ctx, reqctx.Actor(ctx), m.OrgId, &iam.ProjectRole{
		InstanceID: instance, ProjectID: m.ProjectId, Key: m.Key, DisplayName: m.DisplayName, Group: m.Group,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.AddProjectRoleResponse{Role: roleToProto(out)}), nil
}

// ListProjectRoles pages through the roles of a project by key.
func (s *projectServer) ListProjectRoles(ctx context.Context, req *connect.Request[adminv1.ListProjectRolesRequest]) (*connect.Response[adminv1.ListProjectRolesResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	size, cur, err := apiutil.Page(m.PageSize, m.PageToken)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.ListProjectRoles(ctx, project.ListProjectRolesParams{
		InstanceID: instance, OrgID: m.OrgId, ProjectID: m.ProjectId, KeyPrefix: m.KeyPrefix, AfterKey: cur.ID, Limit: size,
	})
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListProjectRolesResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(r *iam.ProjectRole) apiutil.Cursor { return apiutil.Cursor{ID: r.Key} }),
	}
	for _, r := range list {
		out.Roles = append(out.Roles, roleToProto(r))
	}
	return connect.NewResponse(out), nil
}

// UpdateProjectRole replaces display name and group of a role.
func (s *projectServer) UpdateProjectRole(ctx context.Context, req *connect.Request[adminv1.UpdateProjectRoleRequest]) (*connect.Response[adminv1.UpdateProjectRoleResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	out, err := s.svc.UpdateProjectRole(ctx, reqctx.Actor(ctx), m.OrgId, &iam.ProjectRole{
		InstanceID: instance, ProjectID: m.ProjectId, Key: m.Key, Version: m.Version, DisplayName: m.DisplayName, Group: m.Group,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateProjectRoleResponse{Role: roleToProto(out)}), nil
}

// RemoveProjectRole removes a role from the project and from every grant.
func (s *projectServer) RemoveProjectRole(ctx context.Context, req *connect.Request[adminv1.RemoveProjectRoleRequest]) (*connect.Response[adminv1.RemoveProjectRoleResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.RemoveProjectRole(ctx, reqctx.Actor(ctx), instance, req.Msg.OrgId, req.Msg.ProjectId, req.Msg.Key); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.RemoveProjectRoleResponse{}), nil
}

// CreateProjectGrant grants a project to another organization.
func (s *projectServer) CreateProjectGrant(ctx context.Context, req *connect.Request[adminv1.CreateProjectGrantRequest]) (*connect.Response[adminv1.CreateProjectGrantResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	out, err := s.svc.CreateProjectGrant(ctx, reqctx.Actor(ctx), &iam.ProjectGrant{
		InstanceID: instance, OrgID: m.OrgId, ProjectID: m.ProjectId, GrantedOrgID: m.GrantedOrgId, RoleKeys: m.RoleKeys,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.CreateProjectGrantResponse{ProjectGrant: projectGrantToProto(out)}), nil
}

// GetProjectGrant returns a grant of a project.
func (s *projectServer) GetProjectGrant(ctx context.Context, req *connect.Request[adminv1.GetProjectGrantRequest]) (*connect.Response[adminv1.GetProjectGrantResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.svc.GetProjectGrant(ctx, instance, req.Msg.OrgId, req.Msg.ProjectId, req.Msg.GrantId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetProjectGrantResponse{ProjectGrant: projectGrantToProto(out)}), nil
}

// ListProjectGrants pages through the grants of a project.
func (s *projectServer) ListProjectGrants(ctx context.Context, req *connect.Request[adminv1.ListProjectGrantsRequest]) (*connect.Response[adminv1.ListProjectGrantsResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	size, cur, err := apiutil.Page(m.PageSize, m.PageToken)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.ListProjectGrants(ctx, project.ListProjectGrantsParams{
		InstanceID: instance, OrgID: m.OrgId, ProjectID: m.ProjectId, AfterID: cur.ID, Limit: size,
	})
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListProjectGrantsResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(g *iam.ProjectGrant) apiutil.Cursor { return apiutil.Cursor{ID: g.ID} }),
	}
	for _, g := range list {
		out.ProjectGrants = append(out.ProjectGrants, projectGrantToProto(g))
	}
	return connect.NewResponse(out), nil
}

// UpdateProjectGrant replaces the roles and (unless UNSPECIFIED) the state
// of a project grant.
func (s *projectServer) UpdateProjectGrant(ctx context.Context, req *connect.Request[adminv1.UpdateProjectGrantRequest]) (*connect.Response[adminv1.UpdateProjectGrantResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	st, err := state(m.State)
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateProjectGrant(ctx, reqctx.Actor(ctx), &iam.ProjectGrant{
		InstanceID: instance, OrgID: m.OrgId, ProjectID: m.ProjectId, ID: m.GrantId, Version: m.Version, RoleKeys: m.RoleKeys, State: st,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateProjectGrantResponse{ProjectGrant: projectGrantToProto(out)}), nil
}

// DeleteProjectGrant deletes a project grant and the user grants made under
// it.
func (s *projectServer) DeleteProjectGrant(ctx context.Context, req *connect.Request[adminv1.DeleteProjectGrantRequest]) (*connect.Response[adminv1.DeleteProjectGrantResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := s.svc.DeleteProjectGrant(ctx, reqctx.Actor(ctx), instance, m.OrgId, m.ProjectId, m.GrantId, m.Version); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.DeleteProjectGrantResponse{}), nil
}
