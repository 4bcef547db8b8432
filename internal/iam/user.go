package iam

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AggregateUser is the audit aggregate type of users and their credentials.
const AggregateUser = "user"

// User event types.
const (
	EventUserCreated             = "user.created"
	EventUserChanged             = "user.changed"
	EventUserStateChanged        = "user.state_changed"
	EventUserDeleted             = "user.deleted"
	EventUserPasswordSet         = "user.password_set"
	EventUserClientSecretSet     = "user.client_secret_set"
	EventUserClientSecretRemoved = "user.client_secret_removed"
	EventUserPATAdded            = "user.pat_added"
	EventUserPATRemoved          = "user.pat_removed"
	EventUserKeyAdded            = "user.key_added"
	EventUserKeyRemoved          = "user.key_removed"
)

// UserType tells human from machine users.
type UserType string

// User types.
const (
	UserHuman   UserType = "human"
	UserMachine UserType = "machine"
)

// Valid reports whether t is a known type.
func (t UserType) Valid() bool { return t == UserHuman || t == UserMachine }

// UserState is the lifecycle state of a user. Only active users may
// authenticate.
type UserState string

// User states.
const (
	UserActive   UserState = "active"
	UserInactive UserState = "inactive"
	UserLocked   UserState = "locked"
)

// Valid reports whether s is a known state.
func (s UserState) Valid() bool { return s == UserActive || s == UserInactive || s == UserLocked }

// Limits of user fields, in characters.
const (
	MaxLoginNameLength   = 200
	MaxUserNameLength    = 200
	MaxEmailLength       = 254
	MaxDescriptionLength = 1000
)

// User is a human or machine user of an organization. Login names are
// unique per instance, compared case-insensitively.
type User struct {
	ID         string
	InstanceID string
	OrgID      string
	Type       UserType
	LoginName  string
	State      UserState
	// Human is set for human users, Machine for machine users.
	Human   *HumanProfile
	Machine *MachineProfile
	// PasswordHash is a PHC-encoded password hash ("" when none is set).
	PasswordHash string
	// SecretHash is the keyed hash of a machine user's client secret (nil
	// when none is set).
	SecretHash []byte
	CreatedAt  time.Time
	ChangedAt  time.Time
	// Version increases by one with every change; updates name the version
	// they read (optimistic concurrency).
	Version int64
}

// HumanProfile holds the profile of a human user.
type HumanProfile struct {
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	// PreferredLanguage is "" or a BCP 47 tag.
	PreferredLanguage      string
	PasswordChangeRequired bool
}

// MachineProfile holds the profile of a machine user.
type MachineProfile struct {
	Name        string
	Description string
}

// Clone returns a deep copy of u.
func (u *User) Clone() *User {
	c := *u
	if u.Human != nil {
		h := *u.Human
		c.Human = &h
	}
	if u.Machine != nil {
		m := *u.Machine
		c.Machine = &m
	}
	if u.SecretHash != nil {
		c.SecretHash = append([]byte(nil), u.SecretHash...)
	}
	return &c
}

// Normalize trims login name, e-mail, names and language tag.
func (u *User) Normalize() {
	u.LoginName = strings.TrimSpace(u.LoginName)
	if h := u.Human; h != nil {
		h.Email = strings.TrimSpace(h.Email)
		h.GivenName = strings.TrimSpace(h.GivenName)
		h.FamilyName = strings.TrimSpace(h.FamilyName)
		h.PreferredLanguage = strings.TrimSpace(h.PreferredLanguage)
	}
	if m := u.Machine; m != nil {
		m.Name = strings.TrimSpace(m.Name)
		m.Description = strings.TrimSpace(m.Description)
	}
}

// Validate reports every problem of the user at once, with the field names
// of the admin API. It does not check the syntax of the preferred language
// tag (that needs a BCP 47 parser; services check it).
func (u *User) Validate() error { return u.Problems().Err() }

// Problems lists every problem Validate reports, for callers that add
// checks of their own before reporting them all at once.
func (u *User) Problems() FieldErrors {
	var fe FieldErrors
	if p := ValidateLoginName(u.LoginName); p != "" {
		fe.Add("login_name", "%s", p)
	}
	if !u.State.Valid() {
		fe.Add("state", "must be %q, %q or %q", UserActive, UserInactive, UserLocked)
	}
	switch u.Type {
	case UserHuman:
		if u.Human == nil || u.Machine != nil {
			fe.Add("type", "a human user has a human profile only")
			break
		}
		h := u.Human
		if p := ValidateEmail(h.Email); p != "" {
			fe.Add("email", "%s", p)
		}
		checkText(&fe, "given_name", h.GivenName, MaxUserNameLength)
		checkText(&fe, "family_name", h.FamilyName, MaxUserNameLength)
		if len(h.PreferredLanguage) > 35 {
			fe.Add("preferred_language", "must be a BCP 47 language tag such as \"en\" or \"de-CH\"")
		}
	case UserMachine:
		if u.Machine == nil || u.Human != nil {
			fe.Add("type", "a machine user has a machine profile only")
			break
		}
		if u.Machine.Name == "" {
			fe.Add("name", "must not be empty")
		}
		checkText(&fe, "name", u.Machine.Name, MaxUserNameLength)
		checkText(&fe, "description", u.Machine.Description, MaxDescriptionLength)
	default:
		fe.Add("type", "must be %q or %q", UserHuman, UserMachine)
	}
	return fe
}

func checkText(fe *FieldErrors, field, s string, max int) {
	switch {
	case !utf8.ValidString(s):
		fe.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		fe.Add(field, "must be at most %d characters", max)
	case strings.ContainsFunc(s, unicode.IsControl):
		fe.Add(field, "must not contain control characters")
	}
}

// ValidateLoginName returns "" when name is a valid login name, else a
// user-safe description of the problem: 1 to 200 characters of valid UTF-8
// without whitespace or control characters.
func ValidateLoginName(name string) string {
	switch {
	case name == "":
		return "must not be empty"
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(name) > MaxLoginNameLength:
		return "must be at most 200 characters"
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "must not contain spaces or control characters"
	}
	return ""
}

// ValidateEmail returns "" when addr is a bare e-mail address (RFC 5322
// addr-spec, no display name or angle brackets), else a user-safe
// description of the problem.
func ValidateEmail(addr string) string {
	if addr == "" {
		return "required for human users"
	}
	if len(addr) > MaxEmailLength {
		return "must be at most 254 characters"
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr || !strings.Contains(addr, "@") {
		return "must be an e-mail address like name@example.com (without display name)"
	}
	return ""
}

// PersonalAccessToken is a bearer token of a user for the admin API. Only
// its keyed hash is stored.
type PersonalAccessToken struct {
	ID         string
	InstanceID string
	UserID     string
	TokenHash  []byte
	ExpiresAt  time.Time
	CreatedAt  time.Time
}

// MachineKey is a public key a machine user signs JWT assertions with
// (RFC 7523).
type MachineKey struct {
	ID           string
	InstanceID   string
	UserID       string
	PublicKeyPEM string
	ExpiresAt    time.Time
	CreatedAt    time.Time
}
