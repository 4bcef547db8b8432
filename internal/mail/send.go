package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Register adds the delivery worker to the job queue's workers
// (jobs.Options.Register).
func (s *Service) Register(w *river.Workers) {
	river.AddWorker(w, &sendWorker{s: s})
}

// sendWorker delivers queued messages.
type sendWorker struct {
	river.WorkerDefaults[sendArgs]
	s *Service
}

// Timeout bounds one attempt.
func (w *sendWorker) Timeout(*river.Job[sendArgs]) time.Duration { return sendTimeout }

// Work delivers one message. An error makes River retry it with backoff,
// up to MaxAttempts; a recipient or content the server rejects for good
// (a 5xx answer to RCPT or DATA) cancels the job instead.
func (w *sendWorker) Work(ctx context.Context, job *river.Job[sendArgs]) error {
	err := w.s.deliver(ctx, &job.Args, job.CreatedAt)
	var perm *permanentError
	switch {
	case err == nil:
		w.s.log.InfoContext(ctx, "e-mail sent", "instance_id", job.Args.InstanceID, "kind", job.Args.MailKind,
			"message_id", job.Args.MessageID, "attempt", job.Attempt)
		return nil
	case errors.As(err, &perm):
		w.s.log.WarnContext(ctx, "e-mail rejected by the SMTP server; not retrying", "instance_id", job.Args.InstanceID,
			"kind", job.Args.MailKind, "message_id", job.Args.MessageID, "err", err)
		return river.JobCancel(err)
	}
	return err
}

// permanentError is a rejection that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// deliver renders and sends one queued message.
func (s *Service) deliver(ctx context.Context, a *sendArgs, created time.Time) error {
	cfg, err := s.settingsFor(ctx, a.InstanceID)
	if err != nil {
		return err
	}
	data, err := s.decodeData(a)
	if err != nil {
		return err
	}
	r, err := s.tmpl.render(a.MailKind, Language(a.Lang), data)
	if err != nil {
		return err
	}
	from := &mail.Address{Name: cfg.FromName, Address: cfg.FromAddress}
	to := &mail.Address{Name: oneLine(data["name"]), Address: a.To}
	msg, err := compose(from, to, messageID(a.MessageID, cfg.FromAddress), created, r)
	if err != nil {
		return fmt.Errorf("compose message: %w", err)
	}
	return s.send(ctx, cfg, a.To, msg)
}

// settingsFor returns the SMTP settings that apply to the instance, with
// the plaintext password: its own, else the default.
func (s *Service) settingsFor(ctx context.Context, instanceID string) (*iam.SMTPSettings, error) {
	cfg, err := s.store.SMTPSettingsGet(ctx, &store.SMTPSettingsGetParams{InstanceID: instanceID})
	switch {
	case errors.Is(err, store.ErrNotFound):
		if s.def == nil {
			return nil, fmt.Errorf("no SMTP server configured for instance %s: set its SMTP settings through the admin API "+
				"(InstanceSettingsService.SetSMTPSettings) or a default server (smtp.host and smtp.from in the configuration)", instanceID)
		}
		return s.def, nil
	case err != nil:
		return nil, fmt.Errorf("read SMTP settings: %w", err)
	}
	if len(cfg.EncryptedPassword) > 0 {
		plain, err := s.keyring.Decrypt(cfg.EncryptedPassword, passwordAAD(instanceID))
		if err != nil {
			return nil, fmt.Errorf("decrypt the SMTP password of instance %s (was the master key replaced?): %w", instanceID, err)
		}
		cfg.Password = string(plain)
	}
	return cfg, nil
}

// send delivers msg to one recipient through the server of cfg.
func (s *Service) send(ctx context.Context, cfg *iam.SMTPSettings, to string, msg []byte) (err error) {
	addr := cfg.Addr()
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	conn, err := s.dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to SMTP server %s: %w", addr, err)
	}
	// net/smtp knows no contexts: the deadline and cancellation close the
	// connection, which fails whatever command is waiting.
	raw := conn
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("SMTP server %s: %w (%w)", addr, ctx.Err(), err)
		}
	}()
	tlsConfig := &tls.Config{ServerName: cfg.HostName(), MinVersion: tls.VersionTLS12, RootCAs: s.rootCAs}
	if cfg.TLS == iam.SMTPTLS {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("TLS with SMTP server %s: %w", addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, cfg.HostName())
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP server %s: greeting: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello(s.helo); err != nil {
		return fmt.Errorf("SMTP server %s: EHLO: %w", addr, err)
	}
	if cfg.TLS == iam.SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("SMTP server %s does not offer STARTTLS: use tls mode \"tls\" if it speaks implicit TLS (port 465), or \"none\" for a trusted relay", addr)
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("SMTP server %s: STARTTLS: %w", addr, err)
		}
	}
	if cfg.Username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return fmt.Errorf("SMTP server %s offers no authentication (AUTH), but a username is configured", addr)
		}
		auth, err := chooseAuth(mechs, cfg)
		if err != nil {
			return fmt.Errorf("SMTP server %s: %w", addr, err)
		}
		if err := c.Auth(auth); err != nil {
			return fmt.Errorf("SMTP server %s: authenticate as %q: %w", addr, cfg.Username, err)
		}
	}
	if err := c.Mail(cfg.FromAddress); err != nil {
		return fmt.Errorf("SMTP server %s: sender %s: %w", addr, cfg.FromAddress, err)
	}
	if err := c.Rcpt(to); err != nil {
		return classify(fmt.Errorf("SMTP server %s: recipient %s: %w", addr, to, err))
	}
	w, err := c.Data()
	if err != nil {
		return classify(fmt.Errorf("SMTP server %s: DATA: %w", addr, err))
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("SMTP server %s: send message: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return classify(fmt.Errorf("SMTP server %s: message not accepted: %w", addr, err))
	}
	// The message is accepted; a failing QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// classify marks a 5xx answer (RFC 5321 §4.2.1: permanent negative
// completion) as permanent.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return &permanentError{err: err}
	}
	return err
}

// chooseAuth picks PLAIN (RFC 4616) or else LOGIN among the mechanisms the
// server offers. Both send the password as it is; they refuse to unless
// the connection is encrypted or goes to a loopback host.
func chooseAuth(offered string, cfg *iam.SMTPSettings) (smtp.Auth, error) {
	mechs := strings.Fields(strings.ToUpper(offered))
	switch {
	case slices.Contains(mechs, "PLAIN"):
		return smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.HostName()), nil
	case slices.Contains(mechs, "LOGIN"):
		return &loginAuth{username: cfg.Username, password: cfg.Password, host: cfg.HostName()}, nil
	}
	return nil, fmt.Errorf("no supported authentication mechanism among %q (supported: PLAIN, LOGIN)", offered)
}

// loginAuth is the LOGIN mechanism (draft-murchison-sasl-login), which
// some servers offer instead of PLAIN.
type loginAuth struct {
	username, password, host string
	step                     int
}

// Start implements smtp.Auth.
func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !iam.IsLoopbackHost(server.Name) {
		return "", nil, errors.New("refusing to send the password over an unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	a.step = 0
	return "LOGIN", nil, nil
}

// Next implements smtp.Auth: the user name, then the password, whatever
// the server's prompts say.
func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.username), nil
	case 2:
		return []byte(a.password), nil
	}
	return nil, errors.New("unexpected server challenge")
}
