package cache_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampartiam/rampart/internal/cache"
)

func TestLRUEviction(t *testing.T) {
	t.Parallel()
	c := cache.New[string, int]("lru", 3, 0, nil)
	for i, k := range []string{"a", "b", "c"} {
		c.Set(k, i)
	}
	if _, ok := c.Get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	c.Set("d", 3) // evicts b, the least recently used
	if _, ok := c.Get("b"); ok {
		t.Fatal("b survived eviction")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	c.Set("c", 30) // replace keeps the size
	if v, _ := c.Get("c"); v != 30 || c.Len() != 3 {
		t.Fatalf("c = %d, len %d", v, c.Len())
	}
}

func TestTTL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := cache.New[string, int]("ttl", 10, time.Minute, nil)
		c.Set("a", 1)
		time.Sleep(59 * time.Second)
		if _, ok := c.Get("a"); !ok {
			t.Fatal("expired early")
		}
		time.Sleep(2 * time.Second)
		if _, ok := c.Get("a"); ok {
			t.Fatal("served after its TTL")
		}
		if c.Len() != 0 {
			t.Fatal("expired entry kept")
		}
	})
}

func TestEpochGuard(t *testing.T) {
	t.Parallel()
	c := cache.New[string, string]("epoch", 10, 0, nil)
	for _, tc := range []struct {
		name       string
		invalidate func()
		stored     bool
	}{
		{"nothing", func() {}, true},
		{"delete same key", func() { c.Delete("k") }, false},
		{"flush", c.Flush, false},
		{"delete func", func() { c.DeleteFunc(func(string, string) bool { return false }) }, false},
		{"suspend and resume", func() { c.Suspend(); c.Resume() }, false},
	} {
		c.Flush()
		e := c.Epoch("k")
		tc.invalidate()
		if got := c.SetIfEpoch("k", "stale", e); got != tc.stored {
			t.Errorf("%s: SetIfEpoch = %v, want %v", tc.name, got, tc.stored)
		}
	}
	// Deleting another key leaves this key's epoch alone unless the keys
	// share a slot; with 256 slots some of 20 keys do not.
	kept := 0
	for i := range 20 {
		c.Flush()
		e := c.Epoch("k")
		c.Delete(fmt.Sprint("other", i))
		if c.SetIfEpoch("k", "v", e) {
			kept++
		}
	}
	if kept == 0 {
		t.Error("every delete of another key dropped the load")
	}
}

func TestSuspendedCacheNeitherServesNorStores(t *testing.T) {
	t.Parallel()
	c := cache.New[string, int]("suspend", 10, 0, nil)
	c.Set("a", 1)
	c.Suspend()
	if _, ok := c.Get("a"); ok {
		t.Fatal("suspended cache served an entry from before")
	}
	loads := 0
	load := func() (int, error) { loads++; return 2, nil }
	for range 2 {
		if v, err := c.GetOrLoad("a", load); v != 2 || err != nil {
			t.Fatalf("GetOrLoad = %d, %v", v, err)
		}
	}
	c.Set("b", 1)
	if loads != 2 || c.Len() != 0 {
		t.Fatalf("suspended cache stored: %d loads, %d entries", loads, c.Len())
	}
	c.Resume()
	if _, err := c.GetOrLoad("a", load); err != nil || loads != 3 {
		t.Fatal("resumed cache did not load")
	}
	if _, err := c.GetOrLoad("a", load); err != nil || loads != 3 {
		t.Fatal("resumed cache did not store")
	}
}

