package login

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/session"
	"github.com/rampartiam/rampart/internal/user"
)

// CookieName is the login session cookie. It holds a random token; the
// database keeps only its keyed hash, so any node serves any step.
const CookieName = "rampart_session"

func (h *Handler) setCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: h.o.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.o.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// cookieToken returns the session token the browser sent, or "".
func cookieToken(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil || len(c.Value) > 128 {
		return ""
	}
	return c.Value
}

// currentSession returns the browser's live session in the instance, or
// nil (no cookie, ended, expired, a user no longer active).
func (h *Handler) currentSession(r *http.Request, instanceID string, lp *iam.LoginPolicy) *iam.LoginSession {
	tok := cookieToken(r)
	if tok == "" || h.o.Sessions == nil {
		return nil
	}
	sess, err := h.o.Sessions.Get(r.Context(), instanceID, tok, lp.SessionIdleTimeout)
	if err != nil {
		return nil
	}
	return sess
}

// reauthenticate reports whether the request asks for a fresh login even
// though the browser has a session: prompt=login or select_account, or a
// max_age the session's authentication is older than (OpenID Connect Core
// §3.1.2.1).
func reauthenticate(req *iam.AuthRequest, sess *iam.LoginSession, now time.Time) bool {
	if slices.Contains(req.Prompt, "login") || slices.Contains(req.Prompt, "select_account") {
		return true
	}
	return req.MaxAge >= 0 && now.Sub(sess.AuthTime()) > time.Duration(req.MaxAge)*time.Second
}

// passwordVerified binds the browser's session (a new one if it has none)
// to u after a correct password and sets the rotated cookie.
func (h *Handler) passwordVerified(w http.ResponseWriter, r *http.Request, instanceID string, u *iam.User, lp *iam.LoginPolicy) error {
	if h.o.Sessions == nil {
		return nil
	}
	ctx := r.Context()
	tok := cookieToken(r)
	if tok == "" || h.currentSession(r, instanceID, lp) == nil {
		created, err := h.newSession(r, instanceID, lp)
		if err != nil {
			return err
		}
		tok = created
	}
	sess, next, err := h.o.Sessions.MarkPasswordVerified(ctx, instanceID, tok, u)
	if iam.IsCode(err, iam.FailedPrecondition) {
		// The browser was signed in as someone else: that session ends,
		// the new user gets a fresh one.
		_ = h.o.Sessions.Logout(ctx, instanceID, tok)
		_, created, cerr := h.o.Sessions.Create(ctx, instanceID, session.Client{UserAgent: r.UserAgent(), IP: clientIP(r)},
			session.Lifetimes{Absolute: lp.SessionLifetime, Idle: lp.SessionIdleTimeout})
		if cerr != nil {
			return cerr
		}
		sess, next, err = h.o.Sessions.MarkPasswordVerified(ctx, instanceID, created, u)
	}
	if err != nil {
		return err
	}
	h.setCookie(w, next, sess.ExpiresAt)
	return nil
}

// newSession starts an anonymous session for the browser and returns its
// token.
func (h *Handler) newSession(r *http.Request, instanceID string, lp *iam.LoginPolicy) (string, error) {
	_, tok, err := h.o.Sessions.Create(r.Context(), instanceID, session.Client{UserAgent: r.UserAgent(), IP: clientIP(r)},
		session.Lifetimes{Absolute: lp.SessionLifetime, Idle: lp.SessionIdleTimeout})
	return tok, err
}

// finish takes u, whose password was verified (now or by the browser's
// session), to the client: first a new password if u must change theirs,
// then the second step if one is due and the session has not verified it
// (mfaDone), then the authorization request is completed.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, p *page, instanceID, authRequestID string, u *iam.User, amr []string, authTime time.Time, mfaDone bool) {
	if u.Human != nil && u.Human.PasswordChangeRequired {
		p.body, p.Title, p.Message, p.Error = "change_password", p.m.T("change.title"), p.m.T("change.intro"), ""
		h.render(w, r, http.StatusOK, p)
		return
	}
	// Once the user is known, their organization's login policy decides
	// the second step.
	lp := h.orgPolicies(r.Context(), instanceID, u.OrgID).Login
	if !mfaDone && !h.deviceRemembered(r, instanceID, u, lp) && h.secondStep(w, r, p, instanceID, u, lp) {
		return
	}
	h.complete(w, r, p, instanceID, authRequestID, u, amr, authTime)
}

