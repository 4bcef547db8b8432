package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/rampartiam/rampart/internal/bootstrap"
	"github.com/rampartiam/rampart/internal/buildinfo"
	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/config"
	"github.com/rampartiam/rampart/internal/jobs"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/oidc"
	"github.com/rampartiam/rampart/internal/server"
	"github.com/rampartiam/rampart/internal/store"
)

// schemaWatchInterval is how often a running node re-reads the schema
// status, to notice migrations applied by other nodes.
const schemaWatchInterval = 2 * time.Second

func newStartCmd(env *cliEnv) *cobra.Command {
	var noMigrate bool
	var initFile string
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Migrate the database (unless --no-migrate) and serve",
		Long: `Start a Rampart node.

The node listens at once (/debug/healthz answers), waits for the database
with backoff if it is unreachable, applies pending migrations under a lock
unless --no-migrate is given, and reports ready on /debug/ready once the
schema suits this binary. SIGTERM or SIGINT turns it unready, keeps it
serving while load balancers notice (shutdown.drain-delay), then drains
in-flight requests (shutdown.drain-timeout) and exits 0.

With --init FILE it applies a declarative bootstrap file (instances,
organizations, users, projects, applications, grants, memberships) at
every start, idempotently; see examples/init.yaml. Without it, the first
start on an empty database creates the default instance and an
administrator whose one-time password is logged once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			var init *bootstrap.File
			if initFile != "" {
				if init, err = bootstrap.Load(initFile); err == nil {
					err = bootstrap.Validate(init, time.Now())
				}
				if err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			return start(cmd.Context(), cfg, env, startOptions{migrate: !noMigrate, init: init})
		},
	}
	cmd.Flags().BoolVar(&noMigrate, "no-migrate", false, "do not apply migrations; stay unready until another process (rampart migrate) has applied them")
	cmd.Flags().StringVar(&initFile, "init", "", "declarative bootstrap `FILE` applied idempotently at start (see examples/init.yaml)")
	return cmd
}

// startOptions are the flags of `rampart start`.
type startOptions struct {
	migrate bool
	init    *bootstrap.File // nil: create the default setup on an empty database
}

func start(ctx context.Context, cfg *config.Config, env *cliEnv, o startOptions) error {
	log := newLogger(cfg, env.stderr)
	reg := prometheus.NewRegistry()
	keyring, err := loadKeyring(cfg, log)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, reg)
	if err != nil {
		return err
	}
	defer st.Close()

	gate := cluster.NewSchemaGate(st.Migrator(), buildinfo.Version, log, reg)
	// Caches of read-mostly data, invalidated across nodes by the listener.
	bus := cache.NewBus()
	svc := newServices(cfg, st, keyring, log, cache.Config{Size: cfg.Cache.Size, TTL: cfg.Cache.TTL, Registerer: reg, Bus: bus})
	provider, keys, tokens, err := newOIDC(cfg, st, keyring, svc, bus, log)
	if err != nil {
		return err
	}
	listener := cluster.NewInvalidationListener(cluster.InvalidationOptions{Store: st, Bus: bus, Logger: log, Registerer: reg})
	var bootstrapped atomic.Bool
	var jb *jobs.Jobs
	registry := cluster.NewRegistry(cluster.RegistryOptions{
		Store: st, NodeID: cfg.Node.ID, Address: nodeAddress(cfg), Version: buildinfo.Version,
		SchemaVersion: gate.CurrentVersion,
		Ready: func() bool {
			return bootstrapped.Load() && gate.Check(context.Background()) == nil && jb.Healthy() == nil
		},
		Interval: cfg.Cluster.HeartbeatInterval, Expiry: cfg.Cluster.NodeExpiry, Logger: log,
	})
	mailer, err := mail.New(st, mail.Options{Keyring: keyring, Default: cfg.SMTP.Settings(), Logger: log})
	if err != nil {
		return err
	}
	factors := mfa.New(st, mfa.Options{Keyring: keyring, Secrets: svc.Secrets})
	// The River client ID is the node ID, so the job leader maps to a node.
	jb, err = jobs.New(jobs.Options{
		Store: st, Logger: log, Registerer: reg, NodeID: registry.NodeID(),
		Concurrency: cfg.Jobs.Concurrency, CleanupInterval: cfg.Jobs.CleanupInterval, AuditRetention: cfg.Jobs.AuditRetention,
		RotateKeys: keys.Ensure, KeyRotationInterval: keyCheckInterval(cfg),
		Register: mailer.Register,
		Maintenance: []jobs.Step{{Name: "expire stale nodes", Run: func(ctx context.Context) error {
			_, err := registry.DeleteStale(ctx)
			return err
		}}},
	})
	if err != nil {
		return err
	}
	defer jb.Stop(context.Background()) // no-op after the graceful stop below; covers early returns
	mailer.SetEnqueuer(jb)
	srv := server.New(server.Options{
		Addr:           cfg.HTTPAddr,
		DrainTimeout:   cfg.Shutdown.DrainTimeout,
		DrainDelay:     cfg.Shutdown.DrainDelay,
		TrustedProxies: cfg.TrustedProxyPrefixes(),
		Logger:         log,
		Registry:       reg,
		Version:        buildinfo.Version,
		Checks: []server.Check{
			{Name: "database", Fn: st.Ping},
			{Name: "schema", Fn: gate.Check},
			{Name: "jobs", Fn: func(context.Context) error { return jb.Healthy() }},
			{Name: "bootstrap", Fn: func(context.Context) error {
				if !bootstrapped.Load() {
					return errors.New("applying the bootstrap configuration")
				}
				return nil
			}},
			{Name: "signing_keys", Fn: provider.Ready},
		},
	})
	mountAPI(srv, svc, provider, mailer, factors, registry, log)
	if err := mountOIDC(srv, svc, provider, tokens, factors, mailer, keyring, cfg.ResolvedExternalURL(), log); err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return usageError("cannot listen on %s: %v; set --http-addr (RAMPART_HTTP_ADDR) to a free address", cfg.HTTPAddr, errors.Unwrap(err))
	}
	log.Info("rampart starting",
		"version", buildinfo.Version,
		"listen", srv.Addr().String(),
		"external_url", cfg.ResolvedExternalURL(),
		"database", cfg.RedactedDatabase(),
		"ready_url", cfg.ResolvedExternalURL()+"/debug/ready",
		"oidc_discovery", cfg.ResolvedExternalURL()+oidc.PathDiscovery,
	)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fatal := make(chan error, 1)
	go listener.Run(ctx)
	var joinCluster sync.Once
	go func() {
		boot := func(ctx context.Context) error {
			// The schema (River's included) is migrated: start working jobs,
			// take part in the leader election and heartbeat into the
			// registry from now on. Starting earlier would only poll for
			// River's schema.
			joinCluster.Do(func() {
				if err := jb.Start(ctx); err != nil {
					log.Error("cannot start the job client", "err", err)
				}
				go registry.Run(ctx)
			})
			if err := runBootstrap(ctx, svc, cfg, o.init, log); err != nil {
				return err
			}
			// A fresh deployment gets its first signing key before any node
			// is ready; nodes racing here create it once.
			if err := keys.Ensure(ctx); err != nil {
				return fmt.Errorf("signing keys: %w", err)
			}
			bootstrapped.Store(true)
			_ = registry.Heartbeat(ctx) // publish the readiness now, not one interval later
			return nil
		}
		if err := prepare(ctx, st, gate, log, o.migrate, boot); err != nil && ctx.Err() == nil {
			fatal <- err
			cancel()
		}
	}()
	// On shutdown, stop working jobs while HTTP drains, within the same
	// drain timeout: running jobs finish, and the leader resigns so another
	// node takes over at once.
	jobsStopped := make(chan struct{})
	go func() {
		defer close(jobsStopped)
		<-ctx.Done()
		stopCtx, stopCancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Shutdown.DrainTimeout)
		defer stopCancel()
		if err := jb.Stop(stopCtx); err != nil {
			log.Warn("job client stop", "err", err)
		}
	}()
	serveErr := srv.Serve(ctx)
	cancel()
	<-jobsStopped
	leaveCtx, leaveCancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := registry.Leave(leaveCtx); err != nil {
		log.Warn("leaving the node registry", "err", err)
	}
	leaveCancel()
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
func prepare(ctx context.Context, st store.Store, gate *cluster.SchemaGate, log *slog.Logger, migrate bool, boot func(context.Context) error) error {
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
	watchDone := make(chan struct{})
	go func() {
		gate.Watch(ctx, schemaWatchInterval)
		close(watchDone)
	}()
	// A schema that is behind (--no-migrate) must be migrated before the
	// bootstrap may write to it.
	for gate.Check(ctx) != nil {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(schemaWatchInterval / 4):
		}
	}
	if err := retryUnavailable(ctx, st, log, boot); err != nil {
		return err
	}
	<-watchDone
	return nil
}

// retryUnavailable runs fn, waiting for the database and trying again while
// fn fails because the database is unavailable.
func retryUnavailable(ctx context.Context, st store.Store, log *slog.Logger, fn func(context.Context) error) error {
	for {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if st.Ping(ctx) == nil {
			return &exitError{code: 1, err: err}
		}
		log.Warn("bootstrap interrupted by a database outage; will retry", "err", err)
		if cluster.WaitForDatabase(ctx, st, log) != nil {
			return nil
		}
	}
}

// runBootstrap applies the --init file, or creates the default setup on an
// empty database and tells the operator how to log in.
func runBootstrap(ctx context.Context, svc bootstrap.Services, cfg *config.Config, init *bootstrap.File, log *slog.Logger) error {
	if init != nil {
		res, err := svc.Apply(ctx, init)
		if err != nil {
			return fmt.Errorf("init file: %w", err)
		}
		log.Info("init file applied", "created", res.Created, "existing", res.Existing)
		return nil
	}
	setup, err := svc.EnsureDefault(ctx, cfg.ResolvedExternalURL())
	if err != nil || setup == nil {
		return err
	}
	log.Warn("created the default instance and its administrator: log in with this one-time password, shown only now; it must be changed at the first login",
		"instance", setup.Instance.PrimaryDomain,
		"login_name", setup.Admin.LoginName,
		"password", setup.Password,
	)
	log.Info("to call the admin API, create a personal access token: rampart token create --login-name " + setup.Admin.LoginName +
		" (same database settings as start); then send it as 'Authorization: Bearer <token>' — see docs/api.md")
	return nil
}

// migrateWithRetry applies pending migrations, logging each. If the database
// goes away meanwhile it waits for it and tries again; any other failure is
// returned.
func migrateWithRetry(ctx context.Context, st store.Store, log *slog.Logger) error {
	for {
		err := st.Migrator().UpAll(ctx, func(m store.Migration, took time.Duration) {
			if m.Component != "" {
				log.Info("migration applied", "component", m.Component, "version", m.Version, "name", m.Name, "took", took.Round(time.Millisecond).String())
				return
			}
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

// nodeAddress is the address shown for this node in the registry:
// node.address, else the host name with http-addr's port.
func nodeAddress(cfg *config.Config) string {
	if cfg.Node.Address != "" {
		return cfg.Node.Address
	}
	host, _ := os.Hostname()
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil || host == "" {
		return cfg.HTTPAddr
	}
	return net.JoinHostPort(host, port)
}
