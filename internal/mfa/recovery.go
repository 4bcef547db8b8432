package mfa

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// recoveryAlphabet is Crockford's base32 in lower case: no i, l, o or u,
// so that codes read aloud or typed from paper survive.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// recoveryCodeLength is the number of characters of a recovery code (50
// bits); it is shown as two groups of five ("7kq2m-x9c4t").
const recoveryCodeLength = 10

// newRecoveryCodes returns iam.RecoveryCodeCount fresh codes for u and
// their hashes.
func (s *Service) newRecoveryCodes(u *iam.User) (codes []string, hashes [][]byte) {
	buf := make([]byte, recoveryCodeLength)
	for range iam.RecoveryCodeCount {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		var b strings.Builder
		for i, c := range buf {
			if i == recoveryCodeLength/2 {
				b.WriteByte('-')
			}
			b.WriteByte(recoveryAlphabet[int(c)%len(recoveryAlphabet)]) // 256 is a multiple of 32: uniform
		}
		code := b.String()
		codes = append(codes, code)
		hashes = append(hashes, s.recoveryHash(u.InstanceID, u.ID, normalizeRecoveryCode(code)))
	}
	return codes, hashes
}

// normalizeRecoveryCode lower-cases a typed code, drops spaces and
// hyphens and maps the letters Crockford's base32 leaves out to the digits
// they are mistaken for. It returns "" for anything that cannot be a code.
func normalizeRecoveryCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(code) {
		switch r {
		case ' ', '-', '\t':
			continue
		case 'o':
			r = '0'
		case 'i', 'l':
			r = '1'
		}
		if !strings.ContainsRune(recoveryAlphabet, r) || b.Len() >= recoveryCodeLength {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != recoveryCodeLength {
		return ""
	}
	return b.String()
}

// recoveryHash binds a normalized code to its user.
func (s *Service) recoveryHash(instanceID, userID, code string) []byte {
	return s.secrets.Hash("recovery:" + instanceID + ":" + userID + ":" + code)
}

// RegenerateRecoveryCodes gives the human user named by ref 10 new
// recovery codes, replacing the old ones, and returns them once. The user
// needs a confirmed second factor (FailedPrecondition otherwise). Event:
// "user.recovery_codes_generated".
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, actor string, ref Ref) ([]string, error) {
	var codes []string
	err := s.tx(ctx, ref, "recovery codes", func(tx store.Queries, u *iam.User, now time.Time) error {
		has, err := hasSecondFactor(ctx, tx, u)
		if err != nil {
			return err
		}
		if !has {
			return &iam.Error{Code: iam.FailedPrecondition, Message: "set up an authenticator app or a security key before recovery codes"}
		}
		var hashes [][]byte
		codes, hashes = s.newRecoveryCodes(u)
		if err := tx.RecoveryCodesReplace(ctx, &store.RecoveryCodesReplaceParams{InstanceID: u.InstanceID, UserID: u.ID, Hashes: hashes, Now: now}); err != nil {
			return err
		}
		return appendEvents(ctx, tx, actor, u, now, event{iam.EventUserRecoveryCodesGenerated, map[string]any{"count": len(codes), "codes": "[redacted]"}})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// hasSecondFactor reports whether u has a confirmed TOTP authenticator or
// a WebAuthn credential.
func hasSecondFactor(ctx context.Context, q store.Queries, u *iam.User) (bool, error) {
	f, err := q.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: u.InstanceID, UserID: u.ID})
	if err == nil && f.Verified {
		return true, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	creds, err := q.WebAuthnCredentialList(ctx, &store.WebAuthnCredentialListParams{InstanceID: u.InstanceID, UserID: u.ID})
	return len(creds) > 0, err
}

// VerifyRecoveryCode uses up one recovery code of the user, atomically (a
// code works once, even when sent concurrently), and returns how many are
// left, with a "user.recovery_code_used" event. A wrong or used code is
// Unauthenticated.
func (s *Service) VerifyRecoveryCode(ctx context.Context, instanceID, userID, code string) (int, error) {
	if instanceID == "" {
		return 0, errNoInstance
	}
	wrong := func(cause error) error {
		return &iam.Error{Code: iam.Unauthenticated, Message: "the recovery code is wrong or was used already", Err: cause}
	}
	norm := normalizeRecoveryCode(code)
	if norm == "" {
		return 0, wrong(errors.New("malformed recovery code"))
	}
	var left int
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		var err error
		left, err = tx.RecoveryCodeConsume(ctx, &store.RecoveryCodeConsumeParams{InstanceID: instanceID, UserID: userID, Hash: s.recoveryHash(instanceID, userID, norm)})
		if errors.Is(err, store.ErrNotFound) {
			return wrong(err)
		}
		if err != nil {
			return err
		}
		return appendEvents(ctx, tx, userID, &iam.User{InstanceID: instanceID, ID: userID}, s.clock(),
			event{iam.EventUserRecoveryCodeUsed, map[string]any{"remaining": left}})
	})
	if err != nil {
		return 0, store.DomainError(err, "recovery codes")
	}
	return left, nil
}
