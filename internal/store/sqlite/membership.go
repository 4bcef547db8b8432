package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

const membershipColumns = `instance_id, id, scope, COALESCE(org_id, ''), COALESCE(project_id, ''), user_id, roles, created_at, changed_at, version`

func scanMembership(row interface{ Scan(...any) error }) (*iam.Membership, error) {
	var m iam.Membership
	var roles string
	var created, changed int64
	if err := row.Scan(&m.InstanceID, &m.ID, &m.Scope, &m.OrgID, &m.ProjectID, &m.UserID, &roles, &created, &changed, &m.Version); err != nil {
		return nil, mapErr(err)
	}
	if err := json.Unmarshal([]byte(roles), &m.Roles); err != nil {
		return nil, fmt.Errorf("sqlite: membership %s roles: %w", m.ID, err)
	}
	m.CreatedAt, m.ChangedAt = fromMicros(created), fromMicros(changed)
	return &m, nil
}

func encodeMemberRoles(roles []iam.MemberRole) string {
	if roles == nil {
		roles = []iam.MemberRole{}
	}
	b, _ := json.Marshal(roles)
	return string(b)
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
	return write(ctx, q, func(q *queries) (*iam.Membership, error) {
		m := p.Membership
		now := micros(p.Now)
		_, err := q.db.ExecContext(ctx, `INSERT INTO memberships
			(instance_id, id, scope, org_id, project_id, user_id, roles, created_at, changed_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			m.InstanceID, m.ID, string(m.Scope), memberNull(m.OrgID), memberNull(m.ProjectID), m.UserID, encodeMemberRoles(m.Roles), now, now)
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert membership: %w", mapErr(err))
		}
		return scanMembership(q.db.QueryRowContext(ctx,
			`SELECT `+membershipColumns+` FROM memberships WHERE instance_id = ? AND id = ?`, m.InstanceID, m.ID))
	})
}

// MembershipGet implements store.Queries.
func (q *queries) MembershipGet(ctx context.Context, p *store.MembershipGetParams) (*iam.Membership, error) {
	return scanMembership(q.db.QueryRowContext(ctx, `SELECT `+membershipColumns+` FROM memberships
		WHERE instance_id = ? AND scope = ? AND COALESCE(org_id, '') = ? AND COALESCE(project_id, '') = ? AND user_id = ?`,
		p.InstanceID, string(p.Scope), p.OrgID, p.ProjectID, p.UserID))
}

// MembershipList implements store.Queries.
func (q *queries) MembershipList(ctx context.Context, p *store.MembershipListParams) ([]*iam.Membership, error) {
	where := []string{"instance_id = ?"}
	args := []any{p.InstanceID}
	add := func(cond string, v ...any) {
		where, args = append(where, cond), append(args, v...)
	}
	if p.Scope != "" {
		add("scope = ? AND COALESCE(org_id, '') = ? AND COALESCE(project_id, '') = ?", string(p.Scope), p.OrgID, p.ProjectID)
	}
	if p.UserID != "" {
		add("user_id = ?", p.UserID)
	}
	if p.Role != "" {
		add("EXISTS (SELECT 1 FROM json_each(roles) WHERE json_each.value = ?)", string(p.Role))
	}
	if p.AfterID != "" {
		add("id > ?", p.AfterID)
	}
	args = append(args, store.ClampLimit(p.Limit))
	return q.listMemberships(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
}

// MembershipListByUser implements store.Queries.
func (q *queries) MembershipListByUser(ctx context.Context, p *store.MembershipListByUserParams) ([]*iam.Membership, error) {
	return q.listMemberships(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE instance_id = ? AND user_id = ? ORDER BY id`,
		p.InstanceID, p.UserID)
}

func (q *queries) listMemberships(ctx context.Context, query string, args ...any) ([]*iam.Membership, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list memberships: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*iam.Membership
	for rows.Next() {
		m, err := scanMembership(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list memberships: %w", mapErr(err))
	}
	return out, nil
}

// MembershipUpdate implements store.Queries.
func (q *queries) MembershipUpdate(ctx context.Context, p *store.MembershipUpdateParams) (*iam.Membership, error) {
	return write(ctx, q, func(q *queries) (*iam.Membership, error) {
		res, err := q.db.ExecContext(ctx, `UPDATE memberships SET roles = ?, changed_at = ?, version = version + 1
			WHERE instance_id = ? AND id = ? AND version = ?`,
			encodeMemberRoles(p.Roles), micros(p.Now), p.InstanceID, p.ID, p.Version)
		if err != nil {
			return nil, fmt.Errorf("sqlite: update membership: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM memberships WHERE instance_id = ? AND id = ?`, p.InstanceID, p.ID)
		}
		return scanMembership(q.db.QueryRowContext(ctx,
			`SELECT `+membershipColumns+` FROM memberships WHERE instance_id = ? AND id = ?`, p.InstanceID, p.ID))
	})
}

// MembershipDelete implements store.Queries.
func (q *queries) MembershipDelete(ctx context.Context, p *store.MembershipDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM memberships WHERE instance_id = ? AND id = ? AND version = ?`,
			p.InstanceID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete membership: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM memberships WHERE instance_id = ? AND id = ?`, p.InstanceID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}
