package store

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Consent is a user's remembered approval of the scopes an application
// asked for (applications with ConsentRequired).
type Consent struct {
	InstanceID string
	UserID     string
	AppID      string
	// Scopes are the approved scopes, sorted, without duplicates.
	Scopes    []string
	GrantedAt time.Time
	ChangedAt time.Time
}

// ConsentQueries store consents. Rows belong to one instance and go with
// their user, application and instance.
type ConsentQueries interface {
	// ConsentGet returns the user's consent for the application, or
	// ErrNotFound.
	ConsentGet(ctx context.Context, p *ConsentGetParams) (*Consent, error)
	// ConsentPut inserts or replaces the user's consent for the
	// application (a replacement keeps GrantedAt and sets ChangedAt).
	// ErrNotFound if the user or the application does not exist in the
	// instance.
	ConsentPut(ctx context.Context, p *ConsentPutParams) error
	// ConsentList returns the consents of the user, by application ID.
	ConsentList(ctx context.Context, p *ConsentListParams) ([]*Consent, error)
	// ConsentDelete deletes the user's consent for the application (every
	// consent of the user when AppID is "") and returns how many.
	ConsentDelete(ctx context.Context, p *ConsentDeleteParams) (int, error)
}

// ConsentGetParams name a consent.
type ConsentGetParams struct {
	InstanceID, UserID, AppID string
}

// ConsentPutParams hold a consent to store; Consent.GrantedAt is the time
// of the change.
type ConsentPutParams struct {
	Consent *Consent
}

// ConsentListParams name a user.
type ConsentListParams struct {
	InstanceID, UserID string
}

// ConsentDeleteParams name the consents to delete.
type ConsentDeleteParams struct {
	InstanceID, UserID string
	// AppID restricts the deletion to one application; "" deletes all.
	AppID string
}

// ConsentScopes is the stored form of a consent's scopes: sorted, without
// duplicates, space-separated (scopes cannot contain spaces).
func ConsentScopes(scopes []string) string {
	s := slices.Clone(scopes)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), " ")
}
