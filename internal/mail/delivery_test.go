package mail

import (
	"bytes"
	"database/sql"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// arrival bounds how long a test waits for a message (the machine is
// slow and busy).
const arrival = 60 * time.Second

// jobArgs returns the raw arguments of every queued message, read
// straight from River's table.
func jobArgs(t *testing.T, s store.Store) [][]byte {
	t.Helper()
	const q = `SELECT args FROM river_job WHERE kind = 'rampart.mail.send' ORDER BY id`
	var out [][]byte
	switch db := s.(type) {
	case interface{ Pool() *pgxpool.Pool }:
		rows, err := db.Pool().Query(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	case interface{ DB() (*sql.DB, *sql.DB) }:
		_, r := db.DB()
		rows, err := r.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// newUser stores a human user of the instance.
func newUser(t *testing.T, s store.Store, instanceID, email, lang string) *iam.User {
	t.Helper()
	ctx := t.Context()
	org := must[*iam.Organization](t)(s.OrgCreate(ctx, &store.OrgCreateParams{
		Org: &iam.Organization{ID: iam.NewID(), InstanceID: instanceID, Name: "Org " + iam.NewID(), State: iam.StateActive}, Now: time.Now()}))
	u := &iam.User{ID: iam.NewID(), InstanceID: instanceID, OrgID: org.ID, Type: iam.UserHuman, LoginName: email, State: iam.UserActive,
		Human: &iam.HumanProfile{Email: email, GivenName: "Zoë", PreferredLanguage: lang}}
	return must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: u, Now: time.Now()}))
}

// TestDelivery: a message queued in a transaction is sent when it commits
// (over STARTTLS, authenticated, in the user's language, as a proper MIME
// message) and never when it rolls back; its codes are encrypted in the
// queue.
func TestDelivery(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		srv := startSMTP(t, smtpOptions{StartTLS: true, Users: map[string]string{"mailer": password}})
		b := setup(t, s, setupOptions{Jobs: true})
		ctx := t.Context()
		cfg := settingsAt(b.in.ID, srv.addr, iam.SMTPStartTLS)
		cfg.Username, cfg.Password = "mailer", password
		must[*iam.SMTPSettings](t)(b.svc.SetSettings(ctx, "admin", cfg))
		u := newUser(t, s, b.in.ID, "zoe@example.com", "de-CH")

		errRollback := errors.New("roll back")
		err := s.WithTx(ctx, func(tx store.Queries) error {
			if err := b.svc.Enqueue(ctx, tx, Message{InstanceID: b.in.ID, To: "rolled-back@example.com", Kind: KindOTP,
				Data: map[string]string{"code": "111111"}}); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		link := "https://id.example.com/ui/login/verify?code=493027&user=" + u.ID
		err = s.WithTx(ctx, func(tx store.Queries) error {
			return b.svc.Enqueue(ctx, tx, Message{InstanceID: b.in.ID, To: u.Human.Email, Kind: KindVerifyEmail,
				Lang: u.Human.PreferredLanguage, Data: map[string]string{"code": "493027", "link": link, "name": u.Human.GivenName}})
		})
		if err != nil {
			t.Fatal(err)
		}
		// In the queue, the code and the link are ciphertext.
		args := jobArgs(t, s)
		if len(args) != 1 {
			t.Fatalf("%d queued messages, want 1", len(args))
		}
		if bytes.Contains(args[0], []byte("493027")) || bytes.Contains(args[0], []byte("id.example.com")) {
			t.Fatalf("queued job shows the message's secrets: %s", args[0])
		}

		m := srv.wait(t, arrival)
		if m.From != "noreply@rampart.test" || !slices.Equal(m.To, []string{"zoe@example.com"}) || !m.TLS || m.AuthUser != "mailer" {
			t.Fatalf("envelope %q → %q, TLS %v, user %q", m.From, m.To, m.TLS, m.AuthUser)
		}
		p := parse(t, m.Data)
		if p.Subject != "Bestätigen Sie Ihre E-Mail-Adresse für Rampart" {
			t.Fatalf("subject %q", p.Subject)
		}
		if !strings.Contains(p.Text, "Hallo Zoë,") || !strings.Contains(p.Text, "493027") || !strings.Contains(p.Text, link) {
			t.Fatalf("text:\n%s", p.Text)
		}
		if !strings.Contains(p.HTML, `<html lang="de">`) || !strings.Contains(p.HTML, strings.ReplaceAll(link, "&", "&amp;")) {
			t.Fatalf("html:\n%s", p.HTML)
		}
		to, err := p.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Name != "Zoë" || to[0].Address != "zoe@example.com" {
			t.Fatalf("To %v (%v)", to, err)
		}
		from, err := p.Header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Name != "Rampart Tëst" {
			t.Fatalf("From %v (%v)", from, err)
		}
		if id := p.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@rampart.test>") {
			t.Fatalf("Message-ID %q", id)
		}
		if d, err := p.Header.Date(); err != nil || time.Since(d) > time.Hour || time.Until(d) > time.Minute {
			t.Fatalf("Date %v (%v)", d, err)
		}

		// The rolled-back message never existed: the next one to arrive is
		// a marker queued after it.
		if err := b.svc.Enqueue(ctx, s, Message{InstanceID: b.in.ID, To: "marker@example.com", Kind: KindTest}); err != nil {
			t.Fatal(err)
		}
		if m := srv.wait(t, arrival); !slices.Equal(m.To, []string{"marker@example.com"}) {
			t.Fatalf("next message went to %q, want the marker", m.To)
		}
		if strings.Contains(b.logs.String(), "s3cret") {
			t.Fatal("the SMTP password was logged")
		}
	})
}

