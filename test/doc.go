// Package test holds Rampart's multi-process tests: they build the rampart
// binary once and run real processes against real databases (SQLite files
// and throwaway PostgreSQL clusters), the way operators run them.
//
// Imports: internal/pgtest and the store backends (to seed and inspect
// databases between process runs).
package test
