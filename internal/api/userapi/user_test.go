package userapi_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestUserService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		ctx, u := b.ctx, b.users
		orgA := must[adminv1.CreateOrganizationResponse](t)(b.orgs.CreateOrganization(ctx, req(&adminv1.CreateOrganizationRequest{Name: "A"}))).Organization.Id
		orgB := must[adminv1.CreateOrganizationResponse](t)(b.orgs.CreateOrganization(ctx, req(&adminv1.CreateOrganizationRequest{Name: "B"}))).Organization.Id

		// Humans.
		h := must[adminv1.CreateHumanUserResponse](t)(u.CreateHumanUser(ctx, req(&adminv1.CreateHumanUserRequest{
			OrgId: orgA, LoginName: "alice", Email: "alice@example.com", GivenName: "Alice", FamilyName: "L",
			PreferredLanguage: "en", Password: "long password", PasswordChangeRequired: true,
		}))).User
		if h.Type != adminv1.UserType_USER_TYPE_HUMAN || h.State != adminv1.UserState_USER_STATE_ACTIVE || h.OrgId != orgA ||
			!h.Human.HasPassword || !h.Human.PasswordChangeRequired || h.Machine != nil || h.Version != 1 {
			t.Fatalf("created human %v", h)
		}
		ev, _ := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: b.inst.ID, EventType: iam.EventUserCreated})
		if len(ev) != 1 || ev[0].Actor != b.actor {
			t.Fatalf("created events %+v", ev)
		}
		_, err := u.CreateHumanUser(ctx, req(&adminv1.CreateHumanUserRequest{OrgId: orgA, LoginName: "bob", Email: "not-an-email"}))
		wantCode(t, "bad email", err, iam.Invalid, "email")
		_, err = u.CreateHumanUser(ctx, req(&adminv1.CreateHumanUserRequest{LoginName: "bob", Email: "b@example.com"}))
		wantCode(t, "no org", err, iam.Invalid, "org_id")
		_, err = u.CreateHumanUser(b.other, req(&adminv1.CreateHumanUserRequest{OrgId: orgA, LoginName: "bob", Email: "b@example.com"}))
		wantCode(t, "org of another instance", err, iam.NotFound, "")
		_, err = u.CreateHumanUser(ctx, req(&adminv1.CreateHumanUserRequest{OrgId: orgB, LoginName: "ALICE", Email: "b@example.com"}))
		wantCode(t, "duplicate login", err, iam.AlreadyExists, "login_name")

		// Machines.
		m := must[adminv1.CreateMachineUserResponse](t)(u.CreateMachineUser(ctx, req(&adminv1.CreateMachineUserRequest{OrgId: orgA, LoginName: "robot", Description: "ci"}))).User
		if m.Type != adminv1.UserType_USER_TYPE_MACHINE || m.Machine.Name != "robot" || m.Machine.HasClientSecret || m.Human != nil {
			t.Fatalf("created machine %v", m)
		}
		_, err = u.CreateMachineUser(ctx, req(&adminv1.CreateMachineUserRequest{OrgId: orgA, LoginName: "has space"}))
		wantCode(t, "bad login", err, iam.Invalid, "login_name")

		// Get, with the wrong org and instance.
		got := must[adminv1.GetUserResponse](t)(u.GetUser(ctx, req(&adminv1.GetUserRequest{OrgId: orgA, UserId: h.Id}))).User
		if got.LoginName != "alice" {
			t.Fatalf("get %v", got)
		}
		_, err = u.GetUser(ctx, req(&adminv1.GetUserRequest{OrgId: orgB, UserId: h.Id}))
		wantCode(t, "wrong org", err, iam.NotFound, "")
		_, err = u.GetUser(b.other, req(&adminv1.GetUserRequest{OrgId: orgA, UserId: h.Id}))
		wantCode(t, "wrong instance", err, iam.NotFound, "")
		_, err = u.GetUser(ctx, req(&adminv1.GetUserRequest{OrgId: orgA}))
		wantCode(t, "no user id", err, iam.Invalid, "user_id")

		// List: instance-wide, by org, by prefix with pages.
		must[adminv1.CreateHumanUserResponse](t)(u.CreateHumanUser(ctx, req(&adminv1.CreateHumanUserRequest{OrgId: orgB, LoginName: "alfred", Email: "alfred@example.com"})))
		var names []string
		token := ""
		for range 10 {
			page := must[adminv1.ListUsersResponse](t)(u.ListUsers(ctx, req(&adminv1.ListUsersRequest{LoginNamePrefix: "AL", PageSize: 1, PageToken: token})))
			for _, x := range page.Users {
				names = append(names, x.LoginName)
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		if strings.Join(names, ",") != "alfred,alice" {
			t.Fatalf("instance-wide prefix pages %v", names)
		}
		inA := must[adminv1.ListUsersResponse](t)(u.ListUsers(ctx, req(&adminv1.ListUsersRequest{OrgId: orgA, Type: adminv1.UserType_USER_TYPE_HUMAN})))
		if len(inA.Users) != 1 || inA.Users[0].Id != h.Id {
			t.Fatalf("humans of org A: %v", inA.Users)
		}
		byEmail := must[adminv1.ListUsersResponse](t)(u.ListUsers(ctx, req(&adminv1.ListUsersRequest{EmailPrefix: "ALI", State: adminv1.UserState_USER_STATE_ACTIVE})))
		if len(byEmail.Users) != 1 || byEmail.Users[0].Id != h.Id {
			t.Fatalf("by e-mail: %v", byEmail.Users)
		}
		_, err = u.ListUsers(ctx, req(&adminv1.ListUsersRequest{Type: adminv1.UserType(7)}))
		wantCode(t, "bad type", err, iam.Invalid, "type")
		if l := must[adminv1.ListUsersResponse](t)(u.ListUsers(b.other, req(&adminv1.ListUsersRequest{}))); len(l.Users) != 0 {
			t.Fatal("other instance lists our users")
		}

		// Updates and state.
		uh := must[adminv1.UpdateHumanUserResponse](t)(u.UpdateHumanUser(ctx, req(&adminv1.UpdateHumanUserRequest{
			OrgId: orgA, UserId: h.Id, Version: 1, LoginName: "alice2", Email: "a2@example.com", EmailVerified: true, PreferredLanguage: "fr-ca",
		}))).User
		if uh.LoginName != "alice2" || !uh.Human.EmailVerified || uh.Human.PreferredLanguage != "fr-CA" || uh.Version != 2 {
			t.Fatalf("updated human %v", uh)
		}
		_, err = u.UpdateHumanUser(ctx, req(&adminv1.UpdateHumanUserRequest{OrgId: orgA, UserId: h.Id, Version: 1, LoginName: "x", Email: "x@example.com"}))
		wantCode(t, "stale", err, iam.Conflict, "")
		_, err = u.UpdateHumanUser(ctx, req(&adminv1.UpdateHumanUserRequest{OrgId: orgA, UserId: h.Id, Version: 2, LoginName: "x", Email: "x@example.com", PreferredLanguage: "!!"}))
		wantCode(t, "bad language", err, iam.Invalid, "preferred_language")
		_, err = u.UpdateHumanUser(ctx, req(&adminv1.UpdateHumanUserRequest{OrgId: orgB, UserId: h.Id, Version: 2, LoginName: "x", Email: "x@example.com"}))
		wantCode(t, "update in wrong org", err, iam.NotFound, "")
		um := must[adminv1.UpdateMachineUserResponse](t)(u.UpdateMachineUser(ctx, req(&adminv1.UpdateMachineUserRequest{OrgId: orgA, UserId: m.Id, Version: 1, LoginName: "robot", Name: "Robot"}))).User
		if um.Machine.Name != "Robot" || um.Version != 2 {
			t.Fatalf("updated machine %v", um)
		}
		_, err = u.UpdateMachineUser(ctx, req(&adminv1.UpdateMachineUserRequest{OrgId: orgA, UserId: m.Id, Version: 2, LoginName: ""}))
		wantCode(t, "empty machine login", err, iam.Invalid, "login_name")
		_, err = u.UpdateMachineUser(b.other, req(&adminv1.UpdateMachineUserRequest{OrgId: orgA, UserId: m.Id, Version: 2, LoginName: "x"}))
		wantCode(t, "machine update from other instance", err, iam.NotFound, "")

		locked := must[adminv1.SetUserStateResponse](t)(u.SetUserState(ctx, req(&adminv1.SetUserStateRequest{OrgId: orgA, UserId: h.Id, Version: 2, State: adminv1.UserState_USER_STATE_LOCKED}))).User
		if locked.State != adminv1.UserState_USER_STATE_LOCKED || locked.Version != 3 {
			t.Fatalf("locked %v", locked)
		}
		_, err = u.SetUserState(ctx, req(&adminv1.SetUserStateRequest{OrgId: orgA, UserId: h.Id, Version: 3}))
		wantCode(t, "no state", err, iam.Invalid, "state")
		_, err = u.SetUserState(ctx, req(&adminv1.SetUserStateRequest{OrgId: orgB, UserId: h.Id, Version: 3, State: adminv1.UserState_USER_STATE_ACTIVE}))
		wantCode(t, "state in wrong org", err, iam.NotFound, "")

		// Passwords.
		sp := must[adminv1.SetPasswordResponse](t)(u.SetPassword(ctx, req(&adminv1.SetPasswordRequest{OrgId: orgA, UserId: h.Id, Password: "another password", ChangeRequired: false}))).User
		if !sp.Human.HasPassword || sp.Human.PasswordChangeRequired {
			t.Fatalf("set password %v", sp)
		}
		_, err = u.SetPassword(ctx, req(&adminv1.SetPasswordRequest{OrgId: orgA, UserId: h.Id, Password: "short"}))
		wantCode(t, "short password", err, iam.Invalid, "password")
		_, err = u.SetPassword(ctx, req(&adminv1.SetPasswordRequest{OrgId: orgA, UserId: m.Id, Password: "long enough!"}))
		wantCode(t, "machine password", err, iam.FailedPrecondition, "")
		_, err = u.SetPassword(b.other, req(&adminv1.SetPasswordRequest{OrgId: orgA, UserId: h.Id, Password: "long enough!"}))
		wantCode(t, "password from other instance", err, iam.NotFound, "")
		rp := must[adminv1.ResetPasswordResponse](t)(u.ResetPassword(ctx, req(&adminv1.ResetPasswordRequest{OrgId: orgA, UserId: h.Id})))
		if rp.OneTimePassword == "" || !rp.User.Human.PasswordChangeRequired {
			t.Fatalf("reset %v", rp)
		}
		_, err = u.ResetPassword(ctx, req(&adminv1.ResetPasswordRequest{OrgId: orgA}))
		wantCode(t, "reset without user", err, iam.Invalid, "user_id")
		_, err = u.ResetPassword(ctx, req(&adminv1.ResetPasswordRequest{OrgId: orgB, UserId: h.Id}))
		wantCode(t, "reset in wrong org", err, iam.NotFound, "")

		// Client secrets.
		cs := must[adminv1.GenerateClientSecretResponse](t)(u.GenerateClientSecret(ctx, req(&adminv1.GenerateClientSecretRequest{OrgId: orgA, UserId: m.Id})))
		if cs.ClientId != "robot" || !strings.HasPrefix(cs.ClientSecret, "rcs_") {
			t.Fatalf("secret %v", cs)
		}
		if g := must[adminv1.GetUserResponse](t)(u.GetUser(ctx, req(&adminv1.GetUserRequest{OrgId: orgA, UserId: m.Id}))).User; !g.Machine.HasClientSecret {
			t.Fatal("has_client_secret not set")
		}
		_, err = u.GenerateClientSecret(ctx, req(&adminv1.GenerateClientSecretRequest{OrgId: orgA, UserId: h.Id}))
		wantCode(t, "human secret", err, iam.FailedPrecondition, "")
		_, err = u.GenerateClientSecret(ctx, req(&adminv1.GenerateClientSecretRequest{UserId: m.Id}))
		wantCode(t, "secret without org", err, iam.Invalid, "org_id")
		_, err = u.GenerateClientSecret(b.other, req(&adminv1.GenerateClientSecretRequest{OrgId: orgA, UserId: m.Id}))
		wantCode(t, "secret from other instance", err, iam.NotFound, "")
		must[adminv1.RemoveClientSecretResponse](t)(u.RemoveClientSecret(ctx, req(&adminv1.RemoveClientSecretRequest{OrgId: orgA, UserId: m.Id})))
		_, err = u.RemoveClientSecret(ctx, req(&adminv1.RemoveClientSecretRequest{OrgId: orgB, UserId: m.Id}))
		wantCode(t, "remove secret in wrong org", err, iam.NotFound, "")
		_, err = u.RemoveClientSecret(ctx, req(&adminv1.RemoveClientSecretRequest{OrgId: orgA}))
		wantCode(t, "remove secret without user", err, iam.Invalid, "user_id")

		// Personal access tokens.
		exp := timestamppb.New(time.Now().Add(time.Hour))
		pat := must[adminv1.AddPersonalAccessTokenResponse](t)(u.AddPersonalAccessToken(ctx, req(&adminv1.AddPersonalAccessTokenRequest{OrgId: orgA, UserId: m.Id, ExpiresAt: exp})))
		if !strings.HasPrefix(pat.Token, "rpat_") || pat.PersonalAccessToken.UserId != m.Id {
			t.Fatalf("pat %v", pat)
		}
		must[adminv1.AddPersonalAccessTokenResponse](t)(u.AddPersonalAccessToken(ctx, req(&adminv1.AddPersonalAccessTokenRequest{OrgId: orgA, UserId: m.Id, ExpiresAt: exp})))
		_, err = u.AddPersonalAccessToken(ctx, req(&adminv1.AddPersonalAccessTokenRequest{OrgId: orgA, UserId: m.Id}))
		wantCode(t, "pat without expiry", err, iam.Invalid, "expires_at")
		_, err = u.AddPersonalAccessToken(ctx, req(&adminv1.AddPersonalAccessTokenRequest{OrgId: orgA, UserId: m.Id, ExpiresAt: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}}))
		wantCode(t, "pat with bad timestamp", err, iam.Invalid, "expires_at")
		_, err = u.AddPersonalAccessToken(ctx, req(&adminv1.AddPersonalAccessTokenRequest{OrgId: orgB, UserId: m.Id, ExpiresAt: exp}))
		wantCode(t, "pat in wrong org", err, iam.NotFound, "")
		var ids []string
		token = ""
		for range 10 {
			page := must[adminv1.ListPersonalAccessTokensResponse](t)(u.ListPersonalAccessTokens(ctx, req(&adminv1.ListPersonalAccessTokensRequest{OrgId: orgA, UserId: m.Id, PageSize: 1, PageToken: token})))
			for _, p := range page.PersonalAccessTokens {
				ids = append(ids, p.Id)
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		if len(ids) != 2 {
			t.Fatalf("listed tokens %v", ids)
		}
		_, err = u.ListPersonalAccessTokens(b.other, req(&adminv1.ListPersonalAccessTokensRequest{OrgId: orgA, UserId: m.Id}))
		wantCode(t, "list pats from other instance", err, iam.NotFound, "")
		_, err = u.ListPersonalAccessTokens(ctx, req(&adminv1.ListPersonalAccessTokensRequest{OrgId: orgA, UserId: m.Id, PageSize: 5000}))
		wantCode(t, "list pats page size", err, iam.Invalid, "page_size")
		_, err = u.RemovePersonalAccessToken(ctx, req(&adminv1.RemovePersonalAccessTokenRequest{OrgId: orgA, UserId: m.Id}))
		wantCode(t, "remove pat without id", err, iam.Invalid, "token_id")
		_, err = u.RemovePersonalAccessToken(ctx, req(&adminv1.RemovePersonalAccessTokenRequest{OrgId: orgA, UserId: h.Id, TokenId: ids[0]}))
		wantCode(t, "remove another user's pat", err, iam.NotFound, "")
		must[adminv1.RemovePersonalAccessTokenResponse](t)(u.RemovePersonalAccessToken(ctx, req(&adminv1.RemovePersonalAccessTokenRequest{OrgId: orgA, UserId: m.Id, TokenId: ids[0]})))

		// Machine keys.
		key := must[adminv1.AddMachineKeyResponse](t)(u.AddMachineKey(ctx, req(&adminv1.AddMachineKeyRequest{OrgId: orgA, UserId: m.Id, ExpiresAt: exp})))
		if !strings.Contains(key.PrivateKeyPem, "PRIVATE KEY") || !strings.Contains(key.Key.PublicKeyPem, "PUBLIC KEY") {
			t.Fatalf("generated key %v", key.Key)
		}
		_, err = u.AddMachineKey(ctx, req(&adminv1.AddMachineKeyRequest{OrgId: orgA, UserId: m.Id, ExpiresAt: exp, PublicKeyPem: "junk"}))
		wantCode(t, "bad key", err, iam.Invalid, "public_key_pem")
		_, err = u.AddMachineKey(ctx, req(&adminv1.AddMachineKeyRequest{OrgId: orgB, UserId: m.Id, ExpiresAt: exp}))
		wantCode(t, "key in wrong org", err, iam.NotFound, "")
		keys := must[adminv1.ListMachineKeysResponse](t)(u.ListMachineKeys(ctx, req(&adminv1.ListMachineKeysRequest{OrgId: orgA, UserId: m.Id})))
		if len(keys.Keys) != 1 || keys.Keys[0].Id != key.Key.Id || keys.NextPageToken != "" {
			t.Fatalf("keys %v", keys)
		}
		_, err = u.ListMachineKeys(ctx, req(&adminv1.ListMachineKeysRequest{OrgId: orgA, UserId: m.Id, PageToken: "!"}))
		wantCode(t, "keys page token", err, iam.Invalid, "page_token")
		_, err = u.ListMachineKeys(b.other, req(&adminv1.ListMachineKeysRequest{OrgId: orgA, UserId: m.Id}))
		wantCode(t, "keys from other instance", err, iam.NotFound, "")
		_, err = u.RemoveMachineKey(ctx, req(&adminv1.RemoveMachineKeyRequest{OrgId: orgA, UserId: m.Id}))
		wantCode(t, "remove key without id", err, iam.Invalid, "key_id")
		_, err = u.RemoveMachineKey(ctx, req(&adminv1.RemoveMachineKeyRequest{OrgId: orgB, UserId: m.Id, KeyId: key.Key.Id}))
		wantCode(t, "remove key in wrong org", err, iam.NotFound, "")
		must[adminv1.RemoveMachineKeyResponse](t)(u.RemoveMachineKey(ctx, req(&adminv1.RemoveMachineKeyRequest{OrgId: orgA, UserId: m.Id, KeyId: key.Key.Id})))

		// Delete.
		_, err = u.DeleteUser(ctx, req(&adminv1.DeleteUserRequest{OrgId: orgA, UserId: h.Id, Version: 1}))
		wantCode(t, "stale delete", err, iam.Conflict, "")
		_, err = u.DeleteUser(b.other, req(&adminv1.DeleteUserRequest{OrgId: orgA, UserId: h.Id, Version: 5}))
		wantCode(t, "delete from other instance", err, iam.NotFound, "")
		_, err = u.DeleteUser(ctx, req(&adminv1.DeleteUserRequest{UserId: h.Id}))
		wantCode(t, "delete without org", err, iam.Invalid, "org_id")
		cur := must[adminv1.GetUserResponse](t)(u.GetUser(ctx, req(&adminv1.GetUserRequest{OrgId: orgA, UserId: h.Id}))).User
		must[adminv1.DeleteUserResponse](t)(u.DeleteUser(ctx, req(&adminv1.DeleteUserRequest{OrgId: orgA, UserId: h.Id, Version: cur.Version})))
		_, err = u.GetUser(ctx, req(&adminv1.GetUserRequest{OrgId: orgA, UserId: h.Id}))
		wantCode(t, "get deleted", err, iam.NotFound, "")

		_, err = u.GetUser(t.Context(), req(&adminv1.GetUserRequest{OrgId: orgA, UserId: m.Id}))
		wantCode(t, "no instance", err, iam.Internal, "")
	})
}
