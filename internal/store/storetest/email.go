package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

func newSMTPSettings(instanceID string) *iam.SMTPSettings {
	return &iam.SMTPSettings{
		InstanceID: instanceID, Host: "smtp.example.com", Port: 587, Username: "mailer",
		EncryptedPassword: []byte{0x01, 0xfe, 0x00, 0x7f}, FromAddress: "noreply@example.com", FromName: "Rampart Ä",
		TLS: iam.SMTPStartTLS,
	}
}

// testEmail covers EmailQueries.
func (b *bundle) testEmail(t *testing.T) {
	t.Run("SMTPSettingsLifecycle", b.testSMTPSettingsLifecycle)
	t.Run("SMTPSettingsVersions", b.testSMTPSettingsVersions)
	t.Run("SMTPSettingsInTransaction", b.testSMTPSettingsInTransaction)
}

func (b *bundle) testSMTPSettingsLifecycle(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in, other := b.instance(t, s), b.instance(t, s)
	get := func(instanceID string) (*iam.SMTPSettings, error) {
		return s.SMTPSettingsGet(ctx, &store.SMTPSettingsGetParams{InstanceID: instanceID})
	}
	_, err := get(in.ID)
	wantErr(t, err, store.ErrNotFound)

	created := now()
	want := newSMTPSettings(in.ID)
	got := must[*iam.SMTPSettings](t)(s.SMTPSettingsPut(ctx, &store.SMTPSettingsPutParams{Settings: want, Now: created}))
	want.Version, want.CreatedAt, want.ChangedAt = 1, created, created
	sameValue(t, "created", got, want)
	sameValue(t, "read back", must[*iam.SMTPSettings](t)(get(in.ID)), want)
	// The password column holds exactly the given bytes; the plaintext
	// field is never stored.
	withPlain := newSMTPSettings(other.ID)
	withPlain.Password = "plaintext"
	must[*iam.SMTPSettings](t)(s.SMTPSettingsPut(ctx, &store.SMTPSettingsPutParams{Settings: withPlain, Now: created}))
	if o := must[*iam.SMTPSettings](t)(get(other.ID)); o.Password != "" {
		t.Fatalf("plaintext password stored: %q", o.Password)
	}

	// Replace: a new host, no authentication (NULL password), TLS mode.
	changed := created.Add(time.Minute)
	upd := want.Clone()
	upd.Host, upd.Port, upd.Username, upd.EncryptedPassword, upd.TLS, upd.FromName = "[::1]", 25, "", nil, iam.SMTPNoTLS, ""
	got = must[*iam.SMTPSettings](t)(s.SMTPSettingsPut(ctx, &store.SMTPSettingsPutParams{Settings: upd, Now: changed}))
	upd.Version, upd.ChangedAt = 2, changed
	sameValue(t, "updated", got, upd)
	sameValue(t, "read back after update", must[*iam.SMTPSettings](t)(get(in.ID)), upd)

	// Instances are isolated: deleting one's settings leaves the other's.
	wantErr(t, s.SMTPSettingsDelete(ctx, &store.SMTPSettingsDeleteParams{InstanceID: in.ID, Version: 1}), store.ErrConflict)
	must0(t, s.SMTPSettingsDelete(ctx, &store.SMTPSettingsDeleteParams{InstanceID: in.ID, Version: 2}))
	_, err = get(in.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.SMTPSettingsDelete(ctx, &store.SMTPSettingsDeleteParams{InstanceID: in.ID, Version: 2}), store.ErrNotFound)
	if o := must[*iam.SMTPSettings](t)(get(other.ID)); o.InstanceID != other.ID || o.Version != 1 {
		t.Fatalf("other instance's settings = %+v", o)
	}

	// Settings of an unknown instance cannot be stored.
	_, err = s.SMTPSettingsPut(ctx, &store.SMTPSettingsPutParams{Settings: newSMTPSettings(iam.NewID()), Now: created})
	wantErr(t, err, store.ErrNotFound)
}

func (b *bundle) testSMTPSettingsVersions(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	put := func(version int64) (*iam.SMTPSettings, error) {
		c := newSMTPSettings(in.ID)
		c.Version = version
		return s.SMTPSettingsPut(ctx, &store.SMTPSettingsPutParams{Settings: c, Now: now()})
	}
	// Updating settings that do not exist.
	_, err := put(1)
	wantErr(t, err, store.ErrNotFound)
	must[*iam.SMTPSettings](t)(put(0))
	// A second create loses: the instance has settings already.
	_, err = put(0)
	wantErr(t, err, store.ErrAlreadyExists)
	must[*iam.SMTPSettings](t)(put(1))
	// A stale version conflicts.
	_, err = put(1)
	wantErr(t, err, store.ErrConflict)
	if got := must[*iam.SMTPSettings](t)(put(2)); got.Version != 3 {
		t.Fatalf("version after three writes = %d", got.Version)
	}
}

func (b *bundle) testSMTPSettingsInTransaction(t *testing.T) {
	t.Parallel()
	s, ctx := b.open(t), t.Context()
	in := b.instance(t, s)
	boom := errors.New("boom")
	err := s.WithTx(ctx, func(tx store.Queries) error {
		if _, err := tx.SMTPSettingsPut(ctx, &store.SMTPSettingsPutParams{Settings: newSMTPSettings(in.ID), Now: now()}); err != nil {
			return err
		}
		// Visible inside the transaction.
		if _, err := tx.SMTPSettingsGet(ctx, &store.SMTPSettingsGetParams{InstanceID: in.ID}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx = %v", err)
	}
	_, err = s.SMTPSettingsGet(ctx, &store.SMTPSettingsGetParams{InstanceID: in.ID})
	wantErr(t, err, store.ErrNotFound)
	// Put, update and delete in one transaction.
	err = s.WithTx(ctx, func(tx store.Queries) error {
		c := newSMTPSettings(in.ID)
		if _, err := tx.SMTPSettingsPut(ctx, &store.SMTPSettingsPutParams{Settings: c, Now: now()}); err != nil {
			return err
		}
		c.Version = 1
		if _, err := tx.SMTPSettingsPut(ctx, &store.SMTPSettingsPutParams{Settings: c, Now: now()}); err != nil {
			return err
		}
		return tx.SMTPSettingsDelete(ctx, &store.SMTPSettingsDeleteParams{InstanceID: in.ID, Version: 2})
	})
	must0(t, err)
	_, err = s.SMTPSettingsGet(ctx, &store.SMTPSettingsGetParams{InstanceID: in.ID})
	wantErr(t, err, store.ErrNotFound)
}
