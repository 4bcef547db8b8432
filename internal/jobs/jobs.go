package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rampartiam/rampart/internal/store"
)

// Options configure New. Zero values mean the defaults stated.
type Options struct {
	// Store is the node's store; required. Its backend provides River's
	// driver.
	Store store.Store
	// Logger receives the package's and River's logs; nil discards them.
	Logger *slog.Logger
	// Registerer, if not nil, receives the job metrics.
	Registerer prometheus.Registerer
	// NodeID is the River client ID, which River records as the leader's
	// ID in river_leader (see Leader). It must be unique among running
	// nodes; empty lets River generate one.
	NodeID string
	// Concurrency is how many jobs this node works at once; default 10.
	Concurrency int

	// CleanupInterval is how often expired data is removed, and how often
	// audit retention runs; default 10m, at least 1s.
	CleanupInterval time.Duration
	// AuditRetention is how long audit events are kept; 0 keeps them
	// forever (the retention job is then not scheduled).
	AuditRetention time.Duration
	// BatchSize is how many rows one cleanup statement deletes; default
	// 1000.
	BatchSize int

	// RotateKeys is the work of the signing-key rotation job; nil
	// schedules no rotation.
	RotateKeys func(ctx context.Context) error
	// KeyRotationInterval is how often RotateKeys runs; default 1h, at
	// least 1s.
	KeyRotationInterval time.Duration

	// Maintenance are steps run together by one periodic job (e.g. the
	// expiry of stale nodes); none schedules no job.
	Maintenance []Step
	// MaintenanceInterval is how often Maintenance runs; default 1m, at
	// least 1s.
	MaintenanceInterval time.Duration

	// Register, if not nil, adds further workers (with river.AddWorker).
	Register func(w *river.Workers)
	// Now is the clock of the cleanup cut-offs; time.Now if nil.
	Now func() time.Time
	// RetryPolicy is River's backoff between attempts; nil keeps River's
	// (attempt⁴ seconds). Tests shorten it.
	RetryPolicy river.ClientRetryPolicy
	// FetchPollInterval is how often a node polls for jobs when no
	// notification arrives; default River's 1s. Tests shorten it.
	FetchPollInterval time.Duration
}

// Defaults.
const (
	DefaultConcurrency         = 10
	DefaultCleanupInterval     = 10 * time.Minute
	DefaultBatchSize           = 1000
	DefaultKeyRotationInterval = time.Hour
	DefaultMaintenanceInterval = time.Minute
)

// rescueStuckJobsAfter is how long after its start a running job counts as
// abandoned by a dead node and is retried. Workers must time out before
// (River's default JobTimeout is 1 minute; the batch jobs' is
// batchJobTimeout).
const rescueStuckJobsAfter = batchJobTimeout + 5*time.Minute

// stopGrace is how long Stop waits for cancelled jobs to return once its
// context has ended.
const stopGrace = 5 * time.Second

// Health states.
var (
	errNotStarted    = errors.New("job client not started")
	errWaitingSchema = errors.New("waiting for the job queue's schema (River's migrations): run `rampart migrate` or start a node without --no-migrate")
	errStarting      = errors.New("job client starting")
	errStopped       = errors.New("job client stopped")
)

