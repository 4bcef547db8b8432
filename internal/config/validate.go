package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
)

// MaxDrainTimeout is the largest shutdown.drain-timeout Validate accepts.
const MaxDrainTimeout = 10 * time.Minute

// MaxDrainDelay is the largest shutdown.drain-delay Validate accepts.
const MaxDrainDelay = 10 * time.Minute

// Error reports every problem found in a configuration. Load and Validate
// return it; its message lists the problems one per line.
type Error struct {
	// Problems are human-readable descriptions, each naming the key (and,
	// from Load, the source of the value). They never contain secrets.
	Problems []string
}

// Error returns "invalid configuration:" followed by one "  - problem" line
// per problem.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// problems accumulates problem descriptions.
type problems []string

// add records msg about key; origin, when known, says where the value came
// from. Either may be empty.
func (p *problems) add(key, origin, msg string) {
	if key != "" {
		msg = key + ": " + msg
	}
	if origin != "" {
		msg += " (from " + origin + ")"
	}
	*p = append(*p, msg)
}

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// Validate checks the configuration and reports every problem at once as an
// *Error (nil when there are none). Messages never contain the master key or
// a database password.
func (c *Config) Validate() error {
	var p problems
	c.validate(&p, nil)
	if len(p) == 0 {
		return nil
	}
	return &Error{Problems: p}
}

// validate appends c's problems to p; origins, if given, says where each
// key's value came from.
func (c *Config) validate(p *problems, origins map[string]string) {
	check := func(key, msg string) {
		if msg != "" {
			p.add(key, origins[key], msg)
		}
	}
	check("database", checkDatabase(c.Database))
	if strings.TrimSpace(c.DataDir) == "" {
		check("data-dir", "must not be empty")
	}
	check("http-addr", checkHTTPAddr(c.HTTPAddr))
	check("external-url", checkExternalURL(c.ExternalURL))
	if _, err := ParseTrustedProxies(c.TrustedProxies); err != nil {
		check("trusted-proxies", err.Error()+"; list IP addresses or CIDR prefixes separated by commas, such as 10.0.0.0/8, 192.0.2.7")
	}
	if c.MasterKey != "" {
		if _, err := crypto.ParseMasterKey(c.MasterKey); err != nil {
			check("masterkey", err.Error())
		}
	}
	check("log.level", checkEnum(c.Log.Level, "debug", "info", "warn", "error"))
	check("log.format", checkEnum(c.Log.Format, "text", "json"))
	switch d := c.Shutdown.DrainTimeout; {
	case d <= 0:
		check("shutdown.drain-timeout", fmt.Sprintf("%s must be more than 0", d))
	case d > MaxDrainTimeout:
		check("shutdown.drain-timeout", fmt.Sprintf("%s is more than the maximum of %s", d, MaxDrainTimeout))
	}
	switch d := c.Shutdown.DrainDelay; {
	case d < 0:
		check("shutdown.drain-delay", fmt.Sprintf("%s must not be negative (0 stops accepting at once)", d))
	case d > MaxDrainDelay:
		check("shutdown.drain-delay", fmt.Sprintf("%s is more than the maximum of %s", d, MaxDrainDelay))
	}
	if n := c.DatabasePool.MaxConns; n < 0 {
		check("database-pool.max-conns", fmt.Sprintf("%d must not be negative (0 lets the backend choose)", n))
	}
	if d := c.DatabasePool.ConnectTimeout; d < 0 {
		check("database-pool.connect-timeout", fmt.Sprintf("%s must not be negative (0 means no limit)", d))
	}
	if n := c.PasswordHash.MemoryKiB; n < MinPasswordHashMemoryKiB || n > MaxPasswordHashMemoryKiB {
		check("password-hash.memory-kib", fmt.Sprintf("%d is outside %d..%d (KiB)", n, MinPasswordHashMemoryKiB, MaxPasswordHashMemoryKiB))
	}
	if n := c.PasswordHash.Iterations; n < 1 || n > 10 {
		check("password-hash.iterations", fmt.Sprintf("%d is outside 1..10", n))
	}
	if d := c.Cluster.HeartbeatInterval; d < 100*time.Millisecond || d > 5*time.Minute {
		check("cluster.heartbeat-interval", fmt.Sprintf("%s is outside 100ms..5m", d))
	}
	if c.Cluster.NodeExpiry <= c.Cluster.HeartbeatInterval {
		check("cluster.node-expiry", fmt.Sprintf("%s must be longer than cluster.heartbeat-interval (%s)", c.Cluster.NodeExpiry, c.Cluster.HeartbeatInterval))
	}
	if n := c.Cache.Size; n < 1 || n > 10_000_000 {
		check("cache.size", fmt.Sprintf("%d is outside 1..10000000", n))
	}
	if d := c.Cache.TTL; d < time.Second || d > 24*time.Hour {
		check("cache.ttl", fmt.Sprintf("%s is outside 1s..24h", d))
	}
	if n := c.Jobs.Concurrency; n < 1 || n > 1000 {
		check("jobs.concurrency", fmt.Sprintf("%d is outside 1..1000", n))
	}
	if d := c.Jobs.CleanupInterval; d < time.Second || d > 24*time.Hour {
		check("jobs.cleanup-interval", fmt.Sprintf("%s is outside 1s..24h", d))
	}
	if d := c.Jobs.AuditRetention; d < 0 || (d > 0 && d < time.Hour) {
		check("jobs.audit-retention", fmt.Sprintf("%s: use 0 (keep forever) or at least 1h", d))
	}
	if a := c.OIDC.SigningAlgorithm; a != "RS256" && a != "ES256" {
		check("oidc.signing-algorithm", fmt.Sprintf("%q: use RS256 or ES256", a))
	}
	if d := c.OIDC.KeyRotation; d < time.Second || d > 8760*time.Hour {
		check("oidc.key-rotation", fmt.Sprintf("%s is outside 1s..8760h", d))
	}
	if d := c.OIDC.KeyLead; d < time.Second || d >= c.OIDC.KeyRotation {
		check("oidc.key-lead", fmt.Sprintf("%s: must be at least 1s and less than oidc.key-rotation (%s)", d, c.OIDC.KeyRotation))
	}
	if n := c.PasswordHash.Parallelism; n < 1 || n > 16 {
		check("password-hash.parallelism", fmt.Sprintf("%d is outside 1..16", n))
	}
	checkSMTP(c.SMTP, check)
}

