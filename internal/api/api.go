package api

import (
	"context"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/member"
)

// MaxRequestBytes bounds the size of one request message.
const MaxRequestBytes = 4 << 20

// Options are the admin API's dependencies. Instances, Members, Audit and
// Authenticate are required; a nil handler of another slice is served as
// "unimplemented" (after authentication and authorization).
type Options struct {
	// Instances serves InstanceService.
	Instances *instance.Service
	// Members serves MembershipService and loads the callers' memberships.
	Members *member.Service
	// Audit serves AuditService; the store implements it.
	Audit AuditLog
	// Authenticate verifies personal access tokens
	// (user.Service.AuthenticatePAT).
	Authenticate Authenticator

	Organizations adminv1connect.OrganizationServiceHandler
	Users         adminv1connect.UserServiceHandler
	Projects      adminv1connect.ProjectServiceHandler
	Applications  adminv1connect.ApplicationServiceHandler
	UserGrants    adminv1connect.UserGrantServiceHandler
	// Cluster serves ClusterService (the node registry).
	Cluster NodeLister
	// Policies serves PolicyService (policyapi.NewPolicyServer).
	Policies adminv1connect.PolicyServiceHandler
	// Settings serves InstanceSettingsService
	// (settingsapi.NewInstanceSettingsServer).
	Settings adminv1connect.InstanceSettingsServiceHandler
	// UserFactors serves UserFactorService
	// (userapi.NewUserFactorServer).
	UserFactors adminv1connect.UserFactorServiceHandler

	// Logger receives internal errors with their request ID (default:
	// discard).
	Logger *slog.Logger
	// RequestID returns the request ID of a request context, for logs and
	// internal-error messages (server.RequestID; default: none).
	RequestID func(context.Context) string
}

// Mount registers every admin API service with handle, one path prefix per
// service ("/rampart.admin.v1.UserService/"). The handlers need the
// request's instance in the context: wrap them in tenant.Middleware (or
// pass a handle that does).
func Mount(o Options, handle func(pattern string, h http.Handler)) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RequestID == nil {
		o.RequestID = func(context.Context) string { return "" }
	}
	opts := []connect.HandlerOption{
		connect.WithInterceptors(
			&errorInterceptor{log: o.Logger, requestID: o.RequestID},
			&authnInterceptor{authenticate: o.Authenticate, memberships: o.Members.ListByUser},
			&authzInterceptor{rules: Rules},
		),
		connect.WithReadMaxBytes(MaxRequestBytes),
	}
	orgs, users, projects, apps, grants := o.Organizations, o.Users, o.Projects, o.Applications, o.UserGrants
	if orgs == nil {
		orgs = adminv1connect.UnimplementedOrganizationServiceHandler{}
	}
	if users == nil {
		users = adminv1connect.UnimplementedUserServiceHandler{}
	}
	if projects == nil {
		projects = adminv1connect.UnimplementedProjectServiceHandler{}
	}
	if apps == nil {
		apps = adminv1connect.UnimplementedApplicationServiceHandler{}
	}
	if grants == nil {
		grants = adminv1connect.UnimplementedUserGrantServiceHandler{}
	}
	handle(adminv1connect.NewInstanceServiceHandler(NewInstanceServer(o.Instances), opts...))
	handle(adminv1connect.NewAuditServiceHandler(NewAuditServer(o.Audit), opts...))
	handle(adminv1connect.NewMembershipServiceHandler(NewMembershipServer(o.Members), opts...))
	handle(adminv1connect.NewOrganizationServiceHandler(orgs, opts...))
	handle(adminv1connect.NewUserServiceHandler(users, opts...))
	handle(adminv1connect.NewProjectServiceHandler(projects, opts...))
	handle(adminv1connect.NewApplicationServiceHandler(apps, opts...))
	handle(adminv1connect.NewUserGrantServiceHandler(grants, opts...))
	var clusterHandler adminv1connect.ClusterServiceHandler = adminv1connect.UnimplementedClusterServiceHandler{}
	if o.Cluster != nil {
		clusterHandler = NewClusterServer(o.Cluster)
	}
	handle(adminv1connect.NewClusterServiceHandler(clusterHandler, opts...))
	policies := o.Policies
	if policies == nil {
		policies = adminv1connect.UnimplementedPolicyServiceHandler{}
	}
	handle(adminv1connect.NewPolicyServiceHandler(policies, opts...))
	settings := o.Settings
	if settings == nil {
		settings = adminv1connect.UnimplementedInstanceSettingsServiceHandler{}
	}
	handle(adminv1connect.NewInstanceSettingsServiceHandler(settings, opts...))
	factors := o.UserFactors
	if factors == nil {
		factors = adminv1connect.UnimplementedUserFactorServiceHandler{}
	}
	handle(adminv1connect.NewUserFactorServiceHandler(factors, opts...))
}

// New returns the admin API as one handler (an http.ServeMux with every
// service mounted).
func New(o Options) http.Handler {
	mux := http.NewServeMux()
	Mount(o, mux.Handle)
	return mux
}
