// Package projectapi implements the admin API's ProjectService (projects,
// roles, project grants), ApplicationService (OIDC clients) and
// UserGrantService on internal/project.
//
// Handlers are thin: they take the instance from the request context
// (reqctx.Instance, set by the tenant middleware from the Host — never from
// a request field) and the audit actor from reqctx.Actor, convert protobuf
// messages to domain values and back, and return the service's iam errors
// for the API's error interceptor to translate. Authorization happens in an
// interceptor before them.
//
// Imports: internal/project, internal/iam, internal/reqctx,
// internal/api/apiutil, the generated API types, connect and protobuf.
package projectapi
