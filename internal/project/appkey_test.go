package project_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// pemOf encodes a public key as PKIX PEM.
func pemOf(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func ecKey(t *testing.T, c elliptic.Curve) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, &k.PublicKey)
}

func rsaKey(t *testing.T, bits int) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, &k.PublicKey)
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256 := ecKey(t, elliptic.P256())
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalECPrivateKey(ecPriv)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		in      string
		typ     string
		problem string
	}{
		"P-256":              {p256, "EC P-256", ""},
		"P-384":              {ecKey(t, elliptic.P384()), "", "P-256 curve"},
		"P-521":              {ecKey(t, elliptic.P521()), "", "P-256 curve"},
		"RSA-2048":           {rsaKey(t, 2048), "RSA-2048", ""},
		"CRLF and indent":    {"\r\n  " + strings.ReplaceAll(p256, "\n", "\r\n") + "  \n", "EC P-256", ""},
		"empty":              {"  ", "", "required"},
		"not PEM":            {"ssh-ed25519 AAAA", "", "is not PEM"},
		"private key":        {string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: privDER})), "", "want a PUBLIC KEY"},
		"two blocks":         {p256 + p256, "", "exactly one PEM block"},
		"garbage DER":        {string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("nope")})), "", "not a valid PKIX"},
		"RSA-1024":           {rsaKey(t, 1024), "", "2048 to 8192 bits"},
		"P-224":              {ecKey(t, elliptic.P224()), "", "P-256 curve"},
		"Ed25519":            {pemOf(t, edPub), "", "must be an RSA"},
		"too long":           {strings.Repeat("A", 17<<10), "", "too long"},
		"trailing text only": {p256 + "\nhello", "", "exactly one PEM block"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k, err := project.ParsePublicKey(tc.in)
			if tc.problem != "" {
				wantCode(t, err, iam.Invalid, "public_key_pem")
				if !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("err = %v, want %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Type != tc.typ || !strings.HasPrefix(k.PEM, "-----BEGIN PUBLIC KEY-----\n") || !strings.HasSuffix(k.PEM, "-----END PUBLIC KEY-----\n") {
				t.Fatalf("parsed %+v", k)
			}
			again, err := project.ParsePublicKey(k.PEM)
			if err != nil || again.PEM != k.PEM {
				t.Fatalf("canonical form is not stable: %v", err)
			}
		})
	}
}

