package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/session"
	"github.com/rampartiam/rampart/internal/user"
)

// Paths of the hosted login.
const (
	PathLogin     = "/ui/login"
	PathDevice    = "/ui/device"
	PathLoggedOut = "/ui/logged-out"
	PathStatic    = "/ui/static/"
)

// AuthRequests is what the pages need of the protocol state
// (token.Service).
type AuthRequests interface {
	AuthRequest(ctx context.Context, instanceID, id string) (*iam.AuthRequest, error)
	CompleteAuthRequestAt(ctx context.Context, instanceID, id, userID string, amr []string, authTime time.Time) error
	DeviceAuthorizationByUserCode(ctx context.Context, instanceID, userCode string) (*iam.DeviceAuthorization, error)
	DecideDevice(ctx context.Context, instanceID, userCode string, approve bool, userID string, amr []string) error
}

// Users checks credentials and changes passwords (user.Service):
// PasswordLogin counts a wrong password towards the user's lockout at
// maxAttempts; CheckPassword does not.
type Users interface {
	PasswordLogin(ctx context.Context, instanceID, loginName, password string, maxAttempts func(orgID string) int) (*iam.User, error)
	RecordFailedLogin(ctx context.Context, instanceID, userID string, kind iam.LoginFailureKind, maxAttempts int) (int, bool, error)
	ResetFailedLogins(ctx context.Context, instanceID, userID string, kind iam.LoginFailureKind) error
	CheckPassword(ctx context.Context, instanceID, loginName, password string) (*iam.User, error)
	Get(ctx context.Context, ref user.Ref) (*iam.User, error)
	SetPassword(ctx context.Context, actor string, ref user.Ref, password string, changeRequired bool) (*iam.User, error)
	AccountUsers
}

// Apps finds the application behind a request (project.Service).
type Apps interface {
	GetApplicationByClientID(ctx context.Context, instanceID, clientID string) (*iam.Application, error)
}

// Options configure the pages.
type Options struct {
	AuthRequests AuthRequests
	Users        Users
	Apps         Apps
	// CallbackURL is where the browser goes once the user has
	// authenticated for an authorization request (the provider's authorize
	// callback, which issues the code).
	CallbackURL func(r *http.Request, authRequestID string) string
	// Policies returns the instance's effective policies (branding,
	// lockout: attempts per user and per client address); nil, or a nil
	// result, means the defaults.
	// orgID is the user's organization once known ("" before): its
	// override of the instance's policies then applies.
	Policies func(ctx context.Context, instanceID, orgID string) *iam.Policies
	// Sessions keeps the login sessions (single sign-on across
	// authorization requests); nil means none (every request asks for the
	// password).
	Sessions *session.Service
	// Factors verifies and enrols second factors (TOTP, recovery codes);
	// nil means no second step.
	Factors *mfa.Service
	// Mail queues the e-mail of registration and password reset; nil
	// means none (no verification e-mail, no password reset).
	Mail *mail.Service
	// Keyring seals passkey ceremonies between their two requests; nil
	// (or nil Factors or Sessions) means no passkeys.
	Keyring *crypto.Keyring
	// SecureCookies marks the session cookie Secure (the external URL is
	// https).
	SecureCookies bool
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	Log *slog.Logger
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Handler serves the hosted login pages.
type Handler struct {
	o         Options
	pages     map[string]*template.Template
	cssURL    string
	scriptURL string
	csrf      *http.CrossOriginProtection
	statics   http.Handler
	limiter   *ipLimiter
}

// New parses the templates and returns the pages.
func New(o Options) (*Handler, error) {
	if o.AuthRequests == nil || o.Users == nil || o.Apps == nil || o.CallbackURL == nil {
		return nil, errors.New("login: AuthRequests, Users, Apps and CallbackURL are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o, pages: map[string]*template.Template{}, csrf: http.NewCrossOriginProtection()}
	h.limiter = newIPLimiter(func(instanceID string) int {
		return h.policies(context.Background(), instanceID).Lockout.IPRateLimitPerMinute
	}, o.Now)
	for _, name := range []string{"login_name", "password", "change_password", "mfa_totp", "mfa_enrol", "recovery_codes", "passkey", "mfa_email", "consent", "device", "message",
		"register", "verify_email", "by_login_name", "reset_password"} {
		t, err := template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		h.pages[name] = t
	}
	css, err := staticFiles.ReadFile("static/login.css")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(css)
	h.cssURL = PathStatic + "login.css?v=" + hex.EncodeToString(sum[:6])
	js, err := staticFiles.ReadFile("static/webauthn.js")
	if err != nil {
		return nil, err
	}
	jsSum := sha256.Sum256(js)
	h.scriptURL = PathStatic + "webauthn.js?v=" + hex.EncodeToString(jsSum[:6])
	files := http.FileServerFS(staticFiles)
	h.statics = http.StripPrefix("/ui", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
	h.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := pick(r)
		h.render(w, r, http.StatusForbidden, &page{m: m, body: "message", Title: m.T("error.title"), Error: m.T("error.cross_site")})
	}))
	return h, nil
}

// Routes returns the handlers to mount, by pattern, behind the tenant
// middleware.
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		PathLogin:     h.guard(h.login),
		PathDevice:    h.guard(h.device),
		PathLoggedOut: h.guard(h.loggedOut),
		PathPasskeys:  h.guard(h.passkeys),

		PathRegister:           h.guard(h.register),
		PathVerifyEmail:        h.guard(h.verifyEmail),
		PathForgotPassword:     h.guard(h.forgotPassword),
		PathResendVerification: h.guard(h.resendVerification),
		PathResetPassword:      h.guard(h.resetPassword),
		PathStatic:             h.statics,
	}
}

