package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// TOTP parameters: what every authenticator app supports (RFC 6238
// defaults, as Google Authenticator reads them).
const (
	TOTPPeriod = 30 * time.Second
	TOTPDigits = 6
	// TOTPSkew is how many time steps before and after the server's accept.
	TOTPSkew = 1
	// QRCodeSize is the width and height of the enrolment QR code, in
	// pixels.
	QRCodeSize = 256
	// DefaultIssuer names the service in authenticator apps when the
	// caller gives no issuer.
	DefaultIssuer = "Rampart"
)

var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrolment is what the user needs to add an authenticator: shown
// once, while the enrolment is unconfirmed.
type TOTPEnrolment struct {
	// FactorID identifies the (unconfirmed) factor.
	FactorID string
	// URL is the otpauth:// URL (Key Uri Format) the QR code encodes.
	URL string
	// Secret is the base32 secret, for typing into an app by hand.
	Secret string
	// QRCodePNG is a PNG image of the QR code of URL.
	QRCodePNG []byte
}

var (
	errWrongTOTP = &iam.Error{Code: iam.Unauthenticated, Message: "the code is wrong or was used already; wait for the next code"}
	errNoTOTP    = &iam.Error{Code: iam.FailedPrecondition, Message: "no authenticator app is set up"}
)

// BeginTOTP starts the enrolment of an authenticator app for the human
// user named by ref: a new secret (sealed with the master key), stored as
// an unconfirmed factor that replaces any earlier unconfirmed one. issuer
// names the service in the app ("" means DefaultIssuer); the account name
// is the login name. A user with a confirmed authenticator must remove it
// first (FailedPrecondition). Nothing counts as a factor until ConfirmTOTP.
func (s *Service) BeginTOTP(ctx context.Context, ref Ref, issuer string) (*TOTPEnrolment, error) {
	u, err := human(ctx, s.store, ref)
	if err != nil {
		return nil, err
	}
	issuer = strings.TrimSpace(issuer)
	if issuer == "" {
		issuer = DefaultIssuer
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: u.LoginName, Period: uint(TOTPPeriod / time.Second),
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, internal(fmt.Errorf("generate TOTP key: %w", err))
	}
	img, err := key.Image(QRCodeSize, QRCodeSize)
	if err != nil {
		return nil, internal(fmt.Errorf("render TOTP QR code: %w", err))
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return nil, internal(fmt.Errorf("encode TOTP QR code: %w", err))
	}
	id := iam.NewID()
	sealed, err := s.keyring.Encrypt([]byte(key.Secret()), iam.TOTPSecretAAD(id))
	if err != nil {
		return nil, internal(err)
	}
	err = s.tx(ctx, ref, "TOTP factor", func(tx store.Queries, u *iam.User, now time.Time) error {
		old, err := tx.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: u.InstanceID, UserID: u.ID})
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case old.Verified:
			return &iam.Error{Code: iam.FailedPrecondition, Message: "an authenticator app is set up already; remove it before adding another"}
		default:
			if err := tx.TOTPFactorDelete(ctx, &store.TOTPFactorDeleteParams{InstanceID: u.InstanceID, UserID: u.ID, ID: old.ID}); err != nil {
				return err
			}
		}
		return tx.TOTPFactorCreate(ctx, &store.TOTPFactorCreateParams{Factor: &iam.TOTPFactor{
			ID: id, InstanceID: u.InstanceID, UserID: u.ID, SecretEncrypted: sealed, CreatedAt: now,
		}})
	})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{FactorID: id, URL: key.URL(), Secret: key.Secret(), QRCodePNG: qr.Bytes()}, nil
}

