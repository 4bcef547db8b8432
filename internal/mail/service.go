package mail

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Enqueuer inserts jobs; jobs.Jobs implements it. If q is a transaction of
// store.WithTx, the job must be inserted in it.
type Enqueuer interface {
	Enqueue(ctx context.Context, q store.Queries, args river.JobArgs, opts *river.InsertOpts) error
}

// Options configure a Service.
type Options struct {
	// Keyring encrypts SMTP passwords and the data of queued messages;
	// required.
	Keyring *crypto.Keyring
	// Default is the SMTP server of instances without settings of their own
	// (config.SMTPConfig.Settings); nil means none. Its Password is the
	// plaintext.
	Default *iam.SMTPSettings
	// Enqueuer is the job queue messages are queued in. It may be set
	// later with SetEnqueuer (the queue's workers need the Service first).
	Enqueuer Enqueuer
	// Logger receives delivery logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// HeloName is the name this host introduces itself with (EHLO); the
	// host name if empty.
	HeloName string
	// RootCAs verify the SMTP servers' certificates; nil means the
	// system's roots (SSL_CERT_FILE and SSL_CERT_DIR can add to them).
	RootCAs *x509.CertPool
	// Dial opens connections to SMTP servers; a net.Dialer with a 30 s
	// timeout if nil. Tests count or redirect connections with it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Service manages the SMTP settings of instances and sends e-mail through
// the job queue.
type Service struct {
	store    store.Store
	keyring  *crypto.Keyring
	def      *iam.SMTPSettings
	enqueuer atomic.Pointer[Enqueuer]
	log      *slog.Logger
	now      func() time.Time
	helo     string
	rootCAs  *x509.CertPool
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	tmpl     *templates
}

// New returns a Service on s. It fails if the keyring is missing or the
// default settings are invalid.
func New(s store.Store, o Options) (*Service, error) {
	if o.Keyring == nil {
		return nil, errors.New("mail: no keyring")
	}
	if o.Default != nil {
		d := o.Default.Clone()
		d.Normalize()
		d.ApplyDefaults()
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("mail: default SMTP settings: %w", err)
		}
		o.Default = d
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HeloName == "" {
		o.HeloName = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
			o.HeloName = h
		}
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: dialTimeout}
		o.Dial = d.DialContext
	}
	tmpl, err := loadTemplates()
	if err != nil {
		return nil, err
	}
	svc := &Service{
		store: s, keyring: o.Keyring, def: o.Default, log: o.Logger.With("component", "mail"), now: o.Now,
		helo: o.HeloName, rootCAs: o.RootCAs, dial: o.Dial, tmpl: tmpl,
	}
	if o.Enqueuer != nil {
		svc.SetEnqueuer(o.Enqueuer)
	}
	return svc, nil
}

// SetEnqueuer sets the job queue Enqueue inserts into. Call it once while
// wiring, before the Service is used: the queue (jobs.New) needs the
// Service's worker (Register) first.
func (s *Service) SetEnqueuer(e Enqueuer) { s.enqueuer.Store(&e) }

// HasDefault reports whether a default SMTP server is configured.
func (s *Service) HasDefault() bool { return s.def != nil }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// passwordAAD binds an encrypted SMTP password to its instance.
func passwordAAD(instanceID string) []byte { return []byte("smtp:" + instanceID) }

// GetSettings returns the SMTP settings of the instance: NotFound if it has
// none (then the default applies, see HasDefault). The result holds the
// encrypted password only (Password is empty; HasPassword tells whether
// one is stored).
func (s *Service) GetSettings(ctx context.Context, instanceID string) (*iam.SMTPSettings, error) {
	out, err := s.store.SMTPSettingsGet(ctx, &store.SMTPSettingsGetParams{InstanceID: instanceID})
	if err != nil {
		return nil, store.DomainError(err, "SMTP settings")
	}
	return out, nil
}