// complete completes the authorization request for u and sends the
// browser back to the provider, which issues the code.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, p *page, instanceID, authRequestID string, u *iam.User, amr []string, authTime time.Time) {
	req := p.req
	if req == nil || req.ID != authRequestID {
		req, _ = h.o.AuthRequests.AuthRequest(r.Context(), instanceID, authRequestID)
	}
	if req != nil {
		need, err := h.needsConsent(r.Context(), instanceID, req, u)
		if err != nil {
			p.body, p.Error = "message", p.m.T("error.unavailable")
			h.render(w, r, http.StatusServiceUnavailable, p)
			return
		}
		if need {
			h.askConsent(w, r, p, instanceID, req)
			return
		}
	}
	h.completeAt(w, r, p, instanceID, authRequestID, u, amr, authTime)
}

// completeAt completes the authorization request for u and sends the
// browser back to the provider (after any consent).
func (h *Handler) completeAt(w http.ResponseWriter, r *http.Request, p *page, instanceID, authRequestID string, u *iam.User, amr []string, authTime time.Time) {
	if err := h.o.AuthRequests.CompleteAuthRequestAt(r.Context(), instanceID, authRequestID, u.ID, amr, authTime); err != nil {
		p.body, p.Error = "message", p.m.T("sign_in.expired")
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	http.Redirect(w, r, h.o.CallbackURL(r, authRequestID), http.StatusSeeOther)
}

// sessionUser returns the browser's session and its active user for a
// step that needs an authenticated browser (passwordOnly: the password
// must have been verified; else the password or a passkey). Otherwise it
// renders "your session has ended" and reports false.
func (h *Handler) sessionUser(w http.ResponseWriter, r *http.Request, p *page, instanceID string, pol *iam.Policies, passwordOnly bool) (*iam.LoginSession, *iam.User, bool) {
	sess := h.currentSession(r, instanceID, pol.Login)
	ok := sess != nil && (sess.PasswordVerified() || !passwordOnly && sess.MFAVerified())
	var u *iam.User
	if ok {
		var err error
		u, err = h.o.Users.Get(r.Context(), user.Ref{InstanceID: instanceID, ID: sess.UserID})
		ok = err == nil && u.State == iam.UserActive
	}
	if !ok {
		p.body, p.Error = "login_name", p.m.T("session.ended")
		h.render(w, r, http.StatusUnauthorized, p)
		return nil, nil, false
	}
	return sess, u, true
}

// changePassword handles the change-password step: the browser's session
// must have verified the password of a user who has to change it.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, p *page, instanceID, authRequestID string, pol *iam.Policies) {
	ctx := r.Context()
	sess, u, ok := h.sessionUser(w, r, p, instanceID, pol, true)
	if !ok {
		return
	}
	p.body, p.Title = "change_password", p.m.T("change.title")
	pw, confirm := r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	if pw != confirm {
		p.Error = p.m.T("change.mismatch")
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	if problems := h.orgPolicies(ctx, instanceID, u.OrgID).Password.Check(pw); len(problems) > 0 {
		p.Error = problems.Err().Error()
		var ie *iam.Error
		if errors.As(problems.Err(), &ie) {
			p.Error = ie.Message
		}
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	if _, err := h.o.Users.CheckPassword(ctx, instanceID, u.LoginName, pw); err == nil {
		p.Error = p.m.T("change.same")
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	u, err := h.o.Users.SetPassword(ctx, u.ID, user.Ref{InstanceID: instanceID, ID: u.ID}, pw, false)
	if err != nil {
		status := http.StatusBadRequest
		p.Error = iamMessage(err)
		if isFault(err) {
			status, p.Error = http.StatusServiceUnavailable, p.m.T("error.unavailable")
		}
		h.render(w, r, status, p)
		return
	}
	h.finish(w, r, p, instanceID, authRequestID, u, sess.AMR, sess.AuthTime(), sess.MFAVerified())
}

func iamMessage(err error) string {
	var ie *iam.Error
	if errors.As(err, &ie) && ie.Message != "" {
		return ie.Message
	}
	return err.Error()
}

// EndSession wraps the provider's end-session endpoint: the browser's
// login session ends with the RP-initiated logout (its cookie is cleared
// and the session deleted), then the provider revokes the tokens and
// redirects.
func (h *Handler) EndSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := cookieToken(r); tok != "" && h.o.Sessions != nil {
			if in := reqctx.Instance(r.Context()); in != nil {
				_ = h.o.Sessions.Logout(r.Context(), in.ID, tok)
			}
			h.clearCookie(w)
		}
		next.ServeHTTP(w, r)
	})
}
