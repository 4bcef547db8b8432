package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/rampartiam/rampart/internal/store"
)

const policyColumns = `instance_id, COALESCE(org_id, ''), kind, body, created_at, changed_at, version`

func scanPolicy(row interface{ Scan(...any) error }) (*store.Policy, error) {
	var p store.Policy
	var body string
	var created, changed int64
	if err := row.Scan(&p.InstanceID, &p.OrgID, &p.Kind, &body, &created, &changed, &p.Version); err != nil {
		return nil, mapErr(err)
	}
	p.Body = []byte(body)
	p.CreatedAt, p.ChangedAt = fromMicros(created), fromMicros(changed)
	return &p, nil
}

// PolicyGet implements store.Queries.
func (q *queries) PolicyGet(ctx context.Context, p *store.PolicyGetParams) (*store.Policy, error) {
	out, err := scanPolicy(q.db.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM policies
		WHERE instance_id = ? AND COALESCE(org_id, '') IN ('', ?) AND kind = ?
		ORDER BY org_id IS NULL LIMIT 1`, p.InstanceID, p.OrgID, string(p.Kind)))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("sqlite: get policy: %w", err)
	}
	return out, err
}

// PolicyListEffective implements store.Queries.
func (q *queries) PolicyListEffective(ctx context.Context, p *store.PolicyListEffectiveParams) ([]*store.Policy, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+policyColumns+` FROM policies
		WHERE instance_id = ? AND COALESCE(org_id, '') IN ('', ?)
		ORDER BY kind, org_id IS NOT NULL`, p.InstanceID, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list policies: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*store.Policy
	for rows.Next() {
		pol, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list policies: %w", err)
		}
		out = append(out, pol)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list policies: %w", mapErr(err))
	}
	return out, nil
}

// PolicyPut implements store.Queries.
func (q *queries) PolicyPut(ctx context.Context, p *store.PolicyPutParams) (*store.Policy, error) {
	return write(ctx, q, func(q *queries) (*store.Policy, error) {
		now := micros(p.Now)
		if p.Version == 0 {
			out, err := scanPolicy(q.db.QueryRowContext(ctx, `INSERT INTO policies
				(instance_id, org_id, kind, body, created_at, changed_at, version)
				VALUES (?, ?, ?, ?, ?, ?, 1) RETURNING `+policyColumns,
				p.InstanceID, memberNull(p.OrgID), string(p.Kind), string(p.Body), now, now))
			if errors.Is(err, store.ErrAlreadyExists) {
				return nil, fmt.Errorf("sqlite: insert policy: %w: it exists", store.ErrConflict)
			}
			if err != nil {
				return nil, fmt.Errorf("sqlite: insert policy: %w", err)
			}
			return out, nil
		}
		out, err := scanPolicy(q.db.QueryRowContext(ctx, `UPDATE policies SET body = ?, changed_at = ?, version = version + 1
			WHERE instance_id = ? AND COALESCE(org_id, '') = ? AND kind = ? AND version = ? RETURNING `+policyColumns,
			string(p.Body), now, p.InstanceID, p.OrgID, string(p.Kind), p.Version))
		if errors.Is(err, store.ErrNotFound) {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM policies WHERE instance_id = ? AND COALESCE(org_id, '') = ? AND kind = ?`,
				p.InstanceID, p.OrgID, string(p.Kind))
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: update policy: %w", err)
		}
		return out, nil
	})
}

// PolicyDelete implements store.Queries.
func (q *queries) PolicyDelete(ctx context.Context, p *store.PolicyDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM policies WHERE instance_id = ? AND COALESCE(org_id, '') = ? AND kind = ? AND version = ?`,
			p.InstanceID, p.OrgID, string(p.Kind), p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete policy: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM policies WHERE instance_id = ? AND COALESCE(org_id, '') = ? AND kind = ?`,
				p.InstanceID, p.OrgID, string(p.Kind))
		}
		return struct{}{}, nil
	})
	return err
}
