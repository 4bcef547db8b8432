package userapi

import (
	"context"
	"errors"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// instanceID returns the request's instance ID; a request without one
// never got past the Host middleware, so its absence is a wiring bug.
func instanceID(ctx context.Context) (string, error) {
	in := reqctx.Instance(ctx)
	if in == nil || in.ID == "" {
		return "", &iam.Error{Code: iam.Internal, Message: "internal error", Err: errors.New("userapi: no instance in the request context")}
	}
	return in.ID, nil
}

// required reports every empty field of pairs (field, value, field, value…).
func required(pairs ...string) error {
	var fe iam.FieldErrors
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			fe.Add(pairs[i], "required")
		}
	}
	return fe.Err()
}
