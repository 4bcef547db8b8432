package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// envPrefix starts every environment variable Rampart reads.
const envPrefix = "RAMPART_"

// envConfigFile names the configuration file when neither LoadOptions.File
// nor the --config flag does.
const envConfigFile = envPrefix + "CONFIG"

// envTestPrefix is reserved for test harnesses; such variables are not
// configuration and draw no warning.
const envTestPrefix = envPrefix + "TEST_"

// fileSuffix marks the environment variable variant that names a file
// holding a secret.
const fileSuffix = "_FILE"

// kind is the type of a configuration value.
type kind int

const (
	kindString kind = iota
	kindDuration
	kindInt
)

// keyDef describes one configuration key. The table below is the single
// source of env names, flag names, defaults output and known keys.
type keyDef struct {
	key    string // dotted koanf path, as in YAML
	kind   kind
	flag   string // flag name, "" for none
	secret bool   // has a _FILE variant; value never shown
	usage  string // one line, for --help
	help   []string
	get    func(*Config) any
}

// env returns the key's environment variable name: RAMPART_ and the key
// upper-cased with '.' and '-' turned into '_'.
func (d *keyDef) env() string {
	return envPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(d.key))
}

// keys lists every configuration key, in the order of DefaultYAML and of
// validation problems.
var keys = []*keyDef{
	{
		key: "database", kind: kindString, flag: "database", secret: true,
		usage: "database URL, sqlite:///path.db or postgres://… (default: rampart.db in data-dir)",
		help: []string{
			"Database URL: sqlite:///absolute/path.db, sqlite://relative/path.db or",
			"postgres://user:password@host:5432/dbname (postgresql:// works too).",
			"Empty means the SQLite file rampart.db in data-dir. Secret.",
		},
		get: func(c *Config) any { return c.Database },
	},
	{
		key: "data-dir", kind: kindString, flag: "data-dir",
		usage: "directory for local state",
		help: []string{
			"Directory for local state: the default SQLite database and the generated",
			"master key. Relative paths are relative to the working directory.",
		},
		get: func(c *Config) any { return c.DataDir },
	},
	{
		key: "http-addr", kind: kindString, flag: "http-addr",
		usage: "host:port the HTTP server listens on",
		help:  []string{"host:port the HTTP server listens on; an empty host means all interfaces."},
		get:   func(c *Config) any { return c.HTTPAddr },
	},
	{
		key: "external-url", kind: kindString, flag: "external-url",
		usage: "URL clients reach the server at, the OIDC issuer (default: http://localhost:<port>)",
		help: []string{
			"URL users and clients reach the server at; it is the OIDC issuer.",
			"http or https, no query or fragment. Empty means http://localhost:<port>.",
		},
		get: func(c *Config) any { return c.ExternalURL },
	},
	{
		key: "trusted-proxies", kind: kindString,
		help: []string{
			"Reverse proxies whose X-Forwarded-For header is believed: IP addresses",
			"or CIDR prefixes separated by commas, such as 10.0.0.0/8. The client is",
			"the right-most forwarded address that is not a trusted proxy; it is what",
			"the access log and the login rate limit see. Empty: the connection's peer.",
		},
		get: func(c *Config) any { return c.TrustedProxies },
	},
	{
		key: "masterkey", kind: kindString, secret: true,
		help: []string{
			"Master key: 32 random bytes in base64, from `openssl rand -base64 32`.",
			"Empty: with SQLite the server creates data-dir/masterkey; PostgreSQL",
			"requires one. Secret, so there is no flag.",
		},
		get: func(c *Config) any { return c.MasterKey },
	},
	{
		key: "log.level", kind: kindString, flag: "log-level",
		usage: "minimum log level: debug, info, warn or error",
		help:  []string{"Minimum level logged: debug, info, warn or error."},
		get:   func(c *Config) any { return c.Log.Level },
	},
	{
		key: "log.format", kind: kindString, flag: "log-format",
		usage: "log format: text or json",
		help:  []string{"Log format: text (key=value lines) or json."},
		get:   func(c *Config) any { return c.Log.Format },
	},
	{
		key: "shutdown.drain-timeout", kind: kindDuration, flag: "shutdown-drain-timeout",
		usage: "time in-flight work gets after a shutdown signal",
		help:  []string{"How long in-flight requests and jobs get to finish after a shutdown", "signal. A duration such as 30s or 1m30s, more than 0 and at most 10m."},
		get:   func(c *Config) any { return c.Shutdown.DrainTimeout },
	},
	{
		key: "shutdown.drain-delay", kind: kindDuration,
		help: []string{
			"How long a node keeps serving after a shutdown signal while it already",
			"reports unready (draining), so load balancers stop sending it traffic",
			"before it stops accepting; the drain timeout starts after it. Set it",
			"above your load balancer's health check interval times its failure",
			"threshold. 0 to 10m; 0 stops accepting at once.",
		},
		get: func(c *Config) any { return c.Shutdown.DrainDelay },
	},
	{
		key: "database-pool.max-conns", kind: kindInt,
		help: []string{"Maximum open database connections; 0 lets the backend choose."},
		get:  func(c *Config) any { return c.DatabasePool.MaxConns },
	},
	{
		key: "database-pool.connect-timeout", kind: kindDuration,
		help: []string{"Time limit for opening one database connection; 0 means none."},
		get:  func(c *Config) any { return c.DatabasePool.ConnectTimeout },
	},
	{
		key: "password-hash.memory-kib", kind: kindInt,
		help: []string{
			"Argon2id memory cost of new password hashes, in KiB; at least 8192.",
			"Every password check holds this much memory while it runs.",
		},
		get: func(c *Config) any { return c.PasswordHash.MemoryKiB },
	},
	{
		key: "password-hash.iterations", kind: kindInt,
		help: []string{"Argon2id time cost (passes over the memory), 1 to 10."},
		get:  func(c *Config) any { return c.PasswordHash.Iterations },
	},
	{
		key: "password-hash.parallelism", kind: kindInt,
		help: []string{"Argon2id lanes (threads per hash), 1 to 16."},
		get:  func(c *Config) any { return c.PasswordHash.Parallelism },
	},
	{
		key: "node.id", kind: kindString,
		help: []string{"This node's ID in the node registry and leader election; empty generates one per start."},
		get:  func(c *Config) any { return c.Node.ID },
	},
	{
		key: "node.address", kind: kindString,
		help: []string{"Address shown for this node in the registry; empty means the host name and http-addr's port."},
		get:  func(c *Config) any { return c.Node.Address },
	},
	{
		key: "cluster.heartbeat-interval", kind: kindDuration,
		help: []string{"How often a node records in the database that it is alive."},
		get:  func(c *Config) any { return c.Cluster.HeartbeatInterval },
	},
	{
		key: "cluster.node-expiry", kind: kindDuration,
		help: []string{"How long after its last heartbeat a node counts as gone; more than the heartbeat interval."},
		get:  func(c *Config) any { return c.Cluster.NodeExpiry },
	},
	{
		key: "cache.size", kind: kindInt,
		help: []string{"Entries each in-process cache (instances by host, applications by client ID, …) may hold."},
		get:  func(c *Config) any { return c.Cache.Size },
	},
	{
		key: "cache.ttl", kind: kindDuration,
		help: []string{
			"Safety limit on a cache entry's age. Changes reach every node's cache at once",
			"through invalidation (PostgreSQL LISTEN/NOTIFY); the TTL only bounds a missed one.",
		},
		get: func(c *Config) any { return c.Cache.TTL },
	},
	{
		key: "jobs.concurrency", kind: kindInt,
		help: []string{"Background jobs a node works at once."},
		get:  func(c *Config) any { return c.Jobs.Concurrency },
	},
	{
		key: "jobs.cleanup-interval", kind: kindDuration,
		help: []string{"How often the elected leader schedules the removal of expired data (tokens, …)."},
		get:  func(c *Config) any { return c.Jobs.CleanupInterval },
	},
	{
		key: "jobs.audit-retention", kind: kindDuration,
		help: []string{"How long audit events are kept, e.g. 8760h; 0 keeps them forever."},
		get:  func(c *Config) any { return c.Jobs.AuditRetention },
	},
	{
		key: "oidc.signing-algorithm", kind: kindString,
		help: []string{"Algorithm of new token signing keys: RS256 or ES256. Existing keys keep theirs."},
		get:  func(c *Config) any { return c.OIDC.SigningAlgorithm },
	},
	{
		key: "oidc.key-rotation", kind: kindDuration,
		help: []string{"How long one signing key signs before its successor takes over (the job leader rotates)."},
		get:  func(c *Config) any { return c.OIDC.KeyRotation },
	},
	{
		key: "oidc.key-lead", kind: kindDuration,
		help: []string{
			"How long a new signing key is published in JWKS before it signs, so that relying",
			"parties that cache the key set know it in time. Less than oidc.key-rotation.",
		},
		get: func(c *Config) any { return c.OIDC.KeyLead },
	},
	{
		key: "smtp.host", kind: kindString,
		help: []string{
			"Default SMTP server for the e-mail of instances without SMTP settings of their",
			"own (those are set through the admin API). Empty: no default server.",
		},
		get: func(c *Config) any { return c.SMTP.Host },
	},
	{
		key: "smtp.port", kind: kindInt,
		help: []string{"Port of the SMTP server; 0 means the usual port of smtp.tls (587, 465 or 25)."},
		get:  func(c *Config) any { return c.SMTP.Port },
	},
	{
		key: "smtp.username", kind: kindString,
		help: []string{"User name for SMTP authentication; empty means none."},
		get:  func(c *Config) any { return c.SMTP.Username },
	},
	{
		key: "smtp.password", kind: kindString, secret: true,
		help: []string{"Password for SMTP authentication. Secret."},
		get:  func(c *Config) any { return c.SMTP.Password },
	},
	{
		key: "smtp.from", kind: kindString,
		help: []string{"Sender of every e-mail: noreply@example.com or \"Example <noreply@example.com>\"."},
		get:  func(c *Config) any { return c.SMTP.From },
	},
	{
		key: "smtp.tls", kind: kindString,
		help: []string{
			"starttls (upgrade on the submission port), tls (implicit TLS) or none (only for",
			"a relay you trust; a password is then sent only to a loopback host).",
		},
		get: func(c *Config) any { return c.SMTP.TLS },
	},
}