func TestApplicationKeys(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		f, ctx := setup(t, s), t.Context()
		p := f.project(f.org.ID)
		q := f.project(f.org.ID)
		web, _, err := f.svc.CreateApplication(ctx, "admin", webApp(f, p.ID), "")
		if err != nil {
			t.Fatal(err)
		}
		// A private_key_jwt application may exist without keys.
		api, _, err := f.svc.CreateApplication(ctx, "admin", &iam.Application{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID,
			Name: "Keys", Type: iam.AppTypeAPI, AuthMethod: iam.AuthPrivateKeyJWT}, "")
		if err != nil {
			t.Fatal(err)
		}
		spa, _, err := f.svc.CreateApplication(ctx, "admin", &iam.Application{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID,
			Name: "SPA", Type: iam.AppTypeSPA, RedirectURIs: []string{"https://spa.example/"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if list, err := f.svc.ListApplicationKeys(ctx, project.ListApplicationKeysParams{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, AppID: api.ID}); err != nil || len(list) != 0 {
			t.Fatalf("keys of a new application = %v, %v", list, err)
		}

		// Keys are stored canonically; the event names the key, not its
		// material. A confidential application that still uses a secret
		// may get keys ahead of switching.
		p384 := ecKey(t, elliptic.P256())
		exp := time.Now().Add(24 * time.Hour)
		k1, err := f.svc.AddApplicationKey(ctx, "admin-1", f.in.ID, f.org.ID, p.ID, api.ID, "\n"+strings.ReplaceAll(p384, "\n", "\r\n"), exp)
		if err != nil {
			t.Fatal(err)
		}
		if k1.ID == "" || k1.AppID != api.ID || k1.InstanceID != f.in.ID || k1.PublicKeyPEM != p384 || k1.CreatedAt.IsZero() ||
			k1.ExpiresAt.Sub(exp).Abs() > time.Millisecond {
			t.Fatalf("added %+v", k1)
		}
		k2, err := f.svc.AddApplicationKey(ctx, "admin-1", f.in.ID, f.org.ID, p.ID, web.ID, rsaKey(t, 2048), time.Time{})
		if err != nil || !k2.ExpiresAt.IsZero() {
			t.Fatalf("key without expiry = %+v, %v", k2, err)
		}
		evs := f.events(f.in.ID, project.EventAppKeyAdded)
		if len(evs) != 2 || evs[0].AggregateType != iam.AggregateApplication || evs[0].AggregateID != api.ID || evs[0].Actor != "admin-1" {
			t.Fatalf("added events %+v", evs)
		}
		if pl := payload(t, evs[0]); pl["key_id"] != k1.ID || pl["key_type"] != "EC P-256" || pl["client_id"] != api.ClientID || pl["expires_at"] == nil ||
			strings.Contains(string(evs[0].Payload), "BEGIN") {
			t.Fatalf("payload %s", evs[0].Payload)
		}
		if pl := payload(t, evs[1]); pl["key_type"] != "RSA-2048" || pl["expires_at"] != nil {
			t.Fatalf("payload %s", evs[1].Payload)
		}

		before := f.allEvents()
		for name, tc := range map[string]struct {
			ids   [4]string // instance, org, project, app
			pem   string
			exp   time.Time
			code  iam.Code
			field string
		}{
			"same key again":  {[4]string{f.in.ID, f.org.ID, p.ID, api.ID}, p384, time.Time{}, iam.AlreadyExists, "public_key_pem"},
			"bad key":         {[4]string{f.in.ID, f.org.ID, p.ID, api.ID}, "nope", time.Time{}, iam.Invalid, "public_key_pem"},
			"expired":         {[4]string{f.in.ID, f.org.ID, p.ID, api.ID}, ecKey(t, elliptic.P256()), time.Now().Add(-time.Second), iam.Invalid, "expires_at"},
			"public app":      {[4]string{f.in.ID, f.org.ID, p.ID, spa.ID}, ecKey(t, elliptic.P256()), time.Time{}, iam.FailedPrecondition, ""},
			"no app":          {[4]string{f.in.ID, f.org.ID, p.ID, ""}, ecKey(t, elliptic.P256()), time.Time{}, iam.Invalid, "app_id"},
			"unknown app":     {[4]string{f.in.ID, f.org.ID, p.ID, iam.NewID()}, ecKey(t, elliptic.P256()), time.Time{}, iam.NotFound, "app_id"},
			"other project":   {[4]string{f.in.ID, f.org.ID, q.ID, api.ID}, ecKey(t, elliptic.P256()), time.Time{}, iam.NotFound, "app_id"},
			"other org":       {[4]string{f.in.ID, f.partner.ID, p.ID, api.ID}, ecKey(t, elliptic.P256()), time.Time{}, iam.NotFound, "app_id"},
			"other instance":  {[4]string{f.other.ID, f.org.ID, p.ID, api.ID}, ecKey(t, elliptic.P256()), time.Time{}, iam.NotFound, "app_id"},
			"invalid and old": {[4]string{f.in.ID, f.org.ID, p.ID, api.ID}, "", time.Now().Add(-time.Hour), iam.Invalid, "expires_at"},
		} {
			_, err := f.svc.AddApplicationKey(ctx, "x", tc.ids[0], tc.ids[1], tc.ids[2], tc.ids[3], tc.pem, tc.exp)
			if !iam.IsCode(err, tc.code) {
				t.Fatalf("%s: err = %v, want %s", name, err, tc.code)
			}
			wantCode(t, err, tc.code, tc.field)
		}
		if n := f.allEvents(); n != before {
			t.Fatalf("failed adds appended %d events", n-before)
		}

		// At most MaxApplicationKeys keys per application.
		for range project.MaxApplicationKeys - 1 {
			if _, err := f.svc.AddApplicationKey(ctx, "x", f.in.ID, f.org.ID, p.ID, api.ID, ecKey(t, elliptic.P256()), time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		_, err = f.svc.AddApplicationKey(ctx, "x", f.in.ID, f.org.ID, p.ID, api.ID, ecKey(t, elliptic.P256()), time.Time{})
		wantCode(t, err, iam.FailedPrecondition, "")

		// Listing pages by ID and sees only the application's keys.
		all, err := f.svc.ListApplicationKeys(ctx, project.ListApplicationKeysParams{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, AppID: api.ID})
		if err != nil || len(all) != project.MaxApplicationKeys {
			t.Fatalf("list = %d keys, %v", len(all), err)
		}
		var paged []string
		after := ""
		for range project.MaxApplicationKeys {
			page, err := f.svc.ListApplicationKeys(ctx, project.ListApplicationKeysParams{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: p.ID, AppID: api.ID, AfterID: after, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range page {
				if k.AppID != api.ID {
					t.Fatalf("listed %+v", k)
				}
				paged = append(paged, k.ID)
			}
			if len(page) < 3 {
				break
			}
			after = page[len(page)-1].ID
		}
		for i, k := range all {
			if i >= len(paged) || paged[i] != k.ID || (i > 0 && all[i-1].ID >= k.ID) {
				t.Fatalf("paged %v, all %v", paged, all)
			}
		}
		if len(paged) != len(all) {
			t.Fatalf("paged %d keys, want %d", len(paged), len(all))
		}
		for name, ids := range map[string][4]string{
			"other project":  {f.in.ID, f.org.ID, q.ID, api.ID},
			"other org":      {f.in.ID, f.partner.ID, p.ID, api.ID},
			"other instance": {f.other.ID, f.org.ID, p.ID, api.ID},
		} {
			_, err := f.svc.ListApplicationKeys(ctx, project.ListApplicationKeysParams{InstanceID: ids[0], OrgID: ids[1], ProjectID: ids[2], AppID: ids[3]})
			if !iam.IsCode(err, iam.NotFound) {
				t.Fatalf("list in %s: %v", name, err)
			}
			wantCode(t, err, iam.NotFound, "app_id")
		}

		// Removal: only through the owning application.
		wantCode(t, f.svc.RemoveApplicationKey(ctx, "x", f.in.ID, f.org.ID, p.ID, web.ID, k1.ID), iam.NotFound, "key_id")
		wantCode(t, f.svc.RemoveApplicationKey(ctx, "x", f.in.ID, f.partner.ID, p.ID, api.ID, k1.ID), iam.NotFound, "app_id")
		wantCode(t, f.svc.RemoveApplicationKey(ctx, "x", f.other.ID, f.org.ID, p.ID, api.ID, k1.ID), iam.NotFound, "app_id")
		wantCode(t, f.svc.RemoveApplicationKey(ctx, "x", f.in.ID, f.org.ID, p.ID, api.ID, ""), iam.Invalid, "key_id")
		if err := f.svc.RemoveApplicationKey(ctx, "admin-2", f.in.ID, f.org.ID, p.ID, api.ID, k1.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.svc.RemoveApplicationKey(ctx, "admin-2", f.in.ID, f.org.ID, p.ID, api.ID, k1.ID), iam.NotFound, "key_id")
		evs = f.events(f.in.ID, project.EventAppKeyRemoved)
		if len(evs) != 1 || evs[0].AggregateID != api.ID || evs[0].Actor != "admin-2" || payload(t, evs[0])["key_id"] != k1.ID {
			t.Fatalf("removed events %+v", evs)
		}
		// The freed slot takes the removed key again.
		if _, err := f.svc.AddApplicationKey(ctx, "x", f.in.ID, f.org.ID, p.ID, api.ID, p384, time.Time{}); err != nil {
			t.Fatalf("re-adding a removed key: %v", err)
		}

		// Deleting the application deletes its keys.
		if err := f.svc.DeleteApplication(ctx, "x", f.in.ID, f.org.ID, p.ID, web.ID, web.Version); err != nil {
			t.Fatal(err)
		}
		if list, err := s.ApplicationKeyList(ctx, &store.ApplicationKeyListParams{InstanceID: f.in.ID, AppID: web.ID}); err != nil || len(list) != 0 {
			t.Fatalf("keys of a deleted application = %v, %v", list, err)
		}
	})
}
