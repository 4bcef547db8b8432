package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// projectGrantColumns selects a project grant (alias g) with its sorted
// role keys.
const projectGrantColumns = `g.instance_id, g.id, g.org_id, g.project_id, g.granted_org_id, g.state, g.created_at, g.changed_at, g.version,
	ARRAY(SELECT r.role_key::text FROM project_grant_roles r WHERE r.instance_id = g.instance_id AND r.grant_id = g.id ORDER BY r.role_key)`

func scanProjectGrant(row pgx.Row) (*iam.ProjectGrant, error) {
	var g iam.ProjectGrant
	if err := row.Scan(&g.InstanceID, &g.ID, &g.OrgID, &g.ProjectID, &g.GrantedOrgID, &g.State, &g.CreatedAt, &g.ChangedAt, &g.Version, &g.RoleKeys); err != nil {
		return nil, mapErr(err)
	}
	g.RoleKeys = projNil(g.RoleKeys)
	g.CreatedAt, g.ChangedAt = g.CreatedAt.UTC(), g.ChangedAt.UTC()
	return &g, nil
}

func (q *queries) insertProjectGrantRoles(ctx context.Context, g *iam.ProjectGrant) error {
	if len(g.RoleKeys) == 0 {
		return nil
	}
	_, err := q.db.Exec(ctx, `INSERT INTO project_grant_roles (instance_id, grant_id, project_id, role_key)
		SELECT $1, $2, $3, k FROM unnest($4::text[]) AS k`, g.InstanceID, g.ID, g.ProjectID, g.RoleKeys)
	if err != nil {
		return fmt.Errorf("postgres: insert project grant roles: %w", mapErr(err))
	}
	return nil
}

