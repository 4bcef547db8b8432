package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// nullMicros binds an optional time: NULL for the zero time.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

// fromNullMicros reads an optional time: the zero time for NULL.
func fromNullMicros(us *int64) time.Time {
	if us == nil {
		return time.Time{}
	}
	return fromMicros(*us)
}

// nullText binds an optional reference: NULL for "".
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// fromNullText reads an optional reference: "" for NULL.
func fromNullText(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// listColumn is a JSON list column to decode into dst.
type listColumn struct {
	dst *[]string
	src string
}

// decodeLists decodes JSON list columns, nil for empty lists.
func decodeLists(what string, cols ...listColumn) error {
	for _, c := range cols {
		l, err := projFromJSON(c.src, what)
		if err != nil {
			return err
		}
		if len(l) == 0 {
			l = nil
		}
		*c.dst = l
	}
	return nil
}

const authRequestColumns = `instance_id, id, client_id, redirect_uri, scopes, state, nonce, response_type, response_mode,
	code_challenge, code_challenge_method, prompt, max_age, login_hint, ui_locales, user_id, auth_time, amr, done,
	code_hash, code_used_at, created_at, expires_at`

func scanAuthRequest(row interface{ Scan(...any) error }) (*iam.AuthRequest, error) {
	var r iam.AuthRequest
	var scopes, prompt, locales, amr string
	var userID *string
	var authTime, usedAt *int64
	var created, expires int64
	if err := row.Scan(&r.InstanceID, &r.ID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce, &r.ResponseType,
		&r.ResponseMode, &r.CodeChallenge, &r.CodeChallengeMethod, &prompt, &r.MaxAge, &r.LoginHint, &locales,
		&userID, &authTime, &amr, &r.Done, &r.CodeHash, &usedAt, &created, &expires); err != nil {
		return nil, mapErr(err)
	}
	if err := decodeLists("auth request lists", listColumn{&r.Scopes, scopes}, listColumn{&r.Prompt, prompt},
		listColumn{&r.UILocales, locales}, listColumn{&r.AMR, amr}); err != nil {
		return nil, err
	}
	if len(r.CodeHash) == 0 {
		r.CodeHash = nil
	}
	r.UserID = fromNullText(userID)
	r.AuthTime, r.CodeUsedAt = fromNullMicros(authTime), fromNullMicros(usedAt)
	r.CreatedAt, r.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &r, nil
}

// AuthRequestCreate implements store.OIDCQueries.
func (q *queries) AuthRequestCreate(ctx context.Context, p *store.AuthRequestCreateParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		r := p.Request
		_, err := q.db.ExecContext(ctx, `INSERT INTO oidc_auth_requests (`+authRequestColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.InstanceID, r.ID, r.ClientID, r.RedirectURI, projJSON(r.Scopes), r.State, r.Nonce, r.ResponseType,
			r.ResponseMode, r.CodeChallenge, r.CodeChallengeMethod, projJSON(r.Prompt), r.MaxAge, r.LoginHint,
			projJSON(r.UILocales), nullText(r.UserID), nullMicros(r.AuthTime), projJSON(r.AMR), r.Done,
			projBlob(r.CodeHash), nullMicros(r.CodeUsedAt), micros(r.CreatedAt), micros(r.ExpiresAt))
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: insert auth request: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// AuthRequestGet implements store.OIDCQueries.
func (q *queries) AuthRequestGet(ctx context.Context, p *store.AuthRequestGetParams) (*iam.AuthRequest, error) {
	return scanAuthRequest(q.db.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests
		WHERE instance_id = ? AND id = ? AND expires_at > ?`, p.InstanceID, p.ID, micros(p.Now)))
}

// AuthRequestComplete implements store.OIDCQueries.
func (q *queries) AuthRequestComplete(ctx context.Context, p *store.AuthRequestCompleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `UPDATE oidc_auth_requests SET user_id = ?, auth_time = ?, amr = ?, done = 1
			WHERE instance_id = ? AND id = ? AND expires_at > ? AND done = 0`,
			nullText(p.UserID), nullMicros(p.AuthTime), projJSON(p.AMR), p.InstanceID, p.ID, micros(p.Now))
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: complete auth request: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, store.ErrNotFound
		}
		return struct{}{}, nil
	})
	return err
}

// AuthRequestSetCode implements store.OIDCQueries: one UPDATE; only when it
// changes nothing does a second query tell ErrNotFound from ErrConflict.
func (q *queries) AuthRequestSetCode(ctx context.Context, p *store.AuthRequestSetCodeParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		now := micros(p.Now)
		res, err := q.db.ExecContext(ctx, `UPDATE oidc_auth_requests SET code_hash = ?
			WHERE instance_id = ? AND id = ? AND expires_at > ? AND done = 1 AND code_hash IS NULL`,
			projBlob(p.CodeHash), p.InstanceID, p.ID, now)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: set auth request code: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return struct{}{}, nil
		}
		var one int
		err = q.db.QueryRowContext(ctx, `SELECT 1 FROM oidc_auth_requests WHERE instance_id = ? AND id = ? AND expires_at > ?`,
			p.InstanceID, p.ID, now).Scan(&one)
		if err != nil {
			return struct{}{}, mapErr(err)
		}
		return struct{}{}, store.ErrConflict
	})
	return err
}

// AuthRequestRedeemCode implements store.OIDCQueries: one UPDATE ...
// RETURNING; only when it matches nothing does a second query tell a replay
// (ErrConflict) from an unknown or expired code (ErrNotFound).
func (q *queries) AuthRequestRedeemCode(ctx context.Context, p *store.AuthRequestRedeemCodeParams) (*iam.AuthRequest, error) {
	return write(ctx, q, func(q *queries) (*iam.AuthRequest, error) {
		now := micros(p.Now)
		r, err := scanAuthRequest(q.db.QueryRowContext(ctx, `UPDATE oidc_auth_requests SET code_used_at = ?
			WHERE instance_id = ? AND code_hash = ? AND expires_at > ? AND code_used_at IS NULL
			RETURNING `+authRequestColumns, now, p.InstanceID, p.CodeHash, now))
		if !errors.Is(err, store.ErrNotFound) {
			return r, err
		}
		r, err = scanAuthRequest(q.db.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests
			WHERE instance_id = ? AND code_hash = ? AND expires_at > ?`, p.InstanceID, p.CodeHash, now))
		if err != nil {
			return nil, err
		}
		return r, store.ErrConflict
	})
}

