package user

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Options configure a Service.
type Options struct {
	// Secrets hashes client secrets and personal access tokens. Required.
	Secrets *crypto.SecretHasher
	// Passwords hashes and verifies passwords; nil means
	// crypto.DefaultPasswordHasher().
	Passwords *crypto.PasswordHasher
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service manages users and their credentials.
type Service struct {
	store     store.Store
	secrets   *crypto.SecretHasher
	passwords *crypto.PasswordHasher
	now       func() time.Time

	dummyOnce sync.Once
	dummyHash string
}

// New returns a Service. It panics if o.Secrets is nil.
func New(s store.Store, o Options) *Service {
	if o.Secrets == nil {
		panic("user.New: Options.Secrets is required")
	}
	if o.Passwords == nil {
		o.Passwords = crypto.DefaultPasswordHasher()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: s, secrets: o.Secrets, passwords: o.Passwords, now: o.Now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Ref names a user as a request does: its instance, optionally its
// organization ("" accepts any organization of the instance), and its ID.
type Ref struct {
	InstanceID string
	OrgID      string
	ID         string
}

// Password rule: a basic length check until password policies arrive.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// checkPassword returns "" for an acceptable password, else the problem.
func checkPassword(pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return "must be valid UTF-8"
	case n < MinPasswordLength:
		return fmt.Sprintf("must be at least %d characters", MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Sprintf("must be at most %d characters", MaxPasswordLength)
	case strings.TrimFunc(pw, unicode.IsSpace) == "":
		return "must not be only whitespace"
	}
	return ""
}

// MinFixedSecretLength bounds fixed client secrets and tokens given by the
// bootstrap: they must be as hard to guess as generated ones.
const MinFixedSecretLength = 32

// Secret prefixes.
const (
	PATPrefix          = "rpat_"
	ClientSecretPrefix = "rcs_"
)

// maxCredentialLifetime returns the latest expiry allowed for a credential
// created at now.
func maxCredentialExpiry(now time.Time) time.Time { return now.AddDate(10, 0, 0) }

func checkExpiry(fe *iam.FieldErrors, expires, now time.Time) {
	switch {
	case expires.IsZero():
		fe.Add("expires_at", "required")
	case !expires.After(now):
		fe.Add("expires_at", "must be in the future")
	case expires.After(maxCredentialExpiry(now)):
		fe.Add("expires_at", "must be at most 10 years ahead")
	}
}

// canonicalLanguage validates a BCP 47 tag and returns its canonical form.
func canonicalLanguage(fe *iam.FieldErrors, tag string) string {
	if tag == "" {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		fe.Add("preferred_language", "%q is not a BCP 47 language tag such as \"en\" or \"de-CH\"", tag)
		return tag
	}
	return t.String()
}

// errNoInstance reports a call outside a resolved instance: a wiring bug.
var errNoInstance = &iam.Error{Code: iam.Internal, Message: "internal error", Err: errors.New("user: no instance given")}

// get loads the user named by ref in tx; NotFound unless it exists there.
func get(ctx context.Context, q store.Queries, ref Ref) (*iam.User, error) {
	if ref.InstanceID == "" {
		return nil, errNoInstance
	}
	return q.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: ref.InstanceID, OrgID: ref.OrgID, ID: ref.ID})
}

// Get returns the user named by ref.
func (s *Service) Get(ctx context.Context, ref Ref) (*iam.User, error) {
	u, err := get(ctx, s.store, ref)
	if err != nil {
		return nil, store.DomainError(err, "user")
	}
	return u, nil
}

// ListQuery filters and pages a List call.
type ListQuery struct {
	// OrgID restricts the list to one organization; "" lists the whole
	// instance.
	OrgID string
	// LoginNamePrefix keeps users whose login name starts with it
	// (case-insensitive) and orders by login name; else EmailPrefix does
	// the same with e-mail addresses; else the list is ordered by ID.
	LoginNamePrefix string
	EmailPrefix     string
	Type            iam.UserType
	State           iam.UserState
	// AfterKey and AfterID are the cursor: SortKey and ID of the last user
	// of the previous page.
	AfterKey, AfterID string
	Limit             int
}

// SortKey returns the cursor key of u in a list ordered as q orders it.
func (q *ListQuery) SortKey(u *iam.User) string {
	switch {
	case q.LoginNamePrefix != "":
		return strings.ToLower(u.LoginName) // as the store's login_name_norm
	case q.EmailPrefix != "":
		if u.Human != nil {
			return strings.ToLower(u.Human.Email) // as the store's email_norm
		}
	}
	return ""
}

// List returns up to q.Limit users of the instance.
func (s *Service) List(ctx context.Context, instanceID string, q ListQuery) ([]*iam.User, error) {
	if instanceID == "" {
		return nil, errNoInstance
	}
	var fe iam.FieldErrors
	if q.Type != "" && !q.Type.Valid() {
		fe.Add("type", "unknown user type")
	}
	if q.State != "" && !q.State.Valid() {
		fe.Add("state", "unknown user state")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	list, err := s.store.UserList(ctx, &store.UserListParams{
		InstanceID: instanceID, OrgID: q.OrgID, LoginNamePrefix: q.LoginNamePrefix, EmailPrefix: q.EmailPrefix,
		Type: q.Type, State: q.State, AfterKey: q.AfterKey, AfterID: q.AfterID, Limit: q.Limit,
	})
	if err != nil {
		return nil, store.DomainError(err, "users")
	}
	return list, nil
}

// mutate runs fn in a transaction on the user named by ref (loaded in the
// transaction) and maps errors once. fn returns the changed user (or nil
// when nothing changed) and the audit event to append.
func (s *Service) mutate(ctx context.Context, actor string, ref Ref, fn func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error)) (*iam.User, error) {
	var out *iam.User
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		u, err := get(ctx, tx, ref)
		if err != nil {
			return err
		}
		now := s.clock()
		after, ev, err := fn(tx, u, now)
		if err != nil {
			return err
		}
		if after == nil {
			out = u
			return nil
		}
		out = after
		if ev != nil {
			return appendEvent(ctx, tx, actor, after, ev, now)
		}
		return nil
	})
	if err != nil {
		return nil, s.domainError(ctx, err, ref.InstanceID, "", "")
	}
	return out, nil
}