// TestRetryUntilServerUp: while the SMTP server is down, delivery is
// retried; once it is up, the message arrives.
func TestRetryUntilServerUp(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // the server is down: connections are refused
		b := setup(t, s, setupOptions{Jobs: true})
		ctx := t.Context()
		must[*iam.SMTPSettings](t)(b.svc.SetSettings(ctx, "admin", settingsAt(b.in.ID, addr, iam.SMTPNoTLS)))
		if err := b.svc.Enqueue(ctx, s, Message{InstanceID: b.in.ID, To: "bob@example.com", Kind: KindOTP,
			Data: map[string]string{"code": "246810"}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, arrival, "three delivery attempts", func() bool { return b.dials.Load() >= 3 })
		srv := startSMTP(t, smtpOptions{Addr: addr})
		m := srv.wait(t, arrival)
		if p := parse(t, m.Data); p.Subject != "Your Rampart sign-in code: 246810" || m.TLS {
			t.Fatalf("subject %q, TLS %v", p.Subject, m.TLS)
		}
		if !strings.Contains(b.logs.String(), "connect to SMTP server "+addr) {
			t.Errorf("the failed attempts were not logged with their cause")
		}
	})
}

// TestDefaultServer: an instance without settings sends through the
// configured default server (here implicit TLS with AUTH LOGIN); the test
// e-mail of the admin API falls back to English.
func TestDefaultServer(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		srv := startSMTP(t, smtpOptions{Implicit: true, Users: map[string]string{"relay-user": "relay-pass"}, Mechanisms: []string{"LOGIN"}})
		def := settingsAt("", srv.addr, iam.SMTPTLS)
		def.Username, def.Password = "relay-user", "relay-pass"
		b := setup(t, s, setupOptions{Default: def, Jobs: true})
		if !b.svc.HasDefault() {
			t.Fatal("no default")
		}
		if err := b.svc.SendTestEmail(t.Context(), "admin", b.in.ID, "admin@example.com", "fr-FR"); err != nil {
			t.Fatal(err)
		}
		m := srv.wait(t, arrival)
		if !m.TLS || m.AuthUser != "relay-user" || !slices.Equal(m.To, []string{"admin@example.com"}) {
			t.Fatalf("TLS %v, user %q, to %q", m.TLS, m.AuthUser, m.To)
		}
		if p := parse(t, m.Data); p.Subject != "Rampart test e-mail" {
			t.Fatalf("subject %q", p.Subject)
		}
		events := auditEvents(t, s, b.in.ID)
		if len(events) != 1 || events[0].EventType != iam.EventInstanceTestEmailRequested || events[0].Actor != "admin" ||
			!bytes.Contains(events[0].Payload, []byte("admin@example.com")) {
			t.Fatalf("events %+v", events)
		}
	})
}

