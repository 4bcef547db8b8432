// Package sqlite is the embedded SQLite backend of the store port, on
// modernc.org/sqlite (pure Go). It is Rampart's default: one process, one
// file, nothing to install.
//
// The database runs in WAL mode with foreign keys on and a busy timeout.
// Writes go through one connection (SQLite has one writer; transactions
// begin IMMEDIATE so they never fail on a lock upgrade); reads use a small
// pool of read-only connections and run concurrently with the writer.
// Migrations are serialized across processes by an exclusive file lock
// beside the database file. Every statement, BEGIN, COMMIT and ROLLBACK
// is counted in the context's round-trip counter (store.CountRoundTrip):
// statements through the countingDB wrapper of queries, transaction
// boundaries in WithTx.
//
// Imports: internal/store, internal/store/sqlmigrate, internal/iam and the
// SQLite driver. Only cmd/rampart and tests import it.
package sqlite
