package sqlmigrate

import (
	"bufio"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/rampartiam/rampart/internal/store"
)

// RecordTable is the table in which Rampart records applied migrations.
const RecordTable = "rampart_schema_migrations"

// gooseTable is goose's own version table.
const gooseTable = "rampart_goose_version"

const createRecordTable = `CREATE TABLE IF NOT EXISTS ` + RecordTable + ` (
	version     BIGINT PRIMARY KEY,
	name        TEXT NOT NULL,
	phase       TEXT NOT NULL,
	app_version TEXT NOT NULL,
	applied_at  TEXT NOT NULL
)`

// Options configure a Migrator.
type Options struct {
	// DB is the database; the migrator takes one connection from it while
	// it holds the lock.
	DB      *sql.DB
	Dialect goose.Dialect
	// FS holds the migration files at its root.
	FS fs.FS
	// Locker serializes migrators across processes.
	Locker lock.SessionLocker
	// AppVersion is recorded with every applied migration.
	AppVersion string
	// IsUndefinedTable reports whether err says a table does not exist.
	IsUndefinedTable func(error) bool
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Migrator implements store.Migrator.
type Migrator struct {
	o     Options
	known []store.Migration
	sql   map[int64]string
	// components are the bundled libraries' schemas migrated after ours:
	// River's, chosen by Dialect.
	components []component
}

var fileName = regexp.MustCompile(`^(\d+)_([a-z0-9_]+)\.sql$`)

// New reads and checks the migration files.
func New(o Options) (*Migrator, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Migrator{o: o, sql: map[int64]string{}}
	entries, err := fs.ReadDir(o.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		parts := fileName.FindStringSubmatch(e.Name())
		if parts == nil {
			return nil, fmt.Errorf("migration file %q: name must be NNNNN_snake_name.sql", e.Name())
		}
		version, _ := strconv.ParseInt(parts[1], 10, 64)
		if version < 1 {
			return nil, fmt.Errorf("migration file %q: version must be at least 1", e.Name())
		}
		if _, dup := m.sql[version]; dup {
			return nil, fmt.Errorf("migration file %q: version %d used twice", e.Name(), version)
		}
		body, err := fs.ReadFile(o.FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		phase, err := parsePhase(string(body))
		if err != nil {
			return nil, fmt.Errorf("migration file %q: %w", e.Name(), err)
		}
		m.sql[version] = string(body)
		m.known = append(m.known, store.Migration{Version: version, Name: parts[2], Phase: phase})
	}
	if len(m.known) == 0 {
		return nil, errors.New("no migrations found")
	}
	slices.SortFunc(m.known, func(a, b store.Migration) int { return cmp.Compare(a.Version, b.Version) })
	rv, err := riverFor(o.Dialect)
	if err != nil {
		return nil, err
	}
	if rv != nil {
		m.components = append(m.components, rv)
	}
	return m, nil
}

// parsePhase reads the mandatory "-- rampart:phase <phase>" line among the
// leading comment lines of a migration.
func parsePhase(body string) (store.Phase, error) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "--") {
			break
		}
		if rest, ok := strings.CutPrefix(line, "-- rampart:phase "); ok {
			switch p := store.Phase(strings.TrimSpace(rest)); p {
			case store.PhaseExpand, store.PhaseContract:
				return p, nil
			default:
				return "", fmt.Errorf("phase %q: must be %q or %q", p, store.PhaseExpand, store.PhaseContract)
			}
		}
	}
	return "", errors.New(`missing "-- rampart:phase expand|contract" line before the first statement`)
}

// Known implements store.Migrator.
func (m *Migrator) Known() []store.Migration { return slices.Clone(m.known) }

// Status implements store.Migrator.
func (m *Migrator) Status(ctx context.Context) (*store.SchemaStatus, error) {
	applied, err := m.applied(ctx)
	if err != nil {
		return nil, err
	}
	st := &store.SchemaStatus{Known: m.Known(), Applied: applied}
	done := map[int64]bool{}
	for _, a := range applied {
		done[a.Version] = true
		if _, ok := m.sql[a.Version]; !ok {
			st.Unknown = append(st.Unknown, a)
		}
	}
	for _, k := range m.known {
		if !done[k.Version] {
			st.Pending = append(st.Pending, k)
		}
	}
	for _, c := range m.components {
		cs, err := m.componentStatus(ctx, c)
		if err != nil {
			return nil, err
		}
		st.Components = append(st.Components, cs)
	}
	return st, nil
}

func (m *Migrator) applied(ctx context.Context) ([]store.Migration, error) {
	rows, err := m.o.DB.QueryContext(ctx,
		`SELECT version, name, phase, app_version, applied_at FROM `+RecordTable+` ORDER BY version`)
	if err != nil {
		if m.o.IsUndefinedTable != nil && m.o.IsUndefinedTable(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	var out []store.Migration
	for rows.Next() {
		var r store.Migration
		var at string
		if err := rows.Scan(&r.Version, &r.Name, &r.Phase, &r.AppVersion, &at); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		r.AppliedAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return out, nil
}

// Up implements store.Migrator: UpAll reporting Rampart's migrations only.
func (m *Migrator) Up(ctx context.Context, progress func(store.Migration, time.Duration)) error {
	return m.UpAll(ctx, func(mg store.Migration, took time.Duration) {
		if mg.Component == "" && progress != nil {
			progress(mg, took)
		}
	})
}

// UpAll implements store.Migrator. Each step of Rampart's migrations takes
// the lock, applies the next pending migration (if another migrator has not
// done so meanwhile) and releases the lock, so progress is reported per
// migration and a waiting migrator proceeds as soon as the one before it
// finishes. Then, under the lock once more, River's migrations are applied
// one per transaction, each checked against River's record inside the
// transaction, so concurrent migrators apply each exactly once.
func (m *Migrator) UpAll(ctx context.Context, progress func(store.Migration, time.Duration)) error {
	if err := m.upOwn(ctx, progress); err != nil {
		return err
	}
	return m.upComponents(ctx, progress)
}

func (m *Migrator) upOwn(ctx context.Context, progress func(store.Migration, time.Duration)) error {
	var gms []*goose.Migration
	byVersion := map[int64]store.Migration{}
	for _, k := range m.known {
		byVersion[k.Version] = k
		gms = append(gms, goose.NewGoMigration(k.Version, &goose.GoFunc{RunTx: m.runTx(k)}, nil))
	}
	p, err := goose.NewProvider(m.o.Dialect, m.o.DB, nil,
		goose.WithGoMigrations(gms...),
		goose.WithDisableGlobalRegistry(true),
		goose.WithTableName(gooseTable),
		goose.WithSessionLocker(m.o.Locker),
		goose.WithSlog(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	for {
		res, err := p.UpByOne(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("apply migration: %w", err)
		}
		if progress != nil && res != nil && res.Source != nil {
			progress(byVersion[res.Source.Version], res.Duration)
		}
	}
}

func (m *Migrator) runTx(k store.Migration) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, m.sql[k.Version]); err != nil {
			return fmt.Errorf("migration %d (%s): %w", k.Version, k.Name, err)
		}
		if _, err := tx.ExecContext(ctx, createRecordTable); err != nil {
			return fmt.Errorf("create %s: %w", RecordTable, err)
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO `+RecordTable+` (version, name, phase, app_version, applied_at) VALUES ($1, $2, $3, $4, $5)`,
			k.Version, k.Name, string(k.Phase), m.o.AppVersion, m.o.Now().UTC().Format(time.RFC3339Nano))
		if err != nil {
			return fmt.Errorf("record migration %d: %w", k.Version, err)
		}
		return nil
	}
}