// checkSMTP validates the default SMTP server with the rules of instance
// SMTP settings (iam.SMTPSettings.Validate). Its keys are checked only
// when smtp.host is set, except the enumerations; other smtp keys without
// smtp.host are a problem (they would silently do nothing).
func checkSMTP(s SMTPConfig, check func(key, msg string)) {
	tlsProblem := checkEnum(s.TLS, string(iam.SMTPStartTLS), string(iam.SMTPTLS), string(iam.SMTPNoTLS))
	check("smtp.tls", tlsProblem)
	portProblem := s.Port < 0 || s.Port > 65535
	if portProblem {
		check("smtp.port", fmt.Sprintf("%d is outside 0..65535 (0: the usual port of smtp.tls)", s.Port))
	}
	if strings.TrimSpace(s.Host) == "" {
		var set []string
		for _, kv := range [][2]string{{"smtp.username", s.Username}, {"smtp.password", s.Password}, {"smtp.from", s.From}} {
			if kv[1] != "" {
				set = append(set, kv[0])
			}
		}
		if len(set) > 0 {
			check("smtp.host", "must be set when "+strings.Join(set, ", ")+" is: name the default SMTP server, or remove the other smtp keys")
		}
		return
	}
	fromProblem := false
	if s.From != "" {
		if _, err := mail.ParseAddress(s.From); err != nil {
			check("smtp.from", fmt.Sprintf("%q is not an e-mail address such as noreply@example.com or \"Example <noreply@example.com>\"", s.From))
			fromProblem = true
		}
	}
	settings := s.Settings()
	if tlsProblem != "" {
		settings.TLS = iam.SMTPStartTLS // reported above
	}
	if portProblem {
		settings.Port = settings.TLS.DefaultPort() // reported above
	}
	for _, e := range settings.Problems() {
		switch e.Field {
		case "host":
			check("smtp.host", e.Message)
		case "port":
			check("smtp.port", e.Message)
		case "username":
			check("smtp.username", e.Message)
		case "password":
			check("smtp.password", e.Message)
		case "tls":
			check("smtp.tls", e.Message)
		case "from_address", "from_name":
			if !fromProblem {
				check("smtp.from", e.Message)
			}
		}
	}
}

// Bounds of password-hash.memory-kib: 8 MiB to 1 GiB.
const (
	MinPasswordHashMemoryKiB = 8192
	MaxPasswordHashMemoryKiB = 1 << 20
)

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// checkDatabase validates a database URL without ever quoting it: it may
// hold a password.
func checkDatabase(db string) string {
	if db == "" {
		return ""
	}
	const want = "use sqlite:///absolute/path.db, sqlite://relative/path.db or postgres://user:password@host:5432/dbname"
	scheme, rest, ok := strings.Cut(db, "://")
	if !ok || !schemeRE.MatchString(scheme) {
		return "is not a database URL; " + want
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		if strings.ContainsAny(rest, "?#") {
			return "a sqlite URL takes no query or fragment: the server sets its own SQLite options"
		}
		if rest == "" || rest == "/" {
			return "the sqlite URL has no file path; " + want
		}
		return ""
	case "postgres", "postgresql":
		u, err := url.Parse(db)
		if err != nil {
			return "is not a valid URL; percent-encode special characters such as @ : / ? # in the user name and password"
		}
		if _, err := pgxpool.ParseConfig(db); err != nil {
			msg := err.Error()
			// pgconn's message starts with the (redacted) URL; keep only
			// the reason, and drop it if it might echo the password.
			if i := strings.LastIndex(msg, "`: "); i >= 0 {
				msg = msg[i+3:]
			}
			if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(msg, pw) {
				msg = "cannot parse it"
			}
			return fmt.Sprintf("is not a valid PostgreSQL URL (%s): %s", redactDSN(db), msg)
		}
		return ""
	}
	return fmt.Sprintf("unsupported scheme %q; %s", scheme, want)
}

func checkHTTPAddr(addr string) string {
	const example = `; use host:port, for example ":8080" or "127.0.0.1:8080"`
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port%s", addr, example)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("%q has port %q, which is not a number from 0 to 65535%s", addr, port, example)
	}
	return ""
}

func checkExternalURL(s string) string {
	if s == "" {
		return ""
	}
	const want = "; use an absolute http or https URL such as https://id.example.com"
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL%s", s, want)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q is not an http or https URL%s", s, want)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host%s", s, want)
	case u.User != nil:
		return fmt.Sprintf("must not contain a user name or password%s", want)
	case strings.ContainsAny(s, "?#"):
		return fmt.Sprintf("%q must not have a query or fragment%s", s, want)
	}
	return ""
}

func checkEnum(v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return ""
		}
	}
	return fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))
}
