package store

import (
	"context"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// UserQueries store human and machine users and their credentials
// (password hashes, client secret hashes, personal access tokens, machine
// keys).
type UserQueries interface {
	// UserCreate inserts a user. Returns ErrAlreadyExists if the ID or the
	// case-insensitive login name is taken in the instance.
	UserCreate(ctx context.Context, p *UserCreateParams) (*iam.User, error)
	// UserCreateMany inserts many users at once, atomically: all or none
	// (ErrAlreadyExists if any ID or login name is taken). It is built for
	// imports of hundreds of thousands of users.
	UserCreateMany(ctx context.Context, p *UserCreateManyParams) error
	// UserGetByID returns ErrNotFound if the instance (or the organization,
	// if given) has no such user.
	UserGetByID(ctx context.Context, p *UserGetByIDParams) (*iam.User, error)
	// UserGetByLoginName returns ErrNotFound if no user of the instance has
	// the login name.
	UserGetByLoginName(ctx context.Context, p *UserGetByLoginNameParams) (*iam.User, error)
	// UserList returns users matching every set filter, in the order and
	// after the cursor described by UserListParams, at most Limit of them.
	UserList(ctx context.Context, p *UserListParams) ([]*iam.User, error)
	// UserUpdate replaces login name, profile and state and increments the
	// version. Returns ErrNotFound, ErrConflict (version differs) or
	// ErrAlreadyExists (login name taken).
	UserUpdate(ctx context.Context, p *UserUpdateParams) (*iam.User, error)
	// UserSetPassword sets the password hash and change-required flag and
	// increments the version. Returns ErrNotFound or ErrConflict.
	UserSetPassword(ctx context.Context, p *UserSetPasswordParams) (*iam.User, error)
	// UserSetSecretHash sets or removes the client secret hash and
	// increments the version. Returns ErrNotFound or ErrConflict.
	UserSetSecretHash(ctx context.Context, p *UserSetSecretHashParams) (*iam.User, error)
	// UserDelete deletes the user with its tokens, keys, grants and
	// memberships. Returns ErrNotFound or ErrConflict.
	UserDelete(ctx context.Context, p *UserDeleteParams) error

	// PersonalAccessTokenCreate inserts a token. Returns ErrAlreadyExists if
	// the ID or hash is taken.
	PersonalAccessTokenCreate(ctx context.Context, p *PersonalAccessTokenCreateParams) (*iam.PersonalAccessToken, error)
	// PersonalAccessTokenGetByHash returns the token with the hash and its
	// user, in one round trip, expired or not. Returns ErrNotFound if the
	// instance has no such token.
	PersonalAccessTokenGetByHash(ctx context.Context, p *PersonalAccessTokenGetByHashParams) (*iam.PersonalAccessToken, *iam.User, error)
	// PersonalAccessTokenList returns a user's tokens ordered by ID after
	// AfterID, at most Limit of them.
	PersonalAccessTokenList(ctx context.Context, p *PersonalAccessTokenListParams) ([]*iam.PersonalAccessToken, error)
	// PersonalAccessTokenDelete returns ErrNotFound if the user has no such
	// token.
	PersonalAccessTokenDelete(ctx context.Context, p *PersonalAccessTokenDeleteParams) error

	// MachineKeyCreate inserts a key. Returns ErrAlreadyExists if the ID is
	// taken.
	MachineKeyCreate(ctx context.Context, p *MachineKeyCreateParams) (*iam.MachineKey, error)
	// MachineKeyGetByID returns ErrNotFound if the instance (or the user, if
	// given) has no such key.
	MachineKeyGetByID(ctx context.Context, p *MachineKeyGetByIDParams) (*iam.MachineKey, error)
	// MachineKeyList returns a user's keys ordered by ID after AfterID, at
	// most Limit of them.
	MachineKeyList(ctx context.Context, p *MachineKeyListParams) ([]*iam.MachineKey, error)
	// MachineKeyDelete returns ErrNotFound if the user has no such key.
	MachineKeyDelete(ctx context.Context, p *MachineKeyDeleteParams) error
}

// UserCreateParams holds a new user: every field of User except the
// timestamps (taken from Now) and Version (set to 1). Login name and e-mail
// are stored with their lower-case forms for lookups.
type UserCreateParams struct {
	User *iam.User
	Now  time.Time
}

// UserCreateManyParams holds users to insert in bulk, as UserCreate would.
type UserCreateManyParams struct {
	Users []*iam.User
	Now   time.Time
}

// UserGetByIDParams selects a user of one instance; if OrgID is set, only a
// user of that organization.
type UserGetByIDParams struct {
	InstanceID string
	OrgID      string
	ID         string
}

// UserGetByLoginNameParams selects a user by login name, compared
// case-insensitively.
type UserGetByLoginNameParams struct {
	InstanceID string
	LoginName  string
}

// UserListParams filters and pages the users of one instance.
//
// With LoginNamePrefix (case-insensitive) the list is ordered by (lower-case
// login name, ID) and AfterKey is the lower-case login name of the last user
// of the previous page; else with EmailPrefix it is ordered by (lower-case
// e-mail, ID) and AfterKey is the lower-case e-mail; else it is ordered by ID.
// The list starts after (AfterKey, AfterID), or after AfterID when ordered
// by ID.
type UserListParams struct {
	InstanceID string
	// OrgID restricts the list to one organization if set.
	OrgID           string
	LoginNamePrefix string
	EmailPrefix     string
	Type            iam.UserType
	State           iam.UserState
	AfterKey        string
	AfterID         string
	Limit           int
}

// UserUpdateParams replaces login name, profile (human or machine fields,
// by User.Type) and state of the user (User.InstanceID, User.ID) whose
// current version is User.Version. Type, organization, password and secret
// are left as they are.
type UserUpdateParams struct {
	User *iam.User
	Now  time.Time
}

// UserSetPasswordParams sets a user's password hash and change-required flag.
// Version, if not 0, must be the user's current version.
type UserSetPasswordParams struct {
	InstanceID     string
	ID             string
	Hash           string
	ChangeRequired bool
	Version        int64
	Now            time.Time
}

// UserSetSecretHashParams sets (or, with a nil Hash, removes) a user's client
// secret hash. Version, if not 0, must be the user's current version.
type UserSetSecretHashParams struct {
	InstanceID string
	ID         string
	Hash       []byte
	Version    int64
	Now        time.Time
}

// UserDeleteParams deletes the user (InstanceID, ID) if its current version
// is Version.
type UserDeleteParams struct {
	InstanceID string
	ID         string
	Version    int64
}

// PersonalAccessTokenCreateParams holds a new token: every field of Token
// except CreatedAt, taken from Now.
type PersonalAccessTokenCreateParams struct {
	Token *iam.PersonalAccessToken
	Now   time.Time
}

// PersonalAccessTokenGetByHashParams selects a token by its hash.
type PersonalAccessTokenGetByHashParams struct {
	InstanceID string
	Hash       []byte
}

// PersonalAccessTokenListParams pages the tokens of one user, by ID.
type PersonalAccessTokenListParams struct {
	InstanceID string
	UserID     string
	AfterID    string
	Limit      int
}

// PersonalAccessTokenDeleteParams deletes a token of one user.
type PersonalAccessTokenDeleteParams struct {
	InstanceID string
	UserID     string
	ID         string
}

// MachineKeyCreateParams holds a new machine key: every field of Key except
// CreatedAt, taken from Now.
type MachineKeyCreateParams struct {
	Key *iam.MachineKey
	Now time.Time
}

// MachineKeyGetByIDParams selects a machine key; if UserID is set, only a
// key of that user.
type MachineKeyGetByIDParams struct {
	InstanceID string
	UserID     string
	ID         string
}

// MachineKeyListParams pages the keys of one user, by ID.
type MachineKeyListParams struct {
	InstanceID string
	UserID     string
	AfterID    string
	Limit      int
}

// MachineKeyDeleteParams deletes a key of one user.
type MachineKeyDeleteParams struct {
	InstanceID string
	UserID     string
	ID         string
}
