package store

import (
	"errors"

	"github.com/rampartiam/rampart/internal/iam"
)

// DomainError maps a store error to an *iam.Error with a user-safe message
// about what (e.g. "instance"); *iam.Error values pass through unchanged.
// Services call it once, at their boundary.
func DomainError(err error, what string) error {
	var ie *iam.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return err
	case errors.Is(err, ErrNotFound):
		return &iam.Error{Code: iam.NotFound, Message: what + " not found", Err: err}
	case errors.Is(err, ErrAlreadyExists):
		return &iam.Error{Code: iam.AlreadyExists, Message: what + " already exists", Err: err}
	case errors.Is(err, ErrConflict):
		return &iam.Error{Code: iam.Conflict, Message: what + " was changed concurrently; read it again and retry", Err: err}
	case errors.Is(err, ErrUnavailable):
		return &iam.Error{Code: iam.Unavailable, Message: "the database is unavailable; retry later", Err: err}
	}
	return &iam.Error{Code: iam.Internal, Message: "internal error", Err: err}
}
