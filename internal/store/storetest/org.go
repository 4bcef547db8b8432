package storetest

import "testing"

// testOrgs covers the store methods for organizations.
func (b *bundle) testOrgs(t *testing.T) {
	_ = b
}
