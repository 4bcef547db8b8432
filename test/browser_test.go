package test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"
)

// browser starts headless Chromium for one test, with a fresh profile and
// no outside network; .ci/run installs Debian's chromium.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		t.Fatal("no Chromium on PATH: install Debian's chromium (.ci/run does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// viewports are the widths every page is photographed at.
var viewports = []struct {
	name          string
	width, height int64
}{{"desktop", 1280, 800}, {"mobile", 390, 844}}

// shoot saves screenshots of the current page at desktop and mobile width
// under test/screenshots (ignored by git), for people to look at.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := filepath.Join("screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range viewports {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(v.width, v.height)); err != nil {
			t.Fatalf("viewport %s: %v", v.name, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%s.png", strings.ReplaceAll(t.Name(), "/", "-")+"-"+name, v.name))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_ = chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800))
}

// TestBrowserLogin drives the hosted login in real headless Chromium
// through an OIDC authorization request: the login-name step, a wrong
// password, the right one, the redirect to the relying party with a code
// that go-oidc exchanges and verifies. Pages are photographed at desktop
// and mobile width; German is served to a German browser.
func TestBrowserLogin(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backendEnv) {
		cb := newCallbackServer(t)
		initFile := renderOIDCInit(t, cb.URL)
		addr := freeAddr(t)
		n := startProc(t, append(b.env, "RAMPART_HTTP_ADDR="+addr), "start", "--init", initFile)
		n.addr = addr
		n.waitReady()
		rp := newRelyingParty(t, "http://"+addr, cb.URL)
		cfg := rp.webConfig()
		state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
		authURL := cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))

		ctx := browser(t)
		text := func(ctx context.Context, sel string) string {
			t.Helper()
			v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(v)
		}
		do := func(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatal(err)
			}
		}
		do(ctx, chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.ID("login_name")))
		if h := text(ctx, "h1"); h != "Sign in" {
			t.Fatalf("heading = %q", h)
		}
		shoot(t, ctx, "1-login-name")
		do(ctx,
			chromedp.SendKeys(chromedp.ID("login_name"), rpUser),
			chromedp.Submit(chromedp.ID("login_name")),
			chromedp.WaitVisible(chromedp.ID("password")),
		)
		shoot(t, ctx, "2-password")
		do(ctx,
			chromedp.SendKeys(chromedp.ID("password"), "wrong password"),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.CSS("[role=alert]")),
		)
		if alert := text(ctx, "[role=alert]"); !strings.Contains(alert, "wrong") {
			t.Fatalf("alert after a wrong password = %q", alert)
		}
		shoot(t, ctx, "3-wrong-password")
		do(ctx,
			chromedp.SendKeys(chromedp.ID("password"), rpPassword),
			chromedp.Submit(chromedp.ID("password")),
		)
		landed := awaitCallback(t, ctx, cb.URL)
		u, err := url.Parse(landed)
		if err != nil || !strings.HasPrefix(landed, cb.URL+"/callback") || u.Query().Get("state") != state || u.Query().Get("code") == "" {
			t.Fatalf("landed at %s", landed)
		}
		tok, err := cfg.Exchange(rp.ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := rp.provider.Verifier(&oidc.Config{ClientID: rpWebClient}).Verify(rp.ctx, idToken(t, tok))
		if err != nil || idt.Nonce != nonce {
			t.Fatalf("ID token: %v", err)
		}

		// The other pages, for the record, and German for a German request.
		for _, p := range []struct{ name, path, want string }{
			{"4-device", "/ui/device?user_code=BCDF-GHJK", "Connect a device"},
			{"5-logged-out", "/ui/logged-out", "Signed out"},
			{"6-expired-link", "/ui/login?authRequestID=nope", "Sign in"},
		} {
			do(ctx, chromedp.Navigate("http://"+addr+p.path), chromedp.WaitVisible(chromedp.CSS("h1")))
			if h := text(ctx, "h1"); h != p.want {
				t.Fatalf("%s: heading %q, want %q", p.path, h, p.want)
			}
			shoot(t, ctx, p.name)
		}
		// Single sign-on: the session cookie takes a new authorization
		// request straight back to the client, without a form.
		do(ctx, chromedp.Navigate(cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
		if sso, err := url.Parse(awaitCallback(t, ctx, cb.URL)); err != nil || sso.Query().Get("code") == "" {
			t.Fatalf("single sign-on landed at %v", sso)
		}
		do(ctx,
			chromedp.Navigate(cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
				oauth2.SetAuthURLParam("ui_locales", "de"), oauth2.SetAuthURLParam("prompt", "login"))),
			chromedp.WaitVisible(chromedp.ID("login_name")),
		)
		if h := text(ctx, "h1"); h != "Anmelden" {
			t.Fatalf("German heading = %q", h)
		}
		shoot(t, ctx, "7-login-name-de")

		// prompt=consent: the session signs in, the user is asked first.
		do(ctx,
			chromedp.Navigate(cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "consent"))),
			chromedp.WaitVisible(chromedp.CSS("ul.scopes")),
		)
		shoot(t, ctx, "8-consent")
		do(ctx, chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
		awaitCallback(t, ctx, cb.URL)

		// A user who must change the password gets that step first.
		do(ctx,
			chromedp.Navigate(cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "login"))),
			chromedp.WaitVisible(chromedp.ID("login_name")),
			chromedp.SendKeys(chromedp.ID("login_name"), "frank"),
			chromedp.Submit(chromedp.ID("login_name")),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("password"), "frank-initial-password-1"),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.ID("new_password")),
		)
		shoot(t, ctx, "9-change-password")
		do(ctx,
			chromedp.SendKeys(chromedp.ID("new_password"), "frank-chosen-password-2"),
			chromedp.SendKeys(chromedp.ID("confirm_password"), "frank-chosen-password-2"),
			chromedp.Submit(chromedp.ID("new_password")),
		)
		awaitCallback(t, ctx, cb.URL)
	})
}

