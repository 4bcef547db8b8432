package store

import (
	"context"
	"sync/atomic"
)

// RoundTrips counts the database round trips (statements, BEGIN and COMMIT)
// made on behalf of one context. Both backends count every statement they
// send through a context that carries a counter; tests and benchmarks use
// it to publish and pin the number of round trips per request.
type RoundTrips struct{ n atomic.Int64 }

// Load returns the count so far.
func (r *RoundTrips) Load() int64 { return r.n.Load() }

type roundTripsKey struct{}

// WithRoundTrips returns a context whose database round trips are counted
// in the returned counter (adding to an existing counter of ctx, if any).
func WithRoundTrips(ctx context.Context) (context.Context, *RoundTrips) {
	if r, ok := ctx.Value(roundTripsKey{}).(*RoundTrips); ok {
		return ctx, r
	}
	r := new(RoundTrips)
	return context.WithValue(ctx, roundTripsKey{}, r), r
}

// CountRoundTrip adds one round trip to ctx's counter, if it has one.
// Backends call it for every statement they send.
func CountRoundTrip(ctx context.Context) {
	if r, ok := ctx.Value(roundTripsKey{}).(*RoundTrips); ok {
		r.n.Add(1)
	}
}
