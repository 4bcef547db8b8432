package config

import (
	"path/filepath"
	"testing"
)

func TestDatabaseHelpers(t *testing.T) {
	t.Parallel()
	abs := func(p string) string {
		t.Helper()
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name         string
		database     string
		dataDir      string
		wantBackend  string
		wantPath     string
		wantURL      string
		wantRedacted string
	}{
		{
			name: "empty means rampart.db in data-dir", dataDir: "./rampart-data",
			wantBackend: "sqlite", wantPath: abs("rampart-data/rampart.db"),
			wantURL: "sqlite://" + abs("rampart-data/rampart.db"), wantRedacted: "sqlite://" + abs("rampart-data/rampart.db"),
		},
		{
			name: "absolute sqlite path", database: "sqlite:///var/lib/rampart/id.db", dataDir: "/ignored",
			wantBackend: "sqlite", wantPath: "/var/lib/rampart/id.db",
			wantURL: "sqlite:///var/lib/rampart/id.db", wantRedacted: "sqlite:///var/lib/rampart/id.db",
		},
		{
			name: "relative sqlite path is relative to the working directory", database: "sqlite://db/id.db", dataDir: "/ignored",
			wantBackend: "sqlite", wantPath: abs("db/id.db"),
			wantURL: "sqlite://" + abs("db/id.db"), wantRedacted: "sqlite://" + abs("db/id.db"),
		},
		{
			name: "postgres with password", database: "postgres://rampart:hunter2@db.internal:5432/rampart?sslmode=require",
			wantBackend: "postgres", wantPath: "",
			wantURL:      "postgres://rampart:hunter2@db.internal:5432/rampart?sslmode=require",
			wantRedacted: "postgres://rampart:xxxxx@db.internal:5432/rampart?sslmode=require",
		},
		{
			name: "postgresql scheme, password in query", database: "postgresql://db/rampart?password=hunter2&user=r",
			wantBackend:  "postgres",
			wantURL:      "postgresql://db/rampart?password=hunter2&user=r",
			wantRedacted: "postgresql://db/rampart?password=xxxxx&user=r",
		},
		{
			name: "unsupported scheme", database: "mysql://u:hunter2@h/db",
			wantBackend: "", wantURL: "mysql://u:hunter2@h/db", wantRedacted: "mysql://u:xxxxx@h/db",
		},
		{
			name: "not a URL is hidden", database: "host=db password=hunter2",
			wantBackend: "", wantURL: "host=db password=hunter2", wantRedacted: "(hidden: not a valid URL)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			c.Database, c.DataDir = tt.database, tt.dataDir
			if got := c.Backend(); got != tt.wantBackend {
				t.Errorf("Backend() = %q, want %q", got, tt.wantBackend)
			}
			if got := c.SQLitePath(); got != tt.wantPath {
				t.Errorf("SQLitePath() = %q, want %q", got, tt.wantPath)
			}
			if got := c.DatabaseURL(); got != tt.wantURL {
				t.Errorf("DatabaseURL() = %q, want %q", got, tt.wantURL)
			}
			if got := c.RedactedDatabase(); got != tt.wantRedacted {
				t.Errorf("RedactedDatabase() = %q, want %q", got, tt.wantRedacted)
			}
		})
	}
}

func TestResolvedExternalURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, externalURL, httpAddr, want string
	}{
		{name: "derived from default port", httpAddr: ":8080", want: "http://localhost:8080"},
		{name: "derived from host:port", httpAddr: "127.0.0.1:9000", want: "http://localhost:9000"},
		{name: "configured", externalURL: "https://id.example.com", httpAddr: ":8080", want: "https://id.example.com"},
		{name: "trailing slash dropped", externalURL: "https://example.com/auth/", want: "https://example.com/auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			c.ExternalURL, c.HTTPAddr = tt.externalURL, tt.httpAddr
			if got := c.ResolvedExternalURL(); got != tt.want {
				t.Errorf("ResolvedExternalURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMasterKeyFile(t *testing.T) {
	t.Parallel()
	c := Default()
	c.DataDir = "/var/lib/rampart"
	if got, want := c.MasterKeyFile(), "/var/lib/rampart/masterkey"; got != want {
		t.Errorf("MasterKeyFile() = %q, want %q", got, want)
	}
}
