package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

const orgColumns = `instance_id, id, name, state, created_at, changed_at, version`

func scanOrg(row interface{ Scan(...any) error }) (*iam.Organization, error) {
	var o iam.Organization
	var created, changed int64
	if err := row.Scan(&o.InstanceID, &o.ID, &o.Name, &o.State, &created, &changed, &o.Version); err != nil {
		return nil, mapErr(err)
	}
	o.CreatedAt, o.ChangedAt = fromMicros(created), fromMicros(changed)
	return &o, nil
}

// OrgCreate implements store.Queries.
func (q *queries) OrgCreate(ctx context.Context, p *store.OrgCreateParams) (*iam.Organization, error) {
	return write(ctx, q, func(q *queries) (*iam.Organization, error) {
		o := p.Org
		now := micros(p.Now)
		row := q.db.QueryRowContext(ctx,
			`INSERT INTO orgs (instance_id, id, name, name_norm, state, created_at, changed_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1) RETURNING `+orgColumns,
			o.InstanceID, o.ID, o.Name, strings.ToLower(o.Name), string(o.State), now, now)
		out, err := scanOrg(row)
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert org: %w", err)
		}
		return out, nil
	})
}

// OrgGetByID implements store.Queries.
func (q *queries) OrgGetByID(ctx context.Context, p *store.OrgGetByIDParams) (*iam.Organization, error) {
	return scanOrg(q.db.QueryRowContext(ctx,
		`SELECT `+orgColumns+` FROM orgs WHERE instance_id = ? AND id = ?`, p.InstanceID, p.ID))
}

// OrgList implements store.Queries.
func (q *queries) OrgList(ctx context.Context, p *store.OrgListParams) ([]*iam.Organization, error) {
	where := []string{"instance_id = ?"}
	args := []any{p.InstanceID}
	order := "id"
	if p.NamePrefix != "" {
		prefix := strings.ToLower(p.NamePrefix)
		where = append(where, "name_norm >= ?", "name_norm < ?")
		args = append(args, prefix, store.PrefixUpper(prefix))
		if p.AfterKey != "" || p.AfterID != "" {
			where, args = append(where, "(name_norm, id) > (?, ?)"), append(args, p.AfterKey, p.AfterID)
		}
		order = "name_norm, id"
	} else if p.AfterID != "" {
		where, args = append(where, "id > ?"), append(args, p.AfterID)
	}
	if p.State != "" {
		where, args = append(where, "state = ?"), append(args, string(p.State))
	}
	args = append(args, store.ClampLimit(p.Limit))
	rows, err := q.db.QueryContext(ctx, `SELECT `+orgColumns+` FROM orgs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list orgs: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*iam.Organization
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list orgs: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list orgs: %w", mapErr(err))
	}
	return out, nil
}

// OrgUpdate implements store.Queries.
func (q *queries) OrgUpdate(ctx context.Context, p *store.OrgUpdateParams) (*iam.Organization, error) {
	return write(ctx, q, func(q *queries) (*iam.Organization, error) {
		o := p.Org
		out, err := scanOrg(q.db.QueryRowContext(ctx,
			`UPDATE orgs SET name = ?, name_norm = ?, state = ?, changed_at = ?, version = version + 1
			WHERE instance_id = ? AND id = ? AND version = ? RETURNING `+orgColumns,
			o.Name, strings.ToLower(o.Name), string(o.State), micros(p.Now), o.InstanceID, o.ID, o.Version))
		if errors.Is(err, store.ErrNotFound) {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM orgs WHERE instance_id = ? AND id = ?`, o.InstanceID, o.ID)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: update org: %w", err)
		}
		return out, nil
	})
}

// OrgDelete implements store.Queries.
func (q *queries) OrgDelete(ctx context.Context, p *store.OrgDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM orgs WHERE instance_id = ? AND id = ? AND version = ?`,
			p.InstanceID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete org: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM orgs WHERE instance_id = ? AND id = ?`, p.InstanceID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}
