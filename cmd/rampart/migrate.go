package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampartiam/rampart/internal/buildinfo"
	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/config"
	"github.com/rampartiam/rampart/internal/store"
)

func newMigrateCmd(env *cliEnv) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations and exit",
		Long: `Apply pending schema migrations, printing one line per migration.

Safe to run from several processes at once: a database-wide lock lets
exactly one apply each migration; the others wait and then find it done.
Migrations are forward-only. A database migrated by a newer major version,
or contracted by a newer binary, is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			return withDatabase(cmd, env, cfg, wait, func(st store.Store) error { return runMigrate(cmd.Context(), st, env.stdout) })
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Second, "how long to wait for an unreachable database")
	status := &cobra.Command{
		Use:   "status",
		Short: "List the migrations this binary knows and those applied to the database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			return withDatabase(cmd, env, cfg, wait, func(st store.Store) error { return printStatus(cmd.Context(), st, env.stdout) })
		},
	}
	status.Flags().DurationVar(&wait, "wait", 30*time.Second, "how long to wait for an unreachable database")
	cmd.AddCommand(status)
	return cmd
}

// withDatabase opens the store, waits at most wait
// for the database to answer and runs fn.
func withDatabase(cmd *cobra.Command, env *cliEnv, cfg *config.Config, wait time.Duration, fn func(store.Store) error) error {
	st, err := openStore(cmd.Context(), cfg, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), wait)
	defer cancel()
	if err := cluster.WaitForDatabase(ctx, st, newLogger(cfg, env.stderr)); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("database unreachable after waiting %s", wait)}
	}
	return fn(st)
}

func runMigrate(ctx context.Context, st store.Store, out io.Writer) error {
	before, err := st.Migrator().Status(ctx)
	if err != nil {
		return err
	}
	if err := before.CheckCompatible(buildinfo.Version); err != nil {
		return &exitError{code: 1, err: err}
	}
	fmt.Fprintf(out, "database schema at version %d, this binary needs %d (%s)\n", before.Current(), before.Required(), st.Backend())
	applied := 0
	err = st.Migrator().UpAll(ctx, func(m store.Migration, took time.Duration) {
		applied++
		if m.Component != "" {
			fmt.Fprintf(out, "applied %s migration %03d (%s) in %s\n", m.Component, m.Version, m.Name, took.Round(time.Millisecond))
			return
		}
		fmt.Fprintf(out, "applied %05d_%s (%s) in %s\n", m.Version, m.Name, m.Phase, took.Round(time.Millisecond))
	})
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("migration failed: %w", err)}
	}
	after, err := st.Migrator().Status(ctx)
	if err != nil {
		return err
	}
	if applied == 0 {
		fmt.Fprintf(out, "nothing to do: schema is at version %d\n", after.Current())
	} else {
		fmt.Fprintf(out, "done: applied %d migration(s), schema is at version %d\n", applied, after.Current())
	}
	return nil
}

func printStatus(ctx context.Context, st store.Store, out io.Writer) error {
	s, err := st.Migrator().Status(ctx)
	if err != nil {
		return err
	}
	applied := map[int64]store.Migration{}
	for _, a := range s.Applied {
		applied[a.Version] = a
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tPHASE\tSTATE\tAPPLIED BY\tAPPLIED AT")
	for _, k := range s.Known {
		if a, ok := applied[k.Version]; ok {
			fmt.Fprintf(tw, "%05d\t%s\t%s\tapplied\t%s\t%s\n", k.Version, k.Name, k.Phase, a.AppVersion, a.AppliedAt.Format(time.RFC3339))
		} else {
			fmt.Fprintf(tw, "%05d\t%s\t%s\tpending\t\t\n", k.Version, k.Name, k.Phase)
		}
	}
	for _, u := range s.Unknown {
		fmt.Fprintf(tw, "%05d\t%s\t%s\tunknown to this binary\t%s\t%s\n", u.Version, u.Name, u.Phase, u.AppVersion, u.AppliedAt.Format(time.RFC3339))
	}
	for _, c := range s.Components {
		fmt.Fprintf(tw, "%s\t%d applied\t\t%d pending\t\t\n", c.Name, len(c.Applied), len(c.Pending))
	}
	tw.Flush()
	if err := s.CheckCompatible(buildinfo.Version); err != nil {
		fmt.Fprintf(out, "\nincompatible: %v\n", err)
	}
	return nil
}
