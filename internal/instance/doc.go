// Package instance is the service for instances: the virtual, isolated IAM
// tenants a deployment serves, chosen by the request's Host.
//
// Every change runs in one store transaction together with its audit event.
// Authorization (who may manage instances) joins with the admin API.
//
// GetByHost, which resolves every request's instance, can be cached
// in-process (WithCache): creates and updates publish an invalidation of
// every domain before and after the change (store.TopicInstanceDomain) in
// their transaction, so every node drops the entry once it commits.
//
// Imports: internal/iam, internal/store, internal/cache and the standard
// library.
package instance
