package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

const loginSessionColumns = `instance_id, id, token_hash, user_id, login_name, password_verified_at, mfa_verified_at, amr,
	created_at, last_seen_at, expires_at, idle_expires_at, user_agent, ip`

// loginSessionTargets returns scan targets of loginSessionColumns and a
// function that finishes the session once scanned.
func loginSessionTargets() ([]any, func() (*iam.LoginSession, error)) {
	var s iam.LoginSession
	var userID *string
	var pwdAt, mfaAt *int64
	var amr string
	var created, seen, expires, idle int64
	return []any{&s.InstanceID, &s.ID, &s.TokenHash, &userID, &s.LoginName, &pwdAt, &mfaAt, &amr,
			&created, &seen, &expires, &idle, &s.UserAgent, &s.IP},
		func() (*iam.LoginSession, error) {
			if err := decodeLists("session amr", listColumn{&s.AMR, amr}); err != nil {
				return nil, err
			}
			s.UserID = fromNullText(userID)
			s.PasswordVerifiedAt, s.MFAVerifiedAt = fromNullMicros(pwdAt), fromNullMicros(mfaAt)
			s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.IdleExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires), fromMicros(idle)
			return &s, nil
		}
}

func scanLoginSession(row interface{ Scan(...any) error }) (*iam.LoginSession, error) {
	dst, done := loginSessionTargets()
	if err := row.Scan(dst...); err != nil {
		return nil, mapErr(err)
	}
	return done()
}

// loginIdleCap returns idle capped at expires (as unix microseconds).
func loginIdleCap(idle, expires int64) int64 { return min(idle, expires) }

// SessionCreate implements store.LoginQueries.
func (q *queries) SessionCreate(ctx context.Context, p *store.SessionCreateParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		s := p.Session
		_, err := q.db.ExecContext(ctx, `INSERT INTO login_sessions (`+loginSessionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.InstanceID, s.ID, s.TokenHash, nullText(s.UserID), s.LoginName, nullMicros(s.PasswordVerifiedAt),
			nullMicros(s.MFAVerifiedAt), projJSON(s.AMR), micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt),
			loginIdleCap(micros(s.IdleExpiresAt), micros(s.ExpiresAt)), s.UserAgent, s.IP)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: insert session: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// SessionGetByTokenHash implements store.LoginQueries: the user's state
// comes from a scalar subquery on the primary key of users.
func (q *queries) SessionGetByTokenHash(ctx context.Context, p *store.SessionGetByTokenHashParams) (*iam.LoginSession, iam.UserState, error) {
	dst, done := loginSessionTargets()
	var state *string
	now := micros(p.Now)
	err := q.db.QueryRowContext(ctx, `SELECT `+loginSessionColumns+`,
			(SELECT u.state FROM users u WHERE u.instance_id = s.instance_id AND u.id = s.user_id)
		FROM login_sessions s WHERE instance_id = ? AND token_hash = ? AND expires_at > ? AND idle_expires_at > ?`,
		p.InstanceID, p.TokenHash, now, now).Scan(append(dst, &state)...)
	if err != nil {
		return nil, "", mapErr(err)
	}
	s, err := done()
	if err != nil {
		return nil, "", err
	}
	return s, iam.UserState(fromNullText(state)), nil
}

// SessionTouch implements store.LoginQueries.
func (q *queries) SessionTouch(ctx context.Context, p *store.SessionTouchParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		now := micros(p.Now)
		res, err := q.db.ExecContext(ctx, `UPDATE login_sessions SET last_seen_at = ?, idle_expires_at = MIN(?, expires_at)
			WHERE instance_id = ? AND id = ? AND expires_at > ? AND idle_expires_at > ?`,
			now, micros(p.IdleExpiresAt), p.InstanceID, p.ID, now, now)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: touch session: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, store.ErrNotFound
		}
		return struct{}{}, nil
	})
	return err
}

