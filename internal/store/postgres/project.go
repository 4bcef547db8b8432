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

// projWhere builds a WHERE clause; each ? in a condition becomes the next
// $n placeholder.
type projWhere struct {
	conds []string
	args  []any
}

func (w *projWhere) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

// prefix adds col >= prefix AND col < end-of-prefix (col must compare
// bytewise: COLLATE "C").
func (w *projWhere) prefix(col, prefix string) {
	if prefix == "" {
		return
	}
	w.add(col+" >= ?", prefix)
	w.add(col+" < ?", store.PrefixUpper(prefix))
}

func (w *projWhere) String() string { return " WHERE " + strings.Join(w.conds, " AND ") }

// limit appends the LIMIT clause for n.
func (w *projWhere) limit(n int) string {
	w.args = append(w.args, store.ClampLimit(n))
	return " LIMIT $" + strconv.Itoa(len(w.args))
}

// projArr returns list, or an empty non-nil list (pgx sends nil as NULL).
func projArr(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// projNil returns nil for an empty list, so both backends agree.
func projNil(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return list
}

// projQueryList runs a list query and scans every row.
func projQueryList[T any](ctx context.Context, q *queries, what, query string, args []any, scan func(row pgx.Row) (T, error)) ([]T, error) {
	rows, err := q.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list %s: %w", what, mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list %s: %w", what, mapErr(err))
	}
	return out, nil
}

const projectColumns = `instance_id, id, org_id, name, role_assertion, state, created_at, changed_at, version`

func scanProject(row pgx.Row) (*iam.Project, error) {
	var p iam.Project
	if err := row.Scan(&p.InstanceID, &p.ID, &p.OrgID, &p.Name, &p.RoleAssertion, &p.State, &p.CreatedAt, &p.ChangedAt, &p.Version); err != nil {
		return nil, mapErr(err)
	}
	p.CreatedAt, p.ChangedAt = p.CreatedAt.UTC(), p.ChangedAt.UTC()
	return &p, nil
}

// ProjectCreate implements store.Queries.
func (q *queries) ProjectCreate(ctx context.Context, p *store.ProjectCreateParams) (*iam.Project, error) {
	return write(ctx, q, func(q *queries) (*iam.Project, error) {
		pr := p.Project
		_, err := q.db.Exec(ctx, `INSERT INTO projects (instance_id, id, org_id, name, name_norm, role_assertion, state, created_at, changed_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1)`,
			pr.InstanceID, pr.ID, pr.OrgID, pr.Name, pr.NameKey(), pr.RoleAssertion, string(pr.State), p.Now)
		if err != nil {
			return nil, fmt.Errorf("postgres: insert project: %w", mapErr(err))
		}
		return q.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: pr.InstanceID, OrgID: pr.OrgID, ID: pr.ID})
	})
}

// ProjectGetByID implements store.Queries.
func (q *queries) ProjectGetByID(ctx context.Context, p *store.ProjectGetByIDParams) (*iam.Project, error) {
	return scanProject(q.db.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE instance_id = $1 AND org_id = $2 AND id = $3`,
		p.InstanceID, p.OrgID, p.ID))
}

// ProjectList implements store.Queries.
func (q *queries) ProjectList(ctx context.Context, p *store.ProjectListParams) ([]*iam.Project, error) {
	var w projWhere
	w.add("instance_id = ? AND org_id = ?", p.InstanceID, p.OrgID)
	w.prefix("name_norm", iam.ProjectNameKey(p.NamePrefix))
	if p.State != "" {
		w.add("state = ?", string(p.State))
	}
	if p.AfterKey != "" || p.AfterID != "" {
		w.add("(name_norm, id) > (?, ?)", p.AfterKey, p.AfterID)
	}
	query := `SELECT ` + projectColumns + ` FROM projects` + w.String() + ` ORDER BY name_norm, id` + w.limit(p.Limit)
	return projQueryList(ctx, q, "projects", query, w.args, scanProject)
}

// ProjectUpdate implements store.Queries.
func (q *queries) ProjectUpdate(ctx context.Context, p *store.ProjectUpdateParams) (*iam.Project, error) {
	return write(ctx, q, func(q *queries) (*iam.Project, error) {
		pr := p.Project
		tag, err := q.db.Exec(ctx, `UPDATE projects SET name = $1, name_norm = $2, role_assertion = $3, state = $4, changed_at = $5, version = version + 1
			WHERE instance_id = $6 AND org_id = $7 AND id = $8 AND version = $9`,
			pr.Name, pr.NameKey(), pr.RoleAssertion, string(pr.State), p.Now, pr.InstanceID, pr.OrgID, pr.ID, pr.Version)
		if err != nil {
			return nil, fmt.Errorf("postgres: update project: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM projects WHERE instance_id = $1 AND org_id = $2 AND id = $3`, pr.InstanceID, pr.OrgID, pr.ID)
		}
		return q.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: pr.InstanceID, OrgID: pr.OrgID, ID: pr.ID})
	})
}

