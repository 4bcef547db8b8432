package store

// EmailQueries is being written; see the issue of the hosted login.
type EmailQueries interface{}
