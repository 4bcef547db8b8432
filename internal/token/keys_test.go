package token_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/token"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func keyring(t *testing.T) *crypto.Keyring {
	t.Helper()
	raw, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := crypto.ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return crypto.NewKeyring(k)
}

func keySet(t *testing.T, k *token.Keys) *token.KeySet {
	t.Helper()
	set, err := k.Set(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestEnsureCreatesOneKeyUnderRace: nodes starting together on an empty
// database create one first key between them, and all sign with it.
func TestEnsureCreatesOneKeyUnderRace(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		kr := keyring(t)
		const nodes = 8
		managers := make([]*token.Keys, nodes)
		var wg sync.WaitGroup
		errs := make(chan error, nodes)
		for i := range managers {
			managers[i] = token.NewKeys(s, kr, token.KeyOptions{}, nil, nil)
			wg.Go(func() { errs <- managers[i].Ensure(context.Background()) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		rows, err := s.SigningKeyList(t.Context(), &store.SigningKeyListParams{Now: time.Now()})
		if err != nil || len(rows) != 1 {
			t.Fatalf("keys = %d (%v), want exactly 1", len(rows), err)
		}
		for _, m := range managers {
			m.Invalidate("")
			signer := keySet(t, m).Signer(time.Now())
			if signer == nil || signer.ID != rows[0].ID || signer.Algorithm != jose.RS256 {
				t.Fatalf("signer = %+v, want %s RS256", signer, rows[0].ID)
			}
		}
		if string(rows[0].PrivateKey) == "" || rows[0].PrivateKey[0] == '-' {
			t.Fatal("private key is not stored encrypted")
		}
	})
}

// TestRotation walks a key's life: its successor is published Lead before
// it signs, the old key keeps verifying until every token it signed has
// expired, then it leaves the key set.
func TestRotation(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		c := testenv.NewClock(time.Now().UTC().Truncate(time.Microsecond))
		opts := token.KeyOptions{Algorithm: token.ES256, Rotation: 10 * time.Hour, Lead: 2 * time.Hour, Refresh: time.Minute}
		leader := token.NewKeys(s, keyring(t), opts, c.Now, nil)
		ctx := t.Context()
		if err := leader.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		first := keySet(t, leader).Signer(c.Now())
		if first == nil || first.Algorithm != jose.ES256 {
			t.Fatalf("first signer = %+v", first)
		}
		// Well before the lead time: nothing to do.
		c.Add(7 * time.Hour)
		if err := leader.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(keySet(t, leader).Keys); n != 1 {
			t.Fatalf("keys after 7h = %d, want 1", n)
		}
		// Within the lead time: the successor is published but does not sign yet.
		c.Add(90 * time.Minute)
		if err := leader.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		set := keySet(t, leader)
		if len(set.Keys) != 2 {
			t.Fatalf("keys after 8.5h = %d, want 2", len(set.Keys))
		}
		second := set.Keys[1]
		if got := set.Signer(c.Now()); got.ID != first.ID {
			t.Fatalf("signer before the successor's start = %s, want the first key", got.ID)
		}
		if second.NotBefore != first.NotAfter {
			t.Fatalf("successor signs from %s, want exactly where the first key's window ends (%s)", second.NotBefore, first.NotAfter)
		}
		if lead := second.NotBefore.Sub(c.Now()); lead < opts.Lead*3/4 {
			t.Fatalf("successor published only %s before it signs, want ≥ 3/4 of %s", lead, opts.Lead)
		}
		// Ensure is idempotent: running it again (another period, another
		// node) creates nothing.
		if err := leader.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(keySet(t, leader).Keys); n != 2 {
			t.Fatalf("keys after a second Ensure = %d, want 2", n)
		}
		// The successor takes over at its NotBefore; the first stays published.
		c.Add(second.NotBefore.Sub(c.Now()) + time.Second)
		set = keySet(t, leader)
		if got := set.Signer(c.Now()); got.ID != second.ID {
			t.Fatalf("signer after the switch = %s, want the successor", got.ID)
		}
		if len(set.Keys) != 2 {
			t.Fatal("the first key left the key set while tokens it signed may be valid")
		}
		// Once every token the first key signed has expired, it is retired.
		c.Add(first.RetireAt.Sub(c.Now()) + time.Second)
		leader.Invalidate("")
		set = keySet(t, leader)
		for _, k := range set.Keys {
			if k.ID == first.ID {
				t.Fatal("the first key is still published after its retirement")
			}
		}
		if first.RetireAt.Sub(first.NotAfter) < token.MaxSignedTokenLifetime {
			t.Fatalf("retirement %s after the signing window, want ≥ %s", first.RetireAt.Sub(first.NotAfter), token.MaxSignedTokenLifetime)
		}
	})
}

// TestOtherNodesReloadOnInvalidation: a node learns of a key another node
// created when the invalidation arrives, not before.
func TestOtherNodesReloadOnInvalidation(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		c := testenv.NewClock(time.Now().UTC().Truncate(time.Microsecond))
		kr := keyring(t)
		opts := token.KeyOptions{Rotation: 10 * time.Hour, Lead: 2 * time.Hour, Refresh: 24 * time.Hour}
		a := token.NewKeys(s, kr, opts, c.Now, nil)
		b := token.NewKeys(s, kr, opts, c.Now, nil)
		if err := a.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(keySet(t, b).Keys); n != 1 {
			t.Fatalf("b sees %d keys, want 1", n)
		}
		c.Add(9 * time.Hour)
		if err := a.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(keySet(t, b).Keys); n != 1 {
			t.Fatalf("b reloaded without an invalidation or expiry: %d keys", n)
		}
		b.Invalidate("")
		if n := len(keySet(t, b).Keys); n != 2 {
			t.Fatalf("b sees %d keys after the invalidation, want 2", n)
		}
	})
}

// TestOverdueRotation: when no node rotated in time (the cluster was down
// over the end of a key's window), the first node to notice creates the
// successor, which signs at once: the old key never signs for long past
// its window, so its tokens never outlive its publication.
func TestOverdueRotation(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		c := testenv.NewClock(time.Now().UTC().Truncate(time.Microsecond))
		k := token.NewKeys(s, keyring(t), token.KeyOptions{Rotation: time.Hour, Lead: time.Minute, Refresh: time.Second}, c.Now, nil)
		if err := k.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		first := keySet(t, k).Signer(c.Now())
		c.Add(90 * time.Minute)
		// Noticing the overdue rotation starts its repair in the
		// background; Ensure (another node, or the job) races it harmlessly.
		if got := keySet(t, k).Signer(c.Now()); got == nil {
			t.Fatal("no signer while the rotation is overdue")
		}
		if err := k.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			k.Invalidate("")
			set := keySet(t, k)
			if s := set.Signer(c.Now()); s != nil && s.ID != first.ID {
				if len(set.Keys) != 2 || !s.NotBefore.Equal(c.Now()) {
					t.Fatalf("after the repair: %d keys, successor signs from %s; want 2 keys, signing at once (%s)", len(set.Keys), s.NotBefore, c.Now())
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the overdue rotation was not repaired")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
