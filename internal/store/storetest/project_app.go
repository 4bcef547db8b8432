package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

func newApp(instanceID, orgID, projectID string) *iam.Application {
	return &iam.Application{
		ID: iam.NewID(), InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, Name: "Web app", Type: iam.AppTypeWeb,
		ClientID: "client-" + iam.NewID(), SecretHash: bytes.Repeat([]byte{7}, 32),
		RedirectURIs: []string{"https://app.example/cb", "http://localhost:3000/cb"}, PostLogoutRedirectURIs: []string{"https://app.example/"},
		GrantTypes: []string{iam.GrantAuthorizationCode, iam.GrantRefreshToken}, ResponseTypes: []string{iam.ResponseCode},
		AuthMethod: iam.AuthClientSecretBasic, AccessTokenFormat: iam.TokenFormatJWT,
		AccessTokenLifetime: 90 * time.Minute, IDTokenLifetime: 30 * time.Minute, RefreshTokenLifetime: 48 * time.Hour,
		PKCERequired: true, ConsentRequired: true, State: iam.StateActive,
	}
}

func mustCreateApp(t *testing.T, s store.Queries, instanceID, orgID, projectID string) *iam.Application {
	t.Helper()
	return must[*iam.Application](t)(s.ApplicationCreate(t.Context(), &store.ApplicationCreateParams{Application: newApp(instanceID, orgID, projectID), Now: now()}))
}

func sameApp(t *testing.T, got, want *iam.Application) {
	t.Helper()
	if got.ID != want.ID || got.InstanceID != want.InstanceID || got.OrgID != want.OrgID || got.ProjectID != want.ProjectID ||
		got.Name != want.Name || got.Type != want.Type || got.ClientID != want.ClientID || !bytes.Equal(got.SecretHash, want.SecretHash) ||
		!slices.Equal(got.RedirectURIs, want.RedirectURIs) || !slices.Equal(got.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs) ||
		!slices.Equal(got.GrantTypes, want.GrantTypes) || !slices.Equal(got.ResponseTypes, want.ResponseTypes) ||
		got.AuthMethod != want.AuthMethod || got.AccessTokenFormat != want.AccessTokenFormat ||
		got.AccessTokenLifetime != want.AccessTokenLifetime || got.IDTokenLifetime != want.IDTokenLifetime ||
		got.RefreshTokenLifetime != want.RefreshTokenLifetime || got.PKCERequired != want.PKCERequired || got.ConsentRequired != want.ConsentRequired || got.State != want.State {
		t.Fatalf("application = %+v\nwant %+v", got, want)
	}
}

func appIDs(list []*iam.Application) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.ID
	}
	return out
}

