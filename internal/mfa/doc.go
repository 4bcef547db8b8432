// Package mfa is the service for second factors: TOTP authenticator apps
// (RFC 6238) with recovery codes, one-time codes sent by e-mail, and the
// storage side of WebAuthn credentials (security keys and passkeys).
//
// What is stored, and how:
//
//   - A TOTP secret is sealed with the master key (crypto.Keyring, associated
//     data "totp:" + factor ID), so a copy of the database does not reveal
//     it. Every accepted code records its time step; a code of that step or
//     an earlier one is refused (replay protection, atomic in the store).
//     Codes are accepted one step (30 s) either side of the server's clock.
//   - Recovery codes (10, single use) and e-mail codes are stored as keyed
//     hashes (crypto.SecretHasher) bound to the instance and user; using one
//     deletes it atomically, so a code works once even when submitted
//     concurrently.
//   - WebAuthn credentials hold only public data. Each user gets a random,
//     stable 32-byte WebAuthn user handle (never the user ID).
//
// Enrolment and removal append audit events ("user.totp_added",
// "user.webauthn_removed", …) in the same transaction, naming factors by ID;
// payloads never hold secrets or codes.
//
// # WebAuthn
//
// The WebAuthn ceremonies belong to the login UI and github.com/go-webauthn/
// webauthn, which this package does not import. WebAuthnUser implements
// WebAuthnID, WebAuthnName and WebAuthnDisplayName of webauthn.User; the
// caller adds WebAuthnCredentials in its own file, converting the stored
// credentials:
//
//	type webAuthnUser struct{ *mfa.WebAuthnUser }
//
//	func (u webAuthnUser) WebAuthnCredentials() []webauthn.Credential {
//		out := make([]webauthn.Credential, len(u.Credentials))
//		for i, c := range u.Credentials {
//			transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
//			for j, t := range c.Transports {
//				transports[j] = protocol.AuthenticatorTransport(t)
//			}
//			out[i] = webauthn.Credential{
//				ID: c.CredentialID, PublicKey: c.PublicKey, AttestationType: c.AttestationType, Transport: transports,
//				Flags: webauthn.CredentialFlags{UserPresent: c.UserPresent, UserVerified: c.UserVerified,
//					BackupEligible: c.BackupEligible, BackupState: c.BackupState},
//				Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount,
//					Attachment: protocol.AuthenticatorAttachment(c.Attachment)},
//			}
//		}
//		return out
//	}
//
// After a registration ceremony it stores the credential with
// AddWebAuthnCredential; after a login ceremony it records the new sign
// count with RecordWebAuthnUse. Discoverable (passkey) logins find the user
// by the returned user handle with WebAuthnUserByHandle.
//
// Imports: internal/iam, internal/store, internal/crypto,
// github.com/pquerna/otp and the standard library.
package mfa
