package userapi

import (
	"context"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/user"
)

// userServer implements UserService on user.Service.
type userServer struct {
	svc *user.Service
}

var _ adminv1connect.UserServiceHandler = (*userServer)(nil)

// NewUserServer returns the UserService handler.
func NewUserServer(u *user.Service) adminv1connect.UserServiceHandler {
	return &userServer{svc: u}
}

func userToProto(u *iam.User) *adminv1.User {
	out := &adminv1.User{
		Id: u.ID, OrgId: u.OrgID, Type: userTypeToProto(u.Type), LoginName: u.LoginName, State: userStateToProto(u.State),
		CreatedAt: apiutil.Timestamp(u.CreatedAt), ChangedAt: apiutil.Timestamp(u.ChangedAt), Version: u.Version,
	}
	if h := u.Human; h != nil {
		out.Human = &adminv1.HumanProfile{
			Email: h.Email, EmailVerified: h.EmailVerified, GivenName: h.GivenName, FamilyName: h.FamilyName,
			PreferredLanguage: h.PreferredLanguage, HasPassword: u.PasswordHash != "", PasswordChangeRequired: h.PasswordChangeRequired,
		}
	}
	if m := u.Machine; m != nil {
		out.Machine = &adminv1.MachineProfile{Name: m.Name, Description: m.Description, HasClientSecret: u.SecretHash != nil}
	}
	return out
}

func userTypeToProto(t iam.UserType) adminv1.UserType {
	switch t {
	case iam.UserHuman:
		return adminv1.UserType_USER_TYPE_HUMAN
	case iam.UserMachine:
		return adminv1.UserType_USER_TYPE_MACHINE
	}
	return adminv1.UserType_USER_TYPE_UNSPECIFIED
}

func userTypeFromProto(t adminv1.UserType) (iam.UserType, error) {
	switch t {
	case adminv1.UserType_USER_TYPE_UNSPECIFIED:
		return "", nil
	case adminv1.UserType_USER_TYPE_HUMAN:
		return iam.UserHuman, nil
	case adminv1.UserType_USER_TYPE_MACHINE:
		return iam.UserMachine, nil
	}
	return "", &iam.Error{Code: iam.Invalid, Field: "type", Message: "unknown user type"}
}

func userStateToProto(s iam.UserState) adminv1.UserState {
	switch s {
	case iam.UserActive:
		return adminv1.UserState_USER_STATE_ACTIVE
	case iam.UserInactive:
		return adminv1.UserState_USER_STATE_INACTIVE
	case iam.UserLocked:
		return adminv1.UserState_USER_STATE_LOCKED
	}
	return adminv1.UserState_USER_STATE_UNSPECIFIED
}

// userStateFromProto converts a state; UNSPECIFIED becomes "".
func userStateFromProto(s adminv1.UserState) (iam.UserState, error) {
	switch s {
	case adminv1.UserState_USER_STATE_UNSPECIFIED:
		return "", nil
	case adminv1.UserState_USER_STATE_ACTIVE:
		return iam.UserActive, nil
	case adminv1.UserState_USER_STATE_INACTIVE:
		return iam.UserInactive, nil
	case adminv1.UserState_USER_STATE_LOCKED:
		return iam.UserLocked, nil
	}
	return "", &iam.Error{Code: iam.Invalid, Field: "state", Message: "unknown user state"}
}

func patToProto(t *iam.PersonalAccessToken) *adminv1.PersonalAccessToken {
	return &adminv1.PersonalAccessToken{Id: t.ID, UserId: t.UserID, ExpiresAt: apiutil.Timestamp(t.ExpiresAt), CreatedAt: apiutil.Timestamp(t.CreatedAt)}
}

func keyToProto(k *iam.MachineKey) *adminv1.MachineKey {
	return &adminv1.MachineKey{Id: k.ID, UserId: k.UserID, PublicKeyPem: k.PublicKeyPEM, ExpiresAt: apiutil.Timestamp(k.ExpiresAt), CreatedAt: apiutil.Timestamp(k.CreatedAt)}
}

