package cache

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Member is a cache the Bus suspends and resumes; *Cache implements it.
type Member interface {
	Suspend()
	Resume()
}

// Bus routes invalidations to the caches of one node: handlers per topic,
// and suspension of every attached cache while the node cannot receive
// invalidations. A Bus starts suspended; whoever subscribes to the
// database's invalidations (cluster.InvalidationListener) resumes it once
// subscribed and suspends it when the subscription breaks. Its methods are
// safe for concurrent use.
type Bus struct {
	mu        sync.RWMutex
	handlers  map[string][]func(key string)
	members   []Member
	suspended bool
}

// NewBus returns a suspended Bus.
func NewBus() *Bus {
	return &Bus{handlers: map[string][]func(string){}, suspended: true}
}

// Attach adds a cache to suspend and resume with the bus; it is suspended
// at once if the bus is.
func (b *Bus) Attach(m Member) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.members = append(b.members, m)
	if b.suspended {
		m.Suspend()
	}
}

// Handle registers fn for the invalidations of topic. fn receives the key
// ("" means every key of the topic); it must be quick and must not block.
func (b *Bus) Handle(topic string, fn func(key string)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[topic] = append(b.handlers[topic], fn)
}

// Invalidate calls the handlers of topic with key. Unknown topics are
// ignored (a newer node may publish topics this one does not cache).
func (b *Bus) Invalidate(topic, key string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, fn := range b.handlers[topic] {
		fn(key)
	}
}

// Suspend flushes every attached cache and stops them serving until
// Resume.
func (b *Bus) Suspend() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.suspended = true
	for _, m := range b.members {
		m.Suspend()
	}
}

// Resume flushes every attached cache again and lets them serve.
func (b *Bus) Resume() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.suspended = false
	for _, m := range b.members {
		m.Resume()
	}
}

// Suspended reports whether the bus is suspended.
func (b *Bus) Suspended() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.suspended
}

// Config is what a service needs to cache: sizes, metrics and the bus that
// invalidates. The zero Config disables caching.
type Config struct {
	// Size bounds the entries of each cache; 0 disables caching.
	Size int
	// TTL is the safety limit on an entry's age; 0 means none.
	TTL time.Duration
	// Registerer receives the caches' metrics; nil means none.
	Registerer prometheus.Registerer
	// Bus delivers invalidations. A cache without one could never learn of
	// changes, so a nil Bus disables caching.
	Bus *Bus
}

// Enabled reports whether the config caches anything.
func (c Config) Enabled() bool { return c.Size > 0 && c.Bus != nil }

// NewAttached returns a cache configured by cfg and attached to its bus, or
// nil (a cache that caches nothing) if cfg is not Enabled. The caller
// registers its topic handlers with cfg.Bus.Handle.
func NewAttached[K comparable, V any](name string, cfg Config) *Cache[K, V] {
	if !cfg.Enabled() {
		return nil
	}
	c := New[K, V](name, cfg.Size, cfg.TTL, cfg.Registerer)
	cfg.Bus.Attach(c)
	return c
}
