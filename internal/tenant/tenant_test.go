package tenant_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/tenant"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// echo answers with the resolved instance's ID.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	in := reqctx.Instance(r.Context())
	if in == nil {
		_, _ = io.WriteString(w, "no instance")
		return
	}
	_, _ = io.WriteString(w, "instance "+in.ID)
})

func do(t *testing.T, h http.Handler, host, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}"))
	req.Host = host
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

type apiBody struct {
	Error, Code, Message string
}

func decode(t *testing.T, body string) apiBody {
	t.Helper()
	var b apiBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	return b
}

func newInstance(t *testing.T, svc *instance.Service, name string, state iam.InstanceState, domains ...string) *iam.Instance {
	t.Helper()
	in, err := svc.Create(t.Context(), iam.SystemActor, &iam.Instance{Name: name, PrimaryDomain: domains[0], AdditionalDomains: domains[1:], State: state})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func lister(svc *instance.Service) tenant.Lister {
	return func(ctx context.Context, limit int) ([]*iam.Instance, error) { return svc.List(ctx, "", limit, "") }
}

func TestResolvesByHostOnEveryBackend(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		svc := instance.New(s, nil)
		a := newInstance(t, svc, "A", iam.InstanceActive, "a.example", "login.a.example")
		h := tenant.Middleware(svc.GetByHost, echo, tenant.WithLister(lister(svc)))

		for _, host := range []string{"a.example", "A.Example:8443", "login.a.example."} {
			res, body := do(t, h, host, "/rampart.admin.v1.OrganizationService/ListOrganizations")
			if res.StatusCode != 200 || body != "instance "+a.ID {
				t.Fatalf("host %q: %d %q", host, res.StatusCode, body)
			}
		}

		// With one instance, the answer lists its domains.
		res, body := do(t, h, "wrong.example:8080", "/rampart.admin.v1.OrganizationService/ListOrganizations", "Content-Type", "application/json")
		b := decode(t, body)
		if res.StatusCode != 404 || b.Error != tenant.ErrorCode || b.Code != "not_found" ||
			!strings.Contains(b.Message, `"wrong.example:8080"`) || !strings.Contains(b.Message, "external-url") ||
			!strings.Contains(b.Message, "a.example, login.a.example") {
			t.Fatalf("unknown host with one instance: %d %+v", res.StatusCode, b)
		}

		// With two, it lists none: tenants are not disclosed.
		newInstance(t, svc, "B", iam.InstanceActive, "b.example")
		_, body = do(t, h, "wrong.example", "/rampart.admin.v1.OrganizationService/ListOrganizations")
		b = decode(t, body)
		if strings.Contains(b.Message, "a.example") || strings.Contains(b.Message, "b.example") || strings.Contains(b.Message, "Known") {
			t.Fatalf("unknown host with two instances discloses domains: %+v", b)
		}

		// An inactive instance answers exactly like an unknown host.
		newInstance(t, svc, "C", iam.InstanceInactive, "c.example")
		res, inactive := do(t, h, "c.example", "/rampart.admin.v1.OrganizationService/ListOrganizations")
		_, unknown := do(t, h, "x.example", "/rampart.admin.v1.OrganizationService/ListOrganizations")
		if res.StatusCode != 404 || strings.ReplaceAll(inactive, "c.example", "HOST") != strings.ReplaceAll(unknown, "x.example", "HOST") {
			t.Fatalf("inactive instance: %d %q, unknown: %q", res.StatusCode, inactive, unknown)
		}
	})
}

func TestNotFoundPageForBrowsersIsEscaped(t *testing.T) {
	t.Parallel()
	resolve := func(context.Context, string) (*iam.Instance, error) { return nil, iam.Errorf(iam.NotFound, "no") }
	h := tenant.Middleware(resolve, echo)
	res, body := do(t, h, `<script>alert(1)</script>`, "/ui/login", "Accept", "text/html")
	if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") || !strings.Contains(body, "external-url") {
		t.Fatalf("page not escaped or incomplete:\n%s", body)
	}
	// Anything that looks like an API client gets JSON.
	for _, hdr := range [][]string{{"Accept", "application/json"}, {"Content-Type", "application/grpc"}, {"Content-Type", "application/proto"}} {
		res, body := do(t, h, "x.example", "/anything", hdr...)
		if res.StatusCode != 404 || decode(t, body).Error != tenant.ErrorCode {
			t.Fatalf("%v: %d %q", hdr, res.StatusCode, body)
		}
	}
}

func TestDebugBypassesAndLookupFailures(t *testing.T) {
	t.Parallel()
	calls := 0
	var fail error
	resolve := func(context.Context, string) (*iam.Instance, error) { calls++; return nil, fail }
	h := tenant.Middleware(resolve, echo)
	if res, body := do(t, h, "anything", "/debug/ready"); res.StatusCode != 200 || body != "no instance" || calls != 0 {
		t.Fatalf("/debug: %d %q after %d lookups", res.StatusCode, body, calls)
	}
	fail = &iam.Error{Code: iam.Unavailable, Message: "db down", Err: errors.New("dial tcp: secret detail")}
	res, body := do(t, h, "a.example", "/rampart.admin.v1.X/Y")
	if res.StatusCode != 503 || strings.Contains(body, "secret detail") || decode(t, body).Code != "unavailable" {
		t.Fatalf("unavailable: %d %q", res.StatusCode, body)
	}
	fail = errors.New("boom: secret detail")
	res, body = do(t, h, "a.example", "/rampart.admin.v1.X/Y")
	if res.StatusCode != 500 || strings.Contains(body, "secret detail") {
		t.Fatalf("internal: %d %q", res.StatusCode, body)
	}
}