// ref builds the user reference of a request naming org_id and user_id,
// both required.
func ref(ctx context.Context, orgID, userID string) (user.Ref, error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return user.Ref{}, err
	}
	if err := required("org_id", orgID, "user_id", userID); err != nil {
		return user.Ref{}, err
	}
	return user.Ref{InstanceID: inst, OrgID: orgID, ID: userID}, nil
}

// CreateHumanUser creates a human user, optionally with an initial password.
func (s *userServer) CreateHumanUser(ctx context.Context, req *connect.Request[adminv1.CreateHumanUserRequest]) (*connect.Response[adminv1.CreateHumanUserResponse], error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := required("org_id", m.OrgId); err != nil {
		return nil, err
	}
	u, err := s.svc.CreateHuman(ctx, reqctx.Actor(ctx), &user.NewHuman{
		InstanceID: inst, OrgID: m.OrgId, LoginName: m.LoginName, Password: m.Password,
		Profile: iam.HumanProfile{
			Email: m.Email, EmailVerified: m.EmailVerified, GivenName: m.GivenName, FamilyName: m.FamilyName,
			PreferredLanguage: m.PreferredLanguage, PasswordChangeRequired: m.PasswordChangeRequired,
		},
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.CreateHumanUserResponse{User: userToProto(u)}), nil
}

// CreateMachineUser creates a machine user.
func (s *userServer) CreateMachineUser(ctx context.Context, req *connect.Request[adminv1.CreateMachineUserRequest]) (*connect.Response[adminv1.CreateMachineUserResponse], error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := required("org_id", m.OrgId); err != nil {
		return nil, err
	}
	u, err := s.svc.CreateMachine(ctx, reqctx.Actor(ctx), &user.NewMachine{
		InstanceID: inst, OrgID: m.OrgId, LoginName: m.LoginName,
		Profile: iam.MachineProfile{Name: m.Name, Description: m.Description},
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.CreateMachineUserResponse{User: userToProto(u)}), nil
}

// GetUser returns a user of an organization.
func (s *userServer) GetUser(ctx context.Context, req *connect.Request[adminv1.GetUserRequest]) (*connect.Response[adminv1.GetUserResponse], error) {
	r, err := ref(ctx, req.Msg.OrgId, req.Msg.UserId)
	if err != nil {
		return nil, err
	}
	u, err := s.svc.Get(ctx, r)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GetUserResponse{User: userToProto(u)}), nil
}

// ListUsers pages the users of an organization, or of the whole instance
// when org_id is empty.
func (s *userServer) ListUsers(ctx context.Context, req *connect.Request[adminv1.ListUsersRequest]) (*connect.Response[adminv1.ListUsersResponse], error) {
	inst, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	size, cur, err := apiutil.Page(m.PageSize, m.PageToken)
	if err != nil {
		return nil, err
	}
	typ, err := userTypeFromProto(m.Type)
	if err != nil {
		return nil, err
	}
	state, err := userStateFromProto(m.State)
	if err != nil {
		return nil, err
	}
	q := user.ListQuery{
		OrgID: m.OrgId, LoginNamePrefix: m.LoginNamePrefix, EmailPrefix: m.EmailPrefix, Type: typ, State: state,
		AfterKey: cur.Key, AfterID: cur.ID, Limit: size,
	}
	list, err := s.svc.List(ctx, inst, q)
	if err != nil {
		return nil, err
	}
	resp := &adminv1.ListUsersResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(u *iam.User) apiutil.Cursor { return apiutil.Cursor{Key: q.SortKey(u), ID: u.ID} }),
	}
	for _, u := range list {
		resp.Users = append(resp.Users, userToProto(u))
	}
	return connect.NewResponse(resp), nil
}

