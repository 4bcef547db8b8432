// Package postgres is the PostgreSQL backend of the store port, on a pgx v5
// connection pool. It is the backend for highly available clusters: any
// number of stateless nodes share one database.
//
// Transactions run at READ COMMITTED; a transaction that fails with a
// serialization failure or deadlock is retried a bounded number of times.
// Migrations are serialized across nodes by a session-level advisory lock,
// which PostgreSQL releases by itself when the holding session dies.
// A pgx tracer on the pool counts every statement (BEGIN, COMMIT and
// ROLLBACK included), batch and COPY in the context's round-trip counter
// (store.CountRoundTrip).
//
// Imports: internal/store, internal/store/sqlmigrate, internal/iam and pgx.
// Only cmd/rampart and tests import it.
package postgres
