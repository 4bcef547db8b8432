package iam

import (
	"strings"
	"time"
	"unicode/utf8"
)

// AggregateOrg is the audit aggregate type of organizations.
const AggregateOrg = "org"

// Organization event types.
const (
	EventOrgCreated = "org.created"
	EventOrgChanged = "org.changed"
	EventOrgDeleted = "org.deleted"
)

// MaxOrgNameLength bounds organization names, in characters.
const MaxOrgNameLength = 200

// Organization owns users and projects inside an instance. Its name is
// unique per instance, compared case-insensitively.
type Organization struct {
	ID         string
	InstanceID string
	Name       string
	State      State
	CreatedAt  time.Time
	ChangedAt  time.Time
	// Version increases by one with every change; updates name the version
	// they read (optimistic concurrency).
	Version int64
}

// Normalize trims the name.
func (o *Organization) Normalize() { o.Name = strings.TrimSpace(o.Name) }

// Validate reports every problem of the organization at once.
func (o *Organization) Validate() error {
	var fe FieldErrors
	switch n := utf8.RuneCountInString(o.Name); {
	case strings.TrimSpace(o.Name) == "":
		fe.Add("name", "must not be empty")
	case n > MaxOrgNameLength:
		fe.Add("name", "must be at most %d characters", MaxOrgNameLength)
	case !utf8.ValidString(o.Name):
		fe.Add("name", "must be valid UTF-8")
	}
	if !o.State.Valid() {
		fe.Add("state", "must be %q or %q", StateActive, StateInactive)
	}
	return fe.Err()
}
