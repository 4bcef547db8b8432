package test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/pgtest"
)

// callAPI POSTs a Connect JSON request with a bearer token.
func callAPI(t *testing.T, addr, host, procedure, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+procedure, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFirstStartCreatesDefaultSetup: an empty database gets the default
// instance and an administrator whose one-time password is logged once;
// `rampart token create` gives a PAT that the admin API accepts.
func TestFirstStartCreatesDefaultSetup(t *testing.T) {
	t.Parallel()
	env := []string{"RAMPART_DATA_DIR=" + t.TempDir()}
	n := startNode(t, env)
	n.waitReady()
	logs := n.stderr.String()
	m := regexp.MustCompile(`login_name=admin password=([A-Z0-9]{20,})`).FindStringSubmatch(logs)
	if m == nil || !strings.Contains(logs, "rampart token create --login-name admin") {
		t.Fatalf("no one-time password or token hint in the log:\n%s", logs)
	}
	code, out, errOut := runRampart(t, env, "token", "create", "--login-name", "admin")
	token := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(token, "rpat_") {
		t.Fatalf("token create = %d %q %s", code, out, errOut)
	}
	status, body := callAPI(t, n.addr, "localhost", "/rampart.admin.v1.OrganizationService/ListOrganizations", token, "{}")
	if status != 200 || !strings.Contains(body, `"name":"Default"`) {
		t.Fatalf("ListOrganizations = %d %s", status, body)
	}
	// 127.0.0.1 answers for the default instance too, and without a token the
	// API says unauthenticated.
	if status, body := callAPI(t, n.addr, n.addr, "/rampart.admin.v1.OrganizationService/ListOrganizations", "", "{}"); status != 401 || !strings.Contains(body, "unauthenticated") {
		t.Fatalf("without token = %d %s", status, body)
	}
	if status, body := callAPI(t, n.addr, "elsewhere.example", "/rampart.admin.v1.OrganizationService/ListOrganizations", token, "{}"); status != 404 || !strings.Contains(body, "elsewhere.example") {
		t.Fatalf("unknown host = %d %s", status, body)
	}
	n.signal(syscall.SIGTERM)
	if code := n.exitCode(60 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	n2 := startNode(t, env)
	n2.waitReady()
	if strings.Contains(n2.stderr.String(), "one-time password") {
		t.Fatal("the second start created another default setup")
	}
	if status, _ := callAPI(t, n2.addr, "localhost", "/rampart.admin.v1.OrganizationService/ListOrganizations", token, "{}"); status != 200 {
		t.Fatalf("token after restart = %d", status)
	}
}

// TestInitFile: --init applies the example file on PostgreSQL, its PAT works,
// and a restart with the same file creates nothing. A broken file exits 2
// naming the YAML path.
func TestInitFile(t *testing.T) {
	t.Parallel()
	b := postgresBackend(t, pgtest.NewDatabase(t))
	example, err := filepath.Abs("../examples/init.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, b.env, "--init", example)
	n.waitReady()
	if !strings.Contains(n.stderr.String(), "init file applied") {
		t.Fatalf("no apply line:\n%s", n.stderr)
	}
	const pat = "rpat_example-only-token-0123456789abcdefgh"
	status, body := callAPI(t, n.addr, "localhost", "/rampart.admin.v1.ProjectService/ListProjects", pat, "{}")
	// ci-bot is ORG_OWNER of Acme, not an instance member: listing without
	// an org is denied, with its org it works.
	if status != 403 {
		t.Fatalf("ListProjects without org = %d %s", status, body)
	}
	n.signal(syscall.SIGTERM)
	if code := n.exitCode(60 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	n2 := startNode(t, b.env, "--init", example)
	n2.waitReady()
	if !strings.Contains(n2.stderr.String(), "created=0") {
		t.Fatalf("second start created objects:\n%s", n2.stderr)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("instances:\n  - name: X\n    domain: x.example\n    organizations:\n      - name: O\n        users:\n          - login-name: a\n            email: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runRampart(t, b.env, "start", "--init", bad, "--http-addr", freeAddr(t))
	if code != 2 || !strings.Contains(errOut, "instances[0].organizations[0].users[0]") {
		t.Fatalf("bad init file = %d:\n%s", code, errOut)
	}
}
