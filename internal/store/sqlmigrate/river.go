package sqlmigrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/rampartiam/rampart/internal/store"
)

// RiverComponent is the Component name of River's migrations.
const RiverComponent = "river"

// riverTable is River's own record of its applied migrations.
const riverTable = "river_migration"

// component migrates the schema of a bundled library that versions its own
// tables. Its methods run on a connection that holds the migration lock.
type component interface {
	name() string
	known() []store.Migration
	// upOne applies the lowest pending migration in one transaction on
	// conn and returns it, or nil if none is pending.
	upOne(ctx context.Context, conn *sql.Conn) (*store.Migration, error)
}

// riverFor returns the River schema component for the dialect, or nil for a
// dialect River does not support.
func riverFor(d goose.Dialect) (component, error) {
	switch d {
	case goose.DialectPostgres:
		return newRiver(riverpgxv5.New(nil), pgxTx)
	case goose.DialectSQLite3:
		return newRiver(riversqlite.New(nil), sqlTx)
	}
	return nil, nil
}

// river runs rivermigrate one version at a time on a transaction of the
// locked connection (rivermigrate's own Migrate would take connections of
// its own and so run outside our lock; on SQLite, whose writer has a single
// connection, it would wait for ours forever).
type river[TTx any] struct {
	m     *rivermigrate.Migrator[TTx]
	inTx  func(ctx context.Context, conn *sql.Conn, fn func(tx TTx) error) error
	model []store.Migration
}

func newRiver[TTx any](d riverdriver.Driver[TTx], inTx func(context.Context, *sql.Conn, func(TTx) error) error) (component, error) {
	m, err := rivermigrate.New(d, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("river migrations: %w", err)
	}
	r := &river[TTx]{m: m, inTx: inTx}
	for _, v := range m.AllVersions() {
		r.model = append(r.model, riverMigration(v.Version, v.Name))
	}
	return r, nil
}

func riverMigration(version int, name string) store.Migration {
	return store.Migration{Component: RiverComponent, Version: int64(version), Name: strings.ReplaceAll(name, " ", "_")}
}

func (r *river[TTx]) name() string             { return RiverComponent }
func (r *river[TTx]) known() []store.Migration { return slices.Clone(r.model) }

func (r *river[TTx]) upOne(ctx context.Context, conn *sql.Conn) (*store.Migration, error) {
	var applied *store.Migration
	err := r.inTx(ctx, conn, func(tx TTx) error {
		// MigrateTx is deprecated only because several migrations in one
		// transaction may not mix; MaxSteps 1 runs exactly one, as Migrate
		// would, but on our locked connection.
		//lint:ignore SA1019 one migration per transaction, see above
		res, err := r.m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
		if err != nil {
			return err
		}
		if len(res.Versions) > 0 {
			v := riverMigration(res.Versions[0].Version, res.Versions[0].Name)
			applied = &v
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("river migration: %w", err)
	}
	return applied, nil
}

// pgxTx runs fn in a pgx transaction on the pgx connection under conn.
func pgxTx(ctx context.Context, conn *sql.Conn, fn func(pgx.Tx) error) error {
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("river migrations need a pgx connection, got %T", dc)
		}
		return pgx.BeginFunc(ctx, sc.Conn(), fn)
	})
}

// sqlTx runs fn in a database/sql transaction on conn.
func sqlTx(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Commit()
}

// upComponents applies the pending migrations of every component under the
// migration lock, reporting each to progress.
func (m *Migrator) upComponents(ctx context.Context, progress func(store.Migration, time.Duration)) (err error) {
	if len(m.components) == 0 {
		return nil
	}
	conn, err := m.o.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration connection: %w", err)
	}
	defer conn.Close()
	if err := m.o.Locker.SessionLock(ctx, conn); err != nil {
		return err
	}
	defer func() {
		if uerr := m.o.Locker.SessionUnlock(context.WithoutCancel(ctx), conn); uerr != nil && err == nil {
			err = uerr
		}
	}()
	for _, c := range m.components {
		for {
			start := time.Now()
			applied, err := c.upOne(ctx, conn)
			if err != nil {
				return err
			}
			if applied == nil {
				break
			}
			if progress != nil {
				progress(*applied, time.Since(start))
			}
		}
	}
	return nil
}

// componentStatus reads the applied migrations of c. River records them in
// river_migration; a missing table means none.
func (m *Migrator) componentStatus(ctx context.Context, c component) (store.ComponentStatus, error) {
	st := store.ComponentStatus{Name: c.name()}
	rows, err := m.o.DB.QueryContext(ctx, `SELECT version, created_at FROM `+riverTable+` ORDER BY version`)
	if err != nil {
		if m.o.IsUndefinedTable != nil && m.o.IsUndefinedTable(err) {
			st.Pending = c.known()
			return st, nil
		}
		return st, fmt.Errorf("read %s migrations: %w", c.name(), err)
	}
	defer rows.Close()
	known := map[int64]store.Migration{}
	for _, k := range c.known() {
		known[k.Version] = k
	}
	done := map[int64]bool{}
	for rows.Next() {
		var version int64
		var at any
		if err := rows.Scan(&version, &at); err != nil {
			return st, fmt.Errorf("read %s migrations: %w", c.name(), err)
		}
		done[version] = true
		a, ok := known[version]
		if !ok {
			a = store.Migration{Component: c.name(), Version: version}
		}
		a.AppliedAt = parseTime(at)
		if ok {
			st.Applied = append(st.Applied, a)
		} else {
			st.Unknown = append(st.Unknown, a)
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("read %s migrations: %w", c.name(), err)
	}
	for _, k := range c.known() {
		if !done[k.Version] {
			st.Pending = append(st.Pending, k)
		}
	}
	return st, nil
}

// parseTime reads a timestamp as the driver returns it: a time.Time
// (PostgreSQL) or SQLite's text form.
func parseTime(v any) time.Time {
	switch v := v.(type) {
	case time.Time:
		return v.UTC()
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC()
			}
		}
	case []byte:
		return parseTime(string(v))
	}
	return time.Time{}
}
