package policy

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// The stored form of each policy kind. Field names are part of the schema:
// never rename one, only add.

// duration is a time.Duration stored as a Go duration string ("24h0m0s").
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = duration(v)
	return nil
}

type loginBody struct {
	AllowUsernamePassword bool               `json:"allow_username_password"`
	AllowPasskeys         bool               `json:"allow_passkeys"`
	AllowRegistration     bool               `json:"allow_registration"`
	ForceMFA              bool               `json:"force_mfa"`
	AllowedSecondFactors  []iam.SecondFactor `json:"allowed_second_factors"`
	SessionLifetime       duration           `json:"session_lifetime"`
	SessionIdleTimeout    duration           `json:"session_idle_timeout"`
	MFARememberDevice     duration           `json:"mfa_remember_device"`
}

func loginToBody(p *iam.LoginPolicy) *loginBody {
	factors := append([]iam.SecondFactor{}, p.AllowedSecondFactors...)
	return &loginBody{
		AllowUsernamePassword: p.AllowUsernamePassword, AllowPasskeys: p.AllowPasskeys,
		AllowRegistration: p.AllowRegistration, ForceMFA: p.ForceMFA, AllowedSecondFactors: factors,
		SessionLifetime: duration(p.SessionLifetime), SessionIdleTimeout: duration(p.SessionIdleTimeout),
		MFARememberDevice: duration(p.MFARememberDevice),
	}
}

func (b *loginBody) policy() *iam.LoginPolicy {
	return &iam.LoginPolicy{
		AllowUsernamePassword: b.AllowUsernamePassword, AllowPasskeys: b.AllowPasskeys,
		AllowRegistration: b.AllowRegistration, ForceMFA: b.ForceMFA,
		AllowedSecondFactors: append([]iam.SecondFactor{}, b.AllowedSecondFactors...),
		SessionLifetime:      time.Duration(b.SessionLifetime), SessionIdleTimeout: time.Duration(b.SessionIdleTimeout),
		MFARememberDevice: time.Duration(b.MFARememberDevice),
	}
}

type passwordBody struct {
	MinLength     int  `json:"min_length"`
	RequireUpper  bool `json:"require_upper"`
	RequireLower  bool `json:"require_lower"`
	RequireDigit  bool `json:"require_digit"`
	RequireSymbol bool `json:"require_symbol"`
}

func passwordToBody(p *iam.PasswordPolicy) *passwordBody {
	return &passwordBody{MinLength: p.MinLength, RequireUpper: p.RequireUpper, RequireLower: p.RequireLower,
		RequireDigit: p.RequireDigit, RequireSymbol: p.RequireSymbol}
}

func (b *passwordBody) policy() *iam.PasswordPolicy {
	return &iam.PasswordPolicy{MinLength: b.MinLength, RequireUpper: b.RequireUpper, RequireLower: b.RequireLower,
		RequireDigit: b.RequireDigit, RequireSymbol: b.RequireSymbol}
}

type lockoutBody struct {
	MaxPasswordAttempts  int `json:"max_password_attempts"`
	MaxOTPAttempts       int `json:"max_otp_attempts"`
	IPRateLimitPerMinute int `json:"ip_rate_limit_per_minute"`
}

func lockoutToBody(p *iam.LockoutPolicy) *lockoutBody {
	return &lockoutBody{MaxPasswordAttempts: p.MaxPasswordAttempts, MaxOTPAttempts: p.MaxOTPAttempts, IPRateLimitPerMinute: p.IPRateLimitPerMinute}
}

func (b *lockoutBody) policy() *iam.LockoutPolicy {
	return &iam.LockoutPolicy{MaxPasswordAttempts: b.MaxPasswordAttempts, MaxOTPAttempts: b.MaxOTPAttempts, IPRateLimitPerMinute: b.IPRateLimitPerMinute}
}

type brandingBody struct {
	ProductName  string `json:"product_name"`
	LogoURL      string `json:"logo_url"`
	PrimaryColor string `json:"primary_color"`
}

func brandingToBody(b *iam.Branding) *brandingBody {
	return &brandingBody{ProductName: b.ProductName, LogoURL: b.LogoURL, PrimaryColor: b.PrimaryColor}
}

func (b *brandingBody) policy() *iam.Branding {
	return &iam.Branding{ProductName: b.ProductName, LogoURL: b.LogoURL, PrimaryColor: b.PrimaryColor}
}

// encode returns the stored form of a policy (*iam.LoginPolicy,
// *iam.PasswordPolicy, *iam.LockoutPolicy or *iam.Branding) and its kind.
func encode(v any) (iam.PolicyKind, json.RawMessage, error) {
	var kind iam.PolicyKind
	var body any
	switch p := v.(type) {
	case *iam.LoginPolicy:
		kind, body = iam.PolicyLogin, loginToBody(p)
	case *iam.PasswordPolicy:
		kind, body = iam.PolicyPassword, passwordToBody(p)
	case *iam.LockoutPolicy:
		kind, body = iam.PolicyLockout, lockoutToBody(p)
	case *iam.Branding:
		kind, body = iam.PolicyBranding, brandingToBody(p)
	default:
		return "", nil, fmt.Errorf("policy: cannot encode %T", v)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", nil, fmt.Errorf("policy: encode %s: %w", kind, err)
	}
	return kind, b, nil
}

// decode sets the policy of kind in ps from a stored body, laid over the
// defaults (fields the body lacks keep their default), with its source and
// version. Unknown kinds are ignored.
func decode(ps *iam.Policies, kind iam.PolicyKind, body json.RawMessage, source iam.PolicySource, version int64) error {
	switch kind {
	case iam.PolicyLogin:
		b := loginToBody(iam.DefaultLoginPolicy())
		if err := json.Unmarshal(body, b); err != nil {
			return fmt.Errorf("policy: decode %s: %w", kind, err)
		}
		ps.Login = b.policy()
		ps.Login.Source, ps.Login.Version = source, version
	case iam.PolicyPassword:
		b := passwordToBody(iam.DefaultPasswordPolicy())
		if err := json.Unmarshal(body, b); err != nil {
			return fmt.Errorf("policy: decode %s: %w", kind, err)
		}
		ps.Password = b.policy()
		ps.Password.Source, ps.Password.Version = source, version
	case iam.PolicyLockout:
		b := lockoutToBody(iam.DefaultLockoutPolicy())
		if err := json.Unmarshal(body, b); err != nil {
			return fmt.Errorf("policy: decode %s: %w", kind, err)
		}
		ps.Lockout = b.policy()
		ps.Lockout.Source, ps.Lockout.Version = source, version
	case iam.PolicyBranding:
		b := brandingToBody(iam.DefaultBranding())
		if err := json.Unmarshal(body, b); err != nil {
			return fmt.Errorf("policy: decode %s: %w", kind, err)
		}
		ps.Branding = b.policy()
		ps.Branding.Source, ps.Branding.Version = source, version
	}
	return nil
}
