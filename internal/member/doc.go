// Package member is the service for administrative memberships: which
// users administer the instance, an organization or a project, with which
// roles (iam.MemberRole). The admin API's authorization reads them (see
// internal/access); this package manages them.
//
// A membership is identified by its target and user. Adding one checks that
// the target (organization, project of that organization) and the user
// exist in the instance; the last INSTANCE_OWNER of an instance can be
// neither removed nor demoted, so that an instance never loses its last
// administrator through the API. Every change runs in one store transaction
// with its audit event (member.added, member.changed, member.removed).
//
// Imports: internal/iam, internal/store and the standard library.
package member