// page is what a template renders.
type page struct {
	m    messages
	body string
	// req is the authorization request the page serves, once loaded.
	req *iam.AuthRequest

	Title, Subtitle, Error, Message string
	Action, AuthRequestID           string
	LoginName, UserCode             string
	QRCode                          template.URL
	Scopes                          []string
	PasskeyURL                      string
	WebAuthnOptions, Ceremony       string
	WebAuthnMode, Step, Submit      string
	SkipLabel, Script               string
	Secret                          string
	RecoveryCodes                   []string
	Brand                           brandView
	CSS, Nonce                      string
	flowView
}

// T is the page's translation function.
func (p *page) T(key string) string { return p.m.T(key) }

type brandView struct {
	Name, LogoURL, Color, Initial string
}

// policies returns the instance's effective policies, the defaults for
// what is missing.
func (h *Handler) policies(ctx context.Context, instanceID string) *iam.Policies {
	return h.orgPolicies(ctx, instanceID, "")
}

// maxPasswordAttempts returns the lockout maximum for a user of an
// organization, for Users.PasswordLogin (the user's organization is known
// only once the login name is looked up).
func (h *Handler) maxPasswordAttempts(ctx context.Context, instanceID string) func(orgID string) int {
	return func(orgID string) int { return h.orgPolicies(ctx, instanceID, orgID).Lockout.MaxPasswordAttempts }
}

// orgPolicies returns the policies effective for a user of the
// organization (the instance's where it has no override).
func (h *Handler) orgPolicies(ctx context.Context, instanceID, orgID string) *iam.Policies {
	def := iam.DefaultPolicies()
	if h.o.Policies == nil {
		return def
	}
	p := h.o.Policies(ctx, instanceID, orgID)
	if p == nil {
		return def
	}
	if p.Login == nil {
		p.Login = def.Login
	}
	if p.Password == nil {
		p.Password = def.Password
	}
	if p.Lockout == nil {
		p.Lockout = def.Lockout
	}
	if p.Branding == nil {
		p.Branding = def.Branding
	}
	return p
}

func (h *Handler) brand(ctx context.Context) brandView {
	b := iam.DefaultBranding()
	if in := reqctx.Instance(ctx); in != nil {
		b = h.policies(ctx, in.ID).Branding
	}
	v := brandView{Name: b.ProductName, LogoURL: b.LogoURL, Color: b.PrimaryColor}
	if v.Name == "" {
		v.Name = "Rampart"
	}
	if !validColor(v.Color) {
		v.Color = ""
	}
	if !strings.HasPrefix(v.LogoURL, "https://") {
		v.LogoURL = ""
	}
	v.Initial = strings.ToUpper(v.Name[:1])
	return v
}

func validColor(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	_, err := hex.DecodeString(c[1:])
	return err == nil
}

// render writes a page with the security headers every page carries: a
// strict Content-Security-Policy (styles only from here or with this
// response's nonce, no scripts, no framing), no caching, no referrer.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, p *page) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	p.Nonce = base64.RawStdEncoding.EncodeToString(nonce[:])
	p.CSS = h.cssURL
	p.Brand = h.brand(r.Context())
	h.decorate(r, p)
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'nonce-"+p.Nonce+"'; img-src https: 'self' data:; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	t, ok := h.pages[p.body]
	if !ok {
		t = h.pages["message"]
	}
	if err := t.ExecuteTemplate(w, "layout", p); err != nil {
		h.o.Log.Error("render login page", "page", p.body, "err", err)
	}
}

