package sqlite

import (
	"context"
	"fmt"

	"github.com/rampartiam/rampart/internal/store"
)

// PersonalAccessTokenDeleteExpired implements store.CleanupQueries: one
// batch of expired tokens, found through the expires_at index and deleted
// by their physical address (rowid).
func (q *queries) PersonalAccessTokenDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return write(ctx, q, func(q *queries) (int, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM personal_access_tokens WHERE rowid IN (
			SELECT rowid FROM personal_access_tokens WHERE expires_at <= ? LIMIT ?)`,
			micros(p.Before), store.ClampLimit(p.Limit))
		if err != nil {
			return 0, fmt.Errorf("sqlite: delete expired personal access tokens: %w", mapErr(err))
		}
		n, err := res.RowsAffected()
		return int(n), mapErr(err)
	})
}

// AuditEventDeleteBefore implements store.CleanupQueries. Every index of
// audit_events leads with instance_id, so the statement walks the distinct
// instances (one index seek each, a "loose index scan") and takes each one's
// oldest events through audit_events_created (instance_id, created_at, id),
// never scanning the table.
func (q *queries) AuditEventDeleteBefore(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	return write(ctx, q, func(q *queries) (int, error) {
		res, err := q.db.ExecContext(ctx, `WITH RECURSIVE inst(id) AS (
				SELECT (SELECT instance_id FROM audit_events ORDER BY instance_id LIMIT 1)
				UNION ALL
				SELECT (SELECT instance_id FROM audit_events WHERE instance_id > inst.id ORDER BY instance_id LIMIT 1)
				FROM inst WHERE inst.id IS NOT NULL
			)
			DELETE FROM audit_events WHERE id IN (
				SELECT a.id FROM inst JOIN audit_events a ON a.instance_id = inst.id AND a.created_at < ?
				LIMIT ?)`,
			micros(p.Before), store.ClampLimit(p.Limit))
		if err != nil {
			return 0, fmt.Errorf("sqlite: delete audit events: %w", mapErr(err))
		}
		n, err := res.RowsAffected()
		return int(n), mapErr(err)
	})
}
