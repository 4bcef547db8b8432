package sqlite

import (
	"context"
	"fmt"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// projectGrantColumns selects a project grant (alias g) with its role keys
// as a sorted JSON array.
const projectGrantColumns = `g.instance_id, g.id, g.org_id, g.project_id, g.granted_org_id, g.state, g.created_at, g.changed_at, g.version,
	(SELECT json_group_array(role_key) FROM
		(SELECT r.role_key FROM project_grant_roles r WHERE r.instance_id = g.instance_id AND r.grant_id = g.id ORDER BY r.role_key))`

func scanProjectGrant(row interface{ Scan(...any) error }) (*iam.ProjectGrant, error) {
	var g iam.ProjectGrant
	var created, changed int64
	var roles string
	if err := row.Scan(&g.InstanceID, &g.ID, &g.OrgID, &g.ProjectID, &g.GrantedOrgID, &g.State, &created, &changed, &g.Version, &roles); err != nil {
		return nil, mapErr(err)
	}
	var err error
	if g.RoleKeys, err = projFromJSON(roles, "project grant roles"); err != nil {
		return nil, err
	}
	if len(g.RoleKeys) == 0 {
		g.RoleKeys = nil
	}
	g.CreatedAt, g.ChangedAt = fromMicros(created), fromMicros(changed)
	return &g, nil
}

func (q *queries) insertProjectGrantRoles(ctx context.Context, g *iam.ProjectGrant) error {
	if len(g.RoleKeys) == 0 {
		return nil
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO project_grant_roles (instance_id, grant_id, project_id, role_key)
		SELECT ?, ?, ?, value FROM json_each(?)`, g.InstanceID, g.ID, g.ProjectID, projJSON(g.RoleKeys))
	if err != nil {
		return fmt.Errorf("sqlite: insert project grant roles: %w", mapErr(err))
	}
	return nil
}

// ProjectGrantCreate implements store.Queries.
func (q *queries) ProjectGrantCreate(ctx context.Context, p *store.ProjectGrantCreateParams) (*iam.ProjectGrant, error) {
	return write(ctx, q, func(q *queries) (*iam.ProjectGrant, error) {
		g := p.Grant
		now := micros(p.Now)
		_, err := q.db.ExecContext(ctx, `INSERT INTO project_grants (instance_id, id, org_id, project_id, granted_org_id, state, created_at, changed_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`, g.InstanceID, g.ID, g.OrgID, g.ProjectID, g.GrantedOrgID, string(g.State), now, now)
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert project grant: %w", mapErr(err))
		}
		if err := q.insertProjectGrantRoles(ctx, g); err != nil {
			return nil, err
		}
		return q.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: g.InstanceID, ID: g.ID})
	})
}

// ProjectGrantGet implements store.Queries.
func (q *queries) ProjectGrantGet(ctx context.Context, p *store.ProjectGrantGetParams) (*iam.ProjectGrant, error) {
	var w projWhere
	w.add("g.instance_id = ? AND g.id = ?", p.InstanceID, p.ID)
	if p.OrgID != "" {
		w.add("g.org_id = ?", p.OrgID)
	}
	if p.ProjectID != "" {
		w.add("g.project_id = ?", p.ProjectID)
	}
	return scanProjectGrant(q.db.QueryRowContext(ctx, `SELECT `+projectGrantColumns+` FROM project_grants g`+w.String(), w.args...))
}

// ProjectGrantList implements store.Queries.
func (q *queries) ProjectGrantList(ctx context.Context, p *store.ProjectGrantListParams) ([]*iam.ProjectGrant, error) {
	var w projWhere
	w.add("g.instance_id = ?", p.InstanceID)
	if p.OrgID != "" {
		w.add("g.org_id = ?", p.OrgID)
	}
	if p.ProjectID != "" {
		w.add("g.project_id = ?", p.ProjectID)
	}
	if p.GrantedOrgID != "" {
		w.add("g.granted_org_id = ?", p.GrantedOrgID)
	}
	if p.AfterID != "" {
		w.add("g.id > ?", p.AfterID)
	}
	return projQueryList(ctx, q, "project grants", `SELECT `+projectGrantColumns+` FROM project_grants g`+w.String()+` ORDER BY g.id LIMIT ?`,
		append(w.args, store.ClampLimit(p.Limit)), scanProjectGrant)
}

// ProjectGrantUpdate implements store.Queries.
func (q *queries) ProjectGrantUpdate(ctx context.Context, p *store.ProjectGrantUpdateParams) (*iam.ProjectGrant, error) {
	return write(ctx, q, func(q *queries) (*iam.ProjectGrant, error) {
		g := p.Grant
		res, err := q.db.ExecContext(ctx, `UPDATE project_grants SET state = ?, changed_at = ?, version = version + 1
			WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ? AND version = ?`,
			string(g.State), micros(p.Now), g.InstanceID, g.OrgID, g.ProjectID, g.ID, g.Version)
		if err != nil {
			return nil, fmt.Errorf("sqlite: update project grant: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM project_grants WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ?`,
				g.InstanceID, g.OrgID, g.ProjectID, g.ID)
		}
		if _, err := q.db.ExecContext(ctx, `DELETE FROM project_grant_roles WHERE instance_id = ? AND grant_id = ?`, g.InstanceID, g.ID); err != nil {
			return nil, fmt.Errorf("sqlite: update project grant roles: %w", mapErr(err))
		}
		if err := q.insertProjectGrantRoles(ctx, g); err != nil {
			return nil, err
		}
		// Roles no longer granted leave the user grants made under this grant.
		_, err = q.db.ExecContext(ctx, `DELETE FROM user_grant_roles WHERE instance_id = ?
			AND grant_id IN (SELECT id FROM user_grants WHERE instance_id = ? AND project_grant_id = ?)
			AND role_key NOT IN (SELECT value FROM json_each(?))`, g.InstanceID, g.InstanceID, g.ID, projJSON(g.RoleKeys))
		if err != nil {
			return nil, fmt.Errorf("sqlite: trim user grant roles: %w", mapErr(err))
		}
		return q.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: g.InstanceID, ID: g.ID})
	})
}

