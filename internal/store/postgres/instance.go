package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// instanceColumns selects an instance with its domains, primary first.
const instanceColumns = `i.id, i.name, i.state, i.is_system, i.created_at, i.changed_at, i.version,
	ARRAY(SELECT d.domain FROM instance_domains d WHERE d.instance_id = i.id ORDER BY d.position)`

func scanInstance(row pgx.Row) (*iam.Instance, error) {
	var in iam.Instance
	var domains []string
	if err := row.Scan(&in.ID, &in.Name, &in.State, &in.System, &in.CreatedAt, &in.ChangedAt, &in.Version, &domains); err != nil {
		return nil, mapErr(err)
	}
	in.CreatedAt, in.ChangedAt = in.CreatedAt.UTC(), in.ChangedAt.UTC()
	if len(domains) > 0 {
		in.PrimaryDomain = domains[0]
		in.AdditionalDomains = domains[1:]
	}
	return &in, nil
}

// InstanceCreate implements store.Queries.
func (q *queries) InstanceCreate(ctx context.Context, p *store.InstanceCreateParams) (*iam.Instance, error) {
	return write(ctx, q, func(q *queries) (*iam.Instance, error) {
		in := p.Instance
		_, err := q.db.Exec(ctx,
			`INSERT INTO instances (id, name, state, is_system, created_at, changed_at, version) VALUES ($1, $2, $3, $4, $5, $5, 1)`,
			in.ID, in.Name, string(in.State), in.System, p.Now)
		if err != nil {
			return nil, fmt.Errorf("postgres: insert instance: %w", mapErr(err))
		}
		if err := q.insertDomains(ctx, in); err != nil {
			return nil, err
		}
		return q.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: in.ID})
	})
}

func (q *queries) insertDomains(ctx context.Context, in *iam.Instance) error {
	domains := in.Domains()
	positions := make([]int32, len(domains))
	for i := range positions {
		positions[i] = int32(i)
	}
	_, err := q.db.Exec(ctx, `INSERT INTO instance_domains (domain, instance_id, position)
		SELECT d, $2, p FROM unnest($1::text[], $3::int[]) AS t(d, p)`, domains, in.ID, positions)
	if err != nil {
		return fmt.Errorf("postgres: insert instance domains: %w", mapErr(err))
	}
	return nil
}

// InstanceGetByID implements store.Queries.
func (q *queries) InstanceGetByID(ctx context.Context, p *store.InstanceGetByIDParams) (*iam.Instance, error) {
	return scanInstance(q.db.QueryRow(ctx, `SELECT `+instanceColumns+` FROM instances i WHERE i.id = $1`, p.ID))
}

// InstanceGetByDomain implements store.Queries.
func (q *queries) InstanceGetByDomain(ctx context.Context, p *store.InstanceGetByDomainParams) (*iam.Instance, error) {
	return scanInstance(q.db.QueryRow(ctx,
		`SELECT `+instanceColumns+` FROM instance_domains dd JOIN instances i ON i.id = dd.instance_id WHERE dd.domain = $1`,
		p.Domain))
}

// InstanceList implements store.Queries.
func (q *queries) InstanceList(ctx context.Context, p *store.InstanceListParams) ([]*iam.Instance, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if p.AfterID != "" {
		add("i.id > ?", p.AfterID)
	}
	if p.State != "" {
		add("i.state = ?", string(p.State))
	}
	query := `SELECT ` + instanceColumns + ` FROM instances i`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, store.ClampLimit(p.Limit))
	query += ` ORDER BY i.id LIMIT $` + strconv.Itoa(len(args))
	rows, err := q.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list instances: %w", mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iam.Instance, error) { return scanInstance(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list instances: %w", mapErr(err))
	}
	return out, nil
}

// InstanceUpdate implements store.Queries.
func (q *queries) InstanceUpdate(ctx context.Context, p *store.InstanceUpdateParams) (*iam.Instance, error) {
	return write(ctx, q, func(q *queries) (*iam.Instance, error) {
		in := p.Instance
		tag, err := q.db.Exec(ctx,
			`UPDATE instances SET name = $1, state = $2, changed_at = $3, version = version + 1 WHERE id = $4 AND version = $5`,
			in.Name, string(in.State), p.Now, in.ID, in.Version)
		if err != nil {
			return nil, fmt.Errorf("postgres: update instance: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM instances WHERE id = $1`, in.ID)
		}
		if _, err := q.db.Exec(ctx, `DELETE FROM instance_domains WHERE instance_id = $1`, in.ID); err != nil {
			return nil, fmt.Errorf("postgres: update instance domains: %w", mapErr(err))
		}
		if err := q.insertDomains(ctx, in); err != nil {
			return nil, err
		}
		return q.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: in.ID})
	})
}

// missingOrConflict tells why a versioned update touched no row.
func (q *queries) missingOrConflict(ctx context.Context, existsQuery string, args ...any) error {
	var one int
	err := q.db.QueryRow(ctx, existsQuery, args...).Scan(&one)
	if err == pgx.ErrNoRows {
		return store.ErrNotFound
	}
	if err != nil {
		return mapErr(err)
	}
	return store.ErrConflict
}
