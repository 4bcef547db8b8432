package store

// PolicyQueries is being written; see the issue of the hosted login.
type PolicyQueries interface{}