// ProjectGrantDelete implements store.Queries.
func (q *queries) ProjectGrantDelete(ctx context.Context, p *store.ProjectGrantDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM project_grants WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ? AND version = ?`,
			p.InstanceID, p.OrgID, p.ProjectID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete project grant: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM project_grants WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ?`,
				p.InstanceID, p.OrgID, p.ProjectID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}

// userGrantColumns selects a user grant (alias g) with its role keys as a
// sorted JSON array.
const userGrantColumns = `g.instance_id, g.id, g.org_id, g.user_id, g.project_id, COALESCE(g.project_grant_id, ''), g.state,
	g.created_at, g.changed_at, g.version,
	(SELECT json_group_array(role_key) FROM
		(SELECT r.role_key FROM user_grant_roles r WHERE r.instance_id = g.instance_id AND r.grant_id = g.id ORDER BY r.role_key))`

func scanUserGrant(row interface{ Scan(...any) error }) (*iam.UserGrant, error) {
	var g iam.UserGrant
	var created, changed int64
	var roles string
	if err := row.Scan(&g.InstanceID, &g.ID, &g.OrgID, &g.UserID, &g.ProjectID, &g.ProjectGrantID, &g.State, &created, &changed, &g.Version, &roles); err != nil {
		return nil, mapErr(err)
	}
	var err error
	if g.RoleKeys, err = projFromJSON(roles, "user grant roles"); err != nil {
		return nil, err
	}
	if len(g.RoleKeys) == 0 {
		g.RoleKeys = nil
	}
	g.CreatedAt, g.ChangedAt = fromMicros(created), fromMicros(changed)
	return &g, nil
}

func (q *queries) insertUserGrantRoles(ctx context.Context, g *iam.UserGrant) error {
	if len(g.RoleKeys) == 0 {
		return nil
	}
	// The project comes from the stored grant, not from the caller.
	_, err := q.db.ExecContext(ctx, `INSERT INTO user_grant_roles (instance_id, grant_id, project_id, role_key)
		SELECT ug.instance_id, ug.id, ug.project_id, j.value FROM user_grants ug, json_each(?) j
		WHERE ug.instance_id = ? AND ug.id = ?`, projJSON(g.RoleKeys), g.InstanceID, g.ID)
	if err != nil {
		return fmt.Errorf("sqlite: insert user grant roles: %w", mapErr(err))
	}
	return nil
}

