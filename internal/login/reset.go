package login

import (
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
	ctx := r.Context()
	in := reqctx.Instance(ctx)
	m := pick(r)
	p := &page{m: m, body: "forgot_password", Title: m.T("forgot.title"), Action: PathForgotPassword,
		AuthRequestID: r.FormValue("authRequestID")}
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
	if err := h.o.Users.RequestPasswordReset(ctx, in.ID, p.LoginName, h.notify(r, mail.KindPasswordReset, PathResetPassword)); err != nil {
		h.o.Log.Error("request password reset", "err", err)
		p.Error = m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	h.render(w, r, http.StatusOK, &page{m: m, body: "message", Title: m.T("forgot.title"), Message: m.T("forgot.sent")})
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
