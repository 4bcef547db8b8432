package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/sqlmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

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
	// Path is the database file. Its directory must exist.
	Path string
	// AppVersion is recorded with applied migrations.
	AppVersion string
	// MaxReadConns bounds the read pool; 0 means max(4, GOMAXPROCS).
	MaxReadConns int
	// BusyTimeout is how long a statement waits for a lock; 0 means 10s.
	BusyTimeout time.Duration
}

// Store is the SQLite store. It implements store.Store.
type Store struct {
	*queries
	path     string
	writer   *sql.DB
	reader   *sql.DB
	migrator *sqlmigrate.Migrator
	// subs receive cache invalidations (cluster.go).
	subs store.Subscribers
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file. It does not migrate.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	path, err := filepath.Abs(o.Path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.MaxReadConns == 0 {
		o.MaxReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	pragmas := url.Values{}
	pragmas.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	pragmas.Add("_pragma", "journal_mode(WAL)")
	pragmas.Add("_pragma", "foreign_keys(1)")
	pragmas.Add("_pragma", "synchronous(NORMAL)")
	pragmas.Add("_time_format", "sqlite")
	writerDSN := "file:" + path + "?" + pragmas.Encode() + "&_txlock=immediate"
	readerPragmas := url.Values{}
	readerPragmas.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	readerPragmas.Add("_pragma", "foreign_keys(1)")
	readerPragmas.Add("_pragma", "query_only(1)")
	readerDSN := "file:" + path + "?" + readerPragmas.Encode()

	writer, err := sql.Open("sqlite", writerDSN)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	// Open the file now: WAL mode is persistent, so setting it on the writer
	// first means readers always find the database in WAL mode.
	if err := pingOpening(ctx, writer, o.BusyTimeout); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, mapErr(err))
	}
	reader, err := sql.Open("sqlite", readerDSN)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reader.SetMaxOpenConns(o.MaxReadConns)
	reader.SetMaxIdleConns(o.MaxReadConns)

	sub, _ := fs.Sub(migrationFiles, "migrations")
	m, err := sqlmigrate.New(sqlmigrate.Options{
		DB:               writer,
		Dialect:          goose.DialectSQLite3,
		FS:               sub,
		Locker:           &fileLocker{path: path + ".migrate-lock"},
		AppVersion:       o.AppVersion,
		IsUndefinedTable: func(err error) bool { return strings.Contains(err.Error(), "no such table") },
	})
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s := &Store{path: path, writer: writer, reader: reader, migrator: m}
	s.queries = &queries{s: s, db: countingDB{reader}}
	return s, nil
}

// pingOpening opens the first connection. When several processes open a
// new database file at once, switching it to WAL mode can fail with
// SQLITE_BUSY at once, without honouring the busy timeout; retry that for
// up to the busy timeout.
func pingOpening(ctx context.Context, db *sql.DB, busyTimeout time.Duration) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Backend implements store.Store.
func (s *Store) Backend() string { return "sqlite" }

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// DB returns the writer and reader handles, for metrics.
func (s *Store) DB() (writer, reader *sql.DB) { return s.writer, s.reader }

// Migrator implements store.Store.
func (s *Store) Migrator() store.Migrator { return s.migrator }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	store.CountRoundTrip(ctx)
	if err := s.reader.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return mapErr(err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// WithTx implements store.Store. Transactions begin IMMEDIATE: they take the
// write lock at once, so they never deadlock on an upgrade and need no retry.
// BEGIN, COMMIT and ROLLBACK count as round trips of ctx.
func (s *Store) WithTx(ctx context.Context, fn func(tx store.Queries) error) (err error) {
	store.CountRoundTrip(ctx)
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", mapErr(err))
	}
	defer func() {
		if p := recover(); p != nil {
			store.CountRoundTrip(ctx)
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			store.CountRoundTrip(ctx)
			_ = tx.Rollback()
		}
	}()
	q := &queries{s: s, db: countingDB{tx}, tx: tx, inTx: true}
	if err = fn(q); err != nil {
		return err
	}
	store.CountRoundTrip(ctx)
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", mapErr(err))
	}
	s.subs.Deliver(q.invalidations...)
	return nil
}

// queries runs statements on the reader pool (outside a transaction) or on a
// transaction.
type queries struct {
	s *Store
	// db runs the statements, counting them (countingDB).
	db dbtx
	// tx is the transaction db runs in, if inTx.
	tx   *sql.Tx
	inTx bool
	// invalidations are delivered after the transaction commits.
	invalidations []store.Invalidation
}

type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// countingDB counts every statement it runs in the round-trip counter of
// its context (store.CountRoundTrip).
type countingDB struct{ db dbtx }

func (c countingDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	store.CountRoundTrip(ctx)
	return c.db.ExecContext(ctx, query, args...)
}

func (c countingDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	store.CountRoundTrip(ctx)
	return c.db.QueryContext(ctx, query, args...)
}

func (c countingDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	store.CountRoundTrip(ctx)
	return c.db.QueryRowContext(ctx, query, args...)
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

// mapErr maps SQLite errors to the store's sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrAlreadyExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// A referenced row does not exist (in this instance).
			return fmt.Errorf("%w: %v", store.ErrNotFound, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
			return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
			return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
		}
	}
	return err
}

// micros stores times as unix microseconds, PostgreSQL's precision.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// fileLocker serializes migrators with an exclusive flock(2) on a file beside
// the database. The kernel releases it when the process dies, so a crashed
// migrator never leaves a stale lock.
// Its mutex keeps two migrators of one process apart as well.
type fileLocker struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func (l *fileLocker) SessionLock(ctx context.Context, _ *sql.Conn) error {
	l.mu.Lock()
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		l.mu.Unlock()
		return fmt.Errorf("open migration lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l.f = f
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			l.mu.Unlock()
			return fmt.Errorf("migration lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			l.mu.Unlock()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *fileLocker) SessionUnlock(context.Context, *sql.Conn) error {
	if l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
	l.mu.Unlock()
	return err
}
