package sqlite

import (
	"context"
	"fmt"

	"github.com/rampartiam/rampart/internal/store"
)

// VerificationTokenCreate implements store.VerificationQueries.
func (q *queries) VerificationTokenCreate(ctx context.Context, p *store.VerificationTokenCreateParams) error {
	v := p.Token
	_, err := q.loginExecCount(ctx, "create verification token", `INSERT INTO verification_tokens
			(instance_id, token_hash, purpose, user_id, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		v.InstanceID, v.TokenHash, v.Purpose, v.UserID, v.Email, micros(v.CreatedAt), micros(v.ExpiresAt))
	return err
}

// VerificationTokenConsume implements store.VerificationQueries with one
// DELETE … RETURNING.
func (q *queries) VerificationTokenConsume(ctx context.Context, p *store.VerificationTokenConsumeParams) (*store.VerificationToken, error) {
	return write(ctx, q, func(q *queries) (*store.VerificationToken, error) {
		v := &store.VerificationToken{}
		var created, expires int64
		err := q.db.QueryRowContext(ctx, `DELETE FROM verification_tokens
			WHERE instance_id = ? AND token_hash = ? AND purpose = ? AND expires_at > ?
			RETURNING instance_id, token_hash, purpose, user_id, email, created_at, expires_at`,
			p.InstanceID, p.TokenHash, p.Purpose, micros(p.Now)).
			Scan(&v.InstanceID, &v.TokenHash, &v.Purpose, &v.UserID, &v.Email, &created, &expires)
		if err != nil {
			return nil, fmt.Errorf("sqlite: consume verification token: %w", mapErr(err))
		}
		v.CreatedAt, v.ExpiresAt = fromMicros(created), fromMicros(expires)
		return v, nil
	})
}

// VerificationTokenDeleteByUser implements store.VerificationQueries.
func (q *queries) VerificationTokenDeleteByUser(ctx context.Context, p *store.VerificationTokenDeleteByUserParams) (int, error) {
	return q.loginExecCount(ctx, "delete verification tokens of user", `DELETE FROM verification_tokens
		WHERE instance_id = ? AND user_id = ? AND (? = '' OR purpose = ?)`, p.InstanceID, p.UserID, p.Purpose, p.Purpose)
}

// VerificationTokenDeleteExpired implements store.VerificationQueries.
func (q *queries) VerificationTokenDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "verification_tokens", "expires_at", p)
}
