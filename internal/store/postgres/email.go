package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

const smtpSettingsColumns = `instance_id, host, port, username, password_encrypted, from_address, from_name, tls_mode,
	created_at, changed_at, version`

func scanSMTPSettings(row pgx.Row) (*iam.SMTPSettings, error) {
	var s iam.SMTPSettings
	var port int32
	var tls string
	if err := row.Scan(&s.InstanceID, &s.Host, &port, &s.Username, &s.EncryptedPassword, &s.FromAddress, &s.FromName,
		&tls, &s.CreatedAt, &s.ChangedAt, &s.Version); err != nil {
		return nil, mapErr(err)
	}
	if len(s.EncryptedPassword) == 0 {
		s.EncryptedPassword = nil
	}
	s.Port, s.TLS = int(port), iam.SMTPTLSMode(tls)
	s.CreatedAt, s.ChangedAt = s.CreatedAt.UTC(), s.ChangedAt.UTC()
	return &s, nil
}

// passwordParam stores an empty ciphertext as NULL.
func passwordParam(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// SMTPSettingsGet implements store.EmailQueries.
func (q *queries) SMTPSettingsGet(ctx context.Context, p *store.SMTPSettingsGetParams) (*iam.SMTPSettings, error) {
	return scanSMTPSettings(q.db.QueryRow(ctx,
		`SELECT `+smtpSettingsColumns+` FROM smtp_settings WHERE instance_id = $1`, p.InstanceID))
}

// SMTPSettingsPut implements store.EmailQueries.
func (q *queries) SMTPSettingsPut(ctx context.Context, p *store.SMTPSettingsPutParams) (*iam.SMTPSettings, error) {
	s := p.Settings
	if s.Version == 0 {
		out, err := scanSMTPSettings(q.db.QueryRow(ctx, `INSERT INTO smtp_settings (`+smtpSettingsColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1) RETURNING `+smtpSettingsColumns,
			s.InstanceID, s.Host, int32(s.Port), s.Username, passwordParam(s.EncryptedPassword), s.FromAddress, s.FromName, string(s.TLS), p.Now))
		if err != nil {
			return nil, fmt.Errorf("postgres: insert smtp settings: %w", err)
		}
		return out, nil
	}
	out, err := scanSMTPSettings(q.db.QueryRow(ctx, `UPDATE smtp_settings SET host = $1, port = $2, username = $3,
		password_encrypted = $4, from_address = $5, from_name = $6, tls_mode = $7, changed_at = $8, version = version + 1
		WHERE instance_id = $9 AND version = $10 RETURNING `+smtpSettingsColumns,
		s.Host, int32(s.Port), s.Username, passwordParam(s.EncryptedPassword), s.FromAddress, s.FromName, string(s.TLS), p.Now,
		s.InstanceID, s.Version))
	if errors.Is(err, store.ErrNotFound) {
		return nil, q.missingOrConflict(ctx, `SELECT 1 FROM smtp_settings WHERE instance_id = $1`, s.InstanceID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: update smtp settings: %w", err)
	}
	return out, nil
}

// SMTPSettingsDelete implements store.EmailQueries.
func (q *queries) SMTPSettingsDelete(ctx context.Context, p *store.SMTPSettingsDeleteParams) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM smtp_settings WHERE instance_id = $1 AND version = $2`, p.InstanceID, p.Version)
	if err != nil {
		return fmt.Errorf("postgres: delete smtp settings: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return q.missingOrConflict(ctx, `SELECT 1 FROM smtp_settings WHERE instance_id = $1`, p.InstanceID)
	}
	return nil
}