// SetSettings validates and stores the SMTP settings of in.InstanceID with
// an "instance.smtp_settings_set" event. in.Version 0 creates them
// (Conflict if the instance has settings already); otherwise it is the
// version being replaced (NotFound if there are none, Conflict if it is
// stale). The password: with an empty Username there is none; a non-empty
// Password replaces the stored one (encrypted with the master key); an
// empty Password keeps the stored one, and is Invalid if none is stored.
// Settings that change nothing are not stored again and record no event.
// The result holds the encrypted password only.
func (s *Service) SetSettings(ctx context.Context, actor string, in *iam.SMTPSettings) (*iam.SMTPSettings, error) {
	c := in.Clone()
	c.EncryptedPassword = nil
	c.Normalize()
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	newPassword := c.Password != ""
	var out *iam.SMTPSettings
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.SMTPSettingsGet(ctx, &store.SMTPSettingsGetParams{InstanceID: c.InstanceID})
		switch {
		case errors.Is(err, store.ErrNotFound):
			before = nil
		case err != nil:
			return err
		}
		switch {
		case c.Version == 0 && before != nil:
			return &iam.Error{Code: iam.Conflict, Field: "version",
				Message: "the instance has SMTP settings already: read them and send their version to replace them"}
		case c.Version != 0 && before == nil:
			return &iam.Error{Code: iam.NotFound, Message: "SMTP settings not found: send version 0 to create them"}
		case before != nil && before.Version != c.Version:
			return store.ErrConflict
		}
		switch {
		case c.Username == "":
			c.EncryptedPassword = nil
		case newPassword:
			enc, err := s.keyring.Encrypt([]byte(c.Password), passwordAAD(c.InstanceID))
			if err != nil {
				return fmt.Errorf("encrypt SMTP password: %w", err)
			}
			c.EncryptedPassword = enc
		case before != nil && len(before.EncryptedPassword) > 0:
			c.EncryptedPassword = before.EncryptedPassword
		default:
			return &iam.Error{Code: iam.Invalid, Field: "password", Message: "required with a username (none is stored yet)"}
		}
		c.Password = ""
		if before != nil && !newPassword && sameSettings(before, c) {
			out = before
			return nil
		}
		now := s.clock()
		stored, err := tx.SMTPSettingsPut(ctx, &store.SMTPSettingsPutParams{Settings: c, Now: now})
		if err != nil {
			return err
		}
		out = stored
		payload := map[string]any{"after": snapshot(stored), "password_changed": newPassword || (before != nil && before.HasPassword() && !stored.HasPassword())}
		if before != nil {
			payload["before"] = snapshot(before)
		}
		return event(ctx, tx, actor, c.InstanceID, iam.EventInstanceSMTPSettingsSet, payload, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "SMTP settings")
	}
	return out, nil
}

// DeleteSettings deletes the SMTP settings of the instance at version, with
// an "instance.smtp_settings_deleted" event: its e-mail then goes through
// the default server, if there is one. NotFound if there are none,
// Conflict if version is stale.
func (s *Service) DeleteSettings(ctx context.Context, actor, instanceID string, version int64) error {
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.SMTPSettingsGet(ctx, &store.SMTPSettingsGetParams{InstanceID: instanceID})
		if err != nil {
			return err
		}
		if err := tx.SMTPSettingsDelete(ctx, &store.SMTPSettingsDeleteParams{InstanceID: instanceID, Version: version}); err != nil {
			return err
		}
		return event(ctx, tx, actor, instanceID, iam.EventInstanceSMTPSettingsDeleted, map[string]any{"before": snapshot(before)}, s.clock())
	})
	return store.DomainError(err, "SMTP settings")
}

// SendTestEmail queues a test message to the address to, in the language
// lang (a BCP 47 tag; English when unsupported), with an
// "instance.test_email_requested" event. It is sent like any other
// message, through the instance's SMTP server or else the default one;
// FailedPrecondition if there is neither.
func (s *Service) SendTestEmail(ctx context.Context, actor, instanceID, to, lang string) error {
	to = strings.TrimSpace(to)
	if p := iam.ValidateEmail(to); p != "" {
		if to == "" {
			p = "required"
		}
		return &iam.Error{Code: iam.Invalid, Field: "to", Message: p}
	}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, err := tx.SMTPSettingsGet(ctx, &store.SMTPSettingsGetParams{InstanceID: instanceID}); errors.Is(err, store.ErrNotFound) {
			if s.def == nil {
				return &iam.Error{Code: iam.FailedPrecondition,
					Message: "no SMTP server is configured for this instance: set its SMTP settings first (or the server's smtp.* configuration)"}
			}
		} else if err != nil {
			return err
		}
		if err := event(ctx, tx, actor, instanceID, iam.EventInstanceTestEmailRequested, map[string]any{"to": to}, s.clock()); err != nil {
			return err
		}
		return s.Enqueue(ctx, tx, Message{InstanceID: instanceID, To: to, Kind: KindTest, Lang: lang})
	})
	return store.DomainError(err, "SMTP settings")
}

// sameSettings reports whether b stores what a does (ignoring versions and
// times; the password by its ciphertext).
func sameSettings(a, b *iam.SMTPSettings) bool {
	return a.Host == b.Host && a.Port == b.Port && a.Username == b.Username && a.FromAddress == b.FromAddress &&
		a.FromName == b.FromName && a.TLS == b.TLS && string(a.EncryptedPassword) == string(b.EncryptedPassword)
}

// snapshot is the audit view of settings: never the password, only whether
// one is set.
func snapshot(s *iam.SMTPSettings) map[string]any {
	return map[string]any{
		"host": s.Host, "port": s.Port, "username": s.Username, "password_set": s.HasPassword(),
		"from_address": s.FromAddress, "from_name": s.FromName, "tls": string(s.TLS), "version": s.Version,
	}
}

// event appends an audit event of the instance in tx.
func event(ctx context.Context, tx store.Queries, actor, instanceID, typ string, payload any, now time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode audit payload: %w", err)
	}
	_, err = tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
		InstanceID: instanceID, Actor: actor, AggregateType: iam.AggregateInstance, AggregateID: instanceID,
		EventType: typ, Payload: body, Now: now,
	})
	return err
}
