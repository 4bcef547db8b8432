package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// instanceColumns selects an instance with its domains as a JSON array,
// primary first.
const instanceColumns = `i.id, i.name, i.state, i.is_system, i.created_at, i.changed_at, i.version,
	(SELECT json_group_array(domain) FROM
		(SELECT domain FROM instance_domains d WHERE d.instance_id = i.id ORDER BY position))`

func scanInstance(row interface{ Scan(...any) error }) (*iam.Instance, error) {
	var in iam.Instance
	var created, changed int64
	var domains string
	if err := row.Scan(&in.ID, &in.Name, &in.State, &in.System, &created, &changed, &in.Version, &domains); err != nil {
		return nil, mapErr(err)
	}
	in.CreatedAt, in.ChangedAt = fromMicros(created), fromMicros(changed)
	var ds []string
	if err := json.Unmarshal([]byte(domains), &ds); err != nil {
		return nil, fmt.Errorf("sqlite: instance %s domains: %w", in.ID, err)
	}
	if len(ds) > 0 {
		in.PrimaryDomain = ds[0]
		in.AdditionalDomains = ds[1:]
	}
	return &in, nil
}

// InstanceCreate implements store.Queries.
func (q *queries) InstanceCreate(ctx context.Context, p *store.InstanceCreateParams) (*iam.Instance, error) {
	return write(ctx, q, func(q *queries) (*iam.Instance, error) {
		in := p.Instance
		now := micros(p.Now)
		_, err := q.db.ExecContext(ctx,
			`INSERT INTO instances (id, name, state, is_system, created_at, changed_at, version) VALUES (?, ?, ?, ?, ?, ?, 1)`,
			in.ID, in.Name, string(in.State), in.System, now, now)
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert instance: %w", mapErr(err))
		}
		if err := q.insertDomains(ctx, in); err != nil {
			return nil, err
		}
		return q.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: in.ID})
	})
}

func (q *queries) insertDomains(ctx context.Context, in *iam.Instance) error {
	for pos, d := range in.Domains() {
		_, err := q.db.ExecContext(ctx,
			`INSERT INTO instance_domains (domain, instance_id, position) VALUES (?, ?, ?)`, d, in.ID, pos)
		if err != nil {
			return fmt.Errorf("sqlite: insert instance domain %q: %w", d, mapErr(err))
		}
	}
	return nil
}

// InstanceGetByID implements store.Queries.
func (q *queries) InstanceGetByID(ctx context.Context, p *store.InstanceGetByIDParams) (*iam.Instance, error) {
	return scanInstance(q.db.QueryRowContext(ctx,
		`SELECT `+instanceColumns+` FROM instances i WHERE i.id = ?`, p.ID))
}

// InstanceGetByDomain implements store.Queries.
func (q *queries) InstanceGetByDomain(ctx context.Context, p *store.InstanceGetByDomainParams) (*iam.Instance, error) {
	return scanInstance(q.db.QueryRowContext(ctx,
		`SELECT `+instanceColumns+` FROM instance_domains dd JOIN instances i ON i.id = dd.instance_id WHERE dd.domain = ?`,
		p.Domain))
}

// InstanceList implements store.Queries.
func (q *queries) InstanceList(ctx context.Context, p *store.InstanceListParams) ([]*iam.Instance, error) {
	var where []string
	var args []any
	if p.AfterID != "" {
		where, args = append(where, "i.id > ?"), append(args, p.AfterID)
	}
	if p.State != "" {
		where, args = append(where, "i.state = ?"), append(args, string(p.State))
	}
	query := `SELECT ` + instanceColumns + ` FROM instances i`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY i.id LIMIT ?`
	args = append(args, store.ClampLimit(p.Limit))
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list instances: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*iam.Instance
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list instances: %w", mapErr(err))
	}
	return out, nil
}

// InstanceUpdate implements store.Queries.
func (q *queries) InstanceUpdate(ctx context.Context, p *store.InstanceUpdateParams) (*iam.Instance, error) {
	return write(ctx, q, func(q *queries) (*iam.Instance, error) {
		in := p.Instance
		res, err := q.db.ExecContext(ctx,
			`UPDATE instances SET name = ?, state = ?, changed_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			in.Name, string(in.State), micros(p.Now), in.ID, in.Version)
		if err != nil {
			return nil, fmt.Errorf("sqlite: update instance: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM instances WHERE id = ?`, in.ID)
		}
		if _, err := q.db.ExecContext(ctx, `DELETE FROM instance_domains WHERE instance_id = ?`, in.ID); err != nil {
			return nil, fmt.Errorf("sqlite: update instance domains: %w", mapErr(err))
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
	err := q.db.QueryRowContext(ctx, existsQuery, args...).Scan(&one)
	if err == sql.ErrNoRows {
		return store.ErrNotFound
	}
	if err != nil {
		return mapErr(err)
	}
	return store.ErrConflict
}
