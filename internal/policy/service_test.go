package policy_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/policy"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestDefaultsApplyWhenNothingIsSet(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f := setup(t, s, policy.Options{})
		for _, org := range []string{"", f.x.ID, iam.NewID()} {
			got := f.effective(org)
			if !reflect.DeepEqual(got, iam.DefaultPolicies()) {
				t.Fatalf("effective policies of %q = %+v, want the defaults", org, got)
			}
		}
		ps, err := f.svc.Get(t.Context(), f.in.ID, f.x.ID)
		if err != nil || !reflect.DeepEqual(ps, iam.DefaultPolicies()) {
			t.Fatalf("Get = %+v, %v", ps, err)
		}
		// Get checks the organization, GetEffective does not.
		_, err = f.svc.Get(t.Context(), f.in.ID, f.otherOrg.ID)
		wantCode(t, err, iam.NotFound, "org_id")
	})
}

func TestSetInstanceAndOrgPolicies(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s, policy.Options{})

		// The instance's login policy.
		login := iam.DefaultLoginPolicy()
		login.AllowRegistration, login.ForceMFA = true, true
		login.AllowedSecondFactors = []iam.SecondFactor{iam.SecondFactorTOTP}
		login.SessionLifetime, login.SessionIdleTimeout, login.MFARememberDevice = 12*time.Hour, 30*time.Minute, 720*time.Hour
		got, err := f.svc.SetLogin(ctx, "admin", f.in.ID, "", login)
		if err != nil {
			t.Fatal(err)
		}
		want := login.Clone()
		want.Source, want.Version = iam.SourceInstance, 1
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("SetLogin = %+v,\nwant %+v", got, want)
		}
		for _, org := range []string{"", f.x.ID, f.y.ID} {
			if eff := f.effective(org).Login; !reflect.DeepEqual(eff, want) {
				t.Fatalf("effective login policy of %q = %+v", org, eff)
			}
		}
		// The other instance is not affected.
		if ps, _ := f.svc.GetEffective(ctx, f.other.ID, ""); ps.Login.Source != iam.SourceDefault {
			t.Fatalf("other instance's login policy = %+v", ps.Login)
		}

		// X overrides it; Y keeps the instance's.
		override := iam.DefaultLoginPolicy()
		override.AllowPasskeys = false
		xl, err := f.svc.SetLogin(ctx, "org-admin", f.in.ID, f.x.ID, override)
		if err != nil || xl.Source != iam.SourceOrg || xl.Version != 1 || xl.AllowPasskeys {
			t.Fatalf("override = %+v, %v", xl, err)
		}
		if eff := f.effective(f.x.ID).Login; !reflect.DeepEqual(eff, xl) {
			t.Fatalf("X's effective login policy = %+v, want %+v", eff, xl)
		}
		if eff := f.effective(f.y.ID).Login; eff.Source != iam.SourceInstance || eff.Version != 1 {
			t.Fatalf("Y's effective login policy = %+v", eff)
		}
		if eff := f.effective("").Login; eff.Source != iam.SourceInstance {
			t.Fatalf("instance's login policy after X's override = %+v", eff)
		}

		// Updating at a version: the instance's policy is at version 1.
		login.Version = 1
		login.SessionLifetime = 48 * time.Hour
		upd, err := f.svc.SetLogin(ctx, "admin", f.in.ID, "", login)
		if err != nil || upd.Version != 2 || upd.SessionLifetime != 48*time.Hour {
			t.Fatalf("update = %+v, %v", upd, err)
		}
		// A stale version, and creating what exists.
		_, err = f.svc.SetLogin(ctx, "admin", f.in.ID, "", login)
		wantCode(t, err, iam.Conflict, "")
		login.Version = 0
		_, err = f.svc.SetLogin(ctx, "admin", f.in.ID, "", login)
		wantCode(t, err, iam.Conflict, "")
		// Updating what does not exist.
		pw := iam.DefaultPasswordPolicy()
		pw.Version = 3
		_, err = f.svc.SetPassword(ctx, "admin", f.in.ID, f.y.ID, pw)
		wantCode(t, err, iam.Conflict, "")

		// The other kinds.
		pw.Version, pw.MinLength, pw.RequireSymbol = 0, 14, true
		gotPW, err := f.svc.SetPassword(ctx, "admin", f.in.ID, f.y.ID, pw)
		if err != nil || gotPW.MinLength != 14 || !gotPW.RequireSymbol || gotPW.Source != iam.SourceOrg {
			t.Fatalf("SetPassword = %+v, %v", gotPW, err)
		}
		lo := iam.DefaultLockoutPolicy()
		lo.MaxPasswordAttempts, lo.IPRateLimitPerMinute = 0, 0
		gotLO, err := f.svc.SetLockout(ctx, "admin", f.in.ID, "", lo)
		if err != nil || gotLO.MaxPasswordAttempts != 0 || gotLO.MaxOTPAttempts != iam.DefaultMaxOTPAttempts || gotLO.Source != iam.SourceInstance {
			t.Fatalf("SetLockout = %+v, %v", gotLO, err)
		}
		br := &iam.Branding{ProductName: " Acme Login ", LogoURL: "https://cdn.acme.example/logo.svg", PrimaryColor: "#AABBCC"}
		gotBR, err := f.svc.SetBranding(ctx, "admin", f.in.ID, br)
		if err != nil || gotBR.ProductName != "Acme Login" || gotBR.PrimaryColor != "#aabbcc" || gotBR.Version != 1 {
			t.Fatalf("SetBranding = %+v, %v", gotBR, err)
		}
		y := f.effective(f.y.ID)
		if y.Password.MinLength != 14 || y.Lockout.Source != iam.SourceInstance || y.Branding.ProductName != "Acme Login" || y.Login.Source != iam.SourceInstance {
			t.Fatalf("Y's effective policies = %+v %+v %+v %+v", y.Login, y.Password, y.Lockout, y.Branding)
		}
		if x := f.effective(f.x.ID); x.Password.Source != iam.SourceDefault || x.Password.MinLength != iam.DefaultPasswordMinLength {
			t.Fatalf("X's password policy = %+v", x.Password)
		}

		// Audit events: one per change, naming the level.
		evs := f.events(iam.EventLoginPolicyChanged)
		if len(evs) != 3 {
			t.Fatalf("%d login events, want 3", len(evs))
		}
		if evs[0].AggregateType != iam.AggregatePolicy || evs[0].AggregateID != f.in.ID || evs[0].Actor != "admin" {
			t.Fatalf("instance-level event = %+v", evs[0])
		}
		p1 := payload(t, evs[1])
		if evs[1].AggregateID != f.x.ID || p1["org_id"] != f.x.ID || p1["kind"] != "login" || p1["before"] != nil || p1["version"] != float64(1) {
			t.Fatalf("override event = %+v %v", evs[1], p1)
		}
		p2 := payload(t, evs[2])
		before, _ := p2["before"].(map[string]any)
		after, _ := p2["after"].(map[string]any)
		if before["session_lifetime"] != "12h0m0s" || after["session_lifetime"] != "48h0m0s" || p2["version"] != float64(2) {
			t.Fatalf("update event payload = %v", p2)
		}
		for _, typ := range []string{iam.EventPasswordPolicyChanged, iam.EventLockoutPolicyChanged, iam.EventBrandingChanged} {
			if n := len(f.events(typ)); n != 1 {
				t.Fatalf("%d %s events, want 1", n, typ)
			}
		}

		// Setting the same values again changes nothing.
		same := upd.Clone()
		again, err := f.svc.SetLogin(ctx, "admin", f.in.ID, "", same)
		if err != nil || again.Version != 2 || len(f.events(iam.EventLoginPolicyChanged)) != 3 {
			t.Fatalf("no-op set = %+v, %v", again, err)
		}
	})
}

