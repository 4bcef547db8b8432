// Package userapi holds the admin API handlers of OrganizationService,
// UserService and UserFactorService: thin conversions between the protobuf
// messages and the org, user and mfa services.
//
// The instance comes from the request context (reqctx.Instance, set by the
// Host middleware), never from a request field; the audit actor from
// reqctx.Actor. Handlers return iam errors; one interceptor turns them into
// Connect codes, and another decides who may call what.
//
// Imports: internal/org, internal/user, internal/mfa, internal/iam,
// internal/reqctx, internal/api/apiutil, the generated API code and connect.
package userapi
