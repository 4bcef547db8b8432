package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

const applicationColumns = `instance_id, id, org_id, project_id, name, type, client_id, secret_hash,
	redirect_uris, post_logout_redirect_uris, grant_types, response_types, auth_method, access_token_format,
	access_token_lifetime_ms, id_token_lifetime_ms, refresh_token_lifetime_ms, pkce_required, state, created_at, changed_at, version, consent_required`

func scanApplication(row pgx.Row) (*iam.Application, error) {
	var a iam.Application
	var accessMS, idMS, refreshMS int64
	if err := row.Scan(&a.InstanceID, &a.ID, &a.OrgID, &a.ProjectID, &a.Name, &a.Type, &a.ClientID, &a.SecretHash,
		&a.RedirectURIs, &a.PostLogoutRedirectURIs, &a.GrantTypes, &a.ResponseTypes, &a.AuthMethod, &a.AccessTokenFormat,
		&accessMS, &idMS, &refreshMS, &a.PKCERequired, &a.State, &a.CreatedAt, &a.ChangedAt, &a.Version, &a.ConsentRequired); err != nil {
		return nil, mapErr(err)
	}
	a.RedirectURIs, a.PostLogoutRedirectURIs = projNil(a.RedirectURIs), projNil(a.PostLogoutRedirectURIs)
	a.GrantTypes, a.ResponseTypes = projNil(a.GrantTypes), projNil(a.ResponseTypes)
	if len(a.SecretHash) == 0 {
		a.SecretHash = nil
	}
	a.AccessTokenLifetime = time.Duration(accessMS) * time.Millisecond
	a.IDTokenLifetime = time.Duration(idMS) * time.Millisecond
	a.RefreshTokenLifetime = time.Duration(refreshMS) * time.Millisecond
	a.CreatedAt, a.ChangedAt = a.CreatedAt.UTC(), a.ChangedAt.UTC()
	return &a, nil
}

// projBytea binds a byte slice, NULL when empty.
func projBytea(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ApplicationCreate implements store.Queries.
func (q *queries) ApplicationCreate(ctx context.Context, p *store.ApplicationCreateParams) (*iam.Application, error) {
	return write(ctx, q, func(q *queries) (*iam.Application, error) {
		a := p.Application
		_, err := q.db.Exec(ctx, `INSERT INTO applications (instance_id, id, org_id, project_id, name, type, client_id, secret_hash,
			redirect_uris, post_logout_redirect_uris, grant_types, response_types, auth_method, access_token_format,
			access_token_lifetime_ms, id_token_lifetime_ms, refresh_token_lifetime_ms, pkce_required, state, created_at, changed_at, version, consent_required)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, 1, $21)`,
			a.InstanceID, a.ID, a.OrgID, a.ProjectID, a.Name, string(a.Type), a.ClientID, projBytea(a.SecretHash),
			projArr(a.RedirectURIs), projArr(a.PostLogoutRedirectURIs), projArr(a.GrantTypes), projArr(a.ResponseTypes),
			string(a.AuthMethod), string(a.AccessTokenFormat),
			a.AccessTokenLifetime.Milliseconds(), a.IDTokenLifetime.Milliseconds(), a.RefreshTokenLifetime.Milliseconds(),
			a.PKCERequired, string(a.State), p.Now, a.ConsentRequired)
		if err != nil {
			return nil, fmt.Errorf("postgres: insert application: %w", mapErr(err))
		}
		return q.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: a.InstanceID, OrgID: a.OrgID, ProjectID: a.ProjectID, ID: a.ID})
	})
}

// ApplicationGetByID implements store.Queries.
func (q *queries) ApplicationGetByID(ctx context.Context, p *store.ApplicationGetByIDParams) (*iam.Application, error) {
	return scanApplication(q.db.QueryRow(ctx, `SELECT `+applicationColumns+` FROM applications
		WHERE instance_id = $1 AND org_id = $2 AND project_id = $3 AND id = $4`, p.InstanceID, p.OrgID, p.ProjectID, p.ID))
}

