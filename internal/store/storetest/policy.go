package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// sameJSON fails unless got and want hold the same JSON value (backends
// may reformat a body).
func sameJSON(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %q is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: want %q is not JSON: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

// policyKey names a row in listings.
func policyKey(p *store.Policy) string { return string(p.Kind) + "@" + p.OrgID }

func policyKeys(list []*store.Policy) []string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = policyKey(p)
	}
	return out
}

// testPolicies covers PolicyQueries.
func (b *bundle) testPolicies(t *testing.T) {
	t.Run("PutGetUpdateDelete", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		at := now()
		body := json.RawMessage(`{"min_length": 12, "require_digit": true, "nested": {"a": [1, "x"]}}`)
		put := func(p *store.PolicyPutParams) *store.Policy {
			t.Helper()
			return must[*store.Policy](t)(s.PolicyPut(ctx, p))
		}
		got := put(&store.PolicyPutParams{InstanceID: in.ID, Kind: iam.PolicyPassword, Body: body, Now: at})
		if got.InstanceID != in.ID || got.OrgID != "" || got.Kind != iam.PolicyPassword || got.Version != 1 ||
			!got.CreatedAt.Equal(at) || !got.ChangedAt.Equal(at) {
			t.Fatalf("created = %+v", got)
		}
		sameJSON(t, "created body", got.Body, body)
		read := must[*store.Policy](t)(s.PolicyGet(ctx, &store.PolicyGetParams{InstanceID: in.ID, Kind: iam.PolicyPassword}))
		sameValue(t, "get", read, got)

		// Creating it again loses: somebody else created it first.
		_, err := s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, Kind: iam.PolicyPassword, Body: body, Now: at})
		wantErr(t, err, store.ErrConflict)

		later := at.Add(time.Second)
		body2 := json.RawMessage(`{"min_length": 16}`)
		upd := put(&store.PolicyPutParams{InstanceID: in.ID, Kind: iam.PolicyPassword, Body: body2, Version: 1, Now: later})
		if upd.Version != 2 || !upd.CreatedAt.Equal(at) || !upd.ChangedAt.Equal(later) {
			t.Fatalf("updated = %+v", upd)
		}
		sameJSON(t, "updated body", upd.Body, body2)
		// A stale version.
		_, err = s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, Kind: iam.PolicyPassword, Body: body, Version: 1, Now: later})
		wantErr(t, err, store.ErrConflict)
		// Updating a row that does not exist.
		_, err = s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, Kind: iam.PolicyLockout, Body: body, Version: 1, Now: later})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.PolicyGet(ctx, &store.PolicyGetParams{InstanceID: in.ID, Kind: iam.PolicyLockout})
		wantErr(t, err, store.ErrNotFound)

		err = s.PolicyDelete(ctx, &store.PolicyDeleteParams{InstanceID: in.ID, Kind: iam.PolicyPassword, Version: 1})
		wantErr(t, err, store.ErrConflict)
		err = s.PolicyDelete(ctx, &store.PolicyDeleteParams{InstanceID: in.ID, Kind: iam.PolicyLockout, Version: 1})
		wantErr(t, err, store.ErrNotFound)
		must0(t, s.PolicyDelete(ctx, &store.PolicyDeleteParams{InstanceID: in.ID, Kind: iam.PolicyPassword, Version: 2}))
		_, err = s.PolicyGet(ctx, &store.PolicyGetParams{InstanceID: in.ID, Kind: iam.PolicyPassword})
		wantErr(t, err, store.ErrNotFound)
		// Deleted rows can be created again, at version 1.
		if again := put(&store.PolicyPutParams{InstanceID: in.ID, Kind: iam.PolicyPassword, Body: body, Now: later}); again.Version != 1 {
			t.Fatalf("recreated = %+v", again)
		}
	})
	t.Run("OrgOverrides", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		x, y, z := mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, in.ID)
		put := func(orgID string, kind iam.PolicyKind, body string) *store.Policy {
			t.Helper()
			return must[*store.Policy](t)(s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, OrgID: orgID, Kind: kind, Body: json.RawMessage(body), Now: now()}))
		}
		put("", iam.PolicyLogin, `{"level": "instance"}`)
		put("", iam.PolicyBranding, `{"level": "instance"}`)
		put(x.ID, iam.PolicyLogin, `{"level": "x"}`)
		put(x.ID, iam.PolicyLockout, `{"level": "x"}`)
		put(y.ID, iam.PolicyLogin, `{"level": "y"}`)
		put(y.ID, iam.PolicyPassword, `{"level": "y"}`)

		get := func(orgID string, kind iam.PolicyKind) (*store.Policy, error) {
			return s.PolicyGet(ctx, &store.PolicyGetParams{InstanceID: in.ID, OrgID: orgID, Kind: kind})
		}
		for _, c := range []struct {
			org, wantOrg string
			kind         iam.PolicyKind
		}{
			{"", "", iam.PolicyLogin},
			{x.ID, x.ID, iam.PolicyLogin},
			{y.ID, y.ID, iam.PolicyLogin},
			{z.ID, "", iam.PolicyLogin},
			{iam.NewID(), "", iam.PolicyLogin},
			{x.ID, x.ID, iam.PolicyLockout},
			{x.ID, "", iam.PolicyBranding},
		} {
			got, err := get(c.org, c.kind)
			if err != nil || got.OrgID != c.wantOrg || got.Kind != c.kind {
				t.Fatalf("get %s of org %q = %+v, %v; want the row of %q", c.kind, c.org, got, err, c.wantOrg)
			}
		}
		// No instance row and no override: not found, also for the other
		// organizations' overrides.
		_, err := get("", iam.PolicyLockout)
		wantErr(t, err, store.ErrNotFound)
		_, err = get(z.ID, iam.PolicyPassword)
		wantErr(t, err, store.ErrNotFound)

		list := func(orgID string) []string {
			t.Helper()
			return policyKeys(must[[]*store.Policy](t)(s.PolicyListEffective(ctx, &store.PolicyListEffectiveParams{InstanceID: in.ID, OrgID: orgID})))
		}
		sameIDs(t, "instance rows", list(""), []string{"branding@", "login@"})
		sameIDs(t, "rows for X", list(x.ID), []string{"branding@", "lockout@" + x.ID, "login@", "login@" + x.ID})
		sameIDs(t, "rows for Y", list(y.ID), []string{"branding@", "login@", "login@" + y.ID, "password@" + y.ID})
		sameIDs(t, "rows for Z", list(z.ID), []string{"branding@", "login@"})
		full := must[[]*store.Policy](t)(s.PolicyListEffective(ctx, &store.PolicyListEffectiveParams{InstanceID: in.ID, OrgID: x.ID}))
		sameJSON(t, "X's login override", full[3].Body, json.RawMessage(`{"level": "x"}`))

		// Overrides are updated and deleted on their own.
		xl := must[*store.Policy](t)(get(x.ID, iam.PolicyLogin))
		_, err = s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, OrgID: x.ID, Kind: iam.PolicyLogin, Body: json.RawMessage(`{"level": "x2"}`), Version: xl.Version, Now: now()})
		must0(t, err)
		if il := must[*store.Policy](t)(get("", iam.PolicyLogin)); il.Version != 1 {
			t.Fatalf("updating X's override changed the instance's row: %+v", il)
		}
		must0(t, s.PolicyDelete(ctx, &store.PolicyDeleteParams{InstanceID: in.ID, OrgID: x.ID, Kind: iam.PolicyLogin, Version: 2}))
		if got := must[*store.Policy](t)(get(x.ID, iam.PolicyLogin)); got.OrgID != "" {
			t.Fatalf("after deleting X's override: %+v", got)
		}
		sameIDs(t, "rows for Y after X's change", list(y.ID), []string{"branding@", "login@", "login@" + y.ID, "password@" + y.ID})

		// An override of an organization that does not exist.
		_, err = s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, OrgID: iam.NewID(), Kind: iam.PolicyLogin, Body: json.RawMessage(`{}`), Now: now()})
		wantErr(t, err, store.ErrNotFound)

		// Deleting an organization deletes its overrides.
		must0(t, s.OrgDelete(ctx, &store.OrgDeleteParams{InstanceID: in.ID, ID: y.ID, Version: y.Version}))
		sameIDs(t, "rows for deleted Y", list(y.ID), []string{"branding@", "login@"})
		// Recreating an override at version 0 after a delete works.
		if got := put(x.ID, iam.PolicyLogin, `{}`); got.Version != 1 {
			t.Fatalf("recreated override = %+v", got)
		}
	})
	t.Run("CrossInstanceIsolation", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		a, bi := b.instance(t, s), b.instance(t, s)
		x := mustCreateOrg(t, s, a.ID)
		for _, org := range []string{"", x.ID} {
			must[*store.Policy](t)(s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: a.ID, OrgID: org, Kind: iam.PolicyLogin, Body: json.RawMessage(`{}`), Now: now()}))
		}
		for _, org := range []string{"", x.ID} {
			_, err := s.PolicyGet(ctx, &store.PolicyGetParams{InstanceID: bi.ID, OrgID: org, Kind: iam.PolicyLogin})
			wantErr(t, err, store.ErrNotFound)
			if l := must[[]*store.Policy](t)(s.PolicyListEffective(ctx, &store.PolicyListEffectiveParams{InstanceID: bi.ID, OrgID: org})); len(l) != 0 {
				t.Fatalf("list through the other instance = %v", policyKeys(l))
			}
			_, err = s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: bi.ID, OrgID: org, Kind: iam.PolicyLogin, Body: json.RawMessage(`{}`), Version: 1, Now: now()})
			wantErr(t, err, store.ErrNotFound)
			err = s.PolicyDelete(ctx, &store.PolicyDeleteParams{InstanceID: bi.ID, OrgID: org, Kind: iam.PolicyLogin, Version: 1})
			wantErr(t, err, store.ErrNotFound)
		}
		// Another instance's organization cannot be named.
		_, err := s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: bi.ID, OrgID: x.ID, Kind: iam.PolicyLogin, Body: json.RawMessage(`{}`), Now: now()})
		wantErr(t, err, store.ErrNotFound)
		// An instance that does not exist.
		_, err = s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: iam.NewID(), Kind: iam.PolicyLogin, Body: json.RawMessage(`{}`), Now: now()})
		wantErr(t, err, store.ErrNotFound)
		// A's rows are untouched.
		if l := must[[]*store.Policy](t)(s.PolicyListEffective(ctx, &store.PolicyListEffectiveParams{InstanceID: a.ID, OrgID: x.ID})); len(l) != 2 || l[0].Version != 1 || l[1].Version != 1 {
			t.Fatalf("A's rows = %v", policyKeys(l))
		}
	})
	t.Run("InTransaction", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		x := mustCreateOrg(t, s, in.ID)
		boom := errors.New("boom")
		err := s.WithTx(ctx, func(tx store.Queries) error {
			p, err := tx.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, OrgID: x.ID, Kind: iam.PolicyLogin, Body: json.RawMessage(`{"a": 1}`), Now: now()})
			if err != nil {
				return err
			}
			if _, err := tx.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, OrgID: x.ID, Kind: iam.PolicyLogin, Body: json.RawMessage(`{"a": 2}`), Version: p.Version, Now: now()}); err != nil {
				return err
			}
			got, err := tx.PolicyGet(ctx, &store.PolicyGetParams{InstanceID: in.ID, OrgID: x.ID, Kind: iam.PolicyLogin})
			if err != nil {
				return err
			}
			sameJSON(t, "read in the transaction", got.Body, json.RawMessage(`{"a": 2}`))
			return boom
		})
		wantErr(t, err, boom)
		_, err = s.PolicyGet(ctx, &store.PolicyGetParams{InstanceID: in.ID, OrgID: x.ID, Kind: iam.PolicyLogin})
		wantErr(t, err, store.ErrNotFound)
		// A conflict inside a transaction fails it as a whole.
		must[*store.Policy](t)(s.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, Kind: iam.PolicyLogin, Body: json.RawMessage(`{}`), Now: now()}))
		err = s.WithTx(ctx, func(tx store.Queries) error {
			_, err := tx.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: in.ID, Kind: iam.PolicyLogin, Body: json.RawMessage(`{}`), Now: now()})
			return err
		})
		wantErr(t, err, store.ErrConflict)
	})
	t.Run("OneRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := b.open(t)
		in := b.instance(t, s)
		x := mustCreateOrg(t, s, in.ID)
		must[*store.Policy](t)(s.PolicyPut(t.Context(), &store.PolicyPutParams{InstanceID: in.ID, Kind: iam.PolicyLogin, Body: json.RawMessage(`{}`), Now: now()}))
		ctx, rt := store.WithRoundTrips(t.Context())
		if _, err := s.PolicyListEffective(ctx, &store.PolicyListEffectiveParams{InstanceID: in.ID, OrgID: x.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PolicyGet(ctx, &store.PolicyGetParams{InstanceID: in.ID, OrgID: x.ID, Kind: iam.PolicyLogin}); err != nil {
			t.Fatal(err)
		}
		if got := rt.Load(); got != 2 {
			t.Fatalf("round trips of PolicyListEffective and PolicyGet = %d, want 2", got)
		}
	})
}
