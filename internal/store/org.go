package store

// OrgQueries store organizations.
type OrgQueries interface {
}
