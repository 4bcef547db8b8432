package project

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// MaxApplicationKeys bounds the public keys of one application: enough to
// rotate keys with overlap, few enough to try each one on a client
// assertion without a "kid".
const MaxApplicationKeys = 10

// Audit event types of application keys; their aggregate is the
// application.
const (
	EventAppKeyAdded   = "app.key_added"
	EventAppKeyRemoved = "app.key_removed"
)

// maxPublicKeyPEM bounds the PEM input (an RSA-8192 key is about 1.5 KB).
const maxPublicKeyPEM = 16 << 10

// PublicKey is a public key that passed ParsePublicKey.
type PublicKey struct {
	// PEM is the canonical encoding: one "PUBLIC KEY" block holding the
	// PKIX DER as Go re-marshals it. Two inputs describe the same key
	// exactly when their PEMs are equal.
	PEM string
	// Type describes the key for people and audit events, e.g. "RSA-2048"
	// or "EC P-256".
	Type string
	// RSA is set for RSA keys; Curve names the curve of ECDSA keys
	// ("P-256") and is "" for RSA.
	RSA   bool
	Curve string
}

// ParsePublicKey accepts one PKIX public key in PEM ("-----BEGIN PUBLIC
// KEY-----"): RSA of 2048 to 8192 bits or ECDSA on P-256, the keys of the
// JWS algorithms the token endpoint verifies client assertions with (RS256,
// PS256, ES256; RFC 7518 §3.1). Surrounding white space is ignored. The
// error is an iam.Invalid naming the field public_key_pem.
func ParsePublicKey(in string) (*PublicKey, error) {
	invalid := func(msg string) error {
		return &iam.Error{Code: iam.Invalid, Field: "public_key_pem", Message: msg}
	}
	if strings.TrimSpace(in) == "" {
		return nil, invalid("required")
	}
	if len(in) > maxPublicKeyPEM {
		return nil, invalid("is too long for a public key")
	}
	block, rest := pem.Decode([]byte(strings.TrimSpace(in)))
	if block == nil {
		return nil, invalid("is not PEM; want -----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, invalid("is a " + block.Type + "; want a PUBLIC KEY (PKIX) block")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, invalid("must hold exactly one PEM block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, invalid("is not a valid PKIX public key")
	}
	out := &PublicKey{}
	switch k := key.(type) {
	case *rsa.PublicKey:
		n := k.N.BitLen()
		if n < 2048 || n > 8192 {
			return nil, invalid("RSA keys must have 2048 to 8192 bits")
		}
		out.RSA, out.Type = true, fmt.Sprintf("RSA-%d", n)
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			out.Curve = k.Curve.Params().Name
			out.Type = "EC " + out.Curve
		default:
			return nil, invalid("ECDSA keys must use the P-256 curve (ES256)")
		}
	default:
		return nil, invalid("must be an RSA (2048 bits or more) or ECDSA P-256 key")
	}
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, invalid("is not a valid PKIX public key")
	}
	out.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return out, nil
}

