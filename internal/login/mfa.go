package login

import (
	"encoding/base64"
	"html/template"
	"net/http"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/mfa"
)

// Second steps.
const (
	stepNone     = ""
	stepTOTP     = "totp"
	stepWebAuthn = "webauthn"
	stepEnrol    = "enrol"
	stepEmail    = "email"
)

// secondFactor decides the second step for u: their TOTP code, else one
// of their passkeys (WebAuthn as a second factor), else — when the login
// policy forces a second factor — TOTP enrolment; or none.
func (h *Handler) secondFactor(r *http.Request, instanceID string, u *iam.User, lp *iam.LoginPolicy) (string, error) {
	if h.o.Factors == nil || u.Human == nil {
		return stepNone, nil
	}
	has, err := h.o.Factors.HasVerifiedTOTP(r.Context(), instanceID, u.ID)
	if err != nil {
		return stepNone, err
	}
	if has {
		return stepTOTP, nil
	}
	if h.passkeysEnabled() {
		has, err := h.o.Factors.HasWebAuthnCredentials(r.Context(), instanceID, u.ID)
		if err != nil {
			return stepNone, err
		}
		if has {
			return stepWebAuthn, nil
		}
	}
	if !lp.ForceMFA {
		return stepNone, nil
	}
	// Forced without a factor of the user's own: the first allowed kind
	// the login can provide — TOTP enrolment, or a code by e-mail to a
	// verified address.
	for _, f := range lp.AllowedSecondFactors {
		switch {
		case f == iam.SecondFactorTOTP:
			return stepEnrol, nil
		case f == iam.SecondFactorEmailOTP && h.o.Mail != nil && u.Human.Email != "" && u.Human.EmailVerified:
			return stepEmail, nil
		}
	}
	return stepNone, nil
}

// secondStep renders the second step for u if one is due, and reports
// whether it did.
func (h *Handler) secondStep(w http.ResponseWriter, r *http.Request, p *page, instanceID string, u *iam.User, lp *iam.LoginPolicy) bool {
	step, err := h.secondFactor(r, instanceID, u, lp)
	switch {
	case err != nil:
		p.body, p.Error = "message", p.m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return true
	case step == stepTOTP:
		p.body, p.Title, p.Error = "mfa_totp", p.m.T("mfa.title"), ""
		h.render(w, r, http.StatusOK, p)
		return true
	case step == stepWebAuthn:
		h.webAuthnSecondStep(w, r, p, instanceID, u)
		return true
	case step == stepEnrol:
		h.enrolTOTP(w, r, p, instanceID, u)
		return true
	case step == stepEmail:
		h.sendEmailCode(w, r, p, instanceID, u)
		return true
	}
	return false
}

// sendEmailCode mails u a one-time code (RFC 8176 amr otp) and asks for it.
func (h *Handler) sendEmailCode(w http.ResponseWriter, r *http.Request, p *page, instanceID string, u *iam.User) {
	ctx := r.Context()
	code, err := h.o.Factors.CreateEmailChallenge(ctx, instanceID, u.ID, 0)
	if err == nil {
		err = h.o.Mail.EnqueueNow(ctx, mail.Message{InstanceID: instanceID, To: u.Human.Email, Kind: mail.KindOTP,
			Lang: u.Human.PreferredLanguage, Data: map[string]string{"code": code}})
	}
	if err != nil {
		p.body, p.Error = "message", p.m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	p.body, p.Title, p.Message = "mfa_email", p.m.T("mfa.title"), p.m.T("mfa.email_sent")
	h.render(w, r, http.StatusOK, p)
}

func (h *Handler) enrolTOTP(w http.ResponseWriter, r *http.Request, p *page, instanceID string, u *iam.User) {
	en, err := h.o.Factors.BeginTOTP(r.Context(), mfa.Ref{InstanceID: instanceID, ID: u.ID}, h.brand(r.Context()).Name)
	if err != nil {
		p.body, p.Error = "message", p.m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	p.body, p.Title = "mfa_enrol", p.m.T("mfa.enrol_title")
	p.QRCode = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRCodePNG))
	p.Secret = en.Secret
	h.render(w, r, http.StatusOK, p)
}

