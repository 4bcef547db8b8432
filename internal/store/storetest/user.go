package storetest

import "testing"

// testUsers covers the store methods for users and their credentials.
func (b *bundle) testUsers(t *testing.T) {
	_ = b
}
