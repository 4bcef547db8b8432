package bootstrap

import (
	"fmt"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// Policies declares an instance's policies. Each declared kind is set when
// the instance has no policy of that kind yet; a policy set before (by an
// earlier start or through the admin API) is left as it is. Keys left out
// take the built-in defaults.
type Policies struct {
	Login    *LoginPolicy    `yaml:"login"`
	Password *PasswordPolicy `yaml:"password"`
	Lockout  *LockoutPolicy  `yaml:"lockout"`
	Branding *Branding       `yaml:"branding"`
}

// LoginPolicy declares the login policy (see iam.LoginPolicy).
type LoginPolicy struct {
	AllowUsernamePassword *bool `yaml:"allow-username-password"`
	AllowPasskeys         *bool `yaml:"allow-passkeys"`
	AllowRegistration     *bool `yaml:"allow-registration"`
	ForceMFA              *bool `yaml:"force-mfa"`
	// AllowedSecondFactors lists totp, webauthn and email_otp; an empty
	// list allows none.
	AllowedSecondFactors *[]string     `yaml:"allowed-second-factors"`
	SessionLifetime      time.Duration `yaml:"session-lifetime"`
	SessionIdleTimeout   time.Duration `yaml:"session-idle-timeout"`
	// MFARememberDevice: 0 (the default) turns remembering off.
	MFARememberDevice time.Duration `yaml:"mfa-remember-device"`
}

// PasswordPolicy declares the password policy (see iam.PasswordPolicy).
type PasswordPolicy struct {
	MinLength     int   `yaml:"min-length"`
	RequireUpper  *bool `yaml:"require-upper"`
	RequireLower  *bool `yaml:"require-lower"`
	RequireDigit  *bool `yaml:"require-digit"`
	RequireSymbol *bool `yaml:"require-symbol"`
}

// LockoutPolicy declares the lockout policy (see iam.LockoutPolicy). A
// value of 0 turns a limit off.
type LockoutPolicy struct {
	MaxPasswordAttempts  *int `yaml:"max-password-attempts"`
	MaxOTPAttempts       *int `yaml:"max-otp-attempts"`
	IPRateLimitPerMinute *int `yaml:"ip-rate-limit-per-minute"`
}

// Branding declares the instance's branding (see iam.Branding).
type Branding struct {
	ProductName  string `yaml:"product-name"`
	LogoURL      string `yaml:"logo-url"`
	PrimaryColor string `yaml:"primary-color"`
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func (l *LoginPolicy) domain() *iam.LoginPolicy {
	d := iam.DefaultLoginPolicy()
	setBool(&d.AllowUsernamePassword, l.AllowUsernamePassword)
	setBool(&d.AllowPasskeys, l.AllowPasskeys)
	setBool(&d.AllowRegistration, l.AllowRegistration)
	setBool(&d.ForceMFA, l.ForceMFA)
	if l.AllowedSecondFactors != nil {
		d.AllowedSecondFactors = []iam.SecondFactor{}
		for _, f := range *l.AllowedSecondFactors {
			d.AllowedSecondFactors = append(d.AllowedSecondFactors, iam.SecondFactor(f))
		}
	}
	if l.SessionLifetime != 0 {
		d.SessionLifetime = l.SessionLifetime
	}
	if l.SessionIdleTimeout != 0 {
		d.SessionIdleTimeout = l.SessionIdleTimeout
	}
	d.MFARememberDevice = l.MFARememberDevice
	return d
}

func (p *PasswordPolicy) domain() *iam.PasswordPolicy {
	d := iam.DefaultPasswordPolicy()
	if p.MinLength != 0 {
		d.MinLength = p.MinLength
	}
	setBool(&d.RequireUpper, p.RequireUpper)
	setBool(&d.RequireLower, p.RequireLower)
	setBool(&d.RequireDigit, p.RequireDigit)
	setBool(&d.RequireSymbol, p.RequireSymbol)
	return d
}

func (l *LockoutPolicy) domain() *iam.LockoutPolicy {
	d := iam.DefaultLockoutPolicy()
	setInt(&d.MaxPasswordAttempts, l.MaxPasswordAttempts)
	setInt(&d.MaxOTPAttempts, l.MaxOTPAttempts)
	setInt(&d.IPRateLimitPerMinute, l.IPRateLimitPerMinute)
	return d
}

func (b *Branding) domain() *iam.Branding {
	d := iam.DefaultBranding()
	if b.ProductName != "" {
		d.ProductName = b.ProductName
	}
	d.LogoURL = b.LogoURL
	if b.PrimaryColor != "" {
		d.PrimaryColor = b.PrimaryColor
	}
	d.Normalize()
	return d
}

// policies checks the declared policies through the domain's rules.
func (c *checker) policies(p string, ps *Policies) {
	if ps == nil {
		return
	}
	if ps.Login != nil {
		c.domain(p+".login", ps.Login.domain().Validate())
	}
	if ps.Password != nil {
		c.domain(p+".password", ps.Password.domain().Validate())
	}
	if ps.Lockout != nil {
		c.domain(p+".lockout", ps.Lockout.domain().Validate())
	}
	if ps.Branding != nil {
		c.domain(p+".branding", ps.Branding.domain().Validate())
	}
}

// policies sets each declared policy the instance has no policy of yet.
func (a *applier) policies(p, instanceID string, ps *Policies) error {
	if ps == nil {
		return nil
	}
	if a.Policies == nil {
		return fmt.Errorf("%s: policies are declared but no policy service is configured", p)
	}
	current, err := a.Policies.Get(a.ctx, instanceID, "")
	if err != nil {
		return fmt.Errorf("%s: read policies: %w", p, err)
	}
	type item struct {
		kind iam.PolicyKind
		set  bool
		// source is where the instance's policy of kind comes from now.
		source iam.PolicySource
		apply  func() error
	}
	items := []item{
		{iam.PolicyLogin, ps.Login != nil, current.Login.Source, func() error {
			_, err := a.Policies.SetLogin(a.ctx, Actor, instanceID, "", ps.Login.domain())
			return err
		}},
		{iam.PolicyPassword, ps.Password != nil, current.Password.Source, func() error {
			_, err := a.Policies.SetPassword(a.ctx, Actor, instanceID, "", ps.Password.domain())
			return err
		}},
		{iam.PolicyLockout, ps.Lockout != nil, current.Lockout.Source, func() error {
			_, err := a.Policies.SetLockout(a.ctx, Actor, instanceID, "", ps.Lockout.domain())
			return err
		}},
		{iam.PolicyBranding, ps.Branding != nil, current.Branding.Source, func() error {
			_, err := a.Policies.SetBranding(a.ctx, Actor, instanceID, ps.Branding.domain())
			return err
		}},
	}
	for _, it := range items {
		if !it.set {
			continue
		}
		if it.source != iam.SourceDefault {
			a.res.Existing++
			continue
		}
		// Version 0 creates; Conflict means another node created it first.
		err := it.apply()
		switch {
		case iam.IsCode(err, iam.Conflict):
			a.res.Existing++
		case err != nil:
			return fmt.Errorf("%s.%s: set policy: %w", p, it.kind, err)
		default:
			a.res.Created++
			a.Log.Info("bootstrap set the "+string(it.kind)+" policy", "path", p+"."+string(it.kind))
		}
	}
	return nil
}
