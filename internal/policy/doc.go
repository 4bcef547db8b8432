// Package policy manages the policies of instances and organizations:
// login (allowed methods, registration, second factors, session
// lifetimes), password complexity, lockout and branding.
//
// Each kind is set per instance; login, password and lockout policies may
// be overridden per organization (a full policy, not a patch). What
// applies to an organization is its override if it has one, else the
// instance's policy, else the built-in default (iam.Default*).
// GetEffective answers that for every kind in one database round trip, or
// none when cached; the cache is invalidated on every node through
// store.TopicPolicy, published in the transaction of each change.
//
// Policies are stored as JSON objects (see codec.go): durations as Go
// duration strings, fields a stored body lacks take their defaults, and
// fields it has that this version does not know are ignored, so that
// versions running side by side during an upgrade can read each other's
// rows.
//
// Imports: internal/iam, internal/store, internal/cache.
package policy
