package store

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/rampartiam/rampart/internal/iam"
)

// OrgQueries store organizations.
type OrgQueries interface {
	// OrgCreate inserts an organization. Returns ErrAlreadyExists if the ID
	// or the case-insensitive name is taken in the instance.
	OrgCreate(ctx context.Context, p *OrgCreateParams) (*iam.Organization, error)
	// OrgGetByID returns ErrNotFound if the instance has no such organization.
	OrgGetByID(ctx context.Context, p *OrgGetByIDParams) (*iam.Organization, error)
	// OrgList returns the instance's organizations matching every set filter,
	// in the order and after the cursor described by OrgListParams, at most
	// Limit of them.
	OrgList(ctx context.Context, p *OrgListParams) ([]*iam.Organization, error)
	// OrgUpdate replaces name and state and increments the version. Returns
	// ErrNotFound for an unknown organization, ErrConflict if the version
	// differs, ErrAlreadyExists if the new name is taken.
	OrgUpdate(ctx context.Context, p *OrgUpdateParams) (*iam.Organization, error)
	// OrgDelete deletes the organization and, through foreign keys, all it
	// owns (users, projects, grants, memberships). Returns ErrNotFound for an
	// unknown organization, ErrConflict if the version differs.
	OrgDelete(ctx context.Context, p *OrgDeleteParams) error
}

// OrgCreateParams holds a new organization: ID, instance, name and state are
// taken from Org, CreatedAt and ChangedAt from Now, Version is set to 1.
type OrgCreateParams struct {
	Org *iam.Organization
	Now time.Time
}

// OrgGetByIDParams selects an organization of one instance.
type OrgGetByIDParams struct {
	InstanceID string
	ID         string
}

// OrgListParams filters and pages the organizations of one instance.
//
// Without NamePrefix the list is ordered by ID and starts after AfterID.
// With NamePrefix (matched case-insensitively against the start of the
// name) it is ordered by (lower-case name, ID) and starts after the cursor
// (AfterKey, AfterID), where AfterKey is the lower-case name of the last
// organization of the previous page.
type OrgListParams struct {
	InstanceID string
	NamePrefix string
	// State filters by state if set.
	State    iam.State
	AfterKey string
	AfterID  string
	Limit    int
}

// OrgUpdateParams replaces name and state of the organization
// (Org.InstanceID, Org.ID) whose current version is Org.Version.
type OrgUpdateParams struct {
	Org *iam.Organization
	Now time.Time
}

// OrgDeleteParams deletes the organization (InstanceID, ID) if its current
// version is Version.
type OrgDeleteParams struct {
	InstanceID string
	ID         string
	Version    int64
}

// PrefixUpper returns the exclusive upper bound of a range scan for strings
// starting with prefix on a bytewise-collated column: the smallest string
// greater than every string with that prefix (UTF-8 byte order is code point
// order). Only a prefix made entirely of U+10FFFF has no such bound; it gets
// prefix followed by U+10FFFF, which misses nothing a real name contains.
func PrefixUpper(prefix string) string {
	for p := prefix; p != ""; {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		switch {
		case r == utf8.MaxRune || r == utf8.RuneError && size == 1:
			continue
		case r == 0xD7FF: // skip the surrogate range, which UTF-8 cannot encode
			return p + string(rune(0xE000))
		}
		return p + string(r+1)
	}
	return prefix + "\U0010FFFF"
}