// TestSendFailures: what one attempt reports when the server rejects the
// recipient (cancelled: retrying cannot help), lacks STARTTLS, refuses the
// password or is not trusted (retried, with a clear error).
func TestSendFailures(t *testing.T) {
	t.Parallel()
	s := testenv.NewStore(t, "sqlite")
	b := setup(t, s, setupOptions{})
	ctx := t.Context()
	work := func(cfg *iam.SMTPSettings, to string) error {
		t.Helper()
		cfg = cfg.Clone()
		cfg.InstanceID, cfg.Version = b.in.ID, 0
		if cur, err := b.svc.GetSettings(ctx, b.in.ID); err == nil {
			cfg.Version = cur.Version
		}
		must[*iam.SMTPSettings](t)(b.svc.SetSettings(ctx, "admin", cfg))
		job := &river.Job[sendArgs]{JobRow: &rivertype.JobRow{Attempt: 1, CreatedAt: time.Now()},
			Args: sendArgs{InstanceID: b.in.ID, MessageID: iam.NewID(), To: to, MailKind: KindTest}}
		return (&sendWorker{s: b.svc}).Work(ctx, job)
	}
	plain := startSMTP(t, smtpOptions{RejectRcpt: map[string]bool{"gone@example.com": true}})
	tlsSrv := startSMTP(t, smtpOptions{StartTLS: true, Users: map[string]string{"u": "right"}})
	// The test certificate names localhost, 127.0.0.1 and ::1 only.
	otherName := startSMTP(t, smtpOptions{StartTLS: true, Addr: "127.0.0.2:0"})

	err := work(settingsAt("", plain.addr, iam.SMTPNoTLS), "gone@example.com")
	var cancel *rivertype.JobCancelError
	if !errors.As(err, &cancel) || !strings.Contains(err.Error(), "recipient gone@example.com") || !strings.Contains(err.Error(), "550") {
		t.Fatalf("rejected recipient: %v, want a cancelled job", err)
	}
	if err := work(settingsAt("", plain.addr, iam.SMTPNoTLS), "fine@example.com"); err != nil {
		t.Fatal(err)
	}
	if m := plain.wait(t, arrival); !slices.Equal(m.To, []string{"fine@example.com"}) {
		t.Fatalf("to %q", m.To)
	}

	for _, tc := range []struct {
		name string
		cfg  func() *iam.SMTPSettings
		want string
	}{
		{"no STARTTLS offered", func() *iam.SMTPSettings { return settingsAt("", plain.addr, iam.SMTPStartTLS) }, "does not offer STARTTLS"},
		{"wrong password", func() *iam.SMTPSettings {
			c := settingsAt("", tlsSrv.addr, iam.SMTPStartTLS)
			c.Username, c.Password = "u", "wrong"
			return c
		}, `authenticate as "u"`},
		{"certificate for another name", func() *iam.SMTPSettings { return settingsAt("", otherName.addr, iam.SMTPStartTLS) }, "STARTTLS: tls: failed to verify certificate"},
		{"implicit TLS to a plain server", func() *iam.SMTPSettings { return settingsAt("", plain.addr, iam.SMTPTLS) }, "TLS with SMTP server"},
	} {
		err := work(tc.cfg(), "bob@example.com")
		if err == nil || errors.As(err, &cancel) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a retryable error mentioning %q", tc.name, err, tc.want)
		}
	}
	if strings.Contains(b.logs.String(), "wrong") {
		t.Error("a password was logged")
	}
}
