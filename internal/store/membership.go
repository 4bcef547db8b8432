package store

// MembershipQueries store administrative memberships.
type MembershipQueries interface {
}
