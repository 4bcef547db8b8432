package store

// ProjectQueries store projects, project roles, applications, project
// grants and user grants.
type ProjectQueries interface {
}