// Jobs is the node's River client.
type Jobs struct {
	o       Options
	log     *slog.Logger
	b       backend
	metrics *metrics
	unsub   func()
	metDone chan struct{}

	health   atomic.Pointer[error]
	stopping atomic.Bool

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	runDone chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// New builds the River client on the store's backend. It does not touch
// the database; Start does. Call Stop when done, even without Start, to
// release River's connections.
func New(o Options) (*Jobs, error) {
	if o.Store == nil {
		return nil, errors.New("jobs: no store")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.CleanupInterval == 0 {
		o.CleanupInterval = DefaultCleanupInterval
	}
	if o.KeyRotationInterval == 0 {
		o.KeyRotationInterval = DefaultKeyRotationInterval
	}
	if o.MaintenanceInterval == 0 {
		o.MaintenanceInterval = DefaultMaintenanceInterval
	}
	for name, d := range map[string]time.Duration{"cleanup": o.CleanupInterval, "key rotation": o.KeyRotationInterval, "maintenance": o.MaintenanceInterval} {
		if d < time.Second {
			return nil, fmt.Errorf("jobs: %s interval %s is below 1s", name, d)
		}
	}
	if o.AuditRetention < 0 {
		return nil, fmt.Errorf("jobs: negative audit retention %s", o.AuditRetention)
	}
	log := o.Logger.With("component", "jobs")
	j := &Jobs{o: o, log: log, metDone: make(chan struct{})}
	j.setHealth(errNotStarted)

	workers := river.NewWorkers()
	river.AddWorker(workers, &cleanupWorker{steps: cleanupSteps(o.Store), batch: o.BatchSize, now: o.Now, log: log})
	river.AddWorker(workers, &auditRetentionWorker{q: o.Store, retention: o.AuditRetention, batch: o.BatchSize, now: o.Now, log: log})
	river.AddWorker(workers, &keyRotationWorker{rotate: o.RotateKeys})
	river.AddWorker(workers, &maintenanceWorker{steps: o.Maintenance})
	if o.Register != nil {
		o.Register(workers)
	}
	longest := o.CleanupInterval
	periodics := []*river.PeriodicJob{periodic(cleanupArgs{}, o.CleanupInterval)}
	if o.AuditRetention > 0 {
		periodics = append(periodics, periodic(auditRetentionArgs{}, o.CleanupInterval))
	}
	if o.RotateKeys != nil {
		periodics = append(periodics, periodic(keyRotationArgs{}, o.KeyRotationInterval))
		longest = max(longest, o.KeyRotationInterval)
	}
	if len(o.Maintenance) > 0 {
		periodics = append(periodics, periodic(maintenanceArgs{}, o.MaintenanceInterval))
		longest = max(longest, o.MaintenanceInterval)
	}
	cfg := &river.Config{
		ID:                o.NodeID,
		Logger:            slog.New(quietInfo{log.Handler()}),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Concurrency}},
		Workers:           workers,
		PeriodicJobs:      periodics,
		RetryPolicy:       o.RetryPolicy,
		FetchPollInterval: o.FetchPollInterval,
		// Completed jobs carry the per-period uniqueness (periodic.go).
		CompletedJobRetentionPeriod: max(24*time.Hour, 2*longest),
		// A job still running this long after it started belonged to a node
		// that died: retry it. Longer than any job's timeout.
		RescueStuckJobsAfter: rescueStuckJobsAfter,
		Hooks:                []rivertype.Hook{&leaderHook{j: j}},
	}
	if o.FetchPollInterval > 0 && o.FetchPollInterval < 100*time.Millisecond {
		cfg.FetchCooldown = o.FetchPollInterval
	}
	b, err := newBackend(context.Background(), o.Store, o.NodeID, cfg)
	if err != nil {
		return nil, err
	}
	j.b = b
	j.metrics = newMetrics(b, log)
	if o.Registerer != nil {
		if err := j.metrics.register(o.Registerer); err != nil {
			b.close()
			return nil, fmt.Errorf("jobs: metrics: %w", err)
		}
	}
	events, unsub := b.subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	j.unsub = unsub
	go func() {
		defer close(j.metDone)
		j.metrics.consume(events)
	}()
	return j, nil
}

func (j *Jobs) setHealth(err error) { j.health.Store(&err) }

// Healthy returns nil while the client runs; otherwise why it does not
// (not started, waiting for River's schema, starting, stopped). It is a
// readiness check.
func (j *Jobs) Healthy() error {
	return *j.health.Load()
}

// Start starts the client in the background and returns at once: it waits
// for the database and River's schema (so a node started with --no-migrate
// becomes healthy once another process migrates), retrying with backoff,
// then starts working jobs and takes part in the leader election. ctx only
// bounds that waiting; the client runs until Stop.
func (j *Jobs) Start(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started {
		return errors.New("jobs: already started")
	}
	if j.stopping.Load() {
		return errors.New("jobs: stopped")
	}
	j.started = true
	runCtx, cancel := context.WithCancel(ctx)
	j.cancel, j.runDone = cancel, make(chan struct{})
	j.setHealth(errStarting)
	go j.run(runCtx)
	return nil
}

