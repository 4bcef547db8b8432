package iam

import (
	"strings"
	"testing"
)

func TestSMTPSettingsValidate(t *testing.T) {
	t.Parallel()
	valid := func(mod func(s *SMTPSettings)) *SMTPSettings {
		s := &SMTPSettings{Host: "smtp.example.com", FromAddress: "noreply@example.com", FromName: "Rampart"}
		mod(s)
		s.Normalize()
		s.ApplyDefaults()
		return s
	}
	for _, tc := range []struct {
		name string
		s    *SMTPSettings
		want []string
	}{
		{"defaults", valid(func(*SMTPSettings) {}), nil},
		{"with credentials over starttls", valid(func(s *SMTPSettings) { s.Username, s.Password = "mailer", "secret" }), nil},
		{"implicit tls", valid(func(s *SMTPSettings) { s.TLS = "TLS"; s.Username, s.Password = "mailer", "secret" }), nil},
		{"ip host", valid(func(s *SMTPSettings) { s.Host = "192.0.2.10" }), nil},
		{"ipv6 host", valid(func(s *SMTPSettings) { s.Host = "[2001:db8::1]" }), nil},
		{"unauthenticated relay without tls", valid(func(s *SMTPSettings) { s.TLS = SMTPNoTLS; s.Host = "relay.internal" }), nil},
		{"credentials without tls to localhost", valid(func(s *SMTPSettings) { s.TLS, s.Host, s.Username = SMTPNoTLS, "localhost", "u" }), nil},
		{"credentials without tls to 127.0.0.2", valid(func(s *SMTPSettings) { s.TLS, s.Host, s.Username = SMTPNoTLS, "127.0.0.2", "u" }), nil},
		{"credentials without tls to [::1]", valid(func(s *SMTPSettings) { s.TLS, s.Host, s.Username = SMTPNoTLS, "[::1]", "u" }), nil},
		{"credentials without tls to a remote host", valid(func(s *SMTPSettings) { s.TLS, s.Username = SMTPNoTLS, "u" }), []string{"tls"}},
		{"no host", valid(func(s *SMTPSettings) { s.Host = "" }), []string{"host"}},
		{"host with port", valid(func(s *SMTPSettings) { s.Host = "smtp.example.com:25" }), []string{"host"}},
		{"port out of range", valid(func(s *SMTPSettings) { s.Port = 65536 }), []string{"port"}},
		{"negative port", valid(func(s *SMTPSettings) { s.Port = -1 }), []string{"port"}},
		{"no sender", valid(func(s *SMTPSettings) { s.FromAddress = "" }), []string{"from_address"}},
		{"sender with display name", valid(func(s *SMTPSettings) { s.FromAddress = "Rampart <noreply@example.com>" }), []string{"from_address"}},
		{"header injection in the name", valid(func(s *SMTPSettings) { s.FromName = "R\r\nBcc: x@example.com" }), []string{"from_name"}},
		{"long name", valid(func(s *SMTPSettings) { s.FromName = strings.Repeat("n", 201) }), []string{"from_name"}},
		{"unknown tls", valid(func(s *SMTPSettings) { s.TLS = "ssl" }), []string{"port", "tls"}},
		{"password without user", valid(func(s *SMTPSettings) { s.Password = "p" }), []string{"username"}},
		{"password with a line break", valid(func(s *SMTPSettings) { s.Username, s.Password = "u", "p\r\nQUIT" }), []string{"password"}},
		{"long password", valid(func(s *SMTPSettings) { s.Username, s.Password = "u", strings.Repeat("p", 1025) }), []string{"password"}},
		{"everything wrong", &SMTPSettings{TLS: "x", Port: 0, FromAddress: "nope"}, []string{"host", "port", "from_address", "tls"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkFields(t, tc.s.Validate(), tc.want)
		})
	}
}

func TestSMTPSettingsDefaultsAndAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tls      SMTPTLSMode
		host     string
		port     int
		wantPort int
		wantAddr string
	}{
		{"", "smtp.example.com", 0, 587, "smtp.example.com:587"},
		{SMTPTLS, "smtp.example.com", 0, 465, "smtp.example.com:465"},
		{SMTPNoTLS, "[::1]", 0, 25, "[::1]:25"},
		{SMTPStartTLS, "127.0.0.1", 2525, 2525, "127.0.0.1:2525"},
	} {
		s := &SMTPSettings{Host: tc.host, TLS: tc.tls, Port: tc.port}
		s.ApplyDefaults()
		if s.Port != tc.wantPort || s.Addr() != tc.wantAddr {
			t.Errorf("%q %s:%d: port %d addr %s, want %d %s", tc.tls, tc.host, tc.port, s.Port, s.Addr(), tc.wantPort, tc.wantAddr)
		}
	}
	if s := (&SMTPSettings{Host: "[::1]"}); s.HostName() != "::1" {
		t.Errorf("HostName of [::1] = %q", s.HostName())
	}
	c := (&SMTPSettings{EncryptedPassword: []byte{1, 2}}).Clone()
	c.EncryptedPassword[0] = 9
	if !c.HasPassword() || (&SMTPSettings{}).HasPassword() {
		t.Error("HasPassword")
	}
}