// Lookup tables derived from keys.
var (
	keyByName  = index(func(d *keyDef) string { return d.key })
	keyByEnv   = index((*keyDef).env)
	keyByFlag  = index(func(d *keyDef) string { return d.flag })
	keyByFile  = index(func(d *keyDef) string { return d.fileEnv() }) // RAMPART_X_FILE -> x
	sectionSet = sections()                                           // "log" -> ["level", "format"]
)

// fileEnv returns the name of the _FILE variant of a secret's environment
// variable, or "" for a key that is not secret.
func (d *keyDef) fileEnv() string {
	if !d.secret {
		return ""
	}
	return d.env() + fileSuffix
}

// index maps name(d) to d for every key with a non-empty name.
func index(name func(*keyDef) string) map[string]*keyDef {
	m := make(map[string]*keyDef, len(keys))
	for _, d := range keys {
		if n := name(d); n != "" {
			m[n] = d
		}
	}
	return m
}

// sections maps each nesting section to its leaf keys.
func sections() map[string][]string {
	m := map[string][]string{}
	for _, d := range keys {
		if section, leaf, ok := strings.Cut(d.key, "."); ok {
			m[section] = append(m[section], leaf)
		}
	}
	return m
}

// defaultsMap returns Default() as a flat key -> typed value map.
func defaultsMap() map[string]any {
	c := Default()
	m := make(map[string]any, len(keys))
	for _, d := range keys {
		m[d.key] = d.get(c)
	}
	return m
}

