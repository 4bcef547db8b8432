package tenant

import (
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// Resolver returns the instance serving a Host header value, or an error
// with code iam.NotFound if none does. It is instance.Service.GetByHost.
type Resolver func(ctx context.Context, host string) (*iam.Instance, error)

// Lister returns up to limit instances of the deployment; it is used only
// to tell whether the deployment has exactly one (see Middleware).
type Lister func(ctx context.Context, limit int) ([]*iam.Instance, error)

// Option configures Middleware.
type Option func(*config)

type config struct {
	list Lister
	log  *slog.Logger
}

// WithLister lets the unknown-host answer list the known domains when the
// deployment has exactly one instance.
func WithLister(list Lister) Option { return func(c *config) { c.list = list } }

// WithLogger sets where lookup failures other than "not found" are logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// ErrorCode is the "error" value of the JSON answer for an unknown host.
const ErrorCode = "instance_not_found"

// maxShownHost bounds how much of a (client-controlled) Host header the
// answer repeats.
const maxShownHost = 253

// Middleware resolves the instance of every request with resolve and
// passes the request on with the instance in its context. Paths under
// /debug/ bypass it: health and readiness probes need no instance.
//
// A host that no instance serves, or whose instance is inactive, gets 404
// with the same answer either way, so that callers cannot probe which
// tenants exist or are switched off. API requests (paths starting with
// "/rampart.", or JSON, gRPC or protobuf in Accept or Content-Type) get
//
//	{"error":"instance_not_found","code":"not_found","message":"..."}
//
// ("code" lets Connect clients report not_found), other requests a small
// HTML page. The message names the host received and the setting to change
// (external-url, or the instance's domains). It lists the domains the
// deployment knows ONLY when it has exactly one instance (asked through
// the WithLister option): listing every tenant's domains to anonymous
// callers would disclose which tenants a shared deployment serves, while a
// single-instance deployment — the common first-run case where the host
// does not match external-url — discloses nothing the operator does not
// already own. A failing lookup (database down) gets 503, other errors 500,
// without details.
func Middleware(resolve Resolver, next http.Handler, opts ...Option) http.Handler {
	c := &config{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(c)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/debug/") {
			next.ServeHTTP(w, r)
			return
		}
		in, err := resolve(r.Context(), r.Host)
		switch {
		case err == nil && in != nil && in.State == iam.InstanceActive:
			next.ServeHTTP(w, r.WithContext(reqctx.WithInstance(r.Context(), in)))
		case err == nil || iam.IsCode(err, iam.NotFound):
			c.notFound(w, r)
		case iam.IsCode(err, iam.Unavailable):
			c.log.WarnContext(r.Context(), "instance lookup failed", "host", shown(r.Host), "err", err)
			writeError(w, r, http.StatusServiceUnavailable, "unavailable", "unavailable", "The database is unavailable; retry later.")
		default:
			c.log.ErrorContext(r.Context(), "instance lookup failed", "host", shown(r.Host), "err", err)
			writeError(w, r, http.StatusInternalServerError, "internal", "internal", "Internal error.")
		}
	})
}

func shown(host string) string {
	if len(host) > maxShownHost {
		return host[:maxShownHost] + "…"
	}
	return host
}

// notFound answers a request for a host no active instance serves.
func (c *config) notFound(w http.ResponseWriter, r *http.Request) {
	host := shown(r.Host)
	msg := "No instance of this Rampart server serves the host \"" + host + "\". " +
		"If this is your server, set external-url (RAMPART_EXTERNAL_URL) to the URL clients use, " +
		"or add the host to the instance's domains."
	known := c.knownDomains(r.Context())
	if len(known) > 0 {
		msg += " Known domains: " + strings.Join(known, ", ") + "."
	}
	if isAPI(r) {
		writeJSON(w, http.StatusNotFound, apiError{Error: ErrorCode, Code: "not_found", Message: msg})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_ = page.Execute(w, struct {
		Host  string
		Known []string
	}{host, known})
}

// knownDomains returns the domains of the only instance, or nil if there
// are none, several, or the lookup fails.
func (c *config) knownDomains(ctx context.Context) []string {
	if c.list == nil {
		return nil
	}
	list, err := c.list(ctx, 2)
	if err != nil || len(list) != 1 {
		return nil
	}
	return list[0].Domains()
}

// isAPI reports whether the request comes from an API client rather than a
// browser.
func isAPI(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/rampart.") {
		return true
	}
	for _, h := range []string{r.Header.Get("Content-Type"), r.Header.Get("Accept")} {
		h = strings.ToLower(h)
		if strings.Contains(h, "json") || strings.Contains(h, "grpc") || strings.Contains(h, "proto") {
			return true
		}
	}
	return false
}

type apiError struct {
	Error   string `json:"error"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, r *http.Request, status int, errCode, code, msg string) {
	if isAPI(r) {
		writeJSON(w, status, apiError{Error: errCode, Code: code, Message: msg})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

var page = template.Must(template.New("notfound").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Instance not found</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}code{background:#f3f3f3;padding:0 .2em}</style>
</head>
<body>
<h1>Instance not found</h1>
<p>No instance of this Rampart server serves the host <code>{{.Host}}</code>.</p>
<p>If this is your server, set <code>external-url</code> (environment variable <code>RAMPART_EXTERNAL_URL</code>) to the URL you open it with, or add this host to the instance's domains.</p>
{{- if .Known}}
<p>Known domains:</p>
<ul>{{range .Known}}<li><code>{{.}}</code></li>{{end}}</ul>
{{- end}}
</body>
</html>
`))
