package policyapi

import (
	"context"
	"errors"
	"math"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/policy"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// server implements PolicyService in the request's instance.
type server struct {
	svc *policy.Service
}

var _ adminv1connect.PolicyServiceHandler = (*server)(nil)

// NewPolicyServer returns the PolicyService handler.
func NewPolicyServer(svc *policy.Service) adminv1connect.PolicyServiceHandler {
	return &server{svc: svc}
}

// instanceID returns the ID of the request's instance.
func instanceID(ctx context.Context) (string, error) {
	in := reqctx.Instance(ctx)
	if in == nil {
		return "", errors.New("admin API: no instance in the request context")
	}
	return in.ID, nil
}

var sourceToProto = map[iam.PolicySource]adminv1.PolicySource{
	iam.SourceDefault:  adminv1.PolicySource_POLICY_SOURCE_DEFAULT,
	iam.SourceInstance: adminv1.PolicySource_POLICY_SOURCE_INSTANCE,
	iam.SourceOrg:      adminv1.PolicySource_POLICY_SOURCE_ORGANIZATION,
}

// levelVersion is the version the API reports for a policy read at the
// level orgID: the stored version if the values come from that level, 0
// if they are inherited.
func levelVersion(orgID string, source iam.PolicySource, version int64) int64 {
	if orgID == "" && source == iam.SourceInstance || orgID != "" && source == iam.SourceOrg {
		return version
	}
	return 0
}

var (
	factorToProto = map[iam.SecondFactor]adminv1.SecondFactor{
		iam.SecondFactorTOTP:     adminv1.SecondFactor_SECOND_FACTOR_TOTP,
		iam.SecondFactorWebAuthn: adminv1.SecondFactor_SECOND_FACTOR_WEBAUTHN,
		iam.SecondFactorEmailOTP: adminv1.SecondFactor_SECOND_FACTOR_EMAIL_OTP,
	}
	factorFromProto = map[adminv1.SecondFactor]iam.SecondFactor{
		adminv1.SecondFactor_SECOND_FACTOR_TOTP:      iam.SecondFactorTOTP,
		adminv1.SecondFactor_SECOND_FACTOR_WEBAUTHN:  iam.SecondFactorWebAuthn,
		adminv1.SecondFactor_SECOND_FACTOR_EMAIL_OTP: iam.SecondFactorEmailOTP,
	}
)

func factors(in []adminv1.SecondFactor) ([]iam.SecondFactor, error) {
	out := make([]iam.SecondFactor, 0, len(in))
	for _, f := range in {
		d, ok := factorFromProto[f]
		if !ok {
			return nil, &iam.Error{Code: iam.Invalid, Field: "allowed_second_factors", Message: "unknown second factor " + f.String()}
		}
		out = append(out, d)
	}
	return out, nil
}

// durations converts optional durations (nil: 0), reporting every invalid
// one at once.
func durations(fields []string, ds ...*durationpb.Duration) ([]time.Duration, error) {
	var fe iam.FieldErrors
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		if d == nil {
			continue
		}
		if err := d.CheckValid(); err != nil {
			fe.Add(fields[i], "not a valid duration")
			continue
		}
		out[i] = d.AsDuration()
	}
	return out, fe.Err()
}

// int32s converts a count to the API's int32, saturating.
func int32s(n int) int32 { return int32(max(min(n, math.MaxInt32), math.MinInt32)) }

func loginToProto(orgID string, p *iam.LoginPolicy) *adminv1.LoginPolicy {
	out := &adminv1.LoginPolicy{
		AllowUsernamePassword: p.AllowUsernamePassword, AllowPasskeys: p.AllowPasskeys,
		AllowRegistration: p.AllowRegistration, ForceMfa: p.ForceMFA,
		SessionLifetime: durationpb.New(p.SessionLifetime), SessionIdleTimeout: durationpb.New(p.SessionIdleTimeout),
		MfaRememberDevice: durationpb.New(p.MFARememberDevice),
		Source:            sourceToProto[p.Source], Version: levelVersion(orgID, p.Source, p.Version),
	}
	for _, f := range p.AllowedSecondFactors {
		out.AllowedSecondFactors = append(out.AllowedSecondFactors, factorToProto[f])
	}
	return out
}