// AuthRequestDelete implements store.OIDCQueries.
func (q *queries) AuthRequestDelete(ctx context.Context, p *store.AuthRequestDeleteParams) error {
	return q.deleteOne(ctx, "auth request", `DELETE FROM oidc_auth_requests WHERE instance_id = ? AND id = ?`, p.InstanceID, p.ID)
}

// deleteOne runs a DELETE of one row; ErrNotFound if it deleted none.
func (q *queries) deleteOne(ctx context.Context, what, query string, args ...any) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, query, args...)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete %s: %w", what, mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, store.ErrNotFound
		}
		return struct{}{}, nil
	})
	return err
}

const refreshTokenColumns = `instance_id, id, family_id, token_hash, client_id, user_id, scopes, audience, amr, auth_time,
	created_at, expires_at, used_at`

func scanRefreshToken(row interface{ Scan(...any) error }) (*iam.RefreshToken, error) {
	var r iam.RefreshToken
	var scopes, audience, amr string
	var userID *string
	var authTime, usedAt *int64
	var created, expires int64
	if err := row.Scan(&r.InstanceID, &r.ID, &r.FamilyID, &r.TokenHash, &r.ClientID, &userID, &scopes, &audience, &amr,
		&authTime, &created, &expires, &usedAt); err != nil {
		return nil, mapErr(err)
	}
	if err := decodeLists("refresh token lists", listColumn{&r.Scopes, scopes}, listColumn{&r.Audience, audience}, listColumn{&r.AMR, amr}); err != nil {
		return nil, err
	}
	r.UserID = fromNullText(userID)
	r.AuthTime, r.UsedAt = fromNullMicros(authTime), fromNullMicros(usedAt)
	r.CreatedAt, r.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &r, nil
}

