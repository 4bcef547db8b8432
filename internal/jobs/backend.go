package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/rampartiam/rampart/internal/store"
)

// What a backend's store exposes for River. Only cmd imports the concrete
// backends, so jobs finds these by interface assertion.
type (
	// pgxPooler is the PostgreSQL store.
	pgxPooler interface{ Pool() *pgxpool.Pool }
	// pgxTxer is a PostgreSQL store transaction.
	pgxTxer interface{ PgxTx() pgx.Tx }
	// sqliteJobsDB is the SQLite store.
	sqliteJobsDB interface {
		OpenJobsDB() (*sql.DB, error)
	}
	// sqlTxer is a SQLite store transaction.
	sqlTxer interface{ SQLTx() *sql.Tx }
)

// riverPoolConns bounds River's own PostgreSQL pool: one connection held
// for LISTEN, the rest for fetching, completing, leader election and
// maintenance. Job workers do their work through the store's pool.
const riverPoolConns = 5

// backend is a River client of either driver.
type backend interface {
	start(ctx context.Context) error
	// stop stops gracefully until ctx ends, then cancels running jobs and
	// waits at most grace for them.
	stop(ctx context.Context, grace time.Duration) error
	stopped() <-chan struct{}
	insert(ctx context.Context, q store.Queries, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	// schemaReady reports whether River's migrations are all applied.
	schemaReady(ctx context.Context) (bool, error)
	// countByState returns the number of jobs in the given states.
	countByState(ctx context.Context) (available, running, retryable, scheduled int64, err error)
	// leader returns the ID of the elected leader, "" if none.
	leader(ctx context.Context) (string, error)
	// listJobs returns up to 10000 jobs of a kind, for tests and
	// diagnostics.
	listJobs(ctx context.Context, kind string) ([]*rivertype.JobRow, error)
	// close releases the driver's pool or handle.
	close() error
}

// newBackend builds the River client for the store's backend.
func newBackend(ctx context.Context, st store.Store, nodeID string, cfg *river.Config) (backend, error) {
	switch s := st.(type) {
	case pgxPooler:
		pcfg := s.Pool().Config()
		pcfg.MaxConns, pcfg.MinConns = riverPoolConns, 0
		name := "rampart jobs " + nodeID
		if len(name) > 63 {
			name = name[:63]
		}
		pcfg.ConnConfig.RuntimeParams["application_name"] = name
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: pool: %w", err)
		}
		b, err := newRiverBackend(riverpgxv5.New(pool), cfg, func(q store.Queries) (pgx.Tx, bool) {
			if t, ok := q.(pgxTxer); ok {
				if tx := t.PgxTx(); tx != nil {
					return tx, true
				}
			}
			return nil, false
		}, func(ctx context.Context, query string) rowScanner { return pool.QueryRow(ctx, query) },
			`SELECT leader_id FROM river_leader WHERE expires_at > now()`,
			func() error { pool.Close(); return nil })
		if err != nil {
			pool.Close()
		}
		return b, err
	case sqliteJobsDB:
		db, err := s.OpenJobsDB()
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		b, err := newRiverBackend(riversqlite.New(db), cfg, func(q store.Queries) (*sql.Tx, bool) {
			if t, ok := q.(sqlTxer); ok {
				if tx := t.SQLTx(); tx != nil {
					return tx, true
				}
			}
			return nil, false
		}, func(ctx context.Context, query string) rowScanner { return db.QueryRowContext(ctx, query) },
			`SELECT leader_id FROM river_leader WHERE expires_at > datetime('now', 'subsec')`,
			db.Close)
		if err != nil {
			db.Close()
		}
		return b, err
	}
	return nil, fmt.Errorf("jobs: the %s store offers no River driver", st.Backend())
}

type rowScanner interface{ Scan(dest ...any) error }

// riverBackend is a River client with the accessors for its driver.
type riverBackend[TTx any] struct {
	client    *river.Client[TTx]
	migrator  *rivermigrate.Migrator[TTx]
	txOf      func(store.Queries) (TTx, bool)
	queryRow  func(ctx context.Context, query string) rowScanner
	leaderSQL string
	closeFn   func() error
}

func newRiverBackend[TTx any](d riverdriver.Driver[TTx], cfg *river.Config, txOf func(store.Queries) (TTx, bool),
	queryRow func(context.Context, string) rowScanner, leaderSQL string, closeFn func() error) (*riverBackend[TTx], error) {
	client, err := river.NewClient(d, cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	m, err := rivermigrate.New(d, &rivermigrate.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &riverBackend[TTx]{client: client, migrator: m, txOf: txOf, queryRow: queryRow, leaderSQL: leaderSQL, closeFn: closeFn}, nil
}

func (b *riverBackend[TTx]) start(ctx context.Context) error { return b.client.Start(ctx) }

func (b *riverBackend[TTx]) stop(ctx context.Context, grace time.Duration) error {
	err := b.client.Stop(ctx)
	if err == nil {
		return nil
	}
	// Out of time: cancel the running jobs' contexts and give them (and the
	// leadership release) a short while to return.
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	return errors.Join(err, b.client.StopAndCancel(hard))
}

func (b *riverBackend[TTx]) stopped() <-chan struct{} { return b.client.Stopped() }

func (b *riverBackend[TTx]) insert(ctx context.Context, q store.Queries, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	if q != nil {
		if tx, ok := b.txOf(q); ok {
			return b.client.InsertTx(ctx, tx, args, opts)
		}
	}
	return b.client.Insert(ctx, args, opts)
}

func (b *riverBackend[TTx]) subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return b.client.Subscribe(kinds...)
}

func (b *riverBackend[TTx]) schemaReady(ctx context.Context) (bool, error) {
	res, err := b.migrator.Validate(ctx, nil)
	if err != nil {
		return false, err
	}
	return res.OK, nil
}

func (b *riverBackend[TTx]) countByState(ctx context.Context) (available, running, retryable, scheduled int64, err error) {
	// Four index-only counts on river_job_prioritized_fetching_index (state
	// leads it), skipping the finalized rows that make up most of the table.
	err = b.queryRow(ctx, `SELECT
		(SELECT count(*) FROM river_job WHERE state = 'available'),
		(SELECT count(*) FROM river_job WHERE state = 'running'),
		(SELECT count(*) FROM river_job WHERE state = 'retryable'),
		(SELECT count(*) FROM river_job WHERE state = 'scheduled')`).Scan(&available, &running, &retryable, &scheduled)
	return
}

func (b *riverBackend[TTx]) leader(ctx context.Context) (string, error) {
	var id string
	err := b.queryRow(ctx, b.leaderSQL).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

func (b *riverBackend[TTx]) listJobs(ctx context.Context, kind string) ([]*rivertype.JobRow, error) {
	res, err := b.client.JobList(ctx, river.NewJobListParams().Kinds(kind).First(10000))
	if err != nil {
		return nil, err
	}
	return res.Jobs, nil
}

func (b *riverBackend[TTx]) close() error { return b.closeFn() }
