package iam

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Authentication method references (RFC 8176 §2) that sessions record and
// tokens carry in their "amr" claim.
const (
	// AMRPassword: a password (or other shared secret) was verified.
	AMRPassword = "pwd"
	// AMROTP: a one-time code (TOTP, e-mail code or recovery code) was
	// verified.
	AMROTP = "otp"
	// AMRHardwareKey: proof of possession of a hardware-secured key
	// (WebAuthn).
	AMRHardwareKey = "hwk"
	// AMRUserPresence: the authenticator tested that a user was present.
	AMRUserPresence = "user"
	// AMRMultiFactor: more than one factor was verified.
	AMRMultiFactor = "mfa"
)

// Limits of the client information a session keeps.
const (
	// MaxUserAgentLength caps the stored User-Agent, in bytes.
	MaxUserAgentLength = 512
	// MaxIPLength caps the stored client address (an IPv6 address with a
	// zone fits).
	MaxIPLength = 64
)

// SessionTokenPrefix starts every session cookie value (crypto.NewSecret).
const SessionTokenPrefix = "rls_"

// LoginSession is a browser session of the hosted login: one per browser
// (cookie), from the first page until logout or expiry. The cookie holds a
// random token; only its keyed hash is stored, so a copy of the database
// cannot be used to take over sessions.
//
// A session starts anonymous and is bound to a user by the first verified
// factor. It ends at ExpiresAt (absolute lifetime) or when it is not used
// until IdleExpiresAt (idle timeout), whichever comes first; the store keeps
// IdleExpiresAt at or before ExpiresAt.
type LoginSession struct {
	ID         string
	InstanceID string
	// TokenHash is the keyed hash of the cookie's token.
	TokenHash []byte
	// UserID is "" until a factor identified the user.
	UserID string
	// LoginName is what the user typed (kept between the pages of the
	// login), "" until then.
	LoginName string
	// PasswordVerifiedAt is when the password was last verified; zero if
	// never in this session.
	PasswordVerifiedAt time.Time
	// MFAVerifiedAt is when a second factor (or a passkey) was last
	// verified; zero if never in this session.
	MFAVerifiedAt time.Time
	// AMR lists the methods used, RFC 8176 values such as "pwd" and "otp".
	AMR           []string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time
	IdleExpiresAt time.Time
	// UserAgent and IP describe the client that created the session, for
	// the user's list of sessions; both are informational only.
	UserAgent string
	IP        string
}

// Identified reports whether the session is bound to a user.
func (s *LoginSession) Identified() bool { return s.UserID != "" }

// PasswordVerified reports whether the session's user proved their
// password.
func (s *LoginSession) PasswordVerified() bool {
	return s.UserID != "" && !s.PasswordVerifiedAt.IsZero()
}

// MFAVerified reports whether the session's user proved a second factor
// or a passkey.
func (s *LoginSession) MFAVerified() bool { return s.UserID != "" && !s.MFAVerifiedAt.IsZero() }

// Alive reports whether the session is usable at now: before both its
// absolute and its idle expiry.
func (s *LoginSession) Alive(now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Before(s.IdleExpiresAt)
}

// AuthTime returns when the user last authenticated in the session: the
// later of the password and second-factor verifications (zero if neither).
func (s *LoginSession) AuthTime() time.Time {
	if s.MFAVerifiedAt.After(s.PasswordVerifiedAt) {
		return s.MFAVerifiedAt
	}
	return s.PasswordVerifiedAt
}

// Clone returns a deep copy of s.
func (s *LoginSession) Clone() *LoginSession {
	c := *s
	c.TokenHash = append([]byte(nil), s.TokenHash...)
	if s.AMR != nil {
		c.AMR = append([]string(nil), s.AMR...)
	}
	return &c
}

// CleanClientText makes client-supplied text (a User-Agent, an address)
// safe to store and show: valid UTF-8, control characters removed, at most
// max bytes, cut at a character boundary.
func CleanClientText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// AddAMR returns list with the values added that it lacks, in order.
func AddAMR(list []string, values ...string) []string {
	out := append([]string(nil), list...)
	for _, v := range values {
		found := false
		for _, have := range out {
			found = found || have == v
		}
		if !found && v != "" {
			out = append(out, v)
		}
	}
	return out
}
