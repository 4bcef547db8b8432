package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/store"
)

func newNodesCmd(env *cliEnv) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "nodes",
		Short: "List the live nodes of the cluster, their versions, readiness and the job leader",
		Long: `List the nodes that heartbeat into the database (within cluster.node-expiry),
with address, version, schema version, start and last-seen times,
readiness, and which node is the elected leader of the background jobs.
It reads the database directly, with the same configuration as start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			return withDatabase(cmd, env, cfg, wait, func(st store.Store) error {
				return cluster.PrintNodes(cmd.Context(), env.stdout, st, cfg.Cluster.NodeExpiry)
			})
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Second, "how long to wait for an unreachable database")
	return cmd
}
