// Package sqlmigrate runs a backend's embedded SQL migrations with goose and
// records, for every applied migration, its phase (expand or contract) and
// the Rampart version that applied it.
//
// Each migration file is named NNNNN_name.sql and starts with a phase line:
//
//	-- rampart:phase expand
//
// Migrations are forward-only. Each one runs in its own transaction together
// with goose's version row and Rampart's record row, under a database-wide
// session lock that the backend supplies (a PostgreSQL advisory lock, a file
// lock beside the SQLite database), so concurrent migrators apply each
// migration exactly once.
//
// Imports: internal/store, goose and the standard library. Used by the store
// backends only.
package sqlmigrate
