package oidc

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// The minimal login and device pages: enough for the authorization-code
// and device flows to work end to end. The hosted login replaces them.

const pageCSS = `body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:2rem;width:min(22rem,90vw)}
h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #b8bec9;border-radius:6px;font-size:1rem}
button{margin-top:1.2rem;width:100%;padding:.7rem;border:0;border-radius:6px;background:#2f5bd3;color:#fff;font-size:1rem;cursor:pointer}
button.secondary{background:#e4e7ee;color:#1d2330}.error{background:#fdecec;color:#9b1c1c;padding:.6rem;border-radius:6px}
p.muted{color:#5b6475}`

var (
	pageCSP = "default-src 'none'; style-src 'sha256-" + cssHash() + "'; frame-ancestors 'none'; base-uri 'none'"
	tmpl    = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} – Rampart</title><style>` + pageCSS + `</style></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if eq .Form "login"}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="authRequestID" value="{{.AuthRequestID}}">
<label for="login_name">Login name</label>
<input id="login_name" name="login_name" autocomplete="username" value="{{.LoginName}}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{{else if eq .Form "device"}}
{{if .AppName}}<p class="muted">{{.AppName}} asks for access to your account.</p>{{end}}
<form method="post" action="{{.Action}}">
<label for="user_code">Code shown on your device</label>
<input id="user_code" name="user_code" value="{{.UserCode}}" autocomplete="off" required>
<label for="login_name">Login name</label>
<input id="login_name" name="login_name" autocomplete="username" value="{{.LoginName}}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
{{end}}
</main></body></html>`))
)

func cssHash() string {
	h := sha256.Sum256([]byte(pageCSS))
	return base64.StdEncoding.EncodeToString(h[:])
}

type pageData struct {
	Title, Error, Message, Form, Action string
	AuthRequestID, LoginName, UserCode  string
	AppName                             string
}

type pages struct {
	p    *Provider
	csrf *http.CrossOriginProtection
}

func newPages(p *Provider) *pages {
	return &pages{p: p, csrf: http.NewCrossOriginProtection()}
}

func (pg *pages) render(w http.ResponseWriter, status int, d *pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = tmpl.Execute(w, d)
}

const badLogin = "The login name or password is wrong, or the account cannot sign in."

// guard applies CSRF protection (cross-origin POSTs are refused), a body
// limit and the method check to a page handler.
func (pg *pages) guard(h http.HandlerFunc) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodPost:
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			pg.render(w, http.StatusMethodNotAllowed, &pageData{Title: "Not allowed", Error: "This page does not accept that request."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				pg.render(w, http.StatusBadRequest, &pageData{Title: "Bad request", Error: "The form could not be read."})
				return
			}
		}
		h(w, r)
	})
	pg.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pg.render(w, http.StatusForbidden, &pageData{Title: "Request refused", Error: "This form was sent from another site and was refused."})
	}))
	return pg.csrf.Handler(inner)
}

func (pg *pages) login() http.Handler {
	return pg.guard(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		in := reqctx.Instance(ctx)
		id := r.FormValue("authRequestID")
		d := &pageData{Title: "Sign in", Form: "login", Action: PathLogin, AuthRequestID: id}
		req, err := pg.p.st.tokens.AuthRequest(ctx, in.ID, id)
		if err != nil || len(id) > 64 {
			if isFault(err) {
				pg.render(w, http.StatusServiceUnavailable, &pageData{Title: "Sign in", Error: "Signing in is unavailable right now. Please try again in a moment."})
				return
			}
			pg.render(w, http.StatusBadRequest, &pageData{Title: "Sign in", Error: "This sign-in link is invalid or has expired. Go back to the application and start again."})
			return
		}
		if req.Done {
			pg.render(w, http.StatusBadRequest, &pageData{Title: "Sign in", Error: "This sign-in was already completed. Go back to the application."})
			return
		}
		if r.Method != http.MethodPost {
			d.LoginName = req.LoginHint
			pg.render(w, http.StatusOK, d)
			return
		}
		d.LoginName = strings.TrimSpace(r.PostFormValue("login_name"))
		u, err := pg.p.st.users.CheckPassword(ctx, in.ID, d.LoginName, r.PostFormValue("password"))
		if err != nil {
			status, msg := http.StatusUnauthorized, badLogin
			if isFault(err) {
				status, msg = http.StatusServiceUnavailable, "Signing in is unavailable right now. Please try again in a moment."
			}
			d.Error = msg
			pg.render(w, status, d)
			return
		}
		if err := pg.p.st.tokens.CompleteAuthRequest(ctx, in.ID, id, u.ID, []string{"pwd"}); err != nil {
			pg.render(w, http.StatusBadRequest, &pageData{Title: "Sign in", Error: "This sign-in link is invalid or has expired. Go back to the application and start again."})
			return
		}
		http.Redirect(w, r, pg.p.callbackURL(r, id), http.StatusSeeOther)
	})
}

func (pg *pages) device() http.Handler {
	return pg.guard(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		in := reqctx.Instance(ctx)
		d := &pageData{Title: "Connect a device", Form: "device", Action: PathDevice, UserCode: r.FormValue("user_code")}
		if len(d.UserCode) > 32 {
			d.UserCode = ""
		}
		if r.Method != http.MethodPost {
			pg.render(w, http.StatusOK, d)
			return
		}
		d.LoginName = strings.TrimSpace(r.PostFormValue("login_name"))
		auth, err := pg.p.st.tokens.DeviceAuthorizationByUserCode(ctx, in.ID, d.UserCode)
		if err != nil {
			if isFault(err) {
				d.Error = "This is unavailable right now. Please try again in a moment."
				pg.render(w, http.StatusServiceUnavailable, d)
				return
			}
			d.Error = "That code is unknown or has expired. Check the code on your device."
			pg.render(w, http.StatusBadRequest, d)
			return
		}
		if a, err := pg.p.st.app(ctx, auth.ClientID); err == nil {
			d.AppName = a.Name
		}
		u, err := pg.p.st.users.CheckPassword(ctx, in.ID, d.LoginName, r.PostFormValue("password"))
		if err != nil {
			d.Error = badLogin
			pg.render(w, http.StatusUnauthorized, d)
			return
		}
		approve := r.PostFormValue("decision") == "allow"
		if err := pg.p.st.tokens.DecideDevice(ctx, in.ID, d.UserCode, approve, u.ID, []string{"pwd"}); err != nil {
			d.Error = "That code is unknown or has expired. Check the code on your device."
			if !iam.IsCode(err, iam.NotFound) {
				d.Error = "This is unavailable right now. Please try again in a moment."
			}
			pg.render(w, http.StatusBadRequest, d)
			return
		}
		msg := "Your device is connected. You can close this window."
		if !approve {
			msg = "Access was denied. You can close this window."
		}
		pg.render(w, http.StatusOK, &pageData{Title: "Connect a device", Message: msg})
	})
}

func (pg *pages) loggedOut() http.Handler {
	return pg.guard(func(w http.ResponseWriter, r *http.Request) {
		pg.render(w, http.StatusOK, &pageData{Title: "Signed out", Message: "You have been signed out."})
	})
}
