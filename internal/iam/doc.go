// Package iam holds Rampart's domain: entities, their invariants and the
// error type every layer speaks.
//
// It imports the standard library only. Storage, transports and services
// depend on it; it depends on none of them.
package iam
