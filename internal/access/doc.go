// Package access is the permission model of the admin API: which
// permissions each administrative role grants, and on what.
//
// A request needs one Permission on one Target (the organization and
// project it names, or nothing for instance-wide requests). Check decides
// from the caller's memberships:
//
//   - an instance-scoped role applies to the whole instance: every
//     organization and project in it, and instance-wide requests;
//   - an organization role applies when the target names its organization
//     (and to every project of that organization);
//   - a project role applies when the target names its project and that
//     project's organization.
//
// Requests without an organization target (listing or creating
// organizations, listing users of the whole instance, the audit log) thus
// need an instance role. Managing all instances (system.instance.*) needs
// INSTANCE_OWNER on the system instance.
//
// The package holds rules only, no HTTP: internal/api maps each API method
// to a Permission and a Target in one declarative table.
//
// Imports: internal/iam and the standard library.
package access
