package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

const applicationColumns = `instance_id, id, org_id, project_id, name, type, client_id, secret_hash,
	redirect_uris, post_logout_redirect_uris, grant_types, response_types, auth_method, access_token_format,
	access_token_lifetime_ms, id_token_lifetime_ms, refresh_token_lifetime_ms, pkce_required, state, created_at, changed_at, version, consent_required`

func scanApplication(row interface{ Scan(...any) error }) (*iam.Application, error) {
	var a iam.Application
	var redirect, postLogout, grants, responses string
	var accessMS, idMS, refreshMS, created, changed int64
	if err := row.Scan(&a.InstanceID, &a.ID, &a.OrgID, &a.ProjectID, &a.Name, &a.Type, &a.ClientID, &a.SecretHash,
		&redirect, &postLogout, &grants, &responses, &a.AuthMethod, &a.AccessTokenFormat,
		&accessMS, &idMS, &refreshMS, &a.PKCERequired, &a.State, &created, &changed, &a.Version, &a.ConsentRequired); err != nil {
		return nil, mapErr(err)
	}
	var err error
	for _, l := range []struct {
		dst  *[]string
		src  string
		what string
	}{
		{&a.RedirectURIs, redirect, "redirect_uris"},
		{&a.PostLogoutRedirectURIs, postLogout, "post_logout_redirect_uris"},
		{&a.GrantTypes, grants, "grant_types"},
		{&a.ResponseTypes, responses, "response_types"},
	} {
		if *l.dst, err = projFromJSON(l.src, "application "+l.what); err != nil {
			return nil, err
		}
		if len(*l.dst) == 0 {
			*l.dst = nil
		}
	}
	if len(a.SecretHash) == 0 {
		a.SecretHash = nil
	}
	a.AccessTokenLifetime = time.Duration(accessMS) * time.Millisecond
	a.IDTokenLifetime = time.Duration(idMS) * time.Millisecond
	a.RefreshTokenLifetime = time.Duration(refreshMS) * time.Millisecond
	a.CreatedAt, a.ChangedAt = fromMicros(created), fromMicros(changed)
	return &a, nil
}

