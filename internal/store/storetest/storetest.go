package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// NewDatabase creates a fresh, empty (unmigrated) database for one test and
// returns a function that opens a new handle on it. Handles are closed by
// the suite.
type NewDatabase func(t *testing.T) (open func(t *testing.T) store.Store)

// Run runs the conformance suite against a backend.
func Run(t *testing.T, newDB NewDatabase) {
	b := &bundle{newDB: newDB}
	t.Run("Migrations", b.testMigrations)
	t.Run("Instances", b.testInstances)
	t.Run("Transactions", b.testTransactions)
	t.Run("AuditEvents", b.testAuditEvents)
	t.Run("Orgs", b.testOrgs)
	t.Run("Users", b.testUsers)
	t.Run("Projects", b.testProjects)
	t.Run("Memberships", b.testMemberships)
	t.Run("Cluster", b.testCluster)
	t.Run("Cleanup", b.testCleanup)
	t.Run("OIDC", b.testOIDC)
	t.Run("Login", b.testLogin)
	t.Run("Email", b.testEmail)
	t.Run("Policies", b.testPolicies)
	t.Run("Verification", b.testVerification)
	t.Run("Consents", b.testConsents)
	t.Run("RoundTrips", b.testRoundTrips)
}

type bundle struct {
	newDB NewDatabase
}

// open returns a handle on a fresh database that is migrated.
func (b *bundle) open(t *testing.T) store.Store {
	t.Helper()
	open := b.newDB(t)
	s := open(t)
	if err := s.Migrator().Up(t.Context(), nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// instance creates a fresh instance to hold a test's tenant data.
func (b *bundle) instance(t *testing.T, s store.Store) *iam.Instance {
	t.Helper()
	in := newInstance("Tenant", iam.NewID()[24:]+".example")
	return must[*iam.Instance](t)(s.InstanceCreate(t.Context(), &store.InstanceCreateParams{Instance: in, Now: now()}))
}

// now returns a time with microsecond precision, as both backends store it.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func (b *bundle) testMigrations(t *testing.T) {
	t.Run("UpAppliesEachOnceAndRecordsPhase", func(t *testing.T) {
		t.Parallel()
		s := b.newDB(t)(t)
		ctx := t.Context()
		st, err := s.Migrator().Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		known := s.Migrator().Known()
		if len(known) == 0 || len(st.Pending) != len(known) || len(st.Applied) != 0 || st.Current() != 0 {
			t.Fatalf("fresh database: known %d, pending %d, applied %d, current %d", len(known), len(st.Pending), len(st.Applied), st.Current())
		}
		var progressed []int64
		if err := s.Migrator().Up(ctx, func(m store.Migration, _ time.Duration) { progressed = append(progressed, m.Version) }); err != nil {
			t.Fatal(err)
		}
		if len(progressed) != len(known) {
			t.Fatalf("progress reported %v, want one per known migration (%d)", progressed, len(known))
		}
		st, err = s.Migrator().Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Pending) != 0 || len(st.Unknown) != 0 || st.Current() != st.Required() {
			t.Fatalf("after Up: pending %v unknown %v current %d required %d", st.Pending, st.Unknown, st.Current(), st.Required())
		}
		for i, a := range st.Applied {
			if a.Version != known[i].Version || a.Phase != known[i].Phase || a.Name != known[i].Name || a.AppVersion == "" || a.AppliedAt.IsZero() {
				t.Errorf("applied[%d] = %+v, want %+v with app version and time", i, a, known[i])
			}
		}
		if err := st.CheckCompatible(st.Applied[0].AppVersion); err != nil {
			t.Errorf("own schema incompatible: %v", err)
		}
		progressed = nil
		if err := s.Migrator().Up(ctx, func(m store.Migration, _ time.Duration) { progressed = append(progressed, m.Version) }); err != nil || len(progressed) != 0 {
			t.Fatalf("second Up: err %v, applied %v", err, progressed)
		}
	})
	t.Run("PingAndCanceledContext", func(t *testing.T) {
		t.Parallel()
		s := b.open(t)
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("ping: %v", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.InstanceList(ctx, &store.InstanceListParams{}); err == nil {
			t.Fatal("list with canceled context succeeded")
		}
	})
}
