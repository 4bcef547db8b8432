package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// projWhere builds a WHERE clause from conditions with ? placeholders.
type projWhere struct {
	conds []string
	args  []any
}

func (w *projWhere) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// prefix adds col >= prefix AND col < end-of-prefix.
func (w *projWhere) prefix(col, prefix string) {
	if prefix == "" {
		return
	}
	w.add(col+" >= ?", prefix)
	w.add(col+" < ?", store.PrefixUpper(prefix))
}

func (w *projWhere) String() string { return " WHERE " + strings.Join(w.conds, " AND ") }

const projectColumns = `instance_id, id, org_id, name, role_assertion, state, created_at, changed_at, version`

func scanProject(row interface{ Scan(...any) error }) (*iam.Project, error) {
	var p iam.Project
	var created, changed int64
	if err := row.Scan(&p.InstanceID, &p.ID, &p.OrgID, &p.Name, &p.RoleAssertion, &p.State, &created, &changed, &p.Version); err != nil {
		return nil, mapErr(err)
	}
	p.CreatedAt, p.ChangedAt = fromMicros(created), fromMicros(changed)
	return &p, nil
}

// projQueryList runs a list query and scans every row.
func projQueryList[T any](ctx context.Context, q *queries, what, query string, args []any, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", what, mapErr(err))
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", what, mapErr(err))
	}
	return out, nil
}

// ProjectCreate implements store.Queries.
func (q *queries) ProjectCreate(ctx context.Context, p *store.ProjectCreateParams) (*iam.Project, error) {
	return write(ctx, q, func(q *queries) (*iam.Project, error) {
		pr := p.Project
		now := micros(p.Now)
		_, err := q.db.ExecContext(ctx, `INSERT INTO projects (instance_id, id, org_id, name, name_norm, role_assertion, state, created_at, changed_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			pr.InstanceID, pr.ID, pr.OrgID, pr.Name, pr.NameKey(), pr.RoleAssertion, string(pr.State), now, now)
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert project: %w", mapErr(err))
		}
		return q.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: pr.InstanceID, OrgID: pr.OrgID, ID: pr.ID})
	})
}

// ProjectGetByID implements store.Queries.
func (q *queries) ProjectGetByID(ctx context.Context, p *store.ProjectGetByIDParams) (*iam.Project, error) {
	return scanProject(q.db.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE instance_id = ? AND org_id = ? AND id = ?`,
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
	return projQueryList(ctx, q, "projects", `SELECT `+projectColumns+` FROM projects`+w.String()+` ORDER BY name_norm, id LIMIT ?`,
		append(w.args, store.ClampLimit(p.Limit)), scanProject)
}

// ProjectUpdate implements store.Queries.
func (q *queries) ProjectUpdate(ctx context.Context, p *store.ProjectUpdateParams) (*iam.Project, error) {
	return write(ctx, q, func(q *queries) (*iam.Project, error) {
		pr := p.Project
		res, err := q.db.ExecContext(ctx, `UPDATE projects SET name = ?, name_norm = ?, role_assertion = ?, state = ?, changed_at = ?, version = version + 1
			WHERE instance_id = ? AND org_id = ? AND id = ? AND version = ?`,
			pr.Name, pr.NameKey(), pr.RoleAssertion, string(pr.State), micros(p.Now), pr.InstanceID, pr.OrgID, pr.ID, pr.Version)
		if err != nil {
			return nil, fmt.Errorf("sqlite: update project: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM projects WHERE instance_id = ? AND org_id = ? AND id = ?`, pr.InstanceID, pr.OrgID, pr.ID)
		}
		return q.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: pr.InstanceID, OrgID: pr.OrgID, ID: pr.ID})
	})
}

// ProjectDelete implements store.Queries.
func (q *queries) ProjectDelete(ctx context.Context, p *store.ProjectDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM projects WHERE instance_id = ? AND org_id = ? AND id = ? AND version = ?`,
			p.InstanceID, p.OrgID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete project: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM projects WHERE instance_id = ? AND org_id = ? AND id = ?`, p.InstanceID, p.OrgID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}

const projectRoleColumns = `instance_id, project_id, role_key, display_name, role_group, created_at, changed_at, version`

func scanProjectRole(row interface{ Scan(...any) error }) (*iam.ProjectRole, error) {
	var r iam.ProjectRole
	var created, changed int64
	if err := row.Scan(&r.InstanceID, &r.ProjectID, &r.Key, &r.DisplayName, &r.Group, &created, &changed, &r.Version); err != nil {
		return nil, mapErr(err)
	}
	r.CreatedAt, r.ChangedAt = fromMicros(created), fromMicros(changed)
	return &r, nil
}

// ProjectRoleCreate implements store.Queries.
func (q *queries) ProjectRoleCreate(ctx context.Context, p *store.ProjectRoleCreateParams) (*iam.ProjectRole, error) {
	return write(ctx, q, func(q *queries) (*iam.ProjectRole, error) {
		r := p.Role
		now := micros(p.Now)
		_, err := q.db.ExecContext(ctx, `INSERT INTO project_roles (instance_id, project_id, role_key, display_name, role_group, created_at, changed_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1)`, r.InstanceID, r.ProjectID, r.Key, r.DisplayName, r.Group, now, now)
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert project role: %w", mapErr(err))
		}
		return q.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: r.InstanceID, ProjectID: r.ProjectID, Key: r.Key})
	})
}

