package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

const loginSessionColumns = `instance_id, id, token_hash, user_id, login_name, password_verified_at, mfa_verified_at, amr,
	created_at, last_seen_at, expires_at, idle_expires_at, user_agent, ip`

// loginSessionTargets returns scan targets of loginSessionColumns and a
// function that finishes the session once scanned.
func loginSessionTargets() ([]any, func() *iam.LoginSession) {
	var s iam.LoginSession
	var userID *string
	var pwdAt, mfaAt *time.Time
	return []any{&s.InstanceID, &s.ID, &s.TokenHash, &userID, &s.LoginName, &pwdAt, &mfaAt, &s.AMR,
			&s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.IdleExpiresAt, &s.UserAgent, &s.IP},
		func() *iam.LoginSession {
			s.AMR = projNil(s.AMR)
			s.UserID = fromNullText(userID)
			s.PasswordVerifiedAt, s.MFAVerifiedAt = fromNullTime(pwdAt), fromNullTime(mfaAt)
			s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.IdleExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC(), s.IdleExpiresAt.UTC()
			return &s
		}
}

func scanLoginSession(row pgx.Row) (*iam.LoginSession, error) {
	dst, done := loginSessionTargets()
	if err := row.Scan(dst...); err != nil {
		return nil, mapErr(err)
	}
	return done(), nil
}

// loginIdleCap returns idle capped at expires.
func loginIdleCap(idle, expires time.Time) time.Time {
	if idle.After(expires) {
		return expires
	}
	return idle
}

// SessionCreate implements store.LoginQueries.
func (q *queries) SessionCreate(ctx context.Context, p *store.SessionCreateParams) error {
	s := p.Session
	_, err := q.db.Exec(ctx, `INSERT INTO login_sessions (`+loginSessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		s.InstanceID, s.ID, s.TokenHash, nullText(s.UserID), s.LoginName, nullTime(s.PasswordVerifiedAt), nullTime(s.MFAVerifiedAt),
		projArr(s.AMR), s.CreatedAt, s.LastSeenAt, s.ExpiresAt, loginIdleCap(s.IdleExpiresAt, s.ExpiresAt), s.UserAgent, s.IP)
	if err != nil {
		return fmt.Errorf("postgres: insert session: %w", mapErr(err))
	}
	return nil
}

// SessionGetByTokenHash implements store.LoginQueries: the user's state
// comes from a scalar subquery on the primary key of users.
func (q *queries) SessionGetByTokenHash(ctx context.Context, p *store.SessionGetByTokenHashParams) (*iam.LoginSession, iam.UserState, error) {
	dst, done := loginSessionTargets()
	var state *string
	err := q.db.QueryRow(ctx, `SELECT `+loginSessionColumns+`,
			(SELECT u.state FROM users u WHERE u.instance_id = s.instance_id AND u.id = s.user_id)
		FROM login_sessions s WHERE instance_id = $1 AND token_hash = $2 AND expires_at > $3 AND idle_expires_at > $3`,
		p.InstanceID, p.TokenHash, p.Now).Scan(append(dst, &state)...)
	if err != nil {
		return nil, "", mapErr(err)
	}
	return done(), iam.UserState(fromNullText(state)), nil
}

