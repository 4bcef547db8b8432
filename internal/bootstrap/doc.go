// Package bootstrap brings a database to a declared state at start-up.
//
// `rampart start --init FILE` reads a declarative YAML file (see
// examples/init.yaml): instances with their domains, organizations, human
// and machine users with passwords, client secrets, personal access tokens
// and machine keys, projects with roles, applications with fixed client IDs,
// secrets and public keys (private_key_jwt), user grants and memberships,
// and the instances' policies (login, password, lockout, branding).
// The whole file is validated before anything is written, with errors naming
// the YAML path. Applying it is idempotent: objects are found by their
// natural keys (instance by primary domain, organization by name, user by
// login name, project by name, role by key, application by client ID, grant
// by user and project, membership by target and user, public key by its
// content in canonical PEM, a policy by its kind: it is set only while the
// instance has none of that kind); missing ones are created, existing ones are
// left as they are, nothing is duplicated. Nodes starting at once may race:
// a create that loses to another node's counts as "exists".
//
// Without --init, the first start on an empty database creates the default
// (system) instance for the external URL's host, an organization and an
// instance owner whose one-time password is logged once.
//
// Imports: the services (instance, org, user, project, member, policy), internal/
// store for lookups by natural key, internal/iam, internal/crypto.
package bootstrap
