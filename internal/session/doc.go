// Package session is the service for the hosted login's browser sessions.
//
// A session is created at the first page of the login and lives in the
// database (nodes keep no session state). The browser holds a random token
// ("rls_" and 256 bits) in a cookie; the store keeps only its keyed hash,
// so a session is found in one round trip by the hash of the cookie and a
// copy of the database cannot be replayed as cookies.
//
// Lifetimes come from the login policy, which the caller resolves and
// passes in: Create takes the absolute lifetime and the idle timeout, Get
// the idle timeout (sliding: a use moves the idle expiry forward, written
// at most once per TouchInterval). A session starts anonymous; the first
// verified factor binds it to a user (MarkPasswordVerified,
// MarkMFAVerified), and every such step rotates the token (a new cookie
// value) so that a token planted before the login is worthless after it.
//
//	Create ─▶ [SelectLoginName] ─▶ MarkPasswordVerified ─▶ [MarkMFAVerified] ─▶ Get… ─▶ Logout
//	                                   (or a passkey: MarkMFAVerified alone)
//
// Imports: internal/iam, internal/store, internal/crypto and the standard
// library.
package session
