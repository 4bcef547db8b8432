package test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server in the test process that keeps every
// message; the nodes under test deliver to it (smtp.tls none on loopback).
type mailbox struct {
	addr string
	got  chan *mail.Message
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb := &mailbox{addr: l.Addr().String(), got: make(chan *mail.Message, 16)}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &smtpSession{mb: mb}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return mb
}

// env points a node at the mailbox.
func (mb *mailbox) env() []string {
	host, port, _ := net.SplitHostPort(mb.addr)
	return []string{"RAMPART_SMTP_HOST=" + host, "RAMPART_SMTP_PORT=" + port, "RAMPART_SMTP_TLS=none", "RAMPART_SMTP_FROM=login@shop.example"}
}

// link waits for the next message to rcpt and returns the first link in
// its text part that contains path.
func (mb *mailbox) link(t *testing.T, rcpt, path string) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case m := <-mb.got:
			if !strings.Contains(m.Header.Get("To"), rcpt) {
				continue
			}
			text := textPart(t, m)
			if l := regexp.MustCompile(`https?://[^\s"<>]*` + regexp.QuoteMeta(path) + `[^\s"<>]*`).FindString(text); l != "" {
				return l
			}
			t.Fatalf("message to %s without a %s link:\n%s", rcpt, path, text)
		case <-deadline:
			t.Fatalf("no message to %s arrived", rcpt)
		}
	}
}

// code waits for the next message to rcpt and returns the six-digit
// one-time code in its text part.
func (mb *mailbox) code(t *testing.T, rcpt string) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case m := <-mb.got:
			if !strings.Contains(m.Header.Get("To"), rcpt) {
				continue
			}
			if c := regexp.MustCompile(`\b\d{6}\b`).FindString(textPart(t, m)); c != "" {
				return c
			}
			t.Fatalf("message to %s without a code", rcpt)
		case <-deadline:
			t.Fatalf("no message to %s arrived", rcpt)
		}
	}
}

// textPart returns the decoded text/plain part of a message.
func textPart(t *testing.T, m *mail.Message) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(decoded(m.Body, m.Header.Get("Content-Transfer-Encoding")))
		return string(b)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(decoded(p, p.Header.Get("Content-Transfer-Encoding")))
			return string(b)
		}
	}
}

func decoded(r io.Reader, enc string) io.Reader {
	if strings.EqualFold(enc, "quoted-printable") {
		return quotedprintable.NewReader(r)
	}
	return r
}

type smtpSession struct {
	mb *mailbox
}

func (s *smtpSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *smtpSession) Reset()                                 {}
func (s *smtpSession) Logout() error                          { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	s.mb.got <- m
	return nil
}