// ConfirmTOTP completes the enrolment with a code from the app: the
// factor becomes verified (its step counts as used) and the user gets 10
// new recovery codes, replacing any earlier ones, returned once. Events:
// "user.totp_added" and "user.recovery_codes_generated". A wrong code is
// Invalid; without an unconfirmed enrolment it is FailedPrecondition.
func (s *Service) ConfirmTOTP(ctx context.Context, actor string, ref Ref, code string) ([]string, error) {
	u, err := human(ctx, s.store, ref)
	if err != nil {
		return nil, err
	}
	f, err := s.store.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: u.InstanceID, UserID: u.ID})
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.Verified) {
		return nil, &iam.Error{Code: iam.FailedPrecondition, Message: "no authenticator app is waiting for confirmation; start again", Err: err}
	}
	if err != nil {
		return nil, store.DomainError(err, "TOTP factor")
	}
	step, ok, err := s.matchTOTP(f, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &iam.Error{Code: iam.Invalid, Field: "code", Message: "the code is wrong; check the time on your device and enter the current code"}
	}
	codes, hashes := s.newRecoveryCodes(u)
	err = s.tx(ctx, ref, "TOTP factor", func(tx store.Queries, u *iam.User, now time.Time) error {
		err := tx.TOTPFactorConfirm(ctx, &store.TOTPFactorConfirmParams{InstanceID: u.InstanceID, UserID: u.ID, ID: f.ID, Step: step})
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return &iam.Error{Code: iam.FailedPrecondition, Message: "the authenticator app was confirmed or replaced meanwhile", Err: err}
		}
		if err != nil {
			return err
		}
		if err := tx.RecoveryCodesReplace(ctx, &store.RecoveryCodesReplaceParams{InstanceID: u.InstanceID, UserID: u.ID, Hashes: hashes, Now: now}); err != nil {
			return err
		}
		return appendEvents(ctx, tx, actor, u, now,
			event{iam.EventUserTOTPAdded, map[string]any{"factor_id": f.ID}},
			event{iam.EventUserRecoveryCodesGenerated, map[string]any{"count": len(codes), "codes": "[redacted]"}})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// VerifyTOTP checks a code of the user's confirmed authenticator: it must
// belong to the current time step or one either side, and to a later step
// than any code accepted before (so no code works twice, even when sent
// concurrently). A wrong or replayed code is Unauthenticated; a user
// without a confirmed authenticator is FailedPrecondition.
func (s *Service) VerifyTOTP(ctx context.Context, instanceID, userID, code string) error {
	if instanceID == "" {
		return errNoInstance
	}
	f, err := s.store.TOTPFactorGet(ctx, &store.TOTPFactorGetParams{InstanceID: instanceID, UserID: userID})
	if errors.Is(err, store.ErrNotFound) || (err == nil && !f.Verified) {
		return &iam.Error{Code: errNoTOTP.Code, Message: errNoTOTP.Message, Err: err}
	}
	if err != nil {
		return store.DomainError(err, "TOTP factor")
	}
	step, ok, err := s.matchTOTP(f, code)
	if err != nil {
		return err
	}
	if !ok || step <= f.LastUsedStep {
		return &iam.Error{Code: errWrongTOTP.Code, Message: errWrongTOTP.Message, Err: errors.New("wrong or replayed TOTP code")}
	}
	err = s.store.TOTPFactorUseStep(ctx, &store.TOTPFactorUseStepParams{InstanceID: instanceID, UserID: userID, Step: step})
	switch {
	case errors.Is(err, store.ErrConflict):
		return &iam.Error{Code: errWrongTOTP.Code, Message: errWrongTOTP.Message, Err: errors.New("replayed TOTP code")}
	case errors.Is(err, store.ErrNotFound):
		return &iam.Error{Code: errNoTOTP.Code, Message: errNoTOTP.Message, Err: err}
	case err != nil:
		return store.DomainError(err, "TOTP factor")
	}
	return nil
}

// matchTOTP returns the time step (current, or one either side) whose code
// is code, comparing in constant time. ok is false for no match or a
// malformed code.
func (s *Service) matchTOTP(f *iam.TOTPFactor, code string) (step int64, ok bool, err error) {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	if len(code) != TOTPDigits || strings.Trim(code, "0123456789") != "" {
		return 0, false, nil
	}
	secret, err := s.keyring.Decrypt(f.SecretEncrypted, iam.TOTPSecretAAD(f.ID))
	if err != nil {
		return 0, false, internal(fmt.Errorf("open TOTP secret of factor %s: %w", f.ID, err))
	}
	now := s.clock().Unix() / int64(TOTPPeriod/time.Second)
	for _, candidate := range []int64{now, now - TOTPSkew, now + TOTPSkew} {
		want, err := hotp.GenerateCodeCustom(string(secret), uint64(candidate), totpOpts)
		if err != nil {
			return 0, false, internal(fmt.Errorf("TOTP code of factor %s: %w", f.ID, err))
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return candidate, true, nil
		}
	}
	return 0, false, nil
}