// RefreshTokenCreate implements store.OIDCQueries.
func (q *queries) RefreshTokenCreate(ctx context.Context, p *store.RefreshTokenCreateParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		r := p.Token
		_, err := q.db.ExecContext(ctx, `INSERT INTO oidc_refresh_tokens (`+refreshTokenColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.InstanceID, r.ID, r.FamilyID, r.TokenHash, r.ClientID, nullText(r.UserID), projJSON(r.Scopes),
			projJSON(r.Audience), projJSON(r.AMR), nullMicros(r.AuthTime), micros(r.CreatedAt), micros(r.ExpiresAt),
			nullMicros(r.UsedAt))
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: insert refresh token: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// RefreshTokenGetByHash implements store.OIDCQueries.
func (q *queries) RefreshTokenGetByHash(ctx context.Context, p *store.RefreshTokenGetByHashParams) (*iam.RefreshToken, error) {
	return scanRefreshToken(q.db.QueryRowContext(ctx, `SELECT `+refreshTokenColumns+` FROM oidc_refresh_tokens
		WHERE instance_id = ? AND token_hash = ?`, p.InstanceID, p.TokenHash))
}

// RefreshTokenMarkUsed implements store.OIDCQueries: one UPDATE; only when
// it changes nothing does a second query tell ErrNotFound from ErrConflict.
func (q *queries) RefreshTokenMarkUsed(ctx context.Context, p *store.RefreshTokenMarkUsedParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `UPDATE oidc_refresh_tokens SET used_at = ?
			WHERE instance_id = ? AND id = ? AND used_at IS NULL`, micros(p.Now), p.InstanceID, p.ID)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: mark refresh token used: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return struct{}{}, nil
		}
		var one int
		if err := q.db.QueryRowContext(ctx, `SELECT 1 FROM oidc_refresh_tokens WHERE instance_id = ? AND id = ?`,
			p.InstanceID, p.ID).Scan(&one); err != nil {
			return struct{}{}, mapErr(err)
		}
		return struct{}{}, store.ErrConflict
	})
	return err
}