// ProjectGrantCreate implements store.Queries.
func (q *queries) ProjectGrantCreate(ctx context.Context, p *store.ProjectGrantCreateParams) (*iam.ProjectGrant, error) {
	return write(ctx, q, func(q *queries) (*iam.ProjectGrant, error) {
		g := p.Grant
		_, err := q.db.Exec(ctx, `INSERT INTO project_grants (instance_id, id, org_id, project_id, granted_org_id, state, created_at, changed_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1)`, g.InstanceID, g.ID, g.OrgID, g.ProjectID, g.GrantedOrgID, string(g.State), p.Now)
		if err != nil {
			return nil, fmt.Errorf("postgres: insert project grant: %w", mapErr(err))
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
	query := `SELECT ` + projectGrantColumns + ` FROM project_grants g` + w.String()
	if p.ForUpdate {
		query += ` FOR UPDATE OF g`
	}
	return scanProjectGrant(q.db.QueryRow(ctx, query, w.args...))
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
	query := `SELECT ` + projectGrantColumns + ` FROM project_grants g` + w.String() + ` ORDER BY g.id` + w.limit(p.Limit)
	if p.ForUpdate {
		query += ` FOR UPDATE OF g`
	}
	return projQueryList(ctx, q, "project grants", query, w.args, scanProjectGrant)
}

// ProjectGrantUpdate implements store.Queries.
func (q *queries) ProjectGrantUpdate(ctx context.Context, p *store.ProjectGrantUpdateParams) (*iam.ProjectGrant, error) {
	return write(ctx, q, func(q *queries) (*iam.ProjectGrant, error) {
		g := p.Grant
		tag, err := q.db.Exec(ctx, `UPDATE project_grants SET state = $1, changed_at = $2, version = version + 1
			WHERE instance_id = $3 AND org_id = $4 AND project_id = $5 AND id = $6 AND version = $7`,
			string(g.State), p.Now, g.InstanceID, g.OrgID, g.ProjectID, g.ID, g.Version)
		if err != nil {
			return nil, fmt.Errorf("postgres: update project grant: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM project_grants WHERE instance_id = $1 AND org_id = $2 AND project_id = $3 AND id = $4`,
				g.InstanceID, g.OrgID, g.ProjectID, g.ID)
		}
		if _, err := q.db.Exec(ctx, `DELETE FROM project_grant_roles WHERE instance_id = $1 AND grant_id = $2`, g.InstanceID, g.ID); err != nil {
			return nil, fmt.Errorf("postgres: update project grant roles: %w", mapErr(err))
		}
		if err := q.insertProjectGrantRoles(ctx, g); err != nil {
			return nil, err
		}
		// Roles no longer granted leave the user grants made under this grant.
		_, err = q.db.Exec(ctx, `DELETE FROM user_grant_roles r USING user_grants ug
			WHERE r.instance_id = $1 AND ug.instance_id = $1 AND ug.id = r.grant_id AND ug.project_grant_id = $2
			AND NOT (r.role_key = ANY($3::text[]))`, g.InstanceID, g.ID, projArr(g.RoleKeys))
		if err != nil {
			return nil, fmt.Errorf("postgres: trim user grant roles: %w", mapErr(err))
		}
		return q.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: g.InstanceID, ID: g.ID})
	})
}

// ProjectGrantDelete implements store.Queries.
func (q *queries) ProjectGrantDelete(ctx context.Context, p *store.ProjectGrantDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		tag, err := q.db.Exec(ctx, `DELETE FROM project_grants WHERE instance_id = $1 AND org_id = $2 AND project_id = $3 AND id = $4 AND version = $5`,
			p.InstanceID, p.OrgID, p.ProjectID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("postgres: delete project grant: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM project_grants WHERE instance_id = $1 AND org_id = $2 AND project_id = $3 AND id = $4`,
				p.InstanceID, p.OrgID, p.ProjectID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}

// userGrantColumns selects a user grant (alias g) with its sorted role keys.
const userGrantColumns = `g.instance_id, g.id, g.org_id, g.user_id, g.project_id, COALESCE(g.project_grant_id, ''), g.state,
	g.created_at, g.changed_at, g.version,
	ARRAY(SELECT r.role_key::text FROM user_grant_roles r WHERE r.instance_id = g.instance_id AND r.grant_id = g.id ORDER BY r.role_key)`

func scanUserGrant(row pgx.Row) (*iam.UserGrant, error) {
	var g iam.UserGrant
	if err := row.Scan(&g.InstanceID, &g.ID, &g.OrgID, &g.UserID, &g.ProjectID, &g.ProjectGrantID, &g.State,
		&g.CreatedAt, &g.ChangedAt, &g.Version, &g.RoleKeys); err != nil {
		return nil, mapErr(err)
	}
	g.RoleKeys = projNil(g.RoleKeys)
	g.CreatedAt, g.ChangedAt = g.CreatedAt.UTC(), g.ChangedAt.UTC()
	return &g, nil
}

func (q *queries) insertUserGrantRoles(ctx context.Context, g *iam.UserGrant) error {
	if len(g.RoleKeys) == 0 {
		return nil
	}
	// The project comes from the stored grant, not from the caller.
	_, err := q.db.Exec(ctx, `INSERT INTO user_grant_roles (instance_id, grant_id, project_id, role_key)
		SELECT ug.instance_id, ug.id, ug.project_id, k FROM user_grants ug, unnest($3::text[]) AS k
		WHERE ug.instance_id = $1 AND ug.id = $2`, g.InstanceID, g.ID, g.RoleKeys)
	if err != nil {
		return fmt.Errorf("postgres: insert user grant roles: %w", mapErr(err))
	}
	return nil
}

// projNullable binds "" as NULL.
func projNullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// UserGrantCreate implements store.Queries.
func (q *queries) UserGrantCreate(ctx context.Context, p *store.UserGrantCreateParams) (*iam.UserGrant, error) {
	return write(ctx, q, func(q *queries) (*iam.UserGrant, error) {
		g := p.Grant
		_, err := q.db.Exec(ctx, `INSERT INTO user_grants (instance_id, id, org_id, user_id, project_id, project_grant_id, state, created_at, changed_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1)`,
			g.InstanceID, g.ID, g.OrgID, g.UserID, g.ProjectID, projNullable(g.ProjectGrantID), string(g.State), p.Now)
		if err != nil {
			return nil, fmt.Errorf("postgres: insert user grant: %w", mapErr(err))
		}
		if err := q.insertUserGrantRoles(ctx, g); err != nil {
			return nil, err
		}
		return q.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: g.InstanceID, OrgID: g.OrgID, ID: g.ID})
	})
}

// UserGrantGet implements store.Queries.
func (q *queries) UserGrantGet(ctx context.Context, p *store.UserGrantGetParams) (*iam.UserGrant, error) {
	return scanUserGrant(q.db.QueryRow(ctx, `SELECT `+userGrantColumns+` FROM user_grants g WHERE g.instance_id = $1 AND g.org_id = $2 AND g.id = $3`,
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
	query := `SELECT ` + userGrantColumns + ` FROM user_grants g` + w.String() + ` ORDER BY g.id` + w.limit(p.Limit)
	return projQueryList(ctx, q, "user grants", query, w.args, scanUserGrant)
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
	query := `SELECT ` + userGrantColumns + from + w.String() + ` ORDER BY g.project_id, g.id` + w.limit(store.MaxListLimit)
	return projQueryList(ctx, q, "user grants", query, w.args, scanUserGrant)
}

// UserGrantUpdate implements store.Queries.
func (q *queries) UserGrantUpdate(ctx context.Context, p *store.UserGrantUpdateParams) (*iam.UserGrant, error) {
	return write(ctx, q, func(q *queries) (*iam.UserGrant, error) {
		g := p.Grant
		tag, err := q.db.Exec(ctx, `UPDATE user_grants SET state = $1, changed_at = $2, version = version + 1
			WHERE instance_id = $3 AND org_id = $4 AND id = $5 AND version = $6`,
			string(g.State), p.Now, g.InstanceID, g.OrgID, g.ID, g.Version)
		if err != nil {
			return nil, fmt.Errorf("postgres: update user grant: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM user_grants WHERE instance_id = $1 AND org_id = $2 AND id = $3`, g.InstanceID, g.OrgID, g.ID)
		}
		if _, err := q.db.Exec(ctx, `DELETE FROM user_grant_roles WHERE instance_id = $1 AND grant_id = $2`, g.InstanceID, g.ID); err != nil {
			return nil, fmt.Errorf("postgres: update user grant roles: %w", mapErr(err))
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
		tag, err := q.db.Exec(ctx, `DELETE FROM user_grants WHERE instance_id = $1 AND org_id = $2 AND id = $3 AND version = $4`,
			p.InstanceID, p.OrgID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("postgres: delete user grant: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM user_grants WHERE instance_id = $1 AND org_id = $2 AND id = $3`, p.InstanceID, p.OrgID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}
