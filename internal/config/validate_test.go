package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
)

// secret is a marker put into secret values; no error message may contain it.
const secret = "S3cretMarker"

func validKey(t *testing.T) string {
	t.Helper()
	k, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string // substrings, one per expected problem, in order
	}{
		{name: "defaults are valid", modify: func(*Config) {}},
		{name: "full valid postgres config", modify: func(c *Config) {
			c.Database = "postgres://rampart:" + secret + "@db.example.com:5432/rampart?sslmode=disable"
			c.ExternalURL = "https://id.example.com/"
			c.MasterKey = validKey(t)
			c.Log = LogConfig{Level: "debug", Format: "json"}
			c.Shutdown.DrainTimeout = MaxDrainTimeout
			c.DatabasePool = DatabasePoolConfig{MaxConns: 20, ConnectTimeout: 0}
			c.HTTPAddr = "[::1]:0"
		}},
		{name: "sqlite absolute", modify: func(c *Config) { c.Database = "sqlite:///tmp/x.db" }},
		{name: "sqlite relative", modify: func(c *Config) { c.Database = "sqlite://x.db" }},
		{name: "postgresql scheme", modify: func(c *Config) { c.Database = "postgresql://localhost/rampart" }},
		{name: "sqlite without path", modify: func(c *Config) { c.Database = "sqlite://" },
			want: []string{"database: the sqlite URL has no file path"}},
		{name: "sqlite with options", modify: func(c *Config) { c.Database = "sqlite:///x.db?_pragma=foo" },
			want: []string{"database: a sqlite URL takes no query"}},
		{name: "unsupported scheme", modify: func(c *Config) { c.Database = "mysql://u:" + secret + "@h/db" },
			want: []string{`database: unsupported scheme "mysql"`}},
		{name: "not a URL", modify: func(c *Config) { c.Database = "host=db password=" + secret },
			want: []string{"database: is not a database URL"}},
		{name: "postgres URL that does not parse", modify: func(c *Config) { c.Database = "postgres://u:p#" + secret + "@host/db" },
			want: []string{"database: is not a valid URL"}},
		{name: "postgres bad port", modify: func(c *Config) { c.Database = "postgres://u:" + secret + "@host:99999/db" },
			want: []string{"database: is not a valid PostgreSQL URL (postgres://u:xxxxx@host:99999/db)"}},
		{name: "empty data dir", modify: func(c *Config) { c.DataDir = " " },
			want: []string{"data-dir: must not be empty"}},
		{name: "http addr without port", modify: func(c *Config) { c.HTTPAddr = "localhost" },
			want: []string{`http-addr: "localhost" is not host:port`}},
		{name: "http addr named port", modify: func(c *Config) { c.HTTPAddr = ":http" },
			want: []string{`http-addr: ":http" has port "http", which is not a number from 0 to 65535`}},
		{name: "http addr port too large", modify: func(c *Config) { c.HTTPAddr = ":65536" },
			want: []string{`has port "65536"`}},
		{name: "external url relative", modify: func(c *Config) { c.ExternalURL = "/auth" },
			want: []string{`external-url: "/auth" is not an http or https URL`}},
		{name: "external url ftp", modify: func(c *Config) { c.ExternalURL = "ftp://example.com" },
			want: []string{"is not an http or https URL"}},
		{name: "external url query", modify: func(c *Config) { c.ExternalURL = "https://example.com/?a=b" },
			want: []string{"must not have a query or fragment"}},
		{name: "external url fragment", modify: func(c *Config) { c.ExternalURL = "https://example.com/#x" },
			want: []string{"must not have a query or fragment"}},
		{name: "external url without host", modify: func(c *Config) { c.ExternalURL = "https:///path" },
			want: []string{"has no host"}},
		{name: "external url with password", modify: func(c *Config) { c.ExternalURL = "https://u:" + secret + "@example.com" },
			want: []string{"external-url: must not contain a user name or password"}},
		{name: "masterkey too short", modify: func(c *Config) { c.MasterKey = "c2hvcnQ" + secret },
			want: []string{"masterkey: master key decodes to 14 bytes, want 32: a master key must be 32 random bytes encoded as base64 (generate one with `openssl rand -base64 32`)"}},
		{name: "log enums", modify: func(c *Config) { c.Log = LogConfig{Level: "verbose", Format: "xml"} },
			want: []string{`log.level: "verbose" is not one of debug, info, warn, error`, `log.format: "xml" is not one of text, json`}},
		{name: "drain timeout zero", modify: func(c *Config) { c.Shutdown.DrainTimeout = 0 },
			want: []string{"shutdown.drain-timeout: 0s must be more than 0"}},
		{name: "drain timeout too long", modify: func(c *Config) { c.Shutdown.DrainTimeout = MaxDrainTimeout + time.Second },
			want: []string{"shutdown.drain-timeout: 10m1s is more than the maximum of 10m0s"}},
		{name: "drain delay zero", modify: func(c *Config) { c.Shutdown.DrainDelay = 0 }},
		{name: "drain delay bounds", modify: func(c *Config) { c.Shutdown.DrainDelay = -time.Second },
			want: []string{"shutdown.drain-delay: -1s must not be negative"}},
		{name: "drain delay too long", modify: func(c *Config) { c.Shutdown.DrainDelay = MaxDrainDelay + time.Second },
			want: []string{"shutdown.drain-delay: 10m1s is more than the maximum of 10m0s"}},
		{name: "negative pool values", modify: func(c *Config) { c.DatabasePool = DatabasePoolConfig{MaxConns: -1, ConnectTimeout: -time.Second} },
			want: []string{"database-pool.max-conns: -1 must not be negative", "database-pool.connect-timeout: -1s must not be negative"}},
		{name: "password hash bounds", modify: func(c *Config) {
			c.PasswordHash = PasswordHashConfig{MemoryKiB: 8191, Iterations: 11, Parallelism: 0}
		}, want: []string{"password-hash.memory-kib: 8191 is outside 8192..1048576", "password-hash.iterations: 11 is outside 1..10",
			"password-hash.parallelism: 0 is outside 1..16"}},
		{name: "password hash limits", modify: func(c *Config) {
			c.PasswordHash = PasswordHashConfig{MemoryKiB: 8192, Iterations: 10, Parallelism: 16}
		}},
		{name: "smtp server with credentials", modify: func(c *Config) {
			c.SMTP = SMTPConfig{Host: "smtp.example.com", Username: "mailer", Password: secret, From: "Example <noreply@example.com>", TLS: "tls"}
		}},
		{name: "smtp relay without tls", modify: func(c *Config) {
			c.SMTP = SMTPConfig{Host: "relay.internal", Port: 25, From: "noreply@example.com", TLS: "none"}
		}},
		{name: "smtp keys without host", modify: func(c *Config) { c.SMTP.From, c.SMTP.Password = "noreply@example.com", secret },
			want: []string{"smtp.host: must be set when smtp.password, smtp.from is"}},
		{name: "smtp enums without host", modify: func(c *Config) { c.SMTP.TLS, c.SMTP.Port = "ssl", 70000 },
			want: []string{`smtp.tls: "ssl" is not one of starttls, tls, none`, "smtp.port: 70000 is outside 0..65535"}},
		{name: "smtp problems", modify: func(c *Config) {
			c.SMTP = SMTPConfig{Host: "smtp.example.com:25", From: "not an address", Password: secret + "\n", TLS: "starttls"}
		}, want: []string{`smtp.from: "not an address" is not an e-mail address`, "smtp.host: may contain only letters",
			"smtp.password: must not contain line breaks", "smtp.username: required with a password"}},
		{name: "smtp without sender", modify: func(c *Config) { c.SMTP.Host = "smtp.example.com" },
			want: []string{"smtp.from: required"}},
		{name: "smtp password in plain text", modify: func(c *Config) {
			c.SMTP = SMTPConfig{Host: "smtp.example.com", Username: "u", Password: secret, From: "a@example.com", TLS: "none"}
		}, want: []string{`smtp.tls: "none" would send the password unencrypted`}},
		{name: "every problem at once", modify: func(c *Config) {
			c.Database = "oracle://x"
			c.DataDir = ""
			c.HTTPAddr = "nope"
			c.ExternalURL = "nope"
			c.MasterKey = secret
			c.Log = LogConfig{Level: "loud", Format: "xml"}
			c.Shutdown.DrainTimeout = -1
			c.DatabasePool = DatabasePoolConfig{MaxConns: -5, ConnectTimeout: -1}
		}, want: []string{"database:", "data-dir:", "http-addr:", "external-url:", "masterkey:", "log.level:", "log.format:",
			"shutdown.drain-timeout:", "database-pool.max-conns:", "database-pool.connect-timeout:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.modify(c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Validate = %v, want *config.Error", err)
			}
			checkProblems(t, cerr, tt.want)
		})
	}
}

