package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
)

// OpenJobsDB opens a new handle on the database file for River, the job
// queue. The caller owns it and must close it.
//
// River gets a handle of its own, not the store's writer: its background
// loops (fetching, leader election, the polled notifications every 50 ms,
// completions) would otherwise queue on the writer's single connection
// ahead of request transactions. Like the writer, the handle has one
// connection (River's advice for SQLite: its internal operations run in
// parallel and SQLite allows one writer), WAL, the store's busy timeout, and
// _txlock=immediate: River's transactions take the write lock when they
// begin, so one never starts as a reader and then fails to upgrade while a
// store transaction writes (a deferred transaction whose snapshot went
// stale gets SQLITE_BUSY at once, without waiting). Writers of both handles
// thus simply wait their turn for up to the busy timeout.
func (s *Store) OpenJobsDB() (*sql.DB, error) {
	var busyMS int64
	if err := s.writer.QueryRowContext(context.Background(), `PRAGMA busy_timeout`).Scan(&busyMS); err != nil {
		return nil, fmt.Errorf("sqlite: read busy timeout: %w", mapErr(err))
	}
	pragmas := url.Values{}
	pragmas.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyMS))
	pragmas.Add("_pragma", "journal_mode(WAL)")
	pragmas.Add("_pragma", "synchronous(NORMAL)")
	db, err := sql.Open("sqlite", "file:"+s.path+"?"+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open jobs handle: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// SQLTx returns the transaction this Queries runs in when it was obtained
// from WithTx, nil otherwise. The job queue inserts jobs through it, so a
// job commits or rolls back with the change that caused it.
func (q *queries) SQLTx() *sql.Tx {
	if q.inTx {
		return q.tx
	}
	return nil
}
