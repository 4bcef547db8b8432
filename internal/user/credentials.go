package user

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

var errHumanOnly = &iam.Error{Code: iam.FailedPrecondition, Message: "only human users have passwords"}

var errMachineOnly = &iam.Error{Code: iam.FailedPrecondition, Message: "only machine users have client secrets and keys"}

// SetPassword checks password against the password rule, hashes it and
// sets it on the human user named by ref, with a "user.password_set" event.
// changeRequired makes the user change it at the next login.
func (s *Service) SetPassword(ctx context.Context, actor string, ref Ref, password string, changeRequired bool) (*iam.User, error) {
	if p := checkPassword(password); p != "" {
		return nil, &iam.Error{Code: iam.Invalid, Field: "password", Message: p}
	}
	// Hash before the transaction: it is the slow part.
	hash, err := s.passwords.Hash(password)
	if err != nil {
		return nil, &iam.Error{Code: iam.Internal, Message: "internal error", Err: err}
	}
	return s.setPasswordHash(ctx, actor, ref, hash, changeRequired, "set")
}

// ResetPassword gives the human user named by ref a generated one-time
// password that must be changed at the next login, and returns it once.
func (s *Service) ResetPassword(ctx context.Context, actor string, ref Ref) (*iam.User, string, error) {
	otp := oneTimePassword()
	hash, err := s.passwords.Hash(otp)
	if err != nil {
		return nil, "", &iam.Error{Code: iam.Internal, Message: "internal error", Err: err}
	}
	u, err := s.setPasswordHash(ctx, actor, ref, hash, true, "reset")
	if err != nil {
		return nil, "", err
	}
	return u, otp, nil
}

func (s *Service) setPasswordHash(ctx context.Context, actor string, ref Ref, hash string, changeRequired bool, reason string) (*iam.User, error) {
	return s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		if u.Type != iam.UserHuman {
			return nil, nil, errHumanOnly
		}
		after, err := tx.UserSetPassword(ctx, &store.UserSetPasswordParams{
			InstanceID: u.InstanceID, ID: u.ID, Hash: hash, ChangeRequired: changeRequired, Version: u.Version, Now: now,
		})
		if err != nil {
			return nil, nil, err
		}
		return after, &event{iam.EventUserPasswordSet, map[string]any{
			"password": redacted, "change_required": changeRequired, "reason": reason, "version": after.Version,
		}}, nil
	})
}

// otpAlphabet leaves out characters that are easy to confuse (0/O, 1/l/I).
const otpAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// oneTimePassword returns 20 random characters of otpAlphabet (about 116
// bits).
func oneTimePassword() string {
	b := make([]byte, 20)
	buf := make([]byte, 1)
	for i := range b {
		for {
			if _, err := rand.Read(buf); err != nil {
				panic(err) // crypto/rand never fails on supported platforms
			}
			// Rejection sampling keeps the distribution uniform.
			if int(buf[0]) < 256/len(otpAlphabet)*len(otpAlphabet) {
				b[i] = otpAlphabet[int(buf[0])%len(otpAlphabet)]
				break
			}
		}
	}
	return string(b)
}

// GenerateClientSecret gives the machine user named by ref a new client
// secret, replacing any previous one, with a "user.client_secret_set"
// event. It returns the user (whose login name is the client ID) and the
// secret, shown once. Human users are FailedPrecondition.
func (s *Service) GenerateClientSecret(ctx context.Context, actor string, ref Ref) (*iam.User, string, error) {
	secret := crypto.NewSecret(ClientSecretPrefix)
	hash := s.secrets.Hash(secret)
	u, err := s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		if u.Type != iam.UserMachine {
			return nil, nil, errMachineOnly
		}
		after, err := tx.UserSetSecretHash(ctx, &store.UserSetSecretHashParams{InstanceID: u.InstanceID, ID: u.ID, Hash: hash, Version: u.Version, Now: now})
		if err != nil {
			return nil, nil, err
		}
		return after, &event{iam.EventUserClientSecretSet, map[string]any{
			"client_id": after.LoginName, "client_secret": redacted, "replaced": u.SecretHash != nil, "version": after.Version,
		}}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return u, secret, nil
}

// RemoveClientSecret removes the client secret of the machine user named by
// ref, with a "user.client_secret_removed" event. Without a secret it does
// nothing.
func (s *Service) RemoveClientSecret(ctx context.Context, actor string, ref Ref) (*iam.User, error) {
	return s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		if u.Type != iam.UserMachine {
			return nil, nil, errMachineOnly
		}
		if u.SecretHash == nil {
			return nil, nil, nil
		}
		after, err := tx.UserSetSecretHash(ctx, &store.UserSetSecretHashParams{InstanceID: u.InstanceID, ID: u.ID, Version: u.Version, Now: now})
		if err != nil {
			return nil, nil, err
		}
		return after, &event{iam.EventUserClientSecretRemoved, map[string]any{"client_id": after.LoginName, "version": after.Version}}, nil
	})
}

