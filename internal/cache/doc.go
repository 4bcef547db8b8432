// Package cache holds bounded in-process caches of read-mostly data
// (instances by host, applications by client ID) and the Bus that keeps
// them consistent with the database across nodes.
//
// A Cache is a size-bounded LRU map with a safety TTL and Prometheus
// metrics per cache name (rampart_cache_hits_total, _misses_total,
// _evictions_total, _invalidations_total, rampart_cache_entries). A nil
// *Cache is valid and caches nothing, so a service can hold one
// unconditionally.
//
// Consistency rests on three rules:
//
//  1. Writers publish invalidations in the writing transaction
//     (store.Queries.CacheInvalidate); every node receives them after the
//     commit (internal/cluster's InvalidationListener feeds them to the
//     Bus, which calls the handlers that caches registered per topic).
//  2. Readers load through an epoch guard: Epoch(key) before the database
//     read, SetIfEpoch(key, v, epoch) after (GetOrLoad does both). An
//     invalidation of the key (Delete, Flush, DeleteFunc, Suspend, Resume)
//     between the two bumps the epoch and the stale value is dropped
//     instead of being written back.
//  3. While the node cannot receive invalidations the Bus is suspended:
//     its caches are flushed and neither serve nor store entries. A Bus
//     starts suspended; Resume (after a subscription is established)
//     flushes again, since invalidations may have been missed meanwhile.
//
// Imports: prometheus and the standard library.
package cache