// RefreshTokenDeleteFamily implements store.OIDCQueries.
func (q *queries) RefreshTokenDeleteFamily(ctx context.Context, p *store.RefreshTokenDeleteFamilyParams) (int, error) {
	return write(ctx, q, func(q *queries) (int, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM oidc_refresh_tokens WHERE instance_id = ? AND family_id = ?`,
			p.InstanceID, p.FamilyID)
		if err != nil {
			return 0, fmt.Errorf("sqlite: delete refresh token family: %w", mapErr(err))
		}
		n, err := res.RowsAffected()
		return int(n), mapErr(err)
	})
}

// RefreshTokenDeleteByUserClient implements store.OIDCQueries. The families
// are returned sorted.
func (q *queries) RefreshTokenDeleteByUserClient(ctx context.Context, p *store.RefreshTokenDeleteByUserClientParams) ([]string, error) {
	return write(ctx, q, func(q *queries) ([]string, error) {
		rows, err := q.db.QueryContext(ctx, `DELETE FROM oidc_refresh_tokens WHERE instance_id = ? AND user_id = ? AND client_id = ?
			RETURNING family_id`, p.InstanceID, p.UserID, p.ClientID)
		if err != nil {
			return nil, fmt.Errorf("sqlite: delete refresh tokens of user: %w", mapErr(err))
		}
		defer rows.Close()
		var families []string
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				return nil, fmt.Errorf("sqlite: delete refresh tokens of user: %w", mapErr(err))
			}
			families = append(families, f)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: delete refresh tokens of user: %w", mapErr(err))
		}
		slices.Sort(families)
		return slices.Compact(families), nil
	})
}

const accessTokenColumns = `instance_id, id, family_id, client_id, subject, scopes, audience, created_at, expires_at`

// AccessTokenCreate implements store.OIDCQueries.
func (q *queries) AccessTokenCreate(ctx context.Context, p *store.AccessTokenCreateParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		a := p.Token
		_, err := q.db.ExecContext(ctx, `INSERT INTO oidc_access_tokens (`+accessTokenColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.InstanceID, a.ID, a.FamilyID, a.ClientID, a.Subject, projJSON(a.Scopes), projJSON(a.Audience),
			micros(a.CreatedAt), micros(a.ExpiresAt))
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: insert access token: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// AccessTokenDelete implements store.OIDCQueries.
func (q *queries) AccessTokenDelete(ctx context.Context, p *store.AccessTokenDeleteParams) error {
	return q.deleteOne(ctx, "access token", `DELETE FROM oidc_access_tokens WHERE instance_id = ? AND id = ?`, p.InstanceID, p.ID)
}

// RevocationCreate implements store.OIDCQueries.
func (q *queries) RevocationCreate(ctx context.Context, p *store.RevocationCreateParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		_, err := q.db.ExecContext(ctx, `INSERT INTO oidc_revocations (instance_id, id, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (instance_id, id) DO UPDATE SET expires_at = MAX(oidc_revocations.expires_at, excluded.expires_at)`,
			p.InstanceID, p.ID, micros(p.ExpiresAt))
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: insert revocation: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// TokenStatus implements store.OIDCQueries in one statement: scalar
// subqueries for the revocation and the user, each an index seek, and a
// left join for the opaque token's record (which matches nothing unless
// asked for).
func (q *queries) TokenStatus(ctx context.Context, p *store.TokenStatusParams) (*store.TokenStatus, error) {
	var revoked bool
	var userState *string
	var id, family, client, subject, scopes, audience *string
	var created, expires *int64
	err := q.db.QueryRowContext(ctx, `SELECT
			EXISTS (SELECT 1 FROM oidc_revocations WHERE instance_id = ?1 AND id IN (?2, ?3) AND expires_at > ?6),
			(SELECT state FROM users WHERE instance_id = ?1 AND id = ?4),
			a.id, a.family_id, a.client_id, a.subject, a.scopes, a.audience, a.created_at, a.expires_at
		FROM (SELECT 1) one LEFT JOIN oidc_access_tokens a ON ?5 AND a.instance_id = ?1 AND a.id = ?2 AND a.expires_at > ?6`,
		p.InstanceID, p.TokenID, p.FamilyID, p.UserID, p.Opaque, micros(p.Now)).
		Scan(&revoked, &userState, &id, &family, &client, &subject, &scopes, &audience, &created, &expires)
	if err != nil {
		return nil, fmt.Errorf("sqlite: token status: %w", mapErr(err))
	}
	st := &store.TokenStatus{Revoked: revoked, UserState: iam.UserState(fromNullText(userState))}
	if id != nil {
		a := &iam.AccessToken{ID: *id, InstanceID: p.InstanceID, FamilyID: *family, ClientID: *client, Subject: *subject,
			CreatedAt: fromNullMicros(created), ExpiresAt: fromNullMicros(expires)}
		if err := decodeLists("access token lists", listColumn{&a.Scopes, *scopes}, listColumn{&a.Audience, *audience}); err != nil {
			return nil, err
		}
		st.Opaque = a
	}
	return st, nil
}

const deviceAuthColumns = `instance_id, device_code_hash, user_code, client_id, scopes, state, user_id, auth_time, amr,
	created_at, expires_at`

func scanDeviceAuth(row interface{ Scan(...any) error }) (*iam.DeviceAuthorization, error) {
	var d iam.DeviceAuthorization
	var scopes, amr string
	var userID *string
	var authTime *int64
	var created, expires int64
	if err := row.Scan(&d.InstanceID, &d.DeviceCodeHash, &d.UserCode, &d.ClientID, &scopes, &d.State, &userID,
		&authTime, &amr, &created, &expires); err != nil {
		return nil, mapErr(err)
	}
	if err := decodeLists("device authorization lists", listColumn{&d.Scopes, scopes}, listColumn{&d.AMR, amr}); err != nil {
		return nil, err
	}
	d.UserID, d.AuthTime = fromNullText(userID), fromNullMicros(authTime)
	d.CreatedAt, d.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &d, nil
}

// DeviceAuthorizationCreate implements store.OIDCQueries in one statement:
// an expired authorization holding the user code is replaced by the new
// one (an upsert conditional on its expiry); an unexpired one is left
// alone, and then nothing changed means ErrAlreadyExists.
func (q *queries) DeviceAuthorizationCreate(ctx context.Context, p *store.DeviceAuthorizationCreateParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		d := p.Auth
		res, err := q.db.ExecContext(ctx, `INSERT INTO oidc_device_authorizations (`+deviceAuthColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (instance_id, user_code) DO UPDATE SET device_code_hash = excluded.device_code_hash,
				client_id = excluded.client_id, scopes = excluded.scopes, state = excluded.state, user_id = excluded.user_id,
				auth_time = excluded.auth_time, amr = excluded.amr, created_at = excluded.created_at, expires_at = excluded.expires_at
			WHERE oidc_device_authorizations.expires_at <= ?`,
			d.InstanceID, d.DeviceCodeHash, d.UserCode, d.ClientID, projJSON(d.Scopes), string(d.State), nullText(d.UserID),
			nullMicros(d.AuthTime), projJSON(d.AMR), micros(d.CreatedAt), micros(d.ExpiresAt), micros(p.Now))
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: insert device authorization: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, fmt.Errorf("%w: user code in use", store.ErrAlreadyExists)
		}
		return struct{}{}, nil
	})
	return err
}

// DeviceAuthorizationGetByUserCode implements store.OIDCQueries.
func (q *queries) DeviceAuthorizationGetByUserCode(ctx context.Context, p *store.DeviceAuthorizationGetByUserCodeParams) (*iam.DeviceAuthorization, error) {
	return scanDeviceAuth(q.db.QueryRowContext(ctx, `SELECT `+deviceAuthColumns+` FROM oidc_device_authorizations
		WHERE instance_id = ? AND user_code = ? AND state = 'pending' AND expires_at > ?`, p.InstanceID, p.UserCode, micros(p.Now)))
}

// DeviceAuthorizationDecide implements store.OIDCQueries.
func (q *queries) DeviceAuthorizationDecide(ctx context.Context, p *store.DeviceAuthorizationDecideParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		var res interface{ RowsAffected() (int64, error) }
		var err error
		if p.Approve {
			res, err = q.db.ExecContext(ctx, `UPDATE oidc_device_authorizations SET state = 'approved', user_id = ?, auth_time = ?, amr = ?
				WHERE instance_id = ? AND user_code = ? AND state = 'pending' AND expires_at > ?`,
				nullText(p.UserID), nullMicros(p.AuthTime), projJSON(p.AMR), p.InstanceID, p.UserCode, micros(p.Now))
		} else {
			res, err = q.db.ExecContext(ctx, `UPDATE oidc_device_authorizations SET state = 'denied'
				WHERE instance_id = ? AND user_code = ? AND state = 'pending' AND expires_at > ?`,
				p.InstanceID, p.UserCode, micros(p.Now))
		}
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: decide device authorization: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, store.ErrNotFound
		}
		return struct{}{}, nil
	})
	return err
}