// awaitCallback waits until the browser, following redirects, has reached
// the relying party's callback, and returns that URL (a read during a
// navigation fails and is retried).
func awaitCallback(t *testing.T, ctx context.Context, origin string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.HasPrefix(loc, origin+"/callback") {
			return loc
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser did not reach the callback: at %q (%v)", loc, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserTOTP: where the login policy forces a second step, a user
// without one enrols TOTP in the browser (QR code, key, confirmation code,
// recovery codes shown once) before reaching the client; a later login
// from a fresh browser asks for the code after the password.
func TestBrowserTOTP(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backendEnv) {
		cb := newCallbackServer(t)
		tmpl, err := os.ReadFile("testdata/mfa-init.yaml")
		if err != nil {
			t.Fatal(err)
		}
		initFile := filepath.Join(t.TempDir(), "mfa-init.yaml")
		if err := os.WriteFile(initFile, []byte(strings.ReplaceAll(string(tmpl), "${CALLBACK}", cb.URL)), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := freeAddr(t)
		n := startProc(t, append(b.env, "RAMPART_HTTP_ADDR="+addr), "start", "--init", initFile)
		n.addr = addr
		n.waitReady()
		p, err := oidc.NewProvider(oidc.ClientContext(t.Context(), http.DefaultClient), "http://"+addr)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &oauth2.Config{ClientID: "portal", ClientSecret: "rcs_test-only-portal-secret-0123456789abcdef",
			Endpoint: p.Endpoint(), RedirectURL: cb.URL + "/callback", Scopes: []string{oidc.ScopeOpenID}}
		code := func(secret string, at time.Time) string {
			c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		signIn := func(ctx context.Context) {
			t.Helper()
			steps := []chromedp.Action[chromedp.Void]{
				chromedp.Navigate(cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
				chromedp.WaitVisible(chromedp.ID("login_name")),
				chromedp.SendKeys(chromedp.ID("login_name"), "dave"),
				chromedp.Submit(chromedp.ID("login_name")),
				chromedp.WaitVisible(chromedp.ID("password")),
				chromedp.SendKeys(chromedp.ID("password"), "dave-test-password-1"),
				chromedp.Submit(chromedp.ID("password")),
				chromedp.WaitVisible(chromedp.ID("code")),
			}
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatal(err)
			}
		}

		ctx := browser(t)
		signIn(ctx)
		shoot(t, ctx, "1-enrol")
		secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".note code")))
		if err != nil || len(strings.TrimSpace(secret)) < 16 {
			t.Fatalf("key on the enrolment page = %q, %v", secret, err)
		}
		secret = strings.TrimSpace(secret)
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("code"), code(secret, time.Now())),
			chromedp.Submit(chromedp.ID("code")),
			chromedp.WaitVisible(chromedp.CSS(".codes")),
		); err != nil {
			t.Fatal(err)
		}
		shoot(t, ctx, "2-recovery-codes")
		if err := chromedp.Do(ctx, chromedp.Submit(chromedp.CSS("form"))); err != nil {
			t.Fatal(err)
		}
		awaitCallback(t, ctx, cb.URL)

		// A fresh browser: password, then the code of the next period (the
		// confirmation used this one's; a step is accepted once).
		other := browser(t)
		signIn(other)
		shoot(t, other, "3-code")
		if err := chromedp.Do(other,
			chromedp.SendKeys(chromedp.ID("code"), code(secret, time.Now().Add(30*time.Second))),
			chromedp.Submit(chromedp.ID("code")),
		); err != nil {
			t.Fatal(err)
		}
		awaitCallback(t, other, cb.URL)
	})
}

