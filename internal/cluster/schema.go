package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampartiam/rampart/internal/store"
)

// SchemaGate tracks whether the database schema suits this binary: every
// migration it knows is applied, and any it does not know (applied by a
// newer binary during a rolling upgrade) is an expand migration of the same
// major version. Its Check is a readiness check; Watch keeps it current.
type SchemaGate struct {
	migrator   store.Migrator
	appVersion string
	log        *slog.Logger
	state      atomic.Pointer[gateState]

	current, required, pending, compatible prometheus.Gauge
}

type gateState struct {
	status *store.SchemaStatus
	err    error // nil when the node may serve
}

// ErrSchemaUnknown is the readiness error before the schema was first read.
var ErrSchemaUnknown = errors.New("schema not checked yet")

// NewSchemaGate returns a gate; reg, if not nil, receives its metrics.
func NewSchemaGate(m store.Migrator, appVersion string, log *slog.Logger, reg prometheus.Registerer) *SchemaGate {
	g := &SchemaGate{
		migrator: m, appVersion: appVersion, log: log,
		current:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "rampart_schema_version", Help: "Highest migration version applied to the database."}),
		required:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "rampart_schema_required_version", Help: "Highest migration version this binary knows."}),
		pending:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "rampart_schema_pending_migrations", Help: "Known migrations not yet applied."}),
		compatible: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rampart_schema_compatible", Help: "1 if this binary may serve on the database schema, else 0."}),
	}
	if known := m.Known(); len(known) > 0 {
		g.required.Set(float64(known[len(known)-1].Version))
	}
	if reg != nil {
		reg.MustRegister(g.current, g.required, g.pending, g.compatible)
	}
	return g
}

// Refresh reads the schema status. It returns the status, and an
// *store.IncompatibleSchemaError if this binary must not serve on it. A
// schema that is merely behind (pending migrations) is not an error here,
// but keeps Check failing until it is migrated.
func (g *SchemaGate) Refresh(ctx context.Context) (*store.SchemaStatus, error) {
	st, err := g.migrator.Status(ctx)
	if err != nil {
		// Keep the last verdict: the database check reports outages.
		return nil, fmt.Errorf("read schema status: %w", err)
	}
	g.current.Set(float64(st.Current()))
	g.pending.Set(float64(len(st.Pending)))
	incompatible := st.CheckCompatible(g.appVersion)
	verdict := incompatible
	if verdict == nil && len(st.Pending) > 0 {
		verdict = fmt.Errorf("the database schema is at version %d but this binary needs %d (%d pending migrations): run `rampart migrate` or start without --no-migrate",
			st.Current(), st.Required(), len(st.Pending))
	}
	prev := g.state.Swap(&gateState{status: st, err: verdict})
	if verdict == nil {
		g.compatible.Set(1)
	} else {
		g.compatible.Set(0)
	}
	switch {
	case verdict != nil && (prev == nil || prev.err == nil || prev.err.Error() != verdict.Error()):
		g.log.Warn("schema not ready for this binary", "reason", verdict.Error())
	case verdict == nil && prev != nil && prev.err != nil:
		g.log.Info("schema ready", "version", st.Current())
	}
	return st, incompatible
}

// Check is the readiness check: nil once the schema suits this binary.
func (g *SchemaGate) Check(context.Context) error {
	s := g.state.Load()
	if s == nil {
		return ErrSchemaUnknown
	}
	return s.err
}

// Watch refreshes the gate every interval until ctx ends, so a node notices
// when another node migrates (it turns ready) or contracts the schema under
// it (it turns unready).
func (g *SchemaGate) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := g.Refresh(ctx); err != nil && ctx.Err() == nil {
				g.log.Debug("schema refresh failed", "err", err)
			}
		}
	}
}

// WaitForDatabase pings the store until it answers or ctx ends, backing off
// from 100 ms to 5 s between attempts and logging each failure, so a node
// started before its database waits instead of crash-looping.
func WaitForDatabase(ctx context.Context, s store.Store, log *slog.Logger) error {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.Ping(pctx)
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info("database reachable", "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("database unreachable, retrying", "err", err, "attempt", attempt, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}
