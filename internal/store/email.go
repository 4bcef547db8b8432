package store

import (
	"context"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// EmailQueries store the SMTP settings of instances: at most one row per
// instance, deleted with it. The password is stored as the ciphertext the
// caller gives (iam.SMTPSettings.EncryptedPassword); the plaintext field is
// neither read nor written. Each method is one statement (one round trip)
// on success.
type EmailQueries interface {
	// SMTPSettingsGet returns the settings of an instance; ErrNotFound if
	// it has none.
	SMTPSettingsGet(ctx context.Context, p *SMTPSettingsGetParams) (*iam.SMTPSettings, error)
	// SMTPSettingsPut stores p.Settings for p.Settings.InstanceID. With
	// Version 0 it inserts them at version 1: ErrAlreadyExists if the
	// instance has settings already, ErrNotFound if the instance does not
	// exist. With a Version it replaces the settings at that version and
	// increments it: ErrNotFound if the instance has none, ErrConflict if
	// their version differs. It returns what was stored, timestamps and
	// version set.
	SMTPSettingsPut(ctx context.Context, p *SMTPSettingsPutParams) (*iam.SMTPSettings, error)
	// SMTPSettingsDelete deletes the settings of an instance at p.Version:
	// ErrNotFound if it has none, ErrConflict if their version differs.
	SMTPSettingsDelete(ctx context.Context, p *SMTPSettingsDeleteParams) error
}

// SMTPSettingsGetParams select the settings of an instance.
type SMTPSettingsGetParams struct {
	InstanceID string
}

// SMTPSettingsPutParams hold the settings to store. Settings.Version is the
// version being replaced (0: none). CreatedAt is taken from Now on insert
// and kept on update; ChangedAt is Now.
type SMTPSettingsPutParams struct {
	Settings *iam.SMTPSettings
	Now      time.Time
}

// SMTPSettingsDeleteParams select the settings to delete and their
// current version.
type SMTPSettingsDeleteParams struct {
	InstanceID string
	Version    int64
}
