package iam

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PolicyKind names one kind of policy. Login, password and lockout
// policies are set per instance and may be overridden per organization;
// branding is set per instance only.
type PolicyKind string

// Policy kinds.
const (
	PolicyLogin    PolicyKind = "login"
	PolicyPassword PolicyKind = "password"
	PolicyLockout  PolicyKind = "lockout"
	PolicyBranding PolicyKind = "branding"
)

// AllPolicyKinds lists every policy kind.
var AllPolicyKinds = []PolicyKind{PolicyLogin, PolicyPassword, PolicyLockout, PolicyBranding}

// Valid reports whether k is a known kind.
func (k PolicyKind) Valid() bool { return slices.Contains(AllPolicyKinds, k) }

// OrgOverridable reports whether organizations may override the
// instance's policy of this kind.
func (k PolicyKind) OrgOverridable() bool { return k.Valid() && k != PolicyBranding }

// PolicySource says where the values of an effective policy come from.
type PolicySource string

// Policy sources.
const (
	// SourceDefault: neither the instance nor the organization set the
	// policy; the built-in defaults apply.
	SourceDefault PolicySource = "default"
	// SourceInstance: the instance's policy applies.
	SourceInstance PolicySource = "instance"
	// SourceOrg: the organization's override applies.
	SourceOrg PolicySource = "org"
)

// AggregatePolicy is the audit aggregate type of policies; the aggregate
// ID is the organization ID for an organization's override and the
// instance ID for the instance's policy.
const AggregatePolicy = "policy"

// Policy event types. Payloads name the kind, the organization (if any)
// and the stored values before and after.
const (
	EventLoginPolicyChanged    = "policy.login.changed"
	EventLoginPolicyReset      = "policy.login.reset"
	EventPasswordPolicyChanged = "policy.password.changed"
	EventPasswordPolicyReset   = "policy.password.reset"
	EventLockoutPolicyChanged  = "policy.lockout.changed"
	EventLockoutPolicyReset    = "policy.lockout.reset"
	EventBrandingChanged       = "policy.branding.changed"
	EventBrandingReset         = "policy.branding.reset"
)

// PolicyEventType returns the event type of a change ("changed") or reset
// ("reset") of a policy kind: "policy.<kind>.<what>".
func PolicyEventType(k PolicyKind, what string) string {
	return "policy." + string(k) + "." + what
}

// SecondFactor is a second authentication factor a user may register.
type SecondFactor string

// Second factors.
const (
	// SecondFactorTOTP: time-based one-time passwords (RFC 6238) from an
	// authenticator app, with recovery codes (FactorTOTP).
	SecondFactorTOTP SecondFactor = "totp"
	// SecondFactorWebAuthn: a security key or platform authenticator
	// (WebAuthn) as a second factor (FactorWebAuthn).
	SecondFactorWebAuthn SecondFactor = "webauthn"
	// SecondFactorEmailOTP: a one-time code sent by e-mail.
	SecondFactorEmailOTP SecondFactor = "email_otp"
)

// AllSecondFactors lists every second factor.
var AllSecondFactors = []SecondFactor{SecondFactorTOTP, SecondFactorWebAuthn, SecondFactorEmailOTP}

// Valid reports whether f is a known factor.
func (f SecondFactor) Valid() bool { return slices.Contains(AllSecondFactors, f) }

// Login policy bounds and defaults.
const (
	MinSessionLifetime        = 5 * time.Minute
	MaxSessionLifetime        = 8760 * time.Hour
	MinSessionIdleTimeout     = time.Minute
	MinMFARememberDevice      = time.Hour
	MaxMFARememberDevice      = 90 * 24 * time.Hour
	DefaultSessionLifetime    = 24 * time.Hour
	DefaultSessionIdleTimeout = 2 * time.Hour
)

// LoginPolicy decides how users log in: with which methods, whether they
// may register themselves, whether a second factor is required and which
// ones they may use, and how long a login session lasts.
type LoginPolicy struct {
	// AllowUsernamePassword lets users log in with login name and password.
	AllowUsernamePassword bool
	// AllowPasskeys lets users log in passwordless with a passkey
	// (WebAuthn discoverable credential).
	AllowPasskeys bool
	// AllowRegistration lets people create their own account on the login
	// page.
	AllowRegistration bool
	// ForceMFA requires a second factor at every login that is not
	// remembered (see MFARememberDevice).
	ForceMFA bool
	// AllowedSecondFactors are the factors users may register and use.
	AllowedSecondFactors []SecondFactor
	// SessionLifetime is the absolute lifetime of a login session.
	SessionLifetime time.Duration
	// SessionIdleTimeout ends a session that has not been used for this
	// long.
	SessionIdleTimeout time.Duration
	// MFARememberDevice skips the second factor on a browser that passed it
	// within this duration; 0 turns remembering off.
	MFARememberDevice time.Duration

	// Source says where the values come from.
	Source PolicySource
	// Version is the version of the stored policy the values come from
	// (0 for the defaults); updates name the version they read.
	Version int64
}

