package postgres

import "github.com/jackc/pgx/v5"

// PgxTx returns the transaction this Queries runs in when it was obtained
// from WithTx, nil otherwise. The job queue inserts jobs through it, so a
// job commits or rolls back with the change that caused it.
func (q *queries) PgxTx() pgx.Tx {
	if tx, ok := q.db.(pgx.Tx); ok && q.inTx {
		return tx
	}
	return nil
}
