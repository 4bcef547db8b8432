package postgres

import (
	"context"
	"fmt"

	"github.com/rampartiam/rampart/internal/store"
)

// PersonalAccessTokenDeleteExpired implements store.CleanupQueries: one
// batch of expired tokens, found through the expires_at index and deleted
// by their physical address (ctid).
func (q *queries) PersonalAccessTokenDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	tag, err := q.db.Exec(ctx, `DELETE FROM personal_access_tokens WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM personal_access_tokens WHERE expires_at <= $1 LIMIT $2))`,
		p.Before, store.ClampLimit(p.Limit))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired personal access tokens: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}

// AuditEventDeleteBefore implements store.CleanupQueries. Every index of
// audit_events leads with instance_id, so the statement walks the distinct
// instances (one index probe each: a "loose index scan" by recursive CTE)
// and reads each one's oldest events from audit_events_created
// (instance_id, created_at, id); the ORDER BY makes the planner walk that
// index rather than scan the table for matching rows. The deletion finds
// the rows by primary key: = ANY(ARRAY(...)) keeps the planner from a hash
// join over the whole table.
func (q *queries) AuditEventDeleteBefore(ctx context.Context, p *store.DeleteBatchParams) (int, error) {
	tag, err := q.db.Exec(ctx, `WITH RECURSIVE inst(id) AS (
			SELECT (SELECT instance_id FROM audit_events ORDER BY instance_id LIMIT 1)
			UNION ALL
			SELECT (SELECT instance_id FROM audit_events WHERE instance_id > inst.id ORDER BY instance_id LIMIT 1)
			FROM inst WHERE inst.id IS NOT NULL
		)
		DELETE FROM audit_events WHERE id = ANY(ARRAY(
			SELECT e.id FROM inst CROSS JOIN LATERAL (
				SELECT id FROM audit_events a WHERE a.instance_id = inst.id AND a.created_at < $1
				ORDER BY a.created_at LIMIT $2
			) e
			WHERE inst.id IS NOT NULL
			LIMIT $2))`,
		p.Before, store.ClampLimit(p.Limit))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete audit events: %w", mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}