func passwordToProto(orgID string, p *iam.PasswordPolicy) *adminv1.PasswordPolicy {
	return &adminv1.PasswordPolicy{
		MinLength: int32s(p.MinLength), RequireUpper: p.RequireUpper, RequireLower: p.RequireLower,
		RequireDigit: p.RequireDigit, RequireSymbol: p.RequireSymbol,
		Source: sourceToProto[p.Source], Version: levelVersion(orgID, p.Source, p.Version),
	}
}

func lockoutToProto(orgID string, p *iam.LockoutPolicy) *adminv1.LockoutPolicy {
	return &adminv1.LockoutPolicy{
		MaxPasswordAttempts: int32s(p.MaxPasswordAttempts), MaxOtpAttempts: int32s(p.MaxOTPAttempts),
		IpRateLimitPerMinute: int32s(p.IPRateLimitPerMinute),
		Source:               sourceToProto[p.Source], Version: levelVersion(orgID, p.Source, p.Version),
	}
}

func brandingToProto(b *iam.Branding) *adminv1.Branding {
	return &adminv1.Branding{
		ProductName: b.ProductName, LogoUrl: b.LogoURL, PrimaryColor: b.PrimaryColor,
		Source: sourceToProto[b.Source], Version: levelVersion("", b.Source, b.Version),
	}
}

// get returns the effective policies of the level.
func (s *server) get(ctx context.Context, orgID string) (*iam.Policies, error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	return s.svc.Get(ctx, instance, orgID)
}

// reset resets the level's policy of kind and returns the effective
// policies afterwards.
func (s *server) reset(ctx context.Context, orgID string, kind iam.PolicyKind, version int64) (*iam.Policies, error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	return s.svc.Reset(ctx, reqctx.Actor(ctx), instance, orgID, kind, version)
}

// GetLoginPolicy returns the effective login policy of the instance or an
// organization.
func (s *server) GetLoginPolicy(ctx context.Context, req *connect.Request[adminv1.GetLoginPolicyRequest]) (*connect.Response[adminv1.GetLoginPolicyResponse], error) {
	ps, err := s.get(ctx, req.Msg.OrgId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetLoginPolicyResponse{Policy: loginToProto(req.Msg.OrgId, ps.Login)}), nil
}

