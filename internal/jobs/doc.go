// Package jobs runs Rampart's durable background jobs on River, on both
// backends: riverpgxv5 on PostgreSQL, riversqlite on SQLite. River's tables
// are migrated with Rampart's by store.Migrator (see internal/store/sqlmigrate).
//
// What it offers:
//
//   - A transactional outbox: Jobs.Enqueue inserts a job in the caller's
//     store transaction (store.WithTx), so the job exists if and only if the
//     change that caused it commits.
//   - Retries: a worker that returns an error or panics is retried with
//     River's backoff and, after its maximum attempts, discarded with every
//     attempt's error recorded on the job row. The node keeps running.
//   - Periodic jobs, scheduled only by River's elected leader (one per
//     database): cleanup of expired data, audit-event retention, signing-key
//     rotation and maintenance steps plugged in by cmd (stale-node expiry).
//     See periodic.go for how "exactly once per period" is kept across
//     leader changes.
//   - Metrics: counters per job kind of completed, failed (errored
//     attempts), retried and discarded jobs from River's event stream, and a
//     gauge of jobs by state read with one query per scrape.
//
// Flow: cmd builds the store, calls New with the store and options, Start
// after the database answers (Start waits in the background for River's
// schema, so a node started with --no-migrate becomes healthy once someone
// migrates), adds Healthy to the readiness checks and calls Stop on
// shutdown.
//
// The package never imports a concrete store backend. A backend exposes what
// River needs through small interfaces checked at run time: PostgreSQL's
// Store has Pool() and its transactions PgxTx(); SQLite's Store has
// OpenJobsDB() and its transactions SQLTx().
//
// Imports: internal/store, River, pgx, Prometheus and the standard library.
package jobs
