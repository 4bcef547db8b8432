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

const membershipColumns = `instance_id, id, scope, COALESCE(org_id, ''), COALESCE(project_id, ''), user_id, roles, created_at, changed_at, version`

func scanMembership(row pgx.Row) (*iam.Membership, error) {
	var m iam.Membership
	var scope string
	var roles []string
	if err := row.Scan(&m.InstanceID, &m.ID, &scope, &m.OrgID, &m.ProjectID, &m.UserID, &roles, &m.CreatedAt, &m.ChangedAt, &m.Version); err != nil {
		return nil, mapErr(err)
	}
	m.Scope = iam.MemberScope(scope)
	m.Roles = make([]iam.MemberRole, len(roles))
	for i, r := range roles {
		m.Roles[i] = iam.MemberRole(r)
	}
	m.CreatedAt, m.ChangedAt = m.CreatedAt.UTC(), m.ChangedAt.UTC()
	return &m, nil
}

func memberRoleStrings(roles []iam.MemberRole) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// memberNull maps "" to SQL NULL.
func memberNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// MembershipCreate implements store.Queries.
func (q *queries) MembershipCreate(ctx context.Context, p *store.MembershipCreateParams) (*iam.Membership, error) {
	m := p.Membership
	// One statement: atomic by itself outside a transaction.
	out, err := scanMembership(q.db.QueryRow(ctx, `INSERT INTO memberships
		(instance_id, id, scope, org_id, project_id, user_id, roles, created_at, changed_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1) RETURNING `+membershipColumns,
		m.InstanceID, m.ID, string(m.Scope), memberNull(m.OrgID), memberNull(m.ProjectID), m.UserID, memberRoleStrings(m.Roles), p.Now))
	if err != nil {
		return nil, fmt.Errorf("postgres: insert membership: %w", err)
	}
	return out, nil
}

// MembershipGet implements store.Queries.
func (q *queries) MembershipGet(ctx context.Context, p *store.MembershipGetParams) (*iam.Membership, error) {
	return scanMembership(q.db.QueryRow(ctx, `SELECT `+membershipColumns+` FROM memberships
		WHERE instance_id = $1 AND scope = $2 AND COALESCE(org_id, '') = $3 AND COALESCE(project_id, '') = $4 AND user_id = $5`,
		p.InstanceID, string(p.Scope), p.OrgID, p.ProjectID, p.UserID))
}

// MembershipList implements store.Queries.
func (q *queries) MembershipList(ctx context.Context, p *store.MembershipListParams) ([]*iam.Membership, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	add("instance_id = ?", p.InstanceID)
	if p.Scope != "" {
		add("scope = ?", string(p.Scope))
		add("COALESCE(org_id, '') = ?", p.OrgID)
		add("COALESCE(project_id, '') = ?", p.ProjectID)
	}
	if p.UserID != "" {
		add("user_id = ?", p.UserID)
	}
	if p.Role != "" {
		add("? = ANY(roles)", string(p.Role))
	}
	if p.AfterID != "" {
		add("id > ?", p.AfterID)
	}
	args = append(args, store.ClampLimit(p.Limit))
	query := `SELECT ` + membershipColumns + ` FROM memberships WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY id LIMIT $` + strconv.Itoa(len(args))
	if p.ForUpdate {
		query += ` FOR UPDATE`
	}
	return q.listMemberships(ctx, query, args...)
}

// MembershipListByUser implements store.Queries.
func (q *queries) MembershipListByUser(ctx context.Context, p *store.MembershipListByUserParams) ([]*iam.Membership, error) {
	return q.listMemberships(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE instance_id = $1 AND user_id = $2 ORDER BY id`,
		p.InstanceID, p.UserID)
}

func (q *queries) listMemberships(ctx context.Context, query string, args ...any) ([]*iam.Membership, error) {
	rows, err := q.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list memberships: %w", mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iam.Membership, error) { return scanMembership(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list memberships: %w", mapErr(err))
	}
	return out, nil
}

// MembershipUpdate implements store.Queries.
func (q *queries) MembershipUpdate(ctx context.Context, p *store.MembershipUpdateParams) (*iam.Membership, error) {
	return write(ctx, q, func(q *queries) (*iam.Membership, error) {
		out, err := scanMembership(q.db.QueryRow(ctx, `UPDATE memberships SET roles = $1, changed_at = $2, version = version + 1
			WHERE instance_id = $3 AND id = $4 AND version = $5 RETURNING `+membershipColumns,
			memberRoleStrings(p.Roles), p.Now, p.InstanceID, p.ID, p.Version))
		if err == store.ErrNotFound {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM memberships WHERE instance_id = $1 AND id = $2`, p.InstanceID, p.ID)
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: update membership: %w", err)
		}
		return out, nil
	})
}

// MembershipDelete implements store.Queries.
func (q *queries) MembershipDelete(ctx context.Context, p *store.MembershipDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		tag, err := q.db.Exec(ctx, `DELETE FROM memberships WHERE instance_id = $1 AND id = $2 AND version = $3`,
			p.InstanceID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("postgres: delete membership: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM memberships WHERE instance_id = $1 AND id = $2`, p.InstanceID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}
