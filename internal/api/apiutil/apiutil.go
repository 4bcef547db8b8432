// Package apiutil holds the small conversions every admin API handler
// shares: page tokens, page sizes, states and timestamps.
//
// Imports: internal/iam, the generated API types, protobuf and the standard
// library.
package apiutil

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/iam"
)

// DefaultPageSize applies when a List request leaves page_size at 0.
const DefaultPageSize = 100

// MaxPageSize bounds page_size.
const MaxPageSize = 1000

// PageSize validates a requested page size: 0 means DefaultPageSize.
func PageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, &iam.Error{Code: iam.Invalid, Field: "page_size", Message: "must be between 0 and 1000"}
	}
	return int(n), nil
}

// Collect gathers the Invalid *iam.Error values among errs into one error
// listing every problem, so a caller learns them all at once; any other
// non-nil error is returned as is. nil when all are nil.
func Collect(errs ...error) error {
	var fe iam.FieldErrors
	for _, err := range errs {
		var e *iam.Error
		switch {
		case err == nil:
		case errors.As(err, &e) && e.Code == iam.Invalid:
			fe = append(fe, e)
		default:
			return err
		}
	}
	return fe.Err()
}

// Page converts a List request's page_size and page_token, reporting both
// problems at once.
func Page(size int32, token string) (int, Cursor, error) {
	n, sizeErr := PageSize(size)
	cur, curErr := DecodePageToken(token)
	return n, cur, Collect(sizeErr, curErr)
}

// Cursor is the position after the last item of a page: the sort key of
// that item (empty when the list is ordered by ID) and its ID.
type Cursor struct {
	Key string `json:"k,omitempty"`
	ID  string `json:"i"`
}

// EncodePageToken returns the opaque next_page_token for a cursor.
func EncodePageToken(c Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodePageToken parses a page_token; "" is the first page.
func DecodePageToken(token string) (Cursor, error) {
	var c Cursor
	if token == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return Cursor{}, &iam.Error{Code: iam.Invalid, Field: "page_token", Message: "not a page token from a previous response"}
	}
	return c, nil
}

// NextPageToken returns the token for the page after items, or "" when the
// page was not full (the last page). cursor maps the last item to its cursor.
func NextPageToken[T any](items []T, pageSize int, cursor func(T) Cursor) string {
	if len(items) < pageSize || len(items) == 0 {
		return ""
	}
	return EncodePageToken(cursor(items[len(items)-1]))
}

// StateToProto converts a domain state.
func StateToProto(s iam.State) adminv1.State {
	switch s {
	case iam.StateActive:
		return adminv1.State_STATE_ACTIVE
	case iam.StateInactive:
		return adminv1.State_STATE_INACTIVE
	}
	return adminv1.State_STATE_UNSPECIFIED
}

// StateFromProto converts an API state; UNSPECIFIED becomes "" (callers
// decide whether that means "no filter" or "keep").
func StateFromProto(s adminv1.State, field string) (iam.State, error) {
	switch s {
	case adminv1.State_STATE_UNSPECIFIED:
		return "", nil
	case adminv1.State_STATE_ACTIVE:
		return iam.StateActive, nil
	case adminv1.State_STATE_INACTIVE:
		return iam.StateInactive, nil
	}
	return "", &iam.Error{Code: iam.Invalid, Field: field, Message: "unknown state"}
}

// Timestamp converts a time; the zero time becomes nil.
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Time converts an optional timestamp; nil becomes the zero time.
func Time(ts *timestamppb.Timestamp, field string) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, &iam.Error{Code: iam.Invalid, Field: field, Message: "not a valid timestamp"}
	}
	return ts.AsTime(), nil
}
