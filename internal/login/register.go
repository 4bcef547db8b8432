package login

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/user"
)

// Paths of self-registration and the e-mail flows.
const (
	PathRegister       = "/ui/register"
	PathVerifyEmail    = "/ui/verify-email"
	PathForgotPassword = "/ui/forgot-password"
	PathResetPassword  = "/ui/reset-password"
	// PathResendVerification sends a new verification e-mail.
	PathResendVerification = "/ui/verify-email/resend"
)

// AccountUsers are the user-service methods of self-registration, e-mail
// verification and password reset (user.Service).
type AccountUsers interface {
	CreateHuman(ctx context.Context, actor string, in *user.NewHuman) (*iam.User, error)
	IssueEmailVerification(ctx context.Context, actor string, ref user.Ref, notify user.Notify) error
	VerifyEmail(ctx context.Context, instanceID, token string) (*iam.User, error)
	RequestPasswordReset(ctx context.Context, instanceID, loginName string, notify user.Notify) error
	RequestEmailVerification(ctx context.Context, instanceID, loginName string, notify user.Notify) error
	CheckPasswordResetToken(ctx context.Context, instanceID, token string) error
	CompletePasswordReset(ctx context.Context, instanceID, token, password string, notify user.Notify) (*iam.User, error)
}

// flowView holds the fields of the registration and e-mail pages.
type flowView struct {
	Email, GivenName, FamilyName string
	// Token is the password reset token the reset form posts back.
	Token string
	// AllowRegistration shows the "Create an account" link on the login
	// name step.
	AllowRegistration bool
	// CanReset shows the "Forgot password?" link: e-mail can be sent.
	CanReset bool
}

// decorate fills what a page shows depending on the instance's policy:
// the registration link of the login name step and the password reset
// link of the password step.
func (h *Handler) decorate(r *http.Request, p *page) {
	p.CanReset = h.o.Mail != nil
	if p.body != "login_name" || p.AuthRequestID == "" {
		return
	}
	if in := reqctx.Instance(r.Context()); in != nil {
		p.AllowRegistration = h.policies(r.Context(), in.ID).Login.AllowRegistration
	}
}

// Bounds of the registration form.
const (
	maxEmail = 320
	maxName  = 200
)

