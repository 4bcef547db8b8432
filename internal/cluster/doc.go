// Package cluster holds what a node needs to take part in a deployment:
// waiting for the database, the schema gate that decides whether this
// binary may serve on the database's schema, and (later) the node registry
// and cross-node cache invalidation.
//
// Imports: internal/store, internal/iam, prometheus and the standard library.
package cluster
