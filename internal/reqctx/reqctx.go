// Package reqctx carries per-request values through context: the instance
// the request's Host resolved to, and the authenticated principal. The HTTP
// and API middleware set them; handlers and services read them.
//
// Imports: internal/iam and the standard library.
package reqctx

import (
	"context"

	"github.com/rampartiam/rampart/internal/iam"
)

type instanceKey struct{}

type principalKey struct{}

// WithInstance returns ctx carrying the request's instance.
func WithInstance(ctx context.Context, in *iam.Instance) context.Context {
	return context.WithValue(ctx, instanceKey{}, in)
}

// Instance returns the request's instance, or nil outside a resolved request.
func Instance(ctx context.Context) *iam.Instance {
	in, _ := ctx.Value(instanceKey{}).(*iam.Instance)
	return in
}

// WithPrincipal returns ctx carrying the authenticated caller.
func WithPrincipal(ctx context.Context, p *iam.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// Principal returns the authenticated caller, or nil if none.
func Principal(ctx context.Context) *iam.Principal {
	p, _ := ctx.Value(principalKey{}).(*iam.Principal)
	return p
}

// Actor returns the audit actor of the request: the principal's user ID, or
// iam.SystemActor outside an authenticated request.
func Actor(ctx context.Context) string {
	if p := Principal(ctx); p != nil && p.UserID != "" {
		return p.UserID
	}
	return iam.SystemActor
}
