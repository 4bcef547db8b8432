package postgres

import (
	"context"
	"fmt"

	"github.com/rampartiam/rampart/internal/store"
)

// VerificationTokenCreate implements store.VerificationQueries.
func (q *queries) VerificationTokenCreate(ctx context.Context, p *store.VerificationTokenCreateParams) error {
	v := p.Token
	_, err := q.loginExecCount(ctx, "create verification token", `INSERT INTO verification_tokens
			(instance_id, token_hash, purpose, user_id, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		v.InstanceID, v.TokenHash, v.Purpose, v.UserID, v.Email, v.CreatedAt, v.ExpiresAt)
	return err
}

// VerificationTokenConsume implements store.VerificationQueries with one
// DELETE … RETURNING.
func (q *queries) VerificationTokenConsume(ctx context.Context, p *store.VerificationTokenConsumeParams) (*store.VerificationToken, error) {
	v := &store.VerificationToken{}
	err := q.db.QueryRow(ctx, `DELETE FROM verification_tokens
		WHERE instance_id = $1 AND token_hash = $2 AND purpose = $3 AND expires_at > $4
		RETURNING instance_id, token_hash, purpose, user_id, email, created_at, expires_at`,
		p.InstanceID, p.TokenHash, p.Purpose, p.Now).
		Scan(&v.InstanceID, &v.TokenHash, &v.Purpose, &v.UserID, &v.Email, &v.CreatedAt, &v.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("postgres: consume verification token: %w", mapErr(err))
	}
	v.CreatedAt, v.ExpiresAt = v.CreatedAt.UTC(), v.ExpiresAt.UTC()
	return v, nil
}

// VerificationTokenDeleteByUser implements store.VerificationQueries.
func (q *queries) VerificationTokenDeleteByUser(ctx context.Context, p *store.VerificationTokenDeleteByUserParams) (int, error) {
	return q.loginExecCount(ctx, "delete verification tokens of user", `DELETE FROM verification_tokens
		WHERE instance_id = $1 AND user_id = $2 AND ($3 = '' OR purpose = $3)`, p.InstanceID, p.UserID, p.Purpose)
}

// VerificationTokenDeleteExpired implements store.VerificationQueries.
func (q *queries) VerificationTokenDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return q.deleteExpired(ctx, "verification_tokens", "expires_at", p)
}
