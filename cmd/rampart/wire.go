package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rampartiam/rampart/internal/buildinfo"
	"github.com/rampartiam/rampart/internal/config"
	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/store/sqlite"
)

// prepareDataDir creates the data directory (mode 0700) and checks that it
// is writable, so that a bad path fails now with a clear message.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return usageError("data directory %q cannot be created: %v; set --data-dir (RAMPART_DATA_DIR) to a writable directory", dir, unwrapPathError(err))
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return usageError("data directory %q is not writable: %v; set --data-dir (RAMPART_DATA_DIR) to a writable directory", dir, unwrapPathError(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// openStore opens the configured backend without waiting for the database.
// reg, if not nil, receives the backend's connection pool metrics.
func openStore(ctx context.Context, cfg *config.Config, reg prometheus.Registerer) (store.Store, error) {
	switch cfg.Backend() {
	case "sqlite":
		path := cfg.SQLitePath()
		if err := prepareDataDir(filepath.Dir(path)); err != nil {
			return nil, err
		}
		s, err := sqlite.Open(ctx, sqlite.Options{Path: path, AppVersion: buildinfo.Version})
		if err != nil {
			return nil, usageError("cannot open the SQLite database %q: %v", path, err)
		}
		if reg != nil {
			w, r := s.DB()
			reg.MustRegister(collectors.NewDBStatsCollector(w, "sqlite_writer"), collectors.NewDBStatsCollector(r, "sqlite_reader"))
		}
		return s, nil
	case "postgres":
		s, err := postgres.Open(ctx, postgres.Options{
			URL:            cfg.DatabaseURL(),
			AppVersion:     buildinfo.Version,
			MaxConns:       int32(cfg.DatabasePool.MaxConns),
			ConnectTimeout: cfg.DatabasePool.ConnectTimeout,
		})
		if err != nil {
			return nil, usageError("cannot use the database %s: %v", cfg.RedactedDatabase(), err)
		}
		if reg != nil {
			reg.MustRegister(newPoolCollector(s))
		}
		return s, nil
	}
	return nil, usageError("unsupported database %s", cfg.RedactedDatabase())
}

// loadKeyring returns the master keyring: the configured key, or on SQLite a
// development key generated into the data directory.
func loadKeyring(cfg *config.Config, log *slog.Logger) (*crypto.Keyring, error) {
	encoded := cfg.MasterKey
	if encoded == "" {
		if cfg.Backend() == "postgres" {
			return nil, usageError("no master key configured: with PostgreSQL every node must share one key, so Rampart will not generate one; " +
				"generate it with `openssl rand -base64 32` and set RAMPART_MASTERKEY (or RAMPART_MASTERKEY_FILE, or masterkey in the config file)")
		}
		if err := prepareDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
		path := cfg.MasterKeyFile()
		var created bool
		var err error
		encoded, created, err = crypto.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, usageError("master key file: %v", err)
		}
		verb := "using"
		if created {
			verb = "generated"
		}
		log.Warn(fmt.Sprintf("no master key configured: %s the development key in %s; for production set RAMPART_MASTERKEY and keep it safe", verb, path))
	}
	key, err := crypto.ParseMasterKey(encoded)
	if err != nil {
		return nil, usageError("master key: %v", err)
	}
	return crypto.NewKeyring(key), nil
}

// poolCollector exports pgxpool statistics.
type poolCollector struct {
	s                                                    *postgres.Store
	total, idle, acquired, max, acquires, empty, waitSec *prometheus.Desc
}

func newPoolCollector(s *postgres.Store) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("rampart_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		s:        s,
		total:    d("connections", "Open connections in the PostgreSQL pool."),
		idle:     d("connections_idle", "Idle connections in the PostgreSQL pool."),
		acquired: d("connections_acquired", "Connections currently in use."),
		max:      d("connections_max", "Maximum pool size."),
		acquires: d("acquires_total", "Connections acquired from the pool."),
		empty:    d("acquires_waited_total", "Acquires that had to wait for a connection."),
		waitSec:  d("acquire_wait_seconds_total", "Time spent acquiring connections."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.total, c.idle, c.acquired, c.max, c.acquires, c.empty, c.waitSec} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Pool().Stat()
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(st.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(st.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(st.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(st.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.empty, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waitSec, prometheus.CounterValue, st.AcquireDuration().Seconds())
}
