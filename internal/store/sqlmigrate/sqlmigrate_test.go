package sqlmigrate_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/sqlmigrate"
)

type mutexLocker struct{ mu sync.Mutex }

func (l *mutexLocker) SessionLock(context.Context, *sql.Conn) error   { l.mu.Lock(); return nil }
func (l *mutexLocker) SessionUnlock(context.Context, *sql.Conn) error { l.mu.Unlock(); return nil }

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newMigrator(t *testing.T, db *sql.DB, files fstest.MapFS, appVersion string) *sqlmigrate.Migrator {
	t.Helper()
	m, err := sqlmigrate.New(sqlmigrate.Options{
		DB: db, Dialect: goose.DialectSQLite3, FS: files, Locker: &mutexLocker{}, AppVersion: appVersion,
		IsUndefinedTable: func(err error) bool { return strings.Contains(err.Error(), "no such table") },
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func file(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }

var v1Files = fstest.MapFS{
	"00001_one.sql": file("-- rampart:phase expand\nCREATE TABLE one (id INTEGER);\nCREATE TABLE one_b (id INTEGER);"),
}

func TestFileChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"no phase", fstest.MapFS{"00001_a.sql": file("CREATE TABLE a (id INTEGER);")}, "missing"},
		{"phase after statement", fstest.MapFS{"00001_a.sql": file("CREATE TABLE a (id INTEGER);\n-- rampart:phase expand")}, "missing"},
		{"bad phase", fstest.MapFS{"00001_a.sql": file("-- rampart:phase sideways\nSELECT 1;")}, "sideways"},
		{"bad name", fstest.MapFS{"1-a.sql": file("-- rampart:phase expand\nSELECT 1;")}, "name must be"},
		{"version zero", fstest.MapFS{"00000_a.sql": file("-- rampart:phase expand\nSELECT 1;")}, "at least 1"},
		{"duplicate version", fstest.MapFS{"00001_a.sql": file("-- rampart:phase expand\n"), "001_b.sql": file("-- rampart:phase expand\n")}, "used twice"},
		{"empty", fstest.MapFS{}, "no migrations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sqlmigrate.New(sqlmigrate.Options{FS: tc.files})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestFailedMigrationLeavesNoTrace(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	files := fstest.MapFS{
		"00001_one.sql": v1Files["00001_one.sql"],
		"00002_bad.sql": file("-- rampart:phase expand\nCREATE TABLE two (id INTEGER);\nTHIS IS NOT SQL;"),
	}
	m := newMigrator(t, db, files, "v1.0.0")
	if err := m.Up(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "migration 2 (bad)") {
		t.Fatalf("Up = %v, want an error naming migration 2", err)
	}
	st, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Current() != 1 || len(st.Pending) != 1 {
		t.Fatalf("current %d pending %v, want 1 and [2]", st.Current(), st.Pending)
	}
	// The failed migration's first statement was rolled back with it.
	if _, err := db.Exec(`SELECT * FROM two`); err == nil {
		t.Fatal("table of the failed migration exists")
	}
}

// TestOlderBinaryBesideNewerSchema is the zero-downtime contract: an older
// binary sees migrations it does not know, and may keep serving only while
// they are expand migrations of its own major version.
func TestOlderBinaryBesideNewerSchema(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		newer      string
		newVersion string
		wantErr    string
	}{
		{"expand same major", "-- rampart:phase expand\nCREATE TABLE two (id INTEGER);", "v1.1.0", ""},
		{"contract same major", "-- rampart:phase contract\nDROP TABLE one_b;", "v1.1.0", "contract migration"},
		{"expand next major", "-- rampart:phase expand\nCREATE TABLE two (id INTEGER);", "v2.0.0", "different major version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t)
			old := newMigrator(t, db, v1Files, "v1.0.0")
			if err := old.Up(t.Context(), nil); err != nil {
				t.Fatal(err)
			}
			newer := newMigrator(t, db, fstest.MapFS{"00001_one.sql": v1Files["00001_one.sql"], "00002_two.sql": file(tc.newer)}, tc.newVersion)
			var progressed []store.Migration
			if err := newer.Up(t.Context(), func(m store.Migration, _ time.Duration) { progressed = append(progressed, m) }); err != nil {
				t.Fatal(err)
			}
			if len(progressed) != 1 || progressed[0].Version != 2 {
				t.Fatalf("newer binary applied %v, want only migration 2", progressed)
			}
			// The old binary's Up is a no-op, its status names the unknown migration.
			if err := old.Up(t.Context(), nil); err != nil {
				t.Fatalf("old binary Up beside newer schema: %v", err)
			}
			st, err := old.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Pending) != 0 || len(st.Unknown) != 1 || st.Unknown[0].AppVersion != tc.newVersion {
				t.Fatalf("status pending %v unknown %v", st.Pending, st.Unknown)
			}
			err = st.CheckCompatible("v1.0.0")
			var ie *store.IncompatibleSchemaError
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("CheckCompatible = %v, want compatible", err)
			case tc.wantErr != "" && (!errors.As(err, &ie) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("CheckCompatible = %v, want %q", err, tc.wantErr)
			}
			// The newer binary is always compatible with its own schema.
			stNew, err := newer.Status(t.Context())
			if err != nil || stNew.CheckCompatible(tc.newVersion) != nil || len(stNew.Unknown) != 0 {
				t.Fatalf("newer status %v %v", stNew, err)
			}
		})
	}
}

