package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

const orgColumns = `instance_id, id, name, state, created_at, changed_at, version`

func scanOrg(row pgx.Row) (*iam.Organization, error) {
	var o iam.Organization
	if err := row.Scan(&o.InstanceID, &o.ID, &o.Name, &o.State, &o.CreatedAt, &o.ChangedAt, &o.Version); err != nil {
		return nil, mapErr(err)
	}
	o.CreatedAt, o.ChangedAt = o.CreatedAt.UTC(), o.ChangedAt.UTC()
	return &o, nil
}

// OrgCreate implements store.Queries.
func (q *queries) OrgCreate(ctx context.Context, p *store.OrgCreateParams) (*iam.Organization, error) {
	o := p.Org
	out, err := scanOrg(q.db.QueryRow(ctx,
		`INSERT INTO orgs (instance_id, id, name, name_norm, state, created_at, changed_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $6, 1) RETURNING `+orgColumns,
		o.InstanceID, o.ID, o.Name, strings.ToLower(o.Name), string(o.State), p.Now))
	if err != nil {
		return nil, fmt.Errorf("postgres: insert org: %w", err)
	}
	return out, nil
}

// OrgGetByID implements store.Queries.
func (q *queries) OrgGetByID(ctx context.Context, p *store.OrgGetByIDParams) (*iam.Organization, error) {
	return scanOrg(q.db.QueryRow(ctx,
		`SELECT `+orgColumns+` FROM orgs WHERE instance_id = $1 AND id = $2`, p.InstanceID, p.ID))
}

// OrgList implements store.Queries.
func (q *queries) OrgList(ctx context.Context, p *store.OrgListParams) ([]*iam.Organization, error) {
	var where []string
	var args []any
	add := func(cond string, vs ...any) {
		for _, v := range vs {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	add("instance_id = ?", p.InstanceID)
	order := "id"
	if p.NamePrefix != "" {
		prefix := strings.ToLower(p.NamePrefix)
		add("name_norm >= ? AND name_norm < ?", prefix, store.PrefixUpper(prefix))
		if p.AfterKey != "" || p.AfterID != "" {
			add("(name_norm, id) > (?, ?)", p.AfterKey, p.AfterID)
		}
		order = "name_norm, id"
	} else if p.AfterID != "" {
		add("id > ?", p.AfterID)
	}
	if p.State != "" {
		add("state = ?", string(p.State))
	}
	args = append(args, store.ClampLimit(p.Limit))
	rows, err := q.db.Query(ctx, `SELECT `+orgColumns+` FROM orgs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list orgs: %w", mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iam.Organization, error) { return scanOrg(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list orgs: %w", mapErr(err))
	}
	return out, nil
}

// OrgUpdate implements store.Queries.
func (q *queries) OrgUpdate(ctx context.Context, p *store.OrgUpdateParams) (*iam.Organization, error) {
	o := p.Org
	out, err := scanOrg(q.db.QueryRow(ctx,
		`UPDATE orgs SET name = $1, name_norm = $2, state = $3, changed_at = $4, version = version + 1
		WHERE instance_id = $5 AND id = $6 AND version = $7 RETURNING `+orgColumns,
		o.Name, strings.ToLower(o.Name), string(o.State), p.Now, o.InstanceID, o.ID, o.Version))
	if errors.Is(err, store.ErrNotFound) {
		return nil, q.missingOrConflict(ctx, `SELECT 1 FROM orgs WHERE instance_id = $1 AND id = $2`, o.InstanceID, o.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: update org: %w", err)
	}
	return out, nil
}

// OrgDelete implements store.Queries.
func (q *queries) OrgDelete(ctx context.Context, p *store.OrgDeleteParams) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM orgs WHERE instance_id = $1 AND id = $2 AND version = $3`,
		p.InstanceID, p.ID, p.Version)
	if err != nil {
		return fmt.Errorf("postgres: delete org: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return q.missingOrConflict(ctx, `SELECT 1 FROM orgs WHERE instance_id = $1 AND id = $2`, p.InstanceID, p.ID)
	}
	return nil
}
