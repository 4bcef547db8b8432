// Package crypto holds Rampart's master key and the envelope encryption built
// on it.
//
// The master key is 32 random bytes, given to the server base64-encoded (what
// `openssl rand -base64 32` prints). Each key has an ID derived from the key
// itself, so ciphertexts name the key that sealed them without any
// configuration, and a [Keyring] holding the current key and the previous
// ones decrypts data written before a rotation.
//
// Encrypt uses envelope encryption: every message gets a fresh random data
// key that seals the plaintext with AES-256-GCM, and the data key is wrapped
// with the master key (AES-256-GCM as well). The ciphertext layout is
//
//	version (1 byte, 0x01)
//	master key ID (8 bytes)
//	wrapped data key: nonce (12) | sealed data key (32) | tag (16)
//	nonce (12 bytes)
//	sealed plaintext | tag (16 bytes)
//
// The version byte and key ID are authenticated as associated data of both
// seals, followed by the caller's associated data for the plaintext.
//
// [Keyring.DeriveKey] gives purpose-bound subkeys (HKDF-SHA-256) of the
// current master key, for example for HMACs of tokens.
//
// Imports: the standard library and golang.org/x/crypto (argon2, bcrypt).
package crypto
