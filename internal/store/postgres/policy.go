package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/store"
)

const policyColumns = `instance_id, COALESCE(org_id, ''), kind, body::text, created_at, changed_at, version`

func scanPolicy(row pgx.Row) (*store.Policy, error) {
	var p store.Policy
	var body string
	if err := row.Scan(&p.InstanceID, &p.OrgID, &p.Kind, &body, &p.CreatedAt, &p.ChangedAt, &p.Version); err != nil {
		return nil, mapErr(err)
	}
	p.Body = []byte(body)
	p.CreatedAt, p.ChangedAt = p.CreatedAt.UTC(), p.ChangedAt.UTC()
	return &p, nil
}

// PolicyGet implements store.Queries.
func (q *queries) PolicyGet(ctx context.Context, p *store.PolicyGetParams) (*store.Policy, error) {
	out, err := scanPolicy(q.db.QueryRow(ctx, `SELECT `+policyColumns+` FROM policies
		WHERE instance_id = $1 AND COALESCE(org_id, '') IN ('', $2) AND kind = $3
		ORDER BY org_id IS NULL LIMIT 1`, p.InstanceID, p.OrgID, string(p.Kind)))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("postgres: get policy: %w", err)
	}
	return out, err
}

// PolicyListEffective implements store.Queries.
func (q *queries) PolicyListEffective(ctx context.Context, p *store.PolicyListEffectiveParams) ([]*store.Policy, error) {
	rows, err := q.db.Query(ctx, `SELECT `+policyColumns+` FROM policies
		WHERE instance_id = $1 AND COALESCE(org_id, '') IN ('', $2)
		ORDER BY kind, org_id IS NOT NULL`, p.InstanceID, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list policies: %w", mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Policy, error) { return scanPolicy(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list policies: %w", mapErr(err))
	}
	return out, nil
}

// PolicyPut implements store.Queries.
func (q *queries) PolicyPut(ctx context.Context, p *store.PolicyPutParams) (*store.Policy, error) {
	if p.Version == 0 {
		out, err := scanPolicy(q.db.QueryRow(ctx, `INSERT INTO policies
			(instance_id, org_id, kind, body, created_at, changed_at, version)
			VALUES ($1, $2, $3, $4::jsonb, $5, $5, 1) RETURNING `+policyColumns,
			p.InstanceID, memberNull(p.OrgID), string(p.Kind), string(p.Body), p.Now))
		if errors.Is(err, store.ErrAlreadyExists) {
			return nil, fmt.Errorf("postgres: insert policy: %w: it exists", store.ErrConflict)
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: insert policy: %w", err)
		}
		return out, nil
	}
	return write(ctx, q, func(q *queries) (*store.Policy, error) {
		out, err := scanPolicy(q.db.QueryRow(ctx, `UPDATE policies SET body = $1::jsonb, changed_at = $2, version = version + 1
			WHERE instance_id = $3 AND COALESCE(org_id, '') = $4 AND kind = $5 AND version = $6 RETURNING `+policyColumns,
			string(p.Body), p.Now, p.InstanceID, p.OrgID, string(p.Kind), p.Version))
		if errors.Is(err, store.ErrNotFound) {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM policies WHERE instance_id = $1 AND COALESCE(org_id, '') = $2 AND kind = $3`,
				p.InstanceID, p.OrgID, string(p.Kind))
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: update policy: %w", err)
		}
		return out, nil
	})
}

// PolicyDelete implements store.Queries.
func (q *queries) PolicyDelete(ctx context.Context, p *store.PolicyDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		tag, err := q.db.Exec(ctx, `DELETE FROM policies WHERE instance_id = $1 AND COALESCE(org_id, '') = $2 AND kind = $3 AND version = $4`,
			p.InstanceID, p.OrgID, string(p.Kind), p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("postgres: delete policy: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM policies WHERE instance_id = $1 AND COALESCE(org_id, '') = $2 AND kind = $3`,
				p.InstanceID, p.OrgID, string(p.Kind))
		}
		return struct{}{}, nil
	})
	return err
}
