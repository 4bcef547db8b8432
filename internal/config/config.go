package config

import (
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
)

// Backend names returned by [Config.Backend].
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"
)

// DefaultSQLiteFile is the name of the SQLite database file created in the
// data directory when no database is configured.
const DefaultSQLiteFile = "rampart.db"

// MasterKeyFileName is the name of the file, in the data directory, that
// holds the generated master key when none is configured (SQLite only).
const MasterKeyFileName = "masterkey"

// Config is Rampart's startup configuration. Get one from [Load] (or
// [Default]); the koanf tags are the keys used in YAML files, with nesting
// written as '.' in docs, environment variable names and errors.
type Config struct {
	// Database is the database URL: sqlite:///absolute/path.db,
	// sqlite://relative/path.db, postgres://… or postgresql://…. Empty
	// means the SQLite file rampart.db in DataDir. Secret: it may carry a
	// password; log RedactedDatabase instead.
	Database string `koanf:"database"`
	// DataDir is the directory for local state: the default SQLite
	// database and the generated master key.
	DataDir string `koanf:"data-dir"`
	// HTTPAddr is the host:port the HTTP server listens on.
	HTTPAddr string `koanf:"http-addr"`
	// ExternalURL is the URL users and clients reach the server at (the
	// OIDC issuer). Empty means http://localhost:<port of HTTPAddr>.
	ExternalURL string `koanf:"external-url"`
	// TrustedProxies lists the addresses (IPs or CIDR prefixes, comma-
	// separated) of reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies string `koanf:"trusted-proxies"`
	// MasterKey is the base64-encoded 32-byte master key (see
	// crypto.ParseMasterKey). Secret. Empty means the server manages a
	// key file in DataDir (SQLite only).
	MasterKey string `koanf:"masterkey"`
	// Log configures logging.
	Log LogConfig `koanf:"log"`
	// Shutdown configures graceful shutdown.
	Shutdown ShutdownConfig `koanf:"shutdown"`
	// DatabasePool configures the database connection pool.
	DatabasePool DatabasePoolConfig `koanf:"database-pool"`
	// PasswordHash sets the Argon2id cost of human passwords.
	PasswordHash PasswordHashConfig `koanf:"password-hash"`
	// Node identifies this process in the cluster.
	Node NodeConfig `koanf:"node"`
	// Cluster sets the node registry's timing.
	Cluster ClusterConfig `koanf:"cluster"`
	// Cache sizes the in-process caches.
	Cache CacheConfig `koanf:"cache"`
	// Jobs configures background jobs.
	Jobs JobsConfig `koanf:"jobs"`
	// OIDC configures the OpenID Provider's signing keys.
	OIDC OIDCConfig `koanf:"oidc"`
	// SMTP is the default SMTP server, used for the e-mail of instances
	// that have no SMTP settings of their own.
	SMTP SMTPConfig `koanf:"smtp"`
}

// SMTPConfig is the default SMTP server of all instances. Instances may set
// their own through the admin API; those take precedence.
type SMTPConfig struct {
	// Host is the server's host name or IP address; empty means no default
	// server (then only instances with their own settings send e-mail).
	Host string `koanf:"host"`
	// Port is the server's port; 0 means the TLS mode's usual port (587
	// for starttls, 465 for tls, 25 for none).
	Port int `koanf:"port"`
	// Username enables SMTP authentication; empty means none.
	Username string `koanf:"username"`
	// Password is the SMTP password. Secret.
	Password string `koanf:"password"`
	// From is the sender: "noreply@example.com" or
	// "Example <noreply@example.com>".
	From string `koanf:"from"`
	// TLS is starttls, tls (implicit TLS) or none.
	TLS string `koanf:"tls"`
}

// Settings returns the default SMTP server as domain settings (port and
// TLS mode defaulted, Password set in plain text), or nil when Host is
// empty. Call it on a validated configuration.
func (c SMTPConfig) Settings() *iam.SMTPSettings {
	if strings.TrimSpace(c.Host) == "" {
		return nil
	}
	s := &iam.SMTPSettings{Host: c.Host, Port: c.Port, Username: c.Username, Password: c.Password, TLS: iam.SMTPTLSMode(c.TLS)}
	s.FromAddress = c.From
	if a, err := mail.ParseAddress(c.From); err == nil {
		s.FromAddress, s.FromName = a.Address, a.Name
	}
	s.Normalize()
	s.ApplyDefaults()
	return s
}

