package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Optional times are bound with nullTime (cluster.go): NULL for the zero
// time.

// fromNullTime reads an optional time: the zero time for NULL.
func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullText binds an optional reference: NULL for "".
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// fromNullText reads an optional reference: "" for NULL.
func fromNullText(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

const authRequestColumns = `instance_id, id, client_id, redirect_uri, scopes, state, nonce, response_type, response_mode,
	code_challenge, code_challenge_method, prompt, max_age, login_hint, ui_locales, user_id, auth_time, amr, done,
	code_hash, code_used_at, created_at, expires_at`

func scanAuthRequest(row pgx.Row) (*iam.AuthRequest, error) {
	var r iam.AuthRequest
	var userID *string
	var authTime, usedAt *time.Time
	if err := row.Scan(&r.InstanceID, &r.ID, &r.ClientID, &r.RedirectURI, &r.Scopes, &r.State, &r.Nonce, &r.ResponseType,
		&r.ResponseMode, &r.CodeChallenge, &r.CodeChallengeMethod, &r.Prompt, &r.MaxAge, &r.LoginHint, &r.UILocales,
		&userID, &authTime, &r.AMR, &r.Done, &r.CodeHash, &usedAt, &r.CreatedAt, &r.ExpiresAt); err != nil {
		return nil, mapErr(err)
	}
	r.Scopes, r.Prompt, r.UILocales, r.AMR = projNil(r.Scopes), projNil(r.Prompt), projNil(r.UILocales), projNil(r.AMR)
	if len(r.CodeHash) == 0 {
		r.CodeHash = nil
	}
	r.UserID = fromNullText(userID)
	r.AuthTime, r.CodeUsedAt = fromNullTime(authTime), fromNullTime(usedAt)
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return &r, nil
}

// AuthRequestCreate implements store.OIDCQueries.
func (q *queries) AuthRequestCreate(ctx context.Context, p *store.AuthRequestCreateParams) error {
	r := p.Request
	_, err := q.db.Exec(ctx, `INSERT INTO oidc_auth_requests (`+authRequestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`,
		r.InstanceID, r.ID, r.ClientID, r.RedirectURI, projArr(r.Scopes), r.State, r.Nonce, r.ResponseType,
		r.ResponseMode, r.CodeChallenge, r.CodeChallengeMethod, projArr(r.Prompt), r.MaxAge, r.LoginHint,
		projArr(r.UILocales), nullText(r.UserID), nullTime(r.AuthTime), projArr(r.AMR), r.Done,
		projBytea(r.CodeHash), nullTime(r.CodeUsedAt), r.CreatedAt, r.ExpiresAt)
	if err != nil {
		return fmt.Errorf("postgres: insert auth request: %w", mapErr(err))
	}
	return nil
}

// AuthRequestGet implements store.OIDCQueries.
func (q *queries) AuthRequestGet(ctx context.Context, p *store.AuthRequestGetParams) (*iam.AuthRequest, error) {
	return scanAuthRequest(q.db.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests
		WHERE instance_id = $1 AND id = $2 AND expires_at > $3`, p.InstanceID, p.ID, p.Now))
}

