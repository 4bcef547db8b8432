package mail

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// storedPassword reads the password column of an instance's settings
// straight from the database, past the store.
func storedPassword(t *testing.T, s store.Store, instanceID string) []byte {
	t.Helper()
	var b []byte
	var err error
	switch db := s.(type) {
	case interface{ Pool() *pgxpool.Pool }:
		err = db.Pool().QueryRow(t.Context(), `SELECT password_encrypted FROM smtp_settings WHERE instance_id = $1`, instanceID).Scan(&b)
	case interface{ DB() (*sql.DB, *sql.DB) }:
		_, r := db.DB()
		err = r.QueryRowContext(t.Context(), `SELECT password_encrypted FROM smtp_settings WHERE instance_id = ?`, instanceID).Scan(&b)
	default:
		t.Fatalf("cannot read the %s database directly", s.Backend())
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// auditEvents returns the instance's e-mail settings events.
func auditEvents(t *testing.T, s store.Store, instanceID string) []*iam.AuditEvent {
	t.Helper()
	all := must[[]*iam.AuditEvent](t)(s.AuditEventList(t.Context(), &store.AuditEventListParams{InstanceID: instanceID, AggregateType: iam.AggregateInstance}))
	var out []*iam.AuditEvent
	for _, e := range all {
		if strings.HasPrefix(e.EventType, "instance.smtp_") || e.EventType == iam.EventInstanceTestEmailRequested {
			out = append(out, e)
		}
	}
	return out
}

const password = "s3cret-SMTP-pässword"

func TestSettings(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		b := setup(t, s, setupOptions{})
		ctx, id := t.Context(), b.in.ID
		_, err := b.svc.GetSettings(ctx, id)
		wantCode(t, "no settings yet", err, iam.NotFound)

		// Create: normalized, defaults applied, the password encrypted.
		in := &iam.SMTPSettings{InstanceID: id, Host: " SMTP.Example.COM. ", Username: "mailer", Password: password,
			FromAddress: "noreply@example.com", FromName: "Example"}
		created := must[*iam.SMTPSettings](t)(b.svc.SetSettings(ctx, "admin", in))
		if created.Host != "smtp.example.com" || created.Port != 587 || created.TLS != iam.SMTPStartTLS || created.Version != 1 ||
			created.Password != "" || !created.HasPassword() {
			t.Fatalf("created %+v", created)
		}
		if in.Host != " SMTP.Example.COM. " || in.Password != password {
			t.Fatal("SetSettings changed its argument")
		}
		got := must[*iam.SMTPSettings](t)(b.svc.GetSettings(ctx, id))
		if got.Password != "" || got.Version != 1 || got.Username != "mailer" {
			t.Fatalf("got %+v", got)
		}

		// At rest the password is ciphertext that only this instance's
		// associated data opens.
		enc := storedPassword(t, s, id)
		if len(enc) == 0 || bytes.Contains(enc, []byte(password)) || bytes.Contains(enc, []byte("s3cret")) {
			t.Fatalf("stored password %q is not encrypted", enc)
		}
		if plain, err := b.kr.Decrypt(enc, []byte("smtp:"+id)); err != nil || string(plain) != password {
			t.Fatalf("decrypt stored password: %q, %v", plain, err)
		}
		if _, err := b.kr.Decrypt(enc, []byte("smtp:"+iam.NewID())); err == nil {
			t.Fatal("the ciphertext opens for another instance")
		}

		// An update without a password keeps the stored one.
		upd := &iam.SMTPSettings{InstanceID: id, Version: 1, Host: "smtp.example.com", Port: 2525, Username: "mailer",
			FromAddress: "noreply@example.com", FromName: "Example", TLS: iam.SMTPTLS}
		v2 := must[*iam.SMTPSettings](t)(b.svc.SetSettings(ctx, "admin", upd))
		if v2.Version != 2 || v2.Port != 2525 || v2.TLS != iam.SMTPTLS || !bytes.Equal(storedPassword(t, s, id), enc) {
			t.Fatalf("update without password: %+v", v2)
		}
		// The same settings again change nothing.
		upd.Version = 2
		same := must[*iam.SMTPSettings](t)(b.svc.SetSettings(ctx, "admin", upd))
		if same.Version != 2 {
			t.Fatalf("no-op update stored version %d", same.Version)
		}
		// A new password replaces it.
		upd.Password = "another"
		v3 := must[*iam.SMTPSettings](t)(b.svc.SetSettings(ctx, "admin", upd))
		if plain, _ := b.kr.Decrypt(storedPassword(t, s, id), []byte("smtp:"+id)); v3.Version != 3 || string(plain) != "another" {
			t.Fatalf("new password: version %d, stored %q", v3.Version, plain)
		}
		// Without a username there is no password.
		noAuth := &iam.SMTPSettings{InstanceID: id, Version: 3, Host: "relay.internal", TLS: iam.SMTPNoTLS, FromAddress: "noreply@example.com"}
		v4 := must[*iam.SMTPSettings](t)(b.svc.SetSettings(ctx, "admin", noAuth))
		if v4.Version != 4 || v4.HasPassword() || v4.Port != 25 || storedPassword(t, s, id) != nil {
			t.Fatalf("without username: %+v", v4)
		}

		for _, tc := range []struct {
			name string
			in   *iam.SMTPSettings
			code iam.Code
			want string
		}{
			{"create over existing", &iam.SMTPSettings{InstanceID: id, Host: "h.example", FromAddress: "a@example.com"}, iam.Conflict, "version"},
			{"stale version", &iam.SMTPSettings{InstanceID: id, Version: 3, Host: "h.example", FromAddress: "a@example.com"}, iam.Conflict, "changed concurrently"},
			{"username without any password", &iam.SMTPSettings{InstanceID: id, Version: 4, Host: "h.example", Username: "u", FromAddress: "a@example.com"},
				iam.Invalid, "password: required with a username"},
			{"invalid fields", &iam.SMTPSettings{InstanceID: id, Version: 4, Host: "h:25", Port: 70000, FromAddress: "nope", TLS: "ssl"},
				iam.Invalid, "host: "},
		} {
			_, err := b.svc.SetSettings(ctx, "admin", tc.in)
			wantCode(t, tc.name, err, tc.code)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v does not mention %q", tc.name, err, tc.want)
			}
		}
		other := setup(t, s, setupOptions{})
		_, err = other.svc.SetSettings(ctx, "admin", &iam.SMTPSettings{InstanceID: other.in.ID, Version: 1, Host: "h.example", FromAddress: "a@example.com"})
		wantCode(t, "update of absent settings", err, iam.NotFound)
		// The other instance sees none of this one's settings.
		_, err = other.svc.GetSettings(ctx, other.in.ID)
		wantCode(t, "other instance", err, iam.NotFound)
		wantCode(t, "delete in other instance", other.svc.DeleteSettings(ctx, "admin", other.in.ID, 4), iam.NotFound)

		wantCode(t, "stale delete", b.svc.DeleteSettings(ctx, "admin", id, 3), iam.Conflict)
		if err := b.svc.DeleteSettings(ctx, "admin", id, 4); err != nil {
			t.Fatal(err)
		}
		_, err = b.svc.GetSettings(ctx, id)
		wantCode(t, "after delete", err, iam.NotFound)

		// Every change was audited, by its actor, without the password.
		events := auditEvents(t, s, id)
		var types []string
		for _, e := range events {
			types = append(types, e.EventType)
			if e.Actor != "admin" || bytes.Contains(e.Payload, []byte("s3cret")) || bytes.Contains(e.Payload, []byte("another")) ||
				bytes.Contains(e.Payload, []byte(`"password"`)) {
				t.Errorf("event %s by %s: %s", e.EventType, e.Actor, e.Payload)
			}
		}
		set, del := iam.EventInstanceSMTPSettingsSet, iam.EventInstanceSMTPSettingsDeleted
		if want := []string{set, set, set, set, del}; strings.Join(types, ",") != strings.Join(want, ",") {
			t.Fatalf("events %v, want %v", types, want)
		}
		var p struct {
			Before, After   map[string]any
			PasswordChanged bool `json:"password_changed"`
		}
		if err := json.Unmarshal(events[2].Payload, &p); err != nil {
			t.Fatal(err)
		}
		if !p.PasswordChanged || p.Before["password_set"] != true || p.After["port"] != float64(2525) || p.After["version"] != float64(3) {
			t.Fatalf("payload of the password change: %s", events[2].Payload)
		}
	})
}

