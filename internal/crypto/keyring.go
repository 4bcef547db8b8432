package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// formatV1 is the version byte of the only ciphertext format so far.
const formatV1 byte = 0x01

const (
	nonceSize   = 12 // AES-GCM standard nonce
	tagSize     = 16 // AES-GCM tag
	headerSize  = 1 + keyIDSize
	wrappedSize = nonceSize + KeySize + tagSize
	// overhead is what Encrypt adds to the plaintext's length.
	overhead = headerSize + wrappedSize + nonceSize + tagSize
)

// Errors returned by [Keyring.Decrypt]. They are wrapped with details; test
// with errors.Is.
var (
	// ErrMalformed means the input is not a ciphertext Encrypt produced:
	// too short, or of an unknown format version.
	ErrMalformed = errors.New("malformed ciphertext")
	// ErrUnknownKey means the ciphertext names a master key that is not in
	// the keyring: a key was rotated out too early, or the wrong key is
	// configured.
	ErrUnknownKey = errors.New("ciphertext was sealed with a master key that is not configured")
	// ErrAuthentication means the ciphertext failed authentication: it was
	// modified, or the associated data differs from what it was sealed with.
	ErrAuthentication = errors.New("ciphertext failed authentication (modified, or wrong associated data)")
)

// Keyring encrypts with the current master key and decrypts with the current
// or any previous one. It is safe for concurrent use.
type Keyring struct {
	current *Key
	byID    map[[keyIDSize]byte]*Key
}

// NewKeyring returns a keyring that encrypts with current and decrypts data
// sealed with current or any of previous. Rotating the master key means
// making the new key current and passing the old one in previous until all
// data has been re-encrypted. It panics if current or a previous key is nil.
func NewKeyring(current *Key, previous ...*Key) *Keyring {
	if current == nil {
		panic("crypto.NewKeyring: current key is nil")
	}
	kr := &Keyring{current: current, byID: make(map[[keyIDSize]byte]*Key, 1+len(previous))}
	for _, k := range previous {
		if k == nil {
			panic("crypto.NewKeyring: previous key is nil")
		}
		kr.byID[k.id] = k
	}
	kr.byID[current.id] = current
	return kr
}

// CurrentKeyID returns the ID of the key Encrypt uses.
func (kr *Keyring) CurrentKeyID() string { return kr.current.ID() }

// Encrypt seals plaintext with a fresh data key and wraps the data key with
// the current master key. aad is authenticated but not encrypted: Decrypt
// must be given the same aad (use it to bind a ciphertext to its context,
// such as a table and row ID). The result is len(plaintext)+97 bytes.
func (kr *Keyring) Encrypt(plaintext, aad []byte) ([]byte, error) {
	var dataKey [KeySize]byte
	defer clear(dataKey[:])
	if _, err := rand.Read(dataKey[:]); err != nil {
		return nil, fmt.Errorf("encrypt: generate data key: %w", err)
	}
	out := make([]byte, headerSize, overhead+len(plaintext))
	out[0] = formatV1
	copy(out[1:headerSize], kr.current.id[:])
	header := out[:headerSize:headerSize]

	wrap, err := newGCM(kr.current.key[:])
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	out, err = seal(wrap, out, dataKey[:], header)
	if err != nil {
		return nil, fmt.Errorf("encrypt: wrap data key: %w", err)
	}

	payload, err := newGCM(dataKey[:])
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	out, err = seal(payload, out, plaintext, payloadAAD(header, aad))
	if err != nil {
		return nil, fmt.Errorf("encrypt: seal: %w", err)
	}
	return out, nil
}

// Decrypt opens a ciphertext produced by Encrypt with the master key it
// names. It returns an error wrapping ErrMalformed, ErrUnknownKey or
// ErrAuthentication when the input is truncated, names a key the keyring
// does not hold, or was modified or sealed with different aad. It never
// panics, whatever the input.
func (kr *Keyring) Decrypt(ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) < overhead {
		return nil, fmt.Errorf("decrypt: %w: %d bytes, want at least %d", ErrMalformed, len(ciphertext), overhead)
	}
	if v := ciphertext[0]; v != formatV1 {
		return nil, fmt.Errorf("decrypt: %w: unknown format version %d", ErrMalformed, v)
	}
	header := ciphertext[:headerSize:headerSize]
	var id [keyIDSize]byte
	copy(id[:], header[1:])
	master, ok := kr.byID[id]
	if !ok {
		return nil, fmt.Errorf("decrypt: %w: key ID %s (current key is %s)", ErrUnknownKey, hex.EncodeToString(id[:]), kr.CurrentKeyID())
	}
	rest := ciphertext[headerSize:]

	wrap, err := newGCM(master.key[:])
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	dataKey, err := wrap.Open(nil, rest[:nonceSize], rest[nonceSize:wrappedSize], header)
	if err != nil {
		return nil, fmt.Errorf("decrypt: data key: %w", ErrAuthentication)
	}
	defer clear(dataKey)
	rest = rest[wrappedSize:]

	payload, err := newGCM(dataKey)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	plaintext, err := payload.Open(nil, rest[:nonceSize], rest[nonceSize:], payloadAAD(header, aad))
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", ErrAuthentication)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// DeriveKey returns a 32-byte subkey of the current master key for the named
// purpose, using HKDF-SHA-256. The same purpose always gives the same subkey
// for the same master key; different purposes give independent subkeys.
// Purposes are fixed strings in code, such as "token-hmac"; DeriveKey panics
// if purpose is empty.
//
// A subkey changes when the master key is rotated, so derived keys suit data
// that can be recomputed or expires (token HMACs), not data that must stay
// readable across rotations.
func (kr *Keyring) DeriveKey(purpose string) []byte {
	if purpose == "" {
		panic("crypto.Keyring.DeriveKey: empty purpose")
	}
	sub, err := hkdf.Key(sha256.New, kr.current.key[:], []byte("rampart derive v1"), purpose, KeySize)
	if err != nil {
		// Only reachable with an output length HKDF-SHA-256 cannot produce.
		panic("crypto.Keyring.DeriveKey: " + err.Error())
	}
	return sub
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return gcm, nil
}

// seal appends a random nonce and the sealed plaintext to dst.
func seal(aead cipher.AEAD, dst, plaintext, aad []byte) ([]byte, error) {
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], plaintext, aad), nil
}

// payloadAAD is the associated data of the payload seal: the fixed-size
// header followed by the caller's aad. The header's fixed size keeps the
// concatenation unambiguous.
func payloadAAD(header, aad []byte) []byte {
	return bytes.Join([][]byte{header, aad}, nil)
}