// AuthRequestComplete implements store.OIDCQueries.
func (q *queries) AuthRequestComplete(ctx context.Context, p *store.AuthRequestCompleteParams) error {
	tag, err := q.db.Exec(ctx, `UPDATE oidc_auth_requests SET user_id = $1, auth_time = $2, amr = $3, done = true
		WHERE instance_id = $4 AND id = $5 AND expires_at > $6 AND NOT done`,
		nullText(p.UserID), nullTime(p.AuthTime), projArr(p.AMR), p.InstanceID, p.ID, p.Now)
	if err != nil {
		return fmt.Errorf("postgres: complete auth request: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// AuthRequestSetCode implements store.OIDCQueries: one UPDATE; only when it
// changes nothing does a second query tell ErrNotFound from ErrConflict.
func (q *queries) AuthRequestSetCode(ctx context.Context, p *store.AuthRequestSetCodeParams) error {
	tag, err := q.db.Exec(ctx, `UPDATE oidc_auth_requests SET code_hash = $1
		WHERE instance_id = $2 AND id = $3 AND expires_at > $4 AND done AND code_hash IS NULL`,
		projBytea(p.CodeHash), p.InstanceID, p.ID, p.Now)
	if err != nil {
		return fmt.Errorf("postgres: set auth request code: %w", mapErr(err))
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	if err := q.db.QueryRow(ctx, `SELECT 1 FROM oidc_auth_requests WHERE instance_id = $1 AND id = $2 AND expires_at > $3`,
		p.InstanceID, p.ID, p.Now).Scan(&one); err != nil {
		return mapErr(err)
	}
	return store.ErrConflict
}

// AuthRequestRedeemCode implements store.OIDCQueries: one UPDATE ...
// RETURNING; only when it matches nothing does a second query tell a replay
// (ErrConflict) from an unknown or expired code (ErrNotFound). Concurrent
// redemptions queue on the row lock, and the losers re-check
// code_used_at IS NULL against the winner's committed row.
func (q *queries) AuthRequestRedeemCode(ctx context.Context, p *store.AuthRequestRedeemCodeParams) (*iam.AuthRequest, error) {
	r, err := scanAuthRequest(q.db.QueryRow(ctx, `UPDATE oidc_auth_requests SET code_used_at = $1
		WHERE instance_id = $2 AND code_hash = $3 AND expires_at > $1 AND code_used_at IS NULL
		RETURNING `+authRequestColumns, p.Now, p.InstanceID, p.CodeHash))
	if !errors.Is(err, store.ErrNotFound) {
		return r, err
	}
	r, err = scanAuthRequest(q.db.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests
		WHERE instance_id = $1 AND code_hash = $2 AND expires_at > $3`, p.InstanceID, p.CodeHash, p.Now))
	if err != nil {
		return nil, err
	}
	return r, store.ErrConflict
}

// AuthRequestDelete implements store.OIDCQueries.
func (q *queries) AuthRequestDelete(ctx context.Context, p *store.AuthRequestDeleteParams) error {
	return q.deleteOne(ctx, "auth request", `DELETE FROM oidc_auth_requests WHERE instance_id = $1 AND id = $2`, p.InstanceID, p.ID)
}

// deleteOne runs a DELETE of one row; ErrNotFound if it deleted none.
func (q *queries) deleteOne(ctx context.Context, what, query string, args ...any) error {
	tag, err := q.db.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: delete %s: %w", what, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

const refreshTokenColumns = `instance_id, id, family_id, token_hash, client_id, user_id, scopes, audience, amr, auth_time,
	created_at, expires_at, used_at`

func scanRefreshToken(row pgx.Row) (*iam.RefreshToken, error) {
	var r iam.RefreshToken
	var userID *string
	var authTime, usedAt *time.Time
	if err := row.Scan(&r.InstanceID, &r.ID, &r.FamilyID, &r.TokenHash, &r.ClientID, &userID, &r.Scopes, &r.Audience, &r.AMR,
		&authTime, &r.CreatedAt, &r.ExpiresAt, &usedAt); err != nil {
		return nil, mapErr(err)
	}
	r.Scopes, r.Audience, r.AMR = projNil(r.Scopes), projNil(r.Audience), projNil(r.AMR)
	r.UserID = fromNullText(userID)
	r.AuthTime, r.UsedAt = fromNullTime(authTime), fromNullTime(usedAt)
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return &r, nil
}

// RefreshTokenCreate implements store.OIDCQueries.
func (q *queries) RefreshTokenCreate(ctx context.Context, p *store.RefreshTokenCreateParams) error {
	r := p.Token
	_, err := q.db.Exec(ctx, `INSERT INTO oidc_refresh_tokens (`+refreshTokenColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		r.InstanceID, r.ID, r.FamilyID, r.TokenHash, r.ClientID, nullText(r.UserID), projArr(r.Scopes),
		projArr(r.Audience), projArr(r.AMR), nullTime(r.AuthTime), r.CreatedAt, r.ExpiresAt, nullTime(r.UsedAt))
	if err != nil {
		return fmt.Errorf("postgres: insert refresh token: %w", mapErr(err))
	}
	return nil
}

// RefreshTokenGetByHash implements store.OIDCQueries.
func (q *queries) RefreshTokenGetByHash(ctx context.Context, p *store.RefreshTokenGetByHashParams) (*iam.RefreshToken, error) {
	return scanRefreshToken(q.db.QueryRow(ctx, `SELECT `+refreshTokenColumns+` FROM oidc_refresh_tokens
		WHERE instance_id = $1 AND token_hash = $2`, p.InstanceID, p.TokenHash))
}

// RefreshTokenMarkUsed implements store.OIDCQueries: one UPDATE; only when
// it changes nothing does a second query tell ErrNotFound from ErrConflict.
func (q *queries) RefreshTokenMarkUsed(ctx context.Context, p *store.RefreshTokenMarkUsedParams) error {
	tag, err := q.db.Exec(ctx, `UPDATE oidc_refresh_tokens SET used_at = $1
		WHERE instance_id = $2 AND id = $3 AND used_at IS NULL`, p.Now, p.InstanceID, p.ID)
	if err != nil {
		return fmt.Errorf("postgres: mark refresh token used: %w", mapErr(err))
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	if err := q.db.QueryRow(ctx, `SELECT 1 FROM oidc_refresh_tokens WHERE instance_id = $1 AND id = $2`,
		p.InstanceID, p.ID).Scan(&one); err != nil {
		return mapErr(err)
	}
	return store.ErrConflict
}

// RefreshTokenDeleteFamily implements store.OIDCQueries.
func (q *queries) RefreshTokenDeleteFamily(ctx context.Context, p *store.RefreshTokenDeleteFamilyParams) (int, error) {
	tag, err := q.db.Exec(ctx, `DELETE FROM oidc_refresh_tokens WHERE instance_id = $1 AND family_id = $2`,
		p.InstanceID, p.FamilyID)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete refresh token family: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}

// RefreshTokenDeleteByUserClient implements store.OIDCQueries. The families
// are returned sorted.
func (q *queries) RefreshTokenDeleteByUserClient(ctx context.Context, p *store.RefreshTokenDeleteByUserClientParams) ([]string, error) {
	rows, err := q.db.Query(ctx, `WITH d AS (
			DELETE FROM oidc_refresh_tokens WHERE instance_id = $1 AND user_id = $2 AND client_id = $3 RETURNING family_id
		)
		SELECT DISTINCT family_id FROM d`, p.InstanceID, p.UserID, p.ClientID)
	if err != nil {
		return nil, fmt.Errorf("postgres: delete refresh tokens of user: %w", mapErr(err))
	}
	families, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: delete refresh tokens of user: %w", mapErr(err))
	}
	slices.Sort(families)
	return families, nil
}

const accessTokenColumns = `instance_id, id, family_id, client_id, subject, scopes, audience, created_at, expires_at`

// AccessTokenCreate implements store.OIDCQueries.
func (q *queries) AccessTokenCreate(ctx context.Context, p *store.AccessTokenCreateParams) error {
	a := p.Token
	_, err := q.db.Exec(ctx, `INSERT INTO oidc_access_tokens (`+accessTokenColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.InstanceID, a.ID, a.FamilyID, a.ClientID, a.Subject, projArr(a.Scopes), projArr(a.Audience), a.CreatedAt, a.ExpiresAt)
	if err != nil {
		return fmt.Errorf("postgres: insert access token: %w", mapErr(err))
	}
	return nil
}

// AccessTokenDelete implements store.OIDCQueries.
func (q *queries) AccessTokenDelete(ctx context.Context, p *store.AccessTokenDeleteParams) error {
	return q.deleteOne(ctx, "access token", `DELETE FROM oidc_access_tokens WHERE instance_id = $1 AND id = $2`, p.InstanceID, p.ID)
}

// RevocationCreate implements store.OIDCQueries.
func (q *queries) RevocationCreate(ctx context.Context, p *store.RevocationCreateParams) error {
	_, err := q.db.Exec(ctx, `INSERT INTO oidc_revocations (instance_id, id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (instance_id, id) DO UPDATE SET expires_at = GREATEST(oidc_revocations.expires_at, excluded.expires_at)`,
		p.InstanceID, p.ID, p.ExpiresAt)
	if err != nil {
		return fmt.Errorf("postgres: insert revocation: %w", mapErr(err))
	}
	return nil
}

// TokenStatus implements store.OIDCQueries in one statement: scalar
// subqueries for the revocation and the user, each an index probe, and a
// left join for the opaque token's record (which matches nothing unless
// asked for).
func (q *queries) TokenStatus(ctx context.Context, p *store.TokenStatusParams) (*store.TokenStatus, error) {
	var revoked bool
	var userState *string
	var id, family, client, subject *string
	var scopes, audience []string
	var created, expires *time.Time
	err := q.db.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM oidc_revocations WHERE instance_id = $1 AND id IN ($2, $3) AND expires_at > $6),
			(SELECT state FROM users WHERE instance_id = $1 AND id = $4),
			a.id, a.family_id, a.client_id, a.subject, a.scopes, a.audience, a.created_at, a.expires_at
		FROM (VALUES (1)) one (x)
		LEFT JOIN oidc_access_tokens a ON $5::boolean AND a.instance_id = $1 AND a.id = $2 AND a.expires_at > $6`,
		p.InstanceID, p.TokenID, p.FamilyID, p.UserID, p.Opaque, p.Now).
		Scan(&revoked, &userState, &id, &family, &client, &subject, &scopes, &audience, &created, &expires)
	if err != nil {
		return nil, fmt.Errorf("postgres: token status: %w", mapErr(err))
	}
	st := &store.TokenStatus{Revoked: revoked, UserState: iam.UserState(fromNullText(userState))}
	if id != nil {
		st.Opaque = &iam.AccessToken{ID: *id, InstanceID: p.InstanceID, FamilyID: *family, ClientID: *client, Subject: *subject,
			Scopes: projNil(scopes), Audience: projNil(audience), CreatedAt: fromNullTime(created), ExpiresAt: fromNullTime(expires)}
	}
	return st, nil
}

const deviceAuthColumns = `instance_id, device_code_hash, user_code, client_id, scopes, state, user_id, auth_time, amr,
	created_at, expires_at`

func scanDeviceAuth(row pgx.Row) (*iam.DeviceAuthorization, error) {
	var d iam.DeviceAuthorization
	var userID *string
	var authTime *time.Time
	if err := row.Scan(&d.InstanceID, &d.DeviceCodeHash, &d.UserCode, &d.ClientID, &d.Scopes, &d.State, &userID,
		&authTime, &d.AMR, &d.CreatedAt, &d.ExpiresAt); err != nil {
		return nil, mapErr(err)
	}
	d.Scopes, d.AMR = projNil(d.Scopes), projNil(d.AMR)
	d.UserID, d.AuthTime = fromNullText(userID), fromNullTime(authTime)
	d.CreatedAt, d.ExpiresAt = d.CreatedAt.UTC(), d.ExpiresAt.UTC()
	return &d, nil
}

// DeviceAuthorizationCreate implements store.OIDCQueries in one statement:
// an expired authorization holding the user code is replaced by the new
// one (an upsert conditional on its expiry); an unexpired one is left
// alone, and then nothing changed means ErrAlreadyExists.
func (q *queries) DeviceAuthorizationCreate(ctx context.Context, p *store.DeviceAuthorizationCreateParams) error {
	d := p.Auth
	tag, err := q.db.Exec(ctx, `INSERT INTO oidc_device_authorizations (`+deviceAuthColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (instance_id, user_code) DO UPDATE SET device_code_hash = excluded.device_code_hash,
			client_id = excluded.client_id, scopes = excluded.scopes, state = excluded.state, user_id = excluded.user_id,
			auth_time = excluded.auth_time, amr = excluded.amr, created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE oidc_device_authorizations.expires_at <= $12`,
		d.InstanceID, d.DeviceCodeHash, d.UserCode, d.ClientID, projArr(d.Scopes), string(d.State), nullText(d.UserID),
		nullTime(d.AuthTime), projArr(d.AMR), d.CreatedAt, d.ExpiresAt, p.Now)
	if err != nil {
		return fmt.Errorf("postgres: insert device authorization: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: user code in use", store.ErrAlreadyExists)
	}
	return nil
}

// DeviceAuthorizationGetByUserCode implements store.OIDCQueries.
func (q *queries) DeviceAuthorizationGetByUserCode(ctx context.Context, p *store.DeviceAuthorizationGetByUserCodeParams) (*iam.DeviceAuthorization, error) {
	return scanDeviceAuth(q.db.QueryRow(ctx, `SELECT `+deviceAuthColumns+` FROM oidc_device_authorizations
		WHERE instance_id = $1 AND user_code = $2 AND state = 'pending' AND expires_at > $3`, p.InstanceID, p.UserCode, p.Now))
}

// DeviceAuthorizationDecide implements store.OIDCQueries.
func (q *queries) DeviceAuthorizationDecide(ctx context.Context, p *store.DeviceAuthorizationDecideParams) error {
	var tag interface{ RowsAffected() int64 }
	var err error
	if p.Approve {
		tag, err = q.db.Exec(ctx, `UPDATE oidc_device_authorizations SET state = 'approved', user_id = $1, auth_time = $2, amr = $3
			WHERE instance_id = $4 AND user_code = $5 AND state = 'pending' AND expires_at > $6`,
			nullText(p.UserID), nullTime(p.AuthTime), projArr(p.AMR), p.InstanceID, p.UserCode, p.Now)
	} else {
		tag, err = q.db.Exec(ctx, `UPDATE oidc_device_authorizations SET state = 'denied'
			WHERE instance_id = $1 AND user_code = $2 AND state = 'pending' AND expires_at > $3`,
			p.InstanceID, p.UserCode, p.Now)
	}
	if err != nil {
		return fmt.Errorf("postgres: decide device authorization: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeviceAuthorizationPoll implements store.OIDCQueries: an UPDATE ...
// RETURNING moves an approved authorization to consumed; only when it
// matches nothing is the current row read.
func (q *queries) DeviceAuthorizationPoll(ctx context.Context, p *store.DeviceAuthorizationPollParams) (*iam.DeviceAuthorization, error) {
	d, err := scanDeviceAuth(q.db.QueryRow(ctx, `UPDATE oidc_device_authorizations SET state = 'consumed'
		WHERE instance_id = $1 AND device_code_hash = $2 AND client_id = $3 AND state = 'approved'
		RETURNING `+deviceAuthColumns, p.InstanceID, p.DeviceCodeHash, p.ClientID))
	if err == nil {
		d.State = iam.DeviceApproved
		return d, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return scanDeviceAuth(q.db.QueryRow(ctx, `SELECT `+deviceAuthColumns+` FROM oidc_device_authorizations
		WHERE instance_id = $1 AND device_code_hash = $2 AND client_id = $3`, p.InstanceID, p.DeviceCodeHash, p.ClientID))
}

const signingKeyColumns = `id, generation, algorithm, private_key, public_key, created_at, not_before, not_after, retire_at`

func scanSigningKey(row pgx.Row) (*iam.SigningKey, error) {
	var k iam.SigningKey
	if err := row.Scan(&k.ID, &k.Generation, &k.Algorithm, &k.PrivateKey, &k.PublicKey, &k.CreatedAt, &k.NotBefore,
		&k.NotAfter, &k.RetireAt); err != nil {
		return nil, mapErr(err)
	}
	k.CreatedAt, k.NotBefore, k.NotAfter, k.RetireAt = k.CreatedAt.UTC(), k.NotBefore.UTC(), k.NotAfter.UTC(), k.RetireAt.UTC()
	return &k, nil
}

// SigningKeyList implements store.OIDCQueries.
func (q *queries) SigningKeyList(ctx context.Context, p *store.SigningKeyListParams) ([]*iam.SigningKey, error) {
	return projQueryList(ctx, q, "signing keys", `SELECT `+signingKeyColumns+` FROM oidc_signing_keys
		WHERE retire_at > $1 ORDER BY generation`, []any{p.Now}, scanSigningKey)
}

// SigningKeyCreate implements store.OIDCQueries.
func (q *queries) SigningKeyCreate(ctx context.Context, p *store.SigningKeyCreateParams) error {
	k := p.Key
	_, err := q.db.Exec(ctx, `INSERT INTO oidc_signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.Generation, k.Algorithm, k.PrivateKey, k.PublicKey, k.CreatedAt, k.NotBefore, k.NotAfter, k.RetireAt)
	if err != nil {
		return fmt.Errorf("postgres: insert signing key: %w", mapErr(err))
	}
	return nil
}

const applicationKeyColumns = `instance_id, id, app_id, public_key, expires_at, created_at`

func scanApplicationKey(row pgx.Row) (*iam.ApplicationKey, error) {
	var k iam.ApplicationKey
	var expires *time.Time
	if err := row.Scan(&k.InstanceID, &k.ID, &k.AppID, &k.PublicKeyPEM, &expires, &k.CreatedAt); err != nil {
		return nil, mapErr(err)
	}
	k.ExpiresAt, k.CreatedAt = fromNullTime(expires), k.CreatedAt.UTC()
	return &k, nil
}

// ApplicationKeyCreate implements store.OIDCQueries.
func (q *queries) ApplicationKeyCreate(ctx context.Context, p *store.ApplicationKeyCreateParams) (*iam.ApplicationKey, error) {
	k := p.Key
	out, err := scanApplicationKey(q.db.QueryRow(ctx, `INSERT INTO application_keys (`+applicationKeyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+applicationKeyColumns,
		k.InstanceID, k.ID, k.AppID, k.PublicKeyPEM, nullTime(k.ExpiresAt), p.Now))
	if err != nil {
		return nil, fmt.Errorf("postgres: insert application key: %w", err)
	}
	return out, nil
}

// ApplicationKeyGet implements store.OIDCQueries.
func (q *queries) ApplicationKeyGet(ctx context.Context, p *store.ApplicationKeyGetParams) (*iam.ApplicationKey, error) {
	return scanApplicationKey(q.db.QueryRow(ctx, `SELECT `+applicationKeyColumns+` FROM application_keys
		WHERE instance_id = $1 AND app_id = $2 AND id = $3`, p.InstanceID, p.AppID, p.ID))
}

// ApplicationKeyList implements store.OIDCQueries.
func (q *queries) ApplicationKeyList(ctx context.Context, p *store.ApplicationKeyListParams) ([]*iam.ApplicationKey, error) {
	return projQueryList(ctx, q, "application keys", `SELECT `+applicationKeyColumns+` FROM application_keys
		WHERE instance_id = $1 AND app_id = $2 ORDER BY id`, []any{p.InstanceID, p.AppID}, scanApplicationKey)
}

// ApplicationKeyDelete implements store.OIDCQueries.
func (q *queries) ApplicationKeyDelete(ctx context.Context, p *store.ApplicationKeyDeleteParams) error {
	return q.deleteOne(ctx, "application key", `DELETE FROM application_keys WHERE instance_id = $1 AND app_id = $2 AND id = $3`,
		p.InstanceID, p.AppID, p.ID)
}

// deleteExpired deletes one batch of rows of table whose column is at or
// before p.Before, found through the column's index and deleted by their
// physical address (ctid).
func (q *queries) deleteExpired(ctx context.Context, table, column string, p *store.DeleteBatchParams) (int, error) {
	tag, err := q.db.Exec(ctx, `DELETE FROM `+table+` WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM `+table+` WHERE `+column+` <= $1 LIMIT $2))`,
		p.Before, store.ClampLimit(p.Limit))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired %s: %w", table, mapErr(err))
	}
	return int(tag.RowsAffected()), nil
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
	out := &store.ProjectAudience{ProjectID: p.ProjectID}
	err := q.db.QueryRow(ctx, `SELECT p.role_assertion,
			COALESCE((SELECT array_agg(client_id ORDER BY client_id COLLATE "C") FROM applications
				WHERE instance_id = p.instance_id AND project_id = p.id AND state = 'active'), '{}')
		FROM projects p WHERE p.instance_id = $1 AND p.id = $2`, p.InstanceID, p.ProjectID).Scan(&out.RoleAssertion, &out.ClientIDs)
	if err != nil {
		return nil, fmt.Errorf("postgres: project audience: %w", mapErr(err))
	}
	return out, nil
}
