package cache

import (
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// epochSlots is how many per-key epoch counters a cache keeps; keys share
// them by hash. A shared slot only makes an unrelated load skip storing its
// value, never lets a stale one in.
const epochSlots = 256

// Epoch is a cache's invalidation state for one key, taken before a
// database read and checked by SetIfEpoch.
type Epoch struct {
	flush, slot uint64
}

// Cache is a concurrency-safe, size-bounded LRU cache with a per-entry TTL.
// The zero value is not usable; a nil *Cache caches nothing.
type Cache[K comparable, V any] struct {
	name string
	size int
	ttl  time.Duration
	seed maphash.Seed

	mu         sync.Mutex
	entries    map[K]*entry[K, V]
	head       entry[K, V] // sentinel: head.next is the most recently used
	flushEpoch uint64
	slots      [epochSlots]uint64
	suspended  bool

	m metrics
}

type entry[K comparable, V any] struct {
	key        K
	val        V
	expires    time.Time
	prev, next *entry[K, V]
}

// New returns an empty cache holding at most size entries (at least 1),
// each for at most ttl (no limit if ttl <= 0). reg, if not nil, receives
// its metrics, labelled cache=name; caches of the same name share them.
func New[K comparable, V any](name string, size int, ttl time.Duration, reg prometheus.Registerer) *Cache[K, V] {
	c := &Cache[K, V]{
		name: name, size: max(size, 1), ttl: ttl, seed: maphash.MakeSeed(),
		entries: map[K]*entry[K, V]{},
		m:       newMetrics(name, reg),
	}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// Name returns the cache's name.
func (c *Cache[K, V]) Name() string {
	if c == nil {
		return ""
	}
	return c.name
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Get returns the entry of key if it is present and not expired.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	v, ok, _ := c.lookup(key)
	return v, ok
}

// lookup is Get that also returns the key's epoch on a miss.
func (c *Cache[K, V]) lookup(key K) (V, bool, Epoch) {
	var zero V
	if c == nil {
		return zero, false, Epoch{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && !c.suspended {
		if c.ttl <= 0 || time.Now().Before(e.expires) {
			c.moveToFront(e)
			c.m.hits.Inc()
			return e.val, true, Epoch{}
		}
		c.remove(e)
		c.m.evictions.Inc()
	}
	c.m.misses.Inc()
	return zero, false, c.epochLocked(key)
}

// Epoch returns the key's current epoch. Take it before reading the value
// from the database and pass it to SetIfEpoch.
func (c *Cache[K, V]) Epoch(key K) Epoch {
	if c == nil {
		return Epoch{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epochLocked(key)
}

func (c *Cache[K, V]) epochLocked(key K) Epoch {
	return Epoch{flush: c.flushEpoch, slot: c.slots[c.slot(key)]}
}

func (c *Cache[K, V]) slot(key K) uint64 {
	return maphash.Comparable(c.seed, key) % epochSlots
}

// SetIfEpoch stores v under key unless the key was invalidated since
// epoch was taken (or the cache is suspended), and reports whether it did.
func (c *Cache[K, V]) SetIfEpoch(key K, v V, epoch Epoch) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.suspended || c.epochLocked(key) != epoch {
		return false
	}
	c.setLocked(key, v)
	return true
}

// Set stores v under key unconditionally (unless suspended). Use it only
// for a value known to be current; loads from the database go through
// SetIfEpoch or GetOrLoad.
func (c *Cache[K, V]) Set(key K, v V) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.suspended {
		c.setLocked(key, v)
	}
}

func (c *Cache[K, V]) setLocked(key K, v V) {
	var expires time.Time
	if c.ttl > 0 {
		expires = time.Now().Add(c.ttl)
	}
	if e := c.entries[key]; e != nil {
		e.val, e.expires = v, expires
		c.moveToFront(e)
		return
	}
	for len(c.entries) >= c.size {
		c.remove(c.head.prev)
		c.m.evictions.Inc()
	}
	e := &entry[K, V]{key: key, val: v, expires: expires}
	c.entries[key] = e
	c.insertFront(e)
	c.m.entries.Set(float64(len(c.entries)))
}

// GetOrLoad returns the entry of key, or calls load and stores its result
// under the epoch guard. Errors are not cached. Concurrent misses of one
// key each call load. A nil cache just calls load.
func (c *Cache[K, V]) GetOrLoad(key K, load func() (V, error)) (V, error) {
	v, ok, epoch := c.lookup(key)
	if ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.SetIfEpoch(key, v, epoch)
	return v, nil
}

// Delete removes the entry of key and invalidates loads of it in flight.
func (c *Cache[K, V]) Delete(key K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slots[c.slot(key)]++
	if e := c.entries[key]; e != nil {
		c.remove(e)
		c.m.invalidations.Inc()
	}
}

// DeleteFunc removes every entry for which match returns true and
// invalidates every load in flight.
func (c *Cache[K, V]) DeleteFunc(match func(K, V) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushEpoch++
	for k, e := range c.entries {
		if match(k, e.val) {
			c.remove(e)
			c.m.invalidations.Inc()
		}
	}
}

// Flush removes every entry and invalidates every load in flight.
func (c *Cache[K, V]) Flush() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *Cache[K, V]) flushLocked() {
	c.flushEpoch++
	c.m.invalidations.Add(float64(len(c.entries)))
	clear(c.entries)
	c.head.prev, c.head.next = &c.head, &c.head
	c.m.entries.Set(0)
}

// Suspend flushes the cache and makes it miss and drop every store until
// Resume: the node cannot learn of changes meanwhile.
func (c *Cache[K, V]) Suspend() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	c.suspended = true
}

// Resume flushes the cache (changes may have been missed while suspended)
// and lets it serve again.
func (c *Cache[K, V]) Resume() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	c.suspended = false
}

func (c *Cache[K, V]) remove(e *entry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(c.entries, e.key)
	c.m.entries.Set(float64(len(c.entries)))
}

func (c *Cache[K, V]) insertFront(e *entry[K, V]) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

func (c *Cache[K, V]) moveToFront(e *entry[K, V]) {
	if c.head.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	c.insertFront(e)
}

// metrics of one cache.
type metrics struct {
	hits, misses, evictions, invalidations prometheus.Counter
	entries                                prometheus.Gauge
}

func newMetrics(name string, reg prometheus.Registerer) metrics {
	counter := func(metric, help string) prometheus.Counter {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metric, Help: help}, []string{"cache"})
		return register(reg, v).WithLabelValues(name)
	}
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rampart_cache_entries", Help: "Entries in an in-process cache."}, []string{"cache"})
	return metrics{
		hits:          counter("rampart_cache_hits_total", "Lookups answered from an in-process cache."),
		misses:        counter("rampart_cache_misses_total", "Lookups an in-process cache could not answer."),
		evictions:     counter("rampart_cache_evictions_total", "Entries dropped from an in-process cache for its size bound or TTL."),
		invalidations: counter("rampart_cache_invalidations_total", "Entries dropped from an in-process cache because the data changed or the cache was flushed."),
		entries:       register(reg, gauge).WithLabelValues(name),
	}
}

// register registers a metric vector with reg, or returns the one already
// registered under its name (another cache's).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