// projBlob binds a byte slice, NULL when empty.
func projBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ApplicationCreate implements store.Queries.
func (q *queries) ApplicationCreate(ctx context.Context, p *store.ApplicationCreateParams) (*iam.Application, error) {
	return write(ctx, q, func(q *queries) (*iam.Application, error) {
		a := p.Application
		now := micros(p.Now)
		_, err := q.db.ExecContext(ctx, `INSERT INTO applications (instance_id, id, org_id, project_id, name, type, client_id, secret_hash,
			redirect_uris, post_logout_redirect_uris, grant_types, response_types, auth_method, access_token_format,
			access_token_lifetime_ms, id_token_lifetime_ms, refresh_token_lifetime_ms, pkce_required, state, created_at, changed_at, version, consent_required)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
			a.InstanceID, a.ID, a.OrgID, a.ProjectID, a.Name, string(a.Type), a.ClientID, projBlob(a.SecretHash),
			projJSON(a.RedirectURIs), projJSON(a.PostLogoutRedirectURIs), projJSON(a.GrantTypes), projJSON(a.ResponseTypes),
			string(a.AuthMethod), string(a.AccessTokenFormat),
			a.AccessTokenLifetime.Milliseconds(), a.IDTokenLifetime.Milliseconds(), a.RefreshTokenLifetime.Milliseconds(),
			a.PKCERequired, string(a.State), now, now, a.ConsentRequired)
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert application: %w", mapErr(err))
		}
		return q.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: a.InstanceID, OrgID: a.OrgID, ProjectID: a.ProjectID, ID: a.ID})
	})
}

// ApplicationGetByID implements store.Queries.
func (q *queries) ApplicationGetByID(ctx context.Context, p *store.ApplicationGetByIDParams) (*iam.Application, error) {
	return scanApplication(q.db.QueryRowContext(ctx, `SELECT `+applicationColumns+` FROM applications
		WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ?`, p.InstanceID, p.OrgID, p.ProjectID, p.ID))
}

// ApplicationGetByClientID implements store.Queries.
func (q *queries) ApplicationGetByClientID(ctx context.Context, p *store.ApplicationGetByClientIDParams) (*iam.Application, error) {
	return scanApplication(q.db.QueryRowContext(ctx, `SELECT `+applicationColumns+` FROM applications
		WHERE instance_id = ? AND client_id = ?`, p.InstanceID, p.ClientID))
}

// ApplicationList implements store.Queries.
func (q *queries) ApplicationList(ctx context.Context, p *store.ApplicationListParams) ([]*iam.Application, error) {
	var w projWhere
	w.add("instance_id = ? AND project_id = ? AND org_id = ?", p.InstanceID, p.ProjectID, p.OrgID)
	if p.AfterID != "" {
		w.add("id > ?", p.AfterID)
	}
	return projQueryList(ctx, q, "applications", `SELECT `+applicationColumns+` FROM applications`+w.String()+` ORDER BY id LIMIT ?`,
		append(w.args, store.ClampLimit(p.Limit)), scanApplication)
}

// ApplicationUpdate implements store.Queries.
func (q *queries) ApplicationUpdate(ctx context.Context, p *store.ApplicationUpdateParams) (*iam.Application, error) {
	return write(ctx, q, func(q *queries) (*iam.Application, error) {
		a := p.Application
		res, err := q.db.ExecContext(ctx, `UPDATE applications SET name = ?, secret_hash = ?,
			redirect_uris = ?, post_logout_redirect_uris = ?, grant_types = ?, response_types = ?, auth_method = ?, access_token_format = ?,
			access_token_lifetime_ms = ?, id_token_lifetime_ms = ?, refresh_token_lifetime_ms = ?, pkce_required = ?, state = ?,
			changed_at = ?, version = version + 1, consent_required = ?
			WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ? AND version = ?`,
			a.Name, projBlob(a.SecretHash),
			projJSON(a.RedirectURIs), projJSON(a.PostLogoutRedirectURIs), projJSON(a.GrantTypes), projJSON(a.ResponseTypes),
			string(a.AuthMethod), string(a.AccessTokenFormat),
			a.AccessTokenLifetime.Milliseconds(), a.IDTokenLifetime.Milliseconds(), a.RefreshTokenLifetime.Milliseconds(),
			a.PKCERequired, string(a.State), micros(p.Now), a.ConsentRequired,
			a.InstanceID, a.OrgID, a.ProjectID, a.ID, a.Version)
		if err != nil {
			return nil, fmt.Errorf("sqlite: update application: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM applications WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ?`,
				a.InstanceID, a.OrgID, a.ProjectID, a.ID)
		}
		return q.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: a.InstanceID, OrgID: a.OrgID, ProjectID: a.ProjectID, ID: a.ID})
	})
}

// ApplicationSetSecretHash implements store.Queries.
func (q *queries) ApplicationSetSecretHash(ctx context.Context, p *store.ApplicationSetSecretHashParams) (*iam.Application, error) {
	return write(ctx, q, func(q *queries) (*iam.Application, error) {
		res, err := q.db.ExecContext(ctx, `UPDATE applications SET secret_hash = ?, changed_at = ?, version = version + 1
			WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ?`,
			projBlob(p.SecretHash), micros(p.Now), p.InstanceID, p.OrgID, p.ProjectID, p.ID)
		if err != nil {
			return nil, fmt.Errorf("sqlite: set application secret: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, store.ErrNotFound
		}
		return q.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: p.InstanceID, OrgID: p.OrgID, ProjectID: p.ProjectID, ID: p.ID})
	})
}

// ApplicationDelete implements store.Queries.
func (q *queries) ApplicationDelete(ctx context.Context, p *store.ApplicationDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM applications WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ? AND version = ?`,
			p.InstanceID, p.OrgID, p.ProjectID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete application: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM applications WHERE instance_id = ? AND org_id = ? AND project_id = ? AND id = ?`,
				p.InstanceID, p.OrgID, p.ProjectID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}
