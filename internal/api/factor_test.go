package api_test

import (
	"testing"

	"connectrpc.com/connect"
	"github.com/pquerna/otp/totp"

	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/user"
)

func TestUserFactorService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		a := h.newWorld(t, "A", "a.test", false)
		c := adminv1connect.NewUserFactorServiceClient(h.client, h.url(a.host), bearer(a.tokens[iam.RoleOrgOwner]))
		viewer := adminv1connect.NewUserFactorServiceClient(h.client, h.url(a.host), bearer(a.tokens[iam.RoleOrgViewer]))

		u := must[*iam.User](t)(h.users.CreateHuman(ctx, iam.SystemActor, &user.NewHuman{InstanceID: a.in.ID, OrgID: a.x.ID,
			LoginName: "alice", Password: "a good long password", Profile: iam.HumanProfile{Email: "alice@example.com"}}))
		ref := mfa.Ref{InstanceID: a.in.ID, OrgID: a.x.ID, ID: u.ID}
		en := must[*mfa.TOTPEnrolment](t)(h.factors.BeginTOTP(ctx, ref, "A"))
		must[[]string](t)(h.factors.ConfirmTOTP(ctx, u.ID, ref, must[string](t)(totp.GenerateCode(en.Secret, h.clock.Now()))))
		for range 3 {
			if _, _, err := h.users.RecordFailedLogin(ctx, a.in.ID, u.ID, iam.FailurePassword, 3); err != nil {
				t.Fatal(err)
			}
		}

		list, err := viewer.ListUserFactors(ctx, connect.NewRequest(&adminv1.ListUserFactorsRequest{OrgId: a.x.ID, UserId: u.ID}))
		if err != nil {
			t.Fatal(err)
		}
		f := list.Msg.Factors
		if len(f) != 2 || f[0].Id != en.FactorID || f[0].Type != adminv1.FactorType_FACTOR_TYPE_TOTP || !f[0].Verified || f[0].CreatedAt == nil ||
			f[1].Id != iam.RecoveryCodesFactorID || f[1].RemainingCodes != 10 || list.Msg.FailedPasswordAttempts != 3 || list.Msg.FailedOtpAttempts != 0 {
			t.Fatalf("factors %+v, failed logins %d", f, list.Msg.FailedPasswordAttempts)
		}
		_, err = viewer.UnlockUser(ctx, connect.NewRequest(&adminv1.UnlockUserRequest{OrgId: a.x.ID, UserId: u.ID}))
		wantCode(t, "viewer unlocks", err, connect.CodePermissionDenied)
		_, err = viewer.RemoveUserFactor(ctx, connect.NewRequest(&adminv1.RemoveUserFactorRequest{OrgId: a.x.ID, UserId: u.ID, FactorId: en.FactorID}))
		wantCode(t, "viewer removes", err, connect.CodePermissionDenied)

		unlocked, err := c.UnlockUser(ctx, connect.NewRequest(&adminv1.UnlockUserRequest{OrgId: a.x.ID, UserId: u.ID}))
		if err != nil || unlocked.Msg.User.State != adminv1.UserState_USER_STATE_ACTIVE {
			t.Fatalf("unlock = %v, %v", unlocked, err)
		}
		if _, err := h.users.CheckPassword(ctx, a.in.ID, "alice", "a good long password"); err != nil {
			t.Fatalf("login after unlock: %v", err)
		}

		_, err = c.RemoveUserFactor(ctx, connect.NewRequest(&adminv1.RemoveUserFactorRequest{OrgId: a.x.ID, UserId: u.ID}))
		wantCode(t, "no factor_id", err, connect.CodeInvalidArgument)
		_, err = c.RemoveUserFactor(ctx, connect.NewRequest(&adminv1.RemoveUserFactorRequest{OrgId: a.x.ID, UserId: u.ID, FactorId: iam.NewID()}))
		wantCode(t, "unknown factor", err, connect.CodeNotFound)
		if _, err := c.RemoveUserFactor(ctx, connect.NewRequest(&adminv1.RemoveUserFactorRequest{OrgId: a.x.ID, UserId: u.ID, FactorId: en.FactorID})); err != nil {
			t.Fatal(err)
		}
		list, err = c.ListUserFactors(ctx, connect.NewRequest(&adminv1.ListUserFactorsRequest{OrgId: a.x.ID, UserId: u.ID}))
		if err != nil || len(list.Msg.Factors) != 0 || list.Msg.FailedPasswordAttempts != 0 {
			t.Fatalf("after removal: %+v, %v", list, err)
		}
		ev := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: a.in.ID, EventType: iam.EventUserTOTPRemoved}))
		if len(ev) != 1 || ev[0].Actor != a.users[iam.RoleOrgOwner].ID {
			t.Fatalf("removal events %+v", ev)
		}

		_, err = c.ListUserFactors(ctx, connect.NewRequest(&adminv1.ListUserFactorsRequest{OrgId: a.x.ID, UserId: a.noRoleUser.ID}))
		wantCode(t, "machine user", err, connect.CodeFailedPrecondition)
		_, err = c.ListUserFactors(ctx, connect.NewRequest(&adminv1.ListUserFactorsRequest{OrgId: a.x.ID}))
		wantCode(t, "no user_id", err, connect.CodeInvalidArgument)
	})
}
