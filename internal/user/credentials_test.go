package user_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/user"
)

func pubPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func ecPEM(t *testing.T) string {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return pubPEM(t, &k.PublicKey)
}

func TestPasswords(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("alice", "")
		got, err := e.svc.SetPassword(ctx, "admin", e.ref(u), "first password", false)
		if err != nil || got.Version != 2 || got.Human.PasswordChangeRequired {
			t.Fatalf("set password = %+v, %v", got, err)
		}
		if h := e.stored(u.ID).PasswordHash; !strings.HasPrefix(h, "$argon2id$") || strings.Contains(h, "first password") {
			t.Fatalf("stored hash %q", h)
		}
		if _, err := e.svc.CheckPassword(ctx, e.in.ID, "Alice", "first password"); err != nil {
			t.Fatal(err)
		}
		ev := e.events(iam.EventUserPasswordSet)
		if len(ev) != 1 || payload(t, ev[0])["password"] != "[redacted]" || strings.Contains(string(ev[0].Payload), "first password") {
			t.Fatalf("password events %+v", ev)
		}
		ie := e.noEvent("short password", iam.Invalid, func() error { _, err := e.svc.SetPassword(ctx, "admin", e.ref(u), "short", false); return err })
		if ie.Field != "password" {
			t.Fatalf("field %q", ie.Field)
		}

		reset, otp, err := e.svc.ResetPassword(ctx, "helpdesk", e.ref(u))
		if err != nil || len(otp) < 16 || !reset.Human.PasswordChangeRequired {
			t.Fatalf("reset = %+v, %q, %v", reset, otp, err)
		}
		if strings.Contains(string(e.events(iam.EventUserPasswordSet)[1].Payload), otp) {
			t.Fatal("one-time password in the audit payload")
		}
		if _, err := e.svc.CheckPassword(ctx, e.in.ID, "alice", "first password"); !iam.IsCode(err, iam.Unauthenticated) {
			t.Fatalf("old password after reset = %v", err)
		}
		logged, err := e.svc.CheckPassword(ctx, e.in.ID, "alice", otp)
		if err != nil || !logged.Human.PasswordChangeRequired {
			t.Fatalf("login with one-time password = %+v, %v", logged, err)
		}

		m := e.machine("robot")
		e.noEvent("machine password", iam.FailedPrecondition, func() error { _, err := e.svc.SetPassword(ctx, "admin", e.ref(m), "long enough", false); return err })
		e.noEvent("machine reset", iam.FailedPrecondition, func() error { _, _, err := e.svc.ResetPassword(ctx, "admin", e.ref(m)); return err })
	})
}

