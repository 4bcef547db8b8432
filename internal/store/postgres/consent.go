package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampartiam/rampart/internal/store"
)

func scanConsent(row interface{ Scan(...any) error }) (*store.Consent, error) {
	c := &store.Consent{}
	var scopes string

	if err := row.Scan(&c.InstanceID, &c.UserID, &c.AppID, &scopes, &c.GrantedAt, &c.ChangedAt); err != nil {
		return nil, mapErr(err)
	}

	c.GrantedAt, c.ChangedAt = c.GrantedAt.UTC(), c.ChangedAt.UTC()
	if scopes != "" {
		c.Scopes = strings.Split(scopes, " ")
	}
	return c, nil
}

const consentColumns = `instance_id, user_id, app_id, scopes, granted_at, changed_at`

// ConsentGet implements store.ConsentQueries.
func (q *queries) ConsentGet(ctx context.Context, p *store.ConsentGetParams) (*store.Consent, error) {
	c, err := scanConsent(q.db.QueryRow(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE instance_id = $1 AND user_id = $2 AND app_id = $3`, p.InstanceID, p.UserID, p.AppID))
	if err != nil {
		return nil, fmt.Errorf("postgres: get consent: %w", err)
	}
	return c, nil
}

// ConsentPut implements store.ConsentQueries with one upsert.
func (q *queries) ConsentPut(ctx context.Context, p *store.ConsentPutParams) error {
	c := p.Consent
	_, err := q.loginExecCount(ctx, "put consent", `INSERT INTO consents (instance_id, user_id, app_id, scopes, granted_at, changed_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (instance_id, user_id, app_id) DO UPDATE SET scopes = excluded.scopes, changed_at = excluded.changed_at`,
		c.InstanceID, c.UserID, c.AppID, store.ConsentScopes(c.Scopes), c.GrantedAt)
	return err
}

// ConsentList implements store.ConsentQueries.
func (q *queries) ConsentList(ctx context.Context, p *store.ConsentListParams) ([]*store.Consent, error) {
	rows, err := q.db.Query(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE instance_id = $1 AND user_id = $2 ORDER BY app_id`, p.InstanceID, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list consents: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list consents: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list consents: %w", mapErr(err))
	}
	return out, nil
}

// ConsentDelete implements store.ConsentQueries.
func (q *queries) ConsentDelete(ctx context.Context, p *store.ConsentDeleteParams) (int, error) {
	return q.loginExecCount(ctx, "delete consents", `DELETE FROM consents
		WHERE instance_id = $1 AND user_id = $2 AND ($3 = '' OR app_id = $3)`, p.InstanceID, p.UserID, p.AppID)
}
