package bootstrap

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/policy"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

const policiesFile = `
instances:
  - name: Policies
    domain: policies.test
    policies:
      login:
        allow-registration: true
        force-mfa: true
        allowed-second-factors: [totp, webauthn]
        session-lifetime: 8h
        mfa-remember-device: 168h
      password:
        min-length: 12
        require-digit: true
      lockout:
        max-password-attempts: 0
      branding:
        product-name: Policies Inc.
        logo-url: https://cdn.policies.test/logo.svg
        primary-color: "#FF0000"
`

func TestApplyPoliciesOnce(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f, err := Parse([]byte(policiesFile))
		if err != nil {
			t.Fatal(err)
		}
		svc := services(t, s)
		svc.Policies = policy.New(s, policy.Options{})
		first, err := svc.Apply(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		// The instance and four policies.
		if first.Created != 5 || first.Existing != 0 {
			t.Fatalf("first apply = %+v", first)
		}
		inst, err := svc.Instances.GetByHost(ctx, "policies.test")
		if err != nil {
			t.Fatal(err)
		}
		ps, err := svc.Policies.GetEffective(ctx, inst.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		login := iam.DefaultLoginPolicy()
		login.AllowRegistration, login.ForceMFA = true, true
		login.AllowedSecondFactors = []iam.SecondFactor{iam.SecondFactorTOTP, iam.SecondFactorWebAuthn}
		login.SessionLifetime, login.MFARememberDevice = 8*time.Hour, 168*time.Hour
		login.Source, login.Version = iam.SourceInstance, 1
		if !reflect.DeepEqual(ps.Login, login) {
			t.Fatalf("login = %+v,\nwant %+v", ps.Login, login)
		}
		if p := ps.Password; p.MinLength != 12 || !p.RequireDigit || p.RequireUpper || p.Source != iam.SourceInstance {
			t.Fatalf("password = %+v", p)
		}
		if p := ps.Lockout; p.MaxPasswordAttempts != 0 || p.MaxOTPAttempts != iam.DefaultMaxOTPAttempts || p.Source != iam.SourceInstance {
			t.Fatalf("lockout = %+v", p)
		}
		if b := ps.Branding; b.ProductName != "Policies Inc." || b.PrimaryColor != "#ff0000" || b.LogoURL != "https://cdn.policies.test/logo.svg" {
			t.Fatalf("branding = %+v", b)
		}
		events, err := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: inst.ID, AggregateType: iam.AggregatePolicy})
		if err != nil || len(events) != 4 || events[0].Actor != Actor {
			t.Fatalf("policy events = %d, %v", len(events), err)
		}

		// A policy changed through the API afterwards is kept; a reset one
		// is set again.
		pw := ps.Password
		pw.MinLength = 20
		if _, err := svc.Policies.SetPassword(ctx, "admin", inst.ID, "", pw); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Policies.Reset(ctx, "admin", inst.ID, "", iam.PolicyBranding, 1); err != nil {
			t.Fatal(err)
		}
		second, err := svc.Apply(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if second.Created != 1 || second.Existing != 4 {
			t.Fatalf("second apply = %+v", second)
		}
		ps, err = svc.Policies.GetEffective(ctx, inst.ID, "")
		if err != nil || ps.Password.MinLength != 20 || ps.Branding.ProductName != "Policies Inc." {
			t.Fatalf("after the second apply: %+v %+v, %v", ps.Password, ps.Branding, err)
		}
		third, err := svc.Apply(ctx, f)
		if err != nil || third.Created != 0 || third.Existing != 5 {
			t.Fatalf("third apply = %+v, %v", third, err)
		}

		// Without a policy service, declaring policies is an error.
		svc.Policies = nil
		if _, err := svc.Apply(ctx, f); err == nil || !strings.Contains(err.Error(), "instances[0].policies") {
			t.Fatalf("apply without a policy service: %v", err)
		}
	})
}

func TestValidatePolicies(t *testing.T) {
	t.Parallel()
	f, err := Parse([]byte(`
instances:
  - name: Bad
    domain: bad.test
    policies:
      login:
        allow-username-password: false
        allow-passkeys: false
        allowed-second-factors: [sms]
        session-idle-timeout: 48h
      password:
        min-length: 4
      lockout:
        max-otp-attempts: -1
      branding:
        logo-url: http://bad.test/logo.png
        primary-color: red
`))
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(f, time.Now())
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a ValidationError", err)
	}
	for _, want := range []string{
		"instances[0].policies.login: allow_username_password: ",
		"allowed_second_factors: ",
		"session_idle_timeout: ",
		"instances[0].policies.password: min_length: ",
		"instances[0].policies.lockout: max_otp_attempts: ",
		"instances[0].policies.branding: logo_url: ",
		"primary_color: ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\ndoes not name %q", err, want)
		}
	}
	// An explicitly empty list of second factors is kept.
	f, err = Parse([]byte("instances:\n  - name: A\n    domain: a.test\n    policies:\n      login:\n        allowed-second-factors: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Instances[0].Policies.Login.domain(); len(got.AllowedSecondFactors) != 0 || got.AllowedSecondFactors == nil {
		t.Fatalf("empty factor list = %#v", got.AllowedSecondFactors)
	}
	// Unknown keys are errors.
	if _, err := Parse([]byte("instances:\n  - name: A\n    domain: a.test\n    policies:\n      login:\n        allow-sms: true\n")); err == nil || !strings.Contains(err.Error(), "allow-sms") {
		t.Fatalf("unknown key: %v", err)
	}
}
