package login

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// PathPasskeys is where a signed-in user adds a passkey.
const PathPasskeys = "/ui/passkeys"

// webAuthnUser adds go-webauthn's credential list to mfa.WebAuthnUser.
type webAuthnUser struct{ *mfa.WebAuthnUser }

func (u webAuthnUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(u.Credentials))
	for i, c := range u.Credentials {
		transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
		for j, t := range c.Transports {
			transports[j] = protocol.AuthenticatorTransport(t)
		}
		out[i] = webauthn.Credential{
			ID: c.CredentialID, PublicKey: c.PublicKey, AttestationType: c.AttestationType, Transport: transports,
			Flags: webauthn.CredentialFlags{UserPresent: c.UserPresent, UserVerified: c.UserVerified,
				BackupEligible: c.BackupEligible, BackupState: c.BackupState},
			Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount,
				Attachment: protocol.AuthenticatorAttachment(c.Attachment)},
		}
	}
	return out
}

// relyingParty is the WebAuthn relying party of the request's host: the
// RP ID is the host name (an instance's domain), the origin the issuer's.
func (h *Handler) relyingParty(r *http.Request) (*webauthn.WebAuthn, error) {
	host := r.Host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	scheme := "http"
	if h.o.SecureCookies {
		scheme = "https"
	}
	return webauthn.New(&webauthn.Config{
		RPID: host, RPDisplayName: h.brand(r.Context()).Name, RPOrigins: []string{scheme + "://" + r.Host},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired,
		},
	})
}

// seal and unseal carry a ceremony's session data through the browser,
// encrypted and bound to its purpose and instance: no node keeps state
// between the two halves of a ceremony.
func (h *Handler) seal(purpose, instanceID string, sd *webauthn.SessionData) (string, error) {
	raw, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	ct, err := h.o.Keyring.Encrypt(raw, []byte("webauthn:"+purpose+":"+instanceID))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(ct), nil
}

func (h *Handler) unseal(purpose, instanceID, sealed string) (*webauthn.SessionData, error) {
	ct, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(sealed) > 8<<10 {
		return nil, errors.New("malformed ceremony")
	}
	raw, err := h.o.Keyring.Decrypt(ct, []byte("webauthn:"+purpose+":"+instanceID))
	if err != nil {
		return nil, err
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(raw, &sd); err != nil {
		return nil, err
	}
	if !sd.Expires.IsZero() && h.now().After(sd.Expires) {
		return nil, errors.New("ceremony expired")
	}
	return &sd, nil
}

func (h *Handler) passkeysEnabled() bool {
	return h.o.Factors != nil && h.o.Keyring != nil && h.o.Sessions != nil
}

// passkeyLogin renders the passwordless sign-in: a discoverable-credential
// assertion (the authenticator names the user).
func (h *Handler) passkeyLogin(w http.ResponseWriter, r *http.Request, p *page, instanceID string) {
	rp, err := h.relyingParty(r)
	var opts *protocol.CredentialAssertion
	var sd *webauthn.SessionData
	if err == nil {
		opts, sd, err = rp.BeginDiscoverableLogin()
	}
	var sealed string
	if err == nil {
		sealed, err = h.seal("login", instanceID, sd)
	}
	if err != nil {
		p.body, p.Error = "message", p.m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	h.renderCeremony(w, r, p, opts, sealed, "get", "passkey_login", p.m.T("passkey.sign_in"), "")
}

func (h *Handler) renderCeremony(w http.ResponseWriter, r *http.Request, p *page, opts any, sealed, mode, step, submit, skip string) {
	raw, _ := json.Marshal(opts)
	p.body, p.WebAuthnOptions, p.Ceremony, p.WebAuthnMode, p.Step, p.Submit, p.SkipLabel = "passkey", string(raw), sealed, mode, step, submit, skip
	p.Script = h.scriptURL
	h.render(w, r, http.StatusOK, p)
}

// finishPasskeyLogin verifies the assertion, finds the user by the user
// handle the authenticator returned, and signs them in: a user-verifying
// passkey is both factors (RFC 8176 amr hwk, mfa).
func (h *Handler) finishPasskeyLogin(w http.ResponseWriter, r *http.Request, p *page, instanceID, authRequestID string, pol *iam.Policies) {
	ctx := r.Context()
	fail := func(status int) {
		p.Error = p.m.T("passkey.failed")
		h.passkeyLogin(w, r, p, instanceID)
		_ = status
	}
	sd, err := h.unseal("login", instanceID, r.PostFormValue("ceremony"))
	if err != nil {
		fail(http.StatusBadRequest)
		return
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader([]byte(r.PostFormValue("credential"))))
	if err != nil {
		fail(http.StatusBadRequest)
		return
	}
	rp, err := h.relyingParty(r)
	if err != nil {
		fail(http.StatusServiceUnavailable)
		return
	}
	var found *mfa.WebAuthnUser
	cred, err := rp.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		u, err := h.o.Factors.WebAuthnUserByHandle(ctx, instanceID, userHandle)
		if err != nil {
			return nil, err
		}
		found = u
		return webAuthnUser{u}, nil
	}, *sd, parsed)
	if err != nil || found == nil || found.User.State != iam.UserActive {
		fail(http.StatusUnauthorized)
		return
	}
	for _, c := range found.Credentials {
		if bytes.Equal(c.CredentialID, cred.ID) {
			_ = h.o.Factors.RecordWebAuthnUse(ctx, instanceID, found.User.ID, c.ID, cred.Authenticator.SignCount, cred.Flags.BackupState)
		}
	}
	tok := cookieToken(r)
	if tok == "" || h.currentSession(r, instanceID, pol.Login) == nil {
		if tok, err = h.newSession(r, instanceID, pol.Login); err != nil {
			fail(http.StatusServiceUnavailable)
			return
		}
	}
	sess, next, err := h.o.Sessions.MarkMFAVerified(ctx, instanceID, tok, found.User, iam.AMRHardwareKey, iam.AMRMultiFactor)
	if err != nil {
		fail(http.StatusServiceUnavailable)
		return
	}
	h.setCookie(w, next, sess.ExpiresAt)
	h.finish(w, r, p, instanceID, authRequestID, found.User, sess.AMR, sess.AuthTime(), true)
}

