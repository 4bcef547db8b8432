package member_test

import (
	"testing"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/user"
)

// TestLastOwnerCannotBeRemovedIndirectly: deleting or deactivating the last
// INSTANCE_OWNER's user, or deleting its organization, would lock everyone
// out of the instance; each fails with FailedPrecondition and changes
// nothing, and succeeds once another owner exists elsewhere.
func TestLastOwnerCannotBeRemovedIndirectly(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f := setup(t, s)
		key, _ := crypto.ParseMasterKey("dGVzdC1vbmx5LW1hc3Rlci1rZXktMzItYnl0ZXMhISE=")
		users := user.New(s, user.Options{Secrets: crypto.NewSecretHasher(crypto.NewKeyring(key))})
		orgs := org.New(s, nil)
		owner := f.users[0]
		must[*iam.Membership](t)(f.svc.Add(ctx, "t", &iam.Membership{InstanceID: f.in.ID, Scope: iam.ScopeInstance, UserID: owner.ID, Roles: []iam.MemberRole{iam.RoleInstanceOwner}}))
		ref := user.Ref{InstanceID: f.in.ID, ID: owner.ID}

		if err := users.Delete(ctx, "t", ref, owner.Version); !iam.IsCode(err, iam.FailedPrecondition) {
			t.Fatalf("delete last owner = %v", err)
		}
		if _, err := users.SetState(ctx, "t", ref, owner.Version, iam.UserLocked); !iam.IsCode(err, iam.FailedPrecondition) {
			t.Fatalf("lock last owner = %v", err)
		}
		o := must[*iam.Organization](t)(orgs.Get(ctx, f.in.ID, f.org.ID))
		if err := orgs.Delete(ctx, "t", f.in.ID, o.ID, o.Version); !iam.IsCode(err, iam.FailedPrecondition) {
			t.Fatalf("delete the last owner's organization = %v", err)
		}
		if _, err := users.Get(ctx, ref); err != nil {
			t.Fatalf("owner gone after refused changes: %v", err)
		}

		// An owner in the other organization makes all three possible.
		outsider := must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: &iam.User{
			ID: iam.NewID(), InstanceID: f.in.ID, OrgID: f.other.ID, Type: iam.UserMachine, LoginName: "outsider", State: iam.UserActive,
			Machine: &iam.MachineProfile{Name: "o"},
		}, Now: clock()}))
		must[*iam.Membership](t)(f.svc.Add(ctx, "t", &iam.Membership{InstanceID: f.in.ID, Scope: iam.ScopeInstance, UserID: outsider.ID, Roles: []iam.MemberRole{iam.RoleInstanceOwner}}))
		locked := must[*iam.User](t)(users.SetState(ctx, "t", ref, owner.Version, iam.UserLocked))
		if locked.State != iam.UserLocked {
			t.Fatalf("state = %s", locked.State)
		}
		if err := orgs.Delete(ctx, "t", f.in.ID, o.ID, o.Version); err != nil {
			t.Fatalf("delete organization with another owner elsewhere = %v", err)
		}
		// Now the outsider is the last owner.
		if err := users.Delete(ctx, "t", user.Ref{InstanceID: f.in.ID, ID: outsider.ID}, outsider.Version); !iam.IsCode(err, iam.FailedPrecondition) {
			t.Fatalf("delete new last owner = %v", err)
		}
	})
}