// DefaultLoginPolicy returns the built-in login policy: login name and
// password or passkeys, no self-registration, second factors optional
// (TOTP, WebAuthn and e-mail codes allowed), sessions of 24 hours ended
// after 2 idle hours, no remembered devices.
func DefaultLoginPolicy() *LoginPolicy {
	return &LoginPolicy{
		AllowUsernamePassword: true,
		AllowPasskeys:         true,
		AllowedSecondFactors:  slices.Clone(AllSecondFactors),
		SessionLifetime:       DefaultSessionLifetime,
		SessionIdleTimeout:    DefaultSessionIdleTimeout,
		Source:                SourceDefault,
	}
}

// Clone returns a deep copy.
func (p *LoginPolicy) Clone() *LoginPolicy {
	c := *p
	c.AllowedSecondFactors = slices.Clone(p.AllowedSecondFactors)
	return &c
}

// AllowsFactor reports whether users may use the second factor f.
func (p *LoginPolicy) AllowsFactor(f SecondFactor) bool {
	return slices.Contains(p.AllowedSecondFactors, f)
}

// Validate reports every problem of the policy at once:
//
//   - at least one of username/password and passkeys is allowed;
//   - second factors are known and listed once; forcing MFA needs at least
//     one;
//   - the session lifetime is 5 minutes to 8760 hours, the idle timeout
//     1 minute to the session lifetime;
//   - remembering devices is off (0) or lasts 1 hour to 90 days (2160h).
func (p *LoginPolicy) Validate() error {
	var fe FieldErrors
	if !p.AllowUsernamePassword && !p.AllowPasskeys {
		fe.Add("allow_username_password", "allow at least one login method: username and password, or passkeys")
	}
	for i, f := range p.AllowedSecondFactors {
		switch {
		case !f.Valid():
			fe.Add("allowed_second_factors", "unknown second factor %q: use totp, webauthn or email_otp", f)
		case slices.Contains(p.AllowedSecondFactors[:i], f):
			fe.Add("allowed_second_factors", "%q is listed twice", f)
		}
	}
	if p.ForceMFA && len(p.AllowedSecondFactors) == 0 {
		fe.Add("force_mfa", "forcing a second factor needs at least one allowed second factor")
	}
	if p.SessionLifetime < MinSessionLifetime || p.SessionLifetime > MaxSessionLifetime {
		fe.Add("session_lifetime", "must be between %s and %s", policyDuration(MinSessionLifetime), policyDuration(MaxSessionLifetime))
	}
	switch {
	case p.SessionIdleTimeout < MinSessionIdleTimeout:
		fe.Add("session_idle_timeout", "must be at least %s", policyDuration(MinSessionIdleTimeout))
	case p.SessionIdleTimeout > p.SessionLifetime && p.SessionLifetime >= MinSessionLifetime:
		fe.Add("session_idle_timeout", "must not exceed the session lifetime (%s)", p.SessionLifetime)
	}
	if p.MFARememberDevice != 0 && (p.MFARememberDevice < MinMFARememberDevice || p.MFARememberDevice > MaxMFARememberDevice) {
		fe.Add("mfa_remember_device", "must be 0 (off) or between %s and %s", policyDuration(MinMFARememberDevice), policyDuration(MaxMFARememberDevice))
	}
	return fe.Err()
}

// Password policy bounds and defaults. NIST SP 800-63B §5.1.1.2 asks for
// at least 8 characters; MaxPasswordChars bounds every password whatever
// the policy.
const (
	MinPasswordMinLength     = 8
	MaxPasswordMinLength     = 128
	MaxPasswordChars         = 256
	DefaultPasswordMinLength = 8
)

// PasswordPolicy is the complexity rule for the passwords users choose.
type PasswordPolicy struct {
	// MinLength is the minimum number of characters (Unicode code points).
	MinLength     int
	RequireUpper  bool
	RequireLower  bool
	RequireDigit  bool
	RequireSymbol bool

	// Source says where the values come from.
	Source PolicySource
	// Version is the version of the stored policy the values come from
	// (0 for the defaults).
	Version int64
}

