package mfa

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// MaxWebAuthnCredentials bounds the credentials of one user.
const MaxWebAuthnCredentials = 20

// Limits of what a credential may carry (far above real authenticators).
const (
	maxCredentialIDLength = 1023 // WebAuthn Level 3 §5.4.3
	maxPublicKeyLength    = 4096
)

// DefaultWebAuthnName names a credential registered without a name.
const DefaultWebAuthnName = "Security key"

// WebAuthnUser is a user as a WebAuthn relying party sees it. It
// implements WebAuthnID, WebAuthnName and WebAuthnDisplayName of
// go-webauthn's webauthn.User; the caller adds WebAuthnCredentials (see
// the package documentation).
type WebAuthnUser struct {
	User *iam.User
	// Handle is the user's stable random WebAuthn user handle.
	Handle []byte
	// Credentials are the user's registered credentials.
	Credentials []*iam.WebAuthnCredential
}

// WebAuthnID returns the user handle (WebAuthn user.id): random, never
// the user ID or other personal data.
func (u *WebAuthnUser) WebAuthnID() []byte { return u.Handle }

// WebAuthnName returns the login name (WebAuthn user.name).
func (u *WebAuthnUser) WebAuthnName() string { return u.User.LoginName }

// WebAuthnDisplayName returns the user's full name, or the login name if
// the profile has none (WebAuthn user.displayName).
func (u *WebAuthnUser) WebAuthnDisplayName() string {
	if h := u.User.Human; h != nil {
		if name := strings.TrimSpace(h.GivenName + " " + h.FamilyName); name != "" {
			return name
		}
	}
	return u.User.LoginName
}

// CredentialIDs returns the credential IDs, for excluding them from a new
// registration or allowing them in a login.
func (u *WebAuthnUser) CredentialIDs() [][]byte {
	out := make([][]byte, len(u.Credentials))
	for i, c := range u.Credentials {
		out[i] = c.CredentialID
	}
	return out
}

// WebAuthnUser returns the human user of the instance with their user
// handle (created on first use) and credentials, for a registration or
// login ceremony. It does not check the user's state; the login does.
func (s *Service) WebAuthnUser(ctx context.Context, instanceID, userID string) (*WebAuthnUser, error) {
	u, err := human(ctx, s.store, Ref{InstanceID: instanceID, ID: userID})
	if err != nil {
		return nil, err
	}
	candidate := make([]byte, iam.WebAuthnUserHandleLength)
	if _, err := rand.Read(candidate); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	handle, err := s.store.WebAuthnUserHandleEnsure(ctx, &store.WebAuthnUserHandleEnsureParams{InstanceID: instanceID, UserID: u.ID, Handle: candidate})
	if err != nil {
		return nil, store.DomainError(err, "user")
	}
	return s.webAuthnUser(ctx, u, handle)
}

func (s *Service) webAuthnUser(ctx context.Context, u *iam.User, handle []byte) (*WebAuthnUser, error) {
	creds, err := s.store.WebAuthnCredentialList(ctx, &store.WebAuthnCredentialListParams{InstanceID: u.InstanceID, UserID: u.ID})
	if err != nil {
		return nil, store.DomainError(err, "WebAuthn credentials")
	}
	return &WebAuthnUser{User: u, Handle: handle, Credentials: creds}, nil
}

// WebAuthnUserByHandle returns the user whose user handle a discoverable
// credential (passkey) returned; NotFound if no user of the instance has
// it.
func (s *Service) WebAuthnUserByHandle(ctx context.Context, instanceID string, handle []byte) (*WebAuthnUser, error) {
	if instanceID == "" {
		return nil, errNoInstance
	}
	if len(handle) == 0 || len(handle) > 64 {
		return nil, &iam.Error{Code: iam.NotFound, Message: "user not found", Err: errors.New("malformed user handle")}
	}
	id, err := s.store.WebAuthnUserHandleLookup(ctx, &store.WebAuthnUserHandleLookupParams{InstanceID: instanceID, Handle: handle})
	if err != nil {
		return nil, store.DomainError(err, "user")
	}
	u, err := human(ctx, s.store, Ref{InstanceID: instanceID, ID: id})
	if err != nil {
		return nil, err
	}
	return s.webAuthnUser(ctx, u, handle)
}