// ProjectDelete implements store.Queries.
func (q *queries) ProjectDelete(ctx context.Context, p *store.ProjectDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		tag, err := q.db.Exec(ctx, `DELETE FROM projects WHERE instance_id = $1 AND org_id = $2 AND id = $3 AND version = $4`,
			p.InstanceID, p.OrgID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("postgres: delete project: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM projects WHERE instance_id = $1 AND org_id = $2 AND id = $3`, p.InstanceID, p.OrgID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}

const projectRoleColumns = `instance_id, project_id, role_key, display_name, role_group, created_at, changed_at, version`

func scanProjectRole(row pgx.Row) (*iam.ProjectRole, error) {
	var r iam.ProjectRole
	if err := row.Scan(&r.InstanceID, &r.ProjectID, &r.Key, &r.DisplayName, &r.Group, &r.CreatedAt, &r.ChangedAt, &r.Version); err != nil {
		return nil, mapErr(err)
	}
	r.CreatedAt, r.ChangedAt = r.CreatedAt.UTC(), r.ChangedAt.UTC()
	return &r, nil
}

// ProjectRoleCreate implements store.Queries.
func (q *queries) ProjectRoleCreate(ctx context.Context, p *store.ProjectRoleCreateParams) (*iam.ProjectRole, error) {
	return write(ctx, q, func(q *queries) (*iam.ProjectRole, error) {
		r := p.Role
		_, err := q.db.Exec(ctx, `INSERT INTO project_roles (instance_id, project_id, role_key, display_name, role_group, created_at, changed_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $6, 1)`, r.InstanceID, r.ProjectID, r.Key, r.DisplayName, r.Group, p.Now)
		if err != nil {
			return nil, fmt.Errorf("postgres: insert project role: %w", mapErr(err))
		}
		return q.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: r.InstanceID, ProjectID: r.ProjectID, Key: r.Key})
	})
}

// ProjectRoleGet implements store.Queries.
func (q *queries) ProjectRoleGet(ctx context.Context, p *store.ProjectRoleGetParams) (*iam.ProjectRole, error) {
	return scanProjectRole(q.db.QueryRow(ctx, `SELECT `+projectRoleColumns+` FROM project_roles WHERE instance_id = $1 AND project_id = $2 AND role_key = $3`,
		p.InstanceID, p.ProjectID, p.Key))
}

// ProjectRoleList implements store.Queries.
func (q *queries) ProjectRoleList(ctx context.Context, p *store.ProjectRoleListParams) ([]*iam.ProjectRole, error) {
	if p.Keys != nil && len(p.Keys) == 0 {
		return nil, nil
	}
	var w projWhere
	w.add("instance_id = ? AND project_id = ?", p.InstanceID, p.ProjectID)
	w.prefix("role_key", p.KeyPrefix)
	if p.Keys != nil {
		w.add("role_key = ANY(?::text[])", p.Keys)
	}
	if p.AfterKey != "" {
		w.add("role_key > ?", p.AfterKey)
	}
	query := `SELECT ` + projectRoleColumns + ` FROM project_roles` + w.String() + ` ORDER BY role_key` + w.limit(p.Limit)
	return projQueryList(ctx, q, "project roles", query, w.args, scanProjectRole)
}

// ProjectRoleUpdate implements store.Queries.
func (q *queries) ProjectRoleUpdate(ctx context.Context, p *store.ProjectRoleUpdateParams) (*iam.ProjectRole, error) {
	return write(ctx, q, func(q *queries) (*iam.ProjectRole, error) {
		r := p.Role
		tag, err := q.db.Exec(ctx, `UPDATE project_roles SET display_name = $1, role_group = $2, changed_at = $3, version = version + 1
			WHERE instance_id = $4 AND project_id = $5 AND role_key = $6 AND version = $7`,
			r.DisplayName, r.Group, p.Now, r.InstanceID, r.ProjectID, r.Key, r.Version)
		if err != nil {
			return nil, fmt.Errorf("postgres: update project role: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM project_roles WHERE instance_id = $1 AND project_id = $2 AND role_key = $3`, r.InstanceID, r.ProjectID, r.Key)
		}
		return q.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: r.InstanceID, ProjectID: r.ProjectID, Key: r.Key})
	})
}

// ProjectRoleDelete implements store.Queries.
func (q *queries) ProjectRoleDelete(ctx context.Context, p *store.ProjectRoleDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		tag, err := q.db.Exec(ctx, `DELETE FROM project_roles WHERE instance_id = $1 AND project_id = $2 AND role_key = $3 AND ($4::bigint = 0 OR version = $4::bigint)`,
			p.InstanceID, p.ProjectID, p.Key, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("postgres: delete project role: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM project_roles WHERE instance_id = $1 AND project_id = $2 AND role_key = $3`, p.InstanceID, p.ProjectID, p.Key)
		}
		return struct{}{}, nil
	})
	return err
}
