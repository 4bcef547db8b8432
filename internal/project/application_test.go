package project_test

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func webApp(f *fixture, projectID string) *iam.Application {
	return &iam.Application{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: projectID, Name: " Shop web ", Type: iam.AppTypeWeb,
		RedirectURIs: []string{"https://shop.example/cb"}}
}

func TestCreateApplicationSecretsAndDefaults(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		p := f.project(f.org.ID)

		// A confidential client gets a generated secret, once; only its keyed
		// hash is stored, and the audit event carries neither.
		web, secret, err := f.svc.CreateApplication(ctx, "admin", webApp(f, p.ID), "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, project.ClientSecretPrefix) || len(secret) < 40 {
			t.Fatalf("secret %q", secret)
		}
		if web.Name != "Shop web" || web.ClientID == "" || web.ID == "" || web.AuthMethod != iam.AuthClientSecretBasic ||
			!slices.Equal(web.GrantTypes, []string{iam.GrantAuthorizationCode, iam.GrantRefreshToken}) ||
			!slices.Equal(web.ResponseTypes, []string{iam.ResponseCode}) || web.AccessTokenFormat != iam.TokenFormatJWT ||
			web.AccessTokenLifetime != time.Hour || web.RefreshTokenLifetime != 720*time.Hour || web.State != iam.StateActive || web.Version != 1 {
			t.Fatalf("web app %+v", web)
		}
		stored, err := s.ApplicationGetByClientID(ctx, &store.ApplicationGetByClientIDParams{InstanceID: f.in.ID, ClientID: web.ClientID})
		if err != nil {
			t.Fatal(err)
		}
		if !f.secrets.Verify(secret, stored.SecretHash) || bytes.Contains(stored.SecretHash, []byte(secret)) {
			t.Fatal("stored hash does not verify the returned secret")
		}
		evs := f.events(f.in.ID, iam.EventAppCreated)
		if len(evs) != 1 || evs[0].AggregateType != iam.AggregateApplication || evs[0].AggregateID != web.ID {
			t.Fatalf("app events %+v", evs)
		}
		if body := string(evs[0].Payload); strings.Contains(body, secret) || strings.Contains(body, "secret_hash") ||
			payload(t, evs[0])["after"].(map[string]any)["has_client_secret"] != true {
			t.Fatalf("payload %s", body)
		}
		byClient, err := f.svc.GetApplicationByClientID(ctx, f.in.ID, web.ClientID)
		if err != nil || byClient.ID != web.ID {
			t.Fatalf("by client ID = %+v, %v", byClient, err)
		}

		// A public client: no secret, PKCE forced even if asked otherwise.
		native, secret, err := f.svc.CreateApplication(ctx, "admin", &iam.Application{
			InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, Name: "Mobile", Type: iam.AppTypeNative,
			RedirectURIs: []string{"com.example.shop:/cb", "http://127.0.0.1/cb"}, PKCERequired: false,
		}, "")
		if err != nil || secret != "" || native.SecretHash != nil || native.AuthMethod != iam.AuthNone || !native.PKCERequired {
			t.Fatalf("native = %+v, secret %q, %v", native, secret, err)
		}
		if _, _, err := f.svc.CreateApplication(ctx, "admin", &iam.Application{
			InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, Name: "Keys", Type: iam.AppTypeAPI, AuthMethod: iam.AuthPrivateKeyJWT,
		}, ""); err != nil {
			t.Fatalf("private_key_jwt api: %v", err)
		}

		// Bootstrap: fixed ID, client ID and secret.
		fixedSecret := strings.Repeat("s", 32)
		a := webApp(f, p.ID)
		a.ID, a.ClientID = "fixed-app", "shop-web"
		fixed, got, err := f.svc.CreateApplication(ctx, "system", a, fixedSecret)
		if err != nil || got != fixedSecret || fixed.ClientID != "shop-web" || fixed.ID != "fixed-app" {
			t.Fatalf("fixed = %+v, %q, %v", fixed, got, err)
		}
		if !f.secrets.Verify(fixedSecret, fixed.SecretHash) {
			t.Fatal("fixed secret not stored")
		}

		before := f.allEvents()
		for name, tc := range map[string]struct {
			a      *iam.Application
			secret string
			code   iam.Code
			field  string
		}{
			"client ID taken":   {func() *iam.Application { a := webApp(f, p.ID); a.ClientID = "shop-web"; return a }(), "", iam.AlreadyExists, "client_id"},
			"short secret":      {webApp(f, p.ID), "short", iam.Invalid, "client_secret"},
			"secret for public": {&iam.Application{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, Name: "S", Type: iam.AppTypeSPA, RedirectURIs: []string{"https://s.example/"}}, fixedSecret, iam.Invalid, "client_secret"},
			"bad redirect": {func() *iam.Application {
				a := webApp(f, p.ID)
				a.RedirectURIs = []string{"http://shop.example/cb"}
				return a
			}(), "", iam.Invalid, "settings.redirect_uris"},
			"no type": {func() *iam.Application { a := webApp(f, p.ID); a.Type = ""; return a }(), "", iam.Invalid, "type"},
			"public credentials": {&iam.Application{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, Name: "S", Type: iam.AppTypeSPA,
				GrantTypes: []string{iam.GrantClientCredentials}}, "", iam.Invalid, "settings.grant_types"},
			"wrong org":      {func() *iam.Application { a := webApp(f, p.ID); a.OrgID = f.partner.ID; return a }(), "", iam.NotFound, "project_id"},
			"wrong instance": {func() *iam.Application { a := webApp(f, p.ID); a.InstanceID = f.other.ID; return a }(), "", iam.NotFound, "project_id"},
		} {
			_, _, err := f.svc.CreateApplication(ctx, "x", tc.a, tc.secret)
			if !iam.IsCode(err, tc.code) {
				t.Fatalf("%s: err = %v, want %s", name, err, tc.code)
			}
			wantCode(t, err, tc.code, tc.field)
		}
		if n := f.allEvents(); n != before {
			t.Fatalf("failed creates appended %d events", n-before)
		}
	})
}

