package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

const smtpSettingsColumns = `instance_id, host, port, username, password_encrypted, from_address, from_name, tls_mode,
	created_at, changed_at, version`

func scanSMTPSettings(row interface{ Scan(...any) error }) (*iam.SMTPSettings, error) {
	var s iam.SMTPSettings
	var created, changed int64
	if err := row.Scan(&s.InstanceID, &s.Host, &s.Port, &s.Username, &s.EncryptedPassword, &s.FromAddress, &s.FromName,
		&s.TLS, &created, &changed, &s.Version); err != nil {
		return nil, mapErr(err)
	}
	if len(s.EncryptedPassword) == 0 {
		s.EncryptedPassword = nil
	}
	s.CreatedAt, s.ChangedAt = fromMicros(created), fromMicros(changed)
	return &s, nil
}

// nullBytes stores an empty byte slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// SMTPSettingsGet implements store.EmailQueries.
func (q *queries) SMTPSettingsGet(ctx context.Context, p *store.SMTPSettingsGetParams) (*iam.SMTPSettings, error) {
	return scanSMTPSettings(q.db.QueryRowContext(ctx,
		`SELECT `+smtpSettingsColumns+` FROM smtp_settings WHERE instance_id = ?`, p.InstanceID))
}

// SMTPSettingsPut implements store.EmailQueries.
func (q *queries) SMTPSettingsPut(ctx context.Context, p *store.SMTPSettingsPutParams) (*iam.SMTPSettings, error) {
	return write(ctx, q, func(q *queries) (*iam.SMTPSettings, error) {
		s, now := p.Settings, micros(p.Now)
		if s.Version == 0 {
			out, err := scanSMTPSettings(q.db.QueryRowContext(ctx, `INSERT INTO smtp_settings (`+smtpSettingsColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING `+smtpSettingsColumns,
				s.InstanceID, s.Host, s.Port, s.Username, nullBytes(s.EncryptedPassword), s.FromAddress, s.FromName, string(s.TLS), now, now))
			if err != nil {
				return nil, fmt.Errorf("sqlite: insert smtp settings: %w", err)
			}
			return out, nil
		}
		out, err := scanSMTPSettings(q.db.QueryRowContext(ctx, `UPDATE smtp_settings SET host = ?, port = ?, username = ?,
			password_encrypted = ?, from_address = ?, from_name = ?, tls_mode = ?, changed_at = ?, version = version + 1
			WHERE instance_id = ? AND version = ? RETURNING `+smtpSettingsColumns,
			s.Host, s.Port, s.Username, nullBytes(s.EncryptedPassword), s.FromAddress, s.FromName, string(s.TLS), now,
			s.InstanceID, s.Version))
		if errors.Is(err, store.ErrNotFound) {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM smtp_settings WHERE instance_id = ?`, s.InstanceID)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: update smtp settings: %w", err)
		}
		return out, nil
	})
}

// SMTPSettingsDelete implements store.EmailQueries.
func (q *queries) SMTPSettingsDelete(ctx context.Context, p *store.SMTPSettingsDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM smtp_settings WHERE instance_id = ? AND version = ?`, p.InstanceID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete smtp settings: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM smtp_settings WHERE instance_id = ?`, p.InstanceID)
		}
		return struct{}{}, nil
	})
	return err
}
