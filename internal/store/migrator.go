package store

import (
	"context"
	"fmt"
	"time"

	"github.com/rampartiam/rampart/internal/buildinfo"
)

// Phase says how a migration relates to binaries that predate it.
type Phase string

const (
	// PhaseExpand migrations keep older binaries of the same major version
	// working (new tables, nullable columns, new indexes).
	PhaseExpand Phase = "expand"
	// PhaseContract migrations need every older binary gone (dropping or
	// renaming what they use).
	PhaseContract Phase = "contract"
)

// Migration describes one schema migration known to a binary or recorded in
// a database.
type Migration struct {
	// Component is empty for Rampart's own migrations. Otherwise it names a
	// bundled library that versions its own tables ("river": the job
	// queue); Version is then that library's number, independent of
	// Rampart's, and Phase is empty.
	Component string
	Version   int64
	Name      string
	Phase     Phase
	// AppVersion is the Rampart version that applied it (recorded only).
	AppVersion string
	AppliedAt  time.Time
}

// SchemaStatus compares the database's schema with what the binary knows.
type SchemaStatus struct {
	// Known is every migration this binary ships, in version order.
	Known []Migration
	// Applied is every migration recorded in the database, in version order.
	Applied []Migration
	// Pending are known migrations not yet applied.
	Pending []Migration
	// Unknown are applied migrations this binary does not know (applied by a
	// newer binary).
	Unknown []Migration
	// Components are the schemas of bundled libraries (River's job queue),
	// migrated by Up after Rampart's own. They have their own version
	// numbers, so Known, Applied, Pending, Unknown, Current, Required and
	// CheckCompatible ignore them.
	Components []ComponentStatus
}

// ComponentStatus compares the schema of a bundled library with what the
// binary ships. Its migrations carry the component's name.
type ComponentStatus struct {
	// Name is the component, e.g. "river".
	Name string
	// Applied, Pending and Unknown are as in SchemaStatus; AppVersion is
	// empty (the library records no such thing).
	Applied, Pending, Unknown []Migration
}

// Current returns the highest applied version, 0 if none.
func (s *SchemaStatus) Current() int64 {
	if len(s.Applied) == 0 {
		return 0
	}
	return s.Applied[len(s.Applied)-1].Version
}

// Required returns the highest version this binary knows.
func (s *SchemaStatus) Required() int64 {
	if len(s.Known) == 0 {
		return 0
	}
	return s.Known[len(s.Known)-1].Version
}

// Migrator applies and inspects a backend's schema migrations.
type Migrator interface {
	// Known returns the migrations this binary ships, in version order.
	Known() []Migration
	// Status reads the applied migrations.
	Status(ctx context.Context) (*SchemaStatus, error)
	// Up applies every pending migration, one at a time, each in its own
	// transaction together with its record, under a database-wide lock:
	// concurrent callers (other processes included) wait, then find the work
	// done. Rampart's migrations come first, then those of the bundled
	// components (River's job queue), under the same lock. progress, if
	// non-nil, is called after each applied Rampart migration.
	Up(ctx context.Context, progress func(m Migration, took time.Duration)) error
	// UpAll is Up that also reports the applied migrations of components
	// (Migration.Component set) to progress.
	UpAll(ctx context.Context, progress func(m Migration, took time.Duration)) error
}

// IncompatibleSchemaError says that the database was migrated by a binary
// this one cannot work beside.
type IncompatibleSchemaError struct {
	Migration  Migration
	AppVersion string
	Reason     string
}

func (e *IncompatibleSchemaError) Error() string {
	return fmt.Sprintf("the database schema has migration %d (%s, %s, applied by rampart %s) that this binary (rampart %s) does not know: %s",
		e.Migration.Version, e.Migration.Name, e.Migration.Phase, e.Migration.AppVersion, e.AppVersion, e.Reason)
}

// CheckCompatible reports whether a binary of appVersion may serve on this
// schema. Migrations it does not know are fine only while they are all
// expand migrations applied by the same major version: anything else
// returns an *IncompatibleSchemaError. Pending migrations are not an
// incompatibility (the schema is behind, not ahead).
func (s *SchemaStatus) CheckCompatible(appVersion string) error {
	major := buildinfo.Major(appVersion)
	for _, m := range s.Unknown {
		switch {
		case buildinfo.Major(m.AppVersion) != major:
			return &IncompatibleSchemaError{Migration: m, AppVersion: appVersion,
				Reason: "it belongs to a different major version; run a binary of that version"}
		case m.Phase != PhaseExpand:
			return &IncompatibleSchemaError{Migration: m, AppVersion: appVersion,
				Reason: "it is a contract migration that requires every older binary to be gone; upgrade this node"}
		}
	}
	return nil
}
