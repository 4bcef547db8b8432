package userapi

import (
	"context"
	"math"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/session"
	"github.com/rampartiam/rampart/internal/user"
)

// userFactorServer implements UserFactorService on mfa.Service (factors),
// user.Service (lockout) and session.Service (consents).
type userFactorServer struct {
	factors  *mfa.Service
	users    *user.Service
	sessions *session.Service
}

var _ adminv1connect.UserFactorServiceHandler = (*userFactorServer)(nil)

// NewUserFactorServer returns the UserFactorService handler.
func NewUserFactorServer(factors *mfa.Service, users *user.Service, sessions *session.Service) adminv1connect.UserFactorServiceHandler {
	return &userFactorServer{factors: factors, users: users, sessions: sessions}
}

func factorTypeToProto(t iam.FactorType) adminv1.FactorType {
	switch t {
	case iam.FactorTOTP:
		return adminv1.FactorType_FACTOR_TYPE_TOTP
	case iam.FactorWebAuthn:
		return adminv1.FactorType_FACTOR_TYPE_WEBAUTHN
	case iam.FactorRecoveryCodes:
		return adminv1.FactorType_FACTOR_TYPE_RECOVERY_CODES
	}
	return adminv1.FactorType_FACTOR_TYPE_UNSPECIFIED
}

func factorToProto(f *iam.Factor) *adminv1.UserFactor {
	return &adminv1.UserFactor{
		Id: f.ID, Type: factorTypeToProto(f.Type), Name: f.Name, Verified: f.Verified, RemainingCodes: int32(min(f.Remaining, math.MaxInt32)),
		CreatedAt: apiutil.Timestamp(f.CreatedAt), LastUsedAt: apiutil.Timestamp(f.LastUsedAt),
	}
}

// ListUserFactors lists a human user's factors and failed-login counts.
func (s *userFactorServer) ListUserFactors(ctx context.Context, req *connect.Request[adminv1.ListUserFactorsRequest]) (*connect.Response[adminv1.ListUserFactorsResponse], error) {
	r, err := ref(ctx, req.Msg.OrgId, req.Msg.UserId)
	if err != nil {
		return nil, err
	}
	list, err := s.factors.ListFactors(ctx, mfa.Ref(r))
	if err != nil {
		return nil, err
	}
	failed, err := s.users.FailedLogins(ctx, r)
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListUserFactorsResponse{
		FailedPasswordAttempts: int32(min(failed.Password, math.MaxInt32)), FailedOtpAttempts: int32(min(failed.OTP, math.MaxInt32)),
	}
	for _, f := range list {
		out.Factors = append(out.Factors, factorToProto(f))
	}
	return connect.NewResponse(out), nil
}

// RemoveUserFactor removes one factor of a human user.
func (s *userFactorServer) RemoveUserFactor(ctx context.Context, req *connect.Request[adminv1.RemoveUserFactorRequest]) (*connect.Response[adminv1.RemoveUserFactorResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	if err := required("factor_id", m.FactorId); err != nil {
		return nil, err
	}
	if err := s.factors.RemoveFactor(ctx, reqctx.Actor(ctx), mfa.Ref(r), m.FactorId); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.RemoveUserFactorResponse{}), nil
}

// UnlockUser unlocks a user and resets the counts of failed logins.
func (s *userFactorServer) UnlockUser(ctx context.Context, req *connect.Request[adminv1.UnlockUserRequest]) (*connect.Response[adminv1.UnlockUserResponse], error) {
	r, err := ref(ctx, req.Msg.OrgId, req.Msg.UserId)
	if err != nil {
		return nil, err
	}
	u, err := s.users.Unlock(ctx, reqctx.Actor(ctx), r)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UnlockUserResponse{User: userToProto(u)}), nil
}

// userRef checks that the user exists in the organization (tenant
// isolation: a user of another organization is not found).
func (s *userFactorServer) userRef(ctx context.Context, orgID, userID string) (user.Ref, error) {
	r, err := ref(ctx, orgID, userID)
	if err != nil {
		return r, err
	}
	_, err = s.users.Get(ctx, r)
	return r, err
}

// ListUserConsents lists the user's remembered consents.
func (s *userFactorServer) ListUserConsents(ctx context.Context, req *connect.Request[adminv1.ListUserConsentsRequest]) (*connect.Response[adminv1.ListUserConsentsResponse], error) {
	r, err := s.userRef(ctx, req.Msg.OrgId, req.Msg.UserId)
	if err != nil {
		return nil, err
	}
	list, err := s.sessions.Consents(ctx, r.InstanceID, r.ID)
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListUserConsentsResponse{}
	for _, c := range list {
		out.Consents = append(out.Consents, &adminv1.UserConsent{
			AppId: c.AppID, Scopes: c.Scopes, GrantedAt: apiutil.Timestamp(c.GrantedAt), ChangedAt: apiutil.Timestamp(c.ChangedAt),
		})
	}
	return connect.NewResponse(out), nil
}

// RevokeUserConsent forgets the user's consent to one application or all.
func (s *userFactorServer) RevokeUserConsent(ctx context.Context, req *connect.Request[adminv1.RevokeUserConsentRequest]) (*connect.Response[adminv1.RevokeUserConsentResponse], error) {
	r, err := s.userRef(ctx, req.Msg.OrgId, req.Msg.UserId)
	if err != nil {
		return nil, err
	}
	n, err := s.sessions.RevokeConsent(ctx, reqctx.Actor(ctx), r.InstanceID, r.ID, req.Msg.AppId)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.RevokeUserConsentResponse{Revoked: int32(min(n, math.MaxInt32))}), nil
}