// guard applies CSRF protection (cross-origin POSTs are refused), a body
// limit, the method check and the instance check to a page handler.
func (h *Handler) guard(fn http.HandlerFunc) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := pick(r)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodPost:
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			h.render(w, r, http.StatusMethodNotAllowed, &page{m: m, body: "message", Title: m.T("error.title"), Error: m.T("error.method")})
			return
		}
		if reqctx.Instance(r.Context()) == nil {
			h.render(w, r, http.StatusInternalServerError, &page{m: m, body: "message", Title: m.T("error.title"), Error: m.T("error.unavailable")})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				h.render(w, r, http.StatusBadRequest, &page{m: m, body: "message", Title: m.T("error.title"), Error: m.T("error.bad_form")})
				return
			}
		}
		fn(w, r)
	})
	return h.csrf.Handler(inner)
}

// isFault reports whether err is a fault of ours (the database is down…)
// rather than bad input.
func isFault(err error) bool {
	c := iam.ErrorCode(err)
	return err != nil && (c == iam.Internal || c == iam.Unavailable)
}

const maxLoginName = 320

// authRequest loads the authorization request the form or URL names
// (authRequestID) and picks the page language, the request's ui_locales
// first. req is nil for a missing, unknown or expired request; err is set
// only for a fault.
func (h *Handler) authRequest(r *http.Request, instanceID string) (id string, req *iam.AuthRequest, m messages, err error) {
	id = r.FormValue("authRequestID")
	if id != "" && len(id) <= 64 {
		req, err = h.o.AuthRequests.AuthRequest(r.Context(), instanceID, id)
	}
	if req != nil {
		return id, req, pick(r, strings.Join(req.UILocales, " ")), err
	}
	return id, req, pick(r), err
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in := reqctx.Instance(ctx)
	id, req, m, err := h.authRequest(r, in.ID)
	p := &page{m: m, Title: m.T("sign_in.title"), Action: PathLogin, AuthRequestID: id, req: req}
	switch {
	case isFault(err):
		p.body, p.Error = "message", m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	case req == nil:
		p.body, p.Error = "message", m.T("sign_in.expired")
		h.render(w, r, http.StatusBadRequest, p)
		return
	case req.Done:
		p.body, p.Error = "message", m.T("sign_in.done")
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	if a, err := h.o.Apps.GetApplicationByClientID(ctx, in.ID, req.ClientID); err == nil {
		p.Subtitle = m.Tf("sign_in.subtitle", a.Name)
	}
	pol := h.policies(ctx, in.ID)
	if r.Method != http.MethodPost {
		// Single sign-on: a browser whose session verified the password of
		// a user who is still active goes straight back, unless the client
		// asked for a fresh login.
		if sess := h.currentSession(r, in.ID, pol.Login); sess != nil && (sess.PasswordVerified() || sess.MFAVerified()) && !reauthenticate(req, sess, h.now()) {
			if u, err := h.o.Users.Get(ctx, user.Ref{InstanceID: in.ID, ID: sess.UserID}); err == nil && u.State == iam.UserActive {
				h.finish(w, r, p, in.ID, id, u, sess.AMR, sess.AuthTime(), sess.MFAVerified())
				return
			}
		}
		if r.URL.Query().Get("passkey") == "1" && pol.Login.AllowPasskeys && h.passkeysEnabled() {
			h.passkeyLogin(w, r, p, in.ID)
			return
		}
		p.body, p.LoginName = "login_name", req.LoginHint
		if pol.Login.AllowPasskeys && h.passkeysEnabled() {
			p.PasskeyURL = PathLogin + "?passkey=1&authRequestID=" + id
		}
		h.render(w, r, http.StatusOK, p)
		return
	}
	switch r.PostFormValue("step") {
	case "change_password":
		h.changePassword(w, r, p, in.ID, id, pol)
		return
	case "totp", "totp_confirm", "continue", "email_otp":
		h.mfaStep(w, r, p, in.ID, id, pol)
		return
	case "consent":
		h.consentStep(w, r, p, in.ID, req, pol)
		return
	case "webauthn_2fa":
		if !h.passkeysEnabled() {
			break
		}
		h.finishWebAuthnSecondStep(w, r, p, in.ID, id, pol)
		return
	case "passkey_login":
		if !pol.Login.AllowPasskeys || !h.passkeysEnabled() {
			break
		}
		h.finishPasskeyLogin(w, r, p, in.ID, id, pol)
		return
	}
	p.LoginName = strings.TrimSpace(r.PostFormValue("login_name"))
	if len(p.LoginName) > maxLoginName {
		p.LoginName = ""
	}
	password, hasPassword := r.PostForm["password"]
	switch {
	case p.LoginName == "":
		p.body = "login_name"
		h.render(w, r, http.StatusOK, p)
		return
	case !hasPassword:
		// Step two. Whether the login name exists is not revealed: every
		// name gets the password step.
		p.body = "password"
		h.render(w, r, http.StatusOK, p)
		return
	}
	if !h.limiter.allow(in.ID, r) {
		h.tooMany(w, r, p)
		return
	}
	u, err := h.o.Users.PasswordLogin(ctx, in.ID, p.LoginName, password[0], h.maxPasswordAttempts(ctx, in.ID))
	if err != nil {
		p.body = "password"
		status := http.StatusUnauthorized
		p.Error = m.T("sign_in.bad_login")
		if isFault(err) {
			status, p.Error = http.StatusServiceUnavailable, m.T("error.unavailable")
		}
		h.render(w, r, status, p)
		return
	}
	if err := h.passwordVerified(w, r, in.ID, u, pol.Login); err != nil {
		p.body, p.Error = "message", m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	h.finish(w, r, p, in.ID, id, u, []string{iam.AMRPassword}, h.now(), false)
}

func (h *Handler) now() time.Time {
	if h.o.Now != nil {
		return h.o.Now()
	}
	return time.Now()
}

func (h *Handler) device(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in := reqctx.Instance(ctx)
	m := pick(r)
	p := &page{m: m, body: "device", Title: m.T("device.title"), Action: PathDevice, UserCode: r.FormValue("user_code")}
	if len(p.UserCode) > 32 {
		p.UserCode = ""
	}
	if r.Method != http.MethodPost {
		h.render(w, r, http.StatusOK, p)
		return
	}
	p.LoginName = strings.TrimSpace(r.PostFormValue("login_name"))
	if !h.limiter.allow(in.ID, r) {
		h.tooMany(w, r, p)
		return
	}
	auth, err := h.o.AuthRequests.DeviceAuthorizationByUserCode(ctx, in.ID, p.UserCode)
	if err != nil {
		status := http.StatusBadRequest
		p.Error = m.T("device.unknown")
		if isFault(err) {
			status, p.Error = http.StatusServiceUnavailable, m.T("error.unavailable")
		}
		h.render(w, r, status, p)
		return
	}
	if a, err := h.o.Apps.GetApplicationByClientID(ctx, in.ID, auth.ClientID); err == nil {
		p.Subtitle = m.Tf("device.asks", a.Name)
	}
	u, err := h.o.Users.PasswordLogin(ctx, in.ID, p.LoginName, r.PostFormValue("password"), h.maxPasswordAttempts(ctx, in.ID))
	if err != nil {
		status := http.StatusUnauthorized
		p.Error = m.T("sign_in.bad_login")
		if isFault(err) {
			status, p.Error = http.StatusServiceUnavailable, m.T("error.unavailable")
		}
		h.render(w, r, status, p)
		return
	}
	approve := r.PostFormValue("decision") == "allow"
	if err := h.o.AuthRequests.DecideDevice(ctx, in.ID, p.UserCode, approve, u.ID, []string{"pwd"}); err != nil {
		status := http.StatusBadRequest
		p.Error = m.T("device.unknown")
		if isFault(err) {
			status, p.Error = http.StatusServiceUnavailable, m.T("error.unavailable")
		}
		h.render(w, r, status, p)
		return
	}
	msg := m.T("device.connected")
	if !approve {
		msg = m.T("device.denied")
	}
	h.render(w, r, http.StatusOK, &page{m: m, body: "message", Title: m.T("device.title"), Message: msg})
}

// tooMany answers a client over its attempt limit: 429 with Retry-After,
// the form again, and a message that says what to do.
func (h *Handler) tooMany(w http.ResponseWriter, r *http.Request, p *page) {
	w.Header().Set("Retry-After", "60")
	if p.body == "" {
		p.body = "password"
	}
	p.Error = p.m.T("error.too_many")
	h.render(w, r, http.StatusTooManyRequests, p)
}

func (h *Handler) loggedOut(w http.ResponseWriter, r *http.Request) {
	m := pick(r)
	h.render(w, r, http.StatusOK, &page{m: m, body: "message", Title: m.T("logged_out.title"), Message: m.T("logged_out.message")})
}