// OIDCConfig configures token signing.
type OIDCConfig struct {
	// SigningAlgorithm of new signing keys: RS256 or ES256.
	SigningAlgorithm string `koanf:"signing-algorithm"`
	// KeyRotation is how long one signing key signs.
	KeyRotation time.Duration `koanf:"key-rotation"`
	// KeyLead is how long a new key is published before it signs.
	KeyLead time.Duration `koanf:"key-lead"`
}

// NodeConfig identifies a node.
type NodeConfig struct {
	// ID names the node in the registry and in leader election; empty
	// generates one per process.
	ID string `koanf:"id"`
	// Address is the address other nodes and operators reach this node at,
	// shown in the registry; empty means http-addr with the host name.
	Address string `koanf:"address"`
}

// ClusterConfig sets the node registry's timing.
type ClusterConfig struct {
	// HeartbeatInterval is how often a node records that it is alive.
	HeartbeatInterval time.Duration `koanf:"heartbeat-interval"`
	// NodeExpiry is how long after its last heartbeat a node counts as gone.
	NodeExpiry time.Duration `koanf:"node-expiry"`
}

// CacheConfig sizes the in-process caches of read-mostly data.
type CacheConfig struct {
	// Size bounds the entries of each cache.
	Size int `koanf:"size"`
	// TTL is the safety limit on an entry's age, even without invalidation.
	TTL time.Duration `koanf:"ttl"`
}

