package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

func (b *bundle) testAuditEvents(t *testing.T) {
	t.Run("AppendAndFilter", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		instA, instB := iam.NewID(), iam.NewID()
		base := now().Add(-time.Hour)
		type spec struct{ inst, actor, aggType, aggID, typ string }
		specs := []spec{
			{instA, "alice", "instance", "x", "instance.created"},
			{instA, "bob", "instance", "x", "instance.changed"},
			{instA, "alice", "user", "u1", "user.created"},
			{instB, "alice", "instance", "y", "instance.created"},
			{instA, "system", "instance", "z", "instance.created"},
		}
		var appended []*iam.AuditEvent
		for i, sp := range specs {
			payload := json.RawMessage(fmt.Sprintf(`{"n": %d, "nested": {"k": ["v", true, null]}}`, i))
			ev := must[*iam.AuditEvent](t)(s.AuditEventAppend(ctx, &store.AuditEventAppendParams{
				InstanceID: sp.inst, Actor: sp.actor, AggregateType: sp.aggType, AggregateID: sp.aggID,
				EventType: sp.typ, Payload: payload, Now: base.Add(time.Duration(i) * time.Minute),
			}))
			if i > 0 && ev.ID <= appended[i-1].ID {
				t.Fatalf("event IDs not increasing: %d after %d", ev.ID, appended[i-1].ID)
			}
			appended = append(appended, ev)
		}
		ids := func(evs []*iam.AuditEvent) []int64 {
			out := []int64{}
			for _, e := range evs {
				out = append(out, e.ID)
			}
			return out
		}
		idsOf := func(idx ...int) []int64 {
			out := []int64{}
			for _, i := range idx {
				out = append(out, appended[i].ID)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			p    store.AuditEventListParams
			want []int64
		}{
			{"instance scoped", store.AuditEventListParams{InstanceID: instA}, idsOf(0, 1, 2, 4)},
			{"other instance", store.AuditEventListParams{InstanceID: instB}, idsOf(3)},
			{"unknown instance", store.AuditEventListParams{InstanceID: iam.NewID()}, idsOf()},
			{"actor", store.AuditEventListParams{InstanceID: instA, Actor: "alice"}, idsOf(0, 2)},
			{"aggregate", store.AuditEventListParams{InstanceID: instA, AggregateType: "instance", AggregateID: "x"}, idsOf(0, 1)},
			{"aggregate type", store.AuditEventListParams{InstanceID: instA, AggregateType: "instance"}, idsOf(0, 1, 4)},
			{"event type", store.AuditEventListParams{InstanceID: instA, EventType: "instance.created"}, idsOf(0, 4)},
			{"time range", store.AuditEventListParams{InstanceID: instA, From: base.Add(time.Minute), To: base.Add(4 * time.Minute)}, idsOf(1, 2)},
			{"descending", store.AuditEventListParams{InstanceID: instA, Descending: true}, idsOf(4, 2, 1, 0)},
			{"after cursor", store.AuditEventListParams{InstanceID: instA, AfterID: appended[1].ID}, idsOf(2, 4)},
			{"before cursor descending", store.AuditEventListParams{InstanceID: instA, AfterID: appended[2].ID, Descending: true}, idsOf(1, 0)},
			{"limit", store.AuditEventListParams{InstanceID: instA, Limit: 2}, idsOf(0, 1)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &tc.p))
				if !reflect.DeepEqual(ids(got), tc.want) {
					t.Fatalf("ids = %v, want %v", ids(got), tc.want)
				}
			})
		}
		got := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: instA, Limit: 1}))[0]
		want := appended[0]
		if got.InstanceID != want.InstanceID || got.Actor != want.Actor || got.AggregateType != want.AggregateType ||
			got.AggregateID != want.AggregateID || got.EventType != want.EventType || !got.CreatedAt.Equal(base) {
			t.Fatalf("listed %+v, want %+v", got, want)
		}
		var gotPayload, wantPayload any
		_ = json.Unmarshal(got.Payload, &gotPayload)
		_ = json.Unmarshal(want.Payload, &wantPayload)
		if !reflect.DeepEqual(gotPayload, wantPayload) {
			t.Fatalf("payload = %s, want %s", got.Payload, want.Payload)
		}
	})
	t.Run("EmptyPayloadIsObject", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		inst := iam.NewID()
		must[*iam.AuditEvent](t)(s.AuditEventAppend(ctx, &store.AuditEventAppendParams{
			InstanceID: inst, Actor: "a", AggregateType: "t", AggregateID: "i", EventType: "e", Now: now(),
		}))
		got := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: inst}))
		if len(got) != 1 || string(got[0].Payload) != "{}" {
			t.Fatalf("got %+v", got)
		}
	})
}
