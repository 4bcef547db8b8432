package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/rampartiam/rampart/internal/buildinfo"
	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/config"
	"github.com/rampartiam/rampart/internal/server"
	"github.com/rampartiam/rampart/internal/store"
)

// schemaWatchInterval is how often a running node re-reads the schema
// status, to notice migrations applied by other nodes.
const schemaWatchInterval = 2 * time.Second

func newStartCmd(env *cliEnv) *cobra.Command {
	var noMigrate bool
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Migrate the database (unless --no-migrate) and serve",
		Long: `Start a Rampart node.

The node listens at once (/debug/healthz answers), waits for the database
with backoff if it is unreachable, applies pending migrations under a lock
unless --no-migrate is given, and reports ready on /debug/ready once the
schema suits this binary. SIGTERM or SIGINT turns it unready, drains
in-flight requests (shutdown.drain-timeout) and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			return start(cmd.Context(), cfg, env, !noMigrate)
		},
	}
	cmd.Flags().BoolVar(&noMigrate, "no-migrate", false, "do not apply migrations; stay unready until another process (rampart migrate) has applied them")
	return cmd
}

func start(ctx context.Context, cfg *config.Config, env *cliEnv, migrate bool) error {
	log := newLogger(cfg, env.stderr)
	reg := prometheus.NewRegistry()
	// The keyring encrypts secrets at rest; services that store secrets take it.
	if _, err := loadKeyring(cfg, log); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, reg)
	if err != nil {
		return err
	}
	defer st.Close()

	gate := cluster.NewSchemaGate(st.Migrator(), buildinfo.Version, log, reg)
	srv := server.New(server.Options{
		Addr:         cfg.HTTPAddr,
		DrainTimeout: cfg.Shutdown.DrainTimeout,
		Logger:       log,
		Registry:     reg,
		Version:      buildinfo.Version,
		Checks: []server.Check{
			{Name: "database", Fn: st.Ping},
			{Name: "schema", Fn: gate.Check},
		},
	})
	if err := srv.Listen(); err != nil {
		return usageError("cannot listen on %s: %v; set --http-addr (RAMPART_HTTP_ADDR) to a free address", cfg.HTTPAddr, errors.Unwrap(err))
	}
	log.Info("rampart starting",
		"version", buildinfo.Version,
		"listen", srv.Addr().String(),
		"external_url", cfg.ResolvedExternalURL(),
		"database", cfg.RedactedDatabase(),
		"ready_url", cfg.ResolvedExternalURL()+"/debug/ready",
	)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fatal := make(chan error, 1)
	go func() {
		if err := prepare(ctx, st, gate, log, migrate); err != nil && ctx.Err() == nil {
			fatal <- err
			cancel()
		}
	}()
	serveErr := srv.Serve(ctx)
	cancel()
	select {
	case err := <-fatal:
		return err
	default:
	}
	if serveErr != nil {
		log.Warn("shutdown incomplete", "err", serveErr)
		return &exitError{code: 1, err: serveErr}
	}
	log.Info("rampart stopped")
	return nil
}

// prepare brings the node from "listening" to "ready": it waits for the
// database, migrates, checks the schema and then keeps watching it. It
// returns an error only for conditions a restart would not fix.
func prepare(ctx context.Context, st store.Store, gate *cluster.SchemaGate, log *slog.Logger, migrate bool) error {
	if err := cluster.WaitForDatabase(ctx, st, log); err != nil {
		return nil // ctx ended
	}
	if migrate {
		if err := migrateWithRetry(ctx, st, log); err != nil {
			return err
		}
	}
	for {
		_, err := gate.Refresh(ctx)
		var ie *store.IncompatibleSchemaError
		if errors.As(err, &ie) {
			return &exitError{code: 1, err: fmt.Errorf("refusing to start: %w", err)}
		}
		if err == nil {
			break
		}
		log.Warn("cannot read the schema status, retrying", "err", err)
		if cluster.WaitForDatabase(ctx, st, log) != nil {
			return nil
		}
	}
	gate.Watch(ctx, schemaWatchInterval)
	return nil
}

// migrateWithRetry applies pending migrations, logging each. If the database
// goes away meanwhile it waits for it and tries again; any other failure is
// returned.
func migrateWithRetry(ctx context.Context, st store.Store, log *slog.Logger) error {
	for {
		err := st.Migrator().Up(ctx, func(m store.Migration, took time.Duration) {
			log.Info("migration applied", "version", m.Version, "name", m.Name, "phase", m.Phase, "took", took.Round(time.Millisecond).String())
		})
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if pingErr := st.Ping(ctx); pingErr == nil {
			return &exitError{code: 1, err: fmt.Errorf("migration failed: %w", err)}
		}
		log.Warn("migration interrupted by a database outage; will retry", "err", err)
		if cluster.WaitForDatabase(ctx, st, log) != nil {
			return nil
		}
	}
}
