package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/oidc"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/testenv"
)

// TestDatabaseOutage: while PostgreSQL is down, the endpoints that must
// read the database answer 503 server_error at once, not 500, not a hang,
// and introspection does not turn "cannot check" into "active": false; the
// instance and the clients are still in the node's caches, so the
// requests get past them to the token checks. When the database returns,
// the same requests succeed again without a restart.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t)
	s, err := postgres.Open(t.Context(), postgres.Options{URL: c.NewDatabase(t), AppVersion: testenv.AppVersion, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrator().Up(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "postgres", s, harnessOptions{})
	w := h.seed(t, "Outage", "outage.test", true)
	apiTok := accessToken(t, w.clientCredentials(t, w.api.ClientID, w.api.secret))
	userTok := w.tokens(t, w.web, webRedirect, "alice", "openid").AccessToken
	if !active(w.introspect(t, w.api, apiTok)) {
		t.Fatal("the api application's own token is not active")
	}
	if r := w.userinfo(t, userTok); r.status != http.StatusOK {
		t.Fatalf("userinfo before the outage: %d %s", r.status, r.body)
	}
	introspect := func() *response {
		return h.post(t, w.issuer+oidc.PathIntrospect, url.Values{"token": {apiTok}}, basic(w.api.ClientID, w.api.secret))
	}

	c.Stop(t)
	for _, tc := range []struct {
		name string
		call func() *response
	}{
		{"introspection", introspect},
		{"userinfo", func() *response { return w.userinfo(t, userTok) }},
	} {
		start := time.Now()
		r := tc.call()
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s during the outage took %s", tc.name, took)
		}
		if r.status != http.StatusServiceUnavailable || r.str("error") != "server_error" || strings.Contains(string(r.body), `"active"`) {
			t.Errorf("%s during the outage = %d %s, want 503 server_error", tc.name, r.status, r.body)
		}
	}

	c.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := introspect()
		if r.status == http.StatusOK && active(r.json()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("introspection after the database returned = %d %s", r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := w.userinfo(t, userTok); r.status != http.StatusOK {
		t.Fatalf("userinfo after the outage: %d %s", r.status, r.body)
	}
}