func TestApplicationReadUpdateDelete(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		p := f.project(f.org.ID)
		q := f.project(f.org.ID)
		web, _, err := f.svc.CreateApplication(ctx, "admin", webApp(f, p.ID), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.CreateApplication(ctx, "admin", webApp(f, q.ID), ""); err != nil {
			t.Fatal(err)
		}

		got, err := f.svc.GetApplication(ctx, f.in.ID, f.org.ID, p.ID, web.ID)
		if err != nil || got.ClientID != web.ClientID {
			t.Fatalf("get = %+v, %v", got, err)
		}
		for name, ids := range map[string][4]string{
			"other org":      {f.in.ID, f.partner.ID, p.ID, web.ID},
			"other project":  {f.in.ID, f.org.ID, q.ID, web.ID},
			"other instance": {f.other.ID, f.org.ID, p.ID, web.ID},
		} {
			_, err := f.svc.GetApplication(ctx, ids[0], ids[1], ids[2], ids[3])
			if !iam.IsCode(err, iam.NotFound) {
				t.Fatalf("%s: %v", name, err)
			}
		}
		_, err = f.svc.GetApplicationByClientID(ctx, f.other.ID, web.ClientID)
		wantCode(t, err, iam.NotFound, "")
		list, err := f.svc.ListApplications(ctx, project.ListApplicationsParams{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID})
		if err != nil || len(list) != 1 || list[0].ID != web.ID {
			t.Fatalf("list = %v, %v", list, err)
		}
		_, err = f.svc.ListApplications(ctx, project.ListApplicationsParams{InstanceID: f.in.ID, OrgID: f.partner.ID, ProjectID: p.ID})
		wantCode(t, err, iam.NotFound, "project_id")

		// Update: empty settings take the type's defaults, type and client
		// ID stay, the state is kept unless given.
		change := &iam.Application{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, ID: web.ID, Version: web.Version,
			Name: "Renamed", Type: iam.AppTypeAPI, ClientID: "hijack", RedirectURIs: []string{"https://shop.example/new"},
			AccessTokenFormat: iam.TokenFormatOpaque, AccessTokenLifetime: 5 * time.Minute}
		updated, err := f.svc.UpdateApplication(ctx, "admin-2", change)
		if err != nil {
			t.Fatal(err)
		}
		if updated.Name != "Renamed" || updated.Type != iam.AppTypeWeb || updated.ClientID != web.ClientID || updated.State != iam.StateActive ||
			updated.AccessTokenFormat != iam.TokenFormatOpaque || updated.AccessTokenLifetime != 5*time.Minute || updated.IDTokenLifetime != time.Hour ||
			!slices.Equal(updated.RedirectURIs, []string{"https://shop.example/new"}) || updated.SecretHash == nil || updated.Version != 2 {
			t.Fatalf("updated %+v", updated)
		}
		if same, err := f.svc.UpdateApplication(ctx, "admin-2", updated); err != nil || same.Version != 2 {
			t.Fatalf("no-op update = %+v, %v", same, err)
		}
		if evs := f.events(f.in.ID, iam.EventAppChanged); len(evs) != 1 || strings.Contains(string(evs[0].Payload), "secret_hash\"") {
			t.Fatalf("changed events %+v", evs)
		}
		_, err = f.svc.UpdateApplication(ctx, "x", web)
		wantCode(t, err, iam.Conflict, "")
		bad := *updated
		bad.RedirectURIs = []string{"https://*.shop.example/cb"}
		_, err = f.svc.UpdateApplication(ctx, "x", &bad)
		wantCode(t, err, iam.Invalid, "settings.redirect_uris")
		wrong := *updated
		wrong.OrgID = f.partner.ID
		_, err = f.svc.UpdateApplication(ctx, "x", &wrong)
		wantCode(t, err, iam.NotFound, "")
		wrong = *updated
		wrong.InstanceID = f.other.ID
		_, err = f.svc.UpdateApplication(ctx, "x", &wrong)
		wantCode(t, err, iam.NotFound, "")

		// Leaving the secret methods deletes the secret; coming back needs a
		// regenerated one.
		keys := *updated
		keys.AuthMethod = iam.AuthPrivateKeyJWT
		noSecret, err := f.svc.UpdateApplication(ctx, "x", &keys)
		if err != nil || noSecret.SecretHash != nil {
			t.Fatalf("private_key_jwt = %+v, %v", noSecret, err)
		}
		basic := *noSecret
		basic.AuthMethod = iam.AuthClientSecretPost
		back, err := f.svc.UpdateApplication(ctx, "x", &basic)
		if err != nil || back.SecretHash != nil || back.AuthMethod != iam.AuthClientSecretPost {
			t.Fatalf("back to a secret method = %+v, %v", back, err)
		}
		regen, secret, err := f.svc.RegenerateClientSecret(ctx, "admin-3", f.in.ID, f.org.ID, p.ID, web.ID)
		if err != nil || !f.secrets.Verify(secret, regen.SecretHash) || regen.Version != back.Version+1 {
			t.Fatalf("regenerate = %+v, %v", regen, err)
		}
		again, secret2, err := f.svc.RegenerateClientSecret(ctx, "admin-3", f.in.ID, f.org.ID, p.ID, web.ID)
		if err != nil || secret2 == secret || f.secrets.Verify(secret, again.SecretHash) || !f.secrets.Verify(secret2, again.SecretHash) {
			t.Fatalf("second regenerate: %v", err)
		}
		evs := f.events(f.in.ID, iam.EventAppSecretRegenerated)
		if len(evs) != 2 || evs[0].Actor != "admin-3" || strings.Contains(string(evs[0].Payload), secret) {
			t.Fatalf("regenerated events %+v", evs)
		}
		_, _, err = f.svc.RegenerateClientSecret(ctx, "x", f.in.ID, f.partner.ID, p.ID, web.ID)
		wantCode(t, err, iam.NotFound, "")
		_, _, err = f.svc.RegenerateClientSecret(ctx, "x", f.other.ID, f.org.ID, p.ID, web.ID)
		wantCode(t, err, iam.NotFound, "")
		spa, _, err := f.svc.CreateApplication(ctx, "x", &iam.Application{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, Name: "SPA",
			Type: iam.AppTypeSPA, RedirectURIs: []string{"https://spa.example/"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.svc.RegenerateClientSecret(ctx, "x", f.in.ID, f.org.ID, p.ID, spa.ID)
		wantCode(t, err, iam.FailedPrecondition, "")

		// Delete names the version.
		wantCode(t, f.svc.DeleteApplication(ctx, "x", f.in.ID, f.org.ID, p.ID, web.ID, 1), iam.Conflict, "")
		wantCode(t, f.svc.DeleteApplication(ctx, "x", f.in.ID, f.partner.ID, p.ID, web.ID, again.Version), iam.NotFound, "")
		wantCode(t, f.svc.DeleteApplication(ctx, "x", f.other.ID, f.org.ID, p.ID, web.ID, again.Version), iam.NotFound, "")
		if err := f.svc.DeleteApplication(ctx, "admin-4", f.in.ID, f.org.ID, p.ID, web.ID, again.Version); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(f.in.ID, iam.EventAppDeleted); len(evs) != 1 || evs[0].AggregateID != web.ID {
			t.Fatalf("deleted events %+v", evs)
		}
		_, err = f.svc.GetApplicationByClientID(ctx, f.in.ID, web.ClientID)
		wantCode(t, err, iam.NotFound, "")
	})
}

// TestConcurrentAppUpdatesOneWins runs writers that all read version 1:
// exactly one may win, the others get Conflict, and one change event exists.
func TestConcurrentAppUpdatesOneWins(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		p := f.project(f.org.ID)
		app, _, err := f.svc.CreateApplication(ctx, "x", webApp(f, p.ID), "")
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c := *app
				c.Name = "writer " + string(rune('a'+i))
				_, errs[i] = f.svc.UpdateApplication(ctx, "x", &c)
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !iam.IsCode(err, iam.Conflict):
				t.Fatalf("unexpected error %v", err)
			}
		}
		if evs := f.events(f.in.ID, iam.EventAppChanged); wins != 1 || len(evs) != 1 {
			t.Fatalf("%d winners, %d change events; want 1 and 1", wins, len(evs))
		}
	})
}