// run waits for River's schema and starts the client.
func (j *Jobs) run(ctx context.Context) {
	defer close(j.runDone)
	delay := 100 * time.Millisecond
	waitLogged := false
	for {
		ready, err := j.b.schemaReady(ctx)
		switch {
		case err == nil && ready:
			j.setHealth(errStarting)
			// River stops hard when its start context ends; Stop stops it
			// gracefully instead.
			if err = j.b.start(context.WithoutCancel(ctx)); err == nil {
				j.setHealth(nil)
				j.log.Info("job client started", "node_id", j.o.NodeID)
				go j.watch()
				return
			}
			j.log.Warn("cannot start the job client, retrying", "err", err)
		case err == nil:
			j.setHealth(errWaitingSchema)
			if !waitLogged {
				j.log.Info("waiting for the job queue's schema before starting the job client")
				waitLogged = true
			}
			delay = time.Second
		case ctx.Err() == nil:
			j.log.Warn("cannot read the job queue's schema, retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// watch marks the client unhealthy if it stops without Stop.
func (j *Jobs) watch() {
	<-j.b.stopped()
	if !j.stopping.Load() {
		j.log.Error("job client stopped unexpectedly")
	}
	j.setHealth(errStopped)
}

// Stop stops the client: it stops fetching, lets running jobs finish until
// ctx ends, then cancels them and waits a few seconds more for them to
// return; the client resigns its leadership, if it has it, so another node
// takes over at once. It releases River's connections. Later calls return
// the first call's result.
func (j *Jobs) Stop(ctx context.Context) error {
	j.stopOnce.Do(func() {
		j.stopping.Store(true)
		j.mu.Lock()
		cancel, runDone := j.cancel, j.runDone
		j.mu.Unlock()
		if cancel != nil {
			cancel()
			<-runDone
		}
		err := j.b.stop(ctx, stopGrace)
		j.unsub()
		<-j.metDone
		j.setHealth(errStopped)
		j.stopErr = errors.Join(err, j.b.close())
		if j.stopErr == nil {
			j.log.Info("job client stopped")
		}
	})
	return j.stopErr
}

// Leader returns the node ID of the elected job leader, or "" if no
// leader holds a valid lease. River does not expose whether its own client
// leads, so this reads River's leader table.
func (j *Jobs) Leader(ctx context.Context) (string, error) {
	id, err := j.b.leader(ctx)
	if err != nil {
		return "", fmt.Errorf("jobs: read leader: %w", err)
	}
	return id, nil
}

// Enqueue inserts a job. If q is a transaction of store.WithTx, the job is
// inserted in it: it becomes visible to workers when the transaction
// commits and vanishes if it rolls back (the transactional outbox). Any
// other q (or nil) inserts the job on its own. With UniqueOpts in opts, an
// insert that duplicates an existing job is skipped without error.
func (j *Jobs) Enqueue(ctx context.Context, q store.Queries, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := j.b.insert(ctx, q, args, opts); err != nil {
		return fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// quietInfo logs River's informational messages (client started, job
// counts every few seconds, a job interrupted by shutdown) at debug level:
// the package logs what an operator needs itself. Warnings and errors (a
// job failed, a database error) pass unchanged.
type quietInfo struct{ slog.Handler }

func (h quietInfo) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return h.Handler.Enabled(ctx, l)
}

func (h quietInfo) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietInfo) WithAttrs(as []slog.Attr) slog.Handler { return quietInfo{h.Handler.WithAttrs(as)} }

func (h quietInfo) WithGroup(name string) slog.Handler { return quietInfo{h.Handler.WithGroup(name)} }

// leaderHook observes elections: River starts its periodic enqueuer on the
// node that was just elected leader.
type leaderHook struct {
	river.HookDefaults
	j *Jobs
}

// Start implements rivertype.HookPeriodicJobsStart.
func (h *leaderHook) Start(context.Context, *rivertype.HookPeriodicJobsStartParams) error {
	h.j.metrics.elections.Inc()
	h.j.log.Info("elected job leader: scheduling periodic jobs", "node_id", h.j.o.NodeID)
	return nil
}

var _ rivertype.HookPeriodicJobsStart = (*leaderHook)(nil)