// NewPAT describes a personal access token to add.
type NewPAT struct {
	// ExpiresAt is required: in the future, at most 10 years ahead.
	ExpiresAt time.Time
	// Token is a fixed token (at least 32 characters) for the declarative
	// bootstrap; "" generates one ("rpat_" and 256 random bits). The admin
	// API never sets it.
	Token string
	// ID is a fixed token ID for the bootstrap; "" generates one.
	ID string
}

// AddPAT adds a personal access token to the user (human or machine) named
// by ref, with a "user.pat_added" event, and returns it with the token,
// shown once. Only the token's keyed hash is stored.
func (s *Service) AddPAT(ctx context.Context, actor string, ref Ref, in *NewPAT) (*iam.PersonalAccessToken, string, error) {
	now := s.clock()
	var fe iam.FieldErrors
	checkExpiry(&fe, in.ExpiresAt, now)
	token := in.Token
	if token == "" {
		token = crypto.NewSecret(PATPrefix)
	} else if len(token) < MinFixedSecretLength || len(token) > maxTokenLength || strings.ContainsFunc(token, isSpaceOrControl) {
		fe.Add("token", "must be %d to %d characters without spaces", MinFixedSecretLength, maxTokenLength)
	}
	if err := fe.Err(); err != nil {
		return nil, "", err
	}
	id := in.ID
	if id == "" {
		id = iam.NewID()
	}
	var out *iam.PersonalAccessToken
	_, err := s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		t, err := tx.PersonalAccessTokenCreate(ctx, &store.PersonalAccessTokenCreateParams{
			Token: &iam.PersonalAccessToken{ID: id, InstanceID: u.InstanceID, UserID: u.ID, TokenHash: s.secrets.Hash(token), ExpiresAt: in.ExpiresAt.UTC()},
			Now:   now,
		})
		if err != nil {
			return nil, nil, err
		}
		out = t
		return u, &event{iam.EventUserPATAdded, map[string]any{"token_id": t.ID, "token": redacted, "expires_at": t.ExpiresAt}}, nil
	})
	if err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return nil, "", &iam.Error{Code: iam.AlreadyExists, Message: "the personal access token already exists", Err: err}
		}
		return nil, "", err
	}
	return out, token, nil
}

// ListPATs returns up to limit tokens of the user named by ref, ordered by
// ID after afterID. Token hashes are cleared.
func (s *Service) ListPATs(ctx context.Context, ref Ref, afterID string, limit int) ([]*iam.PersonalAccessToken, error) {
	u, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	list, err := s.store.PersonalAccessTokenList(ctx, &store.PersonalAccessTokenListParams{InstanceID: u.InstanceID, UserID: u.ID, AfterID: afterID, Limit: limit})
	if err != nil {
		return nil, store.DomainError(err, "personal access tokens")
	}
	for _, t := range list {
		t.TokenHash = nil
	}
	return list, nil
}

// RemovePAT deletes a token of the user named by ref, with a
// "user.pat_removed" event.
func (s *Service) RemovePAT(ctx context.Context, actor string, ref Ref, tokenID string) error {
	_, err := s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		err := tx.PersonalAccessTokenDelete(ctx, &store.PersonalAccessTokenDeleteParams{InstanceID: u.InstanceID, UserID: u.ID, ID: tokenID})
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, &iam.Error{Code: iam.NotFound, Field: "token_id", Message: "personal access token not found", Err: err}
		}
		if err != nil {
			return nil, nil, err
		}
		return u, &event{iam.EventUserPATRemoved, map[string]any{"token_id": tokenID}}, nil
	})
	return err
}

// NewMachineKey describes a public key to add.
type NewMachineKey struct {
	// PublicKeyPEM is an RSA (at least 2048 bits) or ECDSA P-256 public key
	// in PEM (PKIX, "PUBLIC KEY"); "" makes the server generate an RSA-2048
	// key pair and return its private key once.
	PublicKeyPEM string
	// ExpiresAt is required: in the future, at most 10 years ahead.
	ExpiresAt time.Time
	// ID is a fixed key ID for the bootstrap; "" generates one.
	ID string
}

