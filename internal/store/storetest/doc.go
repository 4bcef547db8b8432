// Package storetest is the conformance suite of the store port. Every
// backend runs it unchanged:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, openFreshDatabase) }
//
// Every store method lands with cases here; a backend passes when it
// behaves exactly like the others, errors included.
//
// Imports: internal/store, internal/iam and the standard library.
package storetest