// DeviceAuthorizationPoll implements store.OIDCQueries: an UPDATE ...
// RETURNING moves an approved authorization to consumed; only when it
// matches nothing is the current row read.
func (q *queries) DeviceAuthorizationPoll(ctx context.Context, p *store.DeviceAuthorizationPollParams) (*iam.DeviceAuthorization, error) {
	return write(ctx, q, func(q *queries) (*iam.DeviceAuthorization, error) {
		d, err := scanDeviceAuth(q.db.QueryRowContext(ctx, `UPDATE oidc_device_authorizations SET state = 'consumed'
			WHERE instance_id = ? AND device_code_hash = ? AND client_id = ? AND state = 'approved'
			RETURNING `+deviceAuthColumns, p.InstanceID, p.DeviceCodeHash, p.ClientID))
		if err == nil {
			d.State = iam.DeviceApproved
			return d, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return scanDeviceAuth(q.db.QueryRowContext(ctx, `SELECT `+deviceAuthColumns+` FROM oidc_device_authorizations
			WHERE instance_id = ? AND device_code_hash = ? AND client_id = ?`, p.InstanceID, p.DeviceCodeHash, p.ClientID))
	})
}

const signingKeyColumns = `id, generation, algorithm, private_key, public_key, created_at, not_before, not_after, retire_at`

func scanSigningKey(row interface{ Scan(...any) error }) (*iam.SigningKey, error) {
	var k iam.SigningKey
	var created, notBefore, notAfter, retire int64
	if err := row.Scan(&k.ID, &k.Generation, &k.Algorithm, &k.PrivateKey, &k.PublicKey, &created, &notBefore, &notAfter, &retire); err != nil {
		return nil, mapErr(err)
	}
	k.CreatedAt, k.NotBefore, k.NotAfter, k.RetireAt = fromMicros(created), fromMicros(notBefore), fromMicros(notAfter), fromMicros(retire)
	return &k, nil
}

// SigningKeyList implements store.OIDCQueries.
func (q *queries) SigningKeyList(ctx context.Context, p *store.SigningKeyListParams) ([]*iam.SigningKey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM oidc_signing_keys
		WHERE retire_at > ? ORDER BY generation`, micros(p.Now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list signing keys: %w", mapErr(err))
	}
	return collect(rows, "signing keys", scanSigningKey)
}

// SigningKeyCreate implements store.OIDCQueries.
func (q *queries) SigningKeyCreate(ctx context.Context, p *store.SigningKeyCreateParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		k := p.Key
		_, err := q.db.ExecContext(ctx, `INSERT INTO oidc_signing_keys (`+signingKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Generation, k.Algorithm, k.PrivateKey, k.PublicKey, micros(k.CreatedAt), micros(k.NotBefore),
			micros(k.NotAfter), micros(k.RetireAt))
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: insert signing key: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

const applicationKeyColumns = `instance_id, id, app_id, public_key, expires_at, created_at`

func scanApplicationKey(row interface{ Scan(...any) error }) (*iam.ApplicationKey, error) {
	var k iam.ApplicationKey
	var expires *int64
	var created int64
	if err := row.Scan(&k.InstanceID, &k.ID, &k.AppID, &k.PublicKeyPEM, &expires, &created); err != nil {
		return nil, mapErr(err)
	}
	k.ExpiresAt, k.CreatedAt = fromNullMicros(expires), fromMicros(created)
	return &k, nil
}

// ApplicationKeyCreate implements store.OIDCQueries.
func (q *queries) ApplicationKeyCreate(ctx context.Context, p *store.ApplicationKeyCreateParams) (*iam.ApplicationKey, error) {
	return write(ctx, q, func(q *queries) (*iam.ApplicationKey, error) {
		k := p.Key
		out, err := scanApplicationKey(q.db.QueryRowContext(ctx, `INSERT INTO application_keys (`+applicationKeyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING `+applicationKeyColumns,
			k.InstanceID, k.ID, k.AppID, k.PublicKeyPEM, nullMicros(k.ExpiresAt), micros(p.Now)))
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert application key: %w", err)
		}
		return out, nil
	})
}