func (b *bundle) testApplicationCRUD(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	org := mustCreateOrg(t, s, in.ID)
	other := mustCreateOrg(t, s, in.ID)
	p := mustCreateProject(t, s, in.ID, org.ID)
	q := mustCreateProject(t, s, in.ID, org.ID)

	at := now()
	app := newApp(in.ID, org.ID, p.ID)
	created := must[*iam.Application](t)(s.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: app, Now: at}))
	sameApp(t, created, app)
	if created.Version != 1 || !created.CreatedAt.Equal(at) || !created.ChangedAt.Equal(at) {
		t.Fatalf("created = %+v", created)
	}
	byID := must[*iam.Application](t)(s.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: in.ID, OrgID: org.ID, ProjectID: p.ID, ID: app.ID}))
	sameApp(t, byID, app)
	byClient := must[*iam.Application](t)(s.ApplicationGetByClientID(ctx, &store.ApplicationGetByClientIDParams{InstanceID: in.ID, ClientID: app.ClientID}))
	sameApp(t, byClient, app)
	for name, params := range map[string]*store.ApplicationGetByIDParams{
		"other org":     {InstanceID: in.ID, OrgID: other.ID, ProjectID: p.ID, ID: app.ID},
		"other project": {InstanceID: in.ID, OrgID: org.ID, ProjectID: q.ID, ID: app.ID},
		"unknown":       {InstanceID: in.ID, OrgID: org.ID, ProjectID: p.ID, ID: iam.NewID()},
	} {
		_, err := s.ApplicationGetByID(ctx, params)
		if err == nil {
			t.Fatalf("%s: found", name)
		}
		wantErr(t, err, store.ErrNotFound)
	}
	_, err := s.ApplicationGetByClientID(ctx, &store.ApplicationGetByClientIDParams{InstanceID: in.ID, ClientID: "nope"})
	wantErr(t, err, store.ErrNotFound)

	// A public client: no secret, empty lists.
	public := newApp(in.ID, org.ID, p.ID)
	public.Type, public.AuthMethod, public.SecretHash, public.PostLogoutRedirectURIs = iam.AppTypeNative, iam.AuthNone, nil, nil
	public.AccessTokenFormat = iam.TokenFormatOpaque
	gotPublic := must[*iam.Application](t)(s.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: public, Now: now()}))
	sameApp(t, gotPublic, public)
	if gotPublic.SecretHash != nil || gotPublic.PostLogoutRedirectURIs != nil {
		t.Fatalf("public client has secret %v, post-logout URIs %v", gotPublic.SecretHash, gotPublic.PostLogoutRedirectURIs)
	}

	// Uniqueness of ID and client ID; the project must exist in the org.
	dupClient := newApp(in.ID, org.ID, q.ID)
	dupClient.ClientID = app.ClientID
	_, err = s.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: dupClient, Now: now()})
	wantErr(t, err, store.ErrAlreadyExists)
	dupID := newApp(in.ID, org.ID, p.ID)
	dupID.ID = app.ID
	_, err = s.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: dupID, Now: now()})
	wantErr(t, err, store.ErrAlreadyExists)
	wrongOrg := newApp(in.ID, other.ID, p.ID)
	_, err = s.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: wrongOrg, Now: now()})
	wantErr(t, err, store.ErrNotFound)

	// List pages by ID, per project.
	more := []string{app.ID, public.ID}
	for range 3 {
		more = append(more, mustCreateApp(t, s, in.ID, org.ID, p.ID).ID)
	}
	mustCreateApp(t, s, in.ID, org.ID, q.ID)
	slices.Sort(more)
	var paged []string
	after := ""
	for page := 0; page < 10; page++ {
		list := must[[]*iam.Application](t)(s.ApplicationList(ctx, &store.ApplicationListParams{InstanceID: in.ID, OrgID: org.ID, ProjectID: p.ID, AfterID: after, Limit: 2}))
		if len(list) == 0 {
			break
		}
		paged = append(paged, appIDs(list)...)
		after = list[len(list)-1].ID
	}
	projSameList(t, "paged apps", paged, more)
	if list := must[[]*iam.Application](t)(s.ApplicationList(ctx, &store.ApplicationListParams{InstanceID: in.ID, OrgID: other.ID, ProjectID: p.ID})); len(list) != 0 {
		t.Fatalf("listed through another org: %v", appIDs(list))
	}

	// Update replaces every mutable field but type and client ID.
	change := *created
	change.Name, change.SecretHash = "Renamed", nil
	change.RedirectURIs, change.PostLogoutRedirectURIs = []string{"https://new.example/cb"}, nil
	change.GrantTypes, change.ResponseTypes = []string{iam.GrantClientCredentials}, nil
	change.AuthMethod, change.AccessTokenFormat = iam.AuthPrivateKeyJWT, iam.TokenFormatOpaque
	change.AccessTokenLifetime, change.IDTokenLifetime, change.RefreshTokenLifetime = time.Minute, 2*time.Minute, time.Hour
	change.PKCERequired, change.ConsentRequired, change.State = false, false, iam.StateInactive
	change.Type, change.ClientID = iam.AppTypeAPI, "changed-client"
	at2 := now()
	updated := must[*iam.Application](t)(s.ApplicationUpdate(ctx, &store.ApplicationUpdateParams{Application: &change, Now: at2}))
	want := change
	want.Type, want.ClientID = created.Type, created.ClientID
	sameApp(t, updated, &want)
	if updated.Version != 2 || !updated.ChangedAt.Equal(at2) || !updated.CreatedAt.Equal(at) {
		t.Fatalf("updated = %+v", updated)
	}
	_, err = s.ApplicationUpdate(ctx, &store.ApplicationUpdateParams{Application: created, Now: now()})
	wantErr(t, err, store.ErrConflict)
	elsewhere := *updated
	elsewhere.ProjectID = q.ID
	_, err = s.ApplicationUpdate(ctx, &store.ApplicationUpdateParams{Application: &elsewhere, Now: now()})
	wantErr(t, err, store.ErrNotFound)

	// The secret hash can be set whatever the version.
	hash := bytes.Repeat([]byte{9}, 32)
	withSecret := must[*iam.Application](t)(s.ApplicationSetSecretHash(ctx, &store.ApplicationSetSecretHashParams{
		InstanceID: in.ID, OrgID: org.ID, ProjectID: p.ID, ID: app.ID, SecretHash: hash, Now: now()}))
	if !bytes.Equal(withSecret.SecretHash, hash) || withSecret.Version != 3 {
		t.Fatalf("after set secret: %+v", withSecret)
	}
	_, err = s.ApplicationSetSecretHash(ctx, &store.ApplicationSetSecretHashParams{InstanceID: in.ID, OrgID: other.ID, ProjectID: p.ID, ID: app.ID, SecretHash: hash, Now: now()})
	wantErr(t, err, store.ErrNotFound)

	// Delete names the version.
	wantErr(t, s.ApplicationDelete(ctx, &store.ApplicationDeleteParams{InstanceID: in.ID, OrgID: org.ID, ProjectID: p.ID, ID: app.ID, Version: 2}), store.ErrConflict)
	if err := s.ApplicationDelete(ctx, &store.ApplicationDeleteParams{InstanceID: in.ID, OrgID: org.ID, ProjectID: p.ID, ID: app.ID, Version: 3}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ApplicationGetByClientID(ctx, &store.ApplicationGetByClientIDParams{InstanceID: in.ID, ClientID: app.ClientID})
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.ApplicationDelete(ctx, &store.ApplicationDeleteParams{InstanceID: in.ID, OrgID: org.ID, ProjectID: p.ID, ID: app.ID, Version: 3}), store.ErrNotFound)
}

