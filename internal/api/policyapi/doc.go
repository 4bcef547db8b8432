// Package policyapi implements the admin API's PolicyService (login,
// password and lockout policies with organization overrides, and the
// instance's branding) on internal/policy.
//
// Handlers are thin: they take the instance from the request context
// (reqctx.Instance, set by the tenant middleware from the Host — never from
// a request field) and the audit actor from reqctx.Actor, convert protobuf
// messages to domain values and back, and return the service's iam errors
// for the API's error interceptor to translate. Authorization happens in an
// interceptor before them: the request's org_id selects the organization's
// override, its absence the instance's policy.
//
// Imports: internal/policy, internal/iam, internal/reqctx,
// internal/api/apiutil, the generated API types, connect and protobuf.
package policyapi