// SessionUpdateAuth implements store.LoginQueries.
func (q *queries) SessionUpdateAuth(ctx context.Context, p *store.SessionUpdateAuthParams) (*iam.LoginSession, error) {
	return write(ctx, q, func(q *queries) (*iam.LoginSession, error) {
		now := micros(p.Now)
		s, err := scanLoginSession(q.db.QueryRowContext(ctx, `UPDATE login_sessions SET token_hash = COALESCE(?, token_hash),
				user_id = ?, login_name = ?, password_verified_at = ?, mfa_verified_at = ?, amr = ?
			WHERE instance_id = ? AND id = ? AND expires_at > ? AND idle_expires_at > ?
			RETURNING `+loginSessionColumns,
			projBlob(p.TokenHash), nullText(p.UserID), p.LoginName, nullMicros(p.PasswordVerifiedAt), nullMicros(p.MFAVerifiedAt),
			projJSON(p.AMR), p.InstanceID, p.ID, now, now))
		if err != nil {
			return nil, fmt.Errorf("sqlite: update session: %w", err)
		}
		return s, nil
	})
}

// SessionDelete implements store.LoginQueries.
func (q *queries) SessionDelete(ctx context.Context, p *store.SessionDeleteParams) error {
	return q.deleteOne(ctx, "session", `DELETE FROM login_sessions WHERE instance_id = ? AND id = ?`, p.InstanceID, p.ID)
}

// SessionDeleteByUser implements store.LoginQueries.
func (q *queries) SessionDeleteByUser(ctx context.Context, p *store.SessionDeleteByUserParams) (int, error) {
	return q.loginExecCount(ctx, "delete sessions of user", `DELETE FROM login_sessions WHERE instance_id = ? AND user_id = ?`,
		p.InstanceID, p.UserID)
}

// loginExecCount runs one write statement and returns the rows it changed.
func (q *queries) loginExecCount(ctx context.Context, what, query string, args ...any) (int, error) {
	return write(ctx, q, func(q *queries) (int, error) {
		res, err := q.db.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, fmt.Errorf("sqlite: %s: %w", what, mapErr(err))
		}
		n, err := res.RowsAffected()
		return int(n), mapErr(err)
	})
}

// loginChangedOrMissing turns an UPDATE that changed no row into
// ErrConflict if the row named by the exists query is there, else
// ErrNotFound.
func (q *queries) loginChangedOrMissing(ctx context.Context, n int, exists string, args ...any) error {
	if n > 0 {
		return nil
	}
	var one int
	if err := q.db.QueryRowContext(ctx, exists, args...).Scan(&one); err != nil {
		return mapErr(err)
	}
	return store.ErrConflict
}

const totpFactorColumns = `instance_id, id, user_id, secret_encrypted, verified, last_used_step, created_at`

func scanTOTPFactor(row interface{ Scan(...any) error }) (*iam.TOTPFactor, error) {
	var f iam.TOTPFactor
	var created int64
	if err := row.Scan(&f.InstanceID, &f.ID, &f.UserID, &f.SecretEncrypted, &f.Verified, &f.LastUsedStep, &created); err != nil {
		return nil, mapErr(err)
	}
	f.CreatedAt = fromMicros(created)
	return &f, nil
}

// TOTPFactorCreate implements store.LoginQueries.
func (q *queries) TOTPFactorCreate(ctx context.Context, p *store.TOTPFactorCreateParams) error {
	f := p.Factor
	_, err := q.loginExecCount(ctx, "insert TOTP factor", `INSERT INTO totp_factors (`+totpFactorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		f.InstanceID, f.ID, f.UserID, f.SecretEncrypted, f.Verified, f.LastUsedStep, micros(f.CreatedAt))
	return err
}

// TOTPFactorGet implements store.LoginQueries.
func (q *queries) TOTPFactorGet(ctx context.Context, p *store.TOTPFactorGetParams) (*iam.TOTPFactor, error) {
	return scanTOTPFactor(q.db.QueryRowContext(ctx, `SELECT `+totpFactorColumns+` FROM totp_factors
		WHERE instance_id = ? AND user_id = ?`, p.InstanceID, p.UserID))
}

// TOTPFactorConfirm implements store.LoginQueries: one UPDATE; only when it
// changes nothing does a second query tell ErrNotFound from ErrConflict.
func (q *queries) TOTPFactorConfirm(ctx context.Context, p *store.TOTPFactorConfirmParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `UPDATE totp_factors SET verified = 1, last_used_step = ?
			WHERE instance_id = ? AND user_id = ? AND id = ? AND verified = 0`, p.Step, p.InstanceID, p.UserID, p.ID)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: confirm TOTP factor: %w", mapErr(err))
		}
		n, _ := res.RowsAffected()
		return struct{}{}, q.loginChangedOrMissing(ctx, int(n), `SELECT 1 FROM totp_factors WHERE instance_id = ? AND user_id = ? AND id = ?`,
			p.InstanceID, p.UserID, p.ID)
	})
	return err
}