// ProjectRoleGet implements store.Queries.
func (q *queries) ProjectRoleGet(ctx context.Context, p *store.ProjectRoleGetParams) (*iam.ProjectRole, error) {
	return scanProjectRole(q.db.QueryRowContext(ctx, `SELECT `+projectRoleColumns+` FROM project_roles WHERE instance_id = ? AND project_id = ? AND role_key = ?`,
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
		w.add("role_key IN (SELECT value FROM json_each(?))", projJSON(p.Keys))
	}
	if p.AfterKey != "" {
		w.add("role_key > ?", p.AfterKey)
	}
	return projQueryList(ctx, q, "project roles", `SELECT `+projectRoleColumns+` FROM project_roles`+w.String()+` ORDER BY role_key LIMIT ?`,
		append(w.args, store.ClampLimit(p.Limit)), scanProjectRole)
}

// ProjectRoleUpdate implements store.Queries.
func (q *queries) ProjectRoleUpdate(ctx context.Context, p *store.ProjectRoleUpdateParams) (*iam.ProjectRole, error) {
	return write(ctx, q, func(q *queries) (*iam.ProjectRole, error) {
		r := p.Role
		res, err := q.db.ExecContext(ctx, `UPDATE project_roles SET display_name = ?, role_group = ?, changed_at = ?, version = version + 1
			WHERE instance_id = ? AND project_id = ? AND role_key = ? AND version = ?`,
			r.DisplayName, r.Group, micros(p.Now), r.InstanceID, r.ProjectID, r.Key, r.Version)
		if err != nil {
			return nil, fmt.Errorf("sqlite: update project role: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM project_roles WHERE instance_id = ? AND project_id = ? AND role_key = ?`, r.InstanceID, r.ProjectID, r.Key)
		}
		return q.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: r.InstanceID, ProjectID: r.ProjectID, Key: r.Key})
	})
}

// ProjectRoleDelete implements store.Queries.
func (q *queries) ProjectRoleDelete(ctx context.Context, p *store.ProjectRoleDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM project_roles WHERE instance_id = ? AND project_id = ? AND role_key = ? AND (? = 0 OR version = ?)`,
			p.InstanceID, p.ProjectID, p.Key, p.Version, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete project role: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM project_roles WHERE instance_id = ? AND project_id = ? AND role_key = ?`, p.InstanceID, p.ProjectID, p.Key)
		}
		return struct{}{}, nil
	})
	return err
}

// projJSON encodes a string list as a JSON array ("[]" for nil).
func projJSON(list []string) string {
	if len(list) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// projFromJSON decodes a JSON array of strings.
func projFromJSON(s string, what string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("sqlite: decode %s: %w", what, err)
	}
	return out, nil
}
