// Package token keeps the protocol state of the OpenID Provider and its
// signing keys.
//
// Service: authorization requests and codes (single use; a replayed code
// revokes the tokens issued from it), refresh-token families (rotation on
// every use, reuse detection revoking the family), opaque access tokens,
// revocation records (by token ID or family, checked together with the
// user's state in one round trip) and device authorizations. Every secret
// (code, refresh token, device code) is stored as a keyed hash.
//
// Keys: the signing key set, in memory on every node, reloaded on
// invalidation; created and rotated under a unique generation number so
// that racing nodes create each key once.
//
// It imports the store port, crypto and the domain.
package token
