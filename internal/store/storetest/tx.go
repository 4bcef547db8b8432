package storetest

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

func (b *bundle) testTransactions(t *testing.T) {
	createWithEvent := func(t *testing.T, tx store.Queries, in *iam.Instance) {
		t.Helper()
		ctx := t.Context()
		must[*iam.Instance](t)(tx.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: in, Now: now()}))
		must[*iam.AuditEvent](t)(tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
			InstanceID: in.ID, Actor: iam.SystemActor, AggregateType: iam.AggregateInstance, AggregateID: in.ID,
			EventType: iam.EventInstanceCreated, Payload: json.RawMessage(`{"name":"x"}`), Now: now(),
		}))
	}
	assertStored := func(t *testing.T, s store.Store, in *iam.Instance, want bool) {
		t.Helper()
		_, err := s.InstanceGetByID(t.Context(), &store.InstanceGetByIDParams{ID: in.ID})
		events := must[[]*iam.AuditEvent](t)(s.AuditEventList(t.Context(), &store.AuditEventListParams{InstanceID: in.ID}))
		if want && (err != nil || len(events) != 1) {
			t.Fatalf("want instance and event stored: get err %v, %d events", err, len(events))
		}
		if !want && (!errors.Is(err, store.ErrNotFound) || len(events) != 0) {
			t.Fatalf("want nothing stored: get err %v, %d events", err, len(events))
		}
	}
	t.Run("CommitStoresChangeAndEventTogether", func(t *testing.T) {
		t.Parallel()
		s := b.open(t)
		in := newInstance("T", "t.example")
		if err := s.WithTx(t.Context(), func(tx store.Queries) error { createWithEvent(t, tx, in); return nil }); err != nil {
			t.Fatal(err)
		}
		assertStored(t, s, in, true)
	})
	t.Run("ErrorRollsBackEverything", func(t *testing.T) {
		t.Parallel()
		s := b.open(t)
		in := newInstance("T", "t.example")
		boom := errors.New("boom")
		err := s.WithTx(t.Context(), func(tx store.Queries) error { createWithEvent(t, tx, in); return boom })
		if !errors.Is(err, boom) {
			t.Fatalf("WithTx = %v, want the callback's error", err)
		}
		assertStored(t, s, in, false)
	})
	t.Run("PanicRollsBackAndPropagates", func(t *testing.T) {
		t.Parallel()
		s := b.open(t)
		in := newInstance("T", "t.example")
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic was swallowed")
				}
			}()
			_ = s.WithTx(t.Context(), func(tx store.Queries) error { createWithEvent(t, tx, in); panic("boom") })
		}()
		assertStored(t, s, in, false)
		// The store still works after the panic.
		if err := s.WithTx(t.Context(), func(tx store.Queries) error { createWithEvent(t, tx, in); return nil }); err != nil {
			t.Fatal(err)
		}
		assertStored(t, s, in, true)
	})
	t.Run("FailedStatementRollsBackEarlierOnes", func(t *testing.T) {
		t.Parallel()
		s := b.open(t)
		taken := newInstance("Taken", "taken.example")
		must[*iam.Instance](t)(s.InstanceCreate(t.Context(), &store.InstanceCreateParams{Instance: taken, Now: now()}))
		in := newInstance("T", "t.example")
		err := s.WithTx(t.Context(), func(tx store.Queries) error {
			createWithEvent(t, tx, in)
			_, err := tx.InstanceCreate(t.Context(), &store.InstanceCreateParams{Instance: newInstance("Dup", "taken.example"), Now: now()})
			return err
		})
		wantErr(t, err, store.ErrAlreadyExists)
		assertStored(t, s, in, false)
	})
}