// checkProblems asserts that e has one problem per want, each containing
// its want in order, and that no secret leaks.
func checkProblems(t *testing.T, e *Error, want []string) {
	t.Helper()
	msg := e.Error()
	if strings.Contains(msg, secret) {
		t.Errorf("error message leaks a secret:\n%s", msg)
	}
	if len(e.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(e.Problems), len(want), msg)
	}
	for i, w := range want {
		if !strings.Contains(e.Problems[i], w) {
			t.Errorf("problem %d = %q, want it to contain %q", i, e.Problems[i], w)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	e := &Error{Problems: []string{"log.level: bad", "http-addr: worse"}}
	want := "invalid configuration:\n  - log.level: bad\n  - http-addr: worse"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestSMTPSettings(t *testing.T) {
	t.Parallel()
	if s := Default().SMTP.Settings(); s != nil {
		t.Fatalf("default SMTP settings = %+v, want none", s)
	}
	c := SMTPConfig{Host: "SMTP.Example.com.", Username: "mailer", Password: "pw", From: "Exämple <noreply@example.com>", TLS: "tls"}
	s := c.Settings()
	if s.Host != "smtp.example.com" || s.Port != 465 || s.TLS != "tls" || s.FromAddress != "noreply@example.com" || s.FromName != "Exämple" ||
		s.Username != "mailer" || s.Password != "pw" || s.Validate() != nil {
		t.Fatalf("settings = %+v (%v)", s, s.Validate())
	}
	if s := (SMTPConfig{Host: "localhost", Port: 2525, From: "a@example.com", TLS: "none"}).Settings(); s.Port != 2525 || s.FromName != "" {
		t.Fatalf("settings = %+v", s)
	}
}
