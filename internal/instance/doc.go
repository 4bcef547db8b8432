// Package instance is the service for instances: the virtual, isolated IAM
// tenants a deployment serves, chosen by the request's Host.
//
// Every change runs in one store transaction together with its audit event.
// Authorization (who may manage instances) joins with the admin API.
//
// Imports: internal/iam, internal/store and the standard library.
package instance