func TestGetOrLoadDoesNotCacheErrors(t *testing.T) {
	t.Parallel()
	c := cache.New[string, int]("errors", 10, 0, nil)
	boom := errors.New("boom")
	if _, err := c.GetOrLoad("a", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, ok := c.Get("a"); ok {
		t.Fatal("error cached")
	}
}

func TestNilCache(t *testing.T) {
	t.Parallel()
	var c *cache.Cache[string, int]
	c.Set("a", 1)
	c.Delete("a")
	c.Flush()
	c.Suspend()
	c.Resume()
	c.DeleteFunc(func(string, int) bool { return true })
	if _, ok := c.Get("a"); ok || c.Len() != 0 || c.SetIfEpoch("a", 1, c.Epoch("a")) {
		t.Fatal("nil cache cached")
	}
	if v, err := c.GetOrLoad("a", func() (int, error) { return 7, nil }); v != 7 || err != nil {
		t.Fatalf("GetOrLoad = %d, %v", v, err)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := cache.New[string, int]("m", 2, 0, reg)
	// A second cache of another name shares the metric families; one of the
	// same name shares the series.
	other := cache.New[string, int]("other", 2, 0, reg)
	other.Set("x", 1)
	c.Set("a", 1)
	c.Get("a")
	c.Get("b")
	c.Set("b", 2)
	c.Set("c", 3) // evicts a
	c.Delete("b")
	got := gather(t, reg)
	want := map[string]float64{
		"rampart_cache_entries/m": 1, "rampart_cache_entries/other": 1,
		"rampart_cache_evictions_total/m": 1, "rampart_cache_hits_total/m": 1,
		"rampart_cache_misses_total/m": 1, "rampart_cache_invalidations_total/m": 1,
		"rampart_cache_hits_total/other": 0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	cache.New[string, int]("m", 2, 0, reg) // same name again: no panic
}

func TestBus(t *testing.T) {
	t.Parallel()
	bus := cache.NewBus()
	cfg := cache.Config{Size: 10, Bus: bus}
	a := cache.NewAttached[string, int]("a", cfg)
	if a == nil || !bus.Suspended() {
		t.Fatal("attached cache missing or bus not suspended")
	}
	if cache.NewAttached[string, int]("x", cache.Config{Size: 10}) != nil || cache.NewAttached[string, int]("x", cache.Config{Bus: bus}) != nil {
		t.Fatal("a cache without bus or size was created")
	}
	var got []string
	bus.Handle("t", func(key string) { got = append(got, key); a.Delete(key) })
	a.Set("k", 1)
	if a.Len() != 0 {
		t.Fatal("cache of a suspended bus stored")
	}
	bus.Resume()
	a.Set("k", 1)
	a.Set("j", 2)
	bus.Invalidate("t", "k")
	bus.Invalidate("unknown", "j")
	if _, ok := a.Get("k"); ok || !slices.Equal(got, []string{"k"}) {
		t.Fatalf("invalidation not routed: %v", got)
	}
	if _, ok := a.Get("j"); !ok {
		t.Fatal("unrelated entry dropped")
	}
	bus.Suspend()
	if _, ok := a.Get("j"); ok {
		t.Fatal("suspended bus left the cache serving")
	}
}

// TestNoStaleWriteBack races loaders against writers that change the
// "database" and then invalidate. Once a writer's invalidation returned,
// no reader may see an older value: the epoch guard must drop loads that
// read before the change and store after the invalidation.
func TestNoStaleWriteBack(t *testing.T) {
	t.Parallel()
	const keys, writes, readers = 4, 2000, 4
	c := cache.New[int, int64]("race", 2, 0, nil) // smaller than keys: evictions too
	var db, published [keys]atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	var stale atomic.Int64
	for r := range readers {
		wg.Go(func() {
			for i := r; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				k := i % keys
				floor := published[k].Load()
				v, _ := c.GetOrLoad(k, func() (int64, error) { return db[k].Load(), nil })
				if v < floor {
					stale.Add(1)
				}
			}
		})
	}
	var writers sync.WaitGroup
	for k := range keys {
		writers.Go(func() {
			for n := int64(1); n <= writes; n++ {
				db[k].Store(n)
				if n%50 == 0 {
					c.Flush()
				} else {
					c.Delete(k)
				}
				published[k].Store(n)
			}
		})
	}
	writers.Wait()
	close(done)
	wg.Wait()
	if n := stale.Load(); n > 0 {
		t.Fatalf("%d reads returned a value older than a completed invalidation", n)
	}
}

// FuzzCacheMatchesModel runs operation sequences against the cache and a
// simple model LRU and compares what Get answers.
func FuzzCacheMatchesModel(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 3, 1, 1, 0, 4, 2, 2, 3, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 4, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const size = 3
		c := cache.New[byte, int]("fuzz", size, 0, nil)
		var model []byte // keys, most recently used first
		vals := map[byte]int{}
		touch := func(k byte) {
			model = slices.DeleteFunc(model, func(x byte) bool { return x == k })
			model = append([]byte{k}, model...)
		}
		for i := 0; i+1 < len(ops); i += 2 {
			k := ops[i+1] % 8
			switch ops[i] % 6 {
			case 0: // set
				c.Set(k, i)
				vals[k] = i
				touch(k)
				if len(model) > size {
					delete(vals, model[size])
					model = model[:size]
				}
			case 1: // get
				v, ok := c.Get(k)
				mv, mok := vals[k]
				if ok != mok || v != mv {
					t.Fatalf("op %d: Get(%d) = %d,%v; model %d,%v", i, k, v, ok, mv, mok)
				}
				if ok {
					touch(k)
				}
			case 2: // delete
				c.Delete(k)
				delete(vals, k)
				model = slices.DeleteFunc(model, func(x byte) bool { return x == k })
			case 3: // flush
				c.Flush()
				clear(vals)
				model = nil
			case 4: // epoch-guarded set after an unrelated epoch read
				e := c.Epoch(k)
				if c.SetIfEpoch(k, -i, e) {
					vals[k] = -i
					touch(k)
					if len(model) > size {
						delete(vals, model[size])
						model = model[:size]
					}
				} else {
					t.Fatalf("op %d: SetIfEpoch without invalidation dropped", i)
				}
			case 5: // delete odd keys
				c.DeleteFunc(func(k byte, _ int) bool { return k%2 == 1 })
				for key := range vals {
					if key%2 == 1 {
						delete(vals, key)
					}
				}
				model = slices.DeleteFunc(model, func(x byte) bool { return x%2 == 1 })
			}
			if c.Len() != len(vals) || c.Len() > size {
				t.Fatalf("op %d: len %d, model %d", i, c.Len(), len(vals))
			}
		}
	})
}

// gather returns every series of reg as "name/cache label" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			}
		}
	}
	return out
}
