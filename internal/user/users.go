package user

import (
	"context"
	"errors"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/store"
)

// NewHuman describes a human user to create.
type NewHuman struct {
	// ID is a fixed ID for the declarative bootstrap; "" generates one.
	ID         string
	InstanceID string
	OrgID      string
	LoginName  string
	// Profile holds e-mail, names, language and PasswordChangeRequired.
	Profile iam.HumanProfile
	// Password is an optional initial password, checked against the
	// password rule and hashed.
	Password string
	// PasswordHash is an optional pre-hashed password (Argon2id or bcrypt
	// PHC string) for the declarative bootstrap and imports; it excludes
	// Password. The admin API never sets it.
	PasswordHash string
	// State defaults to active.
	State iam.UserState
}

// NewMachine describes a machine user to create.
type NewMachine struct {
	// ID is a fixed ID for the declarative bootstrap; "" generates one.
	ID         string
	InstanceID string
	OrgID      string
	// LoginName is also the client ID of client_credentials.
	LoginName string
	// Profile.Name defaults to the login name.
	Profile iam.MachineProfile
	// ClientSecret is an optional fixed client secret (at least 32
	// characters) for the declarative bootstrap; the admin API never sets
	// it and uses GenerateClientSecret instead.
	ClientSecret string
	// State defaults to active.
	State iam.UserState
}

// CreateHuman validates and stores a new human user with its
// "user.created" audit event. The organization must exist in the instance
// (NotFound otherwise); a login name taken in the instance, in any case, is
// AlreadyExists.
func (s *Service) CreateHuman(ctx context.Context, actor string, in *NewHuman) (*iam.User, error) {
	if in.InstanceID == "" {
		return nil, errNoInstance
	}
	profile := in.Profile
	u := &iam.User{
		ID: in.ID, InstanceID: in.InstanceID, OrgID: in.OrgID, Type: iam.UserHuman, LoginName: in.LoginName,
		State: in.State, Human: &profile,
	}
	if u.ID == "" {
		u.ID = iam.NewID()
	}
	if u.State == "" {
		u.State = iam.UserActive
	}
	u.Normalize()
	fe := u.Problems()
	profile.PreferredLanguage = canonicalLanguage(&fe, profile.PreferredLanguage)
	switch {
	case in.Password != "" && in.PasswordHash != "":
		fe.Add("password", "give a password or a password hash, not both")
	case in.Password != "":
		if p := checkPassword(in.Password); p != "" {
			fe.Add("password", "%s", p)
		}
	case in.PasswordHash != "":
		if !crypto.IsPasswordHash(in.PasswordHash) {
			fe.Add("password_hash", "must be an Argon2id ($argon2id$…) or bcrypt ($2a$, $2b$, $2y$) hash")
		}
		u.PasswordHash = in.PasswordHash
	}
	if in.Password == "" && in.PasswordHash == "" {
		profile.PasswordChangeRequired = false
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if in.Password != "" {
		h, err := s.passwords.Hash(in.Password)
		if err != nil {
			return nil, &iam.Error{Code: iam.Internal, Message: "internal error", Err: err}
		}
		u.PasswordHash = h
	}
	return s.create(ctx, actor, u)
}

// CreateMachine validates and stores a new machine user with its
// "user.created" audit event (and, with a fixed client secret, nothing
// more: the secret is part of the creation and never in the payload).
func (s *Service) CreateMachine(ctx context.Context, actor string, in *NewMachine) (*iam.User, error) {
	if in.InstanceID == "" {
		return nil, errNoInstance
	}
	profile := in.Profile
	u := &iam.User{
		ID: in.ID, InstanceID: in.InstanceID, OrgID: in.OrgID, Type: iam.UserMachine, LoginName: in.LoginName,
		State: in.State, Machine: &profile,
	}
	if u.ID == "" {
		u.ID = iam.NewID()
	}
	if u.State == "" {
		u.State = iam.UserActive
	}
	u.Normalize()
	if profile.Name == "" {
		profile.Name = u.LoginName
	}
	fe := u.Problems()
	if in.ClientSecret != "" {
		if len(in.ClientSecret) < MinFixedSecretLength {
			fe.Add("client_secret", "must be at least %d characters", MinFixedSecretLength)
		}
		u.SecretHash = s.secrets.Hash(in.ClientSecret)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	return s.create(ctx, actor, u)
}

func (s *Service) create(ctx context.Context, actor string, u *iam.User) (*iam.User, error) {
	var out *iam.User
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, err := tx.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: u.InstanceID, ID: u.OrgID}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return &iam.Error{Code: iam.NotFound, Field: "org_id", Message: "organization not found", Err: err}
			}
			return err
		}
		now := s.clock()
		created, err := tx.UserCreate(ctx, &store.UserCreateParams{User: u, Now: now})
		if err != nil {
			return err
		}
		out = created
		return appendEvent(ctx, tx, actor, created, &event{iam.EventUserCreated, map[string]any{"after": snapshot(created)}}, now)
	})
	if err != nil {
		return nil, s.domainError(ctx, err, u.InstanceID, u.ID, u.LoginName)
	}
	return out, nil
}

// HumanUpdate holds the new login name and profile of a human user.
// PasswordChangeRequired is not changed by an update.
type HumanUpdate struct {
	LoginName string
	Profile   iam.HumanProfile
}

