// Package login serves the hosted login: the pages an authorization request
// or a device flow sends the browser to, rendered on the server with
// html/template from embedded templates, one stylesheet and no JavaScript.
//
// Routes (behind the tenant middleware):
//
//	/ui/login?authRequestID=…   login name, then password (two steps, like the
//	                            big providers; every name gets the password
//	                            step, so the page reveals no accounts), a new
//	                            password if the user must change theirs; on
//	                            success back to the provider's callback
//	/ui/login?passkey=1&…       passwordless sign-in with a passkey (WebAuthn)
//	/ui/passkeys                a signed-in user adds a passkey
//	/ui/register, /ui/verify-email, /ui/forgot-password, /ui/reset-password
//	                            self-service (see docs/login.md)
//	/ui/device?user_code=…      device flow verification (RFC 8628 §3.3)
//	/ui/logged-out              after RP-initiated logout
//	/ui/static/                 the stylesheet (immutable, versioned URL)
//
// Every page is protected against cross-site form posts
// (http.CrossOriginProtection), sent with a strict Content-Security-Policy
// (scripts and styles only from this origin — the one script runs the
// passkey ceremony — or a style with the response's nonce), no caching and
// no referrer, and translated (locales/*.json: English,
// German) by the authorization request's ui_locales, then the browser's
// Accept-Language. Branding (product name, logo, primary colour) and the
// lockout limits come from the instance's policies (Options.Policies).
//
// Login sessions: a correct password binds the browser's session
// (cookie CookieName: a random token, HttpOnly, SameSite=Lax, Secure
// behind https; the database stores its keyed hash, so any node serves any
// step) and rotates its token. A later authorization request from that
// browser completes at once (single sign-on) unless it asks for prompt=login
// or its max_age has passed; the session lives as long as the login
// policy's lifetime and idle timeout allow, and EndSession (wrapped around
// the provider's end_session endpoint) ends it.
//
// It imports the domain, reqctx and the session service; the other
// services it uses are interfaces (AuthRequests, Users, Apps) satisfied by
// token, user and project.
package login