// TestBrowserPasskey: a signed-in user adds a passkey (Chrome's virtual
// authenticator through the DevTools WebAuthn domain: resident keys, user
// verification), signs out, and signs in again with the passkey alone: no
// login name, no password.
func TestBrowserPasskey(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backendEnv) {
		cb := newCallbackServer(t)
		initFile := renderOIDCInit(t, cb.URL)
		addr := freeAddr(t)
		n := startProc(t, append(b.env, "RAMPART_HTTP_ADDR="+addr), "start", "--init", initFile)
		n.addr = addr
		n.waitReady()
		// A WebAuthn relying party ID must be a domain name, not an IP.
		_, port, _ := strings.Cut(addr, ":")
		origin := "http://localhost:" + port
		rp := newRelyingParty(t, origin, cb.URL)
		cfg := rp.webConfig()

		ctx := browser(t)
		if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
			Options: &cdpwebauthn.VirtualAuthenticatorOptions{
				Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
				Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			},
		}); err != nil {
			t.Fatal(err)
		}
		do := func(steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatal(err)
			}
		}
		// Sign in with the password, then add a passkey.
		do(
			chromedp.Navigate(cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
			chromedp.WaitVisible(chromedp.ID("login_name")),
			chromedp.SendKeys(chromedp.ID("login_name"), rpUser),
			chromedp.Submit(chromedp.ID("login_name")),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("password"), rpPassword),
			chromedp.Submit(chromedp.ID("password")),
		)
		awaitCallback(t, ctx, cb.URL)
		do(chromedp.Navigate(origin+"/ui/passkeys"), chromedp.WaitVisible(chromedp.ID("webauthn")))
		shoot(t, ctx, "1-add-passkey")
		do(chromedp.Click(chromedp.ID("webauthn")))
		// The ceremony runs, then the form posts and the result page loads.
		for deadline := time.Now().Add(30 * time.Second); ; {
			msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.note")))
			if err == nil && strings.Contains(msg, "passkey was added") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after adding the passkey: %q, %v", msg, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		shoot(t, ctx, "2-passkey-added")

		// Sign out (RP-initiated logout ends the session), then back in with
		// the passkey alone.
		do(chromedp.Navigate(origin+"/oauth/end_session"), chromedp.WaitVisible(chromedp.CSS("h1")))
		state, verifier := rand.Text(), oauth2.GenerateVerifier()
		do(
			chromedp.Navigate(cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))),
			chromedp.WaitVisible(chromedp.ID("passkey")),
			chromedp.Click(chromedp.ID("passkey")),
			chromedp.WaitVisible(chromedp.ID("webauthn")),
		)
		shoot(t, ctx, "3-passkey-sign-in")
		do(chromedp.Click(chromedp.ID("webauthn")))
		landed, err := url.Parse(awaitCallback(t, ctx, cb.URL))
		if err != nil || landed.Query().Get("state") != state {
			t.Fatalf("passkey sign-in landed at %v", landed)
		}
		tok, err := cfg.Exchange(rp.ctx, landed.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := rp.provider.Verifier(&oidc.Config{ClientID: rpWebClient}).Verify(rp.ctx, idToken(t, tok))
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			AMR []string `json:"amr"`
		}
		if err := idt.Claims(&claims); err != nil || !slices.Contains(claims.AMR, "hwk") || slices.Contains(claims.AMR, "pwd") {
			t.Fatalf("amr of a passkey sign-in = %v (%v), want hwk without pwd", claims.AMR, err)
		}

		// With a passkey registered, a password sign-in asks for it as the
		// second factor.
		do(chromedp.Navigate(origin+"/oauth/end_session"), chromedp.WaitVisible(chromedp.CSS("h1")))
		state, verifier = rand.Text(), oauth2.GenerateVerifier()
		do(
			chromedp.Navigate(cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))),
			chromedp.WaitVisible(chromedp.ID("login_name")),
			chromedp.SendKeys(chromedp.ID("login_name"), rpUser),
			chromedp.Submit(chromedp.ID("login_name")),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("password"), rpPassword),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.ID("webauthn")),
		)
		shoot(t, ctx, "4-passkey-second-step")
		do(chromedp.Click(chromedp.ID("webauthn")))
		landed, err = url.Parse(awaitCallback(t, ctx, cb.URL))
		if err != nil || landed.Query().Get("state") != state {
			t.Fatalf("second-step sign-in landed at %v", landed)
		}
		tok, err = cfg.Exchange(rp.ctx, landed.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if idt, err = rp.provider.Verifier(&oidc.Config{ClientID: rpWebClient}).Verify(rp.ctx, idToken(t, tok)); err != nil {
			t.Fatal(err)
		}
		if err := idt.Claims(&claims); err != nil || !slices.Contains(claims.AMR, "pwd") || !slices.Contains(claims.AMR, "hwk") || !slices.Contains(claims.AMR, "mfa") {
			t.Fatalf("amr of password + passkey = %v (%v), want pwd, hwk, mfa", claims.AMR, err)
		}
	})
}