// mfaStep handles the posts of the second step: a TOTP or recovery code,
// the confirmation of a new TOTP factor, and "continue" after the recovery
// codes were shown. The browser's session must have verified the password.
func (h *Handler) mfaStep(w http.ResponseWriter, r *http.Request, p *page, instanceID, authRequestID string, pol *iam.Policies) {
	ctx := r.Context()
	if h.o.Factors == nil {
		p.body, p.Error = "login_name", p.m.T("session.ended")
		h.render(w, r, http.StatusUnauthorized, p)
		return
	}
	sess, u, ok := h.sessionUser(w, r, p, instanceID, pol, true)
	if !ok {
		return
	}
	step := r.PostFormValue("step")
	if step == "continue" {
		if !sess.MFAVerified() {
			p.body, p.Error = "login_name", p.m.T("session.ended")
			h.render(w, r, http.StatusUnauthorized, p)
			return
		}
		h.finishAfterMFA(w, r, p, instanceID, authRequestID, u, sess)
		return
	}
	if !h.limiter.allow(instanceID, r) {
		p.body = "mfa_totp"
		h.tooMany(w, r, p)
		return
	}
	if step == "email_otp" && r.PostFormValue("resend") != "" {
		h.sendEmailCode(w, r, p, instanceID, u)
		return
	}
	code, recovery := r.PostFormValue("code"), r.PostFormValue("recovery_code")
	var verr error
	var codes []string
	switch {
	case step == "totp_confirm":
		codes, verr = h.o.Factors.ConfirmTOTP(ctx, u.ID, mfa.Ref{InstanceID: instanceID, ID: u.ID}, code)
	case step == "totp" && recovery != "":
		_, verr = h.o.Factors.VerifyRecoveryCode(ctx, instanceID, u.ID, recovery)
	case step == "totp":
		verr = h.o.Factors.VerifyTOTP(ctx, instanceID, u.ID, code)
	case step == "email_otp":
		verr = h.o.Factors.VerifyEmailChallenge(ctx, instanceID, u.ID, code, pol.Lockout.MaxOTPAttempts)
	default:
		p.body, p.Error = "message", p.m.T("error.bad_form")
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	if verr != nil {
		if isFault(verr) {
			p.body, p.Error = "message", p.m.T("error.unavailable")
			h.render(w, r, http.StatusServiceUnavailable, p)
			return
		}
		_, _, _ = h.o.Users.RecordFailedLogin(ctx, instanceID, u.ID, iam.FailureOTP, pol.Lockout.MaxOTPAttempts)
		p.Error = p.m.T("mfa.wrong")
		if step == "totp_confirm" {
			// Show the same enrolment again: the factor is unconfirmed.
			h.enrolTOTP(w, r, p, instanceID, u)
			return
		}
		if step == "email_otp" {
			p.body, p.Title, p.Message = "mfa_email", p.m.T("mfa.title"), p.m.T("mfa.email_sent")
			h.render(w, r, http.StatusUnauthorized, p)
			return
		}
		p.body, p.Title = "mfa_totp", p.m.T("mfa.title")
		h.render(w, r, http.StatusUnauthorized, p)
		return
	}
	_ = h.o.Users.ResetFailedLogins(ctx, instanceID, u.ID, iam.FailureOTP)
	sess, next, err := h.o.Sessions.MarkMFAVerified(ctx, instanceID, cookieToken(r), u, iam.AMROTP)
	if err != nil {
		p.body, p.Error = "message", p.m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	h.setCookie(w, next, sess.ExpiresAt)
	h.rememberDevice(w, r, instanceID, u)
	if len(codes) > 0 {
		p.body, p.Title, p.RecoveryCodes, p.Error = "recovery_codes", p.m.T("mfa.recovery_title"), codes, ""
		h.render(w, r, http.StatusOK, p)
		return
	}
	h.finishAfterMFA(w, r, p, instanceID, authRequestID, u, sess)
}

func (h *Handler) finishAfterMFA(w http.ResponseWriter, r *http.Request, p *page, instanceID, authRequestID string, u *iam.User, sess *iam.LoginSession) {
	h.complete(w, r, p, instanceID, authRequestID, u, sess.AMR, sess.AuthTime())
}