// checkName returns the cleaned credential name or a problem.
func checkName(name string) (string, string) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return DefaultWebAuthnName, ""
	case !utf8.ValidString(name):
		return "", "must be valid UTF-8"
	case utf8.RuneCountInString(name) > iam.MaxFactorNameLength:
		return "", "must be at most 100 characters"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", "must not contain control characters"
	}
	return name, ""
}

// AddWebAuthnCredential stores a credential the user named by ref has
// just registered (after go-webauthn verified the ceremony). ID,
// InstanceID, UserID and CreatedAt are set here; an empty name becomes
// DefaultWebAuthnName. A credential ID registered in the instance already
// is AlreadyExists; more than MaxWebAuthnCredentials is
// FailedPrecondition. Event: "user.webauthn_added".
func (s *Service) AddWebAuthnCredential(ctx context.Context, actor string, ref Ref, cred *iam.WebAuthnCredential) (*iam.WebAuthnCredential, error) {
	var fe iam.FieldErrors
	name, problem := checkName(cred.Name)
	if problem != "" {
		fe.Add("name", "%s", problem)
	}
	if len(cred.CredentialID) == 0 || len(cred.CredentialID) > maxCredentialIDLength {
		fe.Add("credential_id", "must be 1 to %d bytes", maxCredentialIDLength)
	}
	if len(cred.PublicKey) == 0 || len(cred.PublicKey) > maxPublicKeyLength {
		fe.Add("public_key", "must be 1 to %d bytes", maxPublicKeyLength)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	c := cred.Clone()
	c.ID, c.Name, c.LastUsedAt = iam.NewID(), name, time.Time{}
	err := s.tx(ctx, ref, "WebAuthn credential", func(tx store.Queries, u *iam.User, now time.Time) error {
		existing, err := tx.WebAuthnCredentialList(ctx, &store.WebAuthnCredentialListParams{InstanceID: u.InstanceID, UserID: u.ID})
		if err != nil {
			return err
		}
		if len(existing) >= MaxWebAuthnCredentials {
			return iam.Errorf(iam.FailedPrecondition, "at most %d security keys and passkeys per user; remove one first", MaxWebAuthnCredentials)
		}
		c.InstanceID, c.UserID, c.CreatedAt = u.InstanceID, u.ID, now
		if err := tx.WebAuthnCredentialCreate(ctx, &store.WebAuthnCredentialCreateParams{Credential: c}); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return &iam.Error{Code: iam.AlreadyExists, Message: "this security key or passkey is registered already", Err: err}
			}
			return err
		}
		return appendEvents(ctx, tx, actor, u, now, event{iam.EventUserWebAuthnAdded, map[string]any{
			"factor_id": c.ID, "name": c.Name, "aaguid": hex.EncodeToString(c.AAGUID), "attachment": c.Attachment,
			"backup_eligible": c.BackupEligible, "user_verified": c.UserVerified,
		}})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// WebAuthnCredentialByID returns the credential of the instance with the
// authenticator's credential ID, as an assertion names it; NotFound if
// there is none.
func (s *Service) WebAuthnCredentialByID(ctx context.Context, instanceID string, credentialID []byte) (*iam.WebAuthnCredential, error) {
	if instanceID == "" {
		return nil, errNoInstance
	}
	if len(credentialID) == 0 || len(credentialID) > maxCredentialIDLength {
		return nil, &iam.Error{Code: iam.NotFound, Message: "security key or passkey not found", Err: errors.New("malformed credential ID")}
	}
	c, err := s.store.WebAuthnCredentialGetByCredentialID(ctx, &store.WebAuthnCredentialGetByCredentialIDParams{InstanceID: instanceID, CredentialID: credentialID})
	if err != nil {
		return nil, store.DomainError(err, "security key or passkey")
	}
	return c, nil
}

// RecordWebAuthnUse records a successful login with the user's credential
// id: the authenticator's new signature counter and backup state, and the
// time of use.
func (s *Service) RecordWebAuthnUse(ctx context.Context, instanceID, userID, id string, signCount uint32, backupState bool) error {
	if instanceID == "" {
		return errNoInstance
	}
	err := s.store.WebAuthnCredentialUpdateUsage(ctx, &store.WebAuthnCredentialUpdateUsageParams{
		InstanceID: instanceID, UserID: userID, ID: id, SignCount: signCount, BackupState: backupState, Now: s.clock(),
	})
	return store.DomainError(err, "security key or passkey")
}