// UpdateHumanUser replaces a human user's login name and profile.
func (s *userServer) UpdateHumanUser(ctx context.Context, req *connect.Request[adminv1.UpdateHumanUserRequest]) (*connect.Response[adminv1.UpdateHumanUserResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	u, err := s.svc.UpdateHuman(ctx, reqctx.Actor(ctx), r, m.Version, &user.HumanUpdate{
		LoginName: m.LoginName,
		Profile: iam.HumanProfile{
			Email: m.Email, EmailVerified: m.EmailVerified, GivenName: m.GivenName, FamilyName: m.FamilyName, PreferredLanguage: m.PreferredLanguage,
		},
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateHumanUserResponse{User: userToProto(u)}), nil
}

// UpdateMachineUser replaces a machine user's login name and profile.
func (s *userServer) UpdateMachineUser(ctx context.Context, req *connect.Request[adminv1.UpdateMachineUserRequest]) (*connect.Response[adminv1.UpdateMachineUserResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	u, err := s.svc.UpdateMachine(ctx, reqctx.Actor(ctx), r, m.Version, &user.MachineUpdate{
		LoginName: m.LoginName, Profile: iam.MachineProfile{Name: m.Name, Description: m.Description},
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.UpdateMachineUserResponse{User: userToProto(u)}), nil
}

// SetUserState activates, deactivates, locks or unlocks a user.
func (s *userServer) SetUserState(ctx context.Context, req *connect.Request[adminv1.SetUserStateRequest]) (*connect.Response[adminv1.SetUserStateResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	state, err := userStateFromProto(m.State)
	if err != nil {
		return nil, err
	}
	if state == "" {
		return nil, &iam.Error{Code: iam.Invalid, Field: "state", Message: "required"}
	}
	u, err := s.svc.SetState(ctx, reqctx.Actor(ctx), r, m.Version, state)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.SetUserStateResponse{User: userToProto(u)}), nil
}

// DeleteUser deletes a user with its credentials, grants and memberships.
func (s *userServer) DeleteUser(ctx context.Context, req *connect.Request[adminv1.DeleteUserRequest]) (*connect.Response[adminv1.DeleteUserResponse], error) {
	r, err := ref(ctx, req.Msg.OrgId, req.Msg.UserId)
	if err != nil {
		return nil, err
	}
	if err := s.svc.Delete(ctx, reqctx.Actor(ctx), r, req.Msg.Version); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.DeleteUserResponse{}), nil
}

// SetPassword sets a human user's password.
func (s *userServer) SetPassword(ctx context.Context, req *connect.Request[adminv1.SetPasswordRequest]) (*connect.Response[adminv1.SetPasswordResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	u, err := s.svc.SetPassword(ctx, reqctx.Actor(ctx), r, m.Password, m.ChangeRequired)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.SetPasswordResponse{User: userToProto(u)}), nil
}

// ResetPassword gives a human user a one-time password, returned once.
func (s *userServer) ResetPassword(ctx context.Context, req *connect.Request[adminv1.ResetPasswordRequest]) (*connect.Response[adminv1.ResetPasswordResponse], error) {
	r, err := ref(ctx, req.Msg.OrgId, req.Msg.UserId)
	if err != nil {
		return nil, err
	}
	u, otp, err := s.svc.ResetPassword(ctx, reqctx.Actor(ctx), r)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.ResetPasswordResponse{User: userToProto(u), OneTimePassword: otp}), nil
}

// GenerateClientSecret gives a machine user a new client secret, returned
// once.
func (s *userServer) GenerateClientSecret(ctx context.Context, req *connect.Request[adminv1.GenerateClientSecretRequest]) (*connect.Response[adminv1.GenerateClientSecretResponse], error) {
	r, err := ref(ctx, req.Msg.OrgId, req.Msg.UserId)
	if err != nil {
		return nil, err
	}
	u, secret, err := s.svc.GenerateClientSecret(ctx, reqctx.Actor(ctx), r)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.GenerateClientSecretResponse{ClientId: u.LoginName, ClientSecret: secret}), nil
}

// RemoveClientSecret removes a machine user's client secret.
func (s *userServer) RemoveClientSecret(ctx context.Context, req *connect.Request[adminv1.RemoveClientSecretRequest]) (*connect.Response[adminv1.RemoveClientSecretResponse], error) {
	r, err := ref(ctx, req.Msg.OrgId, req.Msg.UserId)
	if err != nil {
		return nil, err
	}
	if _, err := s.svc.RemoveClientSecret(ctx, reqctx.Actor(ctx), r); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.RemoveClientSecretResponse{}), nil
}

