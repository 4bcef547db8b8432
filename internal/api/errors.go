package api

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/iam"
)

// connectCodes maps domain error codes to Connect codes. iam.Internal and
// codes missing here become CodeInternal with a generic message.
var connectCodes = map[iam.Code]connect.Code{
	iam.Invalid:            connect.CodeInvalidArgument,
	iam.NotFound:           connect.CodeNotFound,
	iam.AlreadyExists:      connect.CodeAlreadyExists,
	iam.Conflict:           connect.CodeAborted,
	iam.FailedPrecondition: connect.CodeFailedPrecondition,
	iam.PermissionDenied:   connect.CodePermissionDenied,
	iam.Unauthenticated:    connect.CodeUnauthenticated,
	iam.Unavailable:        connect.CodeUnavailable,
}

// errorInterceptor translates errors returned by the rest of the chain and
// the handlers. It is the outermost interceptor.
type errorInterceptor struct {
	log       *slog.Logger
	requestID func(context.Context) string
}

func (e *errorInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		if err != nil {
			return nil, e.translate(ctx, req.Spec().Procedure, err)
		}
		return res, nil
	}
}

func (e *errorInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (e *errorInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := next(ctx, conn); err != nil {
			return e.translate(ctx, conn.Spec().Procedure, err)
		}
		return nil
	}
}

// translate returns the Connect error for err: the mapped code and the
// user-safe message of an iam.Error (prefixed with its field), a Connect
// error as it is, the context's own codes for cancellation and timeouts,
// and for anything else a generic internal error whose cause is logged.
func (e *errorInterceptor) translate(ctx context.Context, procedure string, err error) error {
	var ce *connect.Error
	var ie *iam.Error
	switch {
	case errors.As(err, &ie):
		if code, ok := connectCodes[ie.Code]; ok {
			if ie.Code == iam.Unavailable {
				e.log.WarnContext(ctx, "admin API dependency unavailable", "procedure", procedure, "request_id", e.requestID(ctx), "err", err)
			}
			return connect.NewError(code, errors.New(message(ie)))
		}
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("the request was canceled"))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("the request timed out"))
	}
	id := e.requestID(ctx)
	e.log.ErrorContext(ctx, "admin API internal error", "procedure", procedure, "request_id", id, "err", err)
	msg := "internal error"
	if id != "" {
		msg += "; the server log has the details under request ID " + id
	}
	return connect.NewError(connect.CodeInternal, errors.New(msg))
}

// message is the user-safe text of a domain error: the field, if any,
// followed by the message ("login_name: must not be empty"). Messages of
// iam.FieldErrors listing several fields already name them.
func message(e *iam.Error) string {
	if e.Field == "" || strings.HasPrefix(e.Message, e.Field+": ") {
		return e.Message
	}
	return e.Field + ": " + e.Message
}