// JobsConfig configures background jobs.
type JobsConfig struct {
	// Concurrency is how many jobs a node works at once.
	Concurrency int `koanf:"concurrency"`
	// CleanupInterval is how often expired data is removed.
	CleanupInterval time.Duration `koanf:"cleanup-interval"`
	// AuditRetention is how long audit events are kept; 0 keeps them forever.
	AuditRetention time.Duration `koanf:"audit-retention"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is the minimum level logged: debug, info, warn or error.
	Level string `koanf:"level"`
	// Format is text (human-readable key=value) or json.
	Format string `koanf:"format"`
}

// ShutdownConfig configures graceful shutdown.
type ShutdownConfig struct {
	// DrainTimeout is how long in-flight requests and jobs get to finish
	// after a shutdown signal, in (0, 10m].
	DrainTimeout time.Duration `koanf:"drain-timeout"`
	// DrainDelay is how long a node keeps serving, and accepting new
	// connections, after a shutdown signal while /debug/ready already
	// reports "draining", so that load balancers take it out of rotation
	// before it stops accepting; in [0, 10m]. The drain timeout starts
	// after it.
	DrainDelay time.Duration `koanf:"drain-delay"`
}

// DatabasePoolConfig configures the database connection pool.
type DatabasePoolConfig struct {
	// MaxConns caps open connections; 0 lets the backend choose.
	MaxConns int `koanf:"max-conns"`
	// ConnectTimeout bounds establishing one connection; 0 means no limit.
	ConnectTimeout time.Duration `koanf:"connect-timeout"`
}

// PasswordHashConfig sets the Argon2id (RFC 9106) parameters of new
// password hashes. Stored hashes with other parameters still verify and are
// replaced at the user's next successful login.
type PasswordHashConfig struct {
	// MemoryKiB is the memory cost in KiB, at least 8192.
	MemoryKiB int `koanf:"memory-kib"`
	// Iterations is the time cost, 1 to 10.
	Iterations int `koanf:"iterations"`
	// Parallelism is the number of lanes, 1 to 16.
	Parallelism int `koanf:"parallelism"`
}

// Hasher returns the password hasher the configuration describes. Call it
// on a validated configuration.
func (c PasswordHashConfig) Hasher() *crypto.PasswordHasher {
	return &crypto.PasswordHasher{MemoryKiB: uint32(c.MemoryKiB), Iterations: uint32(c.Iterations), Parallelism: uint8(c.Parallelism)}
}

// Default returns the configuration used for every key nobody set.
func Default() *Config {
	return &Config{
		Database:    "",
		DataDir:     "./rampart-data",
		HTTPAddr:    ":8080",
		ExternalURL: "",
		MasterKey:   "",
		Log:         LogConfig{Level: "info", Format: "text"},
		Shutdown:    ShutdownConfig{DrainTimeout: 30 * time.Second, DrainDelay: 5 * time.Second},
		DatabasePool: DatabasePoolConfig{
			MaxConns:       0,
			ConnectTimeout: 5 * time.Second,
		},
		PasswordHash: PasswordHashConfig{
			MemoryKiB:   crypto.DefaultPasswordMemoryKiB,
			Iterations:  crypto.DefaultPasswordIterations,
			Parallelism: crypto.DefaultPasswordParallelism,
		},
		Cluster: ClusterConfig{HeartbeatInterval: 5 * time.Second, NodeExpiry: 30 * time.Second},
		Cache:   CacheConfig{Size: 10000, TTL: 5 * time.Minute},
		Jobs:    JobsConfig{Concurrency: 10, CleanupInterval: 10 * time.Minute, AuditRetention: 0},
		OIDC:    OIDCConfig{SigningAlgorithm: "RS256", KeyRotation: 720 * time.Hour, KeyLead: 24 * time.Hour},
		SMTP:    SMTPConfig{Port: 0, TLS: string(iam.SMTPStartTLS)},
	}
}

// Backend returns BackendSQLite or BackendPostgres according to the database
// URL's scheme (an empty database is SQLite), or "" for an unsupported
// scheme, which Validate reports.
func (c *Config) Backend() string {
	if c.Database == "" {
		return BackendSQLite
	}
	scheme, _, ok := strings.Cut(c.Database, "://")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		return BackendSQLite
	case "postgres", "postgresql":
		return BackendPostgres
	}
	return ""
}

// SQLitePath returns the absolute path of the SQLite database file, or ""
// when the backend is not SQLite or the URL has no path. Relative paths,
// including a relative DataDir, are relative to the working directory.
func (c *Config) SQLitePath() string {
	if c.Backend() != BackendSQLite {
		return ""
	}
	p := filepath.Join(c.DataDir, DefaultSQLiteFile)
	if c.Database != "" {
		p = sqliteRawPath(c.Database)
		if p == "" {
			return ""
		}
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}

// sqliteRawPath returns what follows "sqlite://" in dsn: the file path,
// taken literally (no percent-decoding).
func sqliteRawPath(dsn string) string {
	_, rest, _ := strings.Cut(dsn, "://")
	return rest
}

// DatabaseURL returns the database URL with defaults resolved: for SQLite,
// sqlite:// followed by the absolute file path (so sqlite:///…); for
// PostgreSQL, the URL as configured. It contains secrets: do not log it.
func (c *Config) DatabaseURL() string {
	if c.Backend() == BackendSQLite {
		if p := c.SQLitePath(); p != "" {
			return "sqlite://" + p
		}
	}
	return c.Database
}

// RedactedDatabase returns DatabaseURL with any password (in the user info
// or in password/sslpassword query parameters) replaced by "xxxxx", fit for
// logs and error messages. A value that does not parse as a URL is hidden
// entirely.
func (c *Config) RedactedDatabase() string {
	dsn := c.DatabaseURL()
	if c.Backend() == BackendSQLite && dsn != "" {
		return dsn
	}
	return redactDSN(dsn)
}

func redactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return "(hidden: not a valid URL)"
	}
	if q := u.Query(); len(q) > 0 {
		changed := false
		for k := range q {
			if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
				q.Set(k, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// TrustedProxyPrefixes returns TrustedProxies parsed; Validate has
// checked it, so an error here is a wiring mistake and yields nil.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	p, err := ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return nil
	}
	return p
}

// ResolvedExternalURL returns ExternalURL without a trailing slash, or
// http://localhost:<port> with the port of HTTPAddr when ExternalURL is
// empty.
func (c *Config) ResolvedExternalURL() string {
	if c.ExternalURL != "" {
		return strings.TrimRight(c.ExternalURL, "/")
	}
	port := "8080"
	if _, p, err := net.SplitHostPort(c.HTTPAddr); err == nil && p != "" {
		port = p
	}
	return "http://localhost:" + port
}

// MasterKeyFile returns the path of the key file the server reads, or
// creates, when no master key is configured: MasterKeyFileName in DataDir.
func (c *Config) MasterKeyFile() string {
	return filepath.Join(c.DataDir, MasterKeyFileName)
}