// domainError maps store errors, naming the login name on a collision (or
// the ID, if that is what collided).
func (s *Service) domainError(ctx context.Context, err error, instanceID, id, loginName string) error {
	if !errors.Is(err, store.ErrAlreadyExists) {
		return store.DomainError(err, "user")
	}
	if id != "" {
		if _, gerr := s.store.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: instanceID, ID: id}); gerr == nil {
			return &iam.Error{Code: iam.AlreadyExists, Field: "id", Message: fmt.Sprintf("a user with ID %q already exists", id), Err: err}
		}
	}
	return &iam.Error{Code: iam.AlreadyExists, Field: "login_name",
		Message: fmt.Sprintf("the login name %q is taken in this instance (login names are unique regardless of case)", loginName), Err: err}
}

// event is an audit event to append for a user.
type event struct {
	typ     string
	payload map[string]any
}

func appendEvent(ctx context.Context, tx store.Queries, actor string, u *iam.User, ev *event, now time.Time) error {
	body, err := json.Marshal(ev.payload)
	if err != nil {
		return fmt.Errorf("encode audit payload: %w", err)
	}
	_, err = tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
		InstanceID: u.InstanceID, Actor: actor, AggregateType: iam.AggregateUser, AggregateID: u.ID,
		EventType: ev.typ, Payload: body, Now: now,
	})
	return err
}

// snapshot describes a user for audit payloads: no hashes, only whether a
// password or client secret is set.
func snapshot(u *iam.User) map[string]any {
	m := map[string]any{"org_id": u.OrgID, "type": u.Type, "login_name": u.LoginName, "state": u.State, "version": u.Version}
	if h := u.Human; h != nil {
		m["email"], m["email_verified"] = h.Email, h.EmailVerified
		m["given_name"], m["family_name"], m["preferred_language"] = h.GivenName, h.FamilyName, h.PreferredLanguage
		m["has_password"], m["password_change_required"] = u.PasswordHash != "", h.PasswordChangeRequired
	}
	if mp := u.Machine; mp != nil {
		m["name"], m["description"], m["has_client_secret"] = mp.Name, mp.Description, u.SecretHash != nil
	}
	return m
}

const redacted = "[redacted]"