// projNullable binds "" as NULL.
func projNullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// UserGrantCreate implements store.Queries.
func (q *queries) UserGrantCreate(ctx context.Context, p *store.UserGrantCreateParams) (*iam.UserGrant, error) {
	return write(ctx, q, func(q *queries) (*iam.UserGrant, error) {
		g := p.Grant
		now := micros(p.Now)
		_, err := q.db.ExecContext(ctx, `INSERT INTO user_grants (instance_id, id, org_id, user_id, project_id, project_grant_id, state, created_at, changed_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			g.InstanceID, g.ID, g.OrgID, g.UserID, g.ProjectID, projNullable(g.ProjectGrantID), string(g.State), now, now)
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert user grant: %w", mapErr(err))
		}
		if err := q.insertUserGrantRoles(ctx, g); err != nil {
			return nil, err
		}
		return q.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: g.InstanceID, OrgID: g.OrgID, ID: g.ID})
	})
}

// UserGrantGet implements store.Queries.
func (q *queries) UserGrantGet(ctx context.Context, p *store.UserGrantGetParams) (*iam.UserGrant, error) {
	return scanUserGrant(q.db.QueryRowContext(ctx, `SELECT `+userGrantColumns+` FROM user_grants g WHERE g.instance_id = ? AND g.org_id = ? AND g.id = ?`,
		p.InstanceID, p.OrgID, p.ID))
}

// UserGrantList implements store.Queries.
func (q *queries) UserGrantList(ctx context.Context, p *store.UserGrantListParams) ([]*iam.UserGrant, error) {
	var w projWhere
	w.add("g.instance_id = ?", p.InstanceID)
	if p.OrgID != "" {
		w.add("g.org_id = ?", p.OrgID)
	}
	if p.UserID != "" {
		w.add("g.user_id = ?", p.UserID)
	}
	if p.ProjectID != "" {
		w.add("g.project_id = ?", p.ProjectID)
	}
	if p.AfterID != "" {
		w.add("g.id > ?", p.AfterID)
	}
	return projQueryList(ctx, q, "user grants", `SELECT `+userGrantColumns+` FROM user_grants g`+w.String()+` ORDER BY g.id LIMIT ?`,
		append(w.args, store.ClampLimit(p.Limit)), scanUserGrant)
}

// UserGrantListForUser implements store.Queries.
func (q *queries) UserGrantListForUser(ctx context.Context, p *store.UserGrantListForUserParams) ([]*iam.UserGrant, error) {
	var w projWhere
	w.add("g.instance_id = ? AND g.user_id = ?", p.InstanceID, p.UserID)
	if p.ProjectID != "" {
		w.add("g.project_id = ?", p.ProjectID)
	}
	from := ` FROM user_grants g`
	if p.ActiveOnly {
		from += ` JOIN projects p ON p.instance_id = g.instance_id AND p.id = g.project_id
			LEFT JOIN project_grants pg ON pg.instance_id = g.instance_id AND pg.id = g.project_grant_id`
		w.add("g.state = 'active' AND p.state = 'active' AND (g.project_grant_id IS NULL OR pg.state = 'active')")
	}
	return projQueryList(ctx, q, "user grants", `SELECT `+userGrantColumns+from+w.String()+` ORDER BY g.project_id, g.id LIMIT ?`,
		append(w.args, store.MaxListLimit), scanUserGrant)
}

// UserGrantUpdate implements store.Queries.
func (q *queries) UserGrantUpdate(ctx context.Context, p *store.UserGrantUpdateParams) (*iam.UserGrant, error) {
	return write(ctx, q, func(q *queries) (*iam.UserGrant, error) {
		g := p.Grant
		res, err := q.db.ExecContext(ctx, `UPDATE user_grants SET state = ?, changed_at = ?, version = version + 1
			WHERE instance_id = ? AND org_id = ? AND id = ? AND version = ?`,
			string(g.State), micros(p.Now), g.InstanceID, g.OrgID, g.ID, g.Version)
		if err != nil {
			return nil, fmt.Errorf("sqlite: update user grant: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM user_grants WHERE instance_id = ? AND org_id = ? AND id = ?`, g.InstanceID, g.OrgID, g.ID)
		}
		if _, err := q.db.ExecContext(ctx, `DELETE FROM user_grant_roles WHERE instance_id = ? AND grant_id = ?`, g.InstanceID, g.ID); err != nil {
			return nil, fmt.Errorf("sqlite: update user grant roles: %w", mapErr(err))
		}
		if err := q.insertUserGrantRoles(ctx, g); err != nil {
			return nil, err
		}
		return q.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: g.InstanceID, OrgID: g.OrgID, ID: g.ID})
	})
}

// UserGrantDelete implements store.Queries.
func (q *queries) UserGrantDelete(ctx context.Context, p *store.UserGrantDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM user_grants WHERE instance_id = ? AND org_id = ? AND id = ? AND version = ?`,
			p.InstanceID, p.OrgID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete user grant: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM user_grants WHERE instance_id = ? AND org_id = ? AND id = ?`, p.InstanceID, p.OrgID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}
