package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/reqctx"
)

func TestErrorTranslation(t *testing.T) {
	t.Parallel()
	var fe iam.FieldErrors
	fe.Add("login_name", "must not be empty")
	fe.Add("email", "is not an e-mail address")
	for _, tc := range []struct {
		name   string
		err    error
		code   connect.Code
		msg    string // exact message, or "" to only check the code
		logged bool
	}{
		{"invalid with field", &iam.Error{Code: iam.Invalid, Field: "login_name", Message: "must not be empty"}, connect.CodeInvalidArgument, "login_name: must not be empty", false},
		{"several fields", fe.Err(), connect.CodeInvalidArgument, "login_name: must not be empty; email: is not an e-mail address", false},
		{"wrapped not found", fmt.Errorf("get: %w", &iam.Error{Code: iam.NotFound, Message: "user not found", Err: errors.New("sql: no rows")}), connect.CodeNotFound, "user not found", false},
		{"already exists", iam.Errorf(iam.AlreadyExists, "x"), connect.CodeAlreadyExists, "x", false},
		{"conflict", iam.Errorf(iam.Conflict, "x"), connect.CodeAborted, "x", false},
		{"failed precondition", iam.Errorf(iam.FailedPrecondition, "x"), connect.CodeFailedPrecondition, "x", false},
		{"permission denied", iam.Errorf(iam.PermissionDenied, "x"), connect.CodePermissionDenied, "x", false},
		{"unauthenticated", iam.Errorf(iam.Unauthenticated, "x"), connect.CodeUnauthenticated, "x", false},
		{"unavailable", &iam.Error{Code: iam.Unavailable, Message: "retry later", Err: errors.New("dial tcp 10.0.0.1")}, connect.CodeUnavailable, "retry later", true},
		{"connect error passes", connect.NewError(connect.CodeUnimplemented, errors.New("nope")), connect.CodeUnimplemented, "nope", false},
		{"canceled", context.Canceled, connect.CodeCanceled, "", false},
		{"deadline", fmt.Errorf("q: %w", context.DeadlineExceeded), connect.CodeDeadlineExceeded, "", false},
		{"iam internal", &iam.Error{Code: iam.Internal, Message: "secret internals", Err: errors.New("boom")}, connect.CodeInternal, "internal error; the server log has the details under request ID req-1", true},
		{"plain error", errors.New("pq: relation users does not exist"), connect.CodeInternal, "internal error; the server log has the details under request ID req-1", true},
		{"unknown iam code", &iam.Error{Code: "weird", Message: "secret"}, connect.CodeInternal, "internal error; the server log has the details under request ID req-1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			ei := &errorInterceptor{log: slog.New(slog.NewTextHandler(&buf, nil)), requestID: func(context.Context) string { return "req-1" }}
			got := ei.translate(t.Context(), "/x.Y/Z", tc.err)
			var ce *connect.Error
			if !errors.As(got, &ce) || ce.Code() != tc.code || tc.msg != "" && ce.Message() != tc.msg {
				t.Fatalf("translate(%v) = %v, want %v %q", tc.err, got, tc.code, tc.msg)
			}
			if tc.logged != (buf.Len() > 0) {
				t.Fatalf("logged %q, want logged=%v", buf.String(), tc.logged)
			}
			if tc.logged && (!strings.Contains(buf.String(), "req-1") || !strings.Contains(buf.String(), "/x.Y/Z")) {
				t.Fatalf("log line lacks request ID or procedure: %q", buf.String())
			}
			if tc.code == connect.CodeInternal && (strings.Contains(ce.Message(), "secret") || strings.Contains(ce.Message(), "relation")) {
				t.Fatalf("internal error text leaked: %q", ce.Message())
			}
		})
	}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{
		"Bearer abc":     "abc",
		"bearer  abc ":   "abc",
		"Bearer":         "",
		"Bearer ":        "",
		"Basic abc":      "",
		"abc":            "",
		"Bearer a b":     "",
		"Bearer\tabc":    "",
		"  Bearer xyz  ": "xyz",
	} {
		got, ok := bearer(header)
		if got != want || ok != (want != "") {
			t.Errorf("bearer(%q) = %q, %v; want %q", header, got, ok, want)
		}
	}
}

func TestPrincipalFailuresAreUnauthenticatedOrInternal(t *testing.T) {
	t.Parallel()
	in := &iam.Instance{ID: "inst", System: true}
	ctx := reqctx.WithInstance(t.Context(), in)
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		header string
		user   *iam.User
		err    error
		want   iam.Code
	}{
		{"no instance", t.Context(), "Bearer t", &iam.User{ID: "u", InstanceID: "inst"}, nil, iam.Internal},
		{"unauthenticated passes", ctx, "Bearer t", nil, iam.Errorf(iam.Unauthenticated, "bad"), iam.Unauthenticated},
		{"unavailable passes", ctx, "Bearer t", nil, iam.Errorf(iam.Unavailable, "down"), iam.Unavailable},
		{"other errors are internal", ctx, "Bearer t", nil, iam.Errorf(iam.Invalid, "instance_id: required"), iam.Internal},
		{"user of another instance", ctx, "Bearer t", &iam.User{ID: "u", InstanceID: "other"}, nil, iam.Unauthenticated},
		{"no user", ctx, "Bearer t", nil, nil, iam.Unauthenticated},
		{"ok", ctx, "Bearer t", &iam.User{ID: "u", InstanceID: "inst"}, nil, ""},
	} {
		a := &authnInterceptor{
			authenticate: func(context.Context, string, string) (*iam.User, error) { return tc.user, tc.err },
			memberships: func(_ context.Context, instanceID, userID string) ([]*iam.Membership, error) {
				return []*iam.Membership{{InstanceID: instanceID, UserID: userID}}, nil
			},
		}
		p, err := a.principal(tc.ctx, tc.header)
		if iam.ErrorCode(err) != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if tc.want == "" && (p.UserID != "u" || p.InstanceID != "inst" || !p.SystemInstance || len(p.Memberships) != 1) {
			t.Errorf("%s: principal %+v", tc.name, p)
		}
	}
}