// ApplicationKeyGet implements store.OIDCQueries.
func (q *queries) ApplicationKeyGet(ctx context.Context, p *store.ApplicationKeyGetParams) (*iam.ApplicationKey, error) {
	return scanApplicationKey(q.db.QueryRowContext(ctx, `SELECT `+applicationKeyColumns+` FROM application_keys
		WHERE instance_id = ? AND app_id = ? AND id = ?`, p.InstanceID, p.AppID, p.ID))
}

// ApplicationKeyList implements store.OIDCQueries.
func (q *queries) ApplicationKeyList(ctx context.Context, p *store.ApplicationKeyListParams) ([]*iam.ApplicationKey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+applicationKeyColumns+` FROM application_keys
		WHERE instance_id = ? AND app_id = ? ORDER BY id`, p.InstanceID, p.AppID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list application keys: %w", mapErr(err))
	}
	return collect(rows, "application keys", scanApplicationKey)
}

// ApplicationKeyDelete implements store.OIDCQueries.
func (q *queries) ApplicationKeyDelete(ctx context.Context, p *store.ApplicationKeyDeleteParams) error {
	return q.deleteOne(ctx, "application key", `DELETE FROM application_keys WHERE instance_id = ? AND app_id = ? AND id = ?`,
		p.InstanceID, p.AppID, p.ID)
}