// passkeys lets a signed-in user add a passkey (GET: the ceremony; POST:
// its result).
func (h *Handler) passkeys(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in := reqctx.Instance(ctx)
	m := pick(r)
	p := &page{m: m, Title: m.T("passkey.add_title"), Action: PathPasskeys}
	pol := h.policies(ctx, in.ID)
	sess := h.currentSession(r, in.ID, pol.Login)
	if !h.passkeysEnabled() || !pol.Login.AllowPasskeys || sess == nil || !(sess.PasswordVerified() || sess.MFAVerified()) {
		p.body, p.Error = "message", m.T("passkey.sign_in_first")
		h.render(w, r, http.StatusUnauthorized, p)
		return
	}
	u, err := h.o.Factors.WebAuthnUser(ctx, in.ID, sess.UserID)
	if err != nil {
		p.body, p.Error = "message", m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	rp, err := h.relyingParty(r)
	if err != nil {
		p.body, p.Error = "message", m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	if r.Method == http.MethodPost {
		sd, err := h.unseal("register:"+sess.UserID, in.ID, r.PostFormValue("ceremony"))
		var cred *webauthn.Credential
		if err == nil {
			var parsed *protocol.ParsedCredentialCreationData
			parsed, err = protocol.ParseCredentialCreationResponseBody(bytes.NewReader([]byte(r.PostFormValue("credential"))))
			if err == nil {
				cred, err = rp.CreateCredential(webAuthnUser{u}, *sd, parsed)
			}
		}
		if err == nil {
			transports := make([]string, len(cred.Transport))
			for i, t := range cred.Transport {
				transports[i] = string(t)
			}
			_, err = h.o.Factors.AddWebAuthnCredential(ctx, sess.UserID, mfa.Ref{InstanceID: in.ID, ID: sess.UserID}, &iam.WebAuthnCredential{
				CredentialID: cred.ID, PublicKey: cred.PublicKey, AttestationType: cred.AttestationType, AAGUID: cred.Authenticator.AAGUID,
				SignCount: cred.Authenticator.SignCount, Transports: transports, Attachment: string(cred.Authenticator.Attachment),
				UserPresent: cred.Flags.UserPresent, UserVerified: cred.Flags.UserVerified,
				BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
				Name: passkeyName(r.UserAgent()),
			})
		}
		if err == nil {
			h.render(w, r, http.StatusOK, &page{m: m, body: "message", Title: m.T("passkey.add_title"), Message: m.T("passkey.added")})
			return
		}
		if isFault(err) {
			p.body, p.Error = "message", m.T("error.unavailable")
			h.render(w, r, http.StatusServiceUnavailable, p)
			return
		}
		p.Error = m.T("passkey.failed")
	}
	opts, sd, err := rp.BeginRegistration(webAuthnUser{u}, webauthn.WithExclusions(webauthn.Credentials(webAuthnUser{u}.WebAuthnCredentials()).CredentialDescriptors()))
	var sealed string
	if err == nil {
		sealed, err = h.seal("register:"+sess.UserID, in.ID, sd)
	}
	if err != nil {
		p.body, p.Error = "message", m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	p.Message = m.T("passkey.add_intro")
	h.renderCeremony(w, r, p, opts, sealed, "create", "passkey_register", m.T("passkey.add"), "")
}

// passkeyName names a new passkey after the browser it was made in.
func passkeyName(ua string) string {
	for _, n := range []string{"Edg", "Firefox", "Chrome", "Safari"} {
		if strings.Contains(ua, n+"/") {
			if n == "Edg" {
				n = "Edge"
			}
			return "Passkey (" + n + ")"
		}
	}
	return mfa.DefaultWebAuthnName
}

// webAuthnSecondStep asks a user who proved their password for one of
// their passkeys (WebAuthn as the second factor).
func (h *Handler) webAuthnSecondStep(w http.ResponseWriter, r *http.Request, p *page, instanceID string, u *iam.User) {
	wu, err := h.o.Factors.WebAuthnUser(r.Context(), instanceID, u.ID)
	var rp *webauthn.WebAuthn
	if err == nil {
		rp, err = h.relyingParty(r)
	}
	var opts *protocol.CredentialAssertion
	var sd *webauthn.SessionData
	if err == nil {
		opts, sd, err = rp.BeginLogin(webAuthnUser{wu})
	}
	var sealed string
	if err == nil {
		sealed, err = h.seal("2fa:"+u.ID, instanceID, sd)
	}
	if err != nil {
		p.body, p.Error = "message", p.m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	p.Title, p.Message = p.m.T("mfa.title"), p.m.T("passkey.second_step")
	h.renderCeremony(w, r, p, opts, sealed, "get", "webauthn_2fa", p.m.T("passkey.use"), "")
}

// finishWebAuthnSecondStep verifies the assertion of the second step
// against the session's user and marks the session multi-factor.
func (h *Handler) finishWebAuthnSecondStep(w http.ResponseWriter, r *http.Request, p *page, instanceID, authRequestID string, pol *iam.Policies) {
	ctx := r.Context()
	sess := h.currentSession(r, instanceID, pol.Login)
	if sess == nil || !sess.PasswordVerified() {
		p.body, p.Error = "login_name", p.m.T("session.ended")
		h.render(w, r, http.StatusUnauthorized, p)
		return
	}
	wu, err := h.o.Factors.WebAuthnUser(ctx, instanceID, sess.UserID)
	if err != nil || wu.User.State != iam.UserActive {
		p.body, p.Error = "login_name", p.m.T("session.ended")
		h.render(w, r, http.StatusUnauthorized, p)
		return
	}
	retry := func() {
		_, _, _ = h.o.Users.RecordFailedLogin(ctx, instanceID, wu.User.ID, iam.FailureOTP, pol.Lockout.MaxOTPAttempts)
		p.Error = p.m.T("passkey.failed")
		h.webAuthnSecondStep(w, r, p, instanceID, wu.User)
	}
	sd, err := h.unseal("2fa:"+wu.User.ID, instanceID, r.PostFormValue("ceremony"))
	if err != nil {
		retry()
		return
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader([]byte(r.PostFormValue("credential"))))
	if err != nil {
		retry()
		return
	}
	rp, err := h.relyingParty(r)
	if err != nil {
		retry()
		return
	}
	cred, err := rp.ValidateLogin(webAuthnUser{wu}, *sd, parsed)
	if err != nil {
		retry()
		return
	}
	for _, c := range wu.Credentials {
		if bytes.Equal(c.CredentialID, cred.ID) {
			_ = h.o.Factors.RecordWebAuthnUse(ctx, instanceID, wu.User.ID, c.ID, cred.Authenticator.SignCount, cred.Flags.BackupState)
		}
	}
	_ = h.o.Users.ResetFailedLogins(ctx, instanceID, wu.User.ID, iam.FailureOTP)
	sess, next, err := h.o.Sessions.MarkMFAVerified(ctx, instanceID, cookieToken(r), wu.User, iam.AMRHardwareKey)
	if err != nil {
		p.body, p.Error = "message", p.m.T("error.unavailable")
		h.render(w, r, http.StatusServiceUnavailable, p)
		return
	}
	h.setCookie(w, next, sess.ExpiresAt)
	h.rememberDevice(w, r, instanceID, wu.User)
	h.finishAfterMFA(w, r, p, instanceID, authRequestID, wu.User, sess)
}
