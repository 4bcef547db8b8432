package crypto

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length in bytes of a master key (AES-256).
const KeySize = 32

// keyIDSize is the length in bytes of a key ID inside a ciphertext.
const keyIDSize = 8

// keyIDLabel separates key-ID hashing from any other use of SHA-256 over the
// key.
const keyIDLabel = "rampart master key id v1\x00"

// errKeyFormat is the message every malformed master key gets. It says what
// is expected and how to get one, and never echoes the input.
const errKeyFormat = "a master key must be 32 random bytes encoded as base64 " +
	"(generate one with `openssl rand -base64 32`)"

// Key is a 32-byte AES-256 master key with an ID derived from it. The zero
// value is not usable; get a Key from [ParseMasterKey].
//
// Key's String and GoString methods print only the key ID, so a Key that ends
// up in a log line or an error message does not leak.
type Key struct {
	key [KeySize]byte
	id  [keyIDSize]byte
}

// ParseMasterKey decodes a base64-encoded 32-byte master key. It accepts the
// standard and the URL-safe alphabet, padded or not, and ignores surrounding
// whitespace (such as the newline at the end of a key file). The error never
// contains the input.
func ParseMasterKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("master key is empty: " + errKeyFormat)
	}
	var raw []byte
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err == nil {
			raw = b
			break
		}
	}
	switch {
	case raw == nil:
		return nil, errors.New("master key is not valid base64: " + errKeyFormat)
	case len(raw) != KeySize:
		return nil, fmt.Errorf("master key decodes to %d bytes, want %d: %s", len(raw), KeySize, errKeyFormat)
	}
	k := &Key{}
	copy(k.key[:], raw)
	clear(raw)
	sum := sha256.Sum256(append([]byte(keyIDLabel), k.key[:]...))
	copy(k.id[:], sum[:keyIDSize])
	return k, nil
}

// GenerateMasterKey returns a new random master key, encoded as standard
// padded base64 (the form `openssl rand -base64 32` prints).
func GenerateMasterKey() (string, error) {
	var b [KeySize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate master key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// ID returns the key's ID: 16 hex digits, the first 8 bytes of SHA-256 over
// a fixed label and the key. The ID is not secret.
func (k Key) ID() string { return hex.EncodeToString(k.id[:]) }

// String returns a description naming the key by its ID only.
func (k Key) String() string { return "crypto.Key(" + k.ID() + ")" }

// GoString returns the same as String, so %#v does not print key bytes.
func (k Key) GoString() string { return k.String() }
