package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampartiam/rampart/internal/store"
)

func scanConsent(row interface{ Scan(...any) error }) (*store.Consent, error) {
	c := &store.Consent{}
	var scopes string
	var granted, changed int64
	if err := row.Scan(&c.InstanceID, &c.UserID, &c.AppID, &scopes, &granted, &changed); err != nil {
		return nil, mapErr(err)
	}
	c.GrantedAt, c.ChangedAt = fromMicros(granted), fromMicros(changed)
	if scopes != "" {
		c.Scopes = strings.Split(scopes, " ")
	}
	return c, nil
}

const consentColumns = `instance_id, user_id, app_id, scopes, granted_at, changed_at`

// ConsentGet implements store.ConsentQueries.
func (q *queries) ConsentGet(ctx context.Context, p *store.ConsentGetParams) (*store.Consent, error) {
	c, err := scanConsent(q.db.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE instance_id = ? AND user_id = ? AND app_id = ?`, p.InstanceID, p.UserID, p.AppID))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get consent: %w", err)
	}
	return c, nil
}

// ConsentPut implements store.ConsentQueries with one upsert.
func (q *queries) ConsentPut(ctx context.Context, p *store.ConsentPutParams) error {
	c := p.Consent
	_, err := q.loginExecCount(ctx, "put consent", `INSERT INTO consents (instance_id, user_id, app_id, scopes, granted_at, changed_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (instance_id, user_id, app_id) DO UPDATE SET scopes = excluded.scopes, changed_at = excluded.changed_at`,
		c.InstanceID, c.UserID, c.AppID, store.ConsentScopes(c.Scopes), micros(c.GrantedAt), micros(c.GrantedAt))
	return err
}

// ConsentList implements store.ConsentQueries.
func (q *queries) ConsentList(ctx context.Context, p *store.ConsentListParams) ([]*store.Consent, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE instance_id = ? AND user_id = ? ORDER BY app_id`, p.InstanceID, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list consents: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list consents: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list consents: %w", mapErr(err))
	}
	return out, nil
}

// ConsentDelete implements store.ConsentQueries.
func (q *queries) ConsentDelete(ctx context.Context, p *store.ConsentDeleteParams) (int, error) {
	return q.loginExecCount(ctx, "delete consents", `DELETE FROM consents
		WHERE instance_id = ? AND user_id = ? AND (? = '' OR app_id = ?)`, p.InstanceID, p.UserID, p.AppID, p.AppID)
}
