// Package project is the service for projects, their roles, their
// applications (OAuth/OIDC clients), project grants (a project shared with
// another organization, with a subset of its roles) and user grants (project
// roles given to a user).
//
// Every object is addressed as the admin API names it: by instance,
// organization and, below a project, project ID; an object of another
// organization or instance is simply not found. Every change is validated
// (iam.Project.Validate, iam.Application.Validate, …), checked against the
// objects it refers to, and stored in one store transaction together with its
// audit event:
//
//	project.created / changed / deleted
//	project.role_added / role_changed / role_removed   (aggregate: the project)
//	app.created / changed / deleted / secret_regenerated
//	app.key_added / key_removed                         (aggregate: the application)
//	project_grant.created / changed / deleted
//	user_grant.created / changed / deleted
//
// Payloads never carry secrets or their hashes ("has_client_secret" only).
// Updates and deletes name the version the caller read; a mismatch is
// iam.Conflict. Updates that change nothing store nothing and record no
// event.
//
// Client secrets are generated here (crypto.NewSecret, 256 bits, prefix
// "rcs_"), returned once, and stored only as their keyed hash
// (crypto.SecretHasher).
//
// Application keys are the public keys a confidential application signs
// its client assertions with (private_key_jwt, RFC 7523 §2.2): PKIX PEM,
// RSA 2048–8192 bits or ECDSA P-256/P-384/P-521 (ParsePublicKey), stored
// canonically, optionally expiring, at most MaxApplicationKeys per
// application, never the same key twice. An application with auth method
// private_key_jwt and no key simply cannot authenticate.
//
// Grant rules:
//   - A project grant gives a project of its owner (OrgID) to another
//     organization of the instance, with role keys that are roles of the
//     project; one grant per project and organization. Roles dropped from a
//     grant are dropped from the user grants made under it.
//   - A user grant lives in the user's organization (OrgID). Its project is
//     owned by OrgID (its roles must be roles of the project) or granted to
//     OrgID by an active project grant (ProjectGrantID is set automatically;
//     its roles must be roles of that grant). One grant per user and project.
//   - Removing a project role removes it from every grant (foreign keys).
//
// GetApplicationByClientID (the OAuth client lookup) can be cached
// in-process (Options.Cache). Every change of an application publishes its
// invalidation (store.TopicAppClient) in its transaction; deleting a
// project or an organization, which deletes their applications by
// cascade, invalidates every cached application of the instance
// (store.TopicAppInstance). Project roles have no hot read path yet and
// are not cached.
//
// Imports: internal/iam, internal/store, internal/crypto, internal/cache
// and the standard library.
package project
