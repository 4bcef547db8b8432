package iam

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultPoliciesAreValid(t *testing.T) {
	t.Parallel()
	d := DefaultPolicies()
	for name, err := range map[string]error{
		"login": d.Login.Validate(), "password": d.Password.Validate(), "lockout": d.Lockout.Validate(), "branding": d.Branding.Validate(),
	} {
		if err != nil {
			t.Errorf("default %s policy: %v", name, err)
		}
	}
	if d.Login.AllowRegistration || d.Login.ForceMFA || d.Login.SessionLifetime != 24*time.Hour || d.Login.SessionIdleTimeout != 2*time.Hour ||
		d.Password.MinLength != 8 || d.Lockout.MaxPasswordAttempts != 10 || d.Login.Source != SourceDefault {
		t.Errorf("defaults changed: %+v %+v %+v", d.Login, d.Password, d.Lockout)
	}
	c := d.Clone()
	c.Login.AllowedSecondFactors[0] = "x"
	c.Branding.ProductName = "x"
	if d.Login.AllowedSecondFactors[0] != SecondFactorTOTP || d.Branding.ProductName != DefaultProductName {
		t.Error("Clone shares state")
	}
}

func TestPolicyEventTypes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ got, want string }{
		{PolicyEventType(PolicyLogin, "changed"), EventLoginPolicyChanged},
		{PolicyEventType(PolicyLogin, "reset"), EventLoginPolicyReset},
		{PolicyEventType(PolicyPassword, "changed"), EventPasswordPolicyChanged},
		{PolicyEventType(PolicyPassword, "reset"), EventPasswordPolicyReset},
		{PolicyEventType(PolicyLockout, "changed"), EventLockoutPolicyChanged},
		{PolicyEventType(PolicyLockout, "reset"), EventLockoutPolicyReset},
		{PolicyEventType(PolicyBranding, "changed"), EventBrandingChanged},
		{PolicyEventType(PolicyBranding, "reset"), EventBrandingReset},
	} {
		if c.got != c.want {
			t.Errorf("PolicyEventType = %q, want %q", c.got, c.want)
		}
	}
	if PolicyBranding.OrgOverridable() || !PolicyLogin.OrgOverridable() || PolicyKind("x").OrgOverridable() {
		t.Error("OrgOverridable")
	}
}

// wantProblems fails unless err names exactly the fields (each once or
// more) in want; nil want means valid.
func wantProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("err = %v, want valid", err)
		}
		return
	}
	if !IsCode(err, Invalid) {
		t.Fatalf("err = %v, want Invalid naming %v", err, want)
	}
	msg := err.Error()
	for _, f := range want {
		if !strings.Contains(msg, f+": ") {
			t.Errorf("err = %v, want it to name %s", err, f)
		}
	}
	if n := strings.Count(msg, "; ") + 1; n < len(want) {
		t.Errorf("err = %v lists %d problems, want %d", err, n, len(want))
	}
}

func TestLoginPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(p *LoginPolicy)
		want   []string
	}{
		{"default", func(*LoginPolicy) {}, nil},
		{"passkeys only", func(p *LoginPolicy) { p.AllowUsernamePassword = false }, nil},
		{"no method", func(p *LoginPolicy) { p.AllowUsernamePassword, p.AllowPasskeys = false, false }, []string{"allow_username_password"}},
		{"unknown factor", func(p *LoginPolicy) { p.AllowedSecondFactors = []SecondFactor{"sms"} }, []string{"allowed_second_factors"}},
		{"duplicate factor", func(p *LoginPolicy) { p.AllowedSecondFactors = []SecondFactor{"totp", "totp"} }, []string{"allowed_second_factors"}},
		{"no factors", func(p *LoginPolicy) { p.AllowedSecondFactors = nil }, nil},
		{"forced MFA without factors", func(p *LoginPolicy) { p.ForceMFA, p.AllowedSecondFactors = true, nil }, []string{"force_mfa"}},
		{"forced MFA", func(p *LoginPolicy) { p.ForceMFA = true }, nil},
		{"short session", func(p *LoginPolicy) { p.SessionLifetime, p.SessionIdleTimeout = time.Minute, time.Minute }, []string{"session_lifetime"}},
		{"long session", func(p *LoginPolicy) { p.SessionLifetime = 8761 * time.Hour }, []string{"session_lifetime"}},
		{"idle too short", func(p *LoginPolicy) { p.SessionIdleTimeout = time.Second }, []string{"session_idle_timeout"}},
		{"idle beyond lifetime", func(p *LoginPolicy) { p.SessionIdleTimeout = 25 * time.Hour }, []string{"session_idle_timeout"}},
		{"idle equals lifetime", func(p *LoginPolicy) { p.SessionIdleTimeout = p.SessionLifetime }, nil},
		{"remember device", func(p *LoginPolicy) { p.MFARememberDevice = 30 * 24 * time.Hour }, nil},
		{"remember device briefly", func(p *LoginPolicy) { p.MFARememberDevice = time.Minute }, []string{"mfa_remember_device"}},
		{"remember device forever", func(p *LoginPolicy) { p.MFARememberDevice = 91 * 24 * time.Hour }, []string{"mfa_remember_device"}},
		{"everything wrong", func(p *LoginPolicy) {
			*p = LoginPolicy{ForceMFA: true, MFARememberDevice: -1}
		}, []string{"allow_username_password", "force_mfa", "session_lifetime", "session_idle_timeout", "mfa_remember_device"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := DefaultLoginPolicy()
			tc.change(p)
			wantProblems(t, p.Validate(), tc.want...)
		})
	}
}

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	wantProblems(t, (&PasswordPolicy{MinLength: 7}).Validate(), "min_length")
	wantProblems(t, (&PasswordPolicy{MinLength: 129}).Validate(), "min_length")
	wantProblems(t, (&PasswordPolicy{MinLength: 128, RequireSymbol: true}).Validate())

	strict := &PasswordPolicy{MinLength: 10, RequireUpper: true, RequireLower: true, RequireDigit: true, RequireSymbol: true}
	for _, tc := range []struct {
		pw   string
		want []string // substrings, one per expected problem
	}{
		{"Correct-horse-7", nil},
		{"Ünïcödé-Straße-9", nil},
		{"short", []string{"at least 10", "upper-case", "digit", "symbol"}},
		{"alllowercase", []string{"upper-case", "digit", "symbol"}},
		{"ALLUPPERCASE1!", []string{"lower-case"}},
		{"NoDigitsHere!", []string{"digit"}},
		{"NoSymbols123", []string{"symbol"}},
		{"With space 1A", nil},
		{"          ", []string{"white space", "upper-case", "lower-case", "digit"}},
		{"", []string{"at least 10", "upper-case", "lower-case", "digit", "symbol"}},
		{"\xff\xfeInvalid1!", []string{"UTF-8"}},
		{strings.Repeat("aA1!", 65), []string{"at most 256"}},
	} {
		t.Run(tc.pw, func(t *testing.T) {
			t.Parallel()
			fe := strict.Check(tc.pw)
			if len(fe) != len(tc.want) {
				t.Fatalf("Check(%q) = %v, want %d problems %v", tc.pw, fe.Err(), len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if fe[i].Field != "password" || !strings.Contains(fe[i].Message, w) {
					t.Errorf("problem %d = %v, want %q", i, fe[i], w)
				}
			}
		})
	}
	if fe := DefaultPasswordPolicy().Check("eightchr"); fe != nil {
		t.Errorf("default policy refuses an 8-character password: %v", fe.Err())
	}
	if fe := DefaultPasswordPolicy().Check("seven77"); len(fe) != 1 {
		t.Errorf("default policy accepts a 7-character password: %v", fe)
	}
}

