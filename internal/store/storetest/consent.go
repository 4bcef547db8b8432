package storetest

import (
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/store"
)

// testConsents covers ConsentQueries: put replaces, get and list are per
// user and instance, delete by application or all, cascades with the user
// and the application.
func (b *bundle) testConsents(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	proj := mustCreateProject(t, s, f.in.ID, f.org.ID)
	app1 := mustCreateApp(t, s, f.in.ID, f.org.ID, proj.ID)
	app2 := mustCreateApp(t, s, f.in.ID, f.org.ID, proj.ID)
	put := func(instanceID, userID, appID string, when time.Time, scopes ...string) error {
		return s.ConsentPut(ctx, &store.ConsentPutParams{Consent: &store.Consent{
			InstanceID: instanceID, UserID: userID, AppID: appID, Scopes: scopes, GrantedAt: when,
		}})
	}
	get := func(instanceID, userID, appID string) (*store.Consent, error) {
		return s.ConsentGet(ctx, &store.ConsentGetParams{InstanceID: instanceID, UserID: userID, AppID: appID})
	}

	_, err := get(f.in.ID, f.user.ID, app1.ID)
	wantErr(t, err, store.ErrNotFound)
	// A user or an application of another instance is not found.
	wantErr(t, put(f.in.ID, f.otherUser.ID, app1.ID, at, "openid"), store.ErrNotFound)
	wantErr(t, put(f.other.ID, f.otherUser.ID, app1.ID, at, "openid"), store.ErrNotFound)

	must0(t, put(f.in.ID, f.user.ID, app1.ID, at, "profile", "openid", "profile"))
	c, err := get(f.in.ID, f.user.ID, app1.ID)
	must0(t, err)
	sameValue(t, "consent", c, &store.Consent{InstanceID: f.in.ID, UserID: f.user.ID, AppID: app1.ID,
		Scopes: []string{"openid", "profile"}, GrantedAt: at, ChangedAt: at})
	_, err = get(f.other.ID, f.user.ID, app1.ID)
	wantErr(t, err, store.ErrNotFound)

	// A replacement keeps the first grant's time.
	later := at.Add(time.Hour)
	must0(t, put(f.in.ID, f.user.ID, app1.ID, later, "openid", "email", "profile"))
	c, err = get(f.in.ID, f.user.ID, app1.ID)
	must0(t, err)
	sameValue(t, "replaced consent", c, &store.Consent{InstanceID: f.in.ID, UserID: f.user.ID, AppID: app1.ID,
		Scopes: []string{"email", "openid", "profile"}, GrantedAt: at, ChangedAt: later})

	must0(t, put(f.in.ID, f.user.ID, app2.ID, at, "openid"))
	list, err := s.ConsentList(ctx, &store.ConsentListParams{InstanceID: f.in.ID, UserID: f.user.ID})
	must0(t, err)
	if len(list) != 2 {
		t.Fatalf("list = %+v, want two consents", list)
	}
	if list, err := s.ConsentList(ctx, &store.ConsentListParams{InstanceID: f.other.ID, UserID: f.user.ID}); err != nil || len(list) != 0 {
		t.Fatalf("list in another instance = %+v, %v", list, err)
	}

	n, err := s.ConsentDelete(ctx, &store.ConsentDeleteParams{InstanceID: f.other.ID, UserID: f.user.ID})
	if err != nil || n != 0 {
		t.Fatalf("delete in another instance = %d, %v", n, err)
	}
	n, err = s.ConsentDelete(ctx, &store.ConsentDeleteParams{InstanceID: f.in.ID, UserID: f.user.ID, AppID: app2.ID})
	if err != nil || n != 1 {
		t.Fatalf("delete one = %d, %v", n, err)
	}
	must0(t, put(f.in.ID, f.user.ID, app2.ID, at, "openid"))
	n, err = s.ConsentDelete(ctx, &store.ConsentDeleteParams{InstanceID: f.in.ID, UserID: f.user.ID})
	if err != nil || n != 2 {
		t.Fatalf("delete all = %d, %v", n, err)
	}

	// Consents go with their application and their user.
	must0(t, put(f.in.ID, f.user.ID, app1.ID, at, "openid"))
	must0(t, put(f.in.ID, f.user.ID, app2.ID, at, "openid"))
	must0(t, s.ApplicationDelete(ctx, &store.ApplicationDeleteParams{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: proj.ID, ID: app1.ID, Version: app1.Version}))
	_, err = get(f.in.ID, f.user.ID, app1.ID)
	wantErr(t, err, store.ErrNotFound)
	must0(t, s.UserDelete(ctx, &store.UserDeleteParams{InstanceID: f.in.ID, ID: f.user.ID, Version: f.user.Version}))
	_, err = get(f.in.ID, f.user.ID, app2.ID)
	wantErr(t, err, store.ErrNotFound)
}
