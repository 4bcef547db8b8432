package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/sqlmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID is the advisory lock key that serializes migrators
// (the first eight bytes of "rampart!" read as an integer).
const migrationLockID int64 = 0x72616d7061727421

// Migrations returns the migrations this binary ships for the backend.
func Migrations() ([]store.Migration, error) {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	m, err := sqlmigrate.New(sqlmigrate.Options{FS: sub})
	if err != nil {
		return nil, err
	}
	return m.Known(), nil
}

// Options configure Open.
type Options struct {
	// URL is a postgres:// connection URL.
	URL string
	// AppVersion is recorded with applied migrations.
	AppVersion string
	// MaxConns bounds the pool; 0 keeps pgx's default (max(4, CPUs)).
	MaxConns int32
	// ConnectTimeout bounds each connection attempt; 0 means no limit.
	ConnectTimeout time.Duration
}

// Store is the PostgreSQL store. It implements store.Store.
type Store struct {
	*queries
	pool     *pgxpool.Pool
	sqlDB    *sql.DB
	migrator *sqlmigrate.Migrator
	// subs receive cache invalidations (cluster.go).
	subs store.Subscribers
	// origin tags this handle's NOTIFY payloads (a random ID).
	origin string
}

var _ store.Store = (*Store)(nil)

// Open parses the URL and creates the pool. It does not wait for the
// database: connections are made on demand, so a node can start while the
// database is down and recover when it returns.
func Open(ctx context.Context, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: invalid database URL: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	if cfg.ConnConfig.Tracer == nil {
		cfg.ConnConfig.Tracer = roundTripTracer{}
	} else {
		cfg.ConnConfig.Tracer = multitracer.New(cfg.ConnConfig.Tracer, roundTripTracer{})
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "rampart"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	sub, _ := fs.Sub(migrationFiles, "migrations")
	m, err := sqlmigrate.New(sqlmigrate.Options{
		DB:         sqlDB,
		Dialect:    goose.DialectPostgres,
		FS:         sub,
		Locker:     advisoryLocker{},
		AppVersion: o.AppVersion,
		IsUndefinedTable: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.Code == "42P01"
		},
	})
	if err != nil {
		sqlDB.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, sqlDB: sqlDB, migrator: m, origin: iam.NewID()}
	s.queries = &queries{s: s, db: pool}
	return s, nil
}

// Backend implements store.Store.
func (s *Store) Backend() string { return "postgres" }

// Pool returns the connection pool, for metrics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrator implements store.Store.
func (s *Store) Migrator() store.Migrator { return s.migrator }

// Ping implements store.Store: one round trip on a pooled connection.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", mapErr(err))
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	err := s.sqlDB.Close()
	s.pool.Close()
	return err
}

// maxTxAttempts bounds retries of transactions that lost a serialization
// race or a deadlock.
const maxTxAttempts = 4

// WithTx implements store.Store.
func (s *Store) WithTx(ctx context.Context, fn func(tx store.Queries) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = s.tryTx(ctx, fn)
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

func (s *Store) tryTx(ctx context.Context, fn func(tx store.Queries) error) (err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", mapErr(err))
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	q := &queries{s: s, db: tx, inTx: true}
	if err = fn(q); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", mapErr(err))
	}
	s.subs.Deliver(q.invalidations...)
	return nil
}

// queries runs statements on the pool (outside a transaction) or on a
// transaction.
type queries struct {
	s    *Store
	db   dbtx
	inTx bool
	// invalidations are delivered locally after the transaction commits.
	invalidations []store.Invalidation
}

type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// write runs fn in the current transaction, or in a new one.
func write[T any](ctx context.Context, q *queries, fn func(q *queries) (T, error)) (T, error) {
	if q.inTx {
		return fn(q)
	}
	var out T
	err := q.s.WithTx(ctx, func(tx store.Queries) error {
		var err error
		out, err = fn(tx.(*queries))
		return err
	})
	return out, err
}

// roundTripTracer counts every statement, batch and COPY sent on a pool
// connection in the round-trip counter of its context
// (store.CountRoundTrip); pgx sends BEGIN, COMMIT and ROLLBACK as
// statements, so they count too.
type roundTripTracer struct{}

func (roundTripTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	store.CountRoundTrip(ctx)
	return ctx
}

func (roundTripTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (roundTripTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	store.CountRoundTrip(ctx)
	return ctx
}

func (roundTripTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (roundTripTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (roundTripTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	store.CountRoundTrip(ctx)
	return ctx
}

func (roundTripTracer) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// retryable reports whether a transaction may succeed if run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// mapErr maps pgx errors to the store's sentinels, keeping the original in
// the chain for logs and for retryable().
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return errors.Join(store.ErrAlreadyExists, err)
		case pe.Code == "23503":
			// A referenced row does not exist (in this instance).
			return errors.Join(store.ErrNotFound, err)
		case pe.Code == "40001" || pe.Code == "40P01":
			return errors.Join(store.ErrConflict, err)
		case pe.Code[:2] == "08" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300":
			return errors.Join(store.ErrUnavailable, err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || errors.Is(err, net.ErrClosed) {
		return errors.Join(store.ErrUnavailable, err)
	}
	return err
}

// advisoryLocker serializes migrators with a session-level advisory lock.
// pg_advisory_lock blocks until the holder releases it, so a waiting
// migrator continues the moment the previous one is done; if the holder's
// session dies, PostgreSQL releases the lock with it.
type advisoryLocker struct{}

func (advisoryLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	return nil
}

func (advisoryLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, migrationLockID); err != nil {
		return fmt.Errorf("migration unlock: %w", err)
	}
	return nil
}
