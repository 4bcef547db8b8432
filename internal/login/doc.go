// Package login serves the hosted login: the pages an authorization request
// or a device flow sends the browser to, rendered on the server with
// html/template from embedded templates, one stylesheet and no JavaScript.
//
// Routes (behind the tenant middleware):
//
//	/ui/login?authRequestID=…   login name, then password (two steps, like the
//	                            big providers; every name gets the password
//	                            step, so the page reveals no accounts); on
//	                            success back to the provider's callback
//	/ui/device?user_code=…      device flow verification (RFC 8628 §3.3)
//	/ui/logged-out              after RP-initiated logout
//	/ui/static/                 the stylesheet (immutable, versioned URL)
//
// Every page is protected against cross-site form posts
// (http.CrossOriginProtection), sent with a strict Content-Security-Policy
// (no scripts; styles from this origin or with the response's nonce), no
// caching and no referrer, and translated (locales/*.json: English,
// German) by the authorization request's ui_locales, then the browser's
// Accept-Language. Branding (product name, logo, primary colour) comes from
// Options.Branding.
//
// It imports the domain and reqctx; the services it uses are interfaces
// (AuthRequests, Users, Apps) satisfied by token, user and project.
package login
