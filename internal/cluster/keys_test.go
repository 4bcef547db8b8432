package cluster_test

import (
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/token"
)

// TestSigningKeysReachOtherNodes: when the job leader (node A) publishes a
// new signing key, node B's in-memory key set has it as soon as the
// invalidation arrives — long before B's own refresh limit — so B serves
// it in JWKS before the key signs anywhere.
func TestSigningKeysReachOtherNodes(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t, 100*time.Millisecond)
	raw, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := crypto.ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	kr := crypto.NewKeyring(mk)
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Microsecond))
	// B would not reload on its own for a day.
	opts := token.KeyOptions{Rotation: 10 * time.Hour, Lead: 2 * time.Hour, Refresh: 24 * time.Hour}
	keysA := token.NewKeys(a.st, kr, opts, clock.Now, nil)
	keysB := token.NewKeys(b.st, kr, opts, clock.Now, nil)
	reloaded := make(chan struct{}, 16)
	b.bus.Handle(store.TopicSigningKeys, func(key string) {
		keysB.Invalidate(key)
		select {
		case reloaded <- struct{}{}:
		default:
		}
	})
	ctx := t.Context()
	if err := keysA.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	await := func(what string) {
		t.Helper()
		select {
		case <-reloaded:
		case <-time.After(time.Minute):
			t.Fatalf("B heard of no %s", what)
		}
	}
	await("first key")
	setB, err := keysB.Set(ctx)
	if err != nil || len(setB.Keys) != 1 {
		t.Fatalf("B's keys = %v, %v; want the first key", setB, err)
	}
	first := setB.Keys[0]

	// Within the lead time A publishes the successor; B learns of it at once.
	clock.Add(9 * time.Hour)
	if err := keysA.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	await("successor")
	setB, err = keysB.Set(ctx)
	if err != nil || len(setB.Keys) != 2 {
		t.Fatalf("B's keys after the rotation = %d, %v; want 2", len(setB.Keys), err)
	}
	if s := setB.Signer(clock.Now()); s == nil || s.ID != first.ID {
		t.Fatalf("B signs with %v before the successor's window, want the first key", s)
	}
	// At the boundary B switches by the clock alone.
	clock.Add(time.Hour + time.Second)
	if s := setB.Signer(clock.Now()); s == nil || s.ID != setB.Keys[1].ID {
		t.Fatalf("B signs with %v after the boundary, want the successor", s)
	}
}
