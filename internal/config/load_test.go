package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// writeFile writes content to a new file in a test temp dir and returns its
// path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseFlags registers Rampart's flags on a fresh set and parses args.
func parseFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("rampart", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse flags %q: %v", args, err)
	}
	return fs
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	const yaml = `
http-addr: ":7000"
log:
  level: warn
  format: json
shutdown:
  drain-timeout: 45s
database-pool:
  max-conns: 4
`
	tests := []struct {
		name    string
		file    bool
		environ []string
		args    []string
		want    func(c *Config)
	}{
		{name: "defaults only", want: func(*Config) {}},
		{name: "file over defaults", file: true, want: func(c *Config) {
			c.HTTPAddr, c.Log, c.Shutdown.DrainTimeout, c.DatabasePool.MaxConns = ":7000", LogConfig{"warn", "json"}, 45*time.Second, 4
		}},
		{
			name: "environment over file", file: true,
			environ: []string{"RAMPART_LOG_LEVEL=debug", "RAMPART_SHUTDOWN_DRAIN_TIMEOUT=1m", "RAMPART_DATABASE_POOL_MAX_CONNS=9", "PATH=/bin", "RAMPART_DATA_DIR=/srv/rampart"},
			want: func(c *Config) {
				c.HTTPAddr, c.Log, c.Shutdown.DrainTimeout, c.DatabasePool.MaxConns = ":7000", LogConfig{"debug", "json"}, time.Minute, 9
				c.DataDir = "/srv/rampart"
			},
		},
		{
			name: "flags over environment and file", file: true,
			environ: []string{"RAMPART_LOG_LEVEL=debug", "RAMPART_HTTP_ADDR=:7001"},
			args:    []string{"--log-level=error", "--shutdown-drain-timeout", "2m", "--external-url", "https://id.example.com"},
			want: func(c *Config) {
				c.HTTPAddr, c.Log, c.Shutdown.DrainTimeout, c.DatabasePool.MaxConns = ":7001", LogConfig{"error", "json"}, 2*time.Minute, 4
				c.ExternalURL = "https://id.example.com"
			},
		},
		{
			name: "flags left alone do not override", file: true,
			environ: []string{"RAMPART_LOG_FORMAT=text"},
			args:    []string{},
			want: func(c *Config) {
				c.HTTPAddr, c.Log, c.Shutdown.DrainTimeout, c.DatabasePool.MaxConns = ":7000", LogConfig{"warn", "text"}, 45*time.Second, 4
			},
		},
		{
			name:    "drain delay zero from environment",
			environ: []string{"RAMPART_SHUTDOWN_DRAIN_DELAY=0s"},
			want:    func(c *Config) { c.Shutdown.DrainDelay = 0 },
		},
		{
			name:    "empty environment variable counts as unset",
			environ: []string{"RAMPART_LOG_LEVEL=", "RAMPART_HTTP_ADDR=:9"},
			want:    func(c *Config) { c.HTTPAddr = ":9" },
		},
		{
			name:    "flag over environment without a file",
			environ: []string{"RAMPART_DATABASE=sqlite:///env.db"},
			args:    []string{"--database", "sqlite:///flag.db", "--data-dir", "d"},
			want:    func(c *Config) { c.Database, c.DataDir = "sqlite:///flag.db", "d" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := LoadOptions{Environ: tt.environ}
			if tt.file {
				opts.File = writeFile(t, "rampart.yaml", yaml)
			}
			if tt.args != nil {
				opts.Flags = parseFlags(t, tt.args...)
			}
			got, warnings, err := Load(opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings: %q", warnings)
			}
			want := Default()
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestLoadConfigFileLocation(t *testing.T) {
	t.Parallel()
	byOpts := writeFile(t, "opts.yaml", "http-addr: :1001\n")
	byFlag := writeFile(t, "flag.yaml", "http-addr: :1002\n")
	byEnv := writeFile(t, "env.yaml", "http-addr: :1003\n")
	tests := []struct {
		name     string
		file     string
		args     []string
		environ  []string
		wantAddr string
	}{
		{name: "none", wantAddr: ":8080"},
		{name: "RAMPART_CONFIG", environ: []string{"RAMPART_CONFIG=" + byEnv}, wantAddr: ":1003"},
		{name: "--config over RAMPART_CONFIG", args: []string{"--config", byFlag}, environ: []string{"RAMPART_CONFIG=" + byEnv}, wantAddr: ":1002"},
		{name: "LoadOptions.File over all", file: byOpts, args: []string{"--config", byFlag}, environ: []string{"RAMPART_CONFIG=" + byEnv}, wantAddr: ":1001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, warnings, err := Load(LoadOptions{File: tt.file, Environ: tt.environ, Flags: parseFlags(t, tt.args...)})
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if c.HTTPAddr != tt.wantAddr {
				t.Errorf("HTTPAddr = %q, want %q", c.HTTPAddr, tt.wantAddr)
			}
		})
	}
}

func TestLoadSecretsFromFiles(t *testing.T) {
	t.Parallel()
	key := validKey(t)
	keyFile := writeFile(t, "masterkey", key+"\n")
	dbFile := writeFile(t, "database", "postgres://rampart:"+secret+"@db/rampart\r\n")
	c, warnings, err := Load(LoadOptions{Environ: []string{
		"RAMPART_MASTERKEY_FILE=" + keyFile,
		"RAMPART_DATABASE_FILE=" + dbFile,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if c.MasterKey != key {
		t.Errorf("MasterKey = %q, want the file's content without the newline", c.MasterKey)
	}
	if want := "postgres://rampart:" + secret + "@db/rampart"; c.Database != want {
		t.Errorf("Database = %q, want %q", c.Database, want)
	}

	fromYAML, _, err := Load(LoadOptions{File: writeFile(t, "c.yaml", "masterkey: "+key+"\n")})
	if err != nil {
		t.Fatal(err)
	}
	if fromYAML.MasterKey != key {
		t.Errorf("masterkey from YAML = %q, want %q", fromYAML.MasterKey, key)
	}
}

// TestLoadSMTP reads the default SMTP server from a file, the environment
// and a _FILE variant for its password, and never shows the password in a
// problem.
func TestLoadSMTP(t *testing.T) {
	t.Parallel()
	pwFile := writeFile(t, "smtp-password", secret+"\n")
	c, warnings, err := Load(LoadOptions{
		File:    writeFile(t, "c.yaml", "smtp:\n  host: smtp.example.com\n  from: Example <noreply@example.com>\n"),
		Environ: []string{"RAMPART_SMTP_USERNAME=mailer", "RAMPART_SMTP_PASSWORD_FILE=" + pwFile, "RAMPART_SMTP_TLS=tls", "RAMPART_SMTP_PORT=2465"},
	})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Load: %v, warnings %q", err, warnings)
	}
	want := SMTPConfig{Host: "smtp.example.com", Port: 2465, Username: "mailer", Password: secret, From: "Example <noreply@example.com>", TLS: "tls"}
	if c.SMTP != want {
		t.Fatalf("SMTP = %+v, want %+v", c.SMTP, want)
	}
	_, _, err = Load(LoadOptions{Environ: []string{"RAMPART_SMTP_HOST=smtp.example.com", "RAMPART_SMTP_FROM=a@example.com",
		"RAMPART_SMTP_USERNAME=u", "RAMPART_SMTP_PASSWORD=" + secret, "RAMPART_SMTP_TLS=none", "RAMPART_SMTP_PORT=x"}})
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Load = %v, want *config.Error", err)
	}
	checkProblems(t, cerr, []string{`smtp.port: "x" is not a whole number`, `smtp.tls: "none" would send the password unencrypted`})
}

func TestLoadWarnings(t *testing.T) {
	t.Parallel()
	_, warnings, err := Load(LoadOptions{Environ: []string{
		"RAMPART_LOGLEVEL=debug",
		"RAMPART_TEST_POSTGRES_URL=postgres://x",
		"RAMPART_SOMETHING_ELSE=1",
		"RAMPART_LOG_LEVEL_FILE=/x",
		"HOME=/root",
		"RAMPART_CONFIG=",
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"unknown environment variable RAMPART_LOGLEVEL ignored (did you mean RAMPART_LOG_LEVEL?)",
		"unknown environment variable RAMPART_SOMETHING_ELSE ignored",
		"unknown environment variable RAMPART_LOG_LEVEL_FILE ignored",
	}
	if len(warnings) != len(want) {
		t.Fatalf("warnings = %q, want %q", warnings, want)
	}
	for i := range want {
		if !strings.HasPrefix(warnings[i], want[i]) {
			t.Errorf("warning %d = %q, want prefix %q", i, warnings[i], want[i])
		}
	}
}

func TestLoadProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	emptyFile := writeFile(t, "empty", "\n")
	keyFile := writeFile(t, "key", validKey(t))
	stringDurationFlags := func(args ...string) *pflag.FlagSet {
		fs := pflag.NewFlagSet("custom", pflag.ContinueOnError)
		fs.String("shutdown-drain-timeout", "", "")
		fs.String("log-level", "", "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	tests := []struct {
		name    string
		yaml    string
		environ []string
		flags   *pflag.FlagSet
		want    []string
	}{
		{
			name: "unknown key in file",
			yaml: "lgo:\n  level: debug\nhttp_addr: :1\n",
			want: []string{`rampart.yaml: unknown key "http_addr" (did you mean "http-addr"?)`, `rampart.yaml: unknown key "lgo.level" (did you mean "log.level"?)`},
		},
		{
			name: "section given a scalar",
			yaml: "log: debug\n",
			want: []string{`rampart.yaml: "log" must be a mapping with the keys level, format`},
		},
		{
			name: "key given a mapping",
			yaml: "database:\n  url: x\nhttp-addr:\n  - a\n",
			want: []string{`unknown key "database.url"`, "http-addr: must be a string, not a list (from config file"},
		},
		{
			name: "not a mapping",
			yaml: secret + "\n",
			want: []string{"rampart.yaml: must be a YAML mapping of keys to values"},
		},
		{
			name: "not YAML",
			yaml: "log: [unclosed\n",
			want: []string{"rampart.yaml: not valid YAML: yaml: "},
		},
		{
			name: "bad values in file",
			yaml: "shutdown:\n  drain-timeout: 30\ndatabase-pool:\n  max-conns: many\n  connect-timeout: soon\n",
			want: []string{
				`database-pool.connect-timeout: "soon" is not a duration such as 30s, 1m30s or 500ms (from config file `,
				`database-pool.max-conns: "many" is not a whole number (from config file `,
				`shutdown.drain-timeout: "30" is a bare number; write a duration with a unit, such as 30s (from config file `,
			},
		},
		{
			name:    "bad values in environment",
			environ: []string{"RAMPART_SHUTDOWN_DRAIN_TIMEOUT=forever", "RAMPART_DATABASE_POOL_MAX_CONNS=1.5"},
			want: []string{
				`shutdown.drain-timeout: "forever" is not a duration such as 30s, 1m30s or 500ms (from environment variable RAMPART_SHUTDOWN_DRAIN_TIMEOUT)`,
				`database-pool.max-conns: "1.5" is not a whole number (from environment variable RAMPART_DATABASE_POOL_MAX_CONNS)`,
			},
		},
		{
			name:  "bad values from flags",
			flags: stringDurationFlags("--shutdown-drain-timeout=3 seconds", "--log-level=loud"),
			want: []string{
				`shutdown.drain-timeout: "3 seconds" is not a duration such as 30s, 1m30s or 500ms (from flag --shutdown-drain-timeout)`,
				`log.level: "loud" is not one of debug, info, warn, error (from flag --log-level)`,
			},
		},
		{
			name:    "validation problems name their source",
			yaml:    "log:\n  format: xml\n",
			environ: []string{"RAMPART_HTTP_ADDR=localhost"},
			want: []string{
				`http-addr: "localhost" is not host:port; use host:port, for example ":8080" or "127.0.0.1:8080" (from environment variable RAMPART_HTTP_ADDR)`,
				`log.format: "xml" is not one of text, json (from config file `,
			},
		},
		{
			name:    "both variable and _FILE set",
			environ: []string{"RAMPART_MASTERKEY=" + secret, "RAMPART_MASTERKEY_FILE=" + keyFile},
			want:    []string{"masterkey: both RAMPART_MASTERKEY and RAMPART_MASTERKEY_FILE are set; set only one"},
		},
		{
			name:    "unreadable and empty _FILE",
			environ: []string{"RAMPART_MASTERKEY_FILE=" + missing, "RAMPART_DATABASE_FILE=" + emptyFile},
			want: []string{
				"masterkey: cannot read " + missing + " (named by RAMPART_MASTERKEY_FILE): no such file or directory",
				"database: file " + emptyFile + " named by RAMPART_DATABASE_FILE is empty",
			},
		},
		{
			name:    "missing config file",
			environ: []string{"RAMPART_CONFIG=" + missing},
			want:    []string{"config file " + missing + ": cannot read: no such file or directory"},
		},
		{
			name: "every problem at once, secrets hidden",
			yaml: "masterkey: " + secret + "\nunknown: 1\n",
			environ: []string{
				"RAMPART_DATABASE=postgres://u:" + secret + "@h:99999/db",
				"RAMPART_SHUTDOWN_DRAIN_TIMEOUT=1h",
			},
			flags: parseFlags(t, "--log-level", "trace"),
			want: []string{
				`unknown key "unknown"`,
				"database: is not a valid PostgreSQL URL (postgres://u:xxxxx@h:99999/db): invalid port (from environment variable RAMPART_DATABASE)",
				"masterkey: master key",
				`log.level: "trace" is not one of debug, info, warn, error (from flag --log-level)`,
				"shutdown.drain-timeout: 1h0m0s is more than the maximum of 10m0s (from environment variable RAMPART_SHUTDOWN_DRAIN_TIMEOUT)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := LoadOptions{Environ: tt.environ, Flags: tt.flags}
			if tt.yaml != "" {
				opts.File = writeFile(t, "rampart.yaml", tt.yaml)
			}
			c, _, err := Load(opts)
			if c != nil {
				t.Errorf("Load returned a config with an error")
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load error = %v, want *config.Error", err)
			}
			checkProblems(t, cerr, tt.want)
		})
	}
}

func TestLoadEmptyFile(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, yaml string }{
		{name: "empty", yaml: ""},
		{name: "comments only", yaml: "# nothing here\n"},
		{name: "null values keep defaults", yaml: "masterkey:\nhttp-addr: ~\nlog:\nshutdown: {}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := Load(LoadOptions{File: writeFile(t, "rampart.yaml", tt.yaml)})
			if err != nil {
				t.Fatal(err)
			}
			if want := Default(); !reflect.DeepEqual(got, want) {
				t.Errorf("Load = %+v, want Default() = %+v", got, want)
			}
		})
	}
}
