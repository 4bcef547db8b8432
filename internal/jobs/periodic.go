package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/rampartiam/rampart/internal/store"
)

// Kinds of the periodic jobs.
const (
	KindCleanup        = "rampart.cleanup"
	KindAuditRetention = "rampart.audit_retention"
	KindKeyRotation    = "rampart.signing_key_rotation"
	KindMaintenance    = "rampart.maintenance"
)

// periodicMaxAttempts bounds the tries of one periodic run: the next period
// runs anyway, so a failing run is not retried for long.
const periodicMaxAttempts = 3

// batchJobTimeout bounds one cleanup or retention run. Batches are short
// statements; a run that cannot finish in time stops between batches and
// is retried, continuing where it stopped.
const batchJobTimeout = 10 * time.Minute

// How a periodic job runs exactly once per period, across leader changes:
//
//   - Only River's elected leader enqueues periodic jobs, and a leader
//     trusts its term only while its lease in river_leader is valid.
//   - Runs are due at every multiple of the interval (everyInterval), the
//     same instants whichever node leads, and each job is unique per
//     period (UniqueOpts.ByPeriod, keyed on its scheduled time truncated to
//     the interval). A leader elected mid-period enqueues at once
//     (RunOnStart); if the previous leader already enqueued this period's
//     run, the insert is skipped as a duplicate. So a period is never run
//     twice, and a leader change loses no period except those that elapse
//     entirely while no leader is elected (at most River's lease, 15 s).
//   - River works each job once; a failed attempt is retried (at most
//     periodicMaxAttempts in all) and the retry belongs to the same period.
//   - Completed jobs, which carry the uniqueness, are kept longer than the
//     longest interval (Config.CompletedJobRetentionPeriod).

// everyInterval schedules at every multiple of the interval counted from
// Go's zero time (for an interval dividing a day: aligned to midnight UTC).
type everyInterval time.Duration

// Next implements river.PeriodicSchedule.
func (s everyInterval) Next(t time.Time) time.Time {
	d := time.Duration(s)
	return t.Truncate(d).Add(d)
}

// periodic is a periodic job of args, unique per interval.
func periodic(args river.JobArgs, every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(everyInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return args, &river.InsertOpts{MaxAttempts: periodicMaxAttempts, UniqueOpts: river.UniqueOpts{ByPeriod: every}}
	}, &river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true})
}

// Step is a unit of periodic maintenance plugged in by the caller, e.g.
// the expiry of stale nodes in the node registry.
type Step struct {
	// Name appears in logs and errors.
	Name string
	// Run does the work. It must be safe to repeat (a failed run is
	// retried) and should honour ctx.
	Run func(ctx context.Context) error
}

// BatchStep deletes one kind of expired data, a batch at a time.
type BatchStep struct {
	// Name appears in logs and errors.
	Name string
	// Delete deletes at most limit rows that are expired at now and returns
	// how many it deleted. The job calls it until it deletes fewer than
	// limit.
	Delete func(ctx context.Context, now time.Time, limit int) (int, error)
}

// cleanupQueries are the store methods the cleanup job calls.
type cleanupQueries interface {
	store.CleanupQueries
	store.OIDCCleanupQueries
	store.LoginCleanupQueries
	VerificationTokenDeleteExpired(ctx context.Context, p *store.DeleteBatchParams) (int, error)
}

// cleanupSteps are the expired data the cleanup job removes. Later features
// add their expiring rows (e.g. sessions) here, each with a batched store
// method like PersonalAccessTokenDeleteExpired.
func cleanupSteps(q cleanupQueries) []BatchStep {
	step := func(name string, del func(context.Context, *store.DeleteBatchParams) (int, error)) BatchStep {
		return BatchStep{Name: name, Delete: func(ctx context.Context, now time.Time, limit int) (int, error) {
			return del(ctx, &store.DeleteBatchParams{Before: now, Limit: limit})
		}}
	}
	return []BatchStep{
		step("personal_access_tokens", q.PersonalAccessTokenDeleteExpired),
		step("oidc_auth_requests", q.AuthRequestDeleteExpired),
		step("oidc_refresh_tokens", q.RefreshTokenDeleteExpired),
		step("oidc_access_tokens", q.AccessTokenDeleteExpired),
		step("oidc_revocations", q.RevocationDeleteExpired),
		step("oidc_device_authorizations", q.DeviceAuthorizationDeleteExpired),
		step("oidc_signing_keys", q.SigningKeyDeleteRetired),
		step("login_sessions", q.SessionDeleteExpired),
		step("email_otp_challenges", q.EmailOTPChallengeDeleteExpired),
		step("verification_tokens", q.VerificationTokenDeleteExpired),
	}
}