// AddPersonalAccessToken adds a token to a user, returned once.
func (s *userServer) AddPersonalAccessToken(ctx context.Context, req *connect.Request[adminv1.AddPersonalAccessTokenRequest]) (*connect.Response[adminv1.AddPersonalAccessTokenResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	exp, err := apiutil.Time(m.ExpiresAt, "expires_at")
	if err != nil {
		return nil, err
	}
	t, token, err := s.svc.AddPAT(ctx, reqctx.Actor(ctx), r, &user.NewPAT{ExpiresAt: exp})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.AddPersonalAccessTokenResponse{PersonalAccessToken: patToProto(t), Token: token}), nil
}

// ListPersonalAccessTokens pages a user's tokens (never the tokens
// themselves).
func (s *userServer) ListPersonalAccessTokens(ctx context.Context, req *connect.Request[adminv1.ListPersonalAccessTokensRequest]) (*connect.Response[adminv1.ListPersonalAccessTokensResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	size, cur, err := apiutil.Page(m.PageSize, m.PageToken)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.ListPATs(ctx, r, cur.ID, size)
	if err != nil {
		return nil, err
	}
	resp := &adminv1.ListPersonalAccessTokensResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(t *iam.PersonalAccessToken) apiutil.Cursor { return apiutil.Cursor{ID: t.ID} }),
	}
	for _, t := range list {
		resp.PersonalAccessTokens = append(resp.PersonalAccessTokens, patToProto(t))
	}
	return connect.NewResponse(resp), nil
}

// RemovePersonalAccessToken deletes a user's token.
func (s *userServer) RemovePersonalAccessToken(ctx context.Context, req *connect.Request[adminv1.RemovePersonalAccessTokenRequest]) (*connect.Response[adminv1.RemovePersonalAccessTokenResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	if err := required("token_id", m.TokenId); err != nil {
		return nil, err
	}
	if err := s.svc.RemovePAT(ctx, reqctx.Actor(ctx), r, m.TokenId); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.RemovePersonalAccessTokenResponse{}), nil
}

// AddMachineKey registers (or generates) a machine user's public key.
func (s *userServer) AddMachineKey(ctx context.Context, req *connect.Request[adminv1.AddMachineKeyRequest]) (*connect.Response[adminv1.AddMachineKeyResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	exp, err := apiutil.Time(m.ExpiresAt, "expires_at")
	if err != nil {
		return nil, err
	}
	k, priv, err := s.svc.AddMachineKey(ctx, reqctx.Actor(ctx), r, &user.NewMachineKey{PublicKeyPEM: m.PublicKeyPem, ExpiresAt: exp})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.AddMachineKeyResponse{Key: keyToProto(k), PrivateKeyPem: priv}), nil
}

// ListMachineKeys pages a machine user's public keys.
func (s *userServer) ListMachineKeys(ctx context.Context, req *connect.Request[adminv1.ListMachineKeysRequest]) (*connect.Response[adminv1.ListMachineKeysResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	size, cur, err := apiutil.Page(m.PageSize, m.PageToken)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.ListMachineKeys(ctx, r, cur.ID, size)
	if err != nil {
		return nil, err
	}
	resp := &adminv1.ListMachineKeysResponse{
		NextPageToken: apiutil.NextPageToken(list, size, func(k *iam.MachineKey) apiutil.Cursor { return apiutil.Cursor{ID: k.ID} }),
	}
	for _, k := range list {
		resp.Keys = append(resp.Keys, keyToProto(k))
	}
	return connect.NewResponse(resp), nil
}

// RemoveMachineKey deletes a machine user's key.
func (s *userServer) RemoveMachineKey(ctx context.Context, req *connect.Request[adminv1.RemoveMachineKeyRequest]) (*connect.Response[adminv1.RemoveMachineKeyResponse], error) {
	m := req.Msg
	r, err := ref(ctx, m.OrgId, m.UserId)
	if err != nil {
		return nil, err
	}
	if err := required("key_id", m.KeyId); err != nil {
		return nil, err
	}
	if err := s.svc.RemoveMachineKey(ctx, reqctx.Actor(ctx), r, m.KeyId); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.RemoveMachineKeyResponse{}), nil
}
