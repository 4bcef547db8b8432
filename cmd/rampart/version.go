package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rampartiam/rampart/internal/buildinfo"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/store/sqlite"
)

func newVersionCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and the schema version this binary needs",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			out := env.stdout
			fmt.Fprintf(out, "rampart %s\n", buildinfo.Version)
			fmt.Fprintf(out, "commit:  %s\n", buildinfo.CommitOrUnknown())
			fmt.Fprintf(out, "go:      %s\n", buildinfo.GoVersion())
			for _, b := range []struct {
				name string
				list func() ([]store.Migration, error)
			}{{"sqlite", sqlite.Migrations}, {"postgres", postgres.Migrations}} {
				ms, err := b.list()
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "schema:  %d (%s)\n", ms[len(ms)-1].Version, b.name)
			}
			return nil
		},
	}
}
