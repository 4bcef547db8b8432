package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	rcrypto "github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Signing algorithms a deployment may choose for new keys.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// MaxSignedTokenLifetime bounds the lifetime of every token signed with a
// key (JWT access tokens and ID tokens): a key stays published this long
// after it stopped signing, so every token it signed can still be verified.
var MaxSignedTokenLifetime = max(iam.MaxAccessTokenLifetime, iam.MaxIDTokenLifetime) + 5*time.Minute

// KeyOptions configure the signing keys.
type KeyOptions struct {
	// Algorithm of new keys: RS256 (default) or ES256. Existing keys keep
	// theirs.
	Algorithm string
	// Rotation is how long a key signs; default 30 days.
	Rotation time.Duration
	// Lead is how long before the end of a key's window its successor is
	// published in JWKS, so that verifiers that cache the key set know it
	// in time; default 24h. Ensure must run at least every Lead/4 (the
	// job leader does) for the successor to be published at least 3/4 Lead
	// ahead.
	Lead time.Duration
	// Refresh is the safety limit on how long a node trusts its in-memory
	// key set without reloading it (besides invalidations); default 5m.
	Refresh time.Duration
}

func (o *KeyOptions) defaults() {
	if o.Algorithm == "" {
		o.Algorithm = RS256
	}
	if o.Rotation <= 0 {
		o.Rotation = 30 * 24 * time.Hour
	}
	if o.Lead <= 0 {
		o.Lead = 24 * time.Hour
	}
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Minute
	}
}

// ValidAlgorithm reports whether alg may be configured for new keys.
func ValidAlgorithm(alg string) bool { return alg == RS256 || alg == ES256 }

// Key is a loaded signing key: its private key decrypted in memory.
type Key struct {
	ID         string
	Generation int64
	Algorithm  jose.SignatureAlgorithm
	Private    crypto.Signer
	Public     crypto.PublicKey
	NotBefore  time.Time
	NotAfter   time.Time
	RetireAt   time.Time
}

// KeySet is the set of published keys at one moment.
type KeySet struct {
	Keys     []*Key // by generation, oldest first
	loadedAt time.Time
}

// Signer returns the key that signs at now: the newest key whose signing
// window contains now; if none does (the rotation is overdue, which Set
// repairs at once), the newest key that has started signing, so that
// issuance does not stop for the moments until the successor exists.
func (s *KeySet) Signer(now time.Time) *Key {
	var fallback *Key
	for i := len(s.Keys) - 1; i >= 0; i-- {
		k := s.Keys[i]
		if k.NotBefore.After(now) {
			continue
		}
		if now.Before(k.NotAfter) {
			return k
		}
		if fallback == nil {
			fallback = k
		}
	}
	return fallback
}

// Keys manages the token signing keys: it keeps the published key set in
// memory (no database round trip for JWKS, discovery or signing), reloads
// it when another node announces a change (TopicSigningKeys) or after
// Refresh, and creates keys — only ever through a generation number that
// the database keeps unique, so nodes racing to create a key create it once.
type Keys struct {
	st   store.Store
	kr   *rcrypto.Keyring
	opts KeyOptions
	now  func() time.Time
	log  *slog.Logger

	mu    sync.Mutex
	set   *KeySet
	stale bool
	// repairing is set while a background Ensure repairs an overdue
	// rotation.
	repairing atomic.Bool
}

// NewKeys returns a key manager. Call Ensure before serving.
func NewKeys(st store.Store, kr *rcrypto.Keyring, opts KeyOptions, now func() time.Time, log *slog.Logger) *Keys {
	opts.defaults()
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keys{st: st, kr: kr, opts: opts, now: now, log: log}
}

// Invalidate marks the in-memory key set stale: the next use reloads it.
// It is the TopicSigningKeys handler, and Suspend/Resume make Keys a
// cache.Member so that a node that cannot hear invalidations reloads.
func (k *Keys) Invalidate(string) {
	k.mu.Lock()
	k.stale = true
	k.mu.Unlock()
}

// Suspend implements cache.Member.
func (k *Keys) Suspend() { k.Invalidate("") }

// Resume implements cache.Member.
func (k *Keys) Resume() { k.Invalidate("") }

// Set returns the published key set, loading it if stale.
func (k *Keys) Set(ctx context.Context) (*KeySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if k.set != nil && !k.stale && now.Sub(k.set.loadedAt) < k.opts.Refresh {
		return k.set, nil
	}
	set, err := k.load(ctx, now)
	if err != nil {
		if k.set != nil {
			// Keep signing with what we have; keys change rarely.
			k.log.Warn("reloading signing keys failed; using the loaded ones", "err", err)
			return k.set, nil
		}
		return nil, err
	}
	k.set, k.stale = set, false
	k.repairIfOverdue(set, now)
	return set, nil
}

