package api

import (
	"context"
	"errors"
	"strings"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// Authenticator verifies a personal access token of a user of instance
// instanceID and returns the user; any failure (unknown, expired or
// revoked token, inactive user) is an iam.Unauthenticated error. It is
// user.Service.AuthenticatePAT.
type Authenticator func(ctx context.Context, instanceID, token string) (*iam.User, error)

// MembershipLoader returns every membership of a user in an instance. It is
// member.Service.ListByUser.
type MembershipLoader func(ctx context.Context, instanceID, userID string) ([]*iam.Membership, error)

// authnInterceptor authenticates the caller and puts the iam.Principal in
// the context.
type authnInterceptor struct {
	authenticate Authenticator
	memberships  MembershipLoader
}

func unauthenticated(msg string) error {
	return &iam.Error{Code: iam.Unauthenticated, Message: msg}
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// principal authenticates the request: its bearer token must be a
// personal access token of a user of the request's instance.
func (a *authnInterceptor) principal(ctx context.Context, header string) (*iam.Principal, error) {
	in := reqctx.Instance(ctx)
	if in == nil {
		// The tenant middleware did not run: a wiring mistake, not the
		// caller's fault.
		return nil, errors.New("admin API: no instance in the request context")
	}
	if header == "" {
		return nil, unauthenticated(`authentication required: send "Authorization: Bearer <personal access token>"`)
	}
	token, ok := bearer(header)
	if !ok {
		return nil, unauthenticated(`malformed Authorization header: expected "Bearer <personal access token>"`)
	}
	user, err := a.authenticate(ctx, in.ID, token)
	if err != nil {
		if code := iam.ErrorCode(err); code == iam.Unauthenticated || code == iam.Unavailable {
			return nil, err
		}
		return nil, &iam.Error{Code: iam.Internal, Message: "authenticate personal access token", Err: err}
	}
	if user == nil || user.InstanceID != in.ID {
		return nil, unauthenticated("invalid personal access token")
	}
	ms, err := a.memberships(ctx, in.ID, user.ID)
	if err != nil {
		return nil, err
	}
	return &iam.Principal{InstanceID: in.ID, UserID: user.ID, Memberships: ms, SystemInstance: in.System}, nil
}

func (a *authnInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		p, err := a.principal(ctx, req.Header().Get("Authorization"))
		if err != nil {
			return nil, err
		}
		return next(reqctx.WithPrincipal(ctx, p), req)
	}
}

func (a *authnInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler refuses every streaming call: the admin API has
// none, and a stream the table cannot authorize must not run.
func (a *authnInterceptor) WrapStreamingHandler(connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(context.Context, connect.StreamingHandlerConn) error {
		return connect.NewError(connect.CodeUnimplemented, errors.New("streaming calls are not supported"))
	}
}