func TestClientSecrets(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		m := e.machine("robot")
		got, secret, err := e.svc.GenerateClientSecret(ctx, "admin", e.ref(m))
		if err != nil || !strings.HasPrefix(secret, user.ClientSecretPrefix) || got.LoginName != "robot" {
			t.Fatalf("generate = %+v, %q, %v", got, secret, err)
		}
		row := e.stored(m.ID)
		if len(row.SecretHash) != 32 || bytes.Contains(row.SecretHash, []byte(secret)) || !bytes.Equal(row.SecretHash, e.secrets.Hash(secret)) {
			t.Fatalf("stored secret hash %x", row.SecretHash)
		}
		if u, err := e.svc.VerifyClientSecret(ctx, e.in.ID, "ROBOT", secret); err != nil || u.ID != m.ID {
			t.Fatalf("verify = %v, %v", u, err)
		}
		ev := e.events(iam.EventUserClientSecretSet)
		if len(ev) != 1 || strings.Contains(string(ev[0].Payload), secret) || payload(t, ev[0])["client_secret"] != "[redacted]" {
			t.Fatalf("secret events %+v", ev)
		}
		// A new secret replaces the old one.
		_, second, err := e.svc.GenerateClientSecret(ctx, "admin", e.ref(m))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.VerifyClientSecret(ctx, e.in.ID, "robot", secret); !iam.IsCode(err, iam.Unauthenticated) {
			t.Fatalf("old secret = %v", err)
		}
		for name, tc := range map[string][3]string{
			"wrong secret":   {e.in.ID, "robot", second + "x"},
			"unknown client": {e.in.ID, "nobody", second},
			"other instance": {e.other.ID, "robot", second},
			"empty secret":   {e.in.ID, "robot", ""},
		} {
			_, err := e.svc.VerifyClientSecret(ctx, tc[0], tc[1], tc[2])
			if !iam.IsCode(err, iam.Unauthenticated) || !strings.Contains(err.Error(), "invalid client credentials") {
				t.Errorf("%s: %v", name, err)
			}
		}
		cur := e.stored(m.ID)
		if _, err := e.svc.SetState(ctx, "admin", e.ref(cur), cur.Version, iam.UserInactive); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.VerifyClientSecret(ctx, e.in.ID, "robot", second); !iam.IsCode(err, iam.Unauthenticated) {
			t.Fatalf("inactive machine = %v", err)
		}
		removed, err := e.svc.RemoveClientSecret(ctx, "admin", e.ref(m))
		if err != nil || removed.SecretHash != nil || e.stored(m.ID).SecretHash != nil {
			t.Fatalf("remove = %+v, %v", removed, err)
		}
		if len(e.events(iam.EventUserClientSecretRemoved)) != 1 {
			t.Fatal("no removed event")
		}
		// Removing again does nothing.
		if _, err := e.svc.RemoveClientSecret(ctx, "admin", e.ref(m)); err != nil || len(e.events(iam.EventUserClientSecretRemoved)) != 1 {
			t.Fatalf("second remove: %v", err)
		}
		h := e.human("alice", "")
		e.noEvent("human secret", iam.FailedPrecondition, func() error { _, _, err := e.svc.GenerateClientSecret(ctx, "admin", e.ref(h)); return err })
		e.noEvent("human remove secret", iam.FailedPrecondition, func() error { _, err := e.svc.RemoveClientSecret(ctx, "admin", e.ref(h)); return err })

		// A fixed secret (bootstrap).
		fixed := strings.Repeat("s", 40)
		fm, err := e.svc.CreateMachine(ctx, iam.SystemActor, &user.NewMachine{InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: "ci", ClientSecret: fixed})
		if err != nil || !bytes.Equal(e.stored(fm.ID).SecretHash, e.secrets.Hash(fixed)) {
			t.Fatalf("fixed secret: %v", err)
		}
		if _, err := e.svc.VerifyClientSecret(ctx, e.in.ID, "ci", fixed); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPersonalAccessTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("alice", "")
		exp := e.clock.Now().Add(24 * time.Hour)
		pat, token, err := e.svc.AddPAT(ctx, "admin", e.ref(u), &user.NewPAT{ExpiresAt: exp})
		if err != nil || !strings.HasPrefix(token, user.PATPrefix) || pat.UserID != u.ID || !pat.ExpiresAt.Equal(exp) {
			t.Fatalf("add = %+v, %q, %v", pat, token, err)
		}
		_, rowUser, err := e.s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: e.in.ID, Hash: e.secrets.Hash(token)})
		if err != nil || rowUser.ID != u.ID {
			t.Fatalf("stored by hash: %v", err)
		}
		if bytes.Contains(pat.TokenHash, []byte(token)) {
			t.Fatal("token stored in plain text")
		}
		ev := e.events(iam.EventUserPATAdded)
		if len(ev) != 1 || strings.Contains(string(ev[0].Payload), token) || payload(t, ev[0])["token_id"] != pat.ID {
			t.Fatalf("pat events %+v", ev)
		}
		if got, err := e.svc.AuthenticatePAT(ctx, e.in.ID, token); err != nil || got.ID != u.ID {
			t.Fatalf("authenticate = %v, %v", got, err)
		}
		// Machine users get tokens too; a fixed token works (bootstrap).
		m := e.machine("robot")
		fixed := "rpat_" + strings.Repeat("f", 40)
		if _, tok, err := e.svc.AddPAT(ctx, iam.SystemActor, e.ref(m), &user.NewPAT{ExpiresAt: exp, Token: fixed}); err != nil || tok != fixed {
			t.Fatalf("fixed token: %q, %v", tok, err)
		}
		if got, err := e.svc.AuthenticatePAT(ctx, e.in.ID, fixed); err != nil || got.ID != m.ID {
			t.Fatalf("authenticate fixed = %v, %v", got, err)
		}

		for name, in := range map[string]user.NewPAT{
			"no expiry":    {},
			"past":         {ExpiresAt: e.clock.Now().Add(-time.Second)},
			"too far":      {ExpiresAt: e.clock.Now().AddDate(10, 0, 1)},
			"short fixed":  {ExpiresAt: exp, Token: "short"},
			"spaced fixed": {ExpiresAt: exp, Token: strings.Repeat("a ", 20)},
		} {
			ie := e.noEvent(name, iam.Invalid, func() error { _, _, err := e.svc.AddPAT(ctx, "admin", e.ref(u), &in); return err })
			if want := map[bool]string{true: "token", false: "expires_at"}[in.Token != ""]; ie.Field != want {
				t.Errorf("%s: field %q, want %q", name, ie.Field, want)
			}
		}
		if _, _, err := e.svc.AddPAT(ctx, "admin", e.ref(u), &user.NewPAT{ExpiresAt: e.clock.Now().AddDate(10, 0, 0)}); err != nil {
			t.Fatalf("exactly 10 years: %v", err)
		}

		list, err := e.svc.ListPATs(ctx, e.ref(u), "", 1)
		if err != nil || len(list) != 1 || list[0].TokenHash != nil {
			t.Fatalf("list = %+v, %v", list, err)
		}
		rest, err := e.svc.ListPATs(ctx, e.ref(u), list[0].ID, 10)
		if err != nil || len(rest) != 1 || rest[0].ID == list[0].ID {
			t.Fatalf("second page = %+v, %v", rest, err)
		}

		// Generic failures.
		for name, tc := range map[string][2]string{
			"unknown":        {e.in.ID, token + "x"},
			"empty":          {e.in.ID, ""},
			"malformed":      {e.in.ID, "has space"},
			"other instance": {e.other.ID, token},
		} {
			if _, err := e.svc.AuthenticatePAT(ctx, tc[0], tc[1]); !iam.IsCode(err, iam.Unauthenticated) || !strings.Contains(err.Error(), "invalid or expired token") {
				t.Errorf("%s: %v", name, err)
			}
		}
		// Inactive user.
		cur := e.stored(u.ID)
		if _, err := e.svc.SetState(ctx, "admin", e.ref(cur), cur.Version, iam.UserLocked); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AuthenticatePAT(ctx, e.in.ID, token); !iam.IsCode(err, iam.Unauthenticated) {
			t.Fatalf("locked user = %v", err)
		}
		// Expired.
		e.clock.Advance(48 * time.Hour)
		if _, err := e.svc.AuthenticatePAT(ctx, e.in.ID, fixed); !iam.IsCode(err, iam.Unauthenticated) {
			t.Fatalf("expired = %v", err)
		}

		e.noEvent("remove unknown", iam.NotFound, func() error { return e.svc.RemovePAT(ctx, "admin", e.ref(u), iam.NewID()) })
		e.noEvent("remove other user's", iam.NotFound, func() error { return e.svc.RemovePAT(ctx, "admin", e.ref(m), pat.ID) })
		if err := e.svc.RemovePAT(ctx, "admin", e.ref(u), pat.ID); err != nil {
			t.Fatal(err)
		}
		if len(e.events(iam.EventUserPATRemoved)) != 1 {
			t.Fatal("no removed event")
		}
		if _, _, err := e.s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: e.in.ID, Hash: e.secrets.Hash(token)}); err == nil {
			t.Fatal("removed token still stored")
		}
	})
}

func TestMachineKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		m := e.machine("robot")
		exp := e.clock.Now().Add(time.Hour)
		k, priv, err := e.svc.AddMachineKey(ctx, "admin", e.ref(m), &user.NewMachineKey{ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode([]byte(priv))
		if block == nil || block.Type != "PRIVATE KEY" {
			t.Fatalf("private key PEM %q", priv)
		}
		pk, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		rk := pk.(*rsa.PrivateKey)
		if rk.N.BitLen() != 2048 || k.PublicKeyPEM != pubPEM(t, &rk.PublicKey) || !k.ExpiresAt.Equal(exp) {
			t.Fatalf("generated key %+v", k)
		}
		ev := e.events(iam.EventUserKeyAdded)
		if len(ev) != 1 || strings.Contains(string(ev[0].Payload), "PRIVATE") || strings.Contains(string(ev[0].Payload), "PUBLIC") {
			t.Fatalf("key events %+v", ev)
		}

		ec := ecPEM(t)
		k2, priv2, err := e.svc.AddMachineKey(ctx, "admin", e.ref(m), &user.NewMachineKey{PublicKeyPEM: "\n" + ec + "\n", ExpiresAt: exp})
		if err != nil || priv2 != "" || k2.PublicKeyPEM != ec {
			t.Fatalf("EC key = %+v, %q, %v", k2, priv2, err)
		}
		rsa3072, _ := rsa.GenerateKey(rand.Reader, 3072)
		if _, _, err := e.svc.AddMachineKey(ctx, "admin", e.ref(m), &user.NewMachineKey{PublicKeyPEM: pubPEM(t, &rsa3072.PublicKey), ExpiresAt: exp}); err != nil {
			t.Fatalf("RSA 3072: %v", err)
		}

		small, _ := rsa.GenerateKey(rand.Reader, 1024)
		p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(small)
		for name, pemText := range map[string]string{
			"RSA 1024":    pubPEM(t, &small.PublicKey),
			"P-384":       pubPEM(t, &p384.PublicKey),
			"garbage":     "not a key",
			"private key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
			"two blocks":  ec + ec,
			"bad DER":     string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("nope")})),
		} {
			ie := e.noEvent(name, iam.Invalid, func() error {
				_, _, err := e.svc.AddMachineKey(ctx, "admin", e.ref(m), &user.NewMachineKey{PublicKeyPEM: pemText, ExpiresAt: exp})
				return err
			})
			if ie.Field != "public_key_pem" {
				t.Errorf("%s: field %q", name, ie.Field)
			}
		}
		ie := e.noEvent("no expiry", iam.Invalid, func() error {
			_, _, err := e.svc.AddMachineKey(ctx, "admin", e.ref(m), &user.NewMachineKey{PublicKeyPEM: ec})
			return err
		})
		if ie.Field != "expires_at" {
			t.Errorf("no expiry: field %q", ie.Field)
		}
		h := e.human("alice", "")
		e.noEvent("human key", iam.FailedPrecondition, func() error {
			_, _, err := e.svc.AddMachineKey(ctx, "admin", e.ref(h), &user.NewMachineKey{PublicKeyPEM: ec, ExpiresAt: exp})
			return err
		})

		list, err := e.svc.ListMachineKeys(ctx, e.ref(m), "", 10)
		if err != nil || len(list) != 3 {
			t.Fatalf("list = %d keys, %v", len(list), err)
		}
		e.noEvent("remove unknown", iam.NotFound, func() error { return e.svc.RemoveMachineKey(ctx, "admin", e.ref(m), iam.NewID()) })
		if err := e.svc.RemoveMachineKey(ctx, "admin", e.ref(m), k.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := e.svc.ListMachineKeys(ctx, e.ref(m), "", 10); len(list) != 2 || len(e.events(iam.EventUserKeyRemoved)) != 1 {
			t.Fatalf("after remove: %d keys", len(list))
		}
	})
}
