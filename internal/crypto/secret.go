package crypto

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// SecretBytes is the entropy of every server-generated secret (client
// secrets, personal access tokens): 256 bits.
const SecretBytes = 32

// NewSecret returns prefix followed by 256 random bits in unpadded URL-safe
// base64. The prefix (e.g. "rpat_") lets users and secret scanners tell
// secrets apart; it adds no security.
func NewSecret(prefix string) string {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// SecretHasher hashes server-generated, high-entropy secrets with
// HMAC-SHA-256 under a key derived from the master key. A fast keyed hash is
// right for them (a slow KDF is for human passwords): they cannot be
// guessed, and without the master key a stolen database cannot even be used
// to test candidates.
type SecretHasher struct {
	key []byte
}

// secretHashPurpose names the derived key; changing it invalidates every
// stored secret hash.
const secretHashPurpose = "rampart secret hash v1"

// NewSecretHasher derives the hashing key from the keyring's current master
// key.
func NewSecretHasher(kr *Keyring) *SecretHasher {
	return &SecretHasher{key: kr.DeriveKey(secretHashPurpose)}
}

// Hash returns the 32-byte keyed hash of secret. Equal secrets give equal
// hashes, so the hash can be looked up in an index.
func (h *SecretHasher) Hash(secret string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Verify reports, in constant time, whether secret hashes to hash.
func (h *SecretHasher) Verify(secret string, hash []byte) bool {
	return len(hash) == sha256.Size && hmac.Equal(h.Hash(secret), hash)
}