// runBatches calls del until it deletes fewer than limit rows, fails, or
// ctx ends, and returns the rows deleted.
func runBatches(ctx context.Context, limit int, del func(ctx context.Context, limit int) (int, error)) (int, error) {
	total := 0
	for {
		n, err := del(ctx, limit)
		total += n
		if err != nil {
			return total, err
		}
		if n < limit {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

type cleanupArgs struct{}

// Kind implements river.JobArgs.
func (cleanupArgs) Kind() string { return KindCleanup }

type cleanupWorker struct {
	river.WorkerDefaults[cleanupArgs]
	steps []BatchStep
	batch int
	now   func() time.Time
	log   *slog.Logger
}

func (w *cleanupWorker) Timeout(*river.Job[cleanupArgs]) time.Duration { return batchJobTimeout }

func (w *cleanupWorker) Work(ctx context.Context, _ *river.Job[cleanupArgs]) error {
	now := w.now()
	var errs []error
	for _, s := range w.steps {
		n, err := runBatches(ctx, w.batch, func(ctx context.Context, limit int) (int, error) { return s.Delete(ctx, now, limit) })
		if n > 0 {
			w.log.Info("expired data removed", "what", s.Name, "rows", n)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("cleanup %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

type auditRetentionArgs struct{}

// Kind implements river.JobArgs.
func (auditRetentionArgs) Kind() string { return KindAuditRetention }

type auditRetentionWorker struct {
	river.WorkerDefaults[auditRetentionArgs]
	q         store.CleanupQueries
	retention time.Duration
	batch     int
	now       func() time.Time
	log       *slog.Logger
}

func (w *auditRetentionWorker) Timeout(*river.Job[auditRetentionArgs]) time.Duration {
	return batchJobTimeout
}

func (w *auditRetentionWorker) Work(ctx context.Context, _ *river.Job[auditRetentionArgs]) error {
	if w.retention <= 0 {
		return nil // keep forever
	}
	before := w.now().Add(-w.retention)
	n, err := runBatches(ctx, w.batch, func(ctx context.Context, limit int) (int, error) {
		return w.q.AuditEventDeleteBefore(ctx, &store.DeleteBatchParams{Before: before, Limit: limit})
	})
	if n > 0 {
		w.log.Info("audit events past retention removed", "rows", n, "before", before)
	}
	if err != nil {
		return fmt.Errorf("audit retention: %w", err)
	}
	return nil
}

type keyRotationArgs struct{}

// Kind implements river.JobArgs.
func (keyRotationArgs) Kind() string { return KindKeyRotation }

type keyRotationWorker struct {
	river.WorkerDefaults[keyRotationArgs]
	rotate func(ctx context.Context) error
}

func (w *keyRotationWorker) Work(ctx context.Context, _ *river.Job[keyRotationArgs]) error {
	if w.rotate == nil {
		return nil
	}
	if err := w.rotate(ctx); err != nil {
		return fmt.Errorf("signing key rotation: %w", err)
	}
	return nil
}

type maintenanceArgs struct{}

// Kind implements river.JobArgs.
func (maintenanceArgs) Kind() string { return KindMaintenance }

type maintenanceWorker struct {
	river.WorkerDefaults[maintenanceArgs]
	steps []Step
}

// Work runs every step, also after one fails, and reports all failures.
func (w *maintenanceWorker) Work(ctx context.Context, _ *river.Job[maintenanceArgs]) error {
	var errs []error
	for _, s := range w.steps {
		if err := s.Run(ctx); err != nil {
			errs = append(errs, fmt.Errorf("maintenance %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}
