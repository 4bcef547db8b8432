package projectapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func publicKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestApplicationKeys(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f := setup(t, s)
		p := must[*connect.Response[adminv1.CreateProjectResponse]](t)(f.projects.CreateProject(f.ctx, req(&adminv1.CreateProjectRequest{OrgId: f.org.ID, Name: "Shop"}))).Msg.Project
		as := f.apps
		app := must[*connect.Response[adminv1.CreateApplicationResponse]](t)(as.CreateApplication(f.ctx, req(&adminv1.CreateApplicationRequest{
			OrgId: f.org.ID, ProjectId: p.Id, Type: adminv1.ApplicationType_APPLICATION_TYPE_API,
			Settings: &adminv1.ApplicationSettings{Name: "Service", AuthMethod: adminv1.AuthMethod_AUTH_METHOD_PRIVATE_KEY_JWT},
		}))).Msg.Application
		ids := func(r *adminv1.AddApplicationKeyRequest) *adminv1.AddApplicationKeyRequest {
			r.OrgId, r.ProjectId, r.AppId = f.org.ID, p.Id, app.Id
			return r
		}

		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		key1 := publicKeyPEM(t)
		k1 := must[*connect.Response[adminv1.AddApplicationKeyResponse]](t)(as.AddApplicationKey(f.ctx, req(ids(&adminv1.AddApplicationKeyRequest{
			PublicKeyPem: key1, ExpiresAt: timestamppb.New(exp)})))).Msg.Key
		if k1.Id == "" || k1.AppId != app.Id || k1.PublicKeyPem != key1 || !k1.ExpiresAt.AsTime().Equal(exp) || k1.CreatedAt == nil {
			t.Fatalf("added %v", k1)
		}
		k2 := must[*connect.Response[adminv1.AddApplicationKeyResponse]](t)(as.AddApplicationKey(f.ctx, req(ids(&adminv1.AddApplicationKeyRequest{
			PublicKeyPem: publicKeyPEM(t)})))).Msg.Key
		if k2.ExpiresAt != nil {
			t.Fatalf("a key without expiry: %v", k2)
		}
		events, _ := s.AuditEventList(f.ctx, &store.AuditEventListParams{InstanceID: f.in.ID, EventType: project.EventAppKeyAdded})
		if len(events) != 2 || events[0].Actor != "admin-user" {
			t.Fatalf("events %+v", events)
		}

		for name, tc := range map[string]struct {
			r     *adminv1.AddApplicationKeyRequest
			code  iam.Code
			field string
		}{
			"bad timestamp": {ids(&adminv1.AddApplicationKeyRequest{PublicKeyPem: publicKeyPEM(t), ExpiresAt: &timestamppb.Timestamp{Nanos: -1}}), iam.Invalid, "expires_at"},
			"past":          {ids(&adminv1.AddApplicationKeyRequest{PublicKeyPem: publicKeyPEM(t), ExpiresAt: timestamppb.New(time.Now().Add(-time.Minute))}), iam.Invalid, "expires_at"},
			"no key":        {ids(&adminv1.AddApplicationKeyRequest{}), iam.Invalid, "public_key_pem"},
			"duplicate":     {ids(&adminv1.AddApplicationKeyRequest{PublicKeyPem: key1}), iam.AlreadyExists, "public_key_pem"},
			"no app":        {&adminv1.AddApplicationKeyRequest{OrgId: f.org.ID, ProjectId: p.Id, PublicKeyPem: publicKeyPEM(t)}, iam.Invalid, "app_id"},
			"other org":     {&adminv1.AddApplicationKeyRequest{OrgId: f.partner.ID, ProjectId: p.Id, AppId: app.Id, PublicKeyPem: publicKeyPEM(t)}, iam.NotFound, "app_id"},
		} {
			_, err := as.AddApplicationKey(f.ctx, req(tc.r))
			if !iam.IsCode(err, tc.code) {
				t.Fatalf("%s: %v, want %s", name, err, tc.code)
			}
			wantCode(t, err, tc.code, tc.field)
		}
		_, err := as.AddApplicationKey(f.otherCtx, req(ids(&adminv1.AddApplicationKeyRequest{PublicKeyPem: publicKeyPEM(t)})))
		wantCode(t, err, iam.NotFound, "app_id")

		list := func(r *adminv1.ListApplicationKeysRequest) *adminv1.ListApplicationKeysResponse {
			t.Helper()
			r.OrgId, r.ProjectId, r.AppId = f.org.ID, p.Id, app.Id
			return must[*connect.Response[adminv1.ListApplicationKeysResponse]](t)(as.ListApplicationKeys(f.ctx, req(r))).Msg
		}
		all := list(&adminv1.ListApplicationKeysRequest{})
		if len(all.Keys) != 2 || all.NextPageToken != "" {
			t.Fatalf("list %v", all)
		}
		first := list(&adminv1.ListApplicationKeysRequest{PageSize: 1})
		second := list(&adminv1.ListApplicationKeysRequest{PageSize: 1, PageToken: first.NextPageToken})
		if len(first.Keys) != 1 || len(second.Keys) != 1 || first.Keys[0].Id != all.Keys[0].Id || second.Keys[0].Id != all.Keys[1].Id {
			t.Fatalf("pages %v / %v", first, second)
		}
		_, err = as.ListApplicationKeys(f.ctx, req(&adminv1.ListApplicationKeysRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, PageToken: "garbage"}))
		wantCode(t, err, iam.Invalid, "page_token")
		_, err = as.ListApplicationKeys(f.otherCtx, req(&adminv1.ListApplicationKeysRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id}))
		wantCode(t, err, iam.NotFound, "app_id")

		_, err = as.RemoveApplicationKey(f.ctx, req(&adminv1.RemoveApplicationKeyRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id}))
		wantCode(t, err, iam.Invalid, "key_id")
		_, err = as.RemoveApplicationKey(f.otherCtx, req(&adminv1.RemoveApplicationKeyRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, KeyId: k1.Id}))
		wantCode(t, err, iam.NotFound, "app_id")
		must[*connect.Response[adminv1.RemoveApplicationKeyResponse]](t)(as.RemoveApplicationKey(f.ctx, req(&adminv1.RemoveApplicationKeyRequest{
			OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, KeyId: k1.Id})))
		_, err = as.RemoveApplicationKey(f.ctx, req(&adminv1.RemoveApplicationKeyRequest{OrgId: f.org.ID, ProjectId: p.Id, AppId: app.Id, KeyId: k1.Id}))
		wantCode(t, err, iam.NotFound, "key_id")
		if rest := list(&adminv1.ListApplicationKeysRequest{}); len(rest.Keys) != 1 || rest.Keys[0].Id != k2.Id {
			t.Fatalf("after removal %v", rest)
		}
	})
}
