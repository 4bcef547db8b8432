// Package cluster holds what a node needs to take part in a deployment:
// waiting for the database, the schema gate that decides whether this
// binary may serve on the database's schema, the node registry, and the
// subscription that keeps the in-process caches consistent across nodes.
//
//   - SchemaGate, WaitForDatabase: see schema.go.
//   - Registry: every node upserts its row in the nodes table every
//     heartbeat interval (default 5 s) and deletes it on graceful
//     shutdown; a node is live while its last heartbeat is within the
//     expiry (default 30 s). ListNodes and PrintNodes (`rampart nodes`)
//     read the registry and River's elected job leader from the database
//     only; DeleteStaleNodes is the periodic cleanup's hook.
//   - InvalidationListener: subscribes to the store's cache invalidations
//     (PostgreSQL LISTEN on a dedicated connection; SQLite in-process),
//     hands them to the cache.Bus, suspends the Bus (caches flushed and
//     bypassed) whenever the subscription is down and re-subscribes with
//     backoff.
//
// Imports: internal/store, internal/cache, internal/iam, prometheus and the
// standard library.
package cluster