func TestSetRefusesBadInput(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s, policy.Options{})
		bad := &iam.LoginPolicy{SessionLifetime: time.Minute, AllowedSecondFactors: []iam.SecondFactor{"sms"}}
		_, err := f.svc.SetLogin(ctx, "admin", f.in.ID, "", bad)
		wantCode(t, err, iam.Invalid, "allow_username_password")
		for _, field := range []string{"allowed_second_factors", "session_lifetime", "session_idle_timeout"} {
			if !strings.Contains(err.Error(), field+": ") {
				t.Errorf("error %v does not name %s", err, field)
			}
		}
		_, err = f.svc.SetPassword(ctx, "admin", f.in.ID, "", &iam.PasswordPolicy{MinLength: 4})
		wantCode(t, err, iam.Invalid, "min_length")
		_, err = f.svc.SetLockout(ctx, "admin", f.in.ID, "", &iam.LockoutPolicy{MaxOTPAttempts: -1})
		wantCode(t, err, iam.Invalid, "max_otp_attempts")
		_, err = f.svc.SetBranding(ctx, "admin", f.in.ID, &iam.Branding{ProductName: "A", LogoURL: "http://a.example/l.png", PrimaryColor: "#fff"})
		wantCode(t, err, iam.Invalid, "logo_url")

		// Organizations of other instances and unknown ones.
		for _, org := range []string{f.otherOrg.ID, iam.NewID()} {
			_, err = f.svc.SetLogin(ctx, "admin", f.in.ID, org, iam.DefaultLoginPolicy())
			wantCode(t, err, iam.NotFound, "org_id")
			_, err = f.svc.Reset(ctx, "admin", f.in.ID, org, iam.PolicyLogin, 1)
			wantCode(t, err, iam.NotFound, "org_id")
		}
		// Branding has no organization level.
		_, err = f.svc.Reset(ctx, "admin", f.in.ID, f.x.ID, iam.PolicyBranding, 1)
		wantCode(t, err, iam.Invalid, "org_id")
		_, err = f.svc.Reset(ctx, "admin", f.in.ID, "", "colours", 1)
		wantCode(t, err, iam.Invalid, "kind")
		if evs, _ := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: f.in.ID}); len(evs) != 0 {
			t.Fatalf("refused changes left %d events", len(evs))
		}
	})
}