// repairIfOverdue runs Ensure in the background when no key's window
// contains now: whichever node notices first creates the successor (the
// unique generation keeps it to one), so an overdue rotation lasts
// moments, not until the next periodic run.
func (k *Keys) repairIfOverdue(set *KeySet, now time.Time) {
	if s := set.Signer(now); s != nil && now.Before(s.NotAfter) {
		return
	}
	if !k.repairing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer k.repairing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := k.Ensure(ctx); err != nil {
			k.log.Warn("repairing an overdue signing key rotation failed", "err", err)
		}
	}()
}

func (k *Keys) load(ctx context.Context, now time.Time) (*KeySet, error) {
	rows, err := k.st.SigningKeyList(ctx, &store.SigningKeyListParams{Now: now})
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	set := &KeySet{loadedAt: now}
	for _, r := range rows {
		key, err := k.decode(r)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.ID, err)
		}
		set.Keys = append(set.Keys, key)
	}
	return set, nil
}

func (k *Keys) decode(r *iam.SigningKey) (*Key, error) {
	der, err := k.kr.Decrypt(r.PrivateKey, []byte("signing-key:"+r.ID))
	if err != nil {
		return nil, err
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return &Key{
		ID: r.ID, Generation: r.Generation, Algorithm: jose.SignatureAlgorithm(r.Algorithm), Private: signer, Public: signer.Public(),
		NotBefore: r.NotBefore, NotAfter: r.NotAfter, RetireAt: r.RetireAt,
	}, nil
}

// Ensure makes sure a key signs now and that its successor is published
// Lead before it takes over. It is idempotent and safe to run on many nodes
// at once: a key is created under a generation number the database keeps
// unique, and the loser of a race simply reloads. Nodes run it once at
// start (so that a fresh deployment has a key before it is ready); the
// elected job leader runs it periodically (rotation).
func (k *Keys) Ensure(ctx context.Context) error {
	now := k.now()
	set, err := k.load(ctx, now)
	if err != nil {
		return err
	}
	var newest *Key
	if n := len(set.Keys); n > 0 {
		newest = set.Keys[n-1]
	}
	var notBefore time.Time
	switch {
	case newest == nil:
		// The very first key: nothing was ever signed, so it may sign at once.
		notBefore = now
	case !now.Before(newest.NotAfter):
		// Overdue (no node ran the rotation, e.g. the cluster was down over
		// the end of the window): the successor signs at once. Waiting a
		// lead time would let the old key sign past its window, and its
		// tokens could outlive its publication.
		notBefore = now
		k.log.Warn("signing key rotation overdue: the new key signs at once", "overdue", now.Sub(newest.NotAfter).String())
	case newest.NotAfter.Sub(now) <= k.opts.Lead:
		// Publish the successor now; it takes over exactly where the newest
		// key's window ends, so no key ever signs outside its window.
		notBefore = newest.NotAfter
	default:
		k.setLoaded(set)
		return nil
	}
	// The first key's generation is derived from the clock in whole
	// rotation periods: nodes starting together on an empty table race for
	// the same number (one wins), and it never collides with retired keys of
	// an earlier life of the deployment that cleanup has not removed yet.
	gen := now.Unix() / int64(k.opts.Rotation/time.Second+1)
	if newest != nil {
		gen = newest.Generation + 1
	}
	row, err := k.generate(gen, now, notBefore)
	if err != nil {
		return err
	}
	err = k.st.WithTx(ctx, func(tx store.Queries) error {
		if err := tx.SigningKeyCreate(ctx, &store.SigningKeyCreateParams{Key: row}); err != nil {
			return err
		}
		return tx.CacheInvalidate(ctx, store.TopicSigningKeys, "")
	})
	switch {
	case errors.Is(err, store.ErrAlreadyExists):
		k.log.Debug("another node created the signing key first", "generation", gen)
	case err != nil:
		return fmt.Errorf("create signing key: %w", err)
	default:
		k.log.Info("created a signing key", "kid", row.ID, "algorithm", row.Algorithm, "generation", gen,
			"signs_from", row.NotBefore, "signs_until", row.NotAfter)
	}
	set, err = k.load(ctx, now)
	if err != nil {
		return err
	}
	k.setLoaded(set)
	return nil
}

func (k *Keys) setLoaded(set *KeySet) {
	k.mu.Lock()
	k.set, k.stale = set, false
	k.mu.Unlock()
}

func (k *Keys) generate(gen int64, now, notBefore time.Time) (*iam.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch k.opts.Algorithm {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", k.opts.Algorithm)
	}
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	id := iam.NewID()
	enc, err := k.kr.Encrypt(der, []byte("signing-key:"+id))
	if err != nil {
		return nil, err
	}
	pub, err := json.Marshal(jose.JSONWebKey{Key: priv.Public(), KeyID: id, Algorithm: k.opts.Algorithm, Use: "sig"})
	if err != nil {
		return nil, err
	}
	notAfter := notBefore.Add(k.opts.Rotation)
	return &iam.SigningKey{
		ID: id, Generation: gen, Algorithm: k.opts.Algorithm, PrivateKey: enc, PublicKey: pub,
		CreatedAt: now, NotBefore: notBefore, NotAfter: notAfter, RetireAt: notAfter.Add(MaxSignedTokenLifetime),
	}, nil
}