// register serves /ui/register: a person creates their own account in the
// organization of the application that sent them, is signed in and goes
// back to the application. Only when the login policy allows it.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in := reqctx.Instance(ctx)
	id, req, m, err := h.authRequest(r, in.ID)
	p := &page{m: m, req: req, body: "register", Title: m.T("register.title"), Action: PathRegister, AuthRequestID: id}
	pol := h.policies(ctx, in.ID)
	var app *iam.Application
	if req != nil && err == nil {
		app, err = h.o.Apps.GetApplicationByClientID(ctx, in.ID, req.ClientID)
	}
	switch {
	case !pol.Login.AllowRegistration:
		p.body, p.Error = "message", m.T("register.disabled")
		h.render(w, r, http.StatusNotFound, p)
		return
	case isFault(err):
		p.body, p.Error = "message", m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	case req == nil || app == nil:
		p.body, p.Error = "message", m.T("sign_in.expired")
		h.render(w, r, http.StatusBadRequest, p)
		return
	case req.Done:
		p.body, p.Error = "message", m.T("sign_in.done")
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	p.Subtitle = m.Tf("sign_in.subtitle", app.Name)
	if r.Method != http.MethodPost {
		h.render(w, r, http.StatusOK, p)
		return
	}
	p.LoginName = strings.TrimSpace(r.PostFormValue("login_name"))
	p.Email = strings.TrimSpace(r.PostFormValue("email"))
	p.GivenName = strings.TrimSpace(r.PostFormValue("given_name"))
	p.FamilyName = strings.TrimSpace(r.PostFormValue("family_name"))
	pw, confirm := r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	if !h.limiter.allow(in.ID, r) {
		h.tooMany(w, r, p)
		return
	}
	switch {
	case p.LoginName == "" || p.Email == "" || p.GivenName == "" || p.FamilyName == "" || pw == "":
		p.Error = m.T("register.required")
	case len(p.LoginName) > maxLoginName || len(p.Email) > maxEmail || len(p.GivenName) > maxName || len(p.FamilyName) > maxName:
		p.Error = m.T("register.failed")
	case pw != confirm:
		p.Error = m.T("change.mismatch")
	default:
		if problems := pol.Password.Check(pw); len(problems) > 0 {
			p.Error = iamMessage(problems.Err())
		}
	}
	if p.Error != "" {
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	uid := iam.NewID()
	u, err := h.o.Users.CreateHuman(ctx, uid, &user.NewHuman{
		ID: uid, InstanceID: in.ID, OrgID: app.OrgID, LoginName: p.LoginName, Password: pw,
		Profile: iam.HumanProfile{Email: p.Email, GivenName: p.GivenName, FamilyName: p.FamilyName, PreferredLanguage: m.T("lang")},
	})
	if err != nil {
		// Login names are visible to others anyway; whether an e-mail
		// address is in use is never revealed (addresses need not be
		// unique).
		status := http.StatusBadRequest
		switch {
		case isFault(err):
			status, p.Error = http.StatusServiceUnavailable, m.T("error.unavailable")
		case iam.IsCode(err, iam.AlreadyExists):
			status, p.Error = http.StatusConflict, m.T("register.taken")
		case iam.IsCode(err, iam.Invalid):
			p.Error = iamMessage(err)
		default:
			p.Error = m.T("register.failed")
		}
		h.render(w, r, status, p)
		return
	}
	if h.o.Mail != nil {
		ref := user.Ref{InstanceID: in.ID, ID: u.ID}
		if err := h.o.Users.IssueEmailVerification(ctx, u.ID, ref, h.notify(r, mail.KindVerifyEmail, PathVerifyEmail)); err != nil {
			// The account exists; the address can be verified later.
			h.o.Log.Error("queue verification e-mail", "user", u.ID, "err", err)
		}
	}
	if err := h.passwordVerified(w, r, in.ID, u, pol.Login); err != nil {
		p.body, p.Error = "message", m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	// The steps that may follow (new password, second factor, consent)
	// are the sign-in page's.
	p.Action = PathLogin
	h.finish(w, r, p, in.ID, id, u, []string{iam.AMRPassword}, h.now(), false)
}

// verifyEmail serves /ui/verify-email: the link of a verification e-mail
// (token in the query) or the form to paste its code into.
func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in := reqctx.Instance(ctx)
	m := pick(r)
	p := &page{m: m, body: "verify_email", Title: m.T("verify.title"), Action: PathVerifyEmail}
	token := strings.TrimSpace(r.FormValue("token"))
	if token == "" {
		h.render(w, r, http.StatusOK, p)
		return
	}
	if r.Method == http.MethodPost && !h.limiter.allow(in.ID, r) {
		h.tooMany(w, r, p)
		return
	}
	if _, err := h.o.Users.VerifyEmail(ctx, in.ID, token); err != nil {
		status := http.StatusBadRequest
		p.Error = m.T("verify.invalid")
		if isFault(err) {
			status, p.Error = http.StatusServiceUnavailable, m.T("error.unavailable")
		}
		h.render(w, r, status, p)
		return
	}
	h.render(w, r, http.StatusOK, &page{m: m, body: "message", Title: m.T("verify.title"), Message: m.T("verify.done")})
}

// notify returns the user.Notify that queues a message of kind in the
// token's transaction, linking to path on this host.
func (h *Handler) notify(r *http.Request, kind mail.Kind, path string) user.Notify {
	base := h.baseURL(r)
	product := h.brand(r.Context()).Name
	return func(ctx context.Context, tx store.Queries, u *iam.User, token string) error {
		if u.Human == nil {
			return nil
		}
		data := map[string]string{"product": product, "name": u.Human.GivenName}
		if token != "" {
			data["link"] = base + path + "?token=" + url.QueryEscape(token)
		}
		switch kind {
		case mail.KindVerifyEmail:
			data["code"] = token
			data["expires_minutes"] = strconv.Itoa(int(user.VerifyEmailLifetime.Minutes()))
		case mail.KindPasswordReset:
			data["expires_minutes"] = strconv.Itoa(int(user.PasswordResetLifetime.Minutes()))
		}
		return h.o.Mail.Enqueue(ctx, tx, mail.Message{
			InstanceID: u.InstanceID, To: u.Human.Email, Kind: kind, Lang: u.Human.PreferredLanguage, Data: data,
		})
	}
}

// baseURL is the scheme and host of this instance's pages, as the
// provider sees them (from its callback URL).
func (h *Handler) baseURL(r *http.Request) string {
	if u, err := url.Parse(h.o.CallbackURL(r, "x")); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	scheme := "http"
	if r.TLS != nil || h.o.SecureCookies {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