// SessionTouch implements store.LoginQueries.
func (q *queries) SessionTouch(ctx context.Context, p *store.SessionTouchParams) error {
	tag, err := q.db.Exec(ctx, `UPDATE login_sessions SET last_seen_at = $1, idle_expires_at = LEAST($2, expires_at)
		WHERE instance_id = $3 AND id = $4 AND expires_at > $1 AND idle_expires_at > $1`,
		p.Now, p.IdleExpiresAt, p.InstanceID, p.ID)
	if err != nil {
		return fmt.Errorf("postgres: touch session: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// SessionUpdateAuth implements store.LoginQueries.
func (q *queries) SessionUpdateAuth(ctx context.Context, p *store.SessionUpdateAuthParams) (*iam.LoginSession, error) {
	s, err := scanLoginSession(q.db.QueryRow(ctx, `UPDATE login_sessions SET token_hash = COALESCE($1, token_hash),
			user_id = $2, login_name = $3, password_verified_at = $4, mfa_verified_at = $5, amr = $6
		WHERE instance_id = $7 AND id = $8 AND expires_at > $9 AND idle_expires_at > $9
		RETURNING `+loginSessionColumns,
		projBytea(p.TokenHash), nullText(p.UserID), p.LoginName, nullTime(p.PasswordVerifiedAt), nullTime(p.MFAVerifiedAt),
		projArr(p.AMR), p.InstanceID, p.ID, p.Now))
	if err != nil {
		return nil, fmt.Errorf("postgres: update session: %w", err)
	}
	return s, nil
}

// SessionDelete implements store.LoginQueries.
func (q *queries) SessionDelete(ctx context.Context, p *store.SessionDeleteParams) error {
	return q.deleteOne(ctx, "session", `DELETE FROM login_sessions WHERE instance_id = $1 AND id = $2`, p.InstanceID, p.ID)
}

// SessionDeleteByUser implements store.LoginQueries.
func (q *queries) SessionDeleteByUser(ctx context.Context, p *store.SessionDeleteByUserParams) (int, error) {
	return q.loginExecCount(ctx, "delete sessions of user", `DELETE FROM login_sessions WHERE instance_id = $1 AND user_id = $2`,
		p.InstanceID, p.UserID)
}

// loginExecCount runs one statement and returns the rows it changed.
func (q *queries) loginExecCount(ctx context.Context, what, query string, args ...any) (int, error) {
	tag, err := q.db.Exec(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("postgres: %s: %w", what, mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}

// loginChangedOrMissing turns an UPDATE that changed no row into
// ErrConflict if the row named by the exists query is there, else
// ErrNotFound.
func (q *queries) loginChangedOrMissing(ctx context.Context, n int, exists string, args ...any) error {
	if n > 0 {
		return nil
	}
	var one int
	if err := q.db.QueryRow(ctx, exists, args...).Scan(&one); err != nil {
		return mapErr(err)
	}
	return store.ErrConflict
}

const totpFactorColumns = `instance_id, id, user_id, secret_encrypted, verified, last_used_step, created_at`

func scanTOTPFactor(row pgx.Row) (*iam.TOTPFactor, error) {
	var f iam.TOTPFactor
	if err := row.Scan(&f.InstanceID, &f.ID, &f.UserID, &f.SecretEncrypted, &f.Verified, &f.LastUsedStep, &f.CreatedAt); err != nil {
		return nil, mapErr(err)
	}
	f.CreatedAt = f.CreatedAt.UTC()
	return &f, nil
}

// TOTPFactorCreate implements store.LoginQueries.
func (q *queries) TOTPFactorCreate(ctx context.Context, p *store.TOTPFactorCreateParams) error {
	f := p.Factor
	_, err := q.loginExecCount(ctx, "insert TOTP factor", `INSERT INTO totp_factors (`+totpFactorColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		f.InstanceID, f.ID, f.UserID, f.SecretEncrypted, f.Verified, f.LastUsedStep, f.CreatedAt)
	return err
}

// TOTPFactorGet implements store.LoginQueries.
func (q *queries) TOTPFactorGet(ctx context.Context, p *store.TOTPFactorGetParams) (*iam.TOTPFactor, error) {
	return scanTOTPFactor(q.db.QueryRow(ctx, `SELECT `+totpFactorColumns+` FROM totp_factors
		WHERE instance_id = $1 AND user_id = $2`, p.InstanceID, p.UserID))
}

// TOTPFactorConfirm implements store.LoginQueries: one UPDATE; only when it
// changes nothing does a second query tell ErrNotFound from ErrConflict.
// Concurrent confirmations queue on the row lock and the losers re-check
// "NOT verified" against the winner's committed row.
func (q *queries) TOTPFactorConfirm(ctx context.Context, p *store.TOTPFactorConfirmParams) error {
	n, err := q.loginExecCount(ctx, "confirm TOTP factor", `UPDATE totp_factors SET verified = true, last_used_step = $1
		WHERE instance_id = $2 AND user_id = $3 AND id = $4 AND NOT verified`, p.Step, p.InstanceID, p.UserID, p.ID)
	if err != nil {
		return err
	}
	return q.loginChangedOrMissing(ctx, n, `SELECT 1 FROM totp_factors WHERE instance_id = $1 AND user_id = $2 AND id = $3`,
		p.InstanceID, p.UserID, p.ID)
}

// TOTPFactorUseStep implements store.LoginQueries: the conditional UPDATE
// is the replay check. Concurrent uses of one step queue on the row lock;
// the losers re-check last_used_step < Step against the winner's row.
func (q *queries) TOTPFactorUseStep(ctx context.Context, p *store.TOTPFactorUseStepParams) error {
	n, err := q.loginExecCount(ctx, "use TOTP step", `UPDATE totp_factors SET last_used_step = $1
		WHERE instance_id = $2 AND user_id = $3 AND verified AND last_used_step < $1`, p.Step, p.InstanceID, p.UserID)
	if err != nil {
		return err
	}
	return q.loginChangedOrMissing(ctx, n, `SELECT 1 FROM totp_factors WHERE instance_id = $1 AND user_id = $2 AND verified`,
		p.InstanceID, p.UserID)
}

// TOTPFactorDelete implements store.LoginQueries.
func (q *queries) TOTPFactorDelete(ctx context.Context, p *store.TOTPFactorDeleteParams) error {
	return q.deleteOne(ctx, "TOTP factor", `DELETE FROM totp_factors WHERE instance_id = $1 AND user_id = $2 AND id = $3`,
		p.InstanceID, p.UserID, p.ID)
}

// RecoveryCodesReplace implements store.LoginQueries in one transaction:
// a DELETE of the old set and one INSERT of the new one.
func (q *queries) RecoveryCodesReplace(ctx context.Context, p *store.RecoveryCodesReplaceParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		if _, err := q.db.Exec(ctx, `DELETE FROM recovery_codes WHERE instance_id = $1 AND user_id = $2`, p.InstanceID, p.UserID); err != nil {
			return struct{}{}, fmt.Errorf("postgres: delete recovery codes: %w", mapErr(err))
		}
		if len(p.Hashes) == 0 {
			return struct{}{}, nil
		}
		if _, err := q.db.Exec(ctx, `INSERT INTO recovery_codes (instance_id, user_id, code_hash, created_at)
			SELECT $1, $2, h, $4 FROM unnest($3::bytea[]) AS h`, p.InstanceID, p.UserID, p.Hashes, p.Now); err != nil {
			return struct{}{}, fmt.Errorf("postgres: insert recovery codes: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// RecoveryCodeConsume implements store.LoginQueries in one statement: the
// DELETE decides (concurrent consumers of one code queue on its row lock,
// and only the first finds it); the count is taken from the statement's
// snapshot, which still holds the deleted code.
func (q *queries) RecoveryCodeConsume(ctx context.Context, p *store.RecoveryCodeConsumeParams) (int, error) {
	var deleted, before int
	err := q.db.QueryRow(ctx, `WITH d AS (
			DELETE FROM recovery_codes WHERE instance_id = $1 AND user_id = $2 AND code_hash = $3 RETURNING 1
		)
		SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM recovery_codes WHERE instance_id = $1 AND user_id = $2)`,
		p.InstanceID, p.UserID, p.Hash).Scan(&deleted, &before)
	if err != nil {
		return 0, fmt.Errorf("postgres: consume recovery code: %w", mapErr(err))
	}
	if deleted == 0 {
		return 0, store.ErrNotFound
	}
	return max(before-deleted, 0), nil
}

// RecoveryCodeCount implements store.LoginQueries.
func (q *queries) RecoveryCodeCount(ctx context.Context, p *store.RecoveryCodeCountParams) (int, error) {
	var n int
	if err := q.db.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE instance_id = $1 AND user_id = $2`,
		p.InstanceID, p.UserID).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count recovery codes: %w", mapErr(err))
	}
	return n, nil
}

// WebAuthnUserHandleEnsure implements store.LoginQueries: one statement
// inserts the handle unless the user has one and returns the stored one.
// If a concurrent call inserted first, the statement's snapshot may not
// show that row; a second read (a new snapshot) does.
func (q *queries) WebAuthnUserHandleEnsure(ctx context.Context, p *store.WebAuthnUserHandleEnsureParams) ([]byte, error) {
	var h []byte
	err := q.db.QueryRow(ctx, `WITH ins AS (
			INSERT INTO webauthn_user_handles (instance_id, user_id, handle) VALUES ($1, $2, $3)
			ON CONFLICT (instance_id, user_id) DO NOTHING RETURNING handle
		)
		SELECT handle FROM ins UNION ALL
		SELECT handle FROM webauthn_user_handles WHERE instance_id = $1 AND user_id = $2
		LIMIT 1`, p.InstanceID, p.UserID, p.Handle).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		err = q.db.QueryRow(ctx, `SELECT handle FROM webauthn_user_handles WHERE instance_id = $1 AND user_id = $2`,
			p.InstanceID, p.UserID).Scan(&h)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: ensure WebAuthn user handle: %w", mapErr(err))
	}
	return h, nil
}

// WebAuthnUserHandleLookup implements store.LoginQueries.
func (q *queries) WebAuthnUserHandleLookup(ctx context.Context, p *store.WebAuthnUserHandleLookupParams) (string, error) {
	var id string
	if err := q.db.QueryRow(ctx, `SELECT user_id FROM webauthn_user_handles WHERE instance_id = $1 AND handle = $2`,
		p.InstanceID, p.Handle).Scan(&id); err != nil {
		return "", mapErr(err)
	}
	return id, nil
}

const webAuthnCredentialColumns = `instance_id, id, user_id, credential_id, public_key, attestation_type, aaguid, sign_count,
	transports, attachment, user_present, user_verified, backup_eligible, backup_state, name, created_at, last_used_at`

func scanWebAuthnCredential(row pgx.Row) (*iam.WebAuthnCredential, error) {
	var c iam.WebAuthnCredential
	var signCount int64
	var lastUsed *time.Time
	if err := row.Scan(&c.InstanceID, &c.ID, &c.UserID, &c.CredentialID, &c.PublicKey, &c.AttestationType, &c.AAGUID, &signCount,
		&c.Transports, &c.Attachment, &c.UserPresent, &c.UserVerified, &c.BackupEligible, &c.BackupState, &c.Name, &c.CreatedAt, &lastUsed); err != nil {
		return nil, mapErr(err)
	}
	c.Transports = projNil(c.Transports)
	if len(c.AAGUID) == 0 {
		c.AAGUID = nil
	}
	c.SignCount = uint32(signCount)
	c.CreatedAt, c.LastUsedAt = c.CreatedAt.UTC(), fromNullTime(lastUsed)
	return &c, nil
}

// WebAuthnCredentialCreate implements store.LoginQueries.
func (q *queries) WebAuthnCredentialCreate(ctx context.Context, p *store.WebAuthnCredentialCreateParams) error {
	c := p.Credential
	_, err := q.loginExecCount(ctx, "insert WebAuthn credential", `INSERT INTO webauthn_credentials (`+webAuthnCredentialColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		c.InstanceID, c.ID, c.UserID, c.CredentialID, c.PublicKey, c.AttestationType, projBytea(c.AAGUID), int64(c.SignCount),
		projArr(c.Transports), c.Attachment, c.UserPresent, c.UserVerified, c.BackupEligible, c.BackupState, c.Name,
		c.CreatedAt, nullTime(c.LastUsedAt))
	return err
}

// WebAuthnCredentialList implements store.LoginQueries.
func (q *queries) WebAuthnCredentialList(ctx context.Context, p *store.WebAuthnCredentialListParams) ([]*iam.WebAuthnCredential, error) {
	return projQueryList(ctx, q, "WebAuthn credentials", `SELECT `+webAuthnCredentialColumns+` FROM webauthn_credentials
		WHERE instance_id = $1 AND user_id = $2 ORDER BY id`, []any{p.InstanceID, p.UserID}, scanWebAuthnCredential)
}

// WebAuthnCredentialGetByCredentialID implements store.LoginQueries.
func (q *queries) WebAuthnCredentialGetByCredentialID(ctx context.Context, p *store.WebAuthnCredentialGetByCredentialIDParams) (*iam.WebAuthnCredential, error) {
	return scanWebAuthnCredential(q.db.QueryRow(ctx, `SELECT `+webAuthnCredentialColumns+` FROM webauthn_credentials
		WHERE instance_id = $1 AND credential_id = $2`, p.InstanceID, p.CredentialID))
}

// WebAuthnCredentialUpdateUsage implements store.LoginQueries.
func (q *queries) WebAuthnCredentialUpdateUsage(ctx context.Context, p *store.WebAuthnCredentialUpdateUsageParams) error {
	n, err := q.loginExecCount(ctx, "update WebAuthn credential", `UPDATE webauthn_credentials
		SET sign_count = $1, backup_state = $2, last_used_at = $3 WHERE instance_id = $4 AND user_id = $5 AND id = $6`,
		int64(p.SignCount), p.BackupState, p.Now, p.InstanceID, p.UserID, p.ID)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

// WebAuthnCredentialDelete implements store.LoginQueries.
func (q *queries) WebAuthnCredentialDelete(ctx context.Context, p *store.WebAuthnCredentialDeleteParams) error {
	return q.deleteOne(ctx, "WebAuthn credential", `DELETE FROM webauthn_credentials WHERE instance_id = $1 AND user_id = $2 AND id = $3`,
		p.InstanceID, p.UserID, p.ID)
}

// EmailOTPChallengePut implements store.LoginQueries with an upsert.
func (q *queries) EmailOTPChallengePut(ctx context.Context, p *store.EmailOTPChallengePutParams) error {
	c := p.Challenge
	_, err := q.loginExecCount(ctx, "put e-mail challenge", `INSERT INTO email_otp_challenges
			(instance_id, user_id, code_hash, attempts, created_at, expires_at) VALUES ($1, $2, $3, 0, $4, $5)
		ON CONFLICT (instance_id, user_id) DO UPDATE SET code_hash = excluded.code_hash, attempts = 0,
			created_at = excluded.created_at, expires_at = excluded.expires_at`,
		c.InstanceID, c.UserID, c.CodeHash, c.CreatedAt, c.ExpiresAt)
	return err
}

// EmailOTPChallengeConsume implements store.LoginQueries in one statement:
// two data-modifying CTEs on disjoint conditions (the hash matches, or it
// does not) either delete the challenge or count a wrong attempt.
// Concurrent calls queue on the row lock and re-check the conditions
// against the row the previous one left (or find it gone).
func (q *queries) EmailOTPChallengeConsume(ctx context.Context, p *store.EmailOTPChallengeConsumeParams) (*store.EmailOTPConsumeResult, error) {
	var ok bool
	var attempts *int
	err := q.db.QueryRow(ctx, `WITH hit AS (
			DELETE FROM email_otp_challenges
			WHERE instance_id = $1 AND user_id = $2 AND code_hash = $3 AND expires_at > $4 AND attempts < $5
			RETURNING 1
		), miss AS (
			UPDATE email_otp_challenges SET attempts = attempts + 1
			WHERE instance_id = $1 AND user_id = $2 AND code_hash <> $3 AND expires_at > $4 AND attempts < $5
			RETURNING attempts
		)
		SELECT EXISTS (SELECT 1 FROM hit), (SELECT attempts FROM miss)`,
		p.InstanceID, p.UserID, p.CodeHash, p.Now, max(p.MaxAttempts, 1)).Scan(&ok, &attempts)
	switch {
	case err != nil:
		return nil, fmt.Errorf("postgres: consume e-mail challenge: %w", mapErr(err))
	case ok:
		return &store.EmailOTPConsumeResult{OK: true}, nil
	case attempts != nil:
		return &store.EmailOTPConsumeResult{Attempts: *attempts}, nil
	}
	return nil, store.ErrNotFound
}

// LoginFailureIncrement implements store.LoginQueries with an upsert.
func (q *queries) LoginFailureIncrement(ctx context.Context, p *store.LoginFailureParams) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `INSERT INTO login_failures (instance_id, user_id, kind, failed_count, last_failed_at)
		VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (instance_id, user_id, kind) DO UPDATE SET failed_count = login_failures.failed_count + 1,
			last_failed_at = excluded.last_failed_at
		RETURNING failed_count`, p.InstanceID, p.UserID, string(p.Kind), nullTime(p.Now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count failed login: %w", mapErr(err))
	}
	return n, nil
}

// LoginFailureReset implements store.LoginQueries.
func (q *queries) LoginFailureReset(ctx context.Context, p *store.LoginFailureParams) error {
	_, err := q.loginExecCount(ctx, "reset failed logins", `DELETE FROM login_failures
		WHERE instance_id = $1 AND user_id = $2 AND ($3 = '' OR kind = $3)`, p.InstanceID, p.UserID, string(p.Kind))
	return err
}

// LoginFailureGet implements store.LoginQueries.
func (q *queries) LoginFailureGet(ctx context.Context, p *store.LoginFailureParams) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT failed_count FROM login_failures WHERE instance_id = $1 AND user_id = $2 AND kind = $3`,
		p.InstanceID, p.UserID, string(p.Kind)).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: read failed logins: %w", mapErr(err))
	}
	return n, nil
}

// SessionDeleteExpired implements store.LoginCleanupQueries.
func (q *queries) SessionDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "login_sessions", "idle_expires_at", p)
}

// EmailOTPChallengeDeleteExpired implements store.LoginCleanupQueries.
func (q *queries) EmailOTPChallengeDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "email_otp_challenges", "expires_at", p)
}