func TestReset(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s, policy.Options{})
		inst := iam.DefaultLockoutPolicy()
		inst.MaxPasswordAttempts = 3
		if _, err := f.svc.SetLockout(ctx, "admin", f.in.ID, "", inst); err != nil {
			t.Fatal(err)
		}
		over := iam.DefaultLockoutPolicy()
		over.MaxPasswordAttempts = 7
		if _, err := f.svc.SetLockout(ctx, "admin", f.in.ID, f.x.ID, over); err != nil {
			t.Fatal(err)
		}
		// Y has no override.
		_, err := f.svc.Reset(ctx, "admin", f.in.ID, f.y.ID, iam.PolicyLockout, 1)
		wantCode(t, err, iam.NotFound, "")
		// A stale version.
		_, err = f.svc.Reset(ctx, "admin", f.in.ID, f.x.ID, iam.PolicyLockout, 2)
		wantCode(t, err, iam.Conflict, "")

		// Resetting X's override falls back to the instance's policy.
		ps, err := f.svc.Reset(ctx, "org-admin", f.in.ID, f.x.ID, iam.PolicyLockout, 1)
		if err != nil || ps.Lockout.MaxPasswordAttempts != 3 || ps.Lockout.Source != iam.SourceInstance {
			t.Fatalf("after resetting X's override: %+v, %v", ps, err)
		}
		if eff := f.effective(f.x.ID).Lockout; eff.MaxPasswordAttempts != 3 {
			t.Fatalf("X's effective lockout policy = %+v", eff)
		}
		// Resetting the instance's falls back to the default.
		ps, err = f.svc.Reset(ctx, "admin", f.in.ID, "", iam.PolicyLockout, 1)
		if err != nil || !reflect.DeepEqual(ps.Lockout, iam.DefaultLockoutPolicy()) {
			t.Fatalf("after resetting the instance's: %+v, %v", ps.Lockout, err)
		}
		_, err = f.svc.Reset(ctx, "admin", f.in.ID, "", iam.PolicyLockout, 1)
		wantCode(t, err, iam.NotFound, "")

		evs := f.events(iam.EventLockoutPolicyReset)
		if len(evs) != 2 || evs[0].AggregateID != f.x.ID || evs[1].AggregateID != f.in.ID || evs[0].Actor != "org-admin" {
			t.Fatalf("reset events = %+v", evs)
		}
		p := payload(t, evs[0])
		if before, _ := p["before"].(map[string]any); before["max_password_attempts"] != float64(7) || p["org_id"] != f.x.ID {
			t.Fatalf("reset payload = %v", p)
		}
		// A reset policy can be set again from version 0.
		if got, err := f.svc.SetLockout(ctx, "admin", f.in.ID, f.x.ID, over); err != nil || got.Version != 1 {
			t.Fatalf("set after reset = %+v, %v", got, err)
		}
	})
}

// TestStoredBodiesAreReadTolerantly: a body from an older version lacks
// fields (they take their defaults), one from a newer version has fields
// this version does not know (ignored); rows of unknown kinds and branding
// rows of organizations are ignored.
func TestStoredBodiesAreReadTolerantly(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s, policy.Options{})
		put := func(orgID string, kind iam.PolicyKind, body string) {
			t.Helper()
			if _, err := s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: f.in.ID, OrgID: orgID, Kind: kind, Body: json.RawMessage(body), Now: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		put("", iam.PolicyLogin, `{"allow_registration": true, "from_the_future": {"x": 1}}`)
		put("", iam.PolicyPassword, `{}`)
		put("", "notifications", `{"anything": true}`)
		put(f.x.ID, iam.PolicyBranding, `{"product_name": "Not allowed"}`)
		ps := f.effective(f.x.ID)
		want := iam.DefaultLoginPolicy()
		want.AllowRegistration, want.Source, want.Version = true, iam.SourceInstance, 1
		if !reflect.DeepEqual(ps.Login, want) {
			t.Fatalf("login = %+v, want %+v", ps.Login, want)
		}
		if ps.Password.MinLength != iam.DefaultPasswordMinLength || ps.Password.Source != iam.SourceInstance {
			t.Fatalf("password = %+v", ps.Password)
		}
		if ps.Branding.ProductName != iam.DefaultProductName || ps.Branding.Source != iam.SourceDefault {
			t.Fatalf("branding = %+v", ps.Branding)
		}
		// An explicitly empty list of second factors stays empty.
		put(f.y.ID, iam.PolicyLogin, `{"allowed_second_factors": []}`)
		if got := f.effective(f.y.ID).Login; len(got.AllowedSecondFactors) != 0 || got.Source != iam.SourceOrg {
			t.Fatalf("Y's login = %+v", got)
		}
		// A corrupt body is an internal error, not a silent default.
		if _, err := s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: f.in.ID, Kind: iam.PolicyLockout, Body: json.RawMessage(`{"max_otp_attempts": "many"}`), Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.GetEffective(ctx, f.in.ID, "")
		wantCode(t, err, iam.Internal, "")
	})
}
