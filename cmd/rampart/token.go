package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/user"
)

// cliActor is the audit actor of changes made with the CLI.
const cliActor = "system:cli"

func newTokenCmd(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage personal access tokens for the admin API",
		Args:  cobra.NoArgs,
	}
	var loginName, instanceDomain string
	var expiresIn, wait time.Duration
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a personal access token for a user and print it once",
		Long: `Create a personal access token (PAT) for a user, directly in the database
(same configuration as rampart start: database, master key), and print it
once on standard output. Send it as "Authorization: Bearer <token>".

The user is found by login name in the instance serving --instance (a
domain), by default the system instance.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if loginName == "" {
				return usageError("--login-name is required")
			}
			if expiresIn <= 0 || expiresIn > 10*365*24*time.Hour {
				return usageError("--expires-in must be between 1s and 87600h")
			}
			cfg, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			log := newLogger(cfg, env.stderr)
			kr, err := loadKeyring(cfg, log)
			if err != nil {
				return err
			}
			return withDatabase(cmd, env, cfg, wait, func(st store.Store) error {
				ctx := cmd.Context()
				svc := newServices(cfg, st, kr, log, cache.Config{})
				var inst *iam.Instance
				if instanceDomain != "" {
					inst, err = svc.Instances.GetByHost(ctx, instanceDomain)
				} else {
					inst, err = systemInstance(cmd, svc.Instances.List)
				}
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				u, err := st.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: inst.ID, LoginName: loginName})
				if errors.Is(err, store.ErrNotFound) {
					return &exitError{code: 1, err: fmt.Errorf("no user %q in instance %s", loginName, inst.PrimaryDomain)}
				}
				if err != nil {
					return err
				}
				_, token, err := svc.Users.AddPAT(ctx, cliActor, user.Ref{InstanceID: inst.ID, OrgID: u.OrgID, ID: u.ID},
					&user.NewPAT{ExpiresAt: time.Now().Add(expiresIn)})
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				fmt.Fprintln(env.stdout, token)
				return nil
			})
		},
	}
	create.Flags().StringVar(&loginName, "login-name", "", "login name of the user the token acts as (required)")
	create.Flags().StringVar(&instanceDomain, "instance", "", "a domain of the user's instance (default: the system instance)")
	create.Flags().DurationVar(&expiresIn, "expires-in", 30*24*time.Hour, "lifetime of the token")
	create.Flags().DurationVar(&wait, "wait", 30*time.Second, "how long to wait for an unreachable database")
	cmd.AddCommand(create)
	return cmd
}

// systemInstance finds the system instance.
func systemInstance(cmd *cobra.Command, list func(ctx context.Context, after string, limit int, state iam.InstanceState) ([]*iam.Instance, error)) (*iam.Instance, error) {
	after := ""
	for {
		page, err := list(cmd.Context(), after, 1000, "")
		if err != nil {
			return nil, err
		}
		for _, in := range page {
			if in.System {
				return in, nil
			}
		}
		if len(page) < 1000 {
			return nil, errors.New("there is no system instance yet: start rampart once, or name the instance with --instance")
		}
		after = page[len(page)-1].ID
	}
}