// AddApplicationKey registers a public key the application (instanceID,
// orgID, projectID, appID) signs its client assertions with (auth method
// private_key_jwt, RFC 7523 §2.2), with an "app.key_added" event. The key
// is validated by ParsePublicKey and stored in its canonical PEM;
// expiresAt is optional (zero: the key does not expire) and must be in the
// future.
//
// Keys may be added while the application still uses another confidential
// auth method (to switch without downtime); public applications (native,
// SPA) never authenticate and get FailedPrecondition. An application holds
// at most MaxApplicationKeys keys (FailedPrecondition beyond), and the same
// key twice is AlreadyExists.
func (s *Service) AddApplicationKey(ctx context.Context, actor, instanceID, orgID, projectID, appID, publicKeyPEM string, expiresAt time.Time) (*iam.ApplicationKey, error) {
	if err := required("org_id", orgID, "project_id", projectID, "app_id", appID); err != nil {
		return nil, err
	}
	now := s.clock()
	var fe iam.FieldErrors
	key, err := ParsePublicKey(publicKeyPEM)
	if err != nil {
		var ie *iam.Error
		if !errors.As(err, &ie) {
			return nil, err
		}
		fe = append(fe, ie)
	}
	if !expiresAt.IsZero() && !expiresAt.After(now) {
		fe.Add("expires_at", "must be in the future (or unset: the key does not expire)")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	var out *iam.ApplicationKey
	err = s.store.WithTx(ctx, func(tx store.Queries) error {
		app, err := tx.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: appID})
		if err != nil {
			return notFound(err, "app_id", "application")
		}
		if app.Public() {
			return iam.Errorf(iam.FailedPrecondition, "%s applications are public clients and do not authenticate; only confidential applications have keys", app.Type)
		}
		existing, err := tx.ApplicationKeyList(ctx, &store.ApplicationKeyListParams{InstanceID: instanceID, AppID: app.ID})
		if err != nil {
			return err
		}
		for _, k := range existing {
			if same, err := ParsePublicKey(k.PublicKeyPEM); err == nil && same.PEM == key.PEM {
				return &iam.Error{Code: iam.AlreadyExists, Field: "public_key_pem", Message: "the application has this key already (key " + k.ID + ")"}
			}
		}
		if len(existing) >= MaxApplicationKeys {
			return iam.Errorf(iam.FailedPrecondition, "an application has at most %d keys; remove one first", MaxApplicationKeys)
		}
		created, err := tx.ApplicationKeyCreate(ctx, &store.ApplicationKeyCreateParams{
			Key: &iam.ApplicationKey{ID: iam.NewID(), InstanceID: instanceID, AppID: app.ID, PublicKeyPEM: key.PEM, ExpiresAt: expiresAt.UTC()},
			Now: now,
		})
		if err != nil {
			return err
		}
		out = created
		// Whoever caches what authenticates the client hears of the change.
		if err := invalidateApp(ctx, tx, app); err != nil {
			return err
		}
		payload := map[string]any{"key_id": created.ID, "client_id": app.ClientID, "key_type": key.Type, "expires_at": nil}
		if !created.ExpiresAt.IsZero() {
			payload["expires_at"] = created.ExpiresAt
		}
		return appEvent(ctx, tx, actor, app, EventAppKeyAdded, payload, now)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, &iam.Error{Code: iam.AlreadyExists, Field: "public_key_pem", Message: "the application has this key already", Err: err}
	}
	if err != nil {
		return nil, store.DomainError(err, "application key")
	}
	return out, nil
}

// ListApplicationKeysParams select the keys of an application.
type ListApplicationKeysParams struct {
	InstanceID string
	OrgID      string
	ProjectID  string
	AppID      string
	// AfterID is the cursor: the ID of the last key of the previous page.
	// Results are ordered by ID.
	AfterID string
	// Limit bounds the page; 0 returns every key (at most
	// MaxApplicationKeys).
	Limit int
}

// ListApplicationKeys returns the keys of the application, expired ones
// included, ordered by ID after the cursor; NotFound (naming app_id) if
// the project of the organization has no such application.
func (s *Service) ListApplicationKeys(ctx context.Context, p ListApplicationKeysParams) ([]*iam.ApplicationKey, error) {
	if err := required("org_id", p.OrgID, "project_id", p.ProjectID, "app_id", p.AppID); err != nil {
		return nil, err
	}
	// The key queries know the instance and application only: check that
	// the application belongs to the organization and project named.
	app, err := s.store.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: p.InstanceID, OrgID: p.OrgID, ProjectID: p.ProjectID, ID: p.AppID})
	if err != nil {
		return nil, store.DomainError(notFound(err, "app_id", "application"), "application")
	}
	list, err := s.store.ApplicationKeyList(ctx, &store.ApplicationKeyListParams{InstanceID: p.InstanceID, AppID: app.ID})
	if err != nil {
		return nil, store.DomainError(err, "application keys")
	}
	out := make([]*iam.ApplicationKey, 0, len(list))
	for _, k := range list {
		if k.ID > p.AfterID {
			out = append(out, k)
		}
	}
	if p.Limit > 0 && len(out) > p.Limit {
		out = out[:p.Limit]
	}
	return out, nil
}

// RemoveApplicationKey deletes a key of the application, with an
// "app.key_removed" event; the key stops authenticating the client at
// once. NotFound names app_id or key_id.
func (s *Service) RemoveApplicationKey(ctx context.Context, actor, instanceID, orgID, projectID, appID, keyID string) error {
	if err := required("org_id", orgID, "project_id", projectID, "app_id", appID, "key_id", keyID); err != nil {
		return err
	}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		app, err := tx.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: appID})
		if err != nil {
			return notFound(err, "app_id", "application")
		}
		if err := tx.ApplicationKeyDelete(ctx, &store.ApplicationKeyDeleteParams{InstanceID: instanceID, AppID: app.ID, ID: keyID}); err != nil {
			return notFound(err, "key_id", "application key")
		}
		if err := invalidateApp(ctx, tx, app); err != nil {
			return err
		}
		return appEvent(ctx, tx, actor, app, EventAppKeyRemoved, map[string]any{"key_id": keyID, "client_id": app.ClientID}, s.clock())
	})
	return store.DomainError(err, "application key")
}
