// Package org is the service for organizations: the owners of users and
// projects inside an instance.
//
// Every lookup is scoped by the instance the caller names (from the
// request's Host, never from its body), so an organization of another
// instance is simply not found. Every change runs in one store transaction
// together with its audit event ("org.created", "org.changed",
// "org.deleted"). Authorization (who may call what) is the admin API's
// interceptor's job, not this package's.
//
// Imports: internal/iam, internal/store and the standard library.
package org
