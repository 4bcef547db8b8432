package login

import (
	"context"
	"net/http"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/user"
)

// forgotPassword serves /ui/forgot-password: it asks for a login name and
// always gives the same answer, whether or not the account exists (no
// enumeration); an active human user with an e-mail address gets a reset
// link.
func (h *Handler) forgotPassword(w http.ResponseWriter, r *http.Request) {
	h.mailByLoginName(w, r, byLoginName{path: PathForgotPassword, prefix: "forgot", kind: mail.KindPasswordReset, link: PathResetPassword,
		send: h.o.Users.RequestPasswordReset})
}

// resendVerification serves /ui/verify-email/resend: like the forgotten
// password, it asks for a login name and always gives the same answer; an
// active human user whose address is not verified yet gets a new
// verification e-mail (earlier links stop working).
func (h *Handler) resendVerification(w http.ResponseWriter, r *http.Request) {
	h.mailByLoginName(w, r, byLoginName{path: PathResendVerification, prefix: "resend", kind: mail.KindVerifyEmail, link: PathVerifyEmail,
		send: h.o.Users.RequestEmailVerification})
}

// byLoginName is a page that sends an e-mail with a link to the account
// named by a login name.
type byLoginName struct {
	path   string
	prefix string // of the page's messages: <prefix>.title, .intro, .submit, .sent
	kind   mail.Kind
	link   string // the page the e-mail links to
	send   func(ctx context.Context, instanceID, loginName string, notify user.Notify) error
}

// mailByLoginName serves a byLoginName page: the same answer whether or
// not the account exists, within the per-address limit.
func (h *Handler) mailByLoginName(w http.ResponseWriter, r *http.Request, b byLoginName) {
	ctx := r.Context()
	in := reqctx.Instance(ctx)
	m := pick(r)
	p := &page{m: m, body: "by_login_name", Title: m.T(b.prefix + ".title"), Message: m.T(b.prefix + ".intro"), Submit: m.T(b.prefix + ".submit"),
		Action: b.path, AuthRequestID: r.FormValue("authRequestID")}
	if len(p.AuthRequestID) > 64 {
		p.AuthRequestID = ""
	}
	if h.o.Mail == nil {
		p.body, p.Error = "message", m.T("email.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	if r.Method != http.MethodPost {
		h.render(w, r, http.StatusOK, p)
		return
	}
	p.LoginName = strings.TrimSpace(r.PostFormValue("login_name"))
	if p.LoginName == "" || len(p.LoginName) > maxLoginName {
		p.LoginName = ""
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	if !h.limiter.allow(in.ID, r) {
		h.tooMany(w, r, p)
		return
	}
	if err := b.send(ctx, in.ID, p.LoginName, h.notify(r, b.kind, b.link)); err != nil {
		h.o.Log.Error("send e-mail by login name", "page", b.path, "err", err)
		p.Error = m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	h.render(w, r, http.StatusOK, &page{m: m, body: "message", Title: m.T(b.prefix + ".title"), Message: m.T(b.prefix + ".sent")})
}

// resetPassword serves /ui/reset-password: the link of a reset e-mail
// shows the new-password form; posting it sets the password, uses up the
// token and signs the user out everywhere.
func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in := reqctx.Instance(ctx)
	m := pick(r)
	p := &page{m: m, body: "reset_password", Title: m.T("reset.title"), Action: PathResetPassword}
	p.Token = strings.TrimSpace(r.FormValue("token"))
	invalid := func(err error) {
		status := http.StatusBadRequest
		p.body, p.Error = "message", m.T("reset.invalid")
		if isFault(err) {
			status, p.Error = http.StatusServiceUnavailable, m.T("error.unavailable")
		}
		h.render(w, r, status, p)
	}
	if r.Method != http.MethodPost {
		if err := h.o.Users.CheckPasswordResetToken(ctx, in.ID, p.Token); err != nil {
			invalid(err)
			return
		}
		h.render(w, r, http.StatusOK, p)
		return
	}
	if !h.limiter.allow(in.ID, r) {
		h.tooMany(w, r, p)
		return
	}
	pw, confirm := r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	if pw != confirm {
		p.Error = m.T("change.mismatch")
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	if problems := h.policies(ctx, in.ID).Password.Check(pw); len(problems) > 0 {
		p.Error = iamMessage(problems.Err())
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	var notify user.Notify
	if h.o.Mail != nil {
		notify = h.notify(r, mail.KindPasswordChanged, "")
	}
	u, err := h.o.Users.CompletePasswordReset(ctx, in.ID, p.Token, pw, notify)
	if iam.IsCode(err, iam.Invalid) {
		p.Error = iamMessage(err)
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	if err != nil {
		invalid(err)
		return
	}
	if h.o.Sessions != nil {
		if _, err := h.o.Sessions.LogoutEverywhere(ctx, u.ID, in.ID, u.ID); err != nil {
			h.o.Log.Error("end sessions after password reset", "user", u.ID, "err", err)
		}
		h.clearCookie(w)
	}
	h.render(w, r, http.StatusOK, &page{m: m, body: "message", Title: m.T("reset.title"), Message: m.T("reset.done")})
}