// convert turns a raw value from a file, the environment or a flag into the
// key's type. Error messages quote the value unless the key is secret.
func (d *keyDef) convert(v any) (any, error) {
	show := func(v any) string {
		if d.secret {
			return "the value"
		}
		return fmt.Sprintf("%q", fmt.Sprint(v))
	}
	switch d.kind {
	case kindString:
		switch v := v.(type) {
		case string:
			return v, nil
		case bool, int, int64, uint64, float64:
			return fmt.Sprint(v), nil
		}
		return nil, fmt.Errorf("must be a string, not a %s", describeType(v))
	case kindDuration:
		switch v := v.(type) {
		case time.Duration:
			return v, nil
		case string:
			dur, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("%s is not a duration such as 30s, 1m30s or 500ms", show(v))
			}
			return dur, nil
		case int, int64, uint64, float64:
			return nil, fmt.Errorf("%s is a bare number; write a duration with a unit, such as 30s", show(v))
		}
		return nil, fmt.Errorf("must be a duration such as 30s, not a %s", describeType(v))
	case kindInt:
		switch v := v.(type) {
		case int:
			return v, nil
		case int64:
			return int(v), nil
		case uint64:
			if v <= uint64(int(^uint(0)>>1)) {
				return int(v), nil
			}
		case string:
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				return n, nil
			}
		case float64:
			if v == float64(int(v)) {
				return int(v), nil
			}
		}
		if _, ok := v.(map[string]any); ok {
			return nil, fmt.Errorf("must be a whole number, not a %s", describeType(v))
		}
		return nil, fmt.Errorf("%s is not a whole number", show(v))
	}
	return nil, fmt.Errorf("internal error: unknown kind %d", d.kind)
}

func describeType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "mapping"
	case []any:
		return "list"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// suggest returns the candidate closest to s (edit distance at most 3, and
// less than half of s), or "".
func suggest(s string, candidates []string) string {
	best, bestDist := "", 4
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist && d*2 < len(s) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
