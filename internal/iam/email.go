package iam

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Audit event types of an instance's e-mail settings (aggregate
// AggregateInstance, the instance's ID). Payloads never carry the SMTP
// password, only whether one is set.
const (
	EventInstanceSMTPSettingsSet     = "instance.smtp_settings_set"
	EventInstanceSMTPSettingsDeleted = "instance.smtp_settings_deleted"
	EventInstanceTestEmailRequested  = "instance.test_email_requested"
)

// SMTPTLSMode is how the connection to an SMTP server is secured.
type SMTPTLSMode string

// SMTP TLS modes.
const (
	// SMTPStartTLS connects in plain text and upgrades with STARTTLS
	// (RFC 3207) before anything else is sent; a server that does not offer
	// STARTTLS is an error, never a silent downgrade. Default port 587
	// (message submission, RFC 6409).
	SMTPStartTLS SMTPTLSMode = "starttls"
	// SMTPTLS speaks TLS from the first byte ("implicit TLS", RFC 8314
	// §3.3). Default port 465.
	SMTPTLS SMTPTLSMode = "tls"
	// SMTPNoTLS never encrypts: for a relay on the same host or in a
	// trusted network. Credentials are refused over it except to a loopback
	// host (see SMTPSettings). Default port 25.
	SMTPNoTLS SMTPTLSMode = "none"
)

// Valid reports whether m is a known mode.
func (m SMTPTLSMode) Valid() bool { return m == SMTPStartTLS || m == SMTPTLS || m == SMTPNoTLS }

// DefaultPort is the usual port of the mode: 587, 465 or 25.
func (m SMTPTLSMode) DefaultPort() int {
	switch m {
	case SMTPTLS:
		return 465
	case SMTPNoTLS:
		return 25
	}
	return 587
}

// Limits of SMTP settings fields.
const (
	MaxSMTPUsernameLength = 256
	// MaxSMTPPasswordLength is in bytes.
	MaxSMTPPasswordLength = 1024
	MaxSMTPFromNameLength = 200
)

// SMTPSettings are the SMTP server an instance's e-mail is sent through.
// An instance has at most one; without any, the server's configured default
// (if any) applies.
//
// The password exists in two forms. Password is the plaintext, held only in
// memory: set by a caller who changes it, and by the mail service right
// before it connects. EncryptedPassword is what the store keeps: the
// plaintext sealed with the master key (crypto.Keyring.Encrypt, associated
// data "smtp:" + InstanceID), nil when there is none. The store reads and
// writes EncryptedPassword only; the plaintext is never stored, logged,
// audited or returned by the admin API.
type SMTPSettings struct {
	InstanceID string
	// Host is a host name or IP address (IPv6 in brackets), without port.
	Host string
	// Port is 1..65535; ApplyDefaults fills 0 with the TLS mode's port.
	Port int
	// Username enables authentication (SMTP AUTH PLAIN or LOGIN); empty
	// means none, and then there is no password either.
	Username string
	// Password is the plaintext password, in memory only.
	Password string
	// EncryptedPassword is the password as stored; nil when none.
	EncryptedPassword []byte
	// FromAddress is the envelope sender and the address of the From
	// header; FromName its display name, may be empty.
	FromAddress string
	FromName    string
	TLS         SMTPTLSMode
	CreatedAt   time.Time
	ChangedAt   time.Time
	// Version increases by one with every change; updates name the version
	// they read (optimistic concurrency).
	Version int64
}

// Clone returns a deep copy of s.
func (s *SMTPSettings) Clone() *SMTPSettings {
	c := *s
	if s.EncryptedPassword != nil {
		c.EncryptedPassword = append([]byte(nil), s.EncryptedPassword...)
	}
	return &c
}

// HasPassword reports whether a password is stored (or given).
func (s *SMTPSettings) HasPassword() bool { return len(s.EncryptedPassword) > 0 || s.Password != "" }

