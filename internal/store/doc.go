// Package store is Rampart's persistence port: the interfaces every storage
// backend implements, their parameter structs and the sentinel errors
// backends map their native errors to.
//
// Backends live in store/sqlite and store/postgres; each owns its SQL and its
// migrations. store/storetest is the conformance suite both must pass. Only
// cmd/rampart imports a concrete backend.
//
// The store holds no business rules: it persists what services decided.
// Every query that touches tenant data is scoped by instance ID.
//
// Imports: internal/iam, internal/buildinfo and the standard library.
package store
