// Package oidc is Rampart's OpenID Provider: the zitadel/oidc op library on
// Rampart's storage, a thin transport over the user, project and token
// services.
//
// One provider serves every instance; the tenant middleware puts the
// instance into the request context and the issuer is the external URL's
// scheme plus the request's Host. Routes (see Routes):
//
//	/.well-known/openid-configuration   discovery
//	/oauth/authorize (+/callback)       authorization endpoint
//	/oauth/token                        every grant
//	/oauth/introspect /oauth/revoke     RFC 7662, RFC 7009
//	/oauth/userinfo /oauth/keys         userinfo, JWKS
//	/oauth/end_session                  RP-initiated logout
//	/oauth/device_authorization         RFC 8628
//
// The pages the flows send the browser to (/ui/login, /ui/device,
// /ui/logged-out; the Path* constants) are served by internal/login, which
// returns to CallbackURL once the user has authenticated.
//
// Files: storage.go implements op.Storage and its optional interfaces;
// server.go overrides the library's LegacyServer where Rampart is stricter
// (grant types per client, PKCE downgrade, JWT bearer for machine users,
// device user-code collisions); introspect.go decides whether a token is
// active with one database round trip; client.go and request.go adapt
// Rampart's types to the library's.
//
// It imports the services (user, project, token), crypto, reqctx and the
// domain; never a store backend.
package oidc