// MachineUpdate holds the new login name and profile of a machine user.
type MachineUpdate struct {
	LoginName string
	Profile   iam.MachineProfile
}

// UpdateHuman replaces login name and profile of the human user named by
// ref, provided version is its current version (else Conflict), with a
// "user.changed" event (before and after). A machine user is
// FailedPrecondition; an update that changes nothing stores nothing.
func (s *Service) UpdateHuman(ctx context.Context, actor string, ref Ref, version int64, ch *HumanUpdate) (*iam.User, error) {
	return s.update(ctx, actor, ref, version, iam.UserHuman, func(u *iam.User) {
		keep := u.Human.PasswordChangeRequired
		p := ch.Profile
		p.PasswordChangeRequired = keep
		u.LoginName, u.Human = ch.LoginName, &p
	})
}

// UpdateMachine replaces login name and profile of the machine user named
// by ref, like UpdateHuman. Profile.Name defaults to the login name.
func (s *Service) UpdateMachine(ctx context.Context, actor string, ref Ref, version int64, ch *MachineUpdate) (*iam.User, error) {
	return s.update(ctx, actor, ref, version, iam.UserMachine, func(u *iam.User) {
		p := ch.Profile
		u.LoginName, u.Machine = ch.LoginName, &p
		u.Normalize()
		if p.Name == "" {
			p.Name = u.LoginName
		}
	})
}

func (s *Service) update(ctx context.Context, actor string, ref Ref, version int64, typ iam.UserType, apply func(u *iam.User)) (*iam.User, error) {
	var loginName string
	var out *iam.User
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := get(ctx, tx, ref)
		if err != nil {
			return err
		}
		if before.Type != typ {
			return &iam.Error{Code: iam.FailedPrecondition, Message: "the user is a " + string(before.Type) + " user; use the " + string(before.Type) + " user's update method"}
		}
		u := before.Clone()
		apply(u)
		u.Normalize()
		loginName = u.LoginName
		fe := u.Problems()
		if u.Human != nil {
			u.Human.PreferredLanguage = canonicalLanguage(&fe, u.Human.PreferredLanguage)
		}
		if err := fe.Err(); err != nil {
			return err
		}
		if before.Version != version {
			return store.ErrConflict
		}
		if sameProfile(before, u) {
			out = before
			return nil
		}
		now := s.clock()
		after, err := tx.UserUpdate(ctx, &store.UserUpdateParams{User: u, Now: now})
		if err != nil {
			return err
		}
		out = after
		return appendEvent(ctx, tx, actor, after, &event{iam.EventUserChanged, map[string]any{"before": snapshot(before), "after": snapshot(after)}}, now)
	})
	if err != nil {
		return nil, s.domainError(ctx, err, ref.InstanceID, "", loginName)
	}
	return out, nil
}

func sameProfile(a, b *iam.User) bool {
	if a.LoginName != b.LoginName || a.State != b.State {
		return false
	}
	switch {
	case a.Human != nil && b.Human != nil:
		return *a.Human == *b.Human
	case a.Machine != nil && b.Machine != nil:
		return *a.Machine == *b.Machine
	}
	return false
}

// SetState activates, deactivates, locks or unlocks the user named by ref,
// provided version is its current version, with a "user.state_changed"
// event. Only active users can authenticate.
func (s *Service) SetState(ctx context.Context, actor string, ref Ref, version int64, state iam.UserState) (*iam.User, error) {
	if !state.Valid() {
		return nil, &iam.Error{Code: iam.Invalid, Field: "state", Message: "must be active, inactive or locked"}
	}
	return s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		if u.Version != version {
			return nil, nil, store.ErrConflict
		}
		if u.State == state {
			return nil, nil, nil
		}
		if state != iam.UserActive {
			if err := member.EnsureOwnerRemains(ctx, tx, u.InstanceID, isUser(u.ID)); err != nil {
				return nil, nil, err
			}
		}
		c := u.Clone()
		c.State = state
		after, err := tx.UserUpdate(ctx, &store.UserUpdateParams{User: c, Now: now})
		if err != nil {
			return nil, nil, err
		}
		return after, &event{iam.EventUserStateChanged, map[string]any{"before": u.State, "after": state, "version": after.Version}}, nil
	})
}

// Delete removes the user named by ref with its tokens, keys, grants and
// memberships, provided version is its current version, with a
// "user.deleted" event.
func (s *Service) Delete(ctx context.Context, actor string, ref Ref, version int64) error {
	_, err := s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		if u.Version != version {
			return nil, nil, store.ErrConflict
		}
		if err := member.EnsureOwnerRemains(ctx, tx, u.InstanceID, isUser(u.ID)); err != nil {
			return nil, nil, err
		}
		if err := tx.UserDelete(ctx, &store.UserDeleteParams{InstanceID: u.InstanceID, ID: u.ID, Version: version}); err != nil {
			return nil, nil, err
		}
		return u, &event{iam.EventUserDeleted, map[string]any{"before": snapshot(u)}}, nil
	})
	return err
}

// isUser selects the memberships of one user.
func isUser(id string) func(*iam.Membership) (bool, error) {
	return func(m *iam.Membership) (bool, error) { return m.UserID == id, nil }
}
