package store

// LoginQueries is being written; see the issue of the hosted login.
type LoginQueries interface{}
