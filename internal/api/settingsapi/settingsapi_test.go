package settingsapi_test

import (
	"context"
	"os"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/settingsapi"
	"github.com/rampartiam/rampart/internal/crypto"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/jobs"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func instance(t *testing.T, s store.Store) *iam.Instance {
	t.Helper()
	in, err := s.InstanceCreate(t.Context(), &store.InstanceCreateParams{
		Instance: &iam.Instance{ID: iam.NewID(), Name: "Tenant", PrimaryDomain: iam.NewID()[24:] + ".example", State: iam.InstanceActive},
		Now:      time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func wantCode(t *testing.T, what string, err error, code iam.Code) {
	t.Helper()
	if iam.ErrorCode(err) != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// setup returns the handler on a mail service with a job queue (not
// started: the test only queues) and a request context of a new instance.
func setup(t *testing.T, s store.Store, def *iam.SMTPSettings) (adminv1connect.InstanceSettingsServiceHandler, context.Context, *iam.Instance) {
	t.Helper()
	raw, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.New(s, mail.Options{Keyring: crypto.NewKeyring(key), Default: def})
	if err != nil {
		t.Fatal(err)
	}
	j, err := jobs.New(jobs.Options{Store: s, Register: m.Register})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Stop(context.Background()) })
	m.SetEnqueuer(j)
	in := instance(t, s)
	ctx := reqctx.WithInstance(reqctx.WithPrincipal(t.Context(), &iam.Principal{InstanceID: in.ID, UserID: "admin-user"}), in)
	return settingsapi.NewInstanceSettingsServer(m), ctx, in
}

func TestInstanceSettingsServer(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		h, ctx, in := setup(t, s, nil)
		got, err := h.GetSMTPSettings(ctx, connect.NewRequest(&adminv1.GetSMTPSettingsRequest{}))
		if err != nil || got.Msg.Settings != nil || got.Msg.DefaultAvailable {
			t.Fatalf("get before any settings = %v, %v", got, err)
		}
		_, err = h.SendTestEmail(ctx, connect.NewRequest(&adminv1.SendTestEmailRequest{To: "admin@example.com"}))
		wantCode(t, "test e-mail without any server", err, iam.FailedPrecondition)

		set, err := h.SetSMTPSettings(ctx, connect.NewRequest(&adminv1.SetSMTPSettingsRequest{
			Host: "smtp.example.com", Username: "mailer", Password: "pw", FromAddress: "noreply@example.com", FromName: "Example",
			Tls: adminv1.SmtpTlsMode_SMTP_TLS_MODE_TLS,
		}))
		if err != nil {
			t.Fatal(err)
		}
		st := set.Msg.Settings
		if st.Host != "smtp.example.com" || st.Port != 465 || st.Tls != adminv1.SmtpTlsMode_SMTP_TLS_MODE_TLS || !st.PasswordSet ||
			st.Version != 1 || st.CreatedAt == nil || st.Username != "mailer" || st.FromName != "Example" {
			t.Fatalf("set %+v", st)
		}
		// Unspecified TLS means STARTTLS; no password keeps the stored one.
		set, err = h.SetSMTPSettings(ctx, connect.NewRequest(&adminv1.SetSMTPSettingsRequest{
			Version: 1, Host: "smtp.example.com", Username: "mailer", FromAddress: "noreply@example.com",
		}))
		if err != nil || set.Msg.Settings.Tls != adminv1.SmtpTlsMode_SMTP_TLS_MODE_STARTTLS || set.Msg.Settings.Port != 587 ||
			!set.Msg.Settings.PasswordSet || set.Msg.Settings.Version != 2 {
			t.Fatalf("update = %v, %v", set, err)
		}
		got, err = h.GetSMTPSettings(ctx, connect.NewRequest(&adminv1.GetSMTPSettingsRequest{}))
		if err != nil || got.Msg.Settings.GetVersion() != 2 {
			t.Fatalf("get = %v, %v", got, err)
		}
		_, err = h.SetSMTPSettings(ctx, connect.NewRequest(&adminv1.SetSMTPSettingsRequest{Version: 2, Host: "h.example", FromAddress: "a@example.com", Tls: 42}))
		wantCode(t, "unknown TLS mode", err, iam.Invalid)
		_, err = h.SetSMTPSettings(ctx, connect.NewRequest(&adminv1.SetSMTPSettingsRequest{Version: 1, Host: "h.example", FromAddress: "a@example.com"}))
		wantCode(t, "stale version", err, iam.Conflict)

		if _, err := h.SendTestEmail(ctx, connect.NewRequest(&adminv1.SendTestEmailRequest{To: "admin@example.com", Language: "de"})); err != nil {
			t.Fatal(err)
		}
		_, err = h.SendTestEmail(ctx, connect.NewRequest(&adminv1.SendTestEmailRequest{To: "not an address"}))
		wantCode(t, "bad recipient", err, iam.Invalid)

		_, err = h.DeleteSMTPSettings(ctx, connect.NewRequest(&adminv1.DeleteSMTPSettingsRequest{Version: 1}))
		wantCode(t, "stale delete", err, iam.Conflict)
		if _, err := h.DeleteSMTPSettings(ctx, connect.NewRequest(&adminv1.DeleteSMTPSettingsRequest{Version: 2})); err != nil {
			t.Fatal(err)
		}
		_, err = h.DeleteSMTPSettings(ctx, connect.NewRequest(&adminv1.DeleteSMTPSettingsRequest{Version: 2}))
		wantCode(t, "delete again", err, iam.NotFound)

		// Every change is audited with the request's actor.
		events, err := s.AuditEventList(t.Context(), &store.AuditEventListParams{InstanceID: in.ID, Actor: "admin-user"})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range events {
			types = append(types, e.EventType)
		}
		want := []string{iam.EventInstanceSMTPSettingsSet, iam.EventInstanceSMTPSettingsSet, iam.EventInstanceTestEmailRequested, iam.EventInstanceSMTPSettingsDeleted}
		if len(types) != len(want) {
			t.Fatalf("events %v, want %v", types, want)
		}
		for i := range want {
			if types[i] != want[i] {
				t.Fatalf("events %v, want %v", types, want)
			}
		}
	})
}

func TestInstanceSettingsServerDefault(t *testing.T) {
	t.Parallel()
	s := testenv.NewStore(t, "sqlite")
	h, ctx, _ := setup(t, s, &iam.SMTPSettings{Host: "relay.internal", TLS: iam.SMTPNoTLS, FromAddress: "noreply@example.com"})
	got, err := h.GetSMTPSettings(ctx, connect.NewRequest(&adminv1.GetSMTPSettingsRequest{}))
	if err != nil || got.Msg.Settings != nil || !got.Msg.DefaultAvailable {
		t.Fatalf("get with a default = %v, %v", got, err)
	}
	// With a default server a test e-mail can be queued at once.
	if _, err := h.SendTestEmail(ctx, connect.NewRequest(&adminv1.SendTestEmailRequest{To: "admin@example.com"})); err != nil {
		t.Fatal(err)
	}
	// Without an instance in the context the handler refuses (a wiring
	// error, not a client error).
	if _, err := h.GetSMTPSettings(t.Context(), connect.NewRequest(&adminv1.GetSMTPSettingsRequest{})); err == nil {
		t.Fatal("get without instance succeeded")
	}
}