// TOTPFactorUseStep implements store.LoginQueries: the conditional UPDATE
// is the replay check; the write transaction serializes concurrent calls.
func (q *queries) TOTPFactorUseStep(ctx context.Context, p *store.TOTPFactorUseStepParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `UPDATE totp_factors SET last_used_step = ?
			WHERE instance_id = ? AND user_id = ? AND verified = 1 AND last_used_step < ?`, p.Step, p.InstanceID, p.UserID, p.Step)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: use TOTP step: %w", mapErr(err))
		}
		n, _ := res.RowsAffected()
		return struct{}{}, q.loginChangedOrMissing(ctx, int(n), `SELECT 1 FROM totp_factors WHERE instance_id = ? AND user_id = ? AND verified = 1`,
			p.InstanceID, p.UserID)
	})
	return err
}

// TOTPFactorDelete implements store.LoginQueries.
func (q *queries) TOTPFactorDelete(ctx context.Context, p *store.TOTPFactorDeleteParams) error {
	return q.deleteOne(ctx, "TOTP factor", `DELETE FROM totp_factors WHERE instance_id = ? AND user_id = ? AND id = ?`,
		p.InstanceID, p.UserID, p.ID)
}

// RecoveryCodesReplace implements store.LoginQueries in one transaction.
func (q *queries) RecoveryCodesReplace(ctx context.Context, p *store.RecoveryCodesReplaceParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		if _, err := q.db.ExecContext(ctx, `DELETE FROM recovery_codes WHERE instance_id = ? AND user_id = ?`, p.InstanceID, p.UserID); err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete recovery codes: %w", mapErr(err))
		}
		if len(p.Hashes) == 0 {
			return struct{}{}, nil
		}
		query := `INSERT INTO recovery_codes (instance_id, user_id, code_hash, created_at) VALUES `
		args := make([]any, 0, 4*len(p.Hashes))
		for i, h := range p.Hashes {
			if i > 0 {
				query += ", "
			}
			query += "(?, ?, ?, ?)"
			args = append(args, p.InstanceID, p.UserID, h, micros(p.Now))
		}
		if _, err := q.db.ExecContext(ctx, query, args...); err != nil {
			return struct{}{}, fmt.Errorf("sqlite: insert recovery codes: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// RecoveryCodeConsume implements store.LoginQueries: the DELETE decides;
// the count follows in the same transaction.
func (q *queries) RecoveryCodeConsume(ctx context.Context, p *store.RecoveryCodeConsumeParams) (int, error) {
	return write(ctx, q, func(q *queries) (int, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM recovery_codes WHERE instance_id = ? AND user_id = ? AND code_hash = ?`,
			p.InstanceID, p.UserID, p.Hash)
		if err != nil {
			return 0, fmt.Errorf("sqlite: consume recovery code: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return 0, store.ErrNotFound
		}
		return q.RecoveryCodeCount(ctx, &store.RecoveryCodeCountParams{InstanceID: p.InstanceID, UserID: p.UserID})
	})
}

// RecoveryCodeCount implements store.LoginQueries.
func (q *queries) RecoveryCodeCount(ctx context.Context, p *store.RecoveryCodeCountParams) (int, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE instance_id = ? AND user_id = ?`,
		p.InstanceID, p.UserID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count recovery codes: %w", mapErr(err))
	}
	return n, nil
}

// WebAuthnUserHandleEnsure implements store.LoginQueries: an insert that
// keeps an existing handle, then a read, in one transaction.
func (q *queries) WebAuthnUserHandleEnsure(ctx context.Context, p *store.WebAuthnUserHandleEnsureParams) ([]byte, error) {
	return write(ctx, q, func(q *queries) ([]byte, error) {
		if _, err := q.db.ExecContext(ctx, `INSERT INTO webauthn_user_handles (instance_id, user_id, handle) VALUES (?, ?, ?)
			ON CONFLICT (instance_id, user_id) DO NOTHING`, p.InstanceID, p.UserID, p.Handle); err != nil {
			return nil, fmt.Errorf("sqlite: insert WebAuthn user handle: %w", mapErr(err))
		}
		var h []byte
		if err := q.db.QueryRowContext(ctx, `SELECT handle FROM webauthn_user_handles WHERE instance_id = ? AND user_id = ?`,
			p.InstanceID, p.UserID).Scan(&h); err != nil {
			return nil, fmt.Errorf("sqlite: read WebAuthn user handle: %w", mapErr(err))
		}
		return h, nil
	})
}

// WebAuthnUserHandleLookup implements store.LoginQueries.
func (q *queries) WebAuthnUserHandleLookup(ctx context.Context, p *store.WebAuthnUserHandleLookupParams) (string, error) {
	var id string
	if err := q.db.QueryRowContext(ctx, `SELECT user_id FROM webauthn_user_handles WHERE instance_id = ? AND handle = ?`,
		p.InstanceID, p.Handle).Scan(&id); err != nil {
		return "", mapErr(err)
	}
	return id, nil
}

const webAuthnCredentialColumns = `instance_id, id, user_id, credential_id, public_key, attestation_type, aaguid, sign_count,
	transports, attachment, user_present, user_verified, backup_eligible, backup_state, name, created_at, last_used_at`

func scanWebAuthnCredential(row interface{ Scan(...any) error }) (*iam.WebAuthnCredential, error) {
	var c iam.WebAuthnCredential
	var signCount, created int64
	var lastUsed *int64
	var transports string
	if err := row.Scan(&c.InstanceID, &c.ID, &c.UserID, &c.CredentialID, &c.PublicKey, &c.AttestationType, &c.AAGUID, &signCount,
		&transports, &c.Attachment, &c.UserPresent, &c.UserVerified, &c.BackupEligible, &c.BackupState, &c.Name, &created, &lastUsed); err != nil {
		return nil, mapErr(err)
	}
	if err := decodeLists("WebAuthn transports", listColumn{&c.Transports, transports}); err != nil {
		return nil, err
	}
	if len(c.AAGUID) == 0 {
		c.AAGUID = nil
	}
	c.SignCount = uint32(signCount)
	c.CreatedAt, c.LastUsedAt = fromMicros(created), fromNullMicros(lastUsed)
	return &c, nil
}

// WebAuthnCredentialCreate implements store.LoginQueries.
func (q *queries) WebAuthnCredentialCreate(ctx context.Context, p *store.WebAuthnCredentialCreateParams) error {
	c := p.Credential
	_, err := q.loginExecCount(ctx, "insert WebAuthn credential", `INSERT INTO webauthn_credentials (`+webAuthnCredentialColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.InstanceID, c.ID, c.UserID, c.CredentialID, c.PublicKey, c.AttestationType, projBlob(c.AAGUID), int64(c.SignCount),
		projJSON(c.Transports), c.Attachment, c.UserPresent, c.UserVerified, c.BackupEligible, c.BackupState, c.Name,
		micros(c.CreatedAt), nullMicros(c.LastUsedAt))
	return err
}

// WebAuthnCredentialList implements store.LoginQueries.
func (q *queries) WebAuthnCredentialList(ctx context.Context, p *store.WebAuthnCredentialListParams) ([]*iam.WebAuthnCredential, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+webAuthnCredentialColumns+` FROM webauthn_credentials
		WHERE instance_id = ? AND user_id = ? ORDER BY id`, p.InstanceID, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list WebAuthn credentials: %w", mapErr(err))
	}
	return collect(rows, "WebAuthn credentials", scanWebAuthnCredential)
}

// WebAuthnCredentialGetByCredentialID implements store.LoginQueries.
func (q *queries) WebAuthnCredentialGetByCredentialID(ctx context.Context, p *store.WebAuthnCredentialGetByCredentialIDParams) (*iam.WebAuthnCredential, error) {
	return scanWebAuthnCredential(q.db.QueryRowContext(ctx, `SELECT `+webAuthnCredentialColumns+` FROM webauthn_credentials
		WHERE instance_id = ? AND credential_id = ?`, p.InstanceID, p.CredentialID))
}

// WebAuthnCredentialUpdateUsage implements store.LoginQueries.
func (q *queries) WebAuthnCredentialUpdateUsage(ctx context.Context, p *store.WebAuthnCredentialUpdateUsageParams) error {
	n, err := q.loginExecCount(ctx, "update WebAuthn credential", `UPDATE webauthn_credentials
		SET sign_count = ?, backup_state = ?, last_used_at = ? WHERE instance_id = ? AND user_id = ? AND id = ?`,
		int64(p.SignCount), p.BackupState, micros(p.Now), p.InstanceID, p.UserID, p.ID)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

// WebAuthnCredentialDelete implements store.LoginQueries.
func (q *queries) WebAuthnCredentialDelete(ctx context.Context, p *store.WebAuthnCredentialDeleteParams) error {
	return q.deleteOne(ctx, "WebAuthn credential", `DELETE FROM webauthn_credentials WHERE instance_id = ? AND user_id = ? AND id = ?`,
		p.InstanceID, p.UserID, p.ID)
}

// EmailOTPChallengePut implements store.LoginQueries with an upsert.
func (q *queries) EmailOTPChallengePut(ctx context.Context, p *store.EmailOTPChallengePutParams) error {
	c := p.Challenge
	_, err := q.loginExecCount(ctx, "put e-mail challenge", `INSERT INTO email_otp_challenges
			(instance_id, user_id, code_hash, attempts, created_at, expires_at) VALUES (?, ?, ?, 0, ?, ?)
		ON CONFLICT (instance_id, user_id) DO UPDATE SET code_hash = excluded.code_hash, attempts = 0,
			created_at = excluded.created_at, expires_at = excluded.expires_at`,
		c.InstanceID, c.UserID, c.CodeHash, micros(c.CreatedAt), micros(c.ExpiresAt))
	return err
}

// EmailOTPChallengeConsume implements store.LoginQueries: in one write
// transaction, a DELETE of the matching challenge, else an increment of
// the attempts of the live one.
func (q *queries) EmailOTPChallengeConsume(ctx context.Context, p *store.EmailOTPChallengeConsumeParams) (*store.EmailOTPConsumeResult, error) {
	return write(ctx, q, func(q *queries) (*store.EmailOTPConsumeResult, error) {
		now, maxAttempts := micros(p.Now), max(p.MaxAttempts, 1)
		res, err := q.db.ExecContext(ctx, `DELETE FROM email_otp_challenges
			WHERE instance_id = ? AND user_id = ? AND code_hash = ? AND expires_at > ? AND attempts < ?`,
			p.InstanceID, p.UserID, p.CodeHash, now, maxAttempts)
		if err != nil {
			return nil, fmt.Errorf("sqlite: consume e-mail challenge: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return &store.EmailOTPConsumeResult{OK: true}, nil
		}
		var attempts int
		err = q.db.QueryRowContext(ctx, `UPDATE email_otp_challenges SET attempts = attempts + 1
			WHERE instance_id = ? AND user_id = ? AND expires_at > ? AND attempts < ? RETURNING attempts`,
			p.InstanceID, p.UserID, now, maxAttempts).Scan(&attempts)
		if err != nil {
			return nil, mapErr(err)
		}
		return &store.EmailOTPConsumeResult{Attempts: attempts}, nil
	})
}

// LoginFailureIncrement implements store.LoginQueries with an upsert.
func (q *queries) LoginFailureIncrement(ctx context.Context, p *store.LoginFailureParams) (int, error) {
	return write(ctx, q, func(q *queries) (int, error) {
		var n int
		err := q.db.QueryRowContext(ctx, `INSERT INTO login_failures (instance_id, user_id, kind, failed_count, last_failed_at)
			VALUES (?, ?, ?, 1, ?)
			ON CONFLICT (instance_id, user_id, kind) DO UPDATE SET failed_count = login_failures.failed_count + 1,
				last_failed_at = excluded.last_failed_at
			RETURNING failed_count`, p.InstanceID, p.UserID, string(p.Kind), nullMicros(p.Now)).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("sqlite: count failed login: %w", mapErr(err))
		}
		return n, nil
	})
}

// LoginFailureReset implements store.LoginQueries.
func (q *queries) LoginFailureReset(ctx context.Context, p *store.LoginFailureParams) error {
	_, err := q.loginExecCount(ctx, "reset failed logins", `DELETE FROM login_failures
		WHERE instance_id = ? AND user_id = ? AND (? = '' OR kind = ?)`, p.InstanceID, p.UserID, string(p.Kind), string(p.Kind))
	return err
}

// LoginFailureGet implements store.LoginQueries.
func (q *queries) LoginFailureGet(ctx context.Context, p *store.LoginFailureParams) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT failed_count FROM login_failures WHERE instance_id = ? AND user_id = ? AND kind = ?`,
		p.InstanceID, p.UserID, string(p.Kind)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: read failed logins: %w", mapErr(err))
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
