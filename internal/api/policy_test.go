package api_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// TestPolicyService drives PolicyService over HTTP: defaults, the
// instance's policies, an organization's override and its reset, versions,
// validation and branding, each as the role the authorization table names.
func TestPolicyService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		a := h.newWorld(t, "A", "a.test", false)
		client := func(role iam.MemberRole) adminv1connect.PolicyServiceClient {
			return adminv1connect.NewPolicyServiceClient(h.client, h.url(a.host), bearer(a.tokens[role]))
		}
		owner, orgOwner, orgViewer := client(iam.RoleInstanceOwner), client(iam.RoleOrgOwner), client(iam.RoleOrgViewer)

		// Nothing set: the defaults, at version 0.
		got, err := client(iam.RoleInstanceViewer).GetLoginPolicy(ctx, connect.NewRequest(&adminv1.GetLoginPolicyRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if p := got.Msg.Policy; p.Source != adminv1.PolicySource_POLICY_SOURCE_DEFAULT || p.Version != 0 || !p.AllowUsernamePassword ||
			p.AllowRegistration || p.SessionLifetime.AsDuration() != 24*time.Hour || len(p.AllowedSecondFactors) != 3 {
			t.Fatalf("default login policy = %v", p)
		}

		// The instance's policy.
		set := &adminv1.SetLoginPolicyRequest{
			AllowUsernamePassword: true, AllowRegistration: true, ForceMfa: true,
			AllowedSecondFactors: []adminv1.SecondFactor{adminv1.SecondFactor_SECOND_FACTOR_WEBAUTHN, adminv1.SecondFactor_SECOND_FACTOR_TOTP},
			SessionLifetime:      durationpb.New(8 * time.Hour), SessionIdleTimeout: durationpb.New(time.Hour),
			MfaRememberDevice: durationpb.New(7 * 24 * time.Hour),
		}
		res, err := owner.SetLoginPolicy(ctx, connect.NewRequest(set))
		if err != nil {
			t.Fatal(err)
		}
		if p := res.Msg.Policy; p.Source != adminv1.PolicySource_POLICY_SOURCE_INSTANCE || p.Version != 1 || p.AllowPasskeys || !p.ForceMfa ||
			!slices.Equal(p.AllowedSecondFactors, set.AllowedSecondFactors) || p.MfaRememberDevice.AsDuration() != 7*24*time.Hour {
			t.Fatalf("set = %v", p)
		}
		// An organization's owner may not change the instance's policy.
		_, err = orgOwner.SetLoginPolicy(ctx, connect.NewRequest(set))
		wantCode(t, "org owner on the instance", err, connect.CodePermissionDenied)
		// The same version again: aborted.
		_, err = owner.SetLoginPolicy(ctx, connect.NewRequest(set))
		wantCode(t, "stale version", err, connect.CodeAborted)

		// X inherits it: version 0 at X's level.
		xGet, err := orgViewer.GetLoginPolicy(ctx, connect.NewRequest(&adminv1.GetLoginPolicyRequest{OrgId: a.x.ID}))
		if err != nil {
			t.Fatal(err)
		}
		if p := xGet.Msg.Policy; p.Source != adminv1.PolicySource_POLICY_SOURCE_INSTANCE || p.Version != 0 || !p.ForceMfa {
			t.Fatalf("X's inherited policy = %v", p)
		}
		// X's owner overrides it, starting from what X sees.
		override := &adminv1.SetLoginPolicyRequest{
			OrgId: a.x.ID, Version: xGet.Msg.Policy.Version, AllowUsernamePassword: true, AllowPasskeys: true,
			AllowedSecondFactors: xGet.Msg.Policy.AllowedSecondFactors, SessionLifetime: xGet.Msg.Policy.SessionLifetime,
			SessionIdleTimeout: xGet.Msg.Policy.SessionIdleTimeout,
		}
		xSet, err := orgOwner.SetLoginPolicy(ctx, connect.NewRequest(override))
		if err != nil {
			t.Fatal(err)
		}
		if p := xSet.Msg.Policy; p.Source != adminv1.PolicySource_POLICY_SOURCE_ORGANIZATION || p.Version != 1 || p.ForceMfa || !p.AllowPasskeys {
			t.Fatalf("X's override = %v", p)
		}
		_, err = orgViewer.SetLoginPolicy(ctx, connect.NewRequest(override))
		wantCode(t, "org viewer", err, connect.CodePermissionDenied)
		// Y and the instance are unchanged.
		for _, org := range []string{"", a.y.ID} {
			g, err := owner.GetLoginPolicy(ctx, connect.NewRequest(&adminv1.GetLoginPolicyRequest{OrgId: org}))
			if err != nil || g.Msg.Policy.Source != adminv1.PolicySource_POLICY_SOURCE_INSTANCE || !g.Msg.Policy.ForceMfa {
				t.Fatalf("policy of %q after X's override = %v, %v", org, g, err)
			}
		}
		// Resetting X's override: X inherits again.
		reset, err := orgOwner.ResetLoginPolicy(ctx, connect.NewRequest(&adminv1.ResetLoginPolicyRequest{OrgId: a.x.ID, Version: 1}))
		if err != nil {
			t.Fatal(err)
		}
		if p := reset.Msg.Policy; p.Source != adminv1.PolicySource_POLICY_SOURCE_INSTANCE || p.Version != 0 || !p.ForceMfa {
			t.Fatalf("after reset = %v", p)
		}
		_, err = orgOwner.ResetLoginPolicy(ctx, connect.NewRequest(&adminv1.ResetLoginPolicyRequest{OrgId: a.x.ID, Version: 1}))
		wantCode(t, "reset twice", err, connect.CodeNotFound)

		// Validation names every field.
		_, err = owner.SetLoginPolicy(ctx, connect.NewRequest(&adminv1.SetLoginPolicyRequest{Version: 1, ForceMfa: true}))
		wantCode(t, "invalid login policy", err, connect.CodeInvalidArgument)
		wantFields(t, err, "allow_username_password", "force_mfa", "session_lifetime", "session_idle_timeout")
		_, err = owner.SetLoginPolicy(ctx, connect.NewRequest(&adminv1.SetLoginPolicyRequest{Version: 1,
			AllowedSecondFactors: []adminv1.SecondFactor{adminv1.SecondFactor_SECOND_FACTOR_UNSPECIFIED},
			SessionLifetime:      &durationpb.Duration{Seconds: 1, Nanos: -1}}))
		wantCode(t, "bad enum and duration", err, connect.CodeInvalidArgument)
		wantFields(t, err, "allowed_second_factors", "session_lifetime")
		_, err = owner.SetPasswordPolicy(ctx, connect.NewRequest(&adminv1.SetPasswordPolicyRequest{MinLength: 6}))
		wantCode(t, "short min length", err, connect.CodeInvalidArgument)
		wantFields(t, err, "min_length")

		// Password and lockout policies.
		pw, err := owner.SetPasswordPolicy(ctx, connect.NewRequest(&adminv1.SetPasswordPolicyRequest{MinLength: 12, RequireUpper: true}))
		if err != nil || pw.Msg.Policy.MinLength != 12 || !pw.Msg.Policy.RequireUpper || pw.Msg.Policy.Version != 1 {
			t.Fatalf("set password policy = %v, %v", pw, err)
		}
		lo, err := orgOwner.SetLockoutPolicy(ctx, connect.NewRequest(&adminv1.SetLockoutPolicyRequest{OrgId: a.x.ID, MaxPasswordAttempts: 3}))
		if err != nil || lo.Msg.Policy.MaxPasswordAttempts != 3 || lo.Msg.Policy.MaxOtpAttempts != 0 || lo.Msg.Policy.Source != adminv1.PolicySource_POLICY_SOURCE_ORGANIZATION {
			t.Fatalf("set X's lockout policy = %v, %v", lo, err)
		}
		gotLO, err := orgViewer.GetLockoutPolicy(ctx, connect.NewRequest(&adminv1.GetLockoutPolicyRequest{OrgId: a.x.ID}))
		if err != nil || gotLO.Msg.Policy.MaxPasswordAttempts != 3 || gotLO.Msg.Policy.Version != 1 {
			t.Fatalf("X's lockout policy = %v, %v", gotLO, err)
		}
		gotPW, err := orgViewer.GetPasswordPolicy(ctx, connect.NewRequest(&adminv1.GetPasswordPolicyRequest{OrgId: a.x.ID}))
		if err != nil || gotPW.Msg.Policy.MinLength != 12 || gotPW.Msg.Policy.Version != 0 {
			t.Fatalf("X's password policy = %v, %v", gotPW, err)
		}
		// The service sees what the API set.
		eff, err := h.policies.GetEffective(ctx, a.in.ID, a.x.ID)
		if err != nil || eff.Lockout.MaxPasswordAttempts != 3 || eff.Password.MinLength != 12 || !eff.Login.ForceMFA {
			t.Fatalf("effective policies of X = %+v, %v", eff, err)
		}

		// Branding.
		br, err := owner.GetBranding(ctx, connect.NewRequest(&adminv1.GetBrandingRequest{}))
		if err != nil || br.Msg.Branding.ProductName != iam.DefaultProductName || br.Msg.Branding.Source != adminv1.PolicySource_POLICY_SOURCE_DEFAULT {
			t.Fatalf("default branding = %v, %v", br, err)
		}
		_, err = owner.SetBranding(ctx, connect.NewRequest(&adminv1.SetBrandingRequest{ProductName: "", LogoUrl: "http://a.test/logo.png", PrimaryColor: "blue"}))
		wantCode(t, "invalid branding", err, connect.CodeInvalidArgument)
		wantFields(t, err, "product_name", "logo_url", "primary_color")
		setBR, err := owner.SetBranding(ctx, connect.NewRequest(&adminv1.SetBrandingRequest{ProductName: "A Login", LogoUrl: "https://a.test/logo.png", PrimaryColor: "#FF8800"}))
		if err != nil || setBR.Msg.Branding.PrimaryColor != "#ff8800" || setBR.Msg.Branding.Version != 1 || setBR.Msg.Branding.Source != adminv1.PolicySource_POLICY_SOURCE_INSTANCE {
			t.Fatalf("set branding = %v, %v", setBR, err)
		}
		_, err = orgOwner.SetBranding(ctx, connect.NewRequest(&adminv1.SetBrandingRequest{Version: 1, ProductName: "Mine", PrimaryColor: "#000000"}))
		wantCode(t, "org owner sets branding", err, connect.CodePermissionDenied)
		resetBR, err := owner.ResetBranding(ctx, connect.NewRequest(&adminv1.ResetBrandingRequest{Version: 1}))
		if err != nil || resetBR.Msg.Branding.ProductName != iam.DefaultProductName || resetBR.Msg.Branding.Version != 0 {
			t.Fatalf("reset branding = %v, %v", resetBR, err)
		}

		// Every change is in the audit log, by the calling user.
		events, err := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: a.in.ID, AggregateType: iam.AggregatePolicy})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range events {
			types = append(types, ev.EventType)
		}
		want := []string{iam.EventLoginPolicyChanged, iam.EventLoginPolicyChanged, iam.EventLoginPolicyReset, iam.EventPasswordPolicyChanged,
			iam.EventLockoutPolicyChanged, iam.EventBrandingChanged, iam.EventBrandingReset}
		if !slices.Equal(types, want) {
			t.Fatalf("events = %v, want %v", types, want)
		}
		if events[1].Actor != a.users[iam.RoleOrgOwner].ID || events[1].AggregateID != a.x.ID {
			t.Fatalf("X's override event = %+v", events[1])
		}
	})
}

// wantFields fails unless the Connect error's message names every field.
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a Connect error", err)
	}
	for _, f := range fields {
		if !strings.Contains(ce.Message(), f+": ") {
			t.Errorf("message %q does not name %s", ce.Message(), f)
		}
	}
}
