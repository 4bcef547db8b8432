package store

// UserQueries store human and machine users and their credentials
// (password hashes, client secret hashes, personal access tokens, machine
// keys).
type UserQueries interface {
}