func TestSendTestEmailNeedsAServer(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		b := setup(t, s, setupOptions{})
		ctx := t.Context()
		wantCode(t, "no recipient", b.svc.SendTestEmail(ctx, "admin", b.in.ID, "", "en"), iam.Invalid)
		wantCode(t, "bad recipient", b.svc.SendTestEmail(ctx, "admin", b.in.ID, "Bob <bob@example.com>", "en"), iam.Invalid)
		err := b.svc.SendTestEmail(ctx, "admin", b.in.ID, "bob@example.com", "en")
		wantCode(t, "no server", err, iam.FailedPrecondition)
		if len(auditEvents(t, s, b.in.ID)) != 0 {
			t.Fatal("a refused test e-mail was audited")
		}
		// The worker explains what to configure.
		_, err = b.svc.settingsFor(ctx, b.in.ID)
		if err == nil || !strings.Contains(err.Error(), "SetSMTPSettings") || !strings.Contains(err.Error(), "smtp.host") {
			t.Fatalf("settingsFor without any server: %v", err)
		}
	})
}

func TestNewRejectsBadDefault(t *testing.T) {
	t.Parallel()
	s := testenv.NewStore(t, "sqlite")
	b := setup(t, s, setupOptions{})
	if _, err := New(s, Options{Keyring: b.kr, Default: &iam.SMTPSettings{Host: "smtp.example.com"}}); err == nil ||
		!strings.Contains(err.Error(), "from_address") {
		t.Fatalf("New with a default without sender: %v", err)
	}
	if _, err := New(s, Options{}); err == nil {
		t.Fatal("New without keyring succeeded")
	}
	if err := b.svc.Enqueue(t.Context(), s, Message{InstanceID: b.in.ID, To: "a@example.com", Kind: KindTest}); err == nil ||
		!strings.Contains(err.Error(), "SetEnqueuer") {
		t.Fatalf("Enqueue without a queue: %v", err)
	}
}
