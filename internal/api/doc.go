// Package api assembles the admin API: every ConnectRPC service of
// proto/rampart/admin/v1 (Connect, gRPC and gRPC-Web, binary or JSON) on
// one handler, behind three interceptors, in this order:
//
//  1. errors: iam.Error values become Connect errors with the matching code
//     and a message naming the field ("login_name: must not be empty");
//     anything else is logged with the request ID and answered with a
//     generic internal error, never its text.
//  2. authentication: "Authorization: Bearer <personal access token>" of a
//     user of the request's instance (resolved from the Host by
//     internal/tenant before the API runs) → iam.Principal with the user's
//     memberships, in the context (reqctx.WithPrincipal). Two database
//     round trips: the token with its user, then the memberships.
//  3. authorization: one declarative table, Rules, maps every procedure to
//     the permission it needs and where its target (organization, project)
//     is in the request; internal/access decides.
//
// Routes (each a path prefix; methods are POST /<service>/<method>):
//
//	/rampart.admin.v1.InstanceService/      instances (this package)
//	/rampart.admin.v1.AuditService/         audit log (this package)
//	/rampart.admin.v1.MembershipService/    memberships (this package)
//	/rampart.admin.v1.OrganizationService/  Options.Organizations
//	/rampart.admin.v1.UserService/          Options.Users
//	/rampart.admin.v1.ProjectService/       Options.Projects
//	/rampart.admin.v1.ApplicationService/   Options.Applications
//	/rampart.admin.v1.UserGrantService/     Options.UserGrants
//	/rampart.admin.v1.ClusterService/       Options.Cluster (node registry)
//	/rampart.admin.v1.InstanceSettingsService/  Options.Settings (SMTP)
//
// Handlers are thin: proto ↔ domain conversion, then a service call. The
// instance always comes from the request context, never from a request
// field; the audit actor from reqctx.Actor.
//
// Imports: the generated API code, connect, protobuf, internal/access,
// internal/api/apiutil, internal/cluster (node registry types),
// internal/iam, internal/instance, internal/member, internal/reqctx,
// internal/store (parameter types of the audit log) and the standard
// library.
package api
