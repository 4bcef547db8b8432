package oidc_test

import (
	"context"
	"encoding/json"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/rampartiam/rampart/internal/mfa"
	"golang.org/x/oauth2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	rcrypto "github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/login"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/user"
)

// mailbox is a mail.Enqueuer that keeps the queued messages, decrypted,
// instead of inserting jobs.
type mailbox struct {
	kr   *rcrypto.Keyring
	mu   sync.Mutex
	msgs []queuedMail
}

// queuedMail is one message as the mail job would send it.
type queuedMail struct {
	To, Kind string
	Data     map[string]string
}

// Enqueue implements mail.Enqueuer: it reads the job's arguments as the
// mail worker would.
func (b *mailbox) Enqueue(_ context.Context, _ store.Queries, args river.JobArgs, _ *river.InsertOpts) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	var a struct {
		InstanceID string `json:"instance_id"`
		MessageID  string `json:"message_id"`
		To         string `json:"to"`
		Kind       string `json:"kind"`
		Data       []byte `json:"data"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	m := queuedMail{To: a.To, Kind: a.Kind, Data: map[string]string{}}
	if len(a.Data) > 0 {
		plain, err := b.kr.Decrypt(a.Data, []byte("mail:"+a.InstanceID+":"+a.MessageID))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(plain, &m.Data); err != nil {
			return err
		}
	}
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	return nil
}

// find returns the messages of kind to the address.
func (b *mailbox) find(to string, kind mail.Kind) []queuedMail {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []queuedMail
	for _, m := range b.msgs {
		if m.To == to && m.Kind == string(kind) {
			out = append(out, m)
		}
	}
	return out
}

// newMailer returns the login pages' mail.Service: nil unless on, else
// one queueing into h.mailbox.
func (h *harness) newMailer(t testing.TB, s store.Store, kr *rcrypto.Keyring, on bool) *mail.Service {
	t.Helper()
	if !on {
		return nil
	}
	h.mailbox = &mailbox{kr: kr}
	m, err := mail.New(s, mail.Options{Keyring: kr, Enqueuer: h.mailbox})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// startLogin begins an authorization request of the web app and returns
// its ID.
func (w *world) startLogin(t *testing.T) string {
	t.Helper()
	r := w.h.get(t, w.oauth2Config(t, w.web, webRedirect, "openid").AuthCodeURL("st"), nil)
	return r.location(t, w.issuer).Query().Get("authRequestID")
}

// onlyMail returns the one message of kind to the address.
func onlyMail(t *testing.T, h *harness, to string, kind mail.Kind) queuedMail {
	t.Helper()
	got := h.mailbox.find(to, kind)
	if len(got) != 1 {
		t.Fatalf("%d %s messages to %s, want 1", len(got), kind, to)
	}
	return got[0]
}

// sessionCookie returns the login session cookie a response set.
func sessionCookie(t *testing.T, r *response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == login.CookieName && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no session cookie (status %d)", r.status)
	return nil
}

// TestAccountPages drives self-registration, e-mail verification and
// password reset through the hosted login on both backends.
func TestAccountPages(t *testing.T) {
	t.Parallel()
	o := harnessOptions{mail: true, policies: func(p *iam.Policies) { p.Login.AllowRegistration = true }}
	forEachBackend(t, o, func(t *testing.T, h *harness) {
		w := h.seed(t, "A", "tenant-a.test", true)
		t.Run("Register", func(t *testing.T) {
			t.Parallel()
			testRegister(t, w)
		})
		t.Run("PasswordReset", func(t *testing.T) {
			t.Parallel()
			testPasswordReset(t, w)
		})
	})
}

func testRegister(t *testing.T, w *world) {
	h, ctx := w.h, t.Context()
	id := w.startLogin(t)
	if r := h.get(t, w.issuer+login.PathLogin+"?authRequestID="+id, nil); !strings.Contains(string(r.body), login.PathRegister+"?authRequestID="+id) {
		t.Fatalf("login page without registration link: %s", r.body)
	}
	if r := h.get(t, w.issuer+login.PathRegister+"?authRequestID="+id, nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `name="given_name"`) {
		t.Fatalf("registration page: %d %s", r.status, r.body)
	}
	form := func(loginName, pw, confirm string) url.Values {
		return url.Values{"authRequestID": {id}, "login_name": {loginName}, "email": {loginName + "@example.com"},
			"given_name": {"New"}, "family_name": {"Person"}, "new_password": {pw}, "confirm_password": {confirm}}
	}
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		text   string
	}{
		{"Mismatch", form("newbie", password, password+"x"), http.StatusBadRequest, "passwords differ"},
		{"Weak", form("newbie", "short", "short"), http.StatusBadRequest, "at least"},
		{"Missing", url.Values{"authRequestID": {id}, "login_name": {"newbie"}}, http.StatusBadRequest, "Fill in every field"},
		{"Taken", form("ALICE", password, password), http.StatusConflict, "login name is taken"},
		{"UnknownRequest", func() url.Values { f := form("newbie", password, password); f.Set("authRequestID", "nope"); return f }(), http.StatusBadRequest, "invalid or has expired"},
	} {
		r := h.post(t, w.issuer+login.PathRegister, c.form, w.sameOrigin())
		if r.status != c.status || !strings.Contains(string(r.body), c.text) {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	if u, err := h.s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: w.in.ID, LoginName: "newbie"}); err == nil {
		t.Fatalf("a refused registration created %+v", u)
	}
	if r := h.post(t, w.issuer+login.PathRegister, form("newbie", password, password), http.Header{"Origin": {"http://evil.test"}}); r.status != http.StatusForbidden {
		t.Errorf("cross-origin registration: %d", r.status)
	}

	r := h.post(t, w.issuer+login.PathRegister, form("newbie", password, password), w.sameOrigin())
	if r.status != http.StatusSeeOther {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	sessionCookie(t, r)
	u, err := h.s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: w.in.ID, LoginName: "newbie"})
	if err != nil {
		t.Fatal(err)
	}
	if u.OrgID != w.org.ID || u.Human.Email != "newbie@example.com" || u.Human.EmailVerified || u.State != iam.UserActive {
		t.Fatalf("registered user %+v %+v", u, u.Human)
	}
	m := onlyMail(t, h, "newbie@example.com", mail.KindVerifyEmail)
	link, err := url.Parse(m.Data["link"])
	if err != nil || link.Path != login.PathVerifyEmail || m.Data["code"] == "" || link.Query().Get("token") != m.Data["code"] {
		t.Fatalf("verification message %+v", m)
	}

	if r := h.get(t, link.String()+"x", nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "invalid") || !strings.Contains(string(r.body), login.PathResendVerification) {
		t.Errorf("wrong token: %d %s", r.status, r.body)
	}
	// A new message: the same answer for unknown names and verified
	// users (nothing sent to them), and the old link stops working.
	sent := func(name string) {
		t.Helper()
		r := h.post(t, w.issuer+login.PathResendVerification, url.Values{"login_name": {name}}, w.sameOrigin())
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "we have sent it a new code") {
			t.Fatalf("resend for %s: %d %s", name, r.status, r.body)
		}
	}
	sent("nobody-here")
	sent("alice")
	if got := h.mailbox.find(w.alice.Human.Email, mail.KindVerifyEmail); len(got) != 0 {
		t.Fatalf("a verified user got %d verification messages", len(got))
	}
	if r := h.post(t, w.issuer+login.PathResendVerification, url.Values{"login_name": {"newbie"}}, http.Header{"Origin": {"http://evil.test"}}); r.status != http.StatusForbidden {
		t.Errorf("cross-origin resend: %d", r.status)
	}
	sent("newbie")
	all := h.mailbox.find("newbie@example.com", mail.KindVerifyEmail)
	if len(all) != 2 || all[1].Data["code"] == m.Data["code"] {
		t.Fatalf("verification messages after a resend: %+v", all)
	}
	if r := h.get(t, link.String(), nil); r.status != http.StatusBadRequest {
		t.Errorf("the first link after a resend: %d %s", r.status, r.body)
	}
	m = all[1]
	if link, err = url.Parse(m.Data["link"]); err != nil {
		t.Fatal(err)
	}
	if r := h.get(t, link.String(), nil); r.status != http.StatusOK || !strings.Contains(string(r.body), "is verified") {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	if u, _ := h.users.Get(ctx, user.Ref{InstanceID: w.in.ID, ID: u.ID}); !u.Human.EmailVerified {
		t.Fatal("e-mail not verified")
	}
	if r := h.post(t, w.issuer+login.PathVerifyEmail, url.Values{"token": {m.Data["code"]}}, w.sameOrigin()); r.status != http.StatusBadRequest {
		t.Errorf("token used twice: %d %s", r.status, r.body)
	}
}

func testPasswordReset(t *testing.T, w *world) {
	h, ctx := w.h, t.Context()
	rita := check[*iam.User](t)(h.users.CreateHuman(ctx, iam.SystemActor, &user.NewHuman{
		InstanceID: w.in.ID, OrgID: w.org.ID, LoginName: "rita", Password: password,
		Profile: iam.HumanProfile{Email: "rita@example.com", GivenName: "Rita", FamilyName: "Example"},
	}))
	// Rita is signed in in a browser.
	id := w.startLogin(t)
	if r := h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"rita"}}, w.sameOrigin()); !strings.Contains(string(r.body), login.PathForgotPassword) {
		t.Fatalf("password step without reset link: %s", r.body)
	}
	r := h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"rita"}, "password": {password}}, w.sameOrigin())
	if r.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	cookie := sessionCookie(t, r)

	// The same answer for everyone; mail only for rita.
	for _, name := range []string{"nobody", "svc", "rita"} {
		r := h.post(t, w.issuer+login.PathForgotPassword, url.Values{"login_name": {name}}, w.sameOrigin())
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "If an account with this login name exists") {
			t.Errorf("forgot %s: %d %s", name, r.status, r.body)
		}
	}
	m := onlyMail(t, h, "rita@example.com", mail.KindPasswordReset)
	link, err := url.Parse(m.Data["link"])
	if err != nil || link.Path != login.PathResetPassword {
		t.Fatalf("reset message %+v", m)
	}
	token := link.Query().Get("token")

	if r := h.get(t, w.issuer+login.PathResetPassword+"?token=nope", nil); r.status != http.StatusBadRequest {
		t.Errorf("unknown token: %d %s", r.status, r.body)
	}
	if r := h.get(t, link.String(), nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `name="new_password"`) {
		t.Fatalf("reset form: %d %s", r.status, r.body)
	}
	const newPassword = "a brand new passphrase"
	reset := func(pw, confirm string) *response {
		return h.post(t, w.issuer+login.PathResetPassword, url.Values{"token": {token}, "new_password": {pw}, "confirm_password": {confirm}}, w.sameOrigin())
	}
	if r := reset(newPassword, "other"); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "passwords differ") {
		t.Errorf("mismatch: %d %s", r.status, r.body)
	}
	if r := reset("short", "short"); r.status != http.StatusBadRequest {
		t.Errorf("weak: %d %s", r.status, r.body)
	}
	if r := reset(newPassword, newPassword); r.status != http.StatusOK || !strings.Contains(string(r.body), "password was changed") {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	onlyMail(t, h, "rita@example.com", mail.KindPasswordChanged)
	if r := reset(newPassword+"2", newPassword+"2"); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "invalid") {
		t.Errorf("token used twice: %d %s", r.status, r.body)
	}
	if _, err := h.users.CheckPassword(ctx, w.in.ID, rita.LoginName, newPassword); err != nil {
		t.Errorf("new password: %v", err)
	}
	// The browser's session ended: a new sign-in asks again.
	id = w.startLogin(t)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.issuer+login.PathLogin+"?authRequestID="+id, nil)
	req.AddCookie(cookie)
	if r := do(t, h.client, req); r.status != http.StatusOK {
		t.Errorf("session survived the reset: %d", r.status)
	}
}

// TestAccountPagesOff checks the pages of an instance whose policy does
// not allow registration, on a node that cannot send e-mail.
func TestAccountPagesOff(t *testing.T) {
	t.Parallel()
	forEachBackend(t, harnessOptions{}, func(t *testing.T, h *harness) {
		w := h.seed(t, "A", "tenant-a.test", true)
		id := w.startLogin(t)
		if r := h.get(t, w.issuer+login.PathRegister+"?authRequestID="+id, nil); r.status != http.StatusNotFound || !strings.Contains(string(r.body), "cannot create an account") {
			t.Errorf("registration: %d %s", r.status, r.body)
		}
		if r := h.get(t, w.issuer+login.PathLogin+"?authRequestID="+id, nil); strings.Contains(string(r.body), login.PathRegister) {
			t.Error("login page links to the registration")
		}
		if r := h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"alice"}}, w.sameOrigin()); strings.Contains(string(r.body), login.PathForgotPassword) {
			t.Error("password step links to the reset without e-mail")
		}
		if r := h.post(t, w.issuer+login.PathForgotPassword, url.Values{"login_name": {"alice"}}, w.sameOrigin()); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "E-mail cannot be sent") {
			t.Errorf("forgot password: %d %s", r.status, r.body)
		}
	})
}

// TestOrgPolicyOverride: once the user is known, their organization's
// login policy decides the second step — here it forces one, while the
// instance's does not, so the user must enrol TOTP.
func TestOrgPolicyOverride(t *testing.T) {
	t.Parallel()
	o := harnessOptions{orgPolicies: func(p *iam.Policies) { p.Login.ForceMFA = true }}
	forEachBackend(t, o, func(t *testing.T, h *harness) {
		w := h.seed(t, "A", "tenant-a.test", true)
		id := w.startLogin(t)
		r := h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"alice"}, "password": {password}}, w.sameOrigin())
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `value="totp_confirm"`) {
			t.Fatalf("password of a user whose organization forces MFA: %d %s", r.status, r.body)
		}
	})
}

// TestOrgLockoutOverride: the password step does not know the user's
// organization before it looks the login name up, yet the organization's
// lockout maximum (2 here, the instance's is 10) is the one that locks.
func TestOrgLockoutOverride(t *testing.T) {
	t.Parallel()
	o := harnessOptions{orgPolicies: func(p *iam.Policies) { p.Lockout.MaxPasswordAttempts = 2 }}
	forEachBackend(t, o, func(t *testing.T, h *harness) {
		w := h.seed(t, "A", "tenant-a.test", true)
		try := func(pw string) int {
			return h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {w.startLogin(t)}, "login_name": {"alice"}, "password": {pw}}, w.sameOrigin()).status
		}
		for range 2 {
			if st := try("wrong password!"); st != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", st)
			}
		}
		if st := try(password); st != http.StatusUnauthorized {
			t.Fatalf("right password after the organization's maximum of wrong ones: %d, want 401 (locked)", st)
		}
	})
}

// TestEmailCodeSecondStep: where the organization's policy forces a second
// factor that may only be an e-mail code, a user with a verified address
// gets a code by mail after the password; a wrong code fails, the mailed
// one signs in.
func TestEmailCodeSecondStep(t *testing.T) {
	t.Parallel()
	o := harnessOptions{mail: true, orgPolicies: func(p *iam.Policies) {
		p.Login.ForceMFA = true
		p.Login.AllowedSecondFactors = []iam.SecondFactor{iam.SecondFactorEmailOTP}
	}}
	forEachBackend(t, o, func(t *testing.T, h *harness) {
		w := h.seed(t, "A", "tenant-a.test", true)
		id := w.startLogin(t)
		r := h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"alice"}, "password": {password}}, w.sameOrigin())
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `value="email_otp"`) {
			t.Fatalf("password of a user who must enter an e-mail code: %d %s", r.status, r.body)
		}
		hd := w.sameOrigin()
		hd.Set("Cookie", login.CookieName+"="+sessionCookie(t, r).Value)
		code := onlyMail(t, h, "alice@example.com", mail.KindOTP).Data["code"]
		if len(code) != 6 {
			t.Fatalf("mailed code %q", code)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		step := func(c string) *response {
			return h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "step": {"email_otp"}, "code": {c}}, hd)
		}
		if r := step(wrong); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong e-mail code: %d", r.status)
		}
		if r := step(code); r.status != http.StatusSeeOther {
			t.Fatalf("mailed code: %d %s", r.status, r.body)
		}
	})
}

// TestRememberDevice: with the policy's MFARememberDevice, a browser that
// passed the second step skips it at the next password sign-in of that
// user — and only of that user; other browsers still get it.
func TestRememberDevice(t *testing.T) {
	t.Parallel()
	o := harnessOptions{orgPolicies: func(p *iam.Policies) { p.Login.MFARememberDevice = 24 * time.Hour }}
	forEachBackend(t, o, func(t *testing.T, h *harness) {
		w := h.seed(t, "A", "tenant-a.test", true)
		ctx := t.Context()
		ref := mfa.Ref{InstanceID: w.in.ID, ID: w.alice.ID}
		en, err := h.factors.BeginTOTP(ctx, ref, "Test")
		if err != nil {
			t.Fatal(err)
		}
		code := func(at time.Time) string {
			c, err := totp.GenerateCodeCustom(en.Secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if _, err := h.factors.ConfirmTOTP(ctx, w.alice.ID, ref, code(time.Now())); err != nil {
			t.Fatal(err)
		}
		password := func(cookies ...string) *response {
			hd := w.sameOrigin()
			if len(cookies) > 0 {
				hd.Set("Cookie", strings.Join(cookies, "; "))
			}
			return h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {w.startLogin(t)}, "login_name": {"alice"}, "password": {password}}, hd)
		}
		r := password()
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `value="totp"`) {
			t.Fatalf("first sign-in: %d", r.status)
		}
		sess := sessionCookie(t, r)
		hd := w.sameOrigin()
		hd.Set("Cookie", sess.Name+"="+sess.Value)
		r = h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {w.startLogin(t)}, "step": {"totp"}, "code": {code(time.Now().Add(30 * time.Second))}}, hd)
		var device *http.Cookie
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == "rampart_mfa_device" {
				device = c
			}
		}
		if r.status != http.StatusSeeOther || device == nil || !device.HttpOnly {
			t.Fatalf("second step: %d, device cookie %+v", r.status, device)
		}
		// The remembered browser: the password is enough.
		if r := password(device.Name + "=" + device.Value); r.status != http.StatusSeeOther {
			t.Fatalf("remembered browser: %d %s", r.status, r.body)
		}
		// Another browser, or a forged cookie: the code again.
		if r := password(device.Name + "=forged"); r.status != http.StatusOK || !strings.Contains(string(r.body), `value="totp"`) {
			t.Fatalf("forged device cookie: %d", r.status)
		}
	})
}

// TestConsent: a client that sends prompt=consent gets the user's answer
// for the scopes it asked for; a refusal reaches the client as
// access_denied with its state, and no code.
func TestConsent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, harnessOptions{}, func(t *testing.T, h *harness) {
		w := h.seed(t, "A", "tenant-a.test", true)
		start := func(state string) string {
			r := h.get(t, w.oauth2Config(t, w.web, webRedirect, "openid", "email").AuthCodeURL(state, oauth2.SetAuthURLParam("prompt", "consent")), nil)
			return r.location(t, w.issuer).Query().Get("authRequestID")
		}
		id := start("st-1")
		r := h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"alice"}, "password": {password}}, w.sameOrigin())
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `value="consent"`) || !strings.Contains(string(r.body), "e-mail address") {
			t.Fatalf("consent page: %d %s", r.status, r.body)
		}
		hd := w.sameOrigin()
		hd.Set("Cookie", login.CookieName+"="+sessionCookie(t, r).Value)
		// Without the session the answer is refused.
		if r := h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "step": {"consent"}, "decision": {"allow"}}, w.sameOrigin()); r.status != http.StatusUnauthorized {
			t.Fatalf("consent without a session: %d", r.status)
		}
		r = h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "step": {"consent"}, "decision": {"allow"}}, hd)
		if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "/oauth/authorize/callback") {
			t.Fatalf("allow: %d %v", r.status, r.header)
		}
		// With the session, the next request asks again (prompt=consent),
		// and a refusal goes back to the client.
		id = start("st-2")
		if r := h.get(t, w.issuer+login.PathLogin+"?authRequestID="+id, hd); r.status != http.StatusOK || !strings.Contains(string(r.body), `value="consent"`) {
			t.Fatalf("consent again: %d %s", r.status, r.body)
		}
		r = h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "step": {"consent"}, "decision": {"deny"}}, hd)
		loc, err := url.Parse(r.header.Get("Location"))
		if r.status != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), webRedirect) ||
			loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st-2" || loc.Query().Get("code") != "" {
			t.Fatalf("deny: %d %v", r.status, r.header.Get("Location"))
		}
	})
}

// TestAppConsentRequired: an application that requires consent gets the
// user's approval once per set of scopes. The first login asks; the next
// one (single sign-on) does not; a request with a scope not approved yet
// asks again, and the answer adds to the approval; a revoked consent asks
// again; prompt=none never reaches the page.
func TestAppConsentRequired(t *testing.T) {
	t.Parallel()
	forEachBackend(t, harnessOptions{}, func(t *testing.T, h *harness) {
		w := h.seed(t, "A", "tenant-a.test", true)
		ctx := t.Context()
		changed := *w.web.Application
		changed.ConsentRequired = true
		updated, err := h.projects.UpdateApplication(ctx, iam.SystemActor, &changed)
		if err != nil || !updated.ConsentRequired {
			t.Fatalf("update application: %v", err)
		}
		start := func(state string, scopes ...string) string {
			r := h.get(t, w.oauth2Config(t, w.web, webRedirect, scopes...).AuthCodeURL(state), nil)
			return r.location(t, w.issuer).Query().Get("authRequestID")
		}
		code := func(t *testing.T, r *response) {
			t.Helper()
			if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "/oauth/authorize/callback") {
				t.Fatalf("want the callback: %d %v %s", r.status, r.header, r.body)
			}
		}
		consentPage := func(t *testing.T, r *response) {
			t.Helper()
			if r.status != http.StatusOK || !strings.Contains(string(r.body), `value="consent"`) {
				t.Fatalf("want the consent page: %d %s", r.status, r.body)
			}
		}

		id := start("st-1", "openid", "profile")
		r := h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "login_name": {"alice"}, "password": {password}}, w.sameOrigin())
		consentPage(t, r)
		hd := w.sameOrigin()
		hd.Set("Cookie", login.CookieName+"="+sessionCookie(t, r).Value)
		code(t, h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "step": {"consent"}, "decision": {"allow"}}, hd))

		// Single sign-on with the same scopes: no question.
		code(t, h.get(t, w.issuer+login.PathLogin+"?authRequestID="+start("st-2", "openid"), hd))
		// A new scope asks again; the approval adds to the old one.
		id = start("st-3", "openid", "email")
		consentPage(t, h.get(t, w.issuer+login.PathLogin+"?authRequestID="+id, hd))
		code(t, h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "step": {"consent"}, "decision": {"allow"}}, hd))
		code(t, h.get(t, w.issuer+login.PathLogin+"?authRequestID="+start("st-4", "openid", "profile", "email"), hd))

		// A refusal is not remembered as an approval, nor does it forget one.
		id = start("st-5", "openid", "offline_access")
		consentPage(t, h.get(t, w.issuer+login.PathLogin+"?authRequestID="+id, hd))
		r = h.post(t, w.issuer+login.PathLogin, url.Values{"authRequestID": {id}, "step": {"consent"}, "decision": {"deny"}}, hd)
		if loc := r.header.Get("Location"); r.status != http.StatusSeeOther || !strings.Contains(loc, "error=access_denied") {
			t.Fatalf("deny: %d %s", r.status, loc)
		}
		consentPage(t, h.get(t, w.issuer+login.PathLogin+"?authRequestID="+start("st-6", "openid", "offline_access"), hd))
		code(t, h.get(t, w.issuer+login.PathLogin+"?authRequestID="+start("st-7", "openid", "email"), hd))

		// Revoked: asked again.
		if n, err := h.sessions.RevokeConsent(ctx, iam.SystemActor, w.in.ID, w.alice.ID, ""); err != nil || n != 1 {
			t.Fatalf("revoke: %d %v", n, err)
		}
		consentPage(t, h.get(t, w.issuer+login.PathLogin+"?authRequestID="+start("st-8", "openid"), hd))
	})
}
