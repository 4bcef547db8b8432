package iam

import (
	"errors"
	"fmt"
)

// Code classifies an Error. Transports translate codes once, at their
// boundary: Connect codes on the admin API, RFC 6749 error codes on protocol
// endpoints, fixed friendly messages in the login UI.
type Code string

// The error codes.
const (
	Invalid            Code = "invalid"
	NotFound           Code = "not_found"
	AlreadyExists      Code = "already_exists"
	Conflict           Code = "conflict"
	FailedPrecondition Code = "failed_precondition"
	PermissionDenied   Code = "permission_denied"
	Unauthenticated    Code = "unauthenticated"
	Unavailable        Code = "unavailable"
	Internal           Code = "internal"
)

// Error is a domain error. Message is safe to show to a user; Err is the
// underlying cause for logs and is never shown.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input field for Invalid errors, if one.
	Field string
	Err   error
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, msg)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the given code and a formatted, user-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of the first *Error in err's chain, Internal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }

// FieldErrors collects every invalid field of an input so that a caller
// learns all problems at once. Its zero value is ready to use.
type FieldErrors []*Error

// Add records a problem with field.
func (fe *FieldErrors) Add(field, format string, args ...any) {
	*fe = append(*fe, &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when no problem was recorded, the single *Error when one
// was, and otherwise an Invalid *Error whose message lists all of them and
// whose Field names the first.
func (fe FieldErrors) Err() error {
	switch len(fe) {
	case 0:
		return nil
	case 1:
		return fe[0]
	}
	msg := ""
	for i, e := range fe {
		if i > 0 {
			msg += "; "
		}
		msg += e.Field + ": " + e.Message
	}
	return &Error{Code: Invalid, Field: fe[0].Field, Message: msg}
}