// TestBrowserAccount walks the self-service of the hosted login in
// headless Chromium against a real binary that mails through a real SMTP
// server in the test: create an account from the sign-in page, verify the
// e-mail address with the link from the message, reset the forgotten
// password by e-mail, sign in with the new one, and get locked out after
// the policy's three wrong passwords (then even the right one fails, with
// the same message).
func TestBrowserAccount(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backendEnv) {
		cb := newCallbackServer(t)
		mb := newMailbox(t)
		tmpl, err := os.ReadFile("testdata/account-init.yaml")
		if err != nil {
			t.Fatal(err)
		}
		initFile := filepath.Join(t.TempDir(), "account-init.yaml")
		if err := os.WriteFile(initFile, []byte(strings.ReplaceAll(string(tmpl), "${CALLBACK}", cb.URL)), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := freeAddr(t)
		_, port, _ := strings.Cut(addr, ":")
		origin := "http://localhost:" + port
		n := startProc(t, append(append(b.env, mb.env()...), "RAMPART_HTTP_ADDR="+addr, "RAMPART_EXTERNAL_URL="+origin), "start", "--init", initFile)
		n.addr = addr
		n.waitReady()
		p, err := oidc.NewProvider(oidc.ClientContext(t.Context(), http.DefaultClient), origin)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &oauth2.Config{ClientID: "shop", ClientSecret: "rcs_test-only-shop-secret-0123456789abcdef",
			Endpoint: p.Endpoint(), RedirectURL: cb.URL + "/callback", Scopes: []string{oidc.ScopeOpenID}}
		authURL := func() string {
			return cfg.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "login"))
		}
		ctx := browser(t)
		do := func(steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatal(err)
			}
		}
		waitText := func(sel, want string) {
			t.Helper()
			for deadline := time.Now().Add(30 * time.Second); ; {
				got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
				if err == nil && strings.Contains(got, want) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %q, want %q (%v)", sel, got, want, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		const login, email, first, second = "erin", "erin@shop.example", "erin-first-password-1", "erin-second-password-2"

		// Register from the sign-in page.
		do(chromedp.Navigate(authURL()), chromedp.WaitVisible(chromedp.CSS(`a[href^="/ui/register"]`)), chromedp.Click(chromedp.CSS(`a[href^="/ui/register"]`)),
			chromedp.WaitVisible(chromedp.ID("email")))
		shoot(t, ctx, "1-register")
		do(
			chromedp.SendKeys(chromedp.ID("login_name"), login),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("given_name"), "Erin"),
			chromedp.SendKeys(chromedp.ID("family_name"), "Example"),
			chromedp.SendKeys(chromedp.ID("new_password"), first),
			chromedp.SendKeys(chromedp.ID("confirm_password"), first),
			chromedp.Submit(chromedp.ID("email")),
		)
		// The application requires consent: asked once, remembered for
		// the sign-ins below.
		do(chromedp.WaitVisible(chromedp.CSS("ul.scopes")))
		shoot(t, ctx, "1b-consent-required")
		do(chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
		awaitCallback(t, ctx, cb.URL)

		// The first message's link is replaced by a new one the user asks
		// for on the verification page; the old link fails.
		oldLink := mb.link(t, email, "/ui/verify-email")
		do(chromedp.Navigate("http://localhost:"+port+"/ui/verify-email"), chromedp.WaitVisible(chromedp.ID("token")))
		shoot(t, ctx, "2a-verify-email-code")
		do(chromedp.Click(chromedp.CSS(`a[href="/ui/verify-email/resend"]`)), chromedp.WaitVisible(chromedp.ID("login_name")))
		shoot(t, ctx, "2b-resend-verification")
		do(chromedp.SendKeys(chromedp.ID("login_name"), login), chromedp.Submit(chromedp.ID("login_name")))
		waitText("main", "If an account with this login name has an e-mail address")
		do(chromedp.Navigate(oldLink))
		waitText("[role=alert]", "invalid")
		shoot(t, ctx, "2c-invalid-link")

		// Verify the address with the link from the new message.
		do(chromedp.Navigate(mb.link(t, email, "/ui/verify-email")))
		waitText("main", "verified")
		shoot(t, ctx, "2-email-verified")

		// Forgot password: the message's link sets a new one.
		do(chromedp.Navigate(authURL()), chromedp.WaitVisible(chromedp.ID("login_name")),
			chromedp.SendKeys(chromedp.ID("login_name"), login), chromedp.Submit(chromedp.ID("login_name")),
			chromedp.WaitVisible(chromedp.CSS(`a[href^="/ui/forgot-password"]`)), chromedp.Click(chromedp.CSS(`a[href^="/ui/forgot-password"]`)),
			chromedp.WaitVisible(chromedp.ID("login_name")))
		shoot(t, ctx, "3-forgot-password")
		do(chromedp.SendKeys(chromedp.ID("login_name"), login), chromedp.Submit(chromedp.ID("login_name")))
		waitText("main", "If an account")
		do(chromedp.Navigate(mb.link(t, email, "/ui/reset-password")), chromedp.WaitVisible(chromedp.ID("new_password")))
		shoot(t, ctx, "4-reset-password")
		do(chromedp.SendKeys(chromedp.ID("new_password"), second), chromedp.SendKeys(chromedp.ID("confirm_password"), second),
			chromedp.Submit(chromedp.ID("new_password")))
		waitText("main", "password was changed")

		signIn := func(password string) {
			t.Helper()
			do(chromedp.Navigate(authURL()), chromedp.WaitVisible(chromedp.ID("login_name")),
				chromedp.SendKeys(chromedp.ID("login_name"), login), chromedp.Submit(chromedp.ID("login_name")),
				chromedp.WaitVisible(chromedp.ID("password")),
				chromedp.SendKeys(chromedp.ID("password"), password), chromedp.Submit(chromedp.ID("password")))
		}
		signIn(second)
		awaitCallback(t, ctx, cb.URL)

		// Three wrong passwords lock the account; then the right one fails
		// with the same message.
		for range 3 {
			signIn("wrong password!")
			waitText("[role=alert]", "wrong")
		}
		signIn(second)
		waitText("[role=alert]", "wrong")
		shoot(t, ctx, "5-locked")

		// The other instance asks for a code sent by e-mail after the
		// password.
		other := "http://127.0.0.1:" + port
		codes := &oauth2.Config{ClientID: "codes", ClientSecret: "rcs_test-only-codes-secret-0123456789abcdef",
			Endpoint:    oauth2.Endpoint{AuthURL: other + "/oauth/authorize", TokenURL: other + "/oauth/token"},
			RedirectURL: cb.URL + "/callback", Scopes: []string{oidc.ScopeOpenID}}
		do(chromedp.Navigate(codes.AuthCodeURL(rand.Text(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
			chromedp.WaitVisible(chromedp.ID("login_name")),
			chromedp.SendKeys(chromedp.ID("login_name"), "otto"), chromedp.Submit(chromedp.ID("login_name")),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("password"), "otto-test-password-1"), chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.ID("code")))
		shoot(t, ctx, "6-email-code")
		do(chromedp.SendKeys(chromedp.ID("code"), mb.code(t, "otto@shop.example")), chromedp.Submit(chromedp.ID("code")))
		awaitCallback(t, ctx, cb.URL)
	})
}
