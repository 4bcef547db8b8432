// Package tenant resolves the instance a request is for from its Host
// header, before any handler runs.
//
// Middleware looks the host up (instance.Service.GetByHost: an in-process
// cache with cross-node invalidation when the service is built with
// instance.WithCache, else one indexed query per request) and stores the
// instance in the request context (reqctx.WithInstance). A host no active instance serves
// gets a 404 that never shows another instance's data: JSON for API
// clients, a small HTML page for browsers.
//
// Imports: internal/iam, internal/reqctx and the standard library.
package tenant