// TestRiverSchema: Up applies River's migrations after ours without
// reporting them; UpAll reports them with their component; Status lists them
// apart from Rampart's numbering.
func TestRiverSchema(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	m := newMigrator(t, db, v1Files, "v1.0.0")
	var reported []store.Migration
	if err := m.Up(t.Context(), func(mg store.Migration, _ time.Duration) { reported = append(reported, mg) }); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 1 || reported[0].Component != "" || reported[0].Version != 1 {
		t.Fatalf("Up reported %+v, want only Rampart's migration 1", reported)
	}
	st, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Current() != 1 || st.Required() != 1 || len(st.Applied) != 1 || len(st.Components) != 1 {
		t.Fatalf("status %+v", st)
	}
	rs := st.Components[0]
	if rs.Name != sqlmigrate.RiverComponent || len(rs.Applied) == 0 || len(rs.Pending) != 0 || len(rs.Unknown) != 0 {
		t.Fatalf("river status %+v", rs)
	}
	for i, a := range rs.Applied {
		if a.Component != sqlmigrate.RiverComponent || a.Version != int64(i+1) || a.Name == "" || a.AppliedAt.IsZero() {
			t.Errorf("river applied[%d] = %+v", i, a)
		}
	}
	if _, err := db.Exec(`SELECT count(*) FROM river_job`); err != nil {
		t.Fatalf("river_job: %v", err)
	}
	reported = nil
	if err := m.UpAll(t.Context(), func(mg store.Migration, _ time.Duration) { reported = append(reported, mg) }); err != nil || len(reported) != 0 {
		t.Fatalf("second UpAll: %v, reported %+v", err, reported)
	}

	// A fresh database: UpAll reports River's migrations, after ours.
	m2 := newMigrator(t, openDB(t), v1Files, "v1.0.0")
	reported = nil
	if err := m2.UpAll(t.Context(), func(mg store.Migration, _ time.Duration) { reported = append(reported, mg) }); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 1+len(rs.Applied) || reported[0].Component != "" {
		t.Fatalf("UpAll reported %+v", reported)
	}
	for i, mg := range reported[1:] {
		if mg.Component != sqlmigrate.RiverComponent || mg.Version != int64(i+1) {
			t.Errorf("reported[%d] = %+v", i+1, mg)
		}
	}
}

// TestRiverSchemaConcurrent: migrators on separate handles sharing one lock
// apply each of River's migrations exactly once.
func TestRiverSchemaConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "m.db")
	lock := &mutexLocker{}
	const n = 4
	migrators := make([]*sqlmigrate.Migrator, n)
	for i := range migrators {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		// Open the connections one after another: switching a new file to WAL
		// from several connections at once answers SQLITE_BUSY without
		// waiting (sqlite.Open retries that); the race under test is the
		// migration, not the open.
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		m, err := sqlmigrate.New(sqlmigrate.Options{
			DB: db, Dialect: goose.DialectSQLite3, FS: v1Files, Locker: lock, AppVersion: "v1.0.0",
			IsUndefinedTable: func(err error) bool { return strings.Contains(err.Error(), "no such table") },
		})
		if err != nil {
			t.Fatal(err)
		}
		migrators[i] = m
	}
	var mu sync.Mutex
	applied := map[string]int{}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, m := range migrators {
		wg.Go(func() {
			errs[i] = m.UpAll(t.Context(), func(mg store.Migration, _ time.Duration) {
				mu.Lock()
				applied[mg.Component+"/"+mg.Name]++
				mu.Unlock()
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	st, err := migrators[0].Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := 1 + len(st.Components[0].Applied)
	if len(applied) != want || len(st.Components[0].Pending) != 0 {
		t.Fatalf("applied %v, want %d distinct migrations; river status %+v", applied, want, st.Components[0])
	}
	for k, c := range applied {
		if c != 1 {
			t.Errorf("%s applied %d times", k, c)
		}
	}
}