// DefaultPasswordPolicy returns the built-in password policy: at least 8
// characters, no character classes required (NIST SP 800-63B §5.1.1.2
// advises against composition rules).
func DefaultPasswordPolicy() *PasswordPolicy {
	return &PasswordPolicy{MinLength: DefaultPasswordMinLength, Source: SourceDefault}
}

// Validate reports every problem of the policy at once: the minimum length
// is 8 to 128.
func (p *PasswordPolicy) Validate() error {
	var fe FieldErrors
	if p.MinLength < MinPasswordMinLength || p.MinLength > MaxPasswordMinLength {
		fe.Add("min_length", "must be between %d and %d", MinPasswordMinLength, MaxPasswordMinLength)
	}
	return fe.Err()
}

// IsPasswordSymbol reports whether r counts as a symbol for
// RequireSymbol: any character that is neither a letter nor a digit
// (punctuation, symbols, spaces).
func IsPasswordSymbol(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// Check returns one Invalid error (field "password") for every rule the
// password breaks; nil if it satisfies the policy. Beyond the policy's
// rules, every password must be valid UTF-8, at most MaxPasswordChars
// characters and not only white space.
func (p *PasswordPolicy) Check(password string) FieldErrors {
	const field = "password"
	var fe FieldErrors
	if !utf8.ValidString(password) {
		fe.Add(field, "must be valid UTF-8")
		return fe
	}
	n := utf8.RuneCountInString(password)
	if n < p.MinLength {
		fe.Add(field, "must be at least %d characters long", p.MinLength)
	}
	if n > MaxPasswordChars {
		fe.Add(field, "must be at most %d characters long", MaxPasswordChars)
	}
	if n > 0 && strings.TrimFunc(password, unicode.IsSpace) == "" {
		fe.Add(field, "must not be only white space")
	}
	if p.RequireUpper && !strings.ContainsFunc(password, unicode.IsUpper) {
		fe.Add(field, "must contain an upper-case letter")
	}
	if p.RequireLower && !strings.ContainsFunc(password, unicode.IsLower) {
		fe.Add(field, "must contain a lower-case letter")
	}
	if p.RequireDigit && !strings.ContainsFunc(password, unicode.IsDigit) {
		fe.Add(field, "must contain a digit")
	}
	if p.RequireSymbol && !strings.ContainsFunc(password, IsPasswordSymbol) {
		fe.Add(field, "must contain a symbol (a character that is neither a letter nor a digit)")
	}
	return fe
}

// Lockout policy bounds.
const (
	MaxLockoutAttempts          = 1000
	MaxIPRateLimitPerMinute     = 100000
	DefaultMaxPasswordAttempts  = 10
	DefaultMaxOTPAttempts       = 5
	DefaultIPRateLimitPerMinute = 60
)

// LockoutPolicy protects against guessing: users are locked after too many
// failed attempts in a row, and login endpoints limit the requests of one
// client IP address.
type LockoutPolicy struct {
	// MaxPasswordAttempts locks a user after this many failed password
	// attempts in a row; 0 turns it off.
	MaxPasswordAttempts int
	// MaxOTPAttempts locks a user after this many failed one-time code
	// attempts (TOTP, e-mail codes, recovery codes) in a row; 0 turns it
	// off.
	MaxOTPAttempts int
	// IPRateLimitPerMinute bounds the login requests of one client IP
	// address per minute; 0 turns it off.
	IPRateLimitPerMinute int

	// Source says where the values come from.
	Source PolicySource
	// Version is the version of the stored policy the values come from
	// (0 for the defaults).
	Version int64
}

// DefaultLockoutPolicy returns the built-in lockout policy: 10 password
// attempts, 5 one-time code attempts, 60 login requests per minute and IP
// address.
func DefaultLockoutPolicy() *LockoutPolicy {
	return &LockoutPolicy{
		MaxPasswordAttempts:  DefaultMaxPasswordAttempts,
		MaxOTPAttempts:       DefaultMaxOTPAttempts,
		IPRateLimitPerMinute: DefaultIPRateLimitPerMinute,
		Source:               SourceDefault,
	}
}

// Validate reports every problem of the policy at once: attempts 0 to
// 1000, the rate limit 0 to 100000 per minute.
func (p *LockoutPolicy) Validate() error {
	var fe FieldErrors
	for _, c := range []struct {
		field    string
		v, limit int
	}{
		{"max_password_attempts", p.MaxPasswordAttempts, MaxLockoutAttempts},
		{"max_otp_attempts", p.MaxOTPAttempts, MaxLockoutAttempts},
		{"ip_rate_limit_per_minute", p.IPRateLimitPerMinute, MaxIPRateLimitPerMinute},
	} {
		if c.v < 0 || c.v > c.limit {
			fe.Add(c.field, "must be between 0 (off) and %d", c.limit)
		}
	}
	return fe.Err()
}

// Branding bounds and defaults.
const (
	MaxProductNameLength = 100
	MaxLogoURLLength     = 2048
	DefaultProductName   = "Rampart"
	DefaultPrimaryColor  = "#2563eb"
)

// Branding is how the hosted login and e-mails present an instance.
type Branding struct {
	// ProductName is shown in page titles, headings and e-mails.
	ProductName string
	// LogoURL is an https URL of the logo image; empty for none.
	LogoURL string
	// PrimaryColor is the accent colour, "#rrggbb" in lower case.
	PrimaryColor string

	// Source says where the values come from (default or instance).
	Source PolicySource
	// Version is the version of the stored branding the values come from
	// (0 for the defaults).
	Version int64
}

// DefaultBranding returns the built-in branding: "Rampart", no logo, blue.
func DefaultBranding() *Branding {
	return &Branding{ProductName: DefaultProductName, PrimaryColor: DefaultPrimaryColor, Source: SourceDefault}
}

// Normalize trims the fields and lower-cases the colour.
func (b *Branding) Normalize() {
	b.ProductName = strings.TrimSpace(b.ProductName)
	b.LogoURL = strings.TrimSpace(b.LogoURL)
	b.PrimaryColor = strings.ToLower(strings.TrimSpace(b.PrimaryColor))
}

// Validate reports every problem of the branding at once: a product name
// of 1 to 100 printable characters, an empty or absolute https logo URL of
// at most 2048 characters without user information, and a colour
// "#rrggbb".
func (b *Branding) Validate() error {
	var fe FieldErrors
	switch {
	case !utf8.ValidString(b.ProductName):
		fe.Add("product_name", "must be valid UTF-8")
	case strings.TrimSpace(b.ProductName) == "":
		fe.Add("product_name", "must not be empty")
	case utf8.RuneCountInString(b.ProductName) > MaxProductNameLength:
		fe.Add("product_name", "must be at most %d characters", MaxProductNameLength)
	case strings.ContainsFunc(b.ProductName, unicode.IsControl):
		fe.Add("product_name", "must not contain control characters")
	}
	if msg := validateLogoURL(b.LogoURL); msg != "" {
		fe.Add("logo_url", "%s", msg)
	}
	if !validColor(b.PrimaryColor) {
		fe.Add("primary_color", "must be a colour in the form #rrggbb, like %s", DefaultPrimaryColor)
	}
	return fe.Err()
}

func validateLogoURL(u string) string {
	if u == "" {
		return ""
	}
	if len(u) > MaxLogoURLLength {
		return fmt.Sprintf("must be at most %d characters", MaxLogoURLLength)
	}
	if strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "must not contain spaces or control characters"
	}
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return "is not a valid URL"
	case p.Scheme != "https":
		return "must be an https URL (or empty for no logo)"
	case p.Hostname() == "":
		return "must name a host"
	case p.User != nil:
		return "must not contain user information"
	}
	return ""
}

func validColor(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for _, r := range c[1:] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// Policies are the effective policies of an instance or of one of its
// organizations: each the organization's override if it has one, else the
// instance's policy, else the default.
type Policies struct {
	Login    *LoginPolicy
	Password *PasswordPolicy
	Lockout  *LockoutPolicy
	Branding *Branding
}

// DefaultPolicies returns the built-in defaults of every kind.
func DefaultPolicies() *Policies {
	return &Policies{
		Login: DefaultLoginPolicy(), Password: DefaultPasswordPolicy(),
		Lockout: DefaultLockoutPolicy(), Branding: DefaultBranding(),
	}
}

// Clone returns a deep copy.
func (p *Policies) Clone() *Policies {
	pw, lo, br := *p.Password, *p.Lockout, *p.Branding
	return &Policies{Login: p.Login.Clone(), Password: &pw, Lockout: &lo, Branding: &br}
}

// policyDuration formats a bound as "5m", "24h" or "2160h".
func policyDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}