// collect scans every row and closes rows.
func collect[T any](rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, what string, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", what, mapErr(err))
	}
	return out, nil
}

// deleteExpired deletes one batch of rows of table whose column is at or
// before p.Before, found through the column's index and deleted by rowid.
func (q *queries) deleteExpired(ctx context.Context, table, column string, p *store.DeleteBatchParams) (int, error) {
	return write(ctx, q, func(q *queries) (int, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE rowid IN (
			SELECT rowid FROM `+table+` WHERE `+column+` <= ? LIMIT ?)`,
			micros(p.Before), store.ClampLimit(p.Limit))
		if err != nil {
			return 0, fmt.Errorf("sqlite: delete expired %s: %w", table, mapErr(err))
		}
		n, err := res.RowsAffected()
		return int(n), mapErr(err)
	})
}

// AuthRequestDeleteExpired implements store.OIDCCleanupQueries.
func (q *queries) AuthRequestDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "oidc_auth_requests", "expires_at", p)
}

// RefreshTokenDeleteExpired implements store.OIDCCleanupQueries.
func (q *queries) RefreshTokenDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "oidc_refresh_tokens", "expires_at", p)
}

// AccessTokenDeleteExpired implements store.OIDCCleanupQueries.
func (q *queries) AccessTokenDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "oidc_access_tokens", "expires_at", p)
}

// RevocationDeleteExpired implements store.OIDCCleanupQueries.
func (q *queries) RevocationDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "oidc_revocations", "expires_at", p)
}

// DeviceAuthorizationDeleteExpired implements store.OIDCCleanupQueries.
func (q *queries) DeviceAuthorizationDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "oidc_device_authorizations", "expires_at", p)
}

// SigningKeyDeleteRetired implements store.OIDCCleanupQueries.
func (q *queries) SigningKeyDeleteRetired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "oidc_signing_keys", "retire_at", p)
}

// ProjectAudience implements store.Queries.
func (q *queries) ProjectAudience(ctx context.Context, p *store.ProjectAudienceParams) (*store.ProjectAudience, error) {
	var roleAssertion bool
	var clients string
	err := q.db.QueryRowContext(ctx, `SELECT p.role_assertion,
			(SELECT json_group_array(client_id) FROM (SELECT client_id FROM applications
				WHERE instance_id = p.instance_id AND project_id = p.id AND state = 'active' ORDER BY client_id))
		FROM projects p WHERE p.instance_id = ? AND p.id = ?`, p.InstanceID, p.ProjectID).Scan(&roleAssertion, &clients)
	if err != nil {
		return nil, fmt.Errorf("sqlite: project audience: %w", mapErr(err))
	}
	out := &store.ProjectAudience{ProjectID: p.ProjectID, RoleAssertion: roleAssertion}
	if err := json.Unmarshal([]byte(clients), &out.ClientIDs); err != nil {
		return nil, fmt.Errorf("sqlite: project audience: %w", err)
	}
	return out, nil
}