// SetLoginPolicy stores the login policy of the instance or an
// organization.
func (s *server) SetLoginPolicy(ctx context.Context, req *connect.Request[adminv1.SetLoginPolicyRequest]) (*connect.Response[adminv1.SetLoginPolicyResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	fs, ferr := factors(m.AllowedSecondFactors)
	ds, derr := durations([]string{"session_lifetime", "session_idle_timeout", "mfa_remember_device"},
		m.SessionLifetime, m.SessionIdleTimeout, m.MfaRememberDevice)
	if err := apiutil.Collect(ferr, derr); err != nil {
		return nil, err
	}
	out, err := s.svc.SetLogin(ctx, reqctx.Actor(ctx), instance, m.OrgId, &iam.LoginPolicy{
		AllowUsernamePassword: m.AllowUsernamePassword, AllowPasskeys: m.AllowPasskeys,
		AllowRegistration: m.AllowRegistration, ForceMFA: m.ForceMfa, AllowedSecondFactors: fs,
		SessionLifetime: ds[0], SessionIdleTimeout: ds[1], MFARememberDevice: ds[2], Version: m.Version,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.SetLoginPolicyResponse{Policy: loginToProto(m.OrgId, out)}), nil
}

// ResetLoginPolicy deletes the level's own login policy.
func (s *server) ResetLoginPolicy(ctx context.Context, req *connect.Request[adminv1.ResetLoginPolicyRequest]) (*connect.Response[adminv1.ResetLoginPolicyResponse], error) {
	ps, err := s.reset(ctx, req.Msg.OrgId, iam.PolicyLogin, req.Msg.Version)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.ResetLoginPolicyResponse{Policy: loginToProto(req.Msg.OrgId, ps.Login)}), nil
}

// GetPasswordPolicy returns the effective password policy of the instance
// or an organization.
func (s *server) GetPasswordPolicy(ctx context.Context, req *connect.Request[adminv1.GetPasswordPolicyRequest]) (*connect.Response[adminv1.GetPasswordPolicyResponse], error) {
	ps, err := s.get(ctx, req.Msg.OrgId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetPasswordPolicyResponse{Policy: passwordToProto(req.Msg.OrgId, ps.Password)}), nil
}

// SetPasswordPolicy stores the password policy of the instance or an
// organization.
func (s *server) SetPasswordPolicy(ctx context.Context, req *connect.Request[adminv1.SetPasswordPolicyRequest]) (*connect.Response[adminv1.SetPasswordPolicyResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	out, err := s.svc.SetPassword(ctx, reqctx.Actor(ctx), instance, m.OrgId, &iam.PasswordPolicy{
		MinLength: int(m.MinLength), RequireUpper: m.RequireUpper, RequireLower: m.RequireLower,
		RequireDigit: m.RequireDigit, RequireSymbol: m.RequireSymbol, Version: m.Version,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.SetPasswordPolicyResponse{Policy: passwordToProto(m.OrgId, out)}), nil
}

// ResetPasswordPolicy deletes the level's own password policy.
func (s *server) ResetPasswordPolicy(ctx context.Context, req *connect.Request[adminv1.ResetPasswordPolicyRequest]) (*connect.Response[adminv1.ResetPasswordPolicyResponse], error) {
	ps, err := s.reset(ctx, req.Msg.OrgId, iam.PolicyPassword, req.Msg.Version)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.ResetPasswordPolicyResponse{Policy: passwordToProto(req.Msg.OrgId, ps.Password)}), nil
}

// GetLockoutPolicy returns the effective lockout policy of the instance or
// an organization.
func (s *server) GetLockoutPolicy(ctx context.Context, req *connect.Request[adminv1.GetLockoutPolicyRequest]) (*connect.Response[adminv1.GetLockoutPolicyResponse], error) {
	ps, err := s.get(ctx, req.Msg.OrgId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetLockoutPolicyResponse{Policy: lockoutToProto(req.Msg.OrgId, ps.Lockout)}), nil
}

// SetLockoutPolicy stores the lockout policy of the instance or an
// organization.
func (s *server) SetLockoutPolicy(ctx context.Context, req *connect.Request[adminv1.SetLockoutPolicyRequest]) (*connect.Response[adminv1.SetLockoutPolicyResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	out, err := s.svc.SetLockout(ctx, reqctx.Actor(ctx), instance, m.OrgId, &iam.LockoutPolicy{
		MaxPasswordAttempts: int(m.MaxPasswordAttempts), MaxOTPAttempts: int(m.MaxOtpAttempts),
		IPRateLimitPerMinute: int(m.IpRateLimitPerMinute), Version: m.Version,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.SetLockoutPolicyResponse{Policy: lockoutToProto(m.OrgId, out)}), nil
}

// ResetLockoutPolicy deletes the level's own lockout policy.
func (s *server) ResetLockoutPolicy(ctx context.Context, req *connect.Request[adminv1.ResetLockoutPolicyRequest]) (*connect.Response[adminv1.ResetLockoutPolicyResponse], error) {
	ps, err := s.reset(ctx, req.Msg.OrgId, iam.PolicyLockout, req.Msg.Version)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.ResetLockoutPolicyResponse{Policy: lockoutToProto(req.Msg.OrgId, ps.Lockout)}), nil
}

// GetBranding returns the instance's effective branding.
func (s *server) GetBranding(ctx context.Context, _ *connect.Request[adminv1.GetBrandingRequest]) (*connect.Response[adminv1.GetBrandingResponse], error) {
	ps, err := s.get(ctx, "")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetBrandingResponse{Branding: brandingToProto(ps.Branding)}), nil
}

// SetBranding stores the instance's branding.
func (s *server) SetBranding(ctx context.Context, req *connect.Request[adminv1.SetBrandingRequest]) (*connect.Response[adminv1.SetBrandingResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	out, err := s.svc.SetBranding(ctx, reqctx.Actor(ctx), instance, &iam.Branding{
		ProductName: m.ProductName, LogoURL: m.LogoUrl, PrimaryColor: m.PrimaryColor, Version: m.Version,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.SetBrandingResponse{Branding: brandingToProto(out)}), nil
}

// ResetBranding deletes the instance's branding: the default applies.
func (s *server) ResetBranding(ctx context.Context, req *connect.Request[adminv1.ResetBrandingRequest]) (*connect.Response[adminv1.ResetBrandingResponse], error) {
	ps, err := s.reset(ctx, "", iam.PolicyBranding, req.Msg.Version)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.ResetBrandingResponse{Branding: brandingToProto(ps.Branding)}), nil
}
