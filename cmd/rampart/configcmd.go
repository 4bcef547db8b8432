package main

import (
	"github.com/spf13/cobra"

	"github.com/rampartiam/rampart/internal/config"
)

func newConfigCmd(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "defaults",
		Short: "Print the full default configuration as commented YAML",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := env.stdout.Write(config.DefaultYAML())
			return err
		},
	})
	return cmd
}