func (b *bundle) testApplicationCrossInstance(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	a, bi := b.instance(t, s), b.instance(t, s)
	orgA, orgB := mustCreateOrg(t, s, a.ID), mustCreateOrg(t, s, bi.ID)
	pA, pB := mustCreateProject(t, s, a.ID, orgA.ID), mustCreateProject(t, s, bi.ID, orgB.ID)
	app := mustCreateApp(t, s, a.ID, orgA.ID, pA.ID)

	_, err := s.ApplicationGetByClientID(ctx, &store.ApplicationGetByClientIDParams{InstanceID: bi.ID, ClientID: app.ClientID})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: bi.ID, OrgID: orgA.ID, ProjectID: pA.ID, ID: app.ID})
	wantErr(t, err, store.ErrNotFound)
	if list := must[[]*iam.Application](t)(s.ApplicationList(ctx, &store.ApplicationListParams{InstanceID: bi.ID, OrgID: orgA.ID, ProjectID: pA.ID})); len(list) != 0 {
		t.Fatalf("instance B lists apps of A")
	}
	change := *app
	change.InstanceID, change.Name = bi.ID, "Hijacked"
	_, err = s.ApplicationUpdate(ctx, &store.ApplicationUpdateParams{Application: &change, Now: now()})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ApplicationSetSecretHash(ctx, &store.ApplicationSetSecretHashParams{InstanceID: bi.ID, OrgID: orgA.ID, ProjectID: pA.ID, ID: app.ID, SecretHash: []byte("x"), Now: now()})
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.ApplicationDelete(ctx, &store.ApplicationDeleteParams{InstanceID: bi.ID, OrgID: orgA.ID, ProjectID: pA.ID, ID: app.ID, Version: 1}), store.ErrNotFound)
	got := must[*iam.Application](t)(s.ApplicationGetByClientID(ctx, &store.ApplicationGetByClientIDParams{InstanceID: a.ID, ClientID: app.ClientID}))
	sameApp(t, got, app)
	if got.Version != 1 {
		t.Fatalf("app changed through another instance: %+v", got)
	}

	// A client ID is unique per instance only; an app of B cannot sit in a
	// project of A.
	twin := newApp(bi.ID, orgB.ID, pB.ID)
	twin.ClientID = app.ClientID
	must[*iam.Application](t)(s.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: twin, Now: now()}))
	cross := newApp(bi.ID, orgA.ID, pA.ID)
	_, err = s.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: cross, Now: now()})
	wantErr(t, err, store.ErrNotFound)
}