// Normalize trims the host (lower-cased, no trailing dot), the user name,
// the sender address and name. The password is taken as given.
func (s *SMTPSettings) Normalize() {
	s.Host = NormalizeDomain(s.Host)
	s.Username = strings.TrimSpace(s.Username)
	s.FromAddress = strings.TrimSpace(s.FromAddress)
	s.FromName = strings.TrimSpace(s.FromName)
	s.TLS = SMTPTLSMode(strings.ToLower(strings.TrimSpace(string(s.TLS))))
}

// ApplyDefaults fills an empty TLS mode with starttls and a zero port with
// the mode's usual port.
func (s *SMTPSettings) ApplyDefaults() {
	if s.TLS == "" {
		s.TLS = SMTPStartTLS
	}
	if s.Port == 0 && s.TLS.Valid() {
		s.Port = s.TLS.DefaultPort()
	}
}

// Validate reports every problem of the settings at once. The rules:
//
//   - host is a host name or IP address without port (IPv6 in brackets);
//   - port is 1..65535;
//   - from_address is a bare e-mail address; from_name at most 200
//     characters without control characters (it becomes a header);
//   - tls is starttls, tls or none;
//   - username at most 256 characters without control characters; the
//     password at most 1024 bytes, without CR or LF (it is sent in an SMTP
//     command line);
//   - credentials are never sent in plain text over the network: with tls
//     "none" a username is allowed only for a loopback host (localhost,
//     127.0.0.0/8, [::1]), e.g. a local relay. An unauthenticated "none"
//     connection to any host is allowed (a relay in a trusted network).
//
// Whether a password must accompany the username is the service's
// concern (it may keep the stored one), not checked here.
func (s *SMTPSettings) Validate() error { return s.Problems().Err() }

// Problems lists every problem Validate reports, for callers (such as the
// configuration) that report them under their own names.
func (s *SMTPSettings) Problems() FieldErrors {
	var fe FieldErrors
	if p := ValidateDomain(s.Host); p != "" {
		fe.Add("host", "%s", p)
	}
	if s.Port < 1 || s.Port > 65535 {
		fe.Add("port", "must be between 1 and 65535")
	}
	if p := ValidateEmail(s.FromAddress); p != "" {
		if s.FromAddress == "" {
			p = "required: the sender address of every e-mail"
		}
		fe.Add("from_address", "%s", p)
	}
	checkText(&fe, "from_name", s.FromName, MaxSMTPFromNameLength)
	if !s.TLS.Valid() {
		fe.Add("tls", "must be %q, %q or %q", SMTPStartTLS, SMTPTLS, SMTPNoTLS)
	}
	checkText(&fe, "username", s.Username, MaxSMTPUsernameLength)
	switch {
	case len(s.Password) > MaxSMTPPasswordLength:
		fe.Add("password", "must be at most %d bytes", MaxSMTPPasswordLength)
	case strings.ContainsAny(s.Password, "\r\n\x00"):
		fe.Add("password", "must not contain line breaks or NUL characters")
	}
	if s.Username == "" && s.Password != "" {
		fe.Add("username", "required with a password")
	}
	if s.TLS == SMTPNoTLS && s.Username != "" && ValidateDomain(s.Host) == "" && !IsLoopbackHost(s.Host) {
		fe.Add("tls", "%q would send the password unencrypted; use %q or %q, or authenticate only to a loopback host (localhost, 127.0.0.1, [::1])",
			SMTPNoTLS, SMTPStartTLS, SMTPTLS)
	}
	return fe
}

// Addr returns host:port to dial (an IPv6 host without its brackets inside
// the brackets JoinHostPort adds).
func (s *SMTPSettings) Addr() string {
	return net.JoinHostPort(s.HostName(), strconv.Itoa(s.Port))
}

// HostName returns the host without the brackets of an IPv6 literal: the
// name TLS certificates are checked against.
func (s *SMTPSettings) HostName() string {
	return strings.TrimSuffix(strings.TrimPrefix(s.Host, "["), "]")
}

// IsLoopbackHost reports whether host (a normalized host name or IP
// literal, IPv6 with or without brackets) is "localhost" or a loopback
// address.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
