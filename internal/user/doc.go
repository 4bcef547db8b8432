// Package user is the service for human and machine users and their
// credentials: passwords (Argon2id), machine client secrets, personal
// access tokens and machine public keys.
//
// Every lookup is by (instance, organization, user) as the caller names
// them, so a user of another organization or instance is simply not found.
// Every change runs in one store transaction together with its audit event;
// payloads never hold passwords, hashes, tokens or keys. Slow work
// (password hashing, key generation) happens before the transaction opens.
//
// It also answers the authentication questions other slices ask:
// AuthenticatePAT (the admin API's bearer tokens, one store round trip),
// CheckPassword (the login, with rehashing and timing that does not reveal
// whether a login name exists) and VerifyClientSecret (client_credentials).
//
// Lockout: RecordFailedLogin counts failed logins per user and locks the
// user at the policy's maximum; ResetFailedLogins (after a success) and
// Unlock (an administrator) clear the count.
//
// Imports: internal/iam, internal/store, internal/crypto,
// golang.org/x/text/language and the standard library.
package user