// AddMachineKey registers a public key of the machine user named by ref for
// the JWT profile (RFC 7523), with a "user.key_added" event. When the
// server generates the key pair it returns the private key as PKCS #8 PEM,
// once; it is never stored. Human users are FailedPrecondition.
func (s *Service) AddMachineKey(ctx context.Context, actor string, ref Ref, in *NewMachineKey) (*iam.MachineKey, string, error) {
	now := s.clock()
	var fe iam.FieldErrors
	checkExpiry(&fe, in.ExpiresAt, now)
	var publicPEM, privatePEM string
	if strings.TrimSpace(in.PublicKeyPEM) != "" {
		p, problem := parsePublicKey(in.PublicKeyPEM)
		if problem != "" {
			fe.Add("public_key_pem", "%s", problem)
		}
		publicPEM = p
	}
	if err := fe.Err(); err != nil {
		return nil, "", err
	}
	// Check the user before spending time on a key pair.
	if u, err := s.Get(ctx, ref); err != nil {
		return nil, "", err
	} else if u.Type != iam.UserMachine {
		return nil, "", errMachineOnly
	}
	generated := publicPEM == ""
	if generated {
		var err error
		if publicPEM, privatePEM, err = generateRSA(); err != nil {
			return nil, "", &iam.Error{Code: iam.Internal, Message: "internal error", Err: err}
		}
	}
	id := in.ID
	if id == "" {
		id = iam.NewID()
	}
	var out *iam.MachineKey
	_, err := s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		if u.Type != iam.UserMachine {
			return nil, nil, errMachineOnly
		}
		k, err := tx.MachineKeyCreate(ctx, &store.MachineKeyCreateParams{
			Key: &iam.MachineKey{ID: id, InstanceID: u.InstanceID, UserID: u.ID, PublicKeyPEM: publicPEM, ExpiresAt: in.ExpiresAt.UTC()},
			Now: now,
		})
		if err != nil {
			return nil, nil, err
		}
		out = k
		return u, &event{iam.EventUserKeyAdded, map[string]any{"key_id": k.ID, "expires_at": k.ExpiresAt, "generated": generated}}, nil
	})
	if err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return nil, "", &iam.Error{Code: iam.AlreadyExists, Message: "the machine key already exists", Err: err}
		}
		return nil, "", err
	}
	return out, privatePEM, nil
}

// ListMachineKeys returns up to limit keys of the user named by ref, ordered
// by ID after afterID.
func (s *Service) ListMachineKeys(ctx context.Context, ref Ref, afterID string, limit int) ([]*iam.MachineKey, error) {
	u, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	list, err := s.store.MachineKeyList(ctx, &store.MachineKeyListParams{InstanceID: u.InstanceID, UserID: u.ID, AfterID: afterID, Limit: limit})
	if err != nil {
		return nil, store.DomainError(err, "machine keys")
	}
	return list, nil
}

// RemoveMachineKey deletes a key of the user named by ref, with a
// "user.key_removed" event.
func (s *Service) RemoveMachineKey(ctx context.Context, actor string, ref Ref, keyID string) error {
	_, err := s.mutate(ctx, actor, ref, func(tx store.Queries, u *iam.User, now time.Time) (*iam.User, *event, error) {
		err := tx.MachineKeyDelete(ctx, &store.MachineKeyDeleteParams{InstanceID: u.InstanceID, UserID: u.ID, ID: keyID})
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, &iam.Error{Code: iam.NotFound, Field: "key_id", Message: "machine key not found", Err: err}
		}
		if err != nil {
			return nil, nil, err
		}
		return u, &event{iam.EventUserKeyRemoved, map[string]any{"key_id": keyID}}, nil
	})
	return err
}

// maxTokenLength bounds tokens accepted anywhere.
const maxTokenLength = 512

// maxPublicKeyPEM bounds the PEM input (an RSA-8192 key is about 1.5 KB).
const maxPublicKeyPEM = 16 << 10

// parsePublicKey accepts one PKIX public key in PEM, RSA of 2048 to 8192
// bits or ECDSA P-256, and returns it re-encoded canonically, or a problem.
func parsePublicKey(in string) (string, string) {
	if len(in) > maxPublicKeyPEM {
		return "", "is too long for a public key"
	}
	block, rest := pem.Decode([]byte(strings.TrimSpace(in)))
	if block == nil {
		return "", "is not PEM; want -----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----"
	}
	if block.Type != "PUBLIC KEY" {
		return "", "is a " + block.Type + "; want a PUBLIC KEY (PKIX) block"
	}
	if strings.TrimSpace(string(rest)) != "" {
		return "", "must hold exactly one PEM block"
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return "", "is not a valid PKIX public key"
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 8192 {
			return "", "RSA keys must have 2048 to 8192 bits"
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", "ECDSA keys must use the P-256 curve"
		}
	default:
		return "", "must be an RSA (2048 bits or more) or ECDSA P-256 key"
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: block.Bytes})), ""
}

// generateRSA returns a new RSA-2048 key pair as PKIX public and PKCS #8
// private PEM.
func generateRSA() (string, string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", err
	}
	priv, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})), nil
}
