package crypto

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// PasswordHasher hashes human passwords with Argon2id (RFC 9106) and
// verifies Argon2id and imported bcrypt hashes. Hashes are PHC strings:
//
//	$argon2id$v=19$m=<KiB>,t=<iterations>,p=<parallelism>$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. Verify reports when a
// stored hash should be replaced by one with the hasher's parameters, so that
// raising the cost upgrades hashes at the next successful login.
type PasswordHasher struct {
	// MemoryKiB is the Argon2 memory cost in KiB.
	MemoryKiB uint32
	// Iterations is the Argon2 time cost (passes over memory).
	Iterations uint32
	// Parallelism is the number of Argon2 lanes.
	Parallelism uint8
}

// Default Argon2id parameters: OWASP's m=19 MiB, p=1, with the iteration
// count raised from 2 to 5 so that one hash takes about 50 ms on one server
// core (BenchmarkPasswordHash on an AMD EPYC vCPU: t=2 22 ms, t=4 42 ms,
// t=5 53 ms; m=46 MiB,t=1 30 ms). Time rather than memory was raised: memory
// bounds how many logins can be verified at once (19 MiB each).
const (
	DefaultPasswordMemoryKiB   = 19456
	DefaultPasswordIterations  = 5
	DefaultPasswordParallelism = 1
)

// DefaultPasswordHasher returns a hasher with the default parameters.
func DefaultPasswordHasher() *PasswordHasher {
	return &PasswordHasher{MemoryKiB: DefaultPasswordMemoryKiB, Iterations: DefaultPasswordIterations, Parallelism: DefaultPasswordParallelism}
}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
	argonVersion = argon2.Version // 0x13 = 19
)

// Bounds for hashes accepted by Verify: they keep a malformed or hostile
// stored hash from costing unbounded memory or time.
const (
	maxArgonMemoryKiB   = 1 << 20 // 1 GiB
	maxArgonIterations  = 64
	minArgonSaltLen     = 8
	maxArgonSaltLen     = 64
	minArgonKeyLen      = 16
	maxArgonKeyLen      = 128
	maxBcryptCost       = 16
	bcryptMaxPassword   = 72
	maxEncodedHashBytes = 512
)

// ErrMalformedHash reports a stored password hash Verify cannot read.
var ErrMalformedHash = errors.New("crypto: malformed password hash")

// Validate reports whether the parameters can hash.
func (h *PasswordHasher) Validate() error {
	if h.MemoryKiB < 8*uint32(h.Parallelism) || h.MemoryKiB > maxArgonMemoryKiB || h.Iterations < 1 || h.Iterations > maxArgonIterations || h.Parallelism < 1 {
		return fmt.Errorf("crypto: invalid argon2id parameters m=%d,t=%d,p=%d", h.MemoryKiB, h.Iterations, h.Parallelism)
	}
	return nil
}

// Hash returns the PHC-encoded Argon2id hash of password with a fresh
// 16-byte salt and a 32-byte key.
func (h *PasswordHasher) Hash(password string) (string, error) {
	if err := h.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("crypto: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, h.Iterations, h.MemoryKiB, h.Parallelism, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argonVersion, h.MemoryKiB, h.Iterations, h.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches the encoded hash, comparing in
// constant time. needsRehash is true when the password matched but the hash
// should be replaced by Hash(password): an Argon2id hash with parameters
// other than h's, or any bcrypt hash ($2a$, $2b$, $2y$; bcrypt truncates
// passwords to 72 bytes, and so does its verification here). A hash that
// cannot be read is an error wrapping ErrMalformedHash, never a panic.
func (h *PasswordHasher) Verify(password, encoded string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, err := parseArgon2id(encoded)
		if err != nil {
			return false, false, err
		}
		key := argon2.IDKey([]byte(password), p.salt, p.iterations, p.memory, p.parallelism, uint32(len(p.key)))
		if subtle.ConstantTimeCompare(key, p.key) != 1 {
			return false, false, nil
		}
		return true, p.memory != h.MemoryKiB || p.iterations != h.Iterations || p.parallelism != h.Parallelism ||
			len(p.salt) != argonSaltLen || len(p.key) != argonKeyLen, nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		if err := checkBcrypt(encoded); err != nil {
			return false, false, err
		}
		pw := []byte(password)
		if len(pw) > bcryptMaxPassword {
			pw = pw[:bcryptMaxPassword]
		}
		err := bcrypt.CompareHashAndPassword([]byte(encoded), pw)
		switch {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, false, nil
		}
		return false, false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	return false, false, fmt.Errorf("%w: unknown algorithm", ErrMalformedHash)
}

// IsPasswordHash reports whether encoded is a hash Verify can read.
func IsPasswordHash(encoded string) bool {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		_, err := parseArgon2id(encoded)
		return err == nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return checkBcrypt(encoded) == nil
	}
	return false
}

type argonParams struct {
	memory, iterations uint32
	parallelism        uint8
	salt, key          []byte
}

func parseArgon2id(encoded string) (*argonParams, error) {
	bad := func(what string) error { return fmt.Errorf("%w: argon2id: %s", ErrMalformedHash, what) }
	if len(encoded) > maxEncodedHashBytes {
		return nil, bad("too long")
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, bad("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[2] != "v="+strconv.Itoa(argonVersion) {
		return nil, bad("unsupported version")
	}
	var p argonParams
	var seen [3]bool
	kvs := strings.Split(parts[3], ",")
	if len(kvs) != 3 {
		return nil, bad("want parameters m, t and p")
	}
	for _, kv := range kvs {
		k, v, found := strings.Cut(kv, "=")
		if !found || v == "" || v[0] == '+' || v[0] == '-' {
			return nil, bad("bad parameter")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, bad("bad parameter value")
		}
		switch k {
		case "m":
			p.memory, seen[0] = uint32(n), !seen[0]
		case "t":
			p.iterations, seen[1] = uint32(n), !seen[1]
		case "p":
			if n > 255 {
				return nil, bad("parallelism out of range")
			}
			p.parallelism, seen[2] = uint8(n), !seen[2]
		default:
			return nil, bad("unknown parameter")
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return nil, bad("want parameters m, t and p once each")
	}
	if p.parallelism < 1 || p.iterations < 1 || p.iterations > maxArgonIterations ||
		p.memory < 8*uint32(p.parallelism) || p.memory > maxArgonMemoryKiB {
		return nil, bad("parameters out of range")
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil ||
		len(p.salt) < minArgonSaltLen || len(p.salt) > maxArgonSaltLen {
		return nil, bad("bad salt")
	}
	if p.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil ||
		len(p.key) < minArgonKeyLen || len(p.key) > maxArgonKeyLen {
		return nil, bad("bad hash")
	}
	return &p, nil
}

// checkBcrypt rejects bcrypt hashes that are malformed or too costly to
// verify (a cost above 16 would let one stored hash stall a login for
// seconds).
func checkBcrypt(encoded string) error {
	if len(encoded) != 60 || encoded[6] != '$' {
		return fmt.Errorf("%w: bcrypt: want $2b$<cost>$<53 characters>", ErrMalformedHash)
	}
	for _, c := range encoded[7:] {
		if !(c == '.' || c == '/' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return fmt.Errorf("%w: bcrypt: bad salt or hash", ErrMalformedHash)
		}
	}
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	if cost > maxBcryptCost {
		return fmt.Errorf("%w: bcrypt: cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
	}
	return nil
}