// ApplicationGetByClientID implements store.Queries.
func (q *queries) ApplicationGetByClientID(ctx context.Context, p *store.ApplicationGetByClientIDParams) (*iam.Application, error) {
	return scanApplication(q.db.QueryRow(ctx, `SELECT `+applicationColumns+` FROM applications
		WHERE instance_id = $1 AND client_id = $2`, p.InstanceID, p.ClientID))
}

// ApplicationList implements store.Queries.
func (q *queries) ApplicationList(ctx context.Context, p *store.ApplicationListParams) ([]*iam.Application, error) {
	var w projWhere
	w.add("instance_id = ? AND project_id = ? AND org_id = ?", p.InstanceID, p.ProjectID, p.OrgID)
	if p.AfterID != "" {
		w.add("id > ?", p.AfterID)
	}
	query := `SELECT ` + applicationColumns + ` FROM applications` + w.String() + ` ORDER BY id` + w.limit(p.Limit)
	return projQueryList(ctx, q, "applications", query, w.args, scanApplication)
}

// ApplicationUpdate implements store.Queries.
func (q *queries) ApplicationUpdate(ctx context.Context, p *store.ApplicationUpdateParams) (*iam.Application, error) {
	return write(ctx, q, func(q *queries) (*iam.Application, error) {
		a := p.Application
		tag, err := q.db.Exec(ctx, `UPDATE applications SET name = $1, secret_hash = $2,
			redirect_uris = $3, post_logout_redirect_uris = $4, grant_types = $5, response_types = $6, auth_method = $7, access_token_format = $8,
			access_token_lifetime_ms = $9, id_token_lifetime_ms = $10, refresh_token_lifetime_ms = $11, pkce_required = $12, state = $13,
			changed_at = $14, version = version + 1, consent_required = $20
			WHERE instance_id = $15 AND org_id = $16 AND project_id = $17 AND id = $18 AND version = $19`,
			a.Name, projBytea(a.SecretHash),
			projArr(a.RedirectURIs), projArr(a.PostLogoutRedirectURIs), projArr(a.GrantTypes), projArr(a.ResponseTypes),
			string(a.AuthMethod), string(a.AccessTokenFormat),
			a.AccessTokenLifetime.Milliseconds(), a.IDTokenLifetime.Milliseconds(), a.RefreshTokenLifetime.Milliseconds(),
			a.PKCERequired, string(a.State), p.Now,
			a.InstanceID, a.OrgID, a.ProjectID, a.ID, a.Version, a.ConsentRequired)
		if err != nil {
			return nil, fmt.Errorf("postgres: update application: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM applications WHERE instance_id = $1 AND org_id = $2 AND project_id = $3 AND id = $4`,
				a.InstanceID, a.OrgID, a.ProjectID, a.ID)
		}
		return q.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: a.InstanceID, OrgID: a.OrgID, ProjectID: a.ProjectID, ID: a.ID})
	})
}

// ApplicationSetSecretHash implements store.Queries.
func (q *queries) ApplicationSetSecretHash(ctx context.Context, p *store.ApplicationSetSecretHashParams) (*iam.Application, error) {
	return write(ctx, q, func(q *queries) (*iam.Application, error) {
		tag, err := q.db.Exec(ctx, `UPDATE applications SET secret_hash = $1, changed_at = $2, version = version + 1
			WHERE instance_id = $3 AND org_id = $4 AND project_id = $5 AND id = $6`,
			projBytea(p.SecretHash), p.Now, p.InstanceID, p.OrgID, p.ProjectID, p.ID)
		if err != nil {
			return nil, fmt.Errorf("postgres: set application secret: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return nil, store.ErrNotFound
		}
		return q.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: p.InstanceID, OrgID: p.OrgID, ProjectID: p.ProjectID, ID: p.ID})
	})
}

// ApplicationDelete implements store.Queries.
func (q *queries) ApplicationDelete(ctx context.Context, p *store.ApplicationDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		tag, err := q.db.Exec(ctx, `DELETE FROM applications WHERE instance_id = $1 AND org_id = $2 AND project_id = $3 AND id = $4 AND version = $5`,
			p.InstanceID, p.OrgID, p.ProjectID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("postgres: delete application: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM applications WHERE instance_id = $1 AND org_id = $2 AND project_id = $3 AND id = $4`,
				p.InstanceID, p.OrgID, p.ProjectID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}
