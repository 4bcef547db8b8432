package store

import (
	"context"
	"time"
)

// CleanupQueries delete expired and retained-out rows for the background
// cleanup jobs. Each call deletes at most Limit rows in one short statement
// and returns how many it deleted; callers repeat it until a call deletes
// fewer than Limit. Rows are never loaded into memory and no call holds locks
// on more than Limit rows, so the work is safe to run beside live traffic
// and to interrupt at any point (a retry continues where it stopped).
//
// These methods span every instance: retention and expiry are
// deployment-wide policies, not per tenant.
type CleanupQueries interface {
	// PersonalAccessTokenDeleteExpired deletes tokens, of any instance,
	// whose ExpiresAt is at or before p.Before (such tokens no longer
	// authenticate).
	PersonalAccessTokenDeleteExpired(ctx context.Context, p *DeleteBatchParams) (int, error)
	// AuditEventDeleteBefore deletes audit events, of any instance, created
	// before p.Before.
	AuditEventDeleteBefore(ctx context.Context, p *DeleteBatchParams) (int, error)
}

// DeleteBatchParams bound one batch of a cleanup deletion.
type DeleteBatchParams struct {
	// Before is the cut-off: rows older than it (by the method's own time
	// column) are deleted.
	Before time.Time
	// Limit caps the rows deleted by one call; values outside 1..MaxListLimit
	// mean MaxListLimit.
	Limit int
}