func TestLockoutPolicyValidate(t *testing.T) {
	t.Parallel()
	wantProblems(t, (&LockoutPolicy{}).Validate())
	wantProblems(t, (&LockoutPolicy{MaxPasswordAttempts: 1000, MaxOTPAttempts: 1000, IPRateLimitPerMinute: 100000}).Validate())
	wantProblems(t, (&LockoutPolicy{MaxPasswordAttempts: -1, MaxOTPAttempts: 1001, IPRateLimitPerMinute: 100001}).Validate(),
		"max_password_attempts", "max_otp_attempts", "ip_rate_limit_per_minute")
}

func TestBrandingValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		b    Branding
		want []string
	}{
		{"minimal", Branding{ProductName: "Acme", PrimaryColor: "#A1b2C3"}, nil},
		{"with logo", Branding{ProductName: "Acme", LogoURL: "https://cdn.acme.example/logo.svg?v=2", PrimaryColor: "#000000"}, nil},
		{"empty name", Branding{ProductName: "  ", PrimaryColor: "#000000"}, []string{"product_name"}},
		{"long name", Branding{ProductName: strings.Repeat("é", 101), PrimaryColor: "#000000"}, []string{"product_name"}},
		{"control in name", Branding{ProductName: "A\nB", PrimaryColor: "#000000"}, []string{"product_name"}},
		{"http logo", Branding{ProductName: "A", LogoURL: "http://acme.example/l.png", PrimaryColor: "#000000"}, []string{"logo_url"}},
		{"javascript logo", Branding{ProductName: "A", LogoURL: "javascript:alert(1)", PrimaryColor: "#000000"}, []string{"logo_url"}},
		{"data logo", Branding{ProductName: "A", LogoURL: "data:image/png;base64,AAAA", PrimaryColor: "#000000"}, []string{"logo_url"}},
		{"logo without host", Branding{ProductName: "A", LogoURL: "https:///l.png", PrimaryColor: "#000000"}, []string{"logo_url"}},
		{"logo with user", Branding{ProductName: "A", LogoURL: "https://u:p@acme.example/l.png", PrimaryColor: "#000000"}, []string{"logo_url"}},
		{"logo with space", Branding{ProductName: "A", LogoURL: "https://acme.example/my logo.png", PrimaryColor: "#000000"}, []string{"logo_url"}},
		{"short colour", Branding{ProductName: "A", PrimaryColor: "#fff"}, []string{"primary_color"}},
		{"named colour", Branding{ProductName: "A", PrimaryColor: "red"}, []string{"primary_color"}},
		{"css injection", Branding{ProductName: "A", PrimaryColor: "#00000;}"}, []string{"primary_color"}},
		{"all wrong", Branding{LogoURL: "ftp://x", PrimaryColor: ""}, []string{"product_name", "logo_url", "primary_color"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := tc.b
			wantProblems(t, b.Validate(), tc.want...)
		})
	}
	b := Branding{ProductName: " Acme ", LogoURL: " https://a.example/l.png ", PrimaryColor: " #ABCDEF "}
	b.Normalize()
	if b.ProductName != "Acme" || b.LogoURL != "https://a.example/l.png" || b.PrimaryColor != "#abcdef" {
		t.Fatalf("Normalize = %+v", b)
	}
}
