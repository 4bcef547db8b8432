package storetest

import "testing"

// testMemberships covers the store methods for administrative memberships.
func (b *bundle) testMemberships(t *testing.T) {
	_ = b
}
