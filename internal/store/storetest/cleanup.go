package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// testCleanup covers the batched deletions of CleanupQueries, and River's
// schema being migrated along with ours.
func (b *bundle) testCleanup(t *testing.T) {
	t.Run("PersonalAccessTokensExpiredInBatches", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		cut := now()
		// Two instances: expiry is deployment-wide.
		var expired, live []*iam.PersonalAccessToken
		for _, in := range []*iam.Instance{b.instance(t, s), b.instance(t, s)} {
			o := mustCreateOrg(t, s, in.ID)
			u := mustCreateUser(t, s, in.ID, o.ID)
			add := func(exp time.Time) *iam.PersonalAccessToken {
				id := iam.NewID()
				return must[*iam.PersonalAccessToken](t)(s.PersonalAccessTokenCreate(ctx, &store.PersonalAccessTokenCreateParams{
					Token: &iam.PersonalAccessToken{ID: id, InstanceID: in.ID, UserID: u.ID, TokenHash: []byte("hash-" + id), ExpiresAt: exp},
					Now:   cut.Add(-48 * time.Hour),
				}))
			}
			expired = append(expired, add(cut.Add(-24*time.Hour)), add(cut.Add(-time.Second)), add(cut))
			live = append(live, add(cut.Add(time.Microsecond)), add(cut.Add(time.Hour)))
		}
		var batches []int
		for {
			n := must[int](t)(s.PersonalAccessTokenDeleteExpired(ctx, &store.DeleteBatchParams{Before: cut, Limit: 4}))
			batches = append(batches, n)
			if n < 4 {
				break
			}
		}
		if !slices.Equal(batches, []int{4, 2}) {
			t.Fatalf("batches deleted %v, want [4 2] (6 expired tokens, limit 4)", batches)
		}
		for _, tok := range expired {
			_, _, err := s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: tok.InstanceID, Hash: tok.TokenHash})
			wantErr(t, err, store.ErrNotFound)
		}
		for _, tok := range live {
			got, _ := must2[*iam.PersonalAccessToken, *iam.User](t)(s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: tok.InstanceID, Hash: tok.TokenHash}))
			if got.ID != tok.ID {
				t.Fatalf("live token %s: got %s", tok.ID, got.ID)
			}
		}
		if n := must[int](t)(s.PersonalAccessTokenDeleteExpired(ctx, &store.DeleteBatchParams{Before: cut})); n != 0 {
			t.Fatalf("nothing left to delete, deleted %d", n)
		}
	})
	t.Run("AuditEventsBeforeInBatches", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		cut := now()
		instA, instB, instC := iam.NewID(), iam.NewID(), iam.NewID()
		appendAt := func(inst string, at time.Time) *iam.AuditEvent {
			return must[*iam.AuditEvent](t)(s.AuditEventAppend(ctx, &store.AuditEventAppendParams{
				InstanceID: inst, Actor: "a", AggregateType: "t", AggregateID: "i", EventType: "e", Now: at,
			}))
		}
		// Interleaved in ID order across instances; instance C has only
		// recent events.
		var old, kept []int64
		for i := range 3 {
			for _, inst := range []string{instA, instB} {
				old = append(old, appendAt(inst, cut.Add(-time.Duration(10-i)*time.Hour)).ID)
			}
			kept = append(kept, appendAt(instC, cut.Add(time.Duration(i)*time.Minute)).ID)
		}
		kept = append(kept, appendAt(instA, cut).ID, appendAt(instB, cut.Add(time.Hour)).ID)
		var batches []int
		for {
			n := must[int](t)(s.AuditEventDeleteBefore(ctx, &store.DeleteBatchParams{Before: cut, Limit: 4}))
			batches = append(batches, n)
			if n < 4 {
				break
			}
		}
		if !slices.Equal(batches, []int{4, 2}) {
			t.Fatalf("batches deleted %v, want [4 2] (6 old events, limit 4)", batches)
		}
		var left []int64
		for _, inst := range []string{instA, instB, instC} {
			for _, ev := range must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: inst})) {
				left = append(left, ev.ID)
			}
		}
		slices.Sort(left)
		slices.Sort(kept)
		if !slices.Equal(left, kept) {
			t.Fatalf("events left %v, want %v (deleted were %v)", left, kept, old)
		}
	})
	t.Run("DeleteInTransaction", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		cut := now()
		ev := must[*iam.AuditEvent](t)(s.AuditEventAppend(ctx, &store.AuditEventAppendParams{
			InstanceID: iam.NewID(), Actor: "a", AggregateType: "t", AggregateID: "i", EventType: "e", Now: cut.Add(-time.Hour),
		}))
		errRollback := errors.New("roll back")
		err := s.WithTx(ctx, func(tx store.Queries) error {
			if n, err := tx.AuditEventDeleteBefore(ctx, &store.DeleteBatchParams{Before: cut, Limit: 10}); err != nil || n != 1 {
				t.Fatalf("delete in transaction: %d, %v", n, err)
			}
			return errRollback
		})
		wantErr(t, err, errRollback)
		if got := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: ev.InstanceID})); len(got) != 1 {
			t.Fatalf("rolled-back delete removed the event: %v", got)
		}
	})
	// Concurrent migrators (ours and River's schema) apply each migration
	// exactly once.
	t.Run("ConcurrentUpAppliesEachOnce", func(t *testing.T) {
		t.Parallel()
		open := b.newDB(t)
		const n = 4
		stores := make([]store.Store, n)
		for i := range stores {
			stores[i] = open(t)
		}
		var mu sync.Mutex
		applied := map[string]int{}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i, s := range stores {
			wg.Go(func() {
				errs[i] = s.Migrator().UpAll(t.Context(), func(m store.Migration, _ time.Duration) {
					mu.Lock()
					applied[m.Component+"/"+m.Name]++
					mu.Unlock()
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("migrator %d: %v", i, err)
			}
		}
		st := must[*store.SchemaStatus](t)(stores[0].Migrator().Status(t.Context()))
		if len(st.Pending) != 0 || len(st.Components) != 1 || st.Components[0].Name != "river" ||
			len(st.Components[0].Pending) != 0 || len(st.Components[0].Applied) == 0 {
			t.Fatalf("status after concurrent UpAll: %+v", st)
		}
		if want := len(st.Known) + len(st.Components[0].Applied); len(applied) != want {
			t.Fatalf("applied %v, want %d distinct migrations", applied, want)
		}
		for k, c := range applied {
			if c != 1 {
				t.Errorf("%s applied %d times, want 1", k, c)
			}
		}
	})
}
